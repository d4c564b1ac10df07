"""Per-key usage in a store, next to its revocations: when each key id last verified, how
many times, and its tenant. Written only by the background flush of ``apikee._usage`` (never
on the request path), read by ``Apikee.last_used`` / ``Apikee.key_usage`` and ``apikee usage``.

- **SQLite**: the table ``apikee_last_used`` (id primary key, tenant, uses, last_used) in the
  store's file; one ``BEGIN IMMEDIATE`` upsert transaction per flush.
- **Redis**: the hash ``{PREFIX}:usage:last`` (id -> last unix time), ``{PREFIX}:usage:uses``
  (id -> count, ``HINCRBY``) and ``{PREFIX}:usage:tenant`` (id -> tenant); one pipeline per
  flush, the last time kept as the maximum of what every process wrote (a Lua script).
- **memory**: a dict on the store object (this process).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from typing import Any, Iterable

from ._base import Store

__all__ = ["KeyUsage", "read_usage", "write_usage"]

_SQLITE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS apikee_last_used ("
    " id TEXT PRIMARY KEY, tenant TEXT NOT NULL, uses INTEGER NOT NULL, last_used REAL NOT NULL)"
)
_SQLITE_UPSERT = (
    "INSERT INTO apikee_last_used (id, tenant, uses, last_used) VALUES (?, ?, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET tenant = excluded.tenant, uses = uses + excluded.uses, "
    "last_used = MAX(last_used, excluded.last_used)"
)
# KEYS: last, uses, tenant. ARGV: triples of id, tenant, count, time.
_REDIS_WRITE = """
for i = 1, #ARGV, 4 do
  local id = ARGV[i]
  local old = tonumber(redis.call('HGET', KEYS[1], id))
  if not old or old < tonumber(ARGV[i + 3]) then redis.call('HSET', KEYS[1], id, ARGV[i + 3]) end
  redis.call('HINCRBY', KEYS[2], id, ARGV[i + 2])
  redis.call('HSET', KEYS[3], id, ARGV[i + 1])
end
return #ARGV / 4
"""
_REDIS_BATCH = 500  # ids per script call: a flush of 100,000 keys never blocks Redis long
_MEMORY_LOCK = threading.Lock()


@dataclass(frozen=True)
class KeyUsage:
    """What the store knows of one key id: its tenant, how many successful verifications were
    flushed, and the last one (unix seconds)."""

    id: str
    tenant: str
    uses: int
    last_used: float


Row = tuple[str, str, int, float]  # id, tenant, uses since the last flush, last time


def _redis_keys(store: Any) -> list[str]:
    prefix = store.keys[0].rsplit(":", 1)[0]  # "{prefix}"
    return [f"{prefix}:usage:last", f"{prefix}:usage:uses", f"{prefix}:usage:tenant"]


def write_usage(store: Store, rows: list[Row]) -> None:
    """Add ``rows`` to the store (``StoreUnavailable`` on failure: the caller keeps them)."""
    if not rows:
        return
    kind = store.kind
    if kind == "sqlite":

        def body(conn: sqlite3.Connection) -> None:
            conn.execute(_SQLITE_SCHEMA)
            conn.executemany(_SQLITE_UPSERT, rows)

        store._transaction("write usage", body, write=True)  # type: ignore[attr-defined]
    elif kind == "redis":
        client = store.client  # type: ignore[attr-defined]
        keys = _redis_keys(store)
        script = getattr(store, "_usage_script", None)
        if script is None:
            script = store._usage_script = client.register_script(_REDIS_WRITE)  # type: ignore[attr-defined]

        def send() -> None:
            pipe = client.pipeline(transaction=False)
            for start in range(0, len(rows), _REDIS_BATCH):
                args: list[Any] = []
                for key_id, tenant, uses, at in rows[start : start + _REDIS_BATCH]:
                    args.extend((key_id, tenant, uses, repr(float(at))))
                script(keys=keys, args=args, client=pipe)
            pipe.execute()

        store.call("write usage", send)  # type: ignore[attr-defined]
    else:
        with _MEMORY_LOCK:
            table: dict[str, KeyUsage] = store.__dict__.setdefault("_usage", {})
            for key_id, tenant, uses, at in rows:
                old = table.get(key_id)
                if old is not None:
                    uses += old.uses
                    at = max(at, old.last_used)
                table[key_id] = KeyUsage(key_id, tenant, uses, at)


def read_usage(
    store: Store, ids: Iterable[str] | None = None, tenant: str | None = None
) -> list[KeyUsage]:
    """The usage of ``ids`` (all keys when None), of ``tenant`` only when given; most recently
    used first."""
    wanted = None if ids is None else list(ids)
    found: list[KeyUsage] = []
    kind = store.kind
    if kind == "sqlite":

        def body(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            conn.execute(_SQLITE_SCHEMA)
            query = "SELECT id, tenant, uses, last_used FROM apikee_last_used"
            if wanted is None:
                return conn.execute(query).fetchall()
            rows: list[tuple[Any, ...]] = []
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                marks = ",".join("?" * len(part))
                rows += conn.execute(f"{query} WHERE id IN ({marks})", part).fetchall()
            return rows

        rows = store._run("read usage", body)  # type: ignore[attr-defined]
        found = [KeyUsage(str(i), str(t), int(u), float(at)) for i, t, u, at in rows]
    elif kind == "redis":
        client = store.client  # type: ignore[attr-defined]
        last_key, uses_key, tenant_key = _redis_keys(store)

        def read() -> list[KeyUsage]:
            if wanted is None:
                last = client.hgetall(last_key)
                uses = client.hgetall(uses_key)
                tenants = client.hgetall(tenant_key)
                names = list(last)
            else:
                names = wanted
                last = dict(zip(names, client.hmget(last_key, names), strict=True)) if names else {}
                uses = dict(zip(names, client.hmget(uses_key, names), strict=True)) if names else {}
                tenants = (
                    dict(zip(names, client.hmget(tenant_key, names), strict=True)) if names else {}
                )
            return [
                KeyUsage(n, tenants.get(n) or "", int(uses.get(n) or 0), float(last[n]))
                for n in names
                if last.get(n) is not None
            ]

        found = store.call("read usage", read)  # type: ignore[attr-defined]
    else:
        with _MEMORY_LOCK:
            table: dict[str, KeyUsage] = store.__dict__.get("_usage", {})
            if wanted is None:
                found = list(table.values())
            else:
                found = [table[i] for i in wanted if i in table]
    if tenant is not None:
        found = [u for u in found if u.tenant == tenant]
    found.sort(key=lambda u: (-u.last_used, u.id))
    return found
