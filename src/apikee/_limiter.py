"""Dispatcher of the limiter twins: the compiled ``_limiter_c`` or the pure ``_limiter_py``.

It follows the choice of ``apikee._core`` (``APIKEE_NO_EXTENSIONS``, CPython, the extension
loading), and ``load_limiter(name)`` gives the twin of one implementation
(``Apikee(implementation=...)`` uses the limiter of its own hot path).
"""

from __future__ import annotations

from typing import Any

from ._core import IMPLEMENTATION

__all__ = ["load_limiter"]


def load_limiter(name: str | None = None) -> Any:
    """The limiter module of ``"native"``/``"pure"`` (None: the dispatched implementation's).

    ``ImportError`` when ``"native"`` is asked for and the extension cannot load.
    """
    if name is None:
        name = IMPLEMENTATION
    if name == "pure":
        from . import _limiter_py

        return _limiter_py
    if name == "native":
        from . import _limiter_c  # type: ignore[attr-defined]  # compiled: no stub

        return _limiter_c
    raise ValueError(f"implementation must be 'native', 'pure' or None, not {name!r}")
