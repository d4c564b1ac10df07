"""Dispatcher: picks the compiled hot path or its pure twin. Every other module imports this.

Pure when ``APIKEE_NO_EXTENSIONS`` is set to a true value or the interpreter is not CPython;
otherwise the compiled ``_core_c``, falling back to pure on ``ImportError`` (recorded in
``IMPORT_ERROR`` so ``apikee info`` and the tests can say why). ``IMPLEMENTATION`` reports what
actually loaded.
"""

from __future__ import annotations

import importlib
import platform
from typing import TYPE_CHECKING, Any, Literal

from ._switch import extensions_disabled

IMPORT_ERROR: str | None = None
REASON: str
IMPLEMENTATION: Literal["native", "pure"]

if TYPE_CHECKING:
    # Type checkers read the pure module: the one source of truth for the types of both.
    from ._core_py import ApikeeClaims, Verifier, b62decode, b62encode, constant_time_compare
elif extensions_disabled():
    from ._core_py import ApikeeClaims, Verifier, b62decode, b62encode, constant_time_compare

    IMPLEMENTATION, REASON = "pure", "APIKEE_NO_EXTENSIONS is set"
elif platform.python_implementation() != "CPython":
    from ._core_py import ApikeeClaims, Verifier, b62decode, b62encode, constant_time_compare

    IMPLEMENTATION, REASON = "pure", f"{platform.python_implementation()} is not CPython"
else:
    try:
        from ._core_c import ApikeeClaims, Verifier, b62decode, b62encode, constant_time_compare

        IMPLEMENTATION, REASON = "native", "compiled extension loaded"
    except ImportError as exc:
        from ._core_py import ApikeeClaims, Verifier, b62decode, b62encode, constant_time_compare

        IMPORT_ERROR = f"{type(exc).__name__}: {exc}"
        IMPLEMENTATION, REASON = "pure", f"the compiled extension did not load ({IMPORT_ERROR})"


def load_twin(stem: str, name: str | None) -> Any:
    """The ``<stem>_py`` or ``<stem>_c`` module of the implementation ``name``
    (``"native"``/``"pure"``; None: the dispatched one). ImportError when ``"native"`` is asked
    for and the extension cannot load; ValueError for any other name."""
    if name is None:
        name = IMPLEMENTATION
    if name not in ("native", "pure"):
        raise ValueError(f"implementation must be 'native', 'pure' or None, not {name!r}")
    return importlib.import_module(f"apikee.{stem}_{'c' if name == 'native' else 'py'}")


def load_backend(name: str | None) -> Any:
    """The implementation module by name (``"native"``/``"pure"``), or the dispatched one (None).

    For tests and for ``Apikee(implementation=...)``; raises ImportError when ``"native"`` is
    asked for and the extension cannot load.
    """
    return load_twin("_core", name)


__all__ = [
    "load_backend",
    "IMPLEMENTATION",
    "REASON",
    "IMPORT_ERROR",
    "ApikeeClaims",
    "Verifier",
    "b62decode",
    "b62encode",
    "constant_time_compare",
]
