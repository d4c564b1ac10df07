"""The one exception type of apikee, its codes, and the messages both implementations share.

Messages live here, not in the implementations, so that the pure module and the compiled one
raise byte-for-byte identical errors (the differential tests compare them). No message ever
contains a secret or a key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._wire import PREFIX

if TYPE_CHECKING:
    from ._limiter_py import Decision

__all__ = ["ApikeeConfigError", "ApikeeError", "ErrorCode", "RateLimitExceeded", "http_status"]


class ApikeeConfigError(ValueError):
    """The library is misconfigured (no usable secret, bad option); raised at construction."""


class ErrorCode:
    """The machine-readable codes carried by :class:`ApikeeError` (docs/SPEC.md section 2)."""

    MISSING_KEY = "MISSING_KEY"
    INVALID_FORMAT = "INVALID_FORMAT"
    INVALID_PREFIX = "INVALID_PREFIX"
    DECODE_ERROR = "DECODE_ERROR"
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    INVALID_CLAIMS = "INVALID_CLAIMS"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    REVOKED = "REVOKED"
    INSUFFICIENT_SCOPE = "INSUFFICIENT_SCOPE"
    WRONG_ENVIRONMENT = "WRONG_ENVIRONMENT"
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    IP_NOT_ALLOWED = "IP_NOT_ALLOWED"
    RATE_LIMITED = "RATE_LIMITED"


class ApikeeError(Exception):
    """A key failed verification (or a later check the caller asked for).

    ``ApikeeError(code, message)``: ``code`` is one of :class:`ErrorCode`; ``message`` is a
    sentence for humans. Neither ever contains the key or a secret, so both are safe to log and
    to send back to the client.
    """

    # No __init__: both values live in ``args``, so raising one costs no Python frame (it is
    # raised on every rejected request, where it is most of the cost of a rejection).

    @property
    def code(self) -> str:
        """The machine-readable reason, e.g. ``"EXPIRED"``."""
        return self.args[0] if self.args else ""

    @property
    def message(self) -> str:
        """A sentence for humans; never contains a key or a secret."""
        return self.args[1] if len(self.args) > 1 else ""

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    @property
    def http_status(self) -> int:
        """The HTTP status the integrations answer with (see :func:`http_status`)."""
        return http_status(self.code)

    def to_dict(self) -> dict[str, str]:
        """The JSON body the integrations send: ``{"error": code, "message": message}``."""
        return {"error": self.code, "message": self.message}


class RateLimitExceeded(ApikeeError):
    """``RATE_LIMITED``: the key's rate limit refused this request. ``decision`` (an
    ``apikee.Decision``) says which limit, and when to retry (``retry_after`` seconds)."""

    decision: Decision

    def __init__(self, decision: Decision) -> None:
        super().__init__(ErrorCode.RATE_LIMITED, MSG_RATE_LIMITED)
        self.decision = decision

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.decision,))


_STATUS = {
    ErrorCode.INSUFFICIENT_SCOPE: 403,
    ErrorCode.IP_NOT_ALLOWED: 403,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.STORE_UNAVAILABLE: 503,
}


def http_status(code: str) -> int:
    """HTTP status for an error code (docs/SPEC.md section 2): 403 for a missing scope or an
    address outside the key's allow list, 429 for a rate limit, 503 when the store is
    unreachable (and the configuration fails closed), else 401."""
    return _STATUS.get(code, 401)


# Messages shared by both implementations of the verify path.
MSG_MISSING = "no API key was given"
MSG_NOT_TEXT = "the key must be str or bytes"
MSG_TOO_LONG = "the key is longer than the allowed maximum of {} characters"
MSG_PREFIX = f"the key does not start with '{PREFIX}'"
MSG_STRUCTURE = f"the key must be '{PREFIX}<payload>.<signature>' with two non-empty fields"
MSG_BAD_CHAR = "the key contains a character outside the base62 alphabet"
MSG_NON_CANONICAL = "a key field starts with '0' (non-canonical encoding)"
MSG_SIG_TOO_LONG = "the signature is longer than an HMAC-SHA256"
MSG_BAD_SIGNATURE = "the key signature is invalid"
MSG_BAD_JSON = "the key payload is not valid JSON"
MSG_BAD_UTF8 = "the key payload is not valid UTF-8"
MSG_TOO_DEEP = "the key payload nests deeper than 32 levels"
MSG_BAD_MSGPACK = "the key payload is not valid MessagePack"
MSG_NOT_JSON_DATA = "the key payload holds a value JSON cannot represent"
MSG_NO_MSGPACK = (
    "the key payload is MessagePack (issued by an older SDK); "
    "install the optional dependency: pip install 'apikee[msgpack]'"
)
MSG_NOT_OBJECT = "the key claims are not an object"
MSG_CLAIM_TYPE = "claim '{}' must be {}"
MSG_EXPIRED = "the key has expired"
MSG_NOT_YET_VALID = "the key is not valid yet"
MSG_REVOKED = "the key has been revoked"
MSG_STORE_UNAVAILABLE = (
    "the revocation store has been unreachable for longer than the allowed staleness"
)
MSG_WRONG_ENVIRONMENT = "the key is for environment {!r}, not {!r}"
MSG_BAD_NOW = "now must be a finite number of unix seconds"
MSG_RATE_LIMITED = "the rate limit of this key is exceeded; retry after the Retry-After delay"
MSG_IP_NOT_ALLOWED = "the key is not allowed from this IP address"
MSG_LIMIT_STORE_UNAVAILABLE = "the rate-limit store is unavailable"
