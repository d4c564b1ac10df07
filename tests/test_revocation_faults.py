"""Fault injection under ``Apikee(store=...)``: the store goes away while processes verify.

Real redis-server processes on 127.0.0.1 (stopped by PID, never left running) and real SQLite
files; several real child processes (:class:`test_revocation.VerifierChild`) verifying keys in
a loop through their own ``Apikee``. What must hold (docs/SPEC.md section 8):

- no exception ever escapes ``verify()``, in any process, and revoked keys stay revoked;
- ``revoke()`` during the outage raises :class:`apikee.StoreUnavailable`, promptly (bounded
  by about ``server_timeout``), never a silent loss;
- with ``fail_open=False``, once the outage outlasts ``max_staleness`` verification fails with
  ``STORE_UNAVAILABLE`` (HTTP 503), and works again once the store is back;
- when the store is back, every snapshot resyncs by itself and later revocations propagate.

Every loop and wait is bounded; the deadlines are generous (behaviour, not timing).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis_server import RedisServer
from store_fixtures import DEADLINE, redis_server, wait_for  # noqa: F401  (fixture)
from support import OTHER_SECRET, PAST, SECRET
from test_revocation import VerifierChild, assert_clean, claims_key, code_of

from apikee import Apikee, ApikeeError, StoreUnavailable
from apikee._store import parse_store_url
from apikee._store._redis import RedisStore

SERVER_TIMEOUT = 0.5
#: "within about server_timeout", generously: what a call during an outage may take at most.
PROMPT = SERVER_TIMEOUT + 5.0
RECOVERY = 30.0  # the refresher backs off up to 5 s between attempts
READERS = 3


@pytest.fixture(autouse=True)
def _no_store_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APIKEE_STORE", raising=False)


@pytest.fixture
def open_apikee(make_apikee: Any) -> Iterator[Any]:
    """An Apikee of the implementation under test (reference secret, small server_timeout),
    closed at teardown, with any store object given to it."""
    made: list[Apikee] = []
    stores: list[Any] = []

    def build(store: Any, **options: Any) -> Apikee:
        options.setdefault("server_timeout", SERVER_TIMEOUT)
        apikee = make_apikee(secret=SECRET, store=store, **options)
        made.append(apikee)
        if not isinstance(store, str):
            stores.append(store)
        return apikee

    yield build
    for apikee in made:
        apikee.close()
    for store in stores:
        store.close()


def try_revoke(apikee: Apikee, key: str) -> bool:
    """True once the store took the revocation; False while it is unavailable."""
    try:
        apikee.revoke(key)
    except StoreUnavailable:
        return False
    return True


def assert_prompt_unavailable(call: Any) -> float:
    """``call()`` raises StoreUnavailable and returns within PROMPT seconds; the time taken."""
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as refused:
        call()
    elapsed = time.monotonic() - started
    assert elapsed < PROMPT, f"{elapsed:.2f} s"
    assert "***" in str(refused.value) or "@" not in str(refused.value)
    return elapsed


def verify_for(apikee: Apikee, expected: dict[str, str], seconds: float) -> int:
    """Verify the keys in a loop for ``seconds``: each gives its expected outcome every time,
    and nothing but ApikeeError ever escapes (``code_of`` lets anything else through)."""
    deadline = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < deadline:
        for key, code in expected.items():
            assert code_of(apikee, key) == code
        rounds += 1
        time.sleep(0.005)
    return rounds


# ── Redis: SIGKILL under several verifying processes, then restart ──────────────────────────


@pytest.mark.slow
def test_redis_sigkill_under_verifying_processes_then_restart(
    open_apikee: Any,
    impl: str,
    redis_server: RedisServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    apikee = open_apikee(redis_server.url)
    revoked, valid, late = (apikee.create("acme") for _ in range(3))
    apikee.revoke(revoked)
    children = [
        VerifierChild(
            redis_server.url,
            impl,
            [revoked, valid, late],
            stay_revoked=[0],
            server_timeout=SERVER_TIMEOUT,
        )
        for _ in range(READERS)
    ]
    try:
        for child in children:
            assert child.wait_codes(["REVOKED", "OK", "OK"], timeout=30) == ["REVOKED", "OK", "OK"]

        redis_server.kill()  # a crash: SIGKILL, nothing flushed, connections reset

        assert_prompt_unavailable(lambda: apikee.revoke(late))
        assert_prompt_unavailable(lambda: apikee.revoke_tenant("acme"))
        assert_prompt_unavailable(lambda: apikee.unrevoke(revoked))
        assert_prompt_unavailable(apikee.revocations)
        # This process goes on verifying with its last snapshot (and so do the children).
        verify_for(apikee, {revoked: "REVOKED", valid: "OK", late: "OK"}, 1.0)
        assert wait_for(lambda: apikee.store_status()["healthy"] is False)
        assert apikee.store_status()["last_error"]

        redis_server.restart()  # the same port, the same AOF

        assert wait_for(lambda: apikee.store_status()["healthy"] is True, timeout=RECOVERY)
        assert code_of(apikee, revoked) == "REVOKED" and code_of(apikee, valid) == "OK"
        assert wait_for(lambda: try_revoke(apikee, late), timeout=RECOVERY)  # a later one
        assert code_of(apikee, late) == "REVOKED"
        for child in children:
            assert child.wait("code", timeout=RECOVERY, key=2, code="REVOKED") is not None
    finally:
        results = [child.finish(timeout=30) for child in children]
    for done in results:
        assert_clean(done)
        assert done["codes"] == ["REVOKED", "OK", "REVOKED"], done
        assert done["status"]["healthy"] is True, done["status"]
        assert done["status"]["last_error"], "the outage was noticed and recorded"


def test_redis_that_stops_answering_bounds_every_call(
    open_apikee: Any,
    redis_server: RedisServer,  # noqa: F811
) -> None:
    apikee = open_apikee(redis_server.url)
    revoked, valid = apikee.create("acme"), apikee.create("acme")
    apikee.revoke(revoked)
    redis_server.pause()  # SIGSTOP: the kernel accepts connections, nothing ever answers
    try:
        assert_prompt_unavailable(lambda: apikee.revoke(valid))
        assert_prompt_unavailable(apikee.revocations)
        verify_for(apikee, {revoked: "REVOKED", valid: "OK"}, 0.5)
    finally:
        redis_server.resume()
    assert wait_for(lambda: try_revoke(apikee, valid), timeout=RECOVERY)
    assert code_of(apikee, valid) == "REVOKED"
    assert wait_for(lambda: apikee.store_status()["healthy"] is True, timeout=RECOVERY)


def _fast_heartbeat_store(url: str) -> RedisStore:
    # A heartbeat well inside max_staleness: with the default one (5 s) a healthy Redis store
    # looks stale to a fail-closed max_staleness=1 Apikee unless the Apikee shortens it, which
    # it now does (test_redis_fail_closed_with_a_short_max_staleness_on_a_healthy_server).
    return RedisStore(parse_store_url(url), server_timeout=SERVER_TIMEOUT, heartbeat_interval=0.2)


@pytest.mark.slow
def test_redis_fail_closed_past_max_staleness_then_recovers(
    open_apikee: Any,
    core: Any,
    redis_server: RedisServer,  # noqa: F811
) -> None:
    strict = open_apikee(_fast_heartbeat_store(redis_server.url), fail_open=False, max_staleness=1)
    lenient = open_apikee(redis_server.url)  # fail open (the default), same store
    writer = open_apikee(redis_server.url)
    revoked, valid, late = (writer.create("acme") for _ in range(3))
    expired = writer.create("acme", expires_in=PAST)
    forged = claims_key(core, {"tid": "acme"}, secret=OTHER_SECRET)
    writer.revoke(revoked)
    assert wait_for(lambda: code_of(strict, revoked) == "REVOKED")
    assert strict.store_status()["fail_open"] is False
    assert strict.store_status()["max_staleness"] == 1.0
    verify_for(strict, {revoked: "REVOKED", valid: "OK"}, 1.5)  # healthy: never stale

    redis_server.kill()
    outage = time.monotonic()
    assert wait_for(lambda: code_of(strict, valid) == "STORE_UNAVAILABLE")
    assert time.monotonic() - outage >= 0.25  # not at the first error: once it is stale
    with pytest.raises(ApikeeError) as stale:
        strict.verify(valid)
    assert stale.value.code == "STORE_UNAVAILABLE" and stale.value.http_status == 503
    assert code_of(strict, revoked) == "STORE_UNAVAILABLE"
    # The checks before step 10 still say what they say.
    assert code_of(strict, expired) == "EXPIRED"
    assert code_of(strict, forged) == "INVALID_SIGNATURE"
    # Failing open, the same outage changes nothing.
    verify_for(lenient, {revoked: "REVOKED", valid: "OK", expired: "EXPIRED"}, 0.5)
    assert_prompt_unavailable(lambda: writer.revoke(late))

    redis_server.restart()

    assert wait_for(lambda: strict.store_status()["healthy"] is True, timeout=RECOVERY)
    assert wait_for(lambda: code_of(strict, valid) == "OK", timeout=RECOVERY)
    assert code_of(strict, revoked) == "REVOKED"
    assert wait_for(lambda: try_revoke(writer, late), timeout=RECOVERY)
    assert wait_for(lambda: code_of(strict, late) == "REVOKED")  # propagated by the store
    assert wait_for(lambda: code_of(lenient, late) == "REVOKED")
    verify_for(strict, {revoked: "REVOKED", valid: "OK", late: "REVOKED"}, 1.5)


def test_redis_fail_closed_with_a_short_max_staleness_on_a_healthy_server(
    open_apikee: Any,
    redis_server: RedisServer,  # noqa: F811
) -> None:
    strict = open_apikee(redis_server.url, fail_open=False, max_staleness=1)
    key = strict.create("acme")
    verify_for(strict, {key: "OK"}, 3.0)


# ── SQLite: a locked database, a removed directory, a missing one at startup ────────────────


def _sqlite(tmp_path: Path) -> tuple[Path, str]:
    directory = tmp_path / "db"
    directory.mkdir()
    return directory, f"sqlite://{directory / 'revocations.db'}"


def _hold_write_lock(path: str) -> subprocess.Popen[str]:
    """Another process holding the database's write lock until its stdin closes."""
    code = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
        "conn.execute('ROLLBACK')\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def _release(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    try:
        holder.wait(DEADLINE)
    except subprocess.TimeoutExpired:
        holder.kill()
        holder.wait(5)


