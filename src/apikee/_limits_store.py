"""Rate-limit counters shared between processes: Redis (a fleet) and SQLite (one host).

Both run the same GCRA step as the in-process twins (``decide`` of ``_limiter_c`` /
``_limiter_py``), so every store gives the decisions the in-process limiter would give for
the same sequence of requests:

- **Redis**: one Lua script per decision (one round trip, atomic on the server): it reads the
  bucket's state, admits or refuses, writes the new state with a TTL equal to the time until
  the bucket is idle again (so idle keys cost no memory), and returns the old state, from which
  the client computes the same decision. The clock is the Redis server's (``TIME``), one clock
  for the whole fleet. One hash per bucket, ``{PREFIX:rl:BUCKET}``: the stamp ``t`` and one
  backlog per ``LIMIT/WINDOW/BURST`` field.
- **SQLite**: one ``BEGIN IMMEDIATE`` transaction per decision on the store's file (WAL,
  ``synchronous=NORMAL``: counters are not worth an fsync per request), shared exactly by
  every process of the host; rows of idle buckets are pruned every ``PRUNE_EVERY`` decisions.

:class:`GuardedLimiter` wraps either with the outage policy: a store error (or a timeout, at
most ``server_timeout``) never reaches the application; with ``fail_open`` the request is
decided by the in-process limiter (counted locally), otherwise it is refused with
``STORE_UNAVAILABLE`` (503). After a failure the store is skipped for ``retry_interval``
seconds, so an outage costs one timeout per interval, not one per request.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import threading
import time
from typing import Any

from ._errors import MSG_LIMIT_STORE_UNAVAILABLE, ApikeeError, ErrorCode
from ._store import Store, StoreUnavailable

__all__ = ["GuardedLimiter", "RedisLimiter", "SQLiteLimiter", "remote_limiter"]

log = logging.getLogger("apikee.limits")
PRUNE_EVERY = 1000
_SAFE_BUCKET = re.compile(r"[0-9A-Za-z_:.-]{1,128}")

# KEYS: the bucket's hash. ARGV: now ('' = the server's TIME), cost, then per limit: field,
# interval, tolerance, burst. The hash holds 't' (the stamp) and one backlog per limit field.
_GCRA = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local cost = tonumber(ARGV[2])
local n = (#ARGV - 2) / 4
local fields = {'t'}
for i = 1, n do fields[i + 1] = ARGV[4 * i - 1] end
local stored = redis.call('HMGET', KEYS[1], unpack(fields))
local stamp = tonumber(stored[1]) or now
local elapsed = now - stamp
if elapsed < 0 then elapsed = 0 end
local news, allowed, longest = {}, true, 0
local reply = {string.format('%.17g', now), 0, string.format('%.17g', stamp)}
for i = 1, n do
  local level = tonumber(stored[i + 1]) or 0
  local backlog = level - elapsed
  if backlog < 0 then backlog = 0 end
  local new = backlog + cost * tonumber(ARGV[4 * i])
  news[i] = new
  if new > longest then longest = new end
  if tonumber(ARGV[4 * i + 1]) - new < -1e-6 or cost > tonumber(ARGV[4 * i + 2]) then
    allowed = false
  end
  reply[i + 3] = string.format('%.17g', level)
end
if allowed then
  reply[2] = 1
  if cost > 0 then
    local pairs = {'t', string.format('%.17g', now)}
    for i = 1, n do
      pairs[2 * i + 1] = fields[i + 1]
      pairs[2 * i + 2] = string.format('%.17g', news[i])
    end
    redis.call('HSET', KEYS[1], unpack(pairs))
    redis.call('PEXPIRE', KEYS[1], math.ceil(longest * 1000) + 1000)
  end
end
return reply
"""


