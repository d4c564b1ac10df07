"""Pure-Python implementation of apikee's hot path: the readable reference.

The claims object lives in ``_claims_py.py`` (re-exported here). ``_core_c.pyx`` is the
compiled twin (``_claims_c.pxi`` and ``_json_c.pxi`` are included into it): same public names,
signatures, docstrings, results and exceptions (``tests/test_differential.py`` holds them to
it). A change to one lands in the other in the same commit. Nothing outside ``_core.py`` imports this module directly.

Public names: ``b62encode``, ``b62decode``, ``constant_time_compare``, ``ApikeeClaims``,
``Verifier``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import time
from typing import Any, Callable, Iterable, Sequence

from . import _errors as E
from ._asgi_gate import AsgiGate
from ._claims_py import ApikeeClaims, _claims_from_dict, has_policy_claims
from ._errors import ApikeeError
from ._header import scan_headers
from ._options import checked_now, checked_revocations, verifier_options
from ._payload import load_payload
from ._revoked import revoked_by_snapshot
from ._scopes import require_scopes
from ._wire import (
    ALPHABET,
    DEFAULT_MAX_KEY_LENGTH,
    MAX_SIGNATURE_DIGITS,
    PREFIX,
    SIGNATURE_BYTES,
)

__all__ = [
    "b62encode",
    "b62decode",
    "constant_time_compare",
    "has_policy_claims",
    "scan_headers",
    "ApikeeClaims",
    "Verifier",
    "AsgiGate",
]


# bytes.translate table: base62 digit value for alphabet bytes, 0xFF for every other byte.
_DIGIT_TABLE = bytearray(b"\xff" * 256)
for _value, _char in enumerate(ALPHABET.encode("ascii")):
    _DIGIT_TABLE[_char] = _value
_DIGIT_OF = bytes(_DIGIT_TABLE)
_ENCODE_CHUNK = 62**10  # ten digits per bigint division when encoding
_BLOCK = 64  # SHA-256 block size, for the HMAC pads


# ── base62 codec ────────────────────────────────────────────────────────────────────────────


_LOOP_DIGITS = 20  # below this the digit loop is fastest
_SPLIT_DIGITS = 1024  # above this the halves are decoded apart (see _digits_to_int)


@functools.lru_cache(maxsize=64)
def _power_of_62(exponent: int) -> int:
    power: int = 62**exponent
    return power


@functools.lru_cache(maxsize=16)
def _level_plan(levels: int) -> tuple[tuple[int, int, int], ...]:
    """For up to ``2**levels`` digits, one byte each: per level, the field width in bits, the
    mask of the even fields and the power of 62 that joins a pair of fields."""
    plan = []
    group = 1  # digits per field
    while group < 1 << levels:
        pairs = (1 << levels) // (2 * group)
        mask = int.from_bytes((b"\xff" * group + b"\x00" * group) * pairs, "little")
        plan.append((8 * group, mask, _power_of_62(group)))
        group *= 2
    return tuple(plan)


def _digits_to_int(digits: bytes) -> int:
    """Integer from base62 digit values (each 0..61), most significant first.

    No Python loop per digit: the digit values, one per byte, are read as one integer
    (``int.from_bytes``), and adjacent fields are joined level by level, all pairs of a level at
    once: ``(x >> w & mask) * 62**g + (x & mask)`` turns fields of g digits (w = 8g bits) into
    fields of 2g digits, which still fit (62**(2g) < 2**(2w)). log2(n) big-integer steps instead
    of n: the typical 175-digit payload 13.4 -> 2.6 us. Fields longer than ``_SPLIT_DIGITS``
    are split in halves first, so the big joins use CPython's Karatsuba multiplication.
    """
    n = len(digits)
    if n <= _LOOP_DIGITS:
        value = 0
        for d in digits:
            value = value * 62 + d
        return value
    if n > _SPLIT_DIGITS:
        low_length = n // 2
        high = _digits_to_int(digits[:-low_length])
        return high * _power_of_62(low_length) + _digits_to_int(digits[-low_length:])
    x = int.from_bytes(digits, "big")
    for width, mask, power in _level_plan((n - 1).bit_length()):
        x = (x >> width & mask) * power + (x & mask)
    return x


def b62encode(data: bytes) -> str:
    """Encode bytes as base62 (alphabet 0-9A-Za-z), most significant digit first.

    Each leading zero byte becomes a leading ``"0"`` so every byte string round-trips through
    :func:`b62decode`; for input that does not start with a zero byte this is exactly the wire
    encoding of an apikee field. ``b""`` encodes to ``""``.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"b62encode() argument must be bytes-like, not {type(data).__name__}")
    data = bytes(data)
    stripped = data.lstrip(b"\x00")
    zeros = len(data) - len(stripped)
    n = int.from_bytes(stripped, "big")
    out: list[str] = []
    while n >= _ENCODE_CHUNK:
        n, chunk = divmod(n, _ENCODE_CHUNK)
        for _ in range(10):
            chunk, d = divmod(chunk, 62)
            out.append(ALPHABET[d])
    while n:
        n, d = divmod(n, 62)
        out.append(ALPHABET[d])
    out.reverse()
    return "0" * zeros + "".join(out)


