"""An Apikee's store: revoking keys, and the snapshot every verification reads (no I/O).

``Apikee(store=...)`` (or ``APIKEE_STORE``) builds one :class:`StoreBinding`. It owns the
revocation service of ``apikee._store`` and installs that service's snapshot into the verifier
(``Verifier.set_revocations``) each time it changes or is confirmed current, so verify() only
does a set and a dict look-up. What happens when the store is down (docs/SPEC.md section 8):

- verification goes on with the last snapshot; no exception escapes ``verify()``;
- with ``fail_open=False``, once the snapshot is older than ``max_staleness`` seconds every
  verification fails with ``STORE_UNAVAILABLE`` (HTTP 503) until the store answers again;
- a revoke/unrevoke raises :class:`~apikee.StoreUnavailable` (never a silent loss), within
  ``server_timeout``;
- when the store is back, the snapshot resyncs by itself.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ._claims_shared import utc_timestamp
from ._errors import ApikeeConfigError, ApikeeError, ErrorCode
from ._store import Revocation, Revocations, Store, StoreUnavailable, redacted_url
from ._wire import MAX_TIMESTAMP, PREFIX

if TYPE_CHECKING:
    from ._core import Verifier

__all__ = ["StoreBinding"]

T = TypeVar("T")

_FINGERPRINT = re.compile(r"[0-9a-fA-F]{64}")
_KEY_ID = re.compile(r"[0-9A-Za-z_-]{1,128}")
# What verify() may say of a key whose signature is fine: a key that is not revocable for any
# of these reasons still verifies against this Apikee's secrets.
_AUTHENTIC = {
    ErrorCode.EXPIRED,
    ErrorCode.NOT_YET_VALID,
    ErrorCode.REVOKED,
    ErrorCode.WRONG_ENVIRONMENT,
    ErrorCode.INSUFFICIENT_SCOPE,
    ErrorCode.STORE_UNAVAILABLE,
}


class StoreBinding:
    """The store of one :class:`~apikee.Apikee` and the snapshot installed in its verifier."""

    def __init__(
        self,
        store: str | Store,
        verifier: Verifier,
        *,
        fail_open: bool,
        server_timeout: float,
        max_staleness: float | None,
    ) -> None:
        if isinstance(store, str) and not store.strip():
            raise ApikeeConfigError("store must be a store URL such as sqlite:///path/apikee.db")
        if not (isinstance(server_timeout, (int, float)) and 0 < server_timeout < math.inf):
            raise ApikeeConfigError("server_timeout must be a positive number of seconds")
        try:
            self.revocations = Revocations(store, server_timeout=float(server_timeout))
        except ValueError as exc:  # a malformed URL: the message never holds a password
            raise ApikeeConfigError(str(exc)) from None
        self.snapshot = self.revocations.snapshot
        self.fail_open = bool(fail_open)
        if max_staleness is None:
            max_staleness = self.snapshot.stale_after
        if not (isinstance(max_staleness, (int, float)) and 0 < max_staleness < math.inf):
            raise ApikeeConfigError("max_staleness must be a positive number of seconds")
        self.max_staleness = float(max_staleness)
        if not self.fail_open:
            self._fit_heartbeat(float(server_timeout))
        self._verifier = verifier
        self._created = time.monotonic()
        self.snapshot.add_listener(self._install)
        self.snapshot.add_health_listener(self._install)
        # Load once before serving (bounded by server_timeout): startup, not the request path.
        self.snapshot.start(wait=float(server_timeout))
        self._install()

    def _fit_heartbeat(self, server_timeout: float) -> None:
        """Failing closed, the store must confirm the snapshot well within max_staleness: a
        Redis heartbeat (5 s by default) is shortened to fit, or the setting is refused."""
        store = self.snapshot.store
        room = (self.max_staleness - server_timeout) / 2
        if store.heartbeat_interval <= room:
            return
        settable = getattr(getattr(type(store), "heartbeat_interval", None), "fset", None)
        if room < 0.1 or settable is None:
            raise ApikeeConfigError(
                f"max_staleness={self.max_staleness:g} s is too short for this store: with "
                f"server_timeout={server_timeout:g} s it must be at least "
                f"{server_timeout + 0.2:g} s"
            )
        store.heartbeat_interval = room  # type: ignore[misc]

    def _install(self, *_: Any) -> None:
        """Hand the current snapshot (and, failing closed, its deadline) to the verifier."""
        snapshot = self.snapshot
        fresh_until = None
        if not self.fail_open:
            confirmed = snapshot.loaded_monotonic
            fresh_until = (self._created if confirmed is None else confirmed) + self.max_staleness
        self._verifier.set_revocations(snapshot.ids, snapshot.tenants, fresh_until)

    # ── revoking ────────────────────────────────────────────────────────────────────────────

    def revoke(self, key_or_id: str | bytes, reason: str | None) -> Revocation:
        """Revoke a full key (by its id, or by its fingerprint when it has none), a key id, or a
        fingerprint (64 hex digits, as :func:`~apikee.hash_key` gives)."""
        text = _text(key_or_id)
        if text.startswith(PREFIX):
            claims = self._authentic_claims(text)
            if claims.id:
                return self._call(
                    self.revocations.revoke_id,
                    claims.id,
                    expires_at=claims.exp,
                    reason=_reason(reason),
                )
            from ._keyutil import hash_key

            return self._call(
                self.revocations.revoke_fingerprint,
                hash_key(text),
                expires_at=claims.exp,
                reason=_reason(reason),
            )
        if _FINGERPRINT.fullmatch(text):
            return self._call(self.revocations.revoke_fingerprint, text, reason=_reason(reason))
        return self._call(self.revocations.revoke_id, _key_id(text), reason=_reason(reason))

    def revoke_tenant(
        self, tenant: str, issued_before: datetime | timedelta | float | None, reason: str | None
    ) -> Revocation:
        """Revoke every key of ``tenant`` issued before ``issued_before`` (default: now)."""
        if not isinstance(tenant, str) or not tenant:
            raise ValueError("tenant must be a non-empty string")
        return self._call(
            self.revocations.revoke_tenant,
            tenant,
            issued_before=_instant(issued_before, time.time()),
            reason=_reason(reason),
        )

    def unrevoke(self, key_or_id: str | bytes | None, tenant: str | None) -> bool:
        """Take back a revocation (of a key, a key id, a fingerprint, or a tenant)."""
        if (key_or_id is None) == (tenant is None):
            raise ValueError("unrevoke() takes a key, a key id or a fingerprint, or tenant=")
        if tenant is not None:
            if not isinstance(tenant, str) or not tenant:
                raise ValueError("tenant must be a non-empty string")
            return self._call(self.revocations.unrevoke, "tenant", tenant)
        text = _text(key_or_id)
        if text.startswith(PREFIX):
            from ._keyutil import decode_unverified, hash_key

            try:
                key_id = decode_unverified(text).id
            except ApikeeError:
                key_id = ""
            if key_id:
                return self._call(self.revocations.unrevoke, "id", key_id)
            return self._call(self.revocations.unrevoke, "fingerprint", hash_key(text))
        if _FINGERPRINT.fullmatch(text):
            return self._call(self.revocations.unrevoke, "fingerprint", text)
        return self._call(self.revocations.unrevoke, "id", _key_id(text))

    def list(self) -> list[Revocation]:
        """Every revocation in the store (``StoreUnavailable`` when it cannot be read)."""
        return self._call(self.revocations.list)

    def status(self) -> dict[str, Any]:
        """The snapshot's health (no credentials), with this Apikee's outage policy."""
        status = dict(self.snapshot.status())
        status.update(fail_open=self.fail_open, max_staleness=self.max_staleness)
        return status

    def close(self) -> None:
        self.snapshot.remove_listener(self._install)
        self.revocations.close()

    def __repr__(self) -> str:
        return f"StoreBinding({redacted_url(self.snapshot.store.url)!r})"

    # ── helpers ─────────────────────────────────────────────────────────────────────────────

    def _authentic_claims(self, key: str) -> Any:
        """The claims of a key signed with this Apikee's secrets, whatever its time window."""
        from ._keyutil import decode_unverified

        try:
            claims = decode_unverified(key)
        except ApikeeError as exc:
            raise ValueError(
                f"this is not a key that could verify ({exc.code}): nothing to revoke"
            ) from None
        # Verify at an instant inside the key's window, so only the signature can fail.
        moment = time.time()
        if claims.exp is not None:
            moment = min(moment, float(claims.exp))
        if claims.nbf is not None:
            moment = max(moment, float(claims.nbf))
        try:
            self._verifier.verify(key, moment)
        except ApikeeError as exc:
            if exc.code not in _AUTHENTIC:
                raise ValueError(
                    f"the key does not verify with this Apikee's secrets ({exc.code}); "
                    "revoke it by its id if you mean it"
                ) from None
        return claims

    @staticmethod
    def _call(method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except StoreUnavailable:
            raise
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str) or not value.strip():
        raise ValueError("give a key, a key id or a fingerprint (a non-empty string)")
    return value.strip()


def _instant(value: Any, now: float) -> float:
    """``issued_before`` as float unix seconds, fractions kept (a key id has milliseconds)."""
    if value is None:
        return now
    if isinstance(value, datetime):
        seconds = utc_timestamp(value)
    elif isinstance(value, timedelta):
        seconds = now + value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise ValueError("issued_before must be a datetime, a timedelta or unix seconds")
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_TIMESTAMP):
        raise ValueError(f"issued_before must be from 0 to {MAX_TIMESTAMP} unix seconds")
    return seconds


def _key_id(text: str) -> str:
    if not _KEY_ID.fullmatch(text):
        raise ValueError("a key id is 1 to 128 characters of 0-9, A-Z, a-z, '_' and '-'")
    return text


def _reason(reason: Any) -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str) or len(reason) > 500:
        raise ValueError("reason must be a string of at most 500 characters")
    return reason