def test_sqlite_write_lock_held_elsewhere(open_apikee: Any, impl: str, tmp_path: Path) -> None:
    directory, url = _sqlite(tmp_path)
    apikee = open_apikee(url)
    revoked, valid, late = (apikee.create("acme") for _ in range(3))
    apikee.revoke(revoked)
    children = [
        VerifierChild(
            url,
            impl,
            [revoked, valid, late],
            stay_revoked=[0],
            server_timeout=SERVER_TIMEOUT,
        )
        for _ in range(2)
    ]
    try:
        for child in children:
            assert child.wait_codes(["REVOKED", "OK", "OK"], timeout=30) == ["REVOKED", "OK", "OK"]
        holder = _hold_write_lock(str(directory / "revocations.db"))
        try:
            elapsed = assert_prompt_unavailable(lambda: apikee.revoke(late))
            assert elapsed >= SERVER_TIMEOUT * 0.5  # it waited for the lock, boundedly
            assert_prompt_unavailable(lambda: apikee.revoke_tenant("acme"))
            verify_for(apikee, {revoked: "REVOKED", valid: "OK", late: "OK"}, 1.0)
            assert len(apikee.revocations()) == 1  # reads go on (WAL)
        finally:
            _release(holder)
        assert try_revoke(apikee, late)
        for child in children:
            assert child.wait("code", timeout=RECOVERY, key=2, code="REVOKED") is not None
    finally:
        results = [child.finish(timeout=30) for child in children]
    for done in results:
        assert_clean(done)
        assert done["codes"] == ["REVOKED", "OK", "REVOKED"], done
        assert done["status"]["healthy"] is True, done["status"]


