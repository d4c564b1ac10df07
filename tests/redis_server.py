"""Start and stop real ``redis-server`` processes for the tests (127.0.0.1 only).

    server = RedisServer(tmp_path).start()       # a free port, AOF persistence on
    server.url                                   # "redis://127.0.0.1:PORT/0"
    server.kill()                                # SIGKILL (a crash)
    server.restart()                             # the same port and data directory
    server.stop()                                # SIGTERM, then SIGKILL after a grace period

Each server runs in the foreground (never daemonized, so its PID is the one we started) in its
own directory, with ``appendonly yes`` and ``appendfsync always``: a write acknowledged before a
crash is still there after the restart. ``require_redis_server()`` skips a test when the binary
is missing, except under CI (env var ``CI`` set), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

__all__ = ["RedisServer", "free_port", "make_tls_files", "require_redis_server"]

HOST = "127.0.0.1"


def _must_run() -> bool:
    """Under CI the Redis tests must run, except where a job says the platform has no Redis
    (``APIKEE_NO_REDIS_SERVER=1``: GitHub's Windows runners)."""
    return bool(os.environ.get("CI")) and not os.environ.get("APIKEE_NO_REDIS_SERVER")


def require_redis_server() -> str:
    """The ``redis-server`` binary; skip without one (fail under CI, where it must exist)."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if _must_run():
            pytest.fail(f"{message}: CI must run the Redis tests")
        pytest.skip(message)
    try:
        import redis  # noqa: F401
    except ImportError:
        message = "the redis package is not installed (pip install 'apikee[redis]')"
        if _must_run():
            pytest.fail(f"{message}: CI must run the Redis tests")
        pytest.skip(message)
    return binary


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def make_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1: ``(ca, cert, key)`` (openssl)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("CI"):
            pytest.fail("openssl is not installed: CI must run the TLS test")
        pytest.skip("openssl is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    ca, key, cert = directory / "ca.crt", directory / "server.key", directory / "server.crt"
    ext = directory / "ext.cnf"
    # What Python 3.13's stricter default verification (VERIFY_X509_STRICT) requires of a
    # server certificate: an authority key id, and the usual usages.
    ext.write_text(
        "subjectAltName=IP:127.0.0.1\n"
        "authorityKeyIdentifier=keyid,issuer\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
    )
    steps = [
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(directory / "ca.key"),
            "-out",
            str(ca),
            "-days",
            "2",
            "-subj",
            "/CN=apikee-test-ca",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        [
            openssl,
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(directory / "server.csr"),
            "-subj",
            "/CN=127.0.0.1",
        ],
        [
            openssl,
            "x509",
            "-req",
            "-in",
            str(directory / "server.csr"),
            "-CA",
            str(ca),
            "-CAkey",
            str(directory / "ca.key"),
            "-CAcreateserial",
            "-out",
            str(cert),
            "-days",
            "2",
            "-extfile",
            str(ext),
        ],
    ]
    for step in steps:
        subprocess.run(step, check=True, capture_output=True, timeout=60)
    return ca, cert, key


def _ping(port: int, password: str | None, ca: Path | None = None, timeout: float = 0.5) -> bool:
    """True when the server on ``port`` answers PING (or asks for AUTH: it is up)."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as raw:
            sock: socket.socket = raw
            if ca is not None:
                context = ssl.create_default_context(cafile=str(ca))
                sock = context.wrap_socket(raw, server_hostname=HOST)
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            reply = sock.recv(64)
    except (OSError, ssl.SSLError):
        return False
    return reply.startswith((b"+PONG", b"-NOAUTH"))


_READY = "Ready to accept connections"  # what redis-server logs once it listens


class _PortTaken(Exception):
    """The port was free when chosen and taken before redis-server could listen on it."""


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1 with its own directory."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int | None = None,
        password: str | None = None,
        extra: list[str] | None = None,
        tls: bool = False,
    ) -> None:
        self.binary = require_redis_server()
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self._chosen_port = port is None  # ours to change if another process takes it first
        self.password = password
        self.extra = list(extra or [])
        self.tls_files = make_tls_files(self.directory / "tls") if tls else None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.tls_files is not None:
            return f"rediss://{auth}{HOST}:{self.port}/0?ssl_ca_certs={self.tls_files[0]}"
        return f"redis://{auth}{HOST}:{self.port}/0"

    def command(self) -> list[str]:
        ports = ["--port", str(self.port)]
        if self.tls_files is not None:
            ca, cert, key = self.tls_files
            ports = [
                "--port",
                "0",
                "--tls-port",
                str(self.port),
                "--tls-cert-file",
                str(cert),
                "--tls-key-file",
                str(key),
                "--tls-ca-cert-file",
                str(ca),
                "--tls-auth-clients",
                "no",
            ]
        args = [
            self.binary,
            *ports,
            "--bind",
            HOST,
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(self.directory / "redis.log"),
        ]
        if self.password:
            args += ["--requirepass", self.password]
        return args + self.extra

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start the server and wait (bounded) until it answers. It must be this process that
        answers: its own log says it is ready (another suite running beside this one may have
        taken a port that was free a moment ago; a port chosen here is then chosen again)."""
        if self.process is not None and self.process.poll() is None:
            return self
        for _ in range(5):
            try:
                return self._start_once(timeout)
            except _PortTaken:
                if not self._chosen_port:
                    raise RuntimeError(f"port {self.port} is taken: {self.log_tail()}") from None
                self.port = free_port()
        raise RuntimeError(f"redis-server found no free port: {self.log_tail()}")

    def _ready_count(self) -> int:
        try:
            return (self.directory / "redis.log").read_text(errors="replace").count(_READY)
        except OSError:
            return 0

    def _start_once(self, timeout: float) -> RedisServer:
        ready_before = self._ready_count()
        self.process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.directory,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                if "in use" in self.log_tail(20):  # "Address already in use"
                    raise _PortTaken
                raise RuntimeError(f"redis-server exited at start: {self.log_tail()}")
            if self._ready_count() > ready_before and _ping(
                self.port, self.password, self.tls_files[0] if self.tls_files else None
            ):
                return self
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"redis-server did not answer within {timeout} s: {self.log_tail()}")

    def log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join((self.directory / "redis.log").read_text().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _signal(self, signum: int, grace: float) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signum)  # by PID: only the process this object started
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(5)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM (Redis flushes its AOF), then SIGKILL if it is still there after ``grace``."""
        self._signal(signal.SIGTERM, grace)

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to flush anything."""
        self._signal(signal.SIGKILL, 5.0)

    def pause(self) -> None:
        """SIGSTOP: the server accepts connections (the kernel does) but never answers."""
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGCONT)

    def restart(self, timeout: float = 10.0) -> RedisServer:
        """Stop if running, then start again on the same port with the same data."""
        self.stop()
        deadline = time.monotonic() + timeout
        while True:  # the port may take a moment to be free again
            try:
                return self.start(timeout=max(1.0, deadline - time.monotonic()))
            except RuntimeError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.resume()
        self.stop()
