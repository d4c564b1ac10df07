"""The header rule every integration (and ``Apikee.protect``) applies to a key's header value.

Kept apart from ``_http.py`` (which imports the ``Apikee`` class) so that ``_apikee.py`` can use
it too.
"""

from __future__ import annotations

from typing import Any

__all__ = ["first_value"]


def first_value(value: Any) -> Any:
    """The value a header counts for: its first non-empty comma-separated element, without the
    optional whitespace (spaces, tabs) around it (RFC 9110 sections 5.5 and 5.6); None if empty.

    One rule on every server: a header sent twice arrives as two ASGI headers (the first
    non-empty one counts) or as one WSGI value joined with commas (its first element counts),
    and a key never contains a comma. ``" k "`` -> ``"k"``, ``"k1, k2"`` -> ``"k1"``,
    ``", k2"`` -> ``"k2"``. Works on str and bytes alike.
    """
    if value is None:
        return None
    comma, space = (b",", b" \t") if isinstance(value, bytes) else (",", " \t")
    value = value.strip(space)
    if comma in value:
        for part in value.split(comma):
            part = part.strip(space)
            if part:
                return part
        return None
    return value or None
