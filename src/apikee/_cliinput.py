"""Reading the command line's inputs: dates and durations, sizes, keys, signing secrets.

Every bad value becomes a :class:`~apikee._clitext.CliError` (exit 2) whose message masks
anything key-shaped; a secret is never echoed.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from ._clitext import CliError, err, redact, safe

STDIN_LIMIT = 1 << 20  # a key is at most a few KiB; reading more is never needed
SECRET_FILE_LIMIT = 1 << 16

NO_SECRET = (
    "no signing secret: set APIKEE_SECRET (make one with: apikee secret) "
    "or pass --secret-file FILE"
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
    from ._duration import parse_duration

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
            f"{option}: cannot read {safe(redact(text), 60)!r}: use an ISO 8601 date "
            "(2026-01-31 or 2026-01-31T12:00:00Z), unix seconds, or +DURATION such as +30d"
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
    from ._duration import parse_duration

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
            f"--expires: cannot read {safe(redact(text), 60)!r}: use a duration (90d, 24h, 60m, "
            "3600s, 1w), 'never', or an ISO 8601 date such as 2026-01-31T00:00:00Z"
        ) from None


_SIZE = re.compile(r"(\d+)\s*([kmg]?)i?b?", re.I)


def parse_size(text: str) -> int:
    """``--max-size``: bytes, or a number with K, M or G (binary units)."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError("use a size such as 10M, 512K or 1048576")
    return int(match.group(1)) * 1024 ** " kmg".index(match.group(2).lower() or " ")


# ── keys and secrets ────────────────────────────────────────────────────────────────────────


def read_key_argument(value: str) -> str | bytes:
    """The KEY argument, or stdin's bytes for ``-`` (bounded: verify rejects long keys anyway)."""
    if value == "-":
        return sys.stdin.buffer.read(STDIN_LIMIT + 1).strip()
    return value.strip()


def read_secret_file(path: str) -> list[str]:
    """Secrets from a file: one a line, current first; blank lines and ``#`` comments skipped."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(SECRET_FILE_LIMIT + 1)
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise CliError(f"--secret-file: cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > SECRET_FILE_LIMIT:
        raise CliError(f"--secret-file: {path} is larger than 64 KiB: not a secrets file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"--secret-file: {path} is not UTF-8 text") from None
    secrets = [line.strip() for line in text.splitlines()]
    secrets = [s for s in secrets if s and not s.startswith("#")]
    if not secrets:
        raise CliError(f"--secret-file: {path} holds no secret (one per line, current first)")
    if os.name == "posix" and mode & 0o077:
        err(f"apikee: warning: {path} is readable by other users; restrict it: chmod 600 {path}")
    return secrets


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


def make_apikee(secrets: list[str], **options: Any) -> Any:
    """An ``Apikee`` for these secrets; its weak-secret warning becomes a line on stderr."""
    import warnings

    from ._apikee import Apikee, ApikeeConfigError, WeakSecretWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WeakSecretWarning)
        try:
            apikee = Apikee(secrets=secrets, **options)
        except ApikeeConfigError as exc:
            raise CliError(str(exc).splitlines()[0]) from None
    for warning in caught:
        err(f"apikee: warning: {warning.message}")
    return apikee
