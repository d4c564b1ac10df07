"""The in-process revocation snapshot: what the request path reads, with no I/O at all.

``ids`` (key ids and fingerprints in one ``frozenset``) and ``tenants`` (tenant -> cutoff) are
replaced, never mutated: every change publishes new objects, so a verifier holding either one
reads it without a lock. Listeners registered with :meth:`RevocationSnapshot.add_listener` are
called with each new pair, in order, from the thread that made the change. The bookkeeping
(store contents plus this process's own writes) is ``_state.py``; the background refresher is
``_refresher.py``.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable

from ._base import Store
from ._check import is_revoked
from ._errors import StoreUnavailable
from ._open import open_store
from ._record import Change, StoreVersion
from ._refresher import Refresher
from ._state import SnapshotState

__all__ = ["Listener", "RevocationSnapshot"]

log = logging.getLogger("apikee.revocation")
Listener = Callable[[frozenset[str], dict[str, float]], None]


class RevocationSnapshot:
    """The revocations of ``store`` held in memory, refreshed by a background daemon thread.

    The thread starts on :meth:`start` or lazily on first use (:meth:`ensure_started`, or
    reading ``ids``/``tenants``) in each process, and restarts by itself in a forked child.
    Nothing here raises into a reader: failures are recorded in :meth:`status` and retried.
    """

    def __init__(
        self,
        store: Store | str,
        *,
        poll_interval: float = 0.2,
        resync_interval: float = 30.0,
        backoff_max: float = 5.0,
        stale_after: float | None = None,
        server_timeout: float = 3.0,
    ) -> None:
        for name, value in (
            ("poll_interval", poll_interval),
            ("resync_interval", resync_interval),
            ("backoff_max", backoff_max),
        ):
            if not (isinstance(value, (int, float)) and 0 < value < math.inf):
                raise ValueError(f"{name} must be a positive number of seconds")
        self._owns_store = not isinstance(store, Store)
        self.store = open_store(store, server_timeout=server_timeout)
        beat = max(poll_interval, self.store.heartbeat_interval)
        self.stale_after = (
            stale_after
            if stale_after is not None
            else (max(5.0, 3 * beat) + self.store.server_timeout)
        )
        self._lock = threading.RLock()
        self._state = SnapshotState()
        self._ids: frozenset[str] = frozenset()
        self._tenants: dict[str, float] = {}
        self._listeners: list[Listener] = []
        self._health_listeners: list[Callable[[float], None]] = []
        self.loaded_at: float | None = None
        """Wall-clock time (``time.time()``) when the snapshot was last confirmed current."""
        self.loaded_monotonic: float | None = None
        """The same instant on ``time.monotonic()``."""
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.failing = False
        self.loaded = threading.Event()
        self._refresher = Refresher(
            self,
            poll_interval=poll_interval,
            resync_interval=resync_interval,
            backoff_max=backoff_max,
        )

    # ── the request path: attribute reads only ──────────────────────────────────────────────

    @property
    def ids(self) -> frozenset[str]:
        """Revoked key ids and fingerprints (a new object on every change; never mutated)."""
        self.ensure_started()
        return self._ids

    @property
    def tenants(self) -> dict[str, float]:
        """Revoked tenants -> ``issued_before`` cutoff (a new dict on every change)."""
        self.ensure_started()
        return self._tenants

    def is_revoked(self, key_id: str, tenant: str, fingerprint: str | None = None) -> bool:
        """The reference check: ``key_id`` or ``fingerprint`` revoked, or the tenant revoked
        for keys issued before its cutoff (the issue time is the one in the key id)."""
        self.ensure_started()
        return is_revoked(self._ids, self._tenants, key_id, tenant, fingerprint)

    def ensure_started(self) -> None:
        """Start the refresher in this process if it is not running (one attribute test when
        it is; never raises, never waits)."""
        if self._refresher.thread is None:
            self._refresher.start()

    # ── lifecycle ───────────────────────────────────────────────────────────────────────────

    def start(self, wait: float | None = None) -> bool:
        """Start the refresher; with ``wait``, block up to that many seconds for the first
        load attempt. True if the snapshot has loaded (in this process or before a fork)."""
        self._refresher.start()
        if wait:
            self._refresher.attempted.wait(wait)
        return self.loaded.is_set()

    def refresh_now(self) -> None:
        """Load the store synchronously in this thread (``StoreUnavailable`` on failure)."""
        started = time.monotonic()
        try:
            version, ids, tenants = self.store.load_index()
        except StoreUnavailable as exc:
            self.record_error(exc)
            raise
        self.publish_full(version, ids, tenants, started)
        self.record_ok(time.monotonic())

    def close(self) -> None:
        """Stop the refresher (and close the store if this snapshot opened it)."""
        self._refresher.stop()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> RevocationSnapshot:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def after_fork(self) -> None:
        """In a forked child: new lock, new thread if the parent's ran (pre-fork servers such
        as gunicorn fork after the app is built: each worker refreshes by itself, nothing on
        the request path has to start it). Keeps the data."""
        self._lock = threading.RLock()
        loaded, self.loaded = self.loaded.is_set(), threading.Event()
        if loaded:
            self.loaded.set()
        was_running = self._refresher.thread is not None
        self._refresher.after_fork()
        if was_running:
            self._refresher.start()

    # ── listeners ───────────────────────────────────────────────────────────────────────────

    def add_listener(self, listener: Listener, *, call_now: bool = True) -> None:
        """Call ``listener(ids, tenants)`` on every change (and now, with the current pair)."""
        with self._lock:
            self._listeners.append(listener)
            if call_now:
                self._notify([listener])

    def add_health_listener(self, listener: Callable[[float], None]) -> None:
        """Call ``listener(confirmed_monotonic)`` each time the snapshot is confirmed current
        (every successful poll or heartbeat, changed or not): fail-closed verifiers use it to
        know how fresh their snapshot is."""
        with self._lock:
            self._health_listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        with self._lock:
            self._listeners = [item for item in self._listeners if item is not listener]

    def _notify(self, listeners: Iterable[Listener]) -> None:
        for listener in listeners:
            try:
                listener(self._ids, self._tenants)
            except Exception as exc:  # a listener's bug must not stop the refresher
                log.error(
                    "revocation listener %r failed: %s: %s", listener, type(exc).__name__, exc
                )

    # ── state changes (refresher and local writes) ──────────────────────────────────────────

    @property
    def version(self) -> StoreVersion | None:
        """The store version the snapshot's base is at (``None`` before the first load)."""
        return self._state.version

    def publish_full(
        self, version: StoreVersion, ids: set[str], tenants: dict[str, float], started: float
    ) -> None:
        """Replace the base with a full load that began at ``started`` (monotonic)."""
        with self._lock:
            base = self._state.version
            changed = self._state.full(version, ids, tenants, started)
            if changed is None:
                return  # an older read than what we already have
            if base is not None and base.epoch and base.epoch != version.epoch:
                log.warning(
                    "revocation store %s was reset or lost its data (new epoch); now %d entries",
                    self.store.url,
                    len(ids) + len(tenants),
                )
            self._published(changed)
            self.loaded.set()

    def publish_changes(self, changes: list[Change]) -> bool:
        """Apply consecutive changes to the base; False (nothing applied) on a gap."""
        with self._lock:
            changed = self._state.changes(changes)
            if changed is None:
                return False
            self._published(changed)
            return True

    def apply_local(self, change: Change) -> None:
        """Enforce this process's own write at once (before the refresher sees it)."""
        with self._lock:
            self._published(self._state.local(change, time.monotonic()))

    def _published(self, changed: bool) -> None:
        """Expose the state's pair and notify the listeners if it changed (lock held)."""
        if changed:
            self._ids, self._tenants = self._state.ids, self._state.tenants
            self._notify(list(self._listeners))

    # ── health ──────────────────────────────────────────────────────────────────────────────

    def record_ok(self, confirmed_monotonic: float) -> None:
        """The snapshot was confirmed current at ``confirmed_monotonic``."""
        if self.failing:
            log.info("revocation store %s: reachable again", self.store.url)
        self.failing = False
        if self.loaded_monotonic is None or confirmed_monotonic > self.loaded_monotonic:
            self.loaded_monotonic = confirmed_monotonic
            self.loaded_at = time.time() - (time.monotonic() - confirmed_monotonic)
            for listener in list(self._health_listeners):
                try:
                    listener(confirmed_monotonic)
                except Exception as exc:  # a listener's bug must not stop the refresher
                    log.error(
                        "revocation health listener %r failed: %s: %s",
                        listener,
                        type(exc).__name__,
                        exc,
                    )

    def record_error(self, exc: BaseException) -> None:
        """A refresh failed: keep the data, remember the (credential-free) reason."""
        text = (
            str(exc)
            if isinstance(exc, StoreUnavailable)
            else (f"revocation store {self.store.url}: unexpected {type(exc).__name__}")
        )
        if not self.failing or text != self.last_error:
            log.warning("%s (keeping the last snapshot; retrying)", text)
        self.failing, self.last_error, self.last_error_at = True, text, time.time()

    def age(self) -> float:
        """Seconds since the snapshot was last confirmed current (``inf`` before the first)."""
        confirmed = self.loaded_monotonic
        return math.inf if confirmed is None else max(0.0, time.monotonic() - confirmed)

    def status(self) -> dict[str, object]:
        """Health for logs and ``/health`` endpoints (no credentials, no key ids)."""
        age = self.age()
        ids, tenants, version = self._ids, self._tenants, self.version
        return {
            "kind": self.store.kind,
            "url": self.store.url,
            "healthy": self.loaded.is_set() and not self.failing and age <= self.stale_after,
            "age": None if math.isinf(age) else round(age, 3),
            "entries": len(ids) + len(tenants),
            "tenants": len(tenants),
            "version": None if version is None else version.counter,
            "loaded_at": self.loaded_at,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "running": self._refresher.running,
            "pid": os.getpid(),
        }

    def __repr__(self) -> str:
        return (
            f"<RevocationSnapshot {self.store.url} entries={len(self._ids) + len(self._tenants)}"
            f" age={self.age():.1f}s>"
        )
