"""Usage and observability: outcome counters, per-tenant counters, last-used, rejection logs.

Off by default: ``Apikee()`` verifies exactly as before. ``Apikee(usage=True)`` (or a
:class:`Usage`) binds ``verify`` to the gate's counted twin (``Gate.verify_counted`` of
``_limiter_c`` / ``_limiter_py``), which counts each outcome in a dict by code and remembers
the key ids that verified; no lock and no extra Python frame on the native path (the GIL is
held through each increment, so the counts are exact), a lock on the pure one.

A daemon thread (like the revocation refresher) flushes the key ids seen to the store every
``flush_interval`` seconds: each key is written at most once per interval, never on the request
path. A store outage keeps the rows for the next flush (at most ``max_pending`` ids).

Per-tenant counts (``per_tenant=True``) keep at most ``max_tenants`` tenants; later tenants go
to one ``other`` bucket (label ``other_label``), so memory and a metrics backend stay bounded.
A tenant is only ever taken from a key whose signature verified (a forged key has no tenant).

Each rejected verification is logged (logger ``apikee.usage``, one structured line: code,
tenant if the signature verified, fingerprint prefix; never the key or a secret), at most
``log_rate`` lines per second: the lines beyond are counted and reported in the next line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from ._errors import ApikeeConfigError, ErrorCode

if TYPE_CHECKING:
    from ._apikee import Apikee
    from ._store import Store
    from ._store._usage import KeyUsage

__all__ = ["CODES", "Usage"]

log = logging.getLogger("apikee.usage")
VALID = "VALID"
CODES: tuple[str, ...] = (VALID,) + tuple(
    value for name, value in vars(ErrorCode).items() if name.isupper()
)
# Failures where the signature did verify: the key's tenant is authentic and may be named.
_AUTHENTIC = frozenset(
    {
        ErrorCode.EXPIRED,
        ErrorCode.NOT_YET_VALID,
        ErrorCode.REVOKED,
        ErrorCode.WRONG_ENVIRONMENT,
        ErrorCode.INSUFFICIENT_SCOPE,
        ErrorCode.IP_NOT_ALLOWED,
        ErrorCode.RATE_LIMITED,
    }
)


_LIVE: weakref.WeakSet[Usage] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for usage in list(_LIVE):
        usage.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


class Usage:
    """The usage settings and in-process figures of one :class:`~apikee.Apikee`.

    ``per_tenant``: also count per tenant (at most ``max_tenants``, then ``other_label``).
    ``flush_interval``: seconds between writes of last-used to the store (each key at most once
    per interval). ``log_level``: the level of the rejection lines (None: no lines);
    ``log_rate``: at most that many lines per second.
    """

    def __init__(
        self,
        *,
        per_tenant: bool = False,
        max_tenants: int = 1000,
        other_label: str = "other",
        flush_interval: float = 60.0,
        log_level: int | None = logging.INFO,
        log_rate: float = 10.0,
        max_pending: int = 1_000_000,
    ) -> None:
        if type(max_tenants) is not int or not 1 <= max_tenants <= 1_000_000:
            raise ApikeeConfigError("max_tenants must be an int from 1 to 1000000")
        if not (isinstance(flush_interval, (int, float)) and 0.01 <= flush_interval <= 86400):
            raise ApikeeConfigError("flush_interval must be from 0.01 to 86400 seconds")
        if not (isinstance(log_rate, (int, float)) and log_rate > 0):
            raise ApikeeConfigError("log_rate must be a positive number of lines per second")
        if not isinstance(other_label, str) or not other_label:
            raise ApikeeConfigError("other_label must be a non-empty string")
        self.per_tenant = bool(per_tenant)
        self.max_tenants = max_tenants
        self.other_label = other_label
        self.flush_interval = float(flush_interval)
        self.log_level = log_level
        self.log_rate = float(log_rate)
        self.max_pending = int(max_pending)
        self.codes: dict[str, int] = dict.fromkeys(CODES, 0)
        self.tenants: dict[str | None, dict[str, int]] | None = {} if self.per_tenant else None
        self._gate: Any = None
        self._store: Store | None = None
        self._pending: dict[str, list[Any]] = {}  # flushed-but-failed and not yet written
        self._recent: dict[str, list[Any]] = {}  # in-process last-used (no store, or read-back)
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._log_window = 0.0
        self._log_lines = 0
        self._log_dropped = 0
        self.flush_errors = 0
        self.last_error: str | None = None

    # ── binding ─────────────────────────────────────────────────────────────────────────────

    def bind(self, apikee: Apikee, gate: Any, store: Store | None) -> None:
        """Attach to one Apikee's gate (once)."""
        if self._gate is not None:
            raise ApikeeConfigError("a Usage object belongs to one Apikee")
        self._gate = gate
        self._store = store
        owner = weakref.ref(apikee)
        self._owner = owner
        gate.enable_usage(self.codes, self.tenants, self.max_tenants, self._rejected)
        _LIVE.add(self)
        self._start()

    def after_fork(self) -> None:
        """In a forked child (a pre-fork server's worker): a new flush thread, and none of
        the parent's unflushed rows (the parent writes those: no double count)."""
        self._flush_lock = threading.Lock()
        self._pending.clear()
        if self._gate is not None:
            with contextlib.suppress(AttributeError):  # the pure gate's lock (native: none)
                self._gate._lock = threading.Lock()
            self._gate.take_seen()
        if self._thread is not None and not self._stop.is_set():
            self._stop = threading.Event()
            self._start()

    def _start(self) -> None:
        thread = threading.Thread(target=self._run, name="apikee-usage", daemon=True)
        thread.start()
        self._thread = thread

    def _run(self) -> None:
        stop = self._stop
        while not stop.wait(self.flush_interval):
            try:
                self.flush()
            except Exception:  # never escapes the thread
                log.exception("usage flush: unexpected error")

    def close(self) -> None:
        """Stop the flush thread after a last flush."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)
        try:
            self.flush()
        except Exception:
            log.exception("usage flush at close: unexpected error")

    # ── the request path's rare branches ────────────────────────────────────────────────────

    def _rejected(self, error: Any, key: Any) -> None:
        """A failed verification (called by the gate): count it, maybe log one line."""
        code = error.code
        authentic = code in _AUTHENTIC
        logged = self._may_log()
        tenant = fingerprint = None
        if logged or (authentic and self.per_tenant):
            tenant, fingerprint = _describe(key, authentic)
        self._gate.count(code, tenant if self.per_tenant else None, False)
        if logged:
            self._log(code, tenant, fingerprint)

    def refused(self, code: str, claims: Any) -> None:
        """A verified key refused after verify (rate limit, allow list): counted under
        ``code`` instead of VALID, and logged."""
        self._gate.count(code, claims.tenant if self.per_tenant else None, True)
        if self._may_log():
            from ._keyutil import hash_key

            self._log(code, claims.tenant, hash_key(claims.raw_key)[:12])

    def missing(self) -> None:
        """A request without a key (the integrations count it: verify never saw it)."""
        self._gate.count(ErrorCode.MISSING_KEY, None, False)
        if self._may_log():
            self._log(ErrorCode.MISSING_KEY, None, None)

    def _may_log(self) -> bool:
        """Whether one more rejection line may be written now (``log_rate`` per second)."""
        level = self.log_level
        if level is None or not log.isEnabledFor(level):
            return False
        now = time.monotonic()
        if now - self._log_window >= 1.0:
            self._log_window = now
            self._log_lines = 0
        if self._log_lines >= self.log_rate:
            self._log_dropped += 1
            return False
        self._log_lines += 1
        return True

    def _log(self, code: str, tenant: str | None, fingerprint: str | None) -> None:
        dropped, self._log_dropped = self._log_dropped, 0
        log.log(
            self.log_level or logging.INFO,
            "apikee rejected code=%s tenant=%s key=%s suppressed=%d",
            code,
            "-" if tenant is None else _safe(tenant),
            fingerprint or "-",
            dropped,
            extra={
                "apikee_code": code,
                "apikee_tenant": tenant,
                "apikee_fingerprint": fingerprint,
                "apikee_suppressed": dropped,
            },
        )

    # ── figures ─────────────────────────────────────────────────────────────────────────────

    def snapshot(self) -> dict[str, Any]:
        """The in-process figures as a plain dict: ``codes`` (code -> count, every code),
        ``tenants`` (tenant -> {code: count}, the other bucket under ``other_label``; absent
        unless ``per_tenant``), ``total``, ``pending_keys`` and the flush health."""
        codes = dict(self.codes)
        if self._gate is not None:
            codes[VALID] = self._gate.valid
        result: dict[str, Any] = {"codes": codes, "total": sum(codes.values())}
        if self.tenants is not None:
            tenants: dict[str, dict[str, int]] = {}
            for tenant, counts in list(self.tenants.items()):
                name = self.other_label if tenant is None else tenant
                merged = tenants.setdefault(name, {})
                for code, n in list(counts.items()):
                    merged[code] = merged.get(code, 0) + n
            result["tenants"] = tenants
        result["pending_keys"] = len(self._pending)
        result["flush_errors"] = self.flush_errors
        result["last_error"] = self.last_error
        return result

    def tenant_items(self) -> list[tuple[str, str, int]]:
        """``(tenant label, code, count)`` of every per-tenant counter."""
        items = []
        for tenant, counts in list((self.tenants or {}).items()):
            name = self.other_label if tenant is None else tenant
            items += [(name, code, n) for code, n in list(counts.items())]
        return items

    # ── last used ───────────────────────────────────────────────────────────────────────────

    def flush(self) -> int:
        """Write the key ids seen since the last flush to the store now; how many were
        written (0 without a store: kept in process). A store error keeps them for later."""
        if self._gate is None:
            return 0
        with self._flush_lock:
            seen = self._gate.take_seen()
            # Into _pending first, then _recent: a key that last_used() shows from _recent is
            # counted by pending_keys until it is written (_pending is cleared only after the
            # write), so last_used set and then pending_keys == 0 means it is in the store.
            for key_id, (tenant, uses, at) in seen.items():
                old = self._pending.get(key_id)
                if old is None:
                    self._pending[key_id] = [tenant, uses, at]
                else:
                    old[1] += uses
                    old[2] = max(old[2], at)
            for key_id, (tenant, uses, at) in seen.items():
                recent = self._recent.get(key_id)
                if recent is None or recent[2] < at:
                    self._recent[key_id] = [tenant, (recent[1] if recent else 0) + uses, at]
                else:
                    recent[1] += uses
            if len(self._recent) > self.max_pending:  # oldest out
                keep = sorted(self._recent.items(), key=lambda kv: -kv[1][2])
                self._recent = dict(keep[: self.max_pending // 2])
            if self._store is None or not self._pending:
                if self._store is None:
                    self._pending.clear()
                return 0
            rows = [(k, t, n, at) for k, (t, n, at) in self._pending.items()]
            from ._store import StoreUnavailable
            from ._store._usage import write_usage

            try:
                write_usage(self._store, rows)
            except StoreUnavailable as exc:
                self.flush_errors += 1
                self.last_error = str(exc)
                if len(self._pending) > self.max_pending:
                    self._pending.clear()  # bounded: a long outage loses last-used, not memory
                return 0
            self._pending.clear()
            self.last_error = None
            return len(rows)

    def usage_of(self, key_id: str) -> KeyUsage | None:
        """The store's record of ``key_id`` (None: never seen), its last time raised to this
        process's own when that is newer (not flushed yet)."""
        from ._store._usage import KeyUsage, read_usage

        stored = None
        if self._store is not None:
            rows = read_usage(self._store, [key_id])
            stored = rows[0] if rows else None
        mine = self._recent.get(key_id)
        if mine is None:
            return stored
        if stored is None:
            return KeyUsage(key_id, mine[0], mine[1], mine[2])
        return KeyUsage(key_id, stored.tenant, stored.uses, max(stored.last_used, mine[2]))


