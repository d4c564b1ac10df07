"""The wire constants of the key format (docs/SPEC.md section 1), defined once.

Every Python module takes them from here; the compiled twin has the same values as C
compile-time constants (``_wire.h``) and refuses to import if any differs from this module
(``tests/test_wire.py`` checks it too).
"""

from __future__ import annotations

__all__ = [
    "ALPHABET",
    "DEFAULT_MAX_KEY_LENGTH",
    "ID_LENGTH",
    "MAX_SIGNATURE_DIGITS",
    "MAX_TIMESTAMP",
    "MIN_SECRET_BYTES",
    "IP_CLAIM",
    "PREFIX",
    "RATE_CLAIM",
    "SIGNATURE_BYTES",
    "TIMESTAMP_RANGE",
]

#: Every key starts with this (case-sensitive); secret scanners look for it.
PREFIX = "apikee_"
#: The base62 digits, in value order.
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: The largest ``exp``/``nbf``: 9999-12-31T23:59:59Z in unix seconds.
MAX_TIMESTAMP = 253402300799
#: How ``exp``/``nbf`` are described in error messages.
TIMESTAMP_RANGE = f"a number of unix seconds from 0 to {MAX_TIMESTAMP}"
#: Keys longer than this many characters are refused before any decoding (the default).
DEFAULT_MAX_KEY_LENGTH = 2048
#: An HMAC-SHA256 is 32 bytes; 62**43 > 2**256 > 62**42, so its base62 has at most 43 digits.
SIGNATURE_BYTES = 32
MAX_SIGNATURE_DIGITS = 43
#: A key id: 22 base62 digits of a 48-bit millisecond timestamp and 80 random bits.
ID_LENGTH = 22
#: A signing secret shorter than this many bytes gives a WeakSecretWarning.
MIN_SECRET_BYTES = 32
#: The policy claims (docs/SPEC.md section 8): a key's rate limits and its IP allow list.
RATE_CLAIM = "rl"
IP_CLAIM = "ip"
