"""Deep copies of decoded claim values (lists, dicts, scalars).

Kept out of the hot path: claims objects copy only when ``meta`` or ``to_dict()`` is asked for,
so that every caller gets data of its own to read or mutate.
"""

from __future__ import annotations

from typing import Any

__all__ = ["deep_copy"]


def deep_copy(value: Any) -> Any:
    """A fresh, mutable deep copy of decoded JSON/MessagePack data."""
    if type(value) is dict:
        return {k: deep_copy(v) for k, v in value.items()}
    if type(value) is list:
        return [deep_copy(v) for v in value]
    return value
