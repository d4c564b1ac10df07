"""The Redis store on a real redis-server: propagation between processes, repair of missed
changes, a reset store, TLS, and calls that stay bounded when the server stops answering."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from redis_server import RedisServer
from store_fixtures import DEADLINE, Child, redis_server, wait_for  # noqa: F401  (fixture)

from apikee._ids import new_key_id
from apikee._store import (
    Revocation,
    Revocations,
    RevocationSnapshot,
    StoreUnavailable,
    open_store,
    parse_store_url,
)
from apikee._store._redis import RedisStore


def test_revoke_here_seen_in_another_process(redis_server: RedisServer) -> None:  # noqa: F811
    before, after, tenant_key = new_key_id(), new_key_id(), new_key_id()
    with Revocations(redis_server.url) as revocations:
        revocations.revoke_id(before)
        child = Child(redis_server.url, revoked=[before], expect=[after])
        try:
            assert child.wait("ready") is not None
            revocations.revoke_id(after, expires_at=time.time() + 3600)
            assert child.wait("saw", id=after) is not None
        finally:
            done = child.finish()
        assert tenant_key not in revocations.snapshot.ids
    assert done["violations"] == 0 and done["read_errors"] == 0 and done["thread_errors"] == []
    assert done["status"]["healthy"] is True and done["returncode"] == 0


def test_changes_reach_other_snapshots_in_order(redis_server: RedisServer) -> None:  # noqa: F811
    writer = Revocations(redis_server.url)
    with RevocationSnapshot(redis_server.url) as reader:
        reader.start(wait=5)
        ids = [new_key_id() for _ in range(50)]
        for key_id in ids:
            writer.revoke_id(key_id)
        writer.revoke_tenant("acme", issued_before=7.0)
        for key_id in ids[:10]:
            writer.unrevoke("id", key_id)
        assert wait_for(lambda: reader.version == writer.store.version())
        assert reader.ids == frozenset(ids[10:]) and reader.tenants == {"acme": 7.0}
    writer.close()


def test_a_missed_change_is_repaired_by_the_periodic_resync(redis_server: RedisServer) -> None:  # noqa: F811
    store = open_store(redis_server.url)
    assert isinstance(store, RedisStore)
    with RevocationSnapshot(redis_server.url, resync_interval=0.3) as reader:
        reader.start(wait=5)
        store.add(Revocation("id", "published"))
        assert wait_for(lambda: "published" in reader.ids)
        # A change that bypasses the scripts: written and counted, never published.
        record = Revocation("id", "never-published")
        store.client.hset(store.keys[0], record.record_key, record.to_json())
        store.client.incr(store.keys[2])
        assert wait_for(lambda: "never-published" in reader.ids)
    store.close()


def test_a_reset_store_is_reloaded(redis_server: RedisServer) -> None:  # noqa: F811
    store = open_store(redis_server.url)
    assert isinstance(store, RedisStore)
    with RevocationSnapshot(redis_server.url, resync_interval=0.3) as reader:
        reader.start(wait=5)
        store.add(Revocation("id", "before-reset"))
        assert wait_for(lambda: "before-reset" in reader.ids)
        store.client.flushdb()  # data lost: a new epoch on the next write
        store.add(Revocation("id", "after-reset"))
        assert wait_for(lambda: reader.ids == frozenset({"after-reset"}))
    store.close()


def test_key_prefixes_keep_stores_apart(redis_server: RedisServer) -> None:  # noqa: F811
    one = open_store(redis_server.url + "?prefix=one")
    two = open_store(redis_server.url + "?prefix=two")
    one.add(Revocation("id", "only-in-one"))
    assert [r.value for r in one.list()] == ["only-in-one"] and two.list() == []
    one.close()
    two.close()


def test_a_server_that_stops_answering(redis_server: RedisServer) -> None:  # noqa: F811
    timeout = 0.5
    revoked = new_key_id()
    store = RedisStore(
        parse_store_url(redis_server.url), server_timeout=timeout, heartbeat_interval=0.2
    )
    with Revocations(store, backoff_max=0.2) as revocations:
        revocations.revoke_id(revoked)
        snapshot = revocations.snapshot
        snapshot.start(wait=5)
        redis_server.pause()  # SIGSTOP: connections are accepted, nothing is ever answered
        try:
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="(?i)timeout|timed out"):
                revocations.revoke_id(new_key_id())
            elapsed = time.monotonic() - started
            assert elapsed < 2 * timeout + DEADLINE  # bounded: never hangs
            assert wait_for(lambda: snapshot.status()["healthy"] is False)  # heartbeat/checks fail
            assert revoked in snapshot.ids  # the last snapshot is kept
        finally:
            redis_server.resume()
        later = new_key_id()
        assert wait_for(lambda: _try_revoke(revocations, later))
        assert wait_for(lambda: snapshot.status()["healthy"] is True)
        assert revoked in snapshot.ids and later in snapshot.ids
    store.close()


def _try_revoke(revocations: Revocations, key_id: str) -> bool:
    try:
        revocations.revoke_id(key_id)
    except StoreUnavailable:
        return False
    return True


def test_the_heartbeat_keeps_an_idle_snapshot_healthy(redis_server: RedisServer) -> None:  # noqa: F811
    store = RedisStore(parse_store_url(redis_server.url), heartbeat_interval=0.1)
    with RevocationSnapshot(store, stale_after=1.0) as snapshot:
        snapshot.start(wait=5)
        time.sleep(1.5)  # idle: no change at all, only heartbeats
        assert snapshot.status()["healthy"] is True and snapshot.age() < 1.0
    store.close()


def test_tls(tmp_path: Path) -> None:
    with RedisServer(tmp_path / "tls", tls=True) as server:
        assert server.url.startswith("rediss://")
        with Revocations(server.url) as revocations:
            revocations.revoke_id("over-tls")
            with RevocationSnapshot(server.url) as reader:
                assert reader.start(wait=5) and "over-tls" in reader.ids
        insecure = open_store(f"redis://127.0.0.1:{server.port}/0", server_timeout=1)
        with pytest.raises(StoreUnavailable):
            insecure.ping()  # plain text to a TLS port
        unverified = open_store(f"rediss://127.0.0.1:{server.port}/0", server_timeout=1)
        with pytest.raises(StoreUnavailable, match="(?i)certificate"):
            unverified.ping()  # the test CA is not trusted by default


def test_a_server_never_answers_for_another(tmp_path: Path) -> None:
    """The tests' redis-server is the one that answers: a port another server holds (e.g. a
    suite running beside this one) is refused when asked for, and chosen again when it was
    picked here, instead of talking to the other server."""
    with RedisServer(tmp_path / "first") as first:
        with pytest.raises(RuntimeError, match="taken"):
            RedisServer(tmp_path / "asked", port=first.port).start()
        second = RedisServer(tmp_path / "chosen")
        second.port = first.port  # as if another process took the port chosen a moment ago
        with second:
            assert second.port != first.port and second.pid != first.pid
            import redis

            client = redis.Redis(host="127.0.0.1", port=second.port)
            assert client.info("server")["process_id"] == second.pid
            client.close()
