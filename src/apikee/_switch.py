"""The one place that reads ``APIKEE_NO_EXTENSIONS``, at build time (setup.py) and at run time.

Both read it the same way (a trap the aio-libs projects fell into reading it two ways): unset,
empty, ``0``, ``false``, ``no`` or ``off`` (any case) mean "use the extension"; any other value
means "pure Python only".
"""

from __future__ import annotations

import os

ENV_VAR = "APIKEE_NO_EXTENSIONS"
_FALSE = frozenset({"", "0", "false", "no", "off"})


def extensions_disabled(environ: os._Environ[str] | dict[str, str] | None = None) -> bool:
    """Whether ``APIKEE_NO_EXTENSIONS`` asks for the pure-Python implementation."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "")
    return value.strip().lower() not in _FALSE
