"""Small helpers around keys and secrets that are not on the verify path."""

from __future__ import annotations

import hashlib
import secrets as _secrets
from typing import Any

from ._claims_py import ApikeeClaims
from ._core import b62decode, load_backend
from ._errors import MSG_BAD_CHAR, MSG_BAD_JSON, MSG_PREFIX, MSG_STRUCTURE, ApikeeError, ErrorCode
from ._payload import load_payload
from ._wire import PREFIX as _PREFIX

__all__ = ["hash_key", "generate_secret", "decode_unverified", "unverified_payload"]

_INSPECT_LIMIT = 65536


def hash_key(raw_key: str | bytes) -> str:
    """Lowercase hex SHA-256 of the UTF-8 key: a fingerprint safe to store or log."""
    if isinstance(raw_key, str):
        raw_key = raw_key.encode("utf-8", "surrogatepass")
    elif not isinstance(raw_key, (bytes, bytearray, memoryview)):
        raise TypeError(f"hash_key() argument must be str or bytes, not {type(raw_key).__name__}")
    return hashlib.sha256(raw_key).hexdigest()


def generate_secret() -> str:
    """A new signing secret: 32 bytes from the OS CSPRNG, as 64 hex characters."""
    return _secrets.token_hex(32)


def unverified_payload(key: Any) -> Any:
    """The decoded payload of a key-shaped text WITHOUT checking its signature.

    The same strict decoder and limits as ``verify`` (``_payload.load_payload``: depth, NaN,
    integer length, UTF-8), so inspection and verification agree on every payload on every
    Python version. Raises :class:`ApikeeError` (``INVALID_FORMAT``, ``INVALID_PREFIX`` or
    ``DECODE_ERROR``) when the text is not shaped like a key.
    """
    if isinstance(key, bytes):
        key = key.decode("latin-1")
    if not isinstance(key, str) or not key:
        raise ApikeeError(ErrorCode.INVALID_FORMAT, "the key must be a non-empty string")
    key = key.strip()
    if len(key) > _INSPECT_LIMIT:
        raise ApikeeError(
            ErrorCode.INVALID_FORMAT, f"the key is longer than {_INSPECT_LIMIT} characters"
        )
    if not key.startswith(_PREFIX):
        raise ApikeeError(ErrorCode.INVALID_PREFIX, MSG_PREFIX)
    payload_text, _, signature_text = key[len(_PREFIX) :].partition(".")
    if not payload_text or not signature_text or "." in signature_text:
        raise ApikeeError(ErrorCode.INVALID_FORMAT, MSG_STRUCTURE)
    try:
        payload = b62decode(payload_text).lstrip(b"\x00")
        b62decode(signature_text)
    except ValueError:
        raise ApikeeError(ErrorCode.DECODE_ERROR, MSG_BAD_CHAR) from None
    if not payload:
        raise ApikeeError(ErrorCode.DECODE_ERROR, MSG_BAD_JSON)
    return load_payload(payload)


def decode_unverified(key: str | bytes) -> ApikeeClaims:
    """Decode a key's claims WITHOUT checking its signature (for inspection only).

    Anyone can do this: claims are encoded, not encrypted. Never trust the result for access
    decisions: it is an :class:`ApikeeClaims` with ``verified`` False. Goes through the same
    strict decoder and claim type checks as ``verify``: raises :class:`ApikeeError`
    (``INVALID_FORMAT``, ``INVALID_PREFIX``, ``DECODE_ERROR`` or ``INVALID_CLAIMS``) where
    ``verify`` would reject the payload. The signature, expiry and not-before are not checked.
    """
    payload = unverified_payload(key)
    raw_key = key.decode("latin-1") if isinstance(key, bytes) else key
    return load_backend(None)._claims_from_dict(payload, raw_key.strip(), False)  # type: ignore[no-any-return]
