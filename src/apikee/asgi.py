"""Pure ASGI middleware for Starlette, FastAPI and any ASGI app.

    from apikee import Apikee
    from apikee.asgi import ApikeeMiddleware

    app.add_middleware(ApikeeMiddleware, apikee=Apikee(), exclude_paths=["/health"])
    # or, as in apikee 0.1.2:  app.add_middleware(Apikee().middleware)

It is a plain ASGI callable, not Starlette's ``BaseHTTPMiddleware`` (which costs tens of
microseconds per request and breaks streaming responses): the key is read from the raw header
bytes of the ASGI scope and verified as bytes, and failures are answered with prebuilt ASGI
messages. This module imports no web framework; the HTTP helpers every integration shares
(``error_body``, ``PathRules``, ...) live in ``apikee._http`` and are re-exported here.

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

from typing import TYPE_CHECKING, Any, Awaitable, Callable, MutableMapping

from ._core import IMPLEMENTATION, load_backend
from ._errors import MSG_IP_NOT_ALLOWED, ApikeeError, ErrorCode, RateLimitExceeded
from ._http import (
    KeyGuard,
    PathRules,
    bearer_token,
    checked_header_name,
    error_body,
    error_headers,
    missing_key_error,
    required_scopes,
    route_path,
    www_authenticate,
)
from ._policy import rate_headers

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
Prebuilt = tuple[
    int, list[tuple[bytes, bytes]], bytes
]  # (status, raw headers, body): see ApikeeMiddleware._response

_CACHE_LIMIT = 256  # distinct (code, message) error responses kept prebuilt per middleware

# On the native core the middleware's __call__ is in C (apikee._core_c.AsgiEntry, in
# _asgi_c.pxi): the steps of ApikeeMiddleware._call without a Python coroutine frame.
_native: Any = load_backend("native") if IMPLEMENTATION == "native" else None
if TYPE_CHECKING:  # for type checkers the middleware is the pure class, __call__ = _call
    _Entry = object
else:
    _Entry = _native.AsgiEntry if _native is not None else object


def _adding_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    """``send`` that adds ``extra`` headers to the response start message."""

    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = dict(message)
            message["headers"] = [*message.get("headers", ()), *extra]
        await send(message)

    return sender


class ApikeeMiddleware(KeyGuard, _Entry):
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
    - ``costs``: ``{path: cost}``, the weight of one request on that exact path against the
      key's rate limits (default 1; 0 counts nothing).
    - ``metrics_path`` (default None: off): the one path answered, without a key, with the
      Prometheus text of ``metrics_registry`` (default: only this Apikee's usage counters;
      needs ``Apikee(usage=True)`` and ``prometheus_client``). Serve it on an internal port.

    Policies (docs/SPEC.md section 8): a key with an allow list is refused from any other
    address with 403 ``IP_NOT_ALLOWED`` (the client is ``scope["client"]``, or what a trusted
    proxy forwards: ``Apikee(trusted_proxies=...)``); a key with rate limits (its own, its
    tenant's or the Apikee's default) is counted, refused with 429 ``RATE_LIMITED`` and
    ``Retry-After``, and every answer on it carries ``RateLimit-Policy`` and ``RateLimit``.

    On success the claims are at ``request.state.apikee`` (``scope["state"]["apikee"]``) and
    ``scope["apikee"]``.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if _native is not None:  # a subclass keeping the C __call__ is called like this class
            _native.enable_vectorcall(cls)

    def _bind(self) -> None:
        # Hot-path constants, bound once (the options were checked by KeyGuard.__init__).
        self._header = self.header_name.encode("latin-1")
        self._exact = self.rules.exact
        self._prefixed = bool(self.rules.prefixes)
        self._entry = self.apikee.policy
        self._check = self.apikee._limiter.check
        self._trusted = self.apikee._trusted is not None
        self._usage = self.apikee.usage
        self._responses: dict[tuple[str, str], Prebuilt] = {}
        missing = missing_key_error(self.header_name, bearer=self.bearer)
        self._missing = self._response(missing)
        # Everything from the scope to the verified claims, in one call (compiled on the
        # native core): apikee._asgi_gate.AsgiGate. It calls _after only when this middleware
        # requires scopes, the Apikee has limits of its own, or the key has policy claims.
        gate = self.apikee._asgi_gate(
            self._header,
            frozenset(self._exact),
            self.rules.is_open if self._prefixed else None,
            self.bearer,
            self.apikee.verify,  # the verifier's own method (see Apikee.__init__)
            self._after,
            bool(self.scopes) or self.apikee._policy_for_all,
        )
        self._gate = gate.check
        if _Entry is not object:
            _native.AsgiEntry._use_gate(self, gate)  # the C __call__ runs it itself, else _call
            if type(self).__call__ is _Entry.__call__:  # not a subclass's own __call__
                # What asyncio.iscoroutinefunction(mw.__call__) sees (ASGI servers and
                # Starlette's TestClient tell ASGI 3 apps so): the pure entry point, same
                # behaviour. Calling the instance itself uses the type's C __call__.
                vars(self)["__call__"] = self._call

    # ASGI entry point, for http and websocket alike. It is the hot path: one call to the gate,
    # then the app (see _bind). On the native core AsgiEntry.__call__ (_asgi_c.pxi) is its twin.
    async def _call(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            found = self._gate(scope)
        except ApikeeError as error:
            return await self._reject(self._response(error), scope, receive, send)
        if found is None:  # lifespan and future types, open paths, the metrics path
            await self._open(scope, receive, send)
            return
        if found is False:
            return await self._no_key(scope, receive, send)
        if type(found) is tuple:
            send = self._with_headers(send, found[1])
        try:
            await self.app(scope, receive, send)
        except ApikeeError as error:
            await self._refused(error, scope, receive, send)

    if _Entry is object:
        __call__ = _call

    # The steps off the usual path, shared by _call and its compiled twin (AsgiEntry, AsgiCall).

    async def _no_key(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A request without a key."""
        if self._usage is not None:
            self._usage.missing()
        await self._reject(self._missing, scope, receive, send)

    async def _refused(
        self, error: BaseException, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """The app raised ``error``. An ApikeeError raised before it answered (a require_scope
        dependency, a handler) is answered like our own failures, on http; if the response had
        already started, the server refuses a second start message and the app's error then
        propagates. Anything else propagates as it is."""
        if not isinstance(error, ApikeeError) or scope["type"] == "websocket":
            raise error
        try:
            await self._reject(self._response(error), scope, receive, send)
        except Exception:
            raise error from None

    _with_headers = staticmethod(_adding_headers)

    async def _open(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A request that needs no key: the metrics path is answered here, the rest goes on."""
        if self.metrics_path is not None and scope["type"] == "http":
            path = route_path(scope) if scope.get("root_path") else scope["path"]
            if path == self.metrics_path:
                await self._serve_metrics(send)
                return
        await self.app(scope, receive, send)

    def _after(self, claims: Any, scope: Scope, path: str) -> list[tuple[bytes, bytes]] | None:
        """The gate's last step for a verified key: the required scopes, then its policy
        (allow list, limits); the extra response headers, or None. A refusal is counted."""
        try:
            if self.scopes:
                self.apikee.check_scopes(claims, self.scopes, any_of=self.any_of)
            entry = self._entry(claims)
            if entry is None:
                return None
            return self._admit(entry, scope, path)
        except ApikeeError as error:
            if self._usage is not None:
                self._usage.refused(error.code, claims)  # counted VALID, then refused
            raise

    async def _serve_metrics(self, send: Send) -> None:
        """The Prometheus text of ``metrics_registry`` (asked for with ``metrics_path``)."""
        from .metrics import prometheus_text

        body, content_type = prometheus_text(self.metrics_registry)
        headers = [
            (b"content-type", content_type.encode("latin-1")),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _admit(self, entry: Any, scope: Scope, path: str) -> list[tuple[bytes, bytes]] | None:
        """The allow list and the limits of a key that has a policy: raises IP_NOT_ALLOWED or
        RateLimitExceeded; the headers of an admitted request (None without limits)."""
        if entry.ips is not None and not entry.ips.allows(self._client(scope)):
            raise ApikeeError(ErrorCode.IP_NOT_ALLOWED, MSG_IP_NOT_ALLOWED)
        if entry.plan is None:
            return None
        decision = self._check(entry.bucket, entry.plan, self.costs.get(path, 1), None)
        if not decision.allowed:
            raise RateLimitExceeded(decision)
        return [(n.encode("latin-1"), v.encode("latin-1")) for n, v in rate_headers(decision)]

    def _client(self, scope: Scope) -> str | None:
        client = scope.get("client")
        peer = client[0] if client else None
        if not self._trusted:
            return peer
        forwarded_for, forwarded = [], []
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded_for.append(value.decode("latin-1"))
            elif name == b"forwarded":
                forwarded.append(value.decode("latin-1"))
        return self.apikee.client_ip(peer, forwarded_for, forwarded)

    def _response(self, error: ApikeeError) -> Prebuilt:
        """Prebuilt ``(status, raw headers, body)`` for an error, cached by code and message
        (except ``RATE_LIMITED``, whose headers are the decision's)."""
        if isinstance(error, RateLimitExceeded):
            return self._build(error)
        cache_key = (error.code, error.message)
        cached = self._responses.get(cache_key)
        if cached is not None:
            return cached
        response = self._build(error)
        if len(self._responses) >= _CACHE_LIMIT:  # messages are a small fixed set; stay bounded
            self._responses.clear()
        self._responses[cache_key] = response
        return response

    def _build(self, error: ApikeeError) -> Prebuilt:
        body = error_body(error)
        headers = [(b"content-length", str(len(body)).encode("ascii"))]
        for name, value in error_headers(error, self.header_name, bearer=self.bearer):
            headers.append((name.encode("latin-1"), value.encode("latin-1")))
        return (error.http_status, headers, body)

    async def _reject(self, response: Prebuilt, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a failure: the response itself on http; on a websocket the same response when
        the server can send one, else a close before accept."""
        status, headers, body = response
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
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


if _native is not None:  # instances called with vectorcall: no argument tuple per request
    _native.enable_vectorcall(ApikeeMiddleware)