def key_id_of(key_or_id: Any) -> str:
    """The key id of a full key (read without verifying: usage is not a secret), or the id."""
    from ._wire import PREFIX

    if isinstance(key_or_id, bytes):
        key_or_id = key_or_id.decode("latin-1")
    if not isinstance(key_or_id, str) or not key_or_id.strip():
        raise ValueError("give a key or a key id (a non-empty string)")
    text = key_or_id.strip()
    if text.startswith(PREFIX):
        from ._keyutil import decode_unverified

        key_id = decode_unverified(text).id
        if not key_id:
            raise ValueError("this key has no id (an apikee 0.1 key): its usage is not recorded")
        return str(key_id)
    return text


def _describe(key: Any, authentic: bool) -> tuple[str | None, str | None]:
    """(tenant if the signature verified, fingerprint prefix) of a rejected key."""
    from ._keyutil import decode_unverified, hash_key

    if isinstance(key, bytes):
        try:
            key = key.decode("ascii")
        except UnicodeDecodeError:
            return None, None
    if not isinstance(key, str) or not key:
        return None, None
    fingerprint = hash_key(key)[:12]
    tenant = None
    if authentic:
        try:
            tenant = decode_unverified(key).tenant
        except Exception:
            tenant = None
    return tenant, fingerprint


def _safe(text: str) -> str:
    """A tenant for a log line: printable, at most 64 characters (no line injection)."""
    cleaned = "".join(c if c.isprintable() and c != " " else "?" for c in text[:64])
    return cleaned + ("…" if len(text) > 64 else "")
