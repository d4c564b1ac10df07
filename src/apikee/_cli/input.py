"""Reading the command line's inputs: dates and durations, sizes, keys, signing secrets.

Every bad value becomes a :class:`~apikee._cli.output.CliError` (exit 2) whose message masks
anything that looks like a key or a secret (:mod:`apikee._cli.masking`); a secret is never
echoed. Secret files are read by :mod:`apikee._cli.secret_file`.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal, overload

from .masking import shown_argument
from .output import CliError, err
from .secret_file import read_secret_file

if TYPE_CHECKING:
    from .._apikee import Apikee

STDIN_LIMIT = 1 << 20  # a key is at most a few KiB; reading more is never needed

NO_SECRET = (
    "no signing secret: set APIKEE_SECRET (make one with: apikee secret) or pass --secret-file FILE"
)


# ── dates, durations, sizes ─────────────────────────────────────────────────────────────────

_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def _parse_datetime(text: str) -> datetime:
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)  # ValueError when not ISO 8601
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_when(text: str, option: str) -> datetime | timedelta | float:
    """An instant from the command line: ISO 8601 (naive = UTC), unix seconds, or a duration
    from now (``+30d``, ``-1h``; a bare ``30d`` also means from now)."""
    from .._duration import parse_duration

    value = text.strip()
    try:
        if _NUMBER.fullmatch(value):
            return float(value)
        sign = -1 if value.startswith("-") else 1
        try:
            return sign * parse_duration(value.lstrip("+-"))
        except ValueError:
            pass
        return _parse_datetime(value)
    except (ValueError, OverflowError, IndexError):
        raise CliError(
            f"{option}: cannot read {shown_argument(text, 60)!r}: use an ISO 8601 date "
            "(2026-01-31 or 2026-01-31T12:00:00Z), unix seconds, or +DURATION/-DURATION "
            "such as +30d"
        ) from None


def instant_seconds(text: str, option: str) -> float:
    """:func:`parse_when` as unix seconds (for ``--now``)."""
    value = parse_when(text, option)
    try:
        if isinstance(value, timedelta):
            return time.time() + value.total_seconds()
        if isinstance(value, datetime):
            return value.timestamp()
    except (OverflowError, ValueError, OSError):
        raise CliError(f"{option}: the date is out of range") from None
    if not math.isfinite(value):
        raise CliError(f"{option}: the date is out of range")
    return value


def parse_expires(text: str) -> Any:
    """``--expires``: ``never``, a duration (``90d``), or an absolute ISO 8601 date."""
    from .._duration import parse_duration

    value = text.strip()
    if value.lower() == "never":
        return None
    try:
        parse_duration(value)
        return value
    except ValueError:
        pass
    try:
        return _parse_datetime(value)
    except (ValueError, IndexError):
        raise CliError(
            f"--expires: cannot read {shown_argument(text, 60)!r}: use a duration (90d, 24h, 60m, "
            "3600s, 1w), 'never', or an ISO 8601 date such as 2026-01-31T00:00:00Z"
        ) from None


_SIZE = re.compile(r"(\d+)\s*([kmg]?)i?b?", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``--max-size``: bytes, or a number with K, M or G (binary units)."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError("use a size such as 10M, 512K or 1048576")
    size = int(match.group(1)) << 10 * " kmg".index(match.group(2).lower() or " ")
    if size == 0:  # would skip every file that is not empty: never what was meant
        raise argparse.ArgumentTypeError("0 would skip every file: use a size such as 10M or 1G")
    return size


# ── keys and secrets ────────────────────────────────────────────────────────────────────────


def read_key_argument(value: str) -> str | bytes:
    """The KEY argument, or stdin's bytes for ``-`` (bounded: verify rejects long keys anyway)."""
    if value == "-":
        return sys.stdin.buffer.read(STDIN_LIMIT + 1).strip()
    return value.strip()


@overload
def configured_secrets(args: argparse.Namespace) -> list[str]: ...
@overload
def configured_secrets(args: argparse.Namespace, required: Literal[True]) -> list[str]: ...
@overload
def configured_secrets(args: argparse.Namespace, required: bool) -> list[str] | None: ...


def configured_secrets(args: argparse.Namespace, required: bool = True) -> list[str] | None:
    """``--secret-file`` (every line, rotation order), else ``APIKEE_SECRET`` (one secret)."""
    if getattr(args, "secret_file", None):
        return read_secret_file(args.secret_file)
    value = os.environ.get("APIKEE_SECRET", "").strip()
    if value:
        return [value]
    if required:
        raise CliError(NO_SECRET)
    return None


def make_apikee(secrets: list[str], **options: Any) -> Apikee:
    """An ``Apikee`` for these secrets; its weak-secret warning becomes a line on stderr."""
    import warnings

    from .._apikee import Apikee, ApikeeConfigError, WeakSecretWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WeakSecretWarning)
        try:
            apikee = Apikee(secrets=secrets, **options)
        except ApikeeConfigError as exc:
            raise CliError(str(exc).splitlines()[0]) from None
    for warning in caught:
        err(f"apikee: warning: {warning.message}")
    return apikee
