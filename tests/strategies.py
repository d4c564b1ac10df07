"""Hypothesis strategies shared by several test modules (``from strategies import ...``).

Each module tunes the sizes to what it tests (a differential test wants big trees, a model
check small ones), so these are builders taking those sizes; a strategy only one module uses
stays in that module.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy


def json_scalars(
    text: SearchStrategy[str],
    *,
    integers: SearchStrategy[int] | None = None,
    allow_infinity: bool | None = None,
) -> SearchStrategy:
    """``None``, booleans, integers (any, unless ``integers`` is given), floats without NaN
    (and without infinities if ``allow_infinity=False``) and ``text``."""
    return (
        st.none()
        | st.booleans()
        | (st.integers() if integers is None else integers)
        | st.floats(allow_nan=False, allow_infinity=allow_infinity)
        | text
    )


def json_trees(
    scalars: SearchStrategy, *, keys: SearchStrategy[str], max_size: int, max_leaves: int
) -> SearchStrategy:
    """JSON-like trees of ``scalars``: lists and objects (with ``keys``) of up to ``max_size``
    items, up to ``max_leaves`` leaves in all."""
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=max_size) | st.dictionaries(keys, inner, max_size=max_size)
        ),
        max_leaves=max_leaves,
    )
