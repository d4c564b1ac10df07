"""Fixtures and helpers of the revocation-store tests, and the child process they start.

Imported by ``tests/test_store_*.py`` (``from store_fixtures import …``). Run as a script it is
the *watcher* child: it reads a snapshot in a loop and reports, as JSON lines on stdout, when
it is ready, when an awaited id shows up, and whether a revoked id ever went missing or any
exception escaped (from the reads or from any thread). It stops when its stdin closes or after
``--duration`` seconds, whichever comes first.

    python tests/store_fixtures.py URL --revoked ID… --expect ID… [--duration S]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from redis_server import RedisServer  # noqa: E402 (after the sys.path set-up above)

DEADLINE = 10.0  # generous bound of every "within 1 s" wait: tests assert behaviour, not timing


def wait_for(condition: Callable[[], bool], timeout: float = DEADLINE, step: float = 0.005) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh redis-server with AOF persistence on a free 127.0.0.1 port."""
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.resume()
        server.stop()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'revocations.db'}"


class Child:
    """A watcher child process and the events it printed."""

    def __init__(
        self,
        url: str,
        *,
        revoked: Sequence[str] = (),
        expect: Sequence[str] = (),
        duration: float = 60.0,
        server_timeout: float = 1.0,
        backoff_max: float = 0.3,
        resync_interval: float = 30.0,
    ) -> None:
        args = [
            sys.executable,
            str(Path(__file__).resolve()),
            url,
            "--duration",
            str(duration),
            "--server-timeout",
            str(server_timeout),
            "--backoff-max",
            str(backoff_max),
            "--resync-interval",
            str(resync_interval),
        ]
        if revoked:
            args += ["--revoked", *revoked]
        if expect:
            args += ["--expect", *expect]
        self._start(args, dict(os.environ, PYTHONUNBUFFERED="1"))

    def _start(self, args: list[str], env: dict[str, str]) -> None:
        """Start the child. Its stderr goes to a temporary file, never a pipe: a long outage
        logs warnings, and a pipe nobody reads would fill and block the child."""
        self._stderr = tempfile.TemporaryFile("w+")  # closed in finish()/kill()
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def stderr_text(self) -> str:
        """What the child wrote to stderr so far."""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                self.events.put({"event": "garbage", "line": line})

    def wait(self, event: str, timeout: float = DEADLINE, **match: Any) -> dict[str, Any] | None:
        """The first event named ``event`` (with the given fields) within ``timeout``."""
        for item in self.seen:
            if item.get("event") == event and all(item.get(k) == v for k, v in match.items()):
                return item
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                item = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(item)
            if item.get("event") == event and all(item.get(k) == v for k, v in match.items()):
                return item
        return None

    def finish(self, timeout: float = DEADLINE) -> dict[str, Any]:
        """Close stdin (the stop signal) and return the child's final ``done`` event."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.close()
        except OSError:
            pass
        done = self.wait("done", timeout)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        stderr = self.stderr_text()
        self._stderr.close()
        assert done is not None, f"the child did not finish cleanly: {stderr[-2000:]}"
        done["stderr"] = stderr
        done["returncode"] = self.process.returncode
        return done

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self._stderr.close()


def _main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--revoked", nargs="*", default=[])
    parser.add_argument("--expect", nargs="*", default=[])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--server-timeout", type=float, default=1.0)
    parser.add_argument("--backoff-max", type=float, default=0.3)
    parser.add_argument("--resync-interval", type=float, default=30.0)
    options = parser.parse_args()

    from apikee._store import RevocationSnapshot

    thread_errors: list[str] = []
    threading.excepthook = lambda info: thread_errors.append(repr(info.exc_value))
    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()

    def emit(event: str, **fields: Any) -> None:
        print(json.dumps({"event": event, "t": time.monotonic(), **fields}), flush=True)

    snapshot = RevocationSnapshot(
        options.url,
        server_timeout=options.server_timeout,
        backoff_max=options.backoff_max,
        resync_interval=options.resync_interval,
    )
    snapshot.start(wait=options.server_timeout + 5)
    revoked, pending = set(options.revoked), set(options.expect)
    reads = violations = read_errors = 0
    ready = False
    deadline = time.monotonic() + options.duration
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            ids = snapshot.ids
            snapshot.status()
            reads += 1
        except Exception as exc:  # exactly what must never happen
            read_errors += 1
            emit("read_error", error=repr(exc))
            continue
        if not ready and revoked <= ids:
            ready = True
            emit("ready", status=snapshot.status())
        elif ready and not revoked <= ids:
            violations += 1
            emit("violation", missing=sorted(revoked - ids))
        for key_id in sorted(pending & ids):
            pending.discard(key_id)
            emit("saw", id=key_id)
        time.sleep(0.002)
    status = snapshot.status()
    snapshot.close()
    emit(
        "done",
        reads=reads,
        violations=violations,
        read_errors=read_errors,
        thread_errors=thread_errors,
        missing=sorted(pending),
        status=status,
    )
    return 0


if __name__ == "__main__":
    sys.exit(_main())