def _bucket_name(bucket: str) -> str:
    if _SAFE_BUCKET.fullmatch(bucket):
        return bucket
    return "h:" + hashlib.sha256(bucket.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _spec(limit: tuple[int, int, int]) -> str:
    return f"{limit[0]}/{limit[1]}/{limit[2]}"


class RedisLimiter:
    """GCRA buckets in Redis: one atomic Lua round trip per decision."""

    kind = "redis"

    def __init__(self, store: Any, module: Any, *, prefix: str = "apikee") -> None:
        self._store = store
        self._module = module
        self._prefix = prefix
        self._script = store.client.register_script(_GCRA)

    def _key(self, bucket: str) -> str:
        return f"{{{self._prefix}:rl:{_bucket_name(bucket)}}}"

    def check(self, bucket: str, plan: Any, cost: int, now: float | None) -> Any:
        args: list[Any] = ["" if now is None else repr(float(now)), cost]
        for n, w, b in plan.limits:
            interval = w / n
            args += [_spec((n, w, b)), repr(interval), repr(b * interval), b]
        keys = [self._key(bucket)]
        reply = self._store.call("rate limit", lambda: self._script(keys=keys, args=args))
        at, stamp = float(reply[0]), float(reply[2])
        levels = [float(x) for x in reply[3:]]
        decision, _ = self._module.decide(plan, levels, stamp, cost, at)
        return decision

    def reset(self, bucket: str, plan: Any) -> None:
        key = self._key(bucket)
        self._store.call("rate limit reset", lambda: self._store.client.delete(key))


class SQLiteLimiter:
    """GCRA buckets in the store's SQLite file, one transaction per decision."""

    kind = "sqlite"

    def __init__(self, path: str, module: Any, *, server_timeout: float) -> None:
        self.path = path
        self._module = module
        self._timeout = server_timeout
        self._local = threading.local()
        self._count = 0

    def _connect(self) -> sqlite3.Connection:
        pid = os.getpid()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == pid:
            return conn
        conn = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS apikee_limits (bucket TEXT NOT NULL, spec TEXT NOT NULL,"
            " level REAL NOT NULL, stamp REAL NOT NULL, idle REAL NOT NULL,"
            " PRIMARY KEY (bucket, spec)) WITHOUT ROWID"
        )
        self._local.conn, self._local.pid = conn, pid
        return conn

    def check(self, bucket: str, plan: Any, cost: int, now: float | None) -> Any:
        try:
            return self._check(bucket, plan, cost, now)
        except (sqlite3.Error, OSError) as exc:
            message = f"rate-limit store sqlite://{self.path} unavailable: {type(exc).__name__}"
        raise StoreUnavailable(message)

    def _check(self, bucket: str, plan: Any, cost: int, now: float | None) -> Any:
        conn = self._connect()
        specs = [_spec(limit) for limit in plan.limits]
        conn.execute("BEGIN IMMEDIATE")
        try:
            t = time.time() if now is None else float(now)
            rows = {
                spec: (level, stamp)
                for spec, level, stamp in conn.execute(
                    "SELECT spec, level, stamp FROM apikee_limits WHERE bucket = ?", (bucket,)
                )
            }
            stamp = max((row[1] for row in rows.values()), default=t)
            # A row written at another stamp (another plan) is brought to the common one.
            levels = [
                max(0.0, rows[spec][0] - (stamp - rows[spec][1])) if spec in rows else 0.0
                for spec in specs
            ]
            decision, news = self._module.decide(plan, levels, stamp, cost, t)
            if decision.allowed and cost > 0:
                conn.executemany(
                    "INSERT OR REPLACE INTO apikee_limits VALUES (?, ?, ?, ?, ?)",
                    [
                        (bucket, spec, new, t, t + new)
                        for spec, new in zip(specs, news, strict=True)
                    ],
                )
            self._count += 1
            if self._count % PRUNE_EVERY == 0:
                conn.execute("DELETE FROM apikee_limits WHERE idle < ?", (t,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return decision

    def reset(self, bucket: str, plan: Any) -> None:
        conn = self._connect()
        conn.execute("DELETE FROM apikee_limits WHERE bucket = ?", (bucket,))


class GuardedLimiter:
    """A shared limiter with the outage policy of its :class:`~apikee.Apikee`.

    ``check`` never raises a store error: with ``fail_open`` the local limiter decides (the
    request is counted in this process only), else ``ApikeeError(STORE_UNAVAILABLE)`` (503).
    """

    def __init__(
        self, remote: Any, local: Any, *, fail_open: bool, retry_interval: float = 1.0
    ) -> None:
        self.remote = remote
        self.local = local
        self.fail_open = fail_open
        self.retry_interval = retry_interval
        self._down_until = 0.0
        self.failures = 0
        self.last_error: str | None = None

    @property
    def kind(self) -> str:
        return str(self.remote.kind)

    @property
    def healthy(self) -> bool:
        return time.monotonic() >= self._down_until

    def check(self, bucket: str, plan: Any, cost: int = 1, now: float | None = None) -> Any:
        if time.monotonic() >= self._down_until:
            try:
                return self.remote.check(bucket, plan, cost, now)
            except StoreUnavailable as exc:
                self._failed(str(exc))
            except Exception as exc:  # a store must never break the app (docs/SPEC.md §8)
                self._failed(f"{type(exc).__name__} from the rate-limit store")
        if self.fail_open:
            return self.local.check(bucket, plan, cost, now)
        raise ApikeeError(ErrorCode.STORE_UNAVAILABLE, MSG_LIMIT_STORE_UNAVAILABLE)

    def _failed(self, message: str) -> None:
        self.failures += 1
        self.last_error = message
        self._down_until = time.monotonic() + self.retry_interval
        log.warning("%s; deciding %s for %.1f s", message, self._mode(), self.retry_interval)

    def _mode(self) -> str:
        return "locally (fail_open)" if self.fail_open else "503 (fail closed)"

    def reset(self, bucket: str, plan: Any) -> None:
        self.local.forget(bucket)
        self.remote.reset(bucket, plan)


def remote_limiter(store: Store, module: Any, *, server_timeout: float) -> Any:
    """The shared limiter of a store (None for ``memory://``: the in-process one is it)."""
    if store.kind == "redis":
        prefix = store._url.option("prefix", "apikee")  # type: ignore[attr-defined]
        return RedisLimiter(store, module, prefix=prefix)
    if store.kind == "sqlite":
        return SQLiteLimiter(store.path, module, server_timeout=server_timeout)  # type: ignore[attr-defined]
    return None
