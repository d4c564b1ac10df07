"""Where a request carries its key: the header rule every integration (and ``Apikee.protect``)
applies to a key's header value, the ASGI header scan, the bearer token, the route path.

Kept apart from ``_http.py`` (which imports the ``Apikee`` class) so that ``_apikee.py`` and the
hot-path twins (the ASGI request gate) can use it too.
"""

from __future__ import annotations

from typing import Any, MutableMapping

__all__ = ["bearer_token", "first_value", "route_path", "scan_headers"]


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


def scan_headers(headers: Any, name: bytes) -> tuple[Any, Any]:
    """One pass over ASGI ``headers`` (an iterable of ``(name, value)`` byte pairs):
    ``(key, authorization)``. ``key``: the :func:`first_value` of the first header ``name``
    that has one (the scan stops there); ``authorization``: the raw value of the first
    ``authorization`` header before it that is not blank, else None. Names compare exactly
    (ASGI servers send them lower-cased)."""
    key = None
    authorization = None
    for item_name, value in headers:
        if item_name == name:
            value = first_value(value)
            if value:
                return value, authorization
        elif item_name == b"authorization" and authorization is None:
            if value.strip(b" \t"):  # the first non-empty one counts, as for the key
                authorization = value
    return key, authorization


def bearer_token(value: Any) -> Any:
    """The token of an ``Authorization: Bearer <token>`` value (str or bytes), else None.

    The scheme name is case-insensitive (RFC 9110); any other scheme (Basic…) gives None, so the
    request counts as carrying no key.
    """
    value = first_value(value)
    if value is None or len(value) < 8:
        return None
    if value[:7].lower() not in (b"bearer ", "bearer "):
        return None
    return first_value(value[7:])


def route_path(scope: MutableMapping[str, Any]) -> str:
    """The request path relative to the app's mount point, as routes see it.

    ASGI servers (uvicorn ``--root-path``) and Starlette's ``Mount`` put the full path in
    ``scope["path"]`` and the mount point in ``scope["root_path"]``; exclusions are written
    like routes, so they are matched against the part below the mount point (as Starlette's
    router does, and as ``PATH_INFO`` is in WSGI).
    """
    path: str = scope["path"]
    root: str = scope.get("root_path") or ""
    if root and path.startswith(root):
        if len(path) == len(root):
            return "/"
        if path[len(root)] == "/":
            return path[len(root) :]
    return path
