"""Read-only views and deep copies of decoded claim values (lists, dicts, scalars).

Kept out of the hot path: claims objects hold the decoded dict and build these views only when
``meta`` or ``to_dict()`` is asked for.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

__all__ = ["freeze", "deep_copy"]

_EMPTY = MappingProxyType({})


def freeze(value: Any) -> Any:
    """A read-only deep view: dicts become mappingproxies, lists become tuples."""
    if type(value) is dict:
        if not value:
            return _EMPTY
        for item in value.values():
            if type(item) is dict or type(item) is list:
                return MappingProxyType({k: freeze(v) for k, v in value.items()})
        # Flat (the usual meta): a read-only view of the dict itself, no copy. Safe because the
        # claims object never hands out its own dicts mutable (to_dict() copies).
        return MappingProxyType(value)
    if type(value) is list:
        return tuple(freeze(v) for v in value)
    return value


def deep_copy(value: Any) -> Any:
    """A fresh, mutable deep copy of decoded JSON/MessagePack data."""
    if type(value) is dict:
        return {k: deep_copy(v) for k, v in value.items()}
    if type(value) is list:
        return [deep_copy(v) for v in value]
    return value
