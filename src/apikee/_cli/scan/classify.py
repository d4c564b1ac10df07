"""Telling what a key found by ``apikee scan`` is: live, expired, forged… and masking it.

Customer keys are decoded without a secret for their tenant and expiry and, when the caller
has an :class:`~apikee.Apikee` with the secrets the servers accept, verified to tell a live key
from an expired or forged one (and, when that Apikee has a store, from a revoked one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..._errors import MSG_NO_MSGPACK, ApikeeError, ErrorCode
from ..._keyutil import unverified_payload
from ..._wire import PREFIX
from ..claims import unix_seconds
from .findings import EXPIRED, FORGED, INVALID, LIVE, NOT_YET_VALID, REVOKED, UNVERIFIABLE

if TYPE_CHECKING:
    from ..._apikee import Apikee

__all__ = ["Classified", "classify", "mask", "text"]


def text(value: Any) -> str | None:
    """A claim's string, or None when it is absent or not a string."""
    return value if type(value) is str else None


_NOT_YOURS = "does not verify with your secret(s): forged, or issued with another secret"
_NEEDS_MSGPACK = "a MessagePack key: install apikee[msgpack] to read its claims"
_REVOKED = "signed with your secret; revoked in the store: verifiers reading it refuse it"


Classified = tuple[str, str, dict[str, Any]]  # (status, detail, decoded claims)


def classify(key: str, apikee: Apikee | None, now: float) -> Classified | None:
    """(status, detail, decoded claims) for a customer key; None when it is not a key at all."""
    claims: Any
    try:
        claims = unverified_payload(key)
    except ApikeeError as exc:
        if exc.message != MSG_NO_MSGPACK:
            return None  # looks like "apikee_x.y" but is no key: a name in code, a truncated line
        claims = {}  # a legacy MessagePack key; its claims need the optional msgpack package
        unreadable = True
    else:
        if type(claims) is not dict:
            return None
        unreadable = False
    exp = unix_seconds(claims.get("exp"))
    if apikee is None:
        if exp is not None and now > exp:
            return EXPIRED, "not verified (no secret given); expired by its claims", claims
        if unreadable:
            return UNVERIFIABLE, f"not verified: no secret given; {_NEEDS_MSGPACK}", claims
        return UNVERIFIABLE, "not verified: no secret given", claims
    try:
        apikee.verify(key, now=now)
    except ApikeeError as exc:
        if exc.code == ErrorCode.EXPIRED:
            return EXPIRED, "signed with your secret", claims
        if exc.code == ErrorCode.NOT_YET_VALID:
            return NOT_YET_VALID, "signed with your secret; becomes valid later", claims
        if exc.code == ErrorCode.INVALID_SIGNATURE:
            return FORGED, _NOT_YOURS, claims
        if exc.code == ErrorCode.REVOKED:
            return REVOKED, _REVOKED, claims
        if exc.message == MSG_NO_MSGPACK:
            return UNVERIFIABLE, f"signed with your secret; {_NEEDS_MSGPACK}", claims
        return INVALID, f"{exc.code}: {exc.message}", claims
    return LIVE, "verifies with your secret", claims


def mask(key: str) -> str:
    """How a finding shows its key: never enough of it to use or to guess."""
    if key.startswith(PREFIX):
        return PREFIX + "…" + key[-4:]  # 4 characters of the MAC: no help to anyone
    return key[:8] + "…"  # a platform key is a secret: its prefix only
