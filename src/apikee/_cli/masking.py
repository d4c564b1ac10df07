"""Masking keys and secrets out of everything the command line echoes back.

Error messages quote what the user typed (argparse's "unrecognized arguments", "invalid
choice", a file that "cannot be read"). A key or a signing secret typed in the wrong place must
not come back on the terminal, in CI logs or in a bug report. The rule:

* key-shaped text (``apikee_<payload>.<signature>``, ``sk_live_…``, ``sk_test_…``) is masked
  wherever it appears, keeping only its first 8 characters (the prefix);
* a value *looks like a secret* when it holds a run of 16 or more hex digits, or a run of 16 or
  more base64/base64url characters (``A-Z a-z 0-9 + / = _ -``, with at least 12 letters and
  digits) whose letters and digits change class (upper case, lower case, digit) between at
  least 30% of neighbours: generated text does (random base64 about 60% of the time), words,
  names, dates and ordinary file paths do not. Such a value is replaced by
  ``[masked: N characters]``, whole;
* ``apikee secret`` masks every unrecognized argument, however short: anything given there is
  most likely the secret itself.

The rule cannot catch a short or hand-made secret typed by mistake (``hunter2`` elsewhere than
``apikee secret``), and it may mask a harmless value that looks generated; the latter is the
cheap mistake.
"""

from __future__ import annotations

import re
from itertools import pairwise

from .output import safe

_KEY_TEXT = re.compile(r"apikee_[0-9A-Za-z]+\.[0-9A-Za-z]+|sk_(?:live|test)_[0-9A-Za-z]+")
# What a signing secret or a token is written in: hex, base64 and base64url characters.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9+/=_-]{16,}")
_HEX_RUN = re.compile(r"[0-9A-Fa-f]{16,}")
_MIN_ALNUM = 12  # letters and digits in a run before it can look random
_MIN_CLASS_CHANGES = 0.3  # random base64 changes class (upper/lower/digit) ~60% of the time


def redact(text: str) -> str:
    """``text`` with every key-shaped substring masked (for messages that echo user input)."""
    return _KEY_TEXT.sub(lambda m: m.group()[:8] + "…[masked]", text)


def _char_class(char: str) -> int:
    return 0 if char.isdigit() else 1 if char.isupper() else 2


def _random_run(run: str) -> bool:
    """Whether a run of token characters looks generated rather than written by a person."""
    if _HEX_RUN.search(run):
        return True
    classes = [_char_class(c) for c in run if c.isascii() and c.isalnum()]
    if len(classes) < _MIN_ALNUM or len(set(classes)) < 2:
        return False
    changes = sum(1 for a, b in pairwise(classes) if a != b)
    return changes >= _MIN_CLASS_CHANGES * (len(classes) - 1)


def looks_secret(text: str) -> bool:
    """Whether ``text`` may be a key, a signing secret or a token (the rule above)."""
    return bool(_KEY_TEXT.search(text)) or any(
        _random_run(m.group()) for m in _TOKEN_RUN.finditer(text)
    )


def masked(text: str) -> str:
    """What is shown instead of a value that may be a secret."""
    return f"[masked: {len(text)} characters]"


def shown_argument(text: str, limit: int = 120) -> str:
    """A command-line value (a file name, a date) for an error message: escaped, shortened,
    and replaced by :func:`masked` when it :func:`looks_secret`."""
    return masked(text) if looks_secret(text) else safe(text, limit)


def mask_secrets(text: str) -> str:
    """Free text (an error message) with key-shaped and secret-looking runs masked."""
    return _TOKEN_RUN.sub(
        lambda m: masked(m.group()) if _random_run(m.group()) else m.group(), redact(text)
    )
