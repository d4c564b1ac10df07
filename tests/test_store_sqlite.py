"""The SQLite store: one file shared by real processes, WAL, durability, bounded lock waits."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from store_fixtures import DEADLINE, Child, sqlite_url, wait_for  # noqa: F401  (fixture)

from apikee._ids import new_key_id
from apikee._store import (
    Revocation,
    Revocations,
    RevocationSnapshot,
    StoreUnavailable,
    open_store,
)


def test_revoke_here_seen_in_another_process(sqlite_url: str) -> None:  # noqa: F811
    before, after = new_key_id(), new_key_id()
    with Revocations(sqlite_url) as revocations:
        revocations.revoke_id(before)
        child = Child(sqlite_url, revoked=[before], expect=[after])
        try:
            assert child.wait("ready") is not None
            revocations.revoke_id(after)
            assert child.wait("saw", id=after) is not None  # bounded wait, 10 s
        finally:
            done = child.finish()
    assert done["violations"] == 0 and done["read_errors"] == 0 and done["thread_errors"] == []
    assert done["returncode"] == 0


def test_revoke_in_another_process_seen_here(sqlite_url: str) -> None:  # noqa: F811
    key_id = new_key_id()
    with RevocationSnapshot(sqlite_url) as snapshot:
        snapshot.start(wait=5)
        code = (
            "import sys; from apikee._store import Revocations\n"
            "with Revocations(sys.argv[1]) as r: r.revoke_id(sys.argv[2], reason='cli')\n"
        )
        subprocess.run([sys.executable, "-c", code, sqlite_url, key_id], check=True, timeout=60)
        assert wait_for(lambda: key_id in snapshot.ids)
        (record,) = snapshot.store.list()
        assert record.reason == "cli"


def test_wal_mode_and_durability(sqlite_url: str) -> None:  # noqa: F811
    store = open_store(sqlite_url)
    store.add(Revocation("id", "durable"))
    store.close()
    path = sqlite_url.removeprefix("sqlite://")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    again = open_store(sqlite_url)
    assert [r.value for r in again.list()] == ["durable"]
    again.close()


def test_a_held_write_lock_fails_the_write_within_the_timeout(sqlite_url: str) -> None:  # noqa: F811
    store = open_store(sqlite_url, server_timeout=0.3)
    store.ping()  # creates the schema
    blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite://"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="locked"):
            store.add(Revocation("id", "blocked"))
        assert time.monotonic() - started < 0.3 + DEADLINE  # bounded (never hangs)
        assert store.list() == []  # readers are not blocked by the writer (WAL)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    store.add(Revocation("id", "unblocked"))
    store.close()


def test_the_change_log_is_bounded_and_a_gap_forces_a_reload(
    sqlite_url: str,  # noqa: F811 (the fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from apikee._store import _sqlite

    monkeypatch.setattr(_sqlite, "CHANGE_LOG", 5)
    store = open_store(sqlite_url)
    start = store.version()
    for index in range(12):
        store.add(Revocation("id", f"id-{index}"))
    assert store.changes_since(start) is None  # too far back: the caller reloads
    recent = store.changes_since(type(start)(start.epoch, start.counter + 9))
    assert recent is not None and [c.value for c in recent] == ["id-9", "id-10", "id-11"]
    with RevocationSnapshot(store) as snapshot:
        snapshot.refresh_now()
        assert len(snapshot.ids) == 12
    store.close()


def test_a_corrupt_file_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database" * 100)
    with Revocations(f"sqlite://{path}", backoff_max=0.1) as revocations:
        with pytest.raises(StoreUnavailable, match="not a database"):
            revocations.revoke_id("x")
        revocations.snapshot.start(wait=5)
        assert revocations.snapshot.status()["healthy"] is False
