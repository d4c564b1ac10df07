"""The revocation check against a snapshot, by key id, fingerprint and tenant (the store's
reference helper; verify() itself uses ``apikee._revoked``, which follows the same rules).

A key is revoked when its id or its fingerprint is in ``ids``, or when its tenant is in
``tenants`` and the key was issued before the tenant's cutoff. The issue time is read from the
key id (48 bits of milliseconds, then 80 random bits, in 22 base62 digits); an id that does not
carry one (keys of 0.1.x have 21-character ids) counts as issued before any cutoff, so revoking
a tenant revokes its old keys too.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from .._revoked import key_id_issued_at

__all__ = ["is_revoked", "key_id_issued_at"]


def is_revoked(
    ids: Set[str],
    tenants: Mapping[str, float],
    key_id: str,
    tenant: str,
    fingerprint: str | None = None,
) -> bool:
    """True when the key is revoked by id, by fingerprint, or by its tenant's cutoff."""
    if key_id in ids or (fingerprint is not None and fingerprint in ids):
        return True
    if tenants:
        cutoff = tenants.get(tenant)
        if cutoff is not None:
            issued = key_id_issued_at(key_id)
            return issued is None or issued < cutoff
    return False
