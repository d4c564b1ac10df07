"""The in-process snapshot and its refresher (memory and SQLite stores; Redis has its own file)."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest
from store_fixtures import sqlite_url, wait_for  # noqa: F401  (fixture)

from apikee import hash_key
from apikee._ids import new_key_id
from apikee._store import (
    Revocation,
    Revocations,
    RevocationSnapshot,
    StoreUnavailable,
    open_store,
)


@pytest.fixture(params=["memory", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return f"memory://snap-{os.getpid()}-{time.monotonic_ns()}"
    return f"sqlite://{tmp_path / 'revocations.db'}"


def test_local_writes_are_enforced_at_once(url: str) -> None:
    # A refresher that would take a minute to notice: only the local apply can explain it.
    with Revocations(url, poll_interval=60, resync_interval=60) as revocations:
        snapshot = revocations.snapshot
        assert snapshot.start(wait=5)
        key_id, fp = new_key_id(), hash_key("a key")
        revocations.revoke_id(key_id, expires_at=time.time() + 60, reason="leaked")
        assert key_id in snapshot.ids
        revocations.revoke_fingerprint(fp.upper())
        assert fp in snapshot.ids
        revocations.revoke_tenant("acme", issued_before=123.0)
        assert snapshot.tenants == {"acme": 123.0}
        assert revocations.unrevoke("id", key_id) is True
        assert key_id not in snapshot.ids
        assert revocations.unrevoke("fingerprint", fp.upper()) is True
        assert revocations.unrevoke("tenant", "acme") is True
        assert snapshot.ids == frozenset() and snapshot.tenants == {}
        assert revocations.unrevoke("id", key_id) is False
        assert revocations.list() == []


def test_other_writers_are_seen_by_the_refresher(url: str) -> None:
    writer = Revocations(url)
    with RevocationSnapshot(url, poll_interval=0.05) as reader:
        reader.start(wait=5)
        key_id = new_key_id()
        writer.revoke_id(key_id)
        assert wait_for(lambda: key_id in reader.ids)
        writer.unrevoke("id", key_id)
        assert wait_for(lambda: key_id not in reader.ids)
        writer.revoke_tenant("acme")
        assert wait_for(lambda: "acme" in reader.tenants)
    writer.close()


def test_listeners_get_new_objects_every_time(url: str) -> None:
    seen: list[tuple[frozenset[str], dict[str, float]]] = []
    with Revocations(url) as revocations:
        snapshot = revocations.snapshot
        snapshot.add_listener(lambda ids, tenants: seen.append((ids, tenants)))
        assert len(seen) == 1  # called at once with the current pair
        snapshot.start(wait=5)
        first_ids, first_tenants = snapshot.ids, snapshot.tenants
        revocations.revoke_id("id-one")
        revocations.revoke_tenant("acme", issued_before=5.0)
        assert seen[-1] == (frozenset({"id-one"}), {"acme": 5.0})
        assert first_ids == frozenset() and first_tenants == {}  # published objects never change
        for (ids_a, tenants_a), (ids_b, tenants_b) in itertools.pairwise(seen):
            assert ids_a is not ids_b or tenants_a is not tenants_b
        assert isinstance(seen[-1][0], frozenset)


def test_a_failing_listener_does_not_stop_anything(url: str) -> None:
    def broken(ids: frozenset[str], tenants: dict[str, float]) -> None:
        raise RuntimeError("listener bug")

    with Revocations(url) as revocations:
        revocations.snapshot.add_listener(broken)
        revocations.revoke_id("still-works")
        assert "still-works" in revocations.snapshot.ids


def test_refresh_now_and_status(url: str) -> None:
    writer = open_store(url)
    with RevocationSnapshot(url) as snapshot:
        writer.add(Revocation("id", "x"))
        snapshot.refresh_now()
        assert "x" in snapshot._ids
        status = snapshot.status()
        assert status["entries"] == 1 and status["version"] is not None
        assert status["age"] is not None and status["pid"] == os.getpid()
        assert snapshot.age() < 60
    writer.close()


def test_close_stops_the_thread_and_it_stays_stopped(url: str) -> None:
    snapshot = RevocationSnapshot(url)
    snapshot.start(wait=5)
    thread = snapshot._refresher.thread
    assert thread is not None and thread.is_alive() and snapshot.status()["running"]
    snapshot.close()
    assert not thread.is_alive()
    snapshot.ensure_started()
    _ = snapshot.ids
    assert snapshot._refresher.thread is None and snapshot.status()["running"] is False


def test_an_unusable_store_never_raises_into_readers(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    hook, threading.excepthook = threading.excepthook, lambda info: errors.append(info.exc_value)
    url = f"sqlite://{tmp_path / 'missing-dir' / 'x.db'}"
    try:
        with Revocations(url, backoff_max=0.1) as revocations:
            snapshot = revocations.snapshot
            assert snapshot.start(wait=5) is False
            for _ in range(100):
                assert snapshot.ids == frozenset()
                assert snapshot.is_revoked(new_key_id(), "acme") is False
            status = snapshot.status()
            assert status["healthy"] is False and "unable to open" in str(status["last_error"])
            with pytest.raises(StoreUnavailable):
                revocations.revoke_id("x")  # a write is never silently lost
            with pytest.raises(StoreUnavailable):
                snapshot.refresh_now()
            with pytest.raises(StoreUnavailable):
                revocations.list()
            (tmp_path / "missing-dir").mkdir()  # the store comes back: resync by itself
            revocations.revoke_id("after")
            assert wait_for(lambda: snapshot.status()["healthy"] is True)
            assert "after" in snapshot.ids
    finally:
        threading.excepthook = hook
    assert errors == []


def _child(url: str, key_id: str, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    snapshot = _SHARED[url]
    inherited = "inherited" in snapshot._ids
    results.put(("ready", inherited))
    ok = wait_for(lambda: key_id in snapshot.ids)  # the child's own refresher must find it
    results.put(("saw", ok, snapshot.status()["running"], snapshot.status()["pid"] == os.getpid()))


_SHARED: dict[str, RevocationSnapshot] = {}


# A pre-fork server forks a process that has threads: that is the case under test.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_restarts_its_refresher(sqlite_url: str) -> None:  # noqa: F811
    writer = Revocations(sqlite_url)
    writer.revoke_id("inherited")
    snapshot = RevocationSnapshot(sqlite_url, poll_interval=0.05)
    snapshot.start(wait=5)
    _SHARED[sqlite_url] = snapshot
    try:
        context = multiprocessing.get_context("fork")
        results: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
        key_id = new_key_id()
        child = context.Process(target=_child, args=(sqlite_url, key_id, results))
        child.start()
        assert results.get(timeout=30) == ("ready", True)
        writer.revoke_id(key_id)
        assert results.get(timeout=30) == ("saw", True, True, True)
        child.join(30)
        assert child.exitcode == 0
        assert snapshot._refresher.running  # the parent's thread is untouched
    finally:
        _SHARED.pop(sqlite_url, None)
        snapshot.close()
        writer.close()
