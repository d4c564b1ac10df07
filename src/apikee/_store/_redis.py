"""``redis://`` and ``rediss://`` (TLS): the store shared by a fleet, through redis-py.

Keys (``PREFIX`` is ``apikee`` unless the URL says ``?prefix=``; the braces are a Redis Cluster
hash tag, so every key lives in one slot and the Lua scripts may touch them all):

- ``{PREFIX}:revocations``: hash, ``kind:value`` -> the record as JSON;
- ``{PREFIX}:revocations:expiry``: sorted set, ``kind:value`` scored by ``expires_at``;
- ``{PREFIX}:revocations:version`` and ``:epoch``: the store version (see ``StoreVersion``);
- channel ``{PREFIX}:revocations:changes``: one message per change, ``A|epoch|version|json``
  (added) or ``D|epoch|version|kind:value`` (removed).

Every write is one Lua script (atomic): prune expired records, write, bump the version and
publish, so a subscriber sees each change exactly once and in version order. Every call is
bounded: ``socket_connect_timeout`` and ``socket_timeout`` are ``server_timeout`` and redis-py's
own retries are off (it would otherwise retry ten times with backoff).
"""

from __future__ import annotations

import importlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from functools import partial
from types import ModuleType
from typing import Any, TypeVar, cast

from ._base import Feed, Store
from ._errors import StoreUnavailable, describe
from ._record import PRUNE_MARGIN, Kind, Revocation, StoreVersion, split_field
from ._url import StoreURL

__all__ = ["RedisStore", "import_redis"]

log = logging.getLogger("apikee.revocation")
_T = TypeVar("_T")
PRUNE_BATCH = 1000
SCAN_COUNT = 1000

_EPOCH = """
local function epoch()
  local e = redis.call('GET', KEYS[4])
  if not e then e = ARGV[2]; redis.call('SET', KEYS[4], e) end
  return e
end
"""
# KEYS: hash, expiry, version, epoch. ARGV: channel, new epoch, prune cutoff, prune limit,
# field ('' = prune only), record JSON, expires_at ('' = never).
_ADD = (
    _EPOCH
    + """
local v = nil
local pruned = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3], 'LIMIT', 0, ARGV[4])
for _, f in ipairs(pruned) do
  redis.call('HDEL', KEYS[1], f)
  redis.call('ZREM', KEYS[2], f)
  v = redis.call('INCR', KEYS[3])
  redis.call('PUBLISH', ARGV[1], 'D|' .. epoch() .. '|' .. v .. '|' .. f)
end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], ARGV[5], ARGV[6])
  if ARGV[7] ~= '' then redis.call('ZADD', KEYS[2], ARGV[7], ARGV[5])
  else redis.call('ZREM', KEYS[2], ARGV[5]) end
  v = redis.call('INCR', KEYS[3])
  redis.call('PUBLISH', ARGV[1], 'A|' .. epoch() .. '|' .. v .. '|' .. ARGV[6])
end
if not v then return {redis.call('GET', KEYS[4]) or '', tonumber(redis.call('GET', KEYS[3]) or '0'), 0} end
return {epoch(), v, #pruned}
"""
)
# KEYS: as above. ARGV: channel, new epoch, field.
_REMOVE = (
    _EPOCH
    + """
redis.call('ZREM', KEYS[2], ARGV[3])
if redis.call('HDEL', KEYS[1], ARGV[3]) == 0 then return {'', 0, 0} end
local v = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[1], 'D|' .. epoch() .. '|' .. v .. '|' .. ARGV[3])
return {epoch(), v, 1}
"""
)


def import_redis() -> ModuleType:
    """The ``redis`` package, or an ``ImportError`` that says how to install it."""
    try:
        return importlib.import_module("redis")
    except ImportError:
        pass
    raise ImportError(
        "redis:// revocation stores need the redis package: pip install 'apikee[redis]'"
    )


