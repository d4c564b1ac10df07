"""How the ``apikee`` command line writes: exit codes, its error type, and safe output.

Everything a command prints about a decoded (possibly hostile) key goes through :func:`safe`
or :func:`jsonable`, so a key cannot rewrite the terminal; every message that echoes user
input goes through :mod:`apikee._cli.masking`, so no key or secret leaks into it.
"""

from __future__ import annotations

import json
import math
import re
import sys
from datetime import datetime, timezone
from typing import Any

EXIT_OK, EXIT_BAD, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
_DISPLAY_LIMIT = 200  # characters of a decoded (possibly hostile) string shown in text output


class CliError(Exception):
    """A failure the user can act on: printed as ``apikee: <message>``, exit ``status``."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# ── text safety ─────────────────────────────────────────────────────────────────────────────

# Control and invisible/bidi characters a hostile key could use to rewrite a terminal line.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)


def safe(value: Any, limit: int = _DISPLAY_LIMIT) -> str:
    """A decoded value as one harmless line: escapes control characters, caps the length."""
    text = value if isinstance(value, str) else json.dumps(jsonable(value), ensure_ascii=False)
    text = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text)} characters)"
    return text


def jsonable(value: Any, depth: int = 0) -> Any:
    """Decoded claims (JSON or legacy MessagePack, possibly hostile) as strict-JSON data."""
    if depth > 64:
        return "…"
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {
            (k if isinstance(k, str) else repr(k)): jsonable(v, depth + 1) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [jsonable(v, depth + 1) for v in value]
    return repr(value)[:_DISPLAY_LIMIT]


def out(text: str = "") -> None:
    """Print a line on stdout."""
    print(text)


def err(text: str) -> None:
    """Print a line on stderr."""
    print(text, file=sys.stderr)


def emit_json(data: Any) -> None:
    """Print one JSON document (ASCII only, so any terminal or pipe takes it)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=True, allow_nan=False) + "\n")


# ── time ────────────────────────────────────────────────────────────────────────────────────


def iso(timestamp: float | None) -> str | None:
    """Unix seconds as ``2026-03-01T12:00:00Z`` (None stays None)."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _amount(seconds: float) -> str:
    for unit, size, up_to in (
        ("second", 1, 90),
        ("minute", 60, 90 * 60),
        ("hour", 3600, 36 * 3600),
        ("day", 86400, 730 * 86400),
    ):
        if seconds < up_to:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    count = int(seconds // (365.25 * 86400))
    return f"{count} years"


def relative(timestamp: float, now: float) -> str:
    """``"in 89 days"`` or ``"3 days ago"``."""
    delta = timestamp - now
    return f"in {_amount(delta)}" if delta >= 0 else f"{_amount(-delta)} ago"
