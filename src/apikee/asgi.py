"""Pure ASGI middleware for Starlette, FastAPI and any ASGI app, plus the HTTP error helpers
every integration shares.

    from apikee import Apikee
    from apikee.asgi import ApikeeMiddleware

    app.add_middleware(ApikeeMiddleware, apikee=Apikee(), exclude_paths=["/health"])
    # or, as in apikee 0.1.2:  app.add_middleware(Apikee().middleware)

It is a plain ASGI callable, not Starlette's ``BaseHTTPMiddleware`` (which costs tens of
microseconds per request and breaks streaming responses): the key is read from the raw header
bytes of the ASGI scope and verified as bytes, and failures are answered with prebuilt ASGI
messages. This module imports no web framework.

What it does per connection type:

- ``http``: verifies the key from the configured header (default ``x-api-key``) or, with
  ``bearer=True`` (the default), from ``Authorization: Bearer <key>`` when that header is absent.
  On success the claims are stored in ``scope["state"]["apikee"]`` (Starlette's
  ``request.state.apikee``) and ``scope["apikee"]``. On failure it answers 401 (403 for
  ``INSUFFICIENT_SCOPE``) with the JSON body ``{"error": CODE, "message": ...}`` and a
  ``WWW-Authenticate`` header; the app is not called. An :class:`~apikee.ApikeeError` raised by
  the app itself before it starts its response (e.g. by ``apikee.fastapi.require_scope``) is
  answered the same way.
- ``websocket``: authenticated the same way (browsers cannot set custom headers on a WebSocket,
  so non-browser clients or an excluded path are the options there). A rejected handshake gets
  the same 401/403 JSON response when the server supports the ``websocket.http.response``
  extension (uvicorn, Starlette's TestClient), otherwise a ``websocket.close`` before accept,
  which the server turns into an HTTP 403 (ASGI spec).
- ``lifespan`` and anything else: passed through untouched.
"""

from __future__ import annotations

import json
import re
from typing import Any, Awaitable, Callable, Iterable, MutableMapping

from ._apikee import Apikee, ApikeeConfigError, get_apikee
from ._errors import ApikeeError, ErrorCode

