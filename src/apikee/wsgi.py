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

from ._apikee import Apikee, ApikeeConfigError, get_apikee
from ._errors import ApikeeError
from .asgi import (
    PathRules,
    bearer_token,
    checked_header_name,
    error_body,
    error_headers,
    missing_key_error,
    required_scopes,
)

__all__ = ["ApikeeWSGIMiddleware", "ENVIRON_KEY"]

ENVIRON_KEY = "apikee.claims"
_REASONS = {401: "401 Unauthorized", 403: "403 Forbidden"}


class ApikeeWSGIMiddleware:
    """WSGI middleware requiring a valid apikee key on every request.

    Options as :class:`apikee.asgi.ApikeeMiddleware`: ``apikee`` (default
    :func:`~apikee.get_apikee`, i.e. ``APIKEE_SECRET``), ``header_name`` (default
    ``apikee.header_name``), ``bearer`` (also accept ``Authorization: Bearer <key>``, default
    True), ``exclude_paths`` (exact), ``exclude_prefixes`` (segment-wise), ``scopes`` /
    ``any_of`` (scopes every key must grant).
    """

    def __init__(
        self,
        app: Callable[..., Any],
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
        # PEP 3333: a request header X-Api-Key arrives as environ["HTTP_X_API_KEY"].
        self._environ_key = "HTTP_" + self.header_name.upper().replace("-", "_")

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.rules.is_open(environ.get("PATH_INFO") or "/"):
            return self.app(environ, start_response)
        key = environ.get(self._environ_key) or None
        if key is None and self.bearer:
            key = bearer_token(environ.get("HTTP_AUTHORIZATION"))
        if key is None:
            return self._reject(
                missing_key_error(self.header_name, bearer=self.bearer), start_response
            )
        try:
            claims = self.apikee.verify(key)
            if self.scopes:
                self.apikee.check_scopes(claims, self.scopes, any_of=self.any_of)
        except ApikeeError as error:
            return self._reject(error, start_response)
        environ[ENVIRON_KEY] = claims
        return self.app(environ, start_response)

    def _reject(self, error: ApikeeError, start_response: Callable[..., Any]) -> list[bytes]:
        body = error_body(error)
        headers = error_headers(error, self.header_name, bearer=self.bearer)
        headers.append(("content-length", str(len(body))))
        start_response(_REASONS[error.http_status], headers)
        return [body]

    def __repr__(self) -> str:
        return f"ApikeeWSGIMiddleware(header_name={self.header_name!r}, rules={self.rules!r})"
