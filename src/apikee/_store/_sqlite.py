"""``sqlite:///path``: the embedded store shared by every process of one host (stdlib sqlite3).

The database is in WAL mode (readers never block the writer nor each other) with
``synchronous=FULL`` (a committed revocation survives a crash or power loss) and a busy
timeout of ``server_timeout``: a write waits at most that long for another writer's lock.

Tables: ``apikee_revocations`` (the records), ``apikee_changes`` (a change log of the last
``CHANGE_LOG`` changes, so a refresher fetches only what changed) and ``apikee_meta``
(``epoch``, a random token made with the file, and ``version``, bumped by every change in the
same transaction). The cheap change check is one read of ``version``.

Connections are per thread and per process: one made before ``fork`` is never used (nor
closed: closing a connection inherited from the parent could disturb its locks) in the child.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TypeVar, cast

from ._base import Store
from ._errors import StoreUnavailable, describe
from ._record import PRUNE_MARGIN, Change, Kind, Revocation, StoreVersion

__all__ = ["SQLiteStore"]

CHANGE_LOG = 10_000
_T = TypeVar("_T")
_COLUMNS = "kind, value, reason, revoked_at, host, expires_at, issued_before"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS apikee_revocations (
    kind TEXT NOT NULL, value TEXT NOT NULL, reason TEXT, revoked_at REAL NOT NULL,
    host TEXT NOT NULL, expires_at REAL, issued_before REAL,
    PRIMARY KEY (kind, value)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS apikee_revocations_expiry
    ON apikee_revocations (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS apikee_changes (
    version INTEGER PRIMARY KEY, {_COLUMNS.replace("reason", "removed INTEGER NOT NULL, reason")});
CREATE TABLE IF NOT EXISTS apikee_meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID;
"""


def _record(row: tuple[object, ...]) -> Revocation:
    return Revocation(*row)  # type: ignore[arg-type]  # the columns are the fields, in order