__all__ = [
    "ApikeeMiddleware",
    "PathRules",
    "error_body",
    "error_headers",
    "missing_key_error",
    "www_authenticate",
    "bearer_token",
    "checked_header_name",
    "required_scopes",
    "route_path",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REALM = "apikee"
_CACHE_LIMIT = 256  # distinct (code, message) error responses kept prebuilt per middleware


# ── helpers shared by every integration (ASGI, FastAPI, Flask, WSGI) ───────────────────────


def error_body(error: ApikeeError) -> bytes:
    """The JSON body of a failure: ``{"error": CODE, "message": ...}`` as UTF-8 bytes."""
    return json.dumps(error.to_dict(), separators=(",", ":")).encode("utf-8")


def www_authenticate(
    header_name: str, *, bearer: bool = True, code: str | None = None
) -> list[str]:
    """The ``WWW-Authenticate`` challenge(s) for a failure (one header value per scheme).

    ``ApiKey realm="apikee", header="x-api-key"`` names the header to send the key in; the error
    code is added when a key was given but rejected (as RFC 6750 does for Bearer tokens). With
    ``bearer`` a ``Bearer realm="apikee"`` challenge follows, since that form is accepted too.
    """
    challenge = f'ApiKey realm="{REALM}", header="{header_name}"'
    if code is not None and code != ErrorCode.MISSING_KEY:
        challenge += f', error="{code}"'
    values = [challenge]
    if bearer:
        values.append(f'Bearer realm="{REALM}"')
    return values


def error_headers(
    error: ApikeeError, header_name: str, *, bearer: bool = True
) -> list[tuple[str, str]]:
    """Response headers for a failure (without Content-Length): JSON, no-store, challenge(s)."""
    headers = [("content-type", "application/json"), ("cache-control", "no-store")]
    for value in www_authenticate(header_name, bearer=bearer, code=error.code):
        headers.append(("www-authenticate", value))
    return headers


def missing_key_error(header_name: str, *, bearer: bool = True) -> ApikeeError:
    """The ``MISSING_KEY`` error naming where the key is expected."""
    where = f"the '{header_name}' header is required"
    if bearer:
        where += " (or 'Authorization: Bearer <key>')"
    return ApikeeError(ErrorCode.MISSING_KEY, where)


def bearer_token(value: Any) -> Any:
    """The token of an ``Authorization: Bearer <token>`` value (str or bytes), else None.

    The scheme name is case-insensitive (RFC 9110); any other scheme (Basic…) gives None, so the
    request counts as carrying no key.
    """
    if value is None or len(value) < 8:
        return None
    if value[:7].lower() not in (b"bearer ", "bearer "):
        return None
    return value[7:].strip() or None


def _paths(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        # A lone string would otherwise be read character by character ("/" would open all).
        raise ApikeeConfigError(f"{what} must be a list of paths, not a single string: [{value!r}]")
    try:
        paths = list(value)
    except TypeError:
        raise ApikeeConfigError(f"{what} must be a list of paths") from None
    for path in paths:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ApikeeConfigError(
                f"every entry of {what} must be a string starting with '/': {path!r}"
            )
    return paths


def _has_dot_segment(path: str) -> bool:
    return any(segment in (".", "..") for segment in path.split("/"))


class PathRules:
    """Which request paths skip authentication.

    ``exact`` paths match exactly (``"/health"`` does not open ``"/health/"``). A prefix opens
    itself and everything below it, segment-wise: ``"/static"`` opens ``"/static"`` and
    ``"/static/app.js"`` but not ``"/static-admin"``; a prefix ending in ``/`` opens only what is
    below it. A path containing a ``.`` or ``..`` segment is never opened by a prefix, so
    ``"/static/../admin"`` cannot ride on an open prefix.
    """

    __slots__ = ("exact", "prefixes")

    def __init__(
        self, exact: Iterable[str] | None = (), prefixes: Iterable[str] | None = ()
    ) -> None:
        opened = set(_paths(exact, "exclude_paths"))
        below: list[str] = []
        for prefix in _paths(prefixes, "exclude_prefixes"):
            if prefix.endswith("/"):
                below.append(prefix)
            else:
                opened.add(prefix)
                below.append(prefix + "/")
        self.exact = frozenset(opened)
        self.prefixes = tuple(below)

    def is_open(self, path: str) -> bool:
        """Whether ``path`` is excluded from authentication."""
        if path in self.exact:
            return True
        return bool(self.prefixes) and path.startswith(self.prefixes) and not _has_dot_segment(path)

    def __bool__(self) -> bool:
        return bool(self.exact or self.prefixes)

    def __repr__(self) -> str:
        return f"PathRules(exact={sorted(self.exact)!r}, prefixes={list(self.prefixes)!r})"


def route_path(scope: Scope) -> str:
    """The request path relative to the app's mount point, as routes see it.

    ASGI servers (uvicorn ``--root-path``) and Starlette's ``Mount`` put the full path in
    ``scope["path"]`` and the mount point in ``scope["root_path"]``; exclusions are written
    like routes, so they are matched against the part below the mount point (as Starlette's
    router does, and as ``PATH_INFO`` is in WSGI).
    """
    path = scope["path"]
    root = scope.get("root_path") or ""
    if root and path.startswith(root):
        if len(path) == len(root):
            return "/"
        if path[len(root)] == "/":
            return path[len(root) :]
    return path


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP field name (RFC 9110 token)


def checked_header_name(name: Any) -> str:
    """``name`` lower-cased, or ApikeeConfigError unless it is a valid HTTP header name."""
    if not isinstance(name, str) or not _TOKEN.fullmatch(name.strip()):
        raise ApikeeConfigError(
            f"header_name must be an HTTP header name like 'x-api-key': {name!r}"
        )
    return name.strip().lower()


def required_scopes(scopes: Any) -> tuple[str, ...]:
    """Validate a list of required scopes (a lone string is one scope)."""
    if scopes is None:
        return ()
    if isinstance(scopes, str):
        scopes = (scopes,)
    scopes = tuple(scopes)
    for scope in scopes:
        if not isinstance(scope, str) or not scope:
            raise ApikeeConfigError(f"every required scope must be a non-empty string: {scope!r}")
    return scopes


def _verify_function(apikee: Apikee) -> Callable[[Any], Any]:
    """The cheapest call equivalent to ``apikee.verify(key)`` (see ``Apikee.verify_function``)."""
    return apikee.verify_function()


# ── the middleware ─────────────────────────────────────────────────────────────────────────


class ApikeeMiddleware:
    """Pure ASGI middleware that requires a valid apikee key on every request.

    Options (all keyword-only):

    - ``apikee``: the :class:`~apikee.Apikee` that verifies; default :func:`~apikee.get_apikee`
      (built from ``APIKEE_SECRET``; a missing secret fails here, at startup, not per request).
    - ``header_name``: header carrying the key; default ``apikee.header_name`` (``x-api-key``).
    - ``bearer``: also accept ``Authorization: Bearer <key>`` when the header is absent
      (default True).
    - ``exclude_paths``: exact paths that need no key (none by default).
    - ``exclude_prefixes``: path prefixes that need no key, segment-wise (see :class:`PathRules`).
    - ``scopes`` / ``any_of``: scopes every request's key must grant (all of them by default,
      any one with ``any_of=True``); a lacking key gets 403 ``INSUFFICIENT_SCOPE``.

    On success the claims are at ``request.state.apikee`` (``scope["state"]["apikee"]``) and
    ``scope["apikee"]``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        apikee: Apikee | None = None,
        header_name: str | None = None,
        bearer: bool = True,
        exclude_paths: Iterable[str] | None = (),
        exclude_prefixes: Iterable[str] | None = (),
        scopes: Iterable[str] | None = (),
        any_of: bool = False,
    ) -> None:
        if apikee is None:
            apikee = get_apikee()
        if not isinstance(apikee, Apikee):
            raise ApikeeConfigError(
                f"apikee must be an Apikee instance, not {type(apikee).__name__}"
            )
        self.app = app
        self.apikee = apikee
        self.header_name = checked_header_name(
            apikee.header_name if header_name is None else header_name
        )
        self.bearer = bool(bearer)
        self.rules = PathRules(exclude_paths, exclude_prefixes)
        self.scopes = required_scopes(scopes)
        self.any_of = bool(any_of)
        # Hot-path constants, bound once.
        self._header = self.header_name.encode("latin-1")
        self._exact = self.rules.exact
        self._prefixed = bool(self.rules.prefixes)
        self._verify = _verify_function(apikee)
        self._responses: dict[tuple[str, str], tuple[int, list, bytes]] = {}
        missing = missing_key_error(self.header_name, bearer=self.bearer)
        self._missing = self._response(missing)

    # ASGI entry point. The http branch is the hot path: kept flat on purpose (the header scan
    # and the verify call are inlined rather than shared with _authenticate, one Python frame
    # less per request).
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                return await self._websocket(scope, receive, send)
            return await self.app(scope, receive, send)  # lifespan and future types
        path = scope["path"]
        if scope.get("root_path"):
            path = route_path(scope)
        if path in self._exact or (self._prefixed and self.rules.is_open(path)):
            return await self.app(scope, receive, send)
        key = None
        authorization = None
        header = self._header
        for name, value in scope["headers"]:
            if name == header:
                if value:
                    key = value
                    break
            elif name == b"authorization":
                authorization = value
        if key is None and authorization is not None and self.bearer:
            key = bearer_token(authorization)
        if key is None:
            return await self._send_response(self._missing, send)
        try:
            claims = self._verify(key)
            if self.scopes:
                self.apikee.check_scopes(claims, self.scopes, any_of=self.any_of)
        except ApikeeError as error:
            return await self._send_response(self._response(error), send)
        state = scope.get("state")
        if state is None:
            scope["state"] = state = {}
        state["apikee"] = claims
        scope["apikee"] = claims
        try:
            await self.app(scope, receive, send)
        except ApikeeError as error:
            # Raised by the app before it answered (a require_scope dependency, a handler):
            # answer it like our own failures. If the response had already started, the
            # server refuses a second start message; the original error then propagates.
            try:
                await self._send_response(self._response(error), send)
            except Exception:
                raise error from None

    def _authenticate(self, scope: Scope) -> tuple[Any, tuple[int, list, bytes] | None]:
        """``(claims, None)``, or ``(None, prebuilt failure response)`` (the websocket path)."""
        key = None
        authorization = None
        header = self._header
        for name, value in scope["headers"]:
            if name == header:
                if value:
                    key = value
                    break
            elif name == b"authorization":
                authorization = value
        if key is None and authorization is not None and self.bearer:
            key = bearer_token(authorization)
        if key is None:
            return None, self._missing
        try:
            claims = self._verify(key)
            if self.scopes:
                self.apikee.check_scopes(claims, self.scopes, any_of=self.any_of)
        except ApikeeError as error:
            return None, self._response(error)
        return claims, None

    def _response(self, error: ApikeeError) -> tuple[int, list, bytes]:
        """Prebuilt ``(status, raw headers, body)`` for an error, cached by code and message."""
        cache_key = (error.code, error.message)
        cached = self._responses.get(cache_key)
        if cached is not None:
            return cached
        body = error_body(error)
        headers = [(b"content-length", str(len(body)).encode("ascii"))]
        for name, value in error_headers(error, self.header_name, bearer=self.bearer):
            headers.append((name.encode("latin-1"), value.encode("latin-1")))
        response = (error.http_status, headers, body)
        if len(self._responses) >= _CACHE_LIMIT:  # messages are a small fixed set; stay bounded
            self._responses.clear()
        self._responses[cache_key] = response
        return response

    @staticmethod
    async def _send_response(response: tuple[int, list, bytes], send: Send) -> None:
        status, headers, body = response
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.rules.is_open(route_path(scope)):
            return await self.app(scope, receive, send)
        claims, failure = self._authenticate(scope)
        if failure is None:
            state = scope.get("state")
            if state is None:
                scope["state"] = state = {}
            state["apikee"] = claims
            scope["apikee"] = claims
            return await self.app(scope, receive, send)
        status, headers, body = failure
        await receive()  # the websocket.connect message comes first (ASGI spec)
        if "websocket.http.response" in (scope.get("extensions") or {}):
            await send(
                {"type": "websocket.http.response.start", "status": status, "headers": headers}
            )
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            # Close before accept: the server answers the handshake with HTTP 403.
            await send({"type": "websocket.close", "code": 1008, "reason": ""})

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(header_name={self.header_name!r}, bearer={self.bearer}, "
            f"rules={self.rules!r}, scopes={list(self.scopes)!r})"
        )
