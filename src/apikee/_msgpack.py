"""Reading legacy MessagePack payloads (keys issued by apikee 0.1.2 with msgpack installed).

Shared by both implementations: MessagePack keys are the old format, not the hot path, so one
well-kept library (``msgpack``, the optional extra ``apikee[msgpack]``) decodes them for both.
"""

from __future__ import annotations

from typing import Any

from ._errors import MSG_BAD_MSGPACK, MSG_NO_MSGPACK, ApikeeError, ErrorCode

__all__ = ["load_msgpack"]

_unpackb: Any = None  # resolved on first use; False when msgpack is not installed


def _resolve() -> Any:
    global _unpackb
    try:
        from msgpack import unpackb  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        unpackb = False
    _unpackb = unpackb
    return unpackb


def load_msgpack(payload: bytes) -> Any:
    """Decode a signed MessagePack payload; any failure is ``DECODE_ERROR``."""
    unpackb = _unpackb
    if unpackb is None:
        unpackb = _resolve()
    if unpackb is False:
        raise ApikeeError(ErrorCode.DECODE_ERROR, MSG_NO_MSGPACK)
    try:
        # raw=False: strings as str, as 0.1.2 packed them; bounded sizes because the payload is
        # bounded by the key length already (msgpack's own limits stop deep nesting).
        return unpackb(payload, raw=False, strict_map_key=True, timestamp=0)
    except Exception:
        raise ApikeeError(ErrorCode.DECODE_ERROR, MSG_BAD_MSGPACK) from None


def _reset_for_tests(available: bool | None = None) -> None:
    """Force msgpack to look missing (``False``) or re-detect it (``None``)."""
    global _unpackb
    _unpackb = False if available is False else None