class SQLiteStore(Store):
    """Revocations in one SQLite file, shared by the processes of a host."""

    kind = "sqlite"

    def __init__(self, path: str, *, server_timeout: float = 3.0) -> None:
        self.path = path
        self.server_timeout = server_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._closed = False

    @property
    def url(self) -> str:
        return f"sqlite://{self.path}"

    # ── connections and errors ──────────────────────────────────────────────────────────────

    def _connect(self) -> sqlite3.Connection:
        pid = os.getpid()
        conn = cast("sqlite3.Connection | None", getattr(self._local, "conn", None))
        if conn is not None and getattr(self._local, "pid", None) == pid:
            # The file this connection reads may have been removed or replaced (a restore, a
            # cleanup): writing into an unlinked file would lose the revocation for every
            # other process, so a connection serves only the file now at the path.
            if getattr(self._local, "identity", None) == self._file_identity():
                return conn
            self._local.conn = None
            conn.close()
        if self._closed:
            raise StoreUnavailable(f"revocation store {self.url} is closed")
        conn = sqlite3.connect(
            self.path, timeout=self.server_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.server_timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            self._ensure_schema(conn)
        except BaseException:
            conn.close()
            raise
        identity = self._file_identity()
        if identity is None:
            conn.close()
            raise StoreUnavailable(f"revocation store {self.url}: the database file is missing")
        self._local.conn, self._local.pid, self._local.identity = conn, pid, identity
        with self._lock:
            self._connections.append((pid, conn))
        return conn

    def _file_identity(self) -> tuple[int, int] | None:
        """(device, inode) of the database file now at the path, or None if there is none."""
        try:
            status = os.stat(self.path)
        except OSError:
            return None
        return status.st_dev, status.st_ino

    @staticmethod
    def _ensure_schema(conn: sqlite3.Connection) -> None:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'apikee_meta'").fetchone():
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT OR IGNORE INTO apikee_meta VALUES ('epoch', ?), ('version', 0)",
                (secrets.token_hex(8),),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _run(self, operation: str, body: Callable[[sqlite3.Connection], _T]) -> _T:
        """``body(connection)``; every sqlite3 or OS error becomes ``StoreUnavailable``."""
        try:
            return body(self._connect())
        except (sqlite3.Error, OSError) as exc:
            message = f"revocation store {self.url} unavailable: {describe(operation, exc, ())}"
        raise StoreUnavailable(message)

    def _transaction(
        self, operation: str, body: Callable[[sqlite3.Connection], _T], *, write: bool
    ) -> _T:
        """``body`` in one transaction (rolled back on any error): a read one, where every
        query sees the same version, or ``BEGIN IMMEDIATE`` (the write lock) for a write."""

        def transaction(conn: sqlite3.Connection) -> _T:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = body(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        return self._run(operation, transaction)

    @staticmethod
    def _version(conn: sqlite3.Connection) -> StoreVersion:
        rows = dict(
            conn.execute(
                "SELECT name, value FROM apikee_meta WHERE name IN ('epoch', 'version')"
            ).fetchall()
        )
        return StoreVersion(str(rows.get("epoch", "")), int(rows.get("version", 0)))

    @classmethod
    def _log(
        cls, conn: sqlite3.Connection, record: Revocation | None, kind: str, value: str
    ) -> StoreVersion:
        conn.execute("UPDATE apikee_meta SET value = value + 1 WHERE name = 'version'")
        version = cls._version(conn)
        if record is None:
            conn.execute(
                "INSERT INTO apikee_changes (version, kind, value, removed, revoked_at, "
                "host) VALUES (?, ?, ?, 1, 0, '')",
                (version.counter, kind, value),
            )
        else:
            conn.execute(
                f"INSERT INTO apikee_changes (version, removed, {_COLUMNS}) "
                "VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?)",
                (version.counter, *_values(record)),
            )
        conn.execute(
            "DELETE FROM apikee_changes WHERE version <= ?", (version.counter - CHANGE_LOG,)
        )
        return version

    @classmethod
    def _prune_in(cls, conn: sqlite3.Connection, now: float) -> int:
        expired = conn.execute(
            "SELECT kind, value FROM apikee_revocations WHERE expires_at < ?", (now - PRUNE_MARGIN,)
        ).fetchall()
        for kind, value in expired:
            conn.execute(
                "DELETE FROM apikee_revocations WHERE kind = ? AND value = ?", (kind, value)
            )
            cls._log(conn, None, kind, value)
        return len(expired)

    # ── the store interface ─────────────────────────────────────────────────────────────────

    def add(self, revocation: Revocation) -> StoreVersion:
        def body(conn: sqlite3.Connection) -> StoreVersion:
            self._prune_in(conn, time.time())
            conn.execute(
                f"INSERT OR REPLACE INTO apikee_revocations ({_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                _values(revocation),
            )
            return self._log(conn, revocation, revocation.kind, revocation.value)

        return self._transaction("add", body, write=True)

    def discard(self, kind: Kind, value: str) -> StoreVersion | None:
        def body(conn: sqlite3.Connection) -> StoreVersion | None:
            cursor = conn.execute(
                "DELETE FROM apikee_revocations WHERE kind = ? AND value = ?", (kind, value)
            )
            return self._log(conn, None, kind, value) if cursor.rowcount else None

        return self._transaction("remove", body, write=True)

    def load(self) -> tuple[StoreVersion, list[Revocation]]:
        def body(conn: sqlite3.Connection) -> tuple[StoreVersion, list[Revocation]]:
            version = self._version(conn)
            rows = conn.execute(f"SELECT {_COLUMNS} FROM apikee_revocations").fetchall()
            return version, [_record(row) for row in rows]

        return self._transaction("load", body, write=False)

    def load_index(self) -> tuple[StoreVersion, set[str], dict[str, float]]:
        def body(conn: sqlite3.Connection) -> tuple[StoreVersion, set[str], dict[str, float]]:
            live = "(expires_at IS NULL OR expires_at >= ?)"
            cutoff = time.time() - PRUNE_MARGIN
            version = self._version(conn)
            ids = {
                value
                for (value,) in conn.execute(
                    f"SELECT value FROM apikee_revocations WHERE kind != 'tenant' AND {live}",
                    (cutoff,),
                )
            }
            tenants = dict(
                conn.execute(
                    "SELECT value, issued_before FROM apikee_revocations "
                    f"WHERE kind = 'tenant' AND {live}",
                    (cutoff,),
                ).fetchall()
            )
            return version, ids, tenants

        return self._transaction("load", body, write=False)

    def version(self) -> StoreVersion:
        return self._run("version", self._version)

    def changes_since(self, version: StoreVersion) -> list[Change] | None:
        def body(conn: sqlite3.Connection) -> list[Change] | None:
            current = self._version(conn)
            if current.epoch != version.epoch or version.counter > current.counter:
                return None
            if current.counter == version.counter:
                return []
            (oldest,) = conn.execute("SELECT MIN(version) FROM apikee_changes").fetchone()
            if oldest is None or oldest > version.counter + 1:
                return None
            rows = conn.execute(
                f"SELECT version, removed, {_COLUMNS} FROM apikee_changes "
                "WHERE version > ? ORDER BY version",
                (version.counter,),
            ).fetchall()
            return [
                Change(
                    StoreVersion(current.epoch, row[0]),
                    row[2],
                    row[3],
                    None if row[1] else _record(row[2:]),
                )
                for row in rows
            ]

        return self._transaction("changes", body, write=False)

    def prune(self, now: float | None = None) -> int:
        moment = time.time() if now is None else now

        def has_expired(conn: sqlite3.Connection) -> bool:
            return (
                conn.execute(
                    "SELECT 1 FROM apikee_revocations WHERE expires_at < ? LIMIT 1",
                    (moment - PRUNE_MARGIN,),
                ).fetchone()
                is not None
            )

        if not self._run("prune", has_expired):  # a read first: no write lock when idle
            return 0
        return self._transaction("prune", lambda conn: self._prune_in(conn, moment), write=True)

    def ping(self) -> None:
        self.version()

    def close(self) -> None:
        """Close this process's connections (connections inherited over fork are left alone)."""
        self._closed = True
        pid = os.getpid()
        with self._lock:
            mine = [conn for owner, conn in self._connections if owner == pid]
            self._connections = [(o, c) for o, c in self._connections if o != pid]
        for conn in mine:
            try:
                conn.close()
            except sqlite3.Error:
                pass


def _values(record: Revocation) -> tuple[object, ...]:
    return (
        record.kind,
        record.value,
        record.reason,
        record.revoked_at,
        record.host,
        record.expires_at,
        record.issued_before,
    )
