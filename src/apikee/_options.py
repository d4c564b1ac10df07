"""The options of a Verifier and of verify(), checked in one place for both twins.

Both implementations call these at construction (never per request, except ``checked_now``
when a caller passes ``now``), so they accept and refuse exactly the same values with the same
errors, and hand the hot path values it can compare without surprises: ``leeway`` as a float
no larger than the largest timestamp (so ``exp + leeway`` is exact in a double, as in Python),
``max_key_length`` an int that fits a C ``Py_ssize_t``.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any, Callable, Sequence

from ._errors import MSG_BAD_NOW, ApikeeConfigError
from ._revoked import has_fingerprints
from ._wire import MAX_TIMESTAMP

__all__ = [
    "LARGEST_MAX_KEY_LENGTH",
    "MAX_LEEWAY",
    "checked_now",
    "checked_revocations",
    "verifier_options",
]

#: The largest ``max_key_length`` (2**31 - 1 characters: far past any real key, and a C int).
LARGEST_MAX_KEY_LENGTH = 2**31 - 1
#: The largest ``leeway``: 9999-12-31T23:59:59Z in unix seconds, like the largest ``exp``.
MAX_LEEWAY = MAX_TIMESTAMP


def checked_leeway(leeway: Any) -> float:
    """``leeway`` (seconds, or a timedelta) as a float from 0 to MAX_LEEWAY."""
    if isinstance(leeway, timedelta):
        leeway = leeway.total_seconds()
    if isinstance(leeway, bool) or type(leeway) not in (int, float):
        raise ApikeeConfigError("leeway must be a finite number of seconds >= 0")
    if not (0 <= leeway <= MAX_LEEWAY) or (type(leeway) is float and not math.isfinite(leeway)):
        raise ApikeeConfigError(f"leeway must be a finite number of seconds from 0 to {MAX_LEEWAY}")
    return float(leeway)


def checked_max_key_length(value: Any, minimum: int = 1) -> int:
    """``max_key_length`` as an int from ``minimum`` to LARGEST_MAX_KEY_LENGTH."""
    if type(value) is not int or not (minimum <= value <= LARGEST_MAX_KEY_LENGTH):
        raise ApikeeConfigError(
            f"max_key_length must be an int from {minimum} to {LARGEST_MAX_KEY_LENGTH}"
        )
    return value


def verifier_options(
    secrets: Sequence[bytes],
    max_key_length: Any,
    leeway: Any,
    environment: Any,
    is_revoked: Any,
    policy: Any = None,
) -> tuple[
    list[bytes], int, float, str | None, Callable[[Any], bool] | None, Callable[[Any], Any] | None
]:
    """Every option of ``Verifier(...)``, checked; raises ApikeeConfigError or TypeError."""
    if isinstance(secrets, (str, bytes)):
        raise TypeError("secrets must be a list of bytes, not a single value")
    checked_secrets = list(secrets)
    if not checked_secrets:
        raise ApikeeConfigError("at least one secret is required")
    for secret in checked_secrets:
        if type(secret) is not bytes or not secret:
            raise TypeError("secrets must be non-empty bytes")
    if environment is not None and type(environment) is not str:
        raise TypeError("environment must be a str or None")
    if is_revoked is not None and not callable(is_revoked):
        raise TypeError("is_revoked must be a callable or None")
    if policy is not None and not callable(policy):
        raise TypeError("policy must be a callable or None")
    return (
        checked_secrets,
        checked_max_key_length(max_key_length),
        checked_leeway(leeway),
        environment,
        is_revoked,
        policy,
    )


def checked_revocations(
    ids: Any, tenants: Any, fresh_until: Any, previous_ids: Any, previous_fingerprints: bool
) -> tuple[frozenset[str] | None, dict[str, float] | None, float | None, bool]:
    """``Verifier.set_revocations``'s arguments as the verifier keeps them: None for an empty
    set or dict (so a verifier with nothing revoked pays one pointer comparison), and whether
    the set holds a fingerprint (recomputed only for a newly published set: the same set is
    installed again on every refresh that finds no change)."""
    if type(ids) is not frozenset or type(tenants) is not dict:
        raise TypeError("set_revocations() takes a frozenset and a dict")
    fingerprints = previous_fingerprints if ids is previous_ids else has_fingerprints(ids)
    fresh = None if fresh_until is None else float(fresh_until)
    return ids or None, tenants or None, fresh, fingerprints


def checked_now(now: Any) -> float:
    """``verify(now=...)`` as a float; anything but a finite number of seconds is a TypeError."""
    if isinstance(now, bool) or not isinstance(now, (int, float)):
        raise TypeError(MSG_BAD_NOW)
    try:
        value = float(now)
    except OverflowError:  # an int too large for a float (10**400): not a time
        raise TypeError(MSG_BAD_NOW) from None
    if not math.isfinite(value):
        raise TypeError(MSG_BAD_NOW)
    return value
