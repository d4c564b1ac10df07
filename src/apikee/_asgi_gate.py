"""The per-request key check of the ASGI middleware, pure Python: the twin of ``_asgi_c.pxi``.

``apikee.asgi.ApikeeMiddleware`` binds one :class:`AsgiGate` and calls its ``check(scope)``
on every request: everything between the ASGI scope and the app (connection type, open paths,
the header scan, the bearer token, verify, then the scopes and policy step the middleware
supplies, and the claims stored in the scope) in one call. The compiled twin does the same in C,
so the middleware's own cost per request is one call and one ``await``; both are held to the
same results and exceptions by tests/test_asgi_gate.py.
"""

from __future__ import annotations

from typing import Any, Callable, MutableMapping

from ._claims_py import has_policy_claims
from ._header import bearer_token, route_path, scan_headers

__all__ = ["AsgiGate"]


class AsgiGate:
    """The per-request key check of :class:`apikee.asgi.ApikeeMiddleware`, bound once.

    ``AsgiGate(header, exact, prefix_open, bearer, verify, after, always)``: ``header`` is the
    key header's name (lower-case bytes); ``exact`` the open paths (a frozenset);
    ``prefix_open`` None or a callable telling whether a path is open by prefix; ``bearer``:
    also read ``Authorization: Bearer``; ``verify(key)`` returns the claims;
    ``after(claims, scope, path)`` is the scopes and policy step (it returns extra response
    headers or None, and raises ApikeeError to refuse), called when ``always`` is true or the
    claims carry a policy claim.
    """

    __slots__ = ("_header", "_exact", "_prefix_open", "_bearer", "_verify", "_after", "_always")

    def __init__(
        self,
        header: bytes,
        exact: frozenset[str],
        prefix_open: Callable[[str], bool] | None,
        bearer: bool,
        verify: Callable[[Any], Any],
        after: Callable[[Any, MutableMapping[str, Any], str], Any],
        always: bool,
    ) -> None:
        if type(header) is not bytes or type(exact) is not frozenset:
            raise TypeError("header must be bytes and exact a frozenset")
        self._header = header
        self._exact = exact
        self._prefix_open = prefix_open
        self._bearer = bool(bearer)
        self._verify = verify
        self._after = after
        self._always = bool(always)

    def check(self, scope: MutableMapping[str, Any]) -> Any:
        """One request: None when it needs no key (not http/websocket, or an open path), False
        when it carries none, else its verified claims (also stored in
        ``scope["state"]["apikee"]`` and ``scope["apikee"]``), or ``(claims, headers)`` when
        the ``after`` step added response headers; an ApikeeError when the key is refused."""
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            return None
        path = scope["path"]
        if scope.get("root_path"):
            path = route_path(scope)
        if path in self._exact or (self._prefix_open is not None and self._prefix_open(path)):
            return None
        key, authorization = scan_headers(scope["headers"], self._header)
        if key is None:
            if authorization is None or not self._bearer:
                return False
            key = bearer_token(authorization)
            if key is None:
                return False
        claims = self._verify(key)
        extra = None
        if self._always or has_policy_claims(claims):
            extra = self._after(claims, scope, path)
        state = scope.get("state")
        if state is None:
            scope["state"] = state = {}
        state["apikee"] = claims
        scope["apikee"] = claims
        return claims if extra is None else (claims, extra)