def b62decode(text: str) -> bytes:
    """Decode base62 text made by :func:`b62encode` back to bytes.

    Each leading ``"0"`` becomes a zero byte. Raises ``TypeError`` for a non-``str`` argument
    and ``ValueError`` for a character outside the alphabet (no other exception).
    """
    if not isinstance(text, str):
        raise TypeError(f"b62decode() argument must be str, not {type(text).__name__}")
    if not text.isascii():
        raise ValueError("invalid base62 character")
    digits = text.encode("ascii").translate(_DIGIT_OF)
    if b"\xff" in digits:
        raise ValueError("invalid base62 character")
    stripped = digits.lstrip(b"\x00")
    n = _digits_to_int(stripped)
    return b"\x00" * (len(digits) - len(stripped)) + n.to_bytes((n.bit_length() + 7) // 8, "big")


def constant_time_compare(a: bytes, b: bytes) -> bool:
    """Compare two byte strings in time that depends only on their length.

    Returns ``False`` for different lengths. Both arguments must be bytes-like.
    """
    if not isinstance(a, (bytes, bytearray, memoryview)) or not isinstance(
        b, (bytes, bytearray, memoryview)
    ):
        raise TypeError("constant_time_compare() arguments must be bytes-like")
    return hmac.compare_digest(a, b)


# ── the verifier ────────────────────────────────────────────────────────────────────────────


def _hmac_states(secret: bytes) -> tuple[Any, Any]:
    """SHA-256 states after absorbing the HMAC inner and outer pads (RFC 2104)."""
    if len(secret) > _BLOCK:
        secret = hashlib.sha256(secret).digest()
    secret = secret.ljust(_BLOCK, b"\x00")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in secret))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in secret))
    return inner, outer


