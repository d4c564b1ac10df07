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

from ._errors import ApikeeError
from ._http import KeyGuard, environ_key, environ_name, error_body, error_headers

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
    ``any_of`` (scopes every key must grant).
    """

    def _bind(self) -> None:
        self._environ_key = environ_name(self.header_name)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        body: Iterable[bytes]
        if self.rules.is_open(environ.get("PATH_INFO") or "/"):
            body = self.app(environ, start_response)
            return body
        try:
            key = environ_key(environ, self._environ_key, self.header_name, self.bearer)
            claims = self.apikee.verify(key)
            if self.scopes:
                self.apikee.check_scopes(claims, self.scopes, any_of=self.any_of)
        except ApikeeError as error:
            return self._reject(error, start_response)
        environ[ENVIRON_KEY] = claims
        body = self.app(environ, start_response)
        return body

    def _reject(self, error: ApikeeError, start_response: Callable[..., Any]) -> list[bytes]:
        body = error_body(error)
        headers = error_headers(error, self.header_name, bearer=self.bearer)
        headers.append(("content-length", str(len(body))))
        start_response(_REASONS.get(error.http_status, f"{error.http_status} Error"), headers)
        return [body]

    def __repr__(self) -> str:
        return f"ApikeeWSGIMiddleware(header_name={self.header_name!r}, rules={self.rules!r})"
