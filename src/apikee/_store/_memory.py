"""``memory://``: a store inside one process, for tests and demos.

``memory://`` is a new private store each time it is opened; ``memory://NAME`` is the one
store of that name in this process (every ``open_store("memory://NAME")`` shares it). Nothing
survives the process, and a forked child has its own copy.
"""

from __future__ import annotations

import collections
import secrets
import threading
import time
import weakref

from ._base import Store
from ._record import PRUNE_MARGIN, Change, Kind, Revocation, StoreVersion

__all__ = ["MemoryStore", "named_memory_store"]

CHANGE_LOG = 10_000
_NAMED: weakref.WeakValueDictionary[str, MemoryStore] = weakref.WeakValueDictionary()
_NAMED_LOCK = threading.Lock()


class MemoryStore(Store):
    """A dict behind a lock, with a version counter and a bounded change log."""

    kind = "memory"

    def __init__(self, name: str = "", *, server_timeout: float = 3.0) -> None:
        self.server_timeout = server_timeout
        self._name = name
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], Revocation] = {}
        self._epoch = secrets.token_hex(8)
        self._counter = 0
        self._log: collections.deque[Change] = collections.deque(maxlen=CHANGE_LOG)

    @property
    def url(self) -> str:
        return f"memory://{self._name}"

    def _bump(self, kind: Kind, value: str, record: Revocation | None) -> StoreVersion:
        self._counter += 1
        version = StoreVersion(self._epoch, self._counter)
        self._log.append(Change(version, kind, value, record))
        return version

    def _prune_locked(self, now: float) -> int:
        expired = [r for r in self._records.values() if r.prunable(now, PRUNE_MARGIN)]
        for record in expired:
            del self._records[(record.kind, record.value)]
            self._bump(record.kind, record.value, None)
        return len(expired)

    def add(self, revocation: Revocation) -> StoreVersion:
        with self._lock:
            self._prune_locked(time.time())
            self._records[(revocation.kind, revocation.value)] = revocation
            return self._bump(revocation.kind, revocation.value, revocation)

    def discard(self, kind: Kind, value: str) -> StoreVersion | None:
        with self._lock:
            if self._records.pop((kind, value), None) is None:
                return None
            return self._bump(kind, value, None)

    def load(self) -> tuple[StoreVersion, list[Revocation]]:
        with self._lock:
            return StoreVersion(self._epoch, self._counter), list(self._records.values())

    def version(self) -> StoreVersion:
        with self._lock:
            return StoreVersion(self._epoch, self._counter)

    def changes_since(self, version: StoreVersion) -> list[Change] | None:
        with self._lock:
            if version.epoch != self._epoch or version.counter > self._counter:
                return None
            if version.counter == self._counter:
                return []
            if not self._log or self._log[0].version.counter > version.counter + 1:
                return None
            return [c for c in self._log if c.version.counter > version.counter]

    def prune(self, now: float | None = None) -> int:
        with self._lock:
            return self._prune_locked(time.time() if now is None else now)

    def ping(self) -> None:
        return None


def named_memory_store(name: str, *, server_timeout: float = 3.0) -> MemoryStore:
    """The process-wide store ``memory://NAME`` (a new private one for an empty name)."""
    if not name:
        return MemoryStore(server_timeout=server_timeout)
    with _NAMED_LOCK:
        store = _NAMED.get(name)
        if store is None:
            store = MemoryStore(name, server_timeout=server_timeout)
            _NAMED[name] = store
        return store
