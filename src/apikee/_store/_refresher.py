"""The background refresher: one daemon thread per snapshot per process, off the request path.

Loop: open the store's feed (Redis: subscribe first), load the store fully, then apply the
changes the feed reports; every ``resync_interval`` seconds compare the store's version with
the snapshot's (a missed change means a full reload) and prune expired records. A failure of
any step keeps the last snapshot, is recorded in ``status()``, and is retried with exponential
backoff (0.1 s doubling up to ``backoff_max``, with jitter); recovery reopens the feed and
reloads, so the snapshot resyncs by itself. Nothing escapes the thread.

Fork safety (gunicorn-style pre-fork): a thread does not survive ``fork``. An
``os.register_at_fork`` hook resets every live snapshot in the child (new lock, no thread, the
data kept), and the next use of the snapshot in the child starts a new thread, with new
connections (redis-py pools and the SQLite store both notice the new pid).
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import weakref
from typing import TYPE_CHECKING

from ._base import Feed
from ._errors import NeedResync, StoreUnavailable

if TYPE_CHECKING:
    from ._snapshot import RevocationSnapshot

__all__ = ["Refresher"]

log = logging.getLogger("apikee.revocation")
BACKOFF_BASE = 0.1
CATCH_UP_WAIT = 0.05

_LIVE: weakref.WeakSet[RevocationSnapshot] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for snapshot in list(_LIVE):
        snapshot.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


class Refresher:
    """Runs the refresh loop of one snapshot in a daemon thread (started lazily)."""

    def __init__(
        self,
        snapshot: RevocationSnapshot,
        *,
        poll_interval: float,
        resync_interval: float,
        backoff_max: float,
    ) -> None:
        self._snapshot = snapshot
        self.poll_interval = poll_interval
        self.resync_interval = resync_interval
        self.backoff_max = backoff_max
        self.thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._start_lock = threading.Lock()
        self.attempted = threading.Event()
        self.closed = False
        _LIVE.add(snapshot)

    @property
    def running(self) -> bool:
        """True while this process's refresher thread is alive."""
        thread = self.thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        """Start the thread unless it runs or the snapshot is closed (never raises)."""
        with self._start_lock:
            if self.closed or self.thread is not None:
                return
            thread = threading.Thread(target=self._run, name="apikee-revocations", daemon=True)
            try:
                thread.start()
            except RuntimeError as exc:  # e.g. "can't start new thread", or at shutdown
                self._snapshot.record_error(exc)
                return
            self.thread = thread

    def stop(self, timeout: float | None = None) -> None:
        """Stop the thread and wait for it (at most ``timeout``, default server_timeout + 1)."""
        with self._start_lock:
            self.closed = True
            self._stop.set()
            thread, self.thread = self.thread, None
        if thread is not None and thread is not threading.current_thread():
            wait = self._snapshot.store.server_timeout + 1.0 if timeout is None else timeout
            thread.join(wait)

    def after_fork(self) -> None:
        """In a forked child: forget the parent's thread; keep ``closed``."""
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        self.attempted = threading.Event()
        self.thread = None

    def _backoff(self, failures: int) -> float:
        delay = min(self.backoff_max, BACKOFF_BASE * (2.0 ** min(failures - 1, 16)))
        return delay * random.uniform(0.5, 1.0)

    def _run(self) -> None:
        stop = self._stop  # this thread's own event (a fork replaces the attribute)
        snapshot = self._snapshot
        store = snapshot.store
        feed: Feed | None = None
        need_full = True
        failures = 0
        next_check = 0.0
        while not stop.is_set():
            try:
                if feed is None:
                    feed = store.open_feed(stop, self.poll_interval)
                    need_full = True
                if need_full:
                    started = time.monotonic()
                    version, ids, tenants = store.load_index()
                    snapshot.publish_full(version, ids, tenants, started)
                    snapshot.record_ok(started)
                    need_full = False
                    next_check = time.monotonic() + self.resync_interval
                    self.attempted.set()
                base = snapshot.version
                if base is not None:
                    changes = feed.next_changes(base, self.poll_interval)
                    if changes and not snapshot.publish_changes(changes):
                        need_full = True
                        continue
                if time.monotonic() >= next_check:
                    need_full = not self._check(feed)
                    next_check = time.monotonic() + self.resync_interval
                    if not need_full:
                        store.prune()
                if not need_full and feed.confirmed_at:
                    snapshot.record_ok(feed.confirmed_at)
                failures = 0
            except NeedResync as exc:
                log.debug("revocation store %s: full reload (%s)", store.url, exc)
                need_full = True
            except Exception as exc:  # StoreUnavailable, or a bug: never escapes the thread
                if not isinstance(exc, StoreUnavailable):
                    log.exception("revocation refresher: unexpected error")
                snapshot.record_error(exc)
                self.attempted.set()
                if feed is not None:
                    feed.close()
                feed = None
                failures += 1
                stop.wait(self._backoff(failures))
        if feed is not None:
            feed.close()

    def _check(self, feed: Feed) -> bool:
        """The periodic resync check: True if the snapshot has every change of the store."""
        snapshot = self._snapshot
        current = snapshot.store.version()
        base = snapshot.version
        if base is None or current == base:
            return base is not None
        changes = feed.next_changes(base, CATCH_UP_WAIT)  # messages still in flight
        if changes and not snapshot.publish_changes(changes):
            return False
        base = snapshot.version
        if base is not None and base.epoch == current.epoch and base.counter >= current.counter:
            return True
        caught_up = snapshot.store.changes_since(base) if base is not None else None
        return caught_up is not None and (not caught_up or snapshot.publish_changes(caught_up))