def test_sqlite_directory_removed_under_verifying_processes(
    open_apikee: Any, impl: str, tmp_path: Path
) -> None:
    directory, url = _sqlite(tmp_path)
    apikee = open_apikee(url)
    revoked, valid = apikee.create("acme"), apikee.create("acme")
    apikee.revoke(revoked)
    children = [
        VerifierChild(
            url,
            impl,
            [revoked, valid],
            stay_revoked=[0],
            server_timeout=SERVER_TIMEOUT,
        )
        for _ in range(2)
    ]
    try:
        for child in children:
            assert child.wait_codes(["REVOKED", "OK"], timeout=30) == ["REVOKED", "OK"]
        shutil.rmtree(directory)  # the database, its WAL and its directory: gone
        verify_for(apikee, {revoked: "REVOKED", valid: "OK"}, 1.5)  # the last snapshot
        status = apikee.store_status()
        assert status["entries"] >= 1 and status["running"] is True
    finally:
        results = [child.finish(timeout=30) for child in children]
    for done in results:
        assert_clean(done)
        assert done["codes"] == ["REVOKED", "OK"], done


def test_sqlite_notices_that_its_database_file_was_replaced(
    open_apikee: Any, tmp_path: Path
) -> None:
    directory, url = _sqlite(tmp_path)
    old = open_apikee(url)
    lost, elsewhere = old.create("acme"), old.create("acme")
    old.revoke(old.create("acme"))  # the connections exist
    shutil.rmtree(directory)
    directory.mkdir()
    try:
        old.revoke(lost)
    except StoreUnavailable:
        pass  # refusing is right: the file it wrote to is gone
    else:
        reader = open_apikee(url)  # a newcomer opening the path must see that revocation
        assert code_of(reader, lost) == "REVOKED"
    writer = open_apikee(url)
    writer.revoke(elsewhere)
    assert wait_for(
        lambda: code_of(old, elsewhere) == "REVOKED" or old.store_status()["healthy"] is False,
        timeout=3.0,
    )


