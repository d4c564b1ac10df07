"""Plain WSGI middleware: any WSGI app (Flask, Django, Bottle, Falcon…) behind an API key.

    from apikee import Apikee
    from apikee.wsgi import ApikeeWSGIMiddleware

    app.wsgi_app = ApikeeWSGIMiddleware(app.wsgi_app, apikee=Apikee(), exclude_paths=["/health"])

The claims of an accepted request are at ``environ["apikee.claims"]``. Failures are answered
401 (403 for ``INSUFFICIENT_SCOPE``) with ``{"error": CODE, "message": ...}`` and a
``WWW-Authenticate`` header, without calling the app. Paths are matched against ``PATH_INFO``,
i.e. relative to where the app is mounted. No framework is imported.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ._errors import MSG_IP_NOT_ALLOWED, ApikeeError, ErrorCode, RateLimitExceeded
from ._http import KeyGuard, environ_key, environ_name, error_body, error_headers
from ._policy import rate_headers

__all__ = ["ApikeeWSGIMiddleware", "ENVIRON_KEY"]

ENVIRON_KEY = "apikee.claims"
_REASONS = {
    401: "401 Unauthorized",
    403: "403 Forbidden",
    429: "429 Too Many Requests",
    503: "503 Service Unavailable",
}


class ApikeeWSGIMiddleware(KeyGuard):
    """WSGI middleware requiring a valid apikee key on every request.

    Options as :class:`apikee.asgi.ApikeeMiddleware`: ``apikee`` (default
    :func:`~apikee.get_apikee`, i.e. ``APIKEE_SECRET``), ``header_name`` (default
    ``apikee.header_name``), ``bearer`` (also accept ``Authorization: Bearer <key>``, default
    True), ``exclude_paths`` (exact), ``exclude_prefixes`` (segment-wise), ``scopes`` /
    ``any_of`` (scopes every key must grant), ``costs`` (``{path: cost}`` against the key's
    rate limits). Allow lists (403 ``IP_NOT_ALLOWED``; the client is ``REMOTE_ADDR``, or what
    a trusted proxy forwards) and rate limits (429 ``RATE_LIMITED``; ``RateLimit-Policy`` and
    ``RateLimit`` on every answer) as in :class:`apikee.asgi.ApikeeMiddleware`; so is
    ``metrics_path`` (off by default), the opt-in Prometheus text.
    """

    def _bind(self) -> None:
        self._environ_key = environ_name(self.header_name)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        body: Iterable[bytes]
        path = environ.get("PATH_INFO") or "/"
        if self.rules.is_open(path):
            if path == self.metrics_path:
                return self._serve_metrics(start_response)
            body = self.app(environ, start_response)
            return body
        claims = None
        try:
            key = environ_key(environ, self._environ_key, self.header_name, self.bearer)
            claims = self.apikee.verify(key)
            if self.scopes:
                self.apikee.check_scopes(claims, self.scopes, any_of=self.any_of)
            extra = environ_admit(self.apikee, claims, environ, self.costs)
        except ApikeeError as error:
            usage = self.apikee.usage
            if usage is not None:
                if claims is not None:
                    usage.refused(error.code, claims)  # counted VALID, then refused
                elif error.code == ErrorCode.MISSING_KEY:
                    usage.missing()  # verify never saw it
            return self._reject(error, start_response)
        environ[ENVIRON_KEY] = claims
        if extra:
            start_response = _adding_headers(start_response, extra)
        body = self.app(environ, start_response)
        return body

    def _serve_metrics(self, start_response: Callable[..., Any]) -> list[bytes]:
        from .metrics import prometheus_text

        body, content_type = prometheus_text(self.metrics_registry)
        headers = [
            ("content-type", content_type),
            ("content-length", str(len(body))),
            ("cache-control", "no-store"),
        ]
        start_response("200 OK", headers)
        return [body]

    def _reject(self, error: ApikeeError, start_response: Callable[..., Any]) -> list[bytes]:
        body = error_body(error)
        headers = error_headers(error, self.header_name, bearer=self.bearer)
        headers.append(("content-length", str(len(body))))
        start_response(_REASONS.get(error.http_status, f"{error.http_status} Error"), headers)
        return [body]

    def __repr__(self) -> str:
        return f"ApikeeWSGIMiddleware(header_name={self.header_name!r}, rules={self.rules!r})"


def environ_client(apikee: Any, environ: dict[str, Any]) -> str | None:
    """The client address of a WSGI request: ``REMOTE_ADDR``, or what a trusted proxy
    forwards (``Apikee(trusted_proxies=...)``)."""
    peer = environ.get("REMOTE_ADDR") or None
    if not apikee.trusted_proxies:
        return peer
    forwarded_for = environ.get("HTTP_X_FORWARDED_FOR")
    forwarded = environ.get("HTTP_FORWARDED")
    return apikee.client_ip(  # type: ignore[no-any-return]
        peer,
        [forwarded_for] if forwarded_for else [],
        [forwarded] if forwarded else [],
    )


def environ_admit(
    apikee: Any, claims: Any, environ: dict[str, Any], costs: dict[str, int]
) -> list[tuple[str, str]] | None:
    """The allow list and rate limits of a WSGI request's key (raises IP_NOT_ALLOWED or
    RateLimitExceeded); the rate headers of an admitted request, None without limits."""
    entry = apikee.policy(claims)
    if entry is None:
        return None
    if entry.ips is not None and not entry.ips.allows(environ_client(apikee, environ)):
        raise ApikeeError(ErrorCode.IP_NOT_ALLOWED, MSG_IP_NOT_ALLOWED)
    if entry.plan is None:
        return None
    cost = costs.get(environ.get("PATH_INFO") or "/", 1)
    decision = apikee._limiter.check(entry.bucket, entry.plan, cost, None)
    if not decision.allowed:
        raise RateLimitExceeded(decision)
    return rate_headers(decision)


def _adding_headers(
    start_response: Callable[..., Any], extra: list[tuple[str, str]]
) -> Callable[..., Any]:
    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return start_response(status, [*headers, *extra], exc_info)

    return start
