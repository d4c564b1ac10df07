"""The revocation check of verify() against an installed snapshot (docs/SPEC.md section 8).

Shared by both twins: the pure verifier calls :func:`revoked_by_snapshot` on every key while a
snapshot is installed; the compiled one does the common look-ups in C (the key id in ``ids``,
the tenant in ``tenants``) and calls it only for the rare cases (a key without an id, a key of
a revoked tenant). No I/O: ``ids`` and ``tenants`` are the snapshot's published objects.

A key is revoked when its id is in ``ids``, or its fingerprint ``hash_key(key)`` is (looked up
only while ``ids`` holds a fingerprint, or for a key without an id: hashing every key costs a
SHA-256 per verification, so prefer revoking by id), or its tenant is in ``tenants`` and it
was issued before the tenant's cutoff: issued at its ``iat`` claim, else at the instant its time-ordered id carries, else
(no ``iat``, no such id: keys of 0.1.x) before any cutoff, so revoking a tenant revokes its
old keys too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Set
from typing import Any

from ._wire import ALPHABET, ID_LENGTH

__all__ = ["has_fingerprints", "issued_at", "key_id_issued_at", "revoked_by_snapshot"]

_FINGERPRINT_LENGTH = 64  # hex SHA-256; key ids are 22 (21 for 0.1.x) characters

_DIGITS = {char: value for value, char in enumerate(ALPHABET)}


def key_id_issued_at(key_id: str) -> float | None:
    """Unix seconds (millisecond precision) encoded in a 22-character key id, else ``None``."""
    if len(key_id) != ID_LENGTH:
        return None
    number = 0
    for char in key_id:
        digit = _DIGITS.get(char)
        if digit is None:
            return None
        number = number * 62 + digit
    if number >> 128:
        return None
    return (number >> 80) / 1000.0


def issued_at(claims: Any) -> float | None:
    """When a key was issued: its ``iat``, else its id's instant, else ``None`` (unknown)."""
    if claims.iat is not None:
        return float(claims.iat)
    return key_id_issued_at(claims.id)


def has_fingerprints(ids: Set[str]) -> bool:
    """Whether a snapshot's ``ids`` hold any fingerprint (computed once per published set)."""
    return any(len(value) == _FINGERPRINT_LENGTH for value in ids)


def revoked_by_snapshot(
    claims: Any,
    ids: Set[str] | None,
    tenants: Mapping[str, float] | None,
    fingerprints: bool = False,
) -> bool:
    """Whether the installed snapshot revokes these claims (see the module docstring);
    ``fingerprints``: whether ``ids`` holds any fingerprint (:func:`has_fingerprints`)."""
    if ids:
        key_id = claims.id
        if key_id and key_id in ids:
            return True
        if (fingerprints or not key_id) and (
            hashlib.sha256(claims.raw_key.encode("utf-8", "surrogatepass")).hexdigest() in ids
        ):
            return True
    if tenants:
        cutoff = tenants.get(claims.tenant)
        if cutoff is not None:
            issued = issued_at(claims)
            return issued is None or issued < cutoff
    return False