class Verifier:
    """Signs payloads and verifies keys for a fixed list of secrets.

    ``secrets`` are the raw secret bytes, current first (it signs); every one of them is tried
    when verifying. The HMAC pads are absorbed once here, never per call. ``max_key_length``
    bounds a key before any decoding; ``leeway`` (seconds) widens the ``exp``/``nbf`` window.
    ``policy(claims)``, if given, runs last for a key that carries an ``rl`` or ``ip`` claim
    (docs/SPEC.md section 8) and raises to refuse it; other keys never pay for it.
    """

    __slots__ = (
        "_states",
        "_max_key_length",
        "_leeway",
        "_environment",
        "_is_revoked",
        "_policy",
        "_revoked_ids",
        "_revoked_tenants",
        "_fresh_until",
        "_fingerprints",
    )

    _states: list[tuple[Any, Any]]

    def __init__(
        self,
        secrets: Sequence[bytes],
        max_key_length: int = DEFAULT_MAX_KEY_LENGTH,
        leeway: float = 0,
        *,
        environment: str | None = None,
        is_revoked: Callable[[Any], bool] | None = None,
        policy: Callable[[Any], Any] | None = None,
    ) -> None:
        try:
            self._states  # noqa: B018  (initialised already?)
        except AttributeError:
            pass
        else:  # as the compiled twin, whose secrets a verify() without the GIL may be using
            raise TypeError("a Verifier is initialised once; build a new one instead")
        secrets, max_key_length, leeway, environment, is_revoked, policy = verifier_options(
            secrets, max_key_length, leeway, environment, is_revoked, policy
        )
        self._states = [_hmac_states(secret) for secret in secrets]
        self._max_key_length = max_key_length
        self._leeway = leeway
        self._environment = environment
        self._is_revoked = is_revoked
        self._policy = policy
        self._revoked_ids: frozenset[str] | None = None
        self._revoked_tenants: dict[str, float] | None = None
        self._fresh_until: float | None = None
        self._fingerprints = False

    @property
    def max_key_length(self) -> int:
        """Keys longer than this many characters are rejected before decoding."""
        return self._max_key_length

    @property
    def leeway(self) -> float:
        """Seconds of tolerance on ``exp`` and ``nbf``."""
        return self._leeway

    def set_revocations(
        self,
        ids: frozenset[str],
        tenants: dict[str, float],
        fresh_until: float | None = None,
    ) -> None:
        """Install a revocation snapshot (the store's refresher calls this, off the request path).

        ``ids``: revoked key ids and fingerprints; ``tenants``: tenant -> cutoff (keys issued
        before it are revoked). Both are read, never copied or mutated: pass new objects for
        each change. ``fresh_until`` (a ``time.monotonic()`` instant, or None for never): past
        it, verify() fails with ``STORE_UNAVAILABLE`` (fail closed) until the next snapshot.
        """
        installed = checked_revocations(
            ids, tenants, fresh_until, self._revoked_ids, self._fingerprints
        )
        self._revoked_ids, self._revoked_tenants, self._fresh_until, self._fingerprints = installed

    def sign(self, payload: bytes) -> bytes:
        """HMAC-SHA256 of ``payload`` with the first (current) secret: 32 raw bytes."""
        inner, outer = self._states[0]
        inner = inner.copy()
        inner.update(payload)
        outer = outer.copy()
        outer.update(inner.digest())
        mac: bytes = outer.digest()
        return mac

    def verify(
        self,
        key: Any,
        now: float | None = None,
        *,
        scopes: Iterable[str] | None = None,
        any_of: bool = False,
    ) -> ApikeeClaims:
        """Verify a key (``str`` or ``bytes``) and return its claims.

        Follows docs/SPEC.md section 2 check by check; every failure is an
        :class:`ApikeeError` and no other exception escapes, whatever ``key`` is. ``now`` is
        unix seconds (default: the current time; anything but a finite number is a
        ``TypeError``). Then the later checks:
        a stale revocation snapshot with fail-closed ``fresh_until`` (``STORE_UNAVAILABLE``),
        the installed revocation snapshot and ``is_revoked`` (``REVOKED``), ``scopes`` (all, or
        any with ``any_of``: ``INSUFFICIENT_SCOPE``), ``environment`` (``WRONG_ENVIRONMENT``),
        and ``policy`` for a key with policy claims.
        """
        if now is not None:
            now = checked_now(now)
        code = E.ErrorCode
        # 1-2: type, emptiness, length (before anything costs more than O(1)).
        # issubclass(type(...)) rather than isinstance: never runs a hostile __class__ property.
        if type(key) is str:
            pass
        elif issubclass(type(key), str):
            key = str.__str__(key)  # an exact str, whatever a subclass overrides
        elif issubclass(type(key), bytes):
            key = bytes.decode(key, "latin-1")  # one char per byte: same lengths, same checks
        elif key is None:
            raise ApikeeError(code.MISSING_KEY, E.MSG_MISSING)
        else:
            raise ApikeeError(code.INVALID_FORMAT, E.MSG_NOT_TEXT)
        if not key:
            raise ApikeeError(code.MISSING_KEY, E.MSG_MISSING)
        if len(key) > self._max_key_length:
            raise ApikeeError(code.INVALID_FORMAT, E.MSG_TOO_LONG.format(self._max_key_length))
        # 3: prefix.
        if not key.startswith(PREFIX):
            raise ApikeeError(code.INVALID_PREFIX, E.MSG_PREFIX)
        # 4: structure.
        body = key[7:]
        payload_text, dot, signature_text = body.partition(".")
        if not payload_text or not signature_text or "." in signature_text:
            raise ApikeeError(code.INVALID_FORMAT, E.MSG_STRUCTURE)
        # 5: alphabet, then canonical form.
        if not body.isascii():
            raise ApikeeError(code.DECODE_ERROR, E.MSG_BAD_CHAR)
        # One translation of both fields: the dot between them is the one 0xFF allowed.
        digits = body.encode("ascii").translate(_DIGIT_OF)
        if digits.count(255) != 1:
            raise ApikeeError(code.DECODE_ERROR, E.MSG_BAD_CHAR)
        payload_digits = digits[: len(payload_text)]
        signature_digits = digits[len(payload_text) + 1 :]
        if payload_digits[0] == 0 or signature_digits[0] == 0:
            raise ApikeeError(code.DECODE_ERROR, E.MSG_NON_CANONICAL)
        # 6: signature, against every secret, before the payload is looked at.
        if len(signature_digits) > MAX_SIGNATURE_DIGITS:
            raise ApikeeError(code.INVALID_SIGNATURE, E.MSG_SIG_TOO_LONG)
        signature_value = _digits_to_int(signature_digits)
        if signature_value >> (8 * SIGNATURE_BYTES):
            raise ApikeeError(code.INVALID_SIGNATURE, E.MSG_SIG_TOO_LONG)
        signature = signature_value.to_bytes(SIGNATURE_BYTES, "big")
        n = _digits_to_int(payload_digits)
        payload = n.to_bytes((n.bit_length() + 7) // 8, "big")
        matched = False
        for inner, outer in self._states:  # no early exit: time does not tell which matched
            inner = inner.copy()
            inner.update(payload)
            outer = outer.copy()
            outer.update(inner.digest())
            matched |= hmac.compare_digest(outer.digest(), signature)
        if not matched:
            raise ApikeeError(code.INVALID_SIGNATURE, E.MSG_BAD_SIGNATURE)
        # 7-8: parse (strict JSON, bounded depth and numbers) and type-check the now
        # authenticated payload.
        claims = _claims_from_dict(load_payload(payload), key)
        # 9: time window (compared as floats, as the compiled twin does).
        if claims.exp is not None or claims.nbf is not None:
            if now is None:
                now = time.time()
            if claims.exp is not None and now > claims.exp + self._leeway:
                raise ApikeeError(code.EXPIRED, E.MSG_EXPIRED)
            if claims.nbf is not None and now < claims.nbf - self._leeway:
                raise ApikeeError(code.NOT_YET_VALID, E.MSG_NOT_YET_VALID)
        # 10: the later checks this verifier was configured or called with, in docs/SPEC.md order (section 2, step 10).
        if self._fresh_until is not None and time.monotonic() > self._fresh_until:
            raise ApikeeError(code.STORE_UNAVAILABLE, E.MSG_STORE_UNAVAILABLE)
        if (self._revoked_ids is not None or self._revoked_tenants is not None) and (
            revoked_by_snapshot(
                claims, self._revoked_ids, self._revoked_tenants, self._fingerprints
            )
        ):
            raise ApikeeError(code.REVOKED, E.MSG_REVOKED)
        if self._is_revoked is not None and self._is_revoked(claims):
            raise ApikeeError(code.REVOKED, E.MSG_REVOKED)
        if scopes:
            require_scopes(claims.scopes, scopes, any_of=any_of)
        if self._environment is not None and claims.environment != self._environment:
            raise ApikeeError(
                code.WRONG_ENVIRONMENT,
                E.MSG_WRONG_ENVIRONMENT.format(claims.environment, self._environment),
            )
        # 11: the key's own policy claims (docs/SPEC.md section 8), only when it has one.
        if self._policy is not None and has_policy_claims(claims):
            self._policy(claims)
        return claims

    def __repr__(self) -> str:
        return f"Verifier(secrets={len(self._states)}, max_key_length={self._max_key_length})"
