"""Dispatcher of the limiter twins: the compiled ``_limiter_c`` or the pure ``_limiter_py``.

It follows the choice of ``apikee._core`` (``APIKEE_NO_EXTENSIONS``, CPython, the extension
loading), and ``load_limiter(name)`` gives the twin of one implementation
(``Apikee(implementation=...)`` uses the limiter of its own hot path).
"""

from __future__ import annotations

from typing import Any

from ._core import load_twin

__all__ = ["load_limiter"]


def load_limiter(name: str | None = None) -> Any:
    """The limiter module of ``"native"``/``"pure"`` (None: the dispatched implementation's).

    ``ImportError`` when ``"native"`` is asked for and the extension cannot load.
    """
    return load_twin("_limiter", name)
