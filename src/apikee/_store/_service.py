"""``Revocations``: revoke and unrevoke through a store, and enforce it here at once.

The service ``Apikee.revoke``/``unrevoke``/``revoke_tenant``/``revocations`` delegate to. A
write goes to the store first; only when the store has it does this process's snapshot enforce
it (immediately, without waiting for the refresher). A write the store cannot take raises
:class:`StoreUnavailable`: a revocation is never silently lost.
"""

from __future__ import annotations

import builtins
import time

from ._base import Store
from ._open import open_store
from ._record import Change, Kind, Revocation, check_value
from ._snapshot import RevocationSnapshot

__all__ = ["Revocations"]


class Revocations:
    """Writes revocations to ``store`` and keeps ``snapshot`` (this process's view) current.

    ``store`` is a store or a store URL; ``snapshot`` defaults to a new
    :class:`RevocationSnapshot` of the same store (its options: ``snapshot_options``).
    """

    def __init__(
        self,
        store: Store | str,
        *,
        snapshot: RevocationSnapshot | None = None,
        server_timeout: float = 3.0,
        poll_interval: float = 0.2,
        resync_interval: float = 30.0,
        backoff_max: float = 5.0,
    ) -> None:
        self._owns_store = not isinstance(store, Store)
        self.store = open_store(store, server_timeout=server_timeout)
        if snapshot is not None and snapshot.store is not self.store:
            raise ValueError("the snapshot must read the same store object the service writes")
        self.snapshot = (
            snapshot
            if snapshot is not None
            else RevocationSnapshot(
                self.store,
                poll_interval=poll_interval,
                resync_interval=resync_interval,
                backoff_max=backoff_max,
            )
        )

    def _write(self, revocation: Revocation) -> Revocation:
        version = self.store.add(revocation)
        self.snapshot.apply_local(Change(version, revocation.kind, revocation.value, revocation))
        return revocation

    def revoke_id(
        self, key_id: str, *, expires_at: float | None = None, reason: str | None = None
    ) -> Revocation:
        """Revoke the key whose ``id`` claim is ``key_id``. ``expires_at``: the key's ``exp``
        (the record is pruned a day after it; ``None`` keeps it forever)."""
        return self._write(Revocation("id", key_id, reason=reason, expires_at=expires_at))

    def revoke_fingerprint(
        self, fingerprint: str, *, expires_at: float | None = None, reason: str | None = None
    ) -> Revocation:
        """Revoke the key whose ``apikee.hash_key`` is ``fingerprint`` (hex, any case)."""
        if isinstance(fingerprint, str):
            fingerprint = fingerprint.strip().lower()
        return self._write(
            Revocation("fingerprint", fingerprint, reason=reason, expires_at=expires_at)
        )

    def revoke_tenant(
        self, tenant: str, *, issued_before: float | None = None, reason: str | None = None
    ) -> Revocation:
        """Revoke every key of ``tenant`` issued before ``issued_before`` (default: now);
        keys issued later stay valid. Revoking the tenant again moves the cutoff."""
        cutoff = time.time() if issued_before is None else issued_before
        return self._write(Revocation("tenant", tenant, reason=reason, issued_before=cutoff))

    def unrevoke(self, kind: Kind, value: str) -> bool:
        """Remove the revocation of ``(kind, value)``; True if there was one."""
        if kind == "fingerprint" and isinstance(value, str):
            value = value.strip().lower()
        value = check_value(kind, value)
        version = self.store.discard(kind, value)
        if version is None:
            return False
        self.snapshot.apply_local(Change(version, kind, value, None))
        return True

    def close(self) -> None:
        """Stop the snapshot's refresher and close the store if this service opened it."""
        self.snapshot.close()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Revocations:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Revocations {self.store.url}>"

    def list(self) -> builtins.list[Revocation]:
        """Every revocation in the store, oldest first (``StoreUnavailable`` if unreachable)."""
        return self.store.list()
