"""Revocation records, store versions and changes: the values every store reads and writes.

A :class:`Revocation` names what is revoked by ``kind`` and ``value``:

- ``"id"``: a key id (the ``id`` claim; 22 base62 characters for keys of this SDK, 21 for keys
  of 0.1.x); never 64 lowercase hex characters, so it cannot collide with a fingerprint;
- ``"fingerprint"``: ``apikee.hash_key(key)``, 64 lowercase hex characters;
- ``"tenant"``: a tenant (the ``tid`` claim); with ``issued_before``, the instant before which
  every key of the tenant is revoked (keys issued later stay valid).

``(kind, value)`` is the identity: writing the same pair again replaces the record.
"""

from __future__ import annotations

import json
import math
import re
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, cast

__all__ = ["KINDS", "PRUNE_MARGIN", "Change", "Kind", "Revocation", "StoreVersion", "build_index"]

Kind = Literal["id", "fingerprint", "tenant"]
KINDS: tuple[Kind, ...] = ("id", "fingerprint", "tenant")

PRUNE_MARGIN = 86400.0
"""Seconds after ``expires_at`` before a record is pruned (covers any verifier ``leeway``)."""

_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_MAX_VALUE = 4096
_MAX_REASON = 2000


class StoreVersion(NamedTuple):
    """Where a store is: ``epoch`` (a token that changes only when the store's data is lost or
    reset) and ``counter`` (incremented by every change). Equal versions mean equal contents."""

    epoch: str
    counter: int


def _text(name: str, value: object, limit: int, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value and not empty:
        raise ValueError(f"{name} must not be empty")
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{name} is not valid Unicode text (lone surrogate)") from None
    if "\x00" in value:
        raise ValueError(f"{name} must not contain a NUL character")
    return value


def _instant(name: str, value: object, *, optional: bool) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds since the epoch")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite")
    return number


def check_value(kind: str, value: object) -> str:
    """``value`` if it is a valid value of ``kind``; else ``ValueError``/``TypeError``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    text = _text(kind if kind != "id" else "key id", value, _MAX_VALUE)
    if kind == "fingerprint" and not _FINGERPRINT.fullmatch(text):
        raise ValueError("a fingerprint is 64 lowercase hex characters (apikee.hash_key(key))")
    if kind == "id" and _FINGERPRINT.fullmatch(text):
        raise ValueError("that is a fingerprint, not a key id: revoke it as kind 'fingerprint'")
    return text


@dataclass(frozen=True)
class Revocation:
    """One revoked key id, key fingerprint or tenant (immutable; validated on construction)."""

    kind: Kind
    value: str
    reason: str | None = None
    revoked_at: float = field(default_factory=time.time)
    host: str = field(default_factory=socket.gethostname)
    expires_at: float | None = None
    issued_before: float | None = None

    def __post_init__(self) -> None:
        check_value(self.kind, self.value)
        if self.reason is not None:
            _text("reason", self.reason, _MAX_REASON, empty=True)
        _text("host", self.host, 255, empty=True)
        object.__setattr__(
            self, "revoked_at", _instant("revoked_at", self.revoked_at, optional=False)
        )
        object.__setattr__(
            self, "expires_at", _instant("expires_at", self.expires_at, optional=True)
        )
        cutoff = _instant("issued_before", self.issued_before, optional=self.kind != "tenant")
        if self.kind != "tenant" and cutoff is not None:
            raise ValueError("issued_before applies to tenant revocations only")
        object.__setattr__(self, "issued_before", cutoff)

    @property
    def record_key(self) -> str:
        """``"kind:value"``, the record's key in a store."""
        return f"{self.kind}:{self.value}"

    def prunable(self, now: float, margin: float = PRUNE_MARGIN) -> bool:
        """True once the revoked key has been expired for more than ``margin`` seconds."""
        return self.expires_at is not None and self.expires_at + margin < now

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict (the fields, by name)."""
        return {
            "kind": self.kind,
            "value": self.value,
            "reason": self.reason,
            "revoked_at": self.revoked_at,
            "host": self.host,
            "expires_at": self.expires_at,
            "issued_before": self.issued_before,
        }

    def to_json(self) -> str:
        """Compact JSON of :meth:`to_dict` (the storage form in Redis)."""
        return json.dumps(
            self.to_dict(), separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Revocation:
        """Rebuild a record from :meth:`to_dict` output (``ValueError`` when malformed)."""
        try:
            return cls(
                kind=cast(Kind, data["kind"]),
                value=data["value"],
                reason=data.get("reason"),
                revoked_at=data["revoked_at"],
                host=data.get("host", ""),
                expires_at=data.get("expires_at"),
                issued_before=data.get("issued_before"),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed revocation record: {type(exc).__name__}: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Revocation:
        """Rebuild a record from :meth:`to_json` output (``ValueError`` when malformed)."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("malformed revocation record: not a JSON object")
        return cls.from_dict(data)


def split_field(field_text: str) -> tuple[Kind, str]:
    """``"kind:value"`` back into ``(kind, value)`` (``ValueError`` when malformed)."""
    kind, sep, value = field_text.partition(":")
    if not sep or kind not in KINDS:
        raise ValueError("malformed revocation field")
    return kind, value


@dataclass(frozen=True)
class Change:
    """One change of a store: at ``version``, ``(kind, value)`` became ``record`` (``None``:
    removed). Applying a store's changes in version order reproduces its contents."""

    version: StoreVersion
    kind: Kind
    value: str
    record: Revocation | None


def build_index(
    records: list[Revocation], now: float | None = None
) -> tuple[set[str], dict[str, float]]:
    """The lookup form of ``records``: ids and fingerprints in one set, tenants -> cutoff.

    Records past ``expires_at + PRUNE_MARGIN`` are left out (their keys fail as expired anyway).
    """
    moment = time.time() if now is None else now
    ids: set[str] = set()
    tenants: dict[str, float] = {}
    for record in records:
        if record.prunable(moment):
            continue
        if record.kind == "tenant":
            tenants[record.value] = cast(float, record.issued_before)
        else:
            ids.add(record.value)
    return ids, tenants
