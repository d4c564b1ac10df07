"""Turning the user's ``expires_in`` / ``not_before`` values into unix seconds."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

from ._wire import MAX_TIMESTAMP

__all__ = ["parse_duration", "expiry_timestamp", "instant_timestamp", "MAX_TIMESTAMP"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"\s*(\d{1,12})\s*([smhdw])\s*", re.ASCII)


def parse_duration(text: str) -> timedelta:
    """``"90d"``, ``"24h"``, ``"60m"``, ``"3600s"``, ``"1w"`` → timedelta. ValueError otherwise."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise ValueError(
            f"cannot parse duration {text!r}: use a whole number and a unit s, m, h, d or w "
            "(e.g. '90d', '24h')"
        )
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _checked(seconds: float, what: str) -> int:
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_TIMESTAMP:
        raise ValueError(
            f"{what} must fall between 1970 and 9999 (unix seconds 0..{MAX_TIMESTAMP})"
        )
    return int(seconds)


def instant_timestamp(value: datetime | timedelta | int | float, now: float, what: str) -> int:
    """An absolute instant (datetime, naive = UTC, or unix seconds) → int unix seconds."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return _checked(value.timestamp(), what)
    if isinstance(value, timedelta):
        return _checked(now + value.total_seconds(), what)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _checked(value, what)
    raise TypeError(
        f"{what} must be a datetime, a timedelta or unix seconds, not {type(value).__name__}"
    )


def expiry_timestamp(
    value: timedelta | datetime | int | float | str | None, now: float
) -> int | None:
    """``expires_in`` in any documented form → absolute int unix seconds, or None (never)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return _checked(now + value.total_seconds(), "expiry")
    if isinstance(value, datetime):
        return instant_timestamp(value, now, "expiry")
    if isinstance(value, str):
        if value.strip().lower() == "never":
            return None
        return _checked(now + parse_duration(value).total_seconds(), "expiry")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _checked(now + value, "expiry")
    raise TypeError(
        "expires_in must be a timedelta, a datetime, seconds, a duration string like '90d', "
        f"or None, not {type(value).__name__}"
    )
