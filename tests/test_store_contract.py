"""The behaviour every store shares, on the real thing: memory, SQLite and Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_server import RedisServer

from apikee import hash_key
from apikee._ids import new_key_id
from apikee._store import PRUNE_MARGIN, Revocation, Store, StoreVersion, open_store


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    server = None
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite://{tmp_path / 'revocations.db'}"
    else:
        server = RedisServer(tmp_path / "redis").start()
        url = server.url
    opened = open_store(url, server_timeout=2.0)
    try:
        yield opened
    finally:
        opened.close()
        if server is not None:
            server.stop()


def test_add_list_remove(store: Store) -> None:
    assert store.list() == []
    first = store.add(Revocation("id", "id-1", reason="leaked", revoked_at=100.0))
    second = store.add(Revocation("fingerprint", hash_key("k"), revoked_at=50.0))
    store.add(Revocation("tenant", "acme", issued_before=123.5, revoked_at=200.0))
    assert isinstance(first, StoreVersion) and second.counter == first.counter + 1
    assert [r.value for r in store.list()] == [hash_key("k"), "id-1", "acme"]  # oldest first
    assert store.remove("id", "id-1") is True
    assert store.remove("id", "id-1") is False
    assert store.remove("tenant", "nobody") is False
    assert {r.kind for r in store.list()} == {"fingerprint", "tenant"}


def test_writing_again_replaces(store: Store) -> None:
    store.add(Revocation("tenant", "acme", issued_before=10.0, reason="first"))
    store.add(Revocation("tenant", "acme", issued_before=20.0, reason="second"))
    (record,) = store.list()
    assert (record.issued_before, record.reason) == (20.0, "second")


def test_records_round_trip_exactly(store: Store) -> None:
    record = Revocation(
        "tenant",
        "t|w:e \u00e9\n",
        reason='r|"x"',
        revoked_at=1.25,
        host="h1",
        expires_at=None,
        issued_before=99.5,
    )
    other = Revocation("id", new_key_id(), expires_at=time.time() + 3600, host="h2")
    store.add(record)
    store.add(other)
    version, records = store.load()
    assert sorted(records, key=lambda r: r.kind) == [other, record]
    assert version == store.version()


def test_version_and_changes(store: Store) -> None:
    start = store.version()
    assert store.changes_since(start) == []
    store.add(Revocation("id", "a"))
    store.remove("id", "a")
    after = store.version()
    assert after.counter == start.counter + 2 and after.epoch
    changes = store.changes_since(start)
    if changes is not None:  # Redis delivers changes over pub/sub instead
        assert [(c.version.counter, c.value, c.record is None) for c in changes] == [
            (start.counter + 1, "a", False),
            (start.counter + 2, "a", True),
        ]
    assert store.changes_since(after) == []
    assert store.changes_since(StoreVersion("another-epoch", after.counter)) is None


def test_load_index(store: Store) -> None:
    fp = hash_key("key")
    store.add(Revocation("id", "id-1"))
    store.add(Revocation("fingerprint", fp))
    store.add(Revocation("tenant", "acme", issued_before=42.0))
    version, ids, tenants = store.load_index()
    assert ids == {"id-1", fp} and tenants == {"acme": 42.0} and version == store.version()


def test_pruning(store: Store) -> None:
    now = time.time()
    store.add(Revocation("id", "long-expired", expires_at=now - PRUNE_MARGIN - 60))
    store.add(Revocation("id", "just-expired", expires_at=now - 60))  # within the margin
    store.add(Revocation("id", "never"))
    store.add(Revocation("tenant", "acme", issued_before=now))
    # the second write pruned the first record
    assert {r.value for r in store.list()} == {"just-expired", "never", "acme"}
    assert store.prune(now=now + PRUNE_MARGIN + 120) == 1
    assert {r.value for r in store.list()} == {"never", "acme"}
    assert store.prune() == 0


def test_prune_without_writes(store: Store) -> None:
    now = time.time()
    store.add(Revocation("id", "x", expires_at=now + 10))
    assert store.prune(now=now) == 0
    assert store.prune(now=now + PRUNE_MARGIN + 20) == 1
    assert store.list() == []


def test_ping_and_repr(store: Store) -> None:
    store.ping()
    assert store.kind in repr(store) or store.url in repr(store)