class RedisStore(Store):
    """Revocations in Redis, with changes pushed to every process over pub/sub."""

    kind = "redis"

    def __init__(
        self, url: StoreURL, *, server_timeout: float = 3.0, heartbeat_interval: float = 5.0
    ) -> None:
        redis = import_redis()
        self.server_timeout = server_timeout
        self._heartbeat = heartbeat_interval
        self._url = url
        self._secrets = url.secrets()
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        prefix = url.option("prefix", "apikee")
        self.keys = [
            f"{{{prefix}}}:revocations",
            f"{{{prefix}}}:revocations:expiry",
            f"{{{prefix}}}:revocations:version",
            f"{{{prefix}}}:revocations:epoch",
        ]
        self.channel = f"{prefix}:revocations:changes"
        options: dict[str, Any] = {}
        if url.tls:
            options = {"ssl": True, "ssl_cert_reqs": url.option("ssl_cert_reqs", "required")}
            for name in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
                if url.option(name):
                    options[name] = url.option(name)
            options["ssl_check_hostname"] = url.option("ssl_check_hostname", "true") == "true"
        self.client: Any = redis.Redis(
            host=url.host,
            port=url.port,
            db=url.db,
            username=url.username,
            password=url.password,
            socket_timeout=server_timeout,
            socket_connect_timeout=server_timeout,
            retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0),
            decode_responses=True,
            client_name="apikee-revocations",
            **options,
        )
        self._add = self.client.register_script(_ADD)
        self._remove = self.client.register_script(_REMOVE)

    @property
    def url(self) -> str:
        return self._url.redacted()

    @property
    def heartbeat_interval(self) -> float:
        return self._heartbeat

    @heartbeat_interval.setter
    def heartbeat_interval(self, seconds: float) -> None:
        # A fail-closed Apikee shortens it so the snapshot is confirmed well within its
        # max_staleness (the feed reads it on every loop).
        self._heartbeat = float(seconds)

    def call(self, operation: str, body: Callable[[], _T]) -> _T:
        """``body()``; a Redis or socket error becomes ``StoreUnavailable`` (scrubbed, and
        raised outside the ``except``: the original error is not attached to it)."""
        try:
            return body()
        except self._errors as exc:
            message = (
                f"revocation store {self.url} unavailable: "
                f"{describe(operation, exc, self._secrets)}"
            )
        raise StoreUnavailable(message)

    def _script_args(self, *tail: object) -> list[object]:
        return [self.channel, secrets.token_hex(8), *tail]

    @staticmethod
    def _result(reply: Any) -> tuple[StoreVersion, int]:
        epoch, counter, count = reply
        return StoreVersion(str(epoch or ""), int(counter)), int(count)

    def add(self, revocation: Revocation) -> StoreVersion:
        expires = "" if revocation.expires_at is None else repr(revocation.expires_at)
        args = self._script_args(
            repr(time.time() - PRUNE_MARGIN),
            PRUNE_BATCH,
            revocation.record_key,
            revocation.to_json(),
            expires,
        )
        reply = self.call("add", lambda: self._add(keys=self.keys, args=args))
        return self._result(reply)[0]

    def discard(self, kind: Kind, value: str) -> StoreVersion | None:
        args = self._script_args(f"{kind}:{value}")
        version, removed = self._result(
            self.call("remove", lambda: self._remove(keys=self.keys, args=args))
        )
        return version if removed else None

    def version(self) -> StoreVersion:
        def read() -> StoreVersion:
            pipe = self.client.pipeline(transaction=True)
            pipe.get(self.keys[3])
            pipe.get(self.keys[2])
            epoch, counter = pipe.execute()
            return StoreVersion(str(epoch or ""), int(counter or 0))

        return self.call("version", read)

    def _scan(self) -> tuple[StoreVersion, dict[str, str]]:
        """Every ``field -> json`` and their version (HSCAN between two equal version reads;
        the server is never blocked by one big reply)."""
        for _attempt in range(3):
            before = self.version()
            items: dict[str, str] = {}
            cursor = 0
            while True:

                def page(at: int = cursor) -> tuple[int, dict[str, str]]:
                    found, batch = self.client.hscan(self.keys[0], at, count=SCAN_COUNT)
                    return int(found), dict(batch)

                cursor, batch = self.call("load", page)
                items.update(batch)
                if cursor == 0:
                    break
            if self.version() == before:
                return before, items

        def atomic() -> tuple[StoreVersion, dict[str, str]]:  # writes kept racing the scan
            pipe = self.client.pipeline(transaction=True)
            pipe.get(self.keys[3])
            pipe.get(self.keys[2])
            pipe.hgetall(self.keys[0])
            epoch, counter, data = pipe.execute()
            return StoreVersion(str(epoch or ""), int(counter or 0)), dict(data)

        return self.call("load", atomic)

    def load(self) -> tuple[StoreVersion, list[Revocation]]:
        version, items = self._scan()
        records = []
        for text in items.values():
            try:
                records.append(Revocation.from_json(text))
            except ValueError:
                log.warning("revocation store %s: skipped a malformed record", self.url)
        return version, records

    def load_index(self) -> tuple[StoreVersion, set[str], dict[str, float]]:
        """Ids and fingerprints straight from the field names (no JSON parsing for them)."""
        version, items = self._scan()
        ids: set[str] = set()
        tenants: dict[str, float] = {}
        for key, text in items.items():
            try:
                kind, value = split_field(key)
                if kind != "tenant":
                    ids.add(value)
                    continue
                tenants[value] = cast(float, Revocation.from_json(text).issued_before)
            except ValueError:
                log.warning("revocation store %s: skipped a malformed record", self.url)
        return version, ids, tenants

    def changes_since(self, version: StoreVersion) -> None | list[Any]:
        """``[]`` when nothing changed; ``None`` otherwise (changes come over pub/sub)."""
        return [] if self.version() == version else None

    def prune(self, now: float | None = None) -> int:
        cutoff = (time.time() if now is None else now) - PRUNE_MARGIN
        total = 0
        for _batch in range(100):
            waiting = self.call(
                "prune", lambda: self.client.zcount(self.keys[1], "-inf", f"({cutoff!r}")
            )
            if not waiting:
                break
            args = self._script_args(repr(cutoff), PRUNE_BATCH, "", "", "")
            total += self._result(
                self.call("prune", partial(self._add, keys=self.keys, args=args))
            )[1]
        return total

    def ping(self) -> None:
        self.call("ping", lambda: self.client.ping())

    def open_feed(self, stop: threading.Event, poll_interval: float) -> Feed:
        from ._redis_feed import RedisFeed

        return RedisFeed(self, stop)

    def close(self) -> None:
        try:
            self.client.close()
        except self._errors:
            pass