def test_sqlite_directory_missing_at_startup_then_created(open_apikee: Any, tmp_path: Path) -> None:
    directory = tmp_path / "not-yet"
    url = f"sqlite://{directory / 'revocations.db'}"
    lenient = open_apikee(url)  # no exception: the store is just unavailable
    strict = open_apikee(url, fail_open=False, max_staleness=1)
    key = lenient.create("acme")
    assert lenient.store_status()["healthy"] is False
    assert "revocations.db" in (lenient.store_status()["last_error"] or "")
    assert code_of(lenient, key) == "OK"  # failing open: verification goes on
    assert wait_for(lambda: code_of(strict, key) == "STORE_UNAVAILABLE")
    with pytest.raises(ApikeeError) as stale:
        strict.verify(key)
    assert stale.value.http_status == 503
    assert_prompt_unavailable(lambda: lenient.revoke(key))

    directory.mkdir()
    writer = open_apikee(url)
    revoked = writer.create("acme")
    writer.revoke(revoked)
    for apikee in (lenient, strict):
        assert wait_for(lambda a=apikee: a.store_status()["healthy"] is True, timeout=RECOVERY)
        assert wait_for(lambda a=apikee: code_of(a, revoked) == "REVOKED", timeout=RECOVERY)
    assert wait_for(lambda: code_of(strict, key) == "OK")
    verify_for(strict, {key: "OK", revoked: "REVOKED"}, 1.0)
    assert try_revoke(lenient, key)
    assert wait_for(lambda: code_of(strict, key) == "REVOKED")
