"""The one place that reads ``APIKEE_NO_EXTENSIONS`` (at build time in setup.py and at run
time) and ``APIKEE_PORTABLE_C`` (at run time: the compiled module without its CPU-specific
code, SHA-NI and SSE2, so that the portable C path is tested on this machine).

Both read it the same way (a trap the aio-libs projects fell into reading it two ways): unset,
empty, ``0``, ``false``, ``no`` or ``off`` (any case) mean "use the extension"; any other value
means "pure Python only".
"""

from __future__ import annotations

import os

ENV_VAR = "APIKEE_NO_EXTENSIONS"
_FALSE = frozenset({"", "0", "false", "no", "off"})


def _flag_set(name: str, environ: os._Environ[str] | dict[str, str] | None) -> bool:
    value = (os.environ if environ is None else environ).get(name, "")
    return value.strip().lower() not in _FALSE


def extensions_disabled(environ: os._Environ[str] | dict[str, str] | None = None) -> bool:
    """Whether ``APIKEE_NO_EXTENSIONS`` asks for the pure-Python implementation."""
    return _flag_set(ENV_VAR, environ)


PORTABLE_VAR = "APIKEE_PORTABLE_C"


def portable_c(environ: os._Environ[str] | dict[str, str] | None = None) -> bool:
    """Whether ``APIKEE_PORTABLE_C`` asks the compiled module for its portable C code only (no
    SHA-NI, no SSE2; the same values as ``APIKEE_NO_EXTENSIONS``)."""
    return _flag_set(PORTABLE_VAR, environ)
