"""The interface every revocation store implements, and the change feeds the refresher reads.

A store is shared state (one process, one host, or a fleet). It is only ever called off the
request path: by writes (``Revocations``), by ``list()`` and by the background refresher of
each process's :class:`~apikee._store.RevocationSnapshot`. Every call is bounded by the store's
``server_timeout`` per network or disk wait and raises :class:`StoreUnavailable` on failure.

A :class:`Feed` tells the refresher what changed since a version: the polling feed asks the
store for its version every ``poll_interval`` (SQLite, memory); the Redis feed is a pub/sub
subscription. A feed that cannot say (a gap in its changes) raises ``NeedResync``.
"""

from __future__ import annotations

import abc
import threading
import time

from ._errors import NeedResync
from ._record import Change, Kind, Revocation, StoreVersion, build_index, check_value

__all__ = ["Feed", "PollingFeed", "Store"]


class Store(abc.ABC):
    """A revocation store. Thread-safe; usable again in a child process after ``fork``."""

    kind: str = ""
    """``"memory"``, ``"sqlite"`` or ``"redis"``."""

    server_timeout: float = 3.0
    """The bound of every single wait on the server or the database file, in seconds."""

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """The store's URL with any password replaced by ``***``."""

    @abc.abstractmethod
    def add(self, revocation: Revocation) -> StoreVersion:
        """Write ``revocation`` (replacing the record of the same ``(kind, value)``); prune
        expired records in the same write. Returns the version the write created."""

    @abc.abstractmethod
    def discard(self, kind: Kind, value: str) -> StoreVersion | None:
        """Delete the record of ``(kind, value)``: the version created, ``None`` if absent."""

    def remove(self, kind: Kind, value: str) -> bool:
        """Delete the record of ``(kind, value)``; True if there was one."""
        return self.discard(kind, check_value(kind, value)) is not None

    @abc.abstractmethod
    def load(self) -> tuple[StoreVersion, list[Revocation]]:
        """Every record and the version they are the contents of (one consistent read)."""

    def load_index(self) -> tuple[StoreVersion, set[str], dict[str, float]]:
        """The lookup form of :meth:`load`: ``(version, ids and fingerprints, tenant cutoffs)``."""
        version, records = self.load()
        ids, tenants = build_index(records)
        return version, ids, tenants

    @abc.abstractmethod
    def version(self) -> StoreVersion:
        """The current version: the cheap change check (one small read)."""

    @abc.abstractmethod
    def changes_since(self, version: StoreVersion) -> list[Change] | None:
        """The changes after ``version`` in order, or ``None`` when the store cannot tell
        (another epoch, or a change log that no longer reaches back that far)."""

    @abc.abstractmethod
    def prune(self, now: float | None = None) -> int:
        """Delete records expired for more than ``PRUNE_MARGIN``; how many were deleted."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Check that the store can be used now (``StoreUnavailable`` if not)."""

    def open_feed(self, stop: threading.Event, poll_interval: float) -> Feed:
        """A feed of this store's changes for one refresher thread (polling by default)."""
        return PollingFeed(self, stop, poll_interval)

    @property
    def heartbeat_interval(self) -> float:
        """How often the feed proves itself current when nothing changes (0: every poll)."""
        return 0.0

    def close(self) -> None:  # noqa: B027 (optional hook, a no-op by default)
        """Release connections and files (the store may not be used afterwards)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    __str__ = __repr__

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Last in the class: after it, ``list`` in this class body names the method, not the type.
    def list(self) -> list[Revocation]:
        """Every record, oldest revocation first."""
        return sorted(self.load()[1], key=lambda r: (r.revoked_at, r.kind, r.value))


class Feed(abc.ABC):
    """The changes of a store as they happen, read by one refresher thread."""

    confirmed_at: float = 0.0
    """``time.monotonic()`` when the feed last proved that it had seen every change."""

    @abc.abstractmethod
    def next_changes(self, since: StoreVersion, timeout: float) -> list[Change]:
        """Wait up to ``timeout`` seconds; return the changes after ``since`` seen meanwhile
        (maybe none). ``NeedResync`` when they cannot be told; ``StoreUnavailable`` on failure."""

    def close(self) -> None:  # noqa: B027 (optional hook, a no-op by default)
        """Stop following the store."""


class PollingFeed(Feed):
    """Asks the store for its version every ``interval`` seconds, then for the changes."""

    def __init__(self, store: Store, stop: threading.Event, interval: float) -> None:
        self._store = store
        self._stop = stop
        self._interval = interval

    def next_changes(self, since: StoreVersion, timeout: float) -> list[Change]:
        if self._stop.wait(min(timeout, self._interval)):
            return []
        current = self._store.version()
        self.confirmed_at = time.monotonic()
        if current == since:
            return []
        changes = self._store.changes_since(since)
        if changes is None:
            raise NeedResync(f"{self._store.kind} store moved from {since} to {current}")
        return changes
