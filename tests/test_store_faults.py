"""Fault injection on a real redis-server: crash it under several reading processes.

While three processes read their snapshots in a loop, the server is SIGKILLed: nothing may
escape into the readers, what was revoked stays revoked, a revocation attempted during the
outage fails promptly with ``StoreUnavailable``, and after a restart on the same port every
snapshot resyncs by itself and a later revocation reaches all of them.
"""

from __future__ import annotations

import time

import pytest
from redis_server import RedisServer
from store_fixtures import DEADLINE, Child, redis_server, wait_for  # noqa: F401  (fixture)

from apikee._ids import new_key_id
from apikee._store import Revocations, RevocationSnapshot, StoreUnavailable

READERS = 3
SERVER_TIMEOUT = 1.0


@pytest.mark.slow
def test_sigkill_under_readers_then_restart(redis_server: RedisServer) -> None:  # noqa: F811
    revoked = [new_key_id() for _ in range(5)]
    late = new_key_id()
    revocations = Revocations(redis_server.url, server_timeout=SERVER_TIMEOUT, backoff_max=0.3)
    for key_id in revoked:
        revocations.revoke_id(key_id)
    children = [
        Child(
            redis_server.url,
            revoked=revoked,
            expect=[late],
            duration=90,
            server_timeout=SERVER_TIMEOUT,
        )
        for _ in range(READERS)
    ]
    try:
        for child in children:
            assert child.wait("ready", timeout=30) is not None

        redis_server.kill()  # a crash: SIGKILL, no shutdown

        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            revocations.revoke_id(new_key_id())
        assert time.monotonic() - started <= SERVER_TIMEOUT + DEADLINE  # promptly, bounded
        assert set(revoked) <= revocations.snapshot.ids  # this process keeps its snapshot too
        time.sleep(1.0)  # the readers go on reading through the outage

        redis_server.restart()  # same port, same AOF
        assert wait_for(lambda: _try_revoke(revocations, late), timeout=30)
        for child in children:
            assert child.wait("saw", timeout=30, id=late) is not None
    finally:
        results = [child.finish(timeout=30) for child in children]
        revocations.close()
    for result in results:
        assert result["returncode"] == 0, result["stderr"][-2000:]
        assert result["read_errors"] == 0 and result["thread_errors"] == []
        assert result["violations"] == 0 and result["missing"] == []
        assert result["reads"] > 0
        assert result["status"]["healthy"] is True, result["status"]
        assert result["status"]["last_error"], "the outage was noticed and recorded"


def _try_revoke(revocations: Revocations, key_id: str) -> bool:
    try:
        revocations.revoke_id(key_id)
    except StoreUnavailable:
        return False
    return True


def test_an_outage_at_startup_then_the_server_comes_up(redis_server: RedisServer) -> None:  # noqa: F811
    revocations = Revocations(redis_server.url)
    revocations.revoke_id("before")
    revocations.close()
    redis_server.stop()
    with RevocationSnapshot(
        redis_server.url, server_timeout=SERVER_TIMEOUT, backoff_max=0.3
    ) as snapshot:
        assert snapshot.start(wait=SERVER_TIMEOUT + 5) is False
        assert snapshot.ids == frozenset() and snapshot.status()["healthy"] is False
        redis_server.restart()
        assert wait_for(lambda: "before" in snapshot.ids, timeout=30)
        assert wait_for(lambda: snapshot.status()["healthy"] is True)
