"""FastAPI integration (``pip install 'apikee[fastapi]'``).

    from fastapi import Depends
    from apikee.fastapi import SecuredFastAPI, ApikeeDepends, require_scope

    app = SecuredFastAPI()                 # reads APIKEE_SECRET; every route needs a key

    @app.get("/data")
    async def data(claims=ApikeeDepends()):
        return {"tenant": claims.tenant}

    @app.delete("/admin", dependencies=[Depends(require_scope("admin"))])
    async def admin(): ...

Every failure is answered with the same body shape, top level (not wrapped in ``detail``):
``{"error": CODE, "message": ...}`` — 401 for a missing or invalid key, 403
``INSUFFICIENT_SCOPE`` from :func:`require_scope`. The dependencies raise
:class:`~apikee.ApikeeError`; it becomes that response through the exception handler that
:class:`SecuredFastAPI` (or :func:`add_error_handler`) installs, or through
:class:`~apikee.asgi.ApikeeMiddleware` on a plain ``FastAPI`` app.
"""

from __future__ import annotations

from typing import Annotated, Any, Awaitable, Callable, Iterable

from fastapi import Depends, FastAPI
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.websockets import WebSocket

from ._apikee import Apikee
from ._claims_py import ApikeeClaims
from ._errors import ApikeeError, ErrorCode
from ._http import (
    PathRules,
    checked_header_name,
    declared_open_paths,
    error_body,
    error_headers,
    path_list,
    required_scopes,
    verifier_and_header,
)
from .asgi import ApikeeMiddleware

__all__ = [
    "SecuredFastAPI",
    "Claims",
    "ApikeeDepends",
    "get_claims",
    "require_scope",
    "add_security_scheme",
    "add_error_handler",
    "DEFAULT_OPEN_PATHS",
    "SECURITY_SCHEME",
]

SECURITY_SCHEME = "ApikeeAuth"
#: Paths SecuredFastAPI leaves open: the docs routes (at the app's configured URLs) and probes.
DEFAULT_OPEN_PATHS = (
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
    "/health",
    "/ready",
)
_PROBES = ("/health", "/ready")
_NO_CLAIMS = "no verified API key is attached to this request"


class SecuredFastAPI(FastAPI):
    """Drop-in replacement for ``FastAPI()`` that requires a valid key on every route.

    Parameters (keyword-only; everything else goes to ``FastAPI``):

    - ``apikee``: an :class:`~apikee.Apikee` to use; otherwise one is built from ``secret`` /
      ``secrets`` / ``server_key`` / ``project_env`` / ``header_name``, falling back to the
      ``APIKEE_SECRET`` environment variable.
    - ``header_name``: header carrying the key (default ``x-api-key``, or ``apikee``'s).
    - ``store``: the revocation store URL of the Apikee built here (default ``APIKEE_STORE``);
      with ``apikee=`` the instance's own store is used.
    - ``exclude_paths``: paths that need no key, **added to** the default open paths.
    - ``default_open_paths``: the paths opened by default, ``None`` meaning the docs routes
      (``/docs``, ``/docs/oauth2-redirect``, ``/redoc``, ``/openapi.json``, at whatever URLs the
      app configures) and the probes ``/health`` and ``/ready``. A default open path is opened
      only if the app declares a route of exactly that path when it starts (its first
      request): a catch-all or proxy route never answers ``/health`` without a key.
      ``default_open_paths=()`` opens nothing by default (protect the docs too); the paths
      really open are :attr:`open_paths`. (In apikee 0.1.2 ``exclude_paths`` replaced the
      defaults, which silently locked the docs.)
    - ``exclude_prefixes``: path prefixes below which no key is needed (segment-wise:
      ``"/public"`` opens ``/public/…``, not ``/public`` itself).
    - ``bearer``: also accept ``Authorization: Bearer <key>`` (default True).
    - ``costs``: ``{path: cost}``, the weight of a request on that path against the key's
      rate limits (default 1). Allow lists (403 ``IP_NOT_ALLOWED``) and rate limits (429
      ``RATE_LIMITED``, with ``RateLimit-Policy`` / ``RateLimit`` headers on every answer) are
      enforced by the middleware, as in :class:`~apikee.asgi.ApikeeMiddleware`.

    After setup: the claims are at ``request.state.apikee`` (or use :func:`ApikeeDepends`), the
    OpenAPI schema has the ``ApikeeAuth`` header scheme (Swagger UI shows the lock and the
    Authorize button; open paths show no lock), and ``ApikeeError`` raised by a route or a
    dependency is answered as ``{"error", "message"}`` with its 401/403 status.
    """

    def __init__(
        self,
        *,
        apikee: Apikee | None = None,
        secret: str | None = None,
        secrets: list[str] | None = None,
        server_key: str | None = None,
        project_env: str | None = None,
        header_name: str | None = None,
        exclude_paths: Iterable[str] | None = None,
        exclude_prefixes: Iterable[str] | None = None,
        bearer: bool = True,
        default_open_paths: Iterable[str] | None = None,
        store: str | None = None,
        costs: dict[str, int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        apikee, header = verifier_and_header(
            apikee,
            header_name,
            secret=secret,
            secrets=secrets,
            server_key=server_key,
            project_env=project_env,
            store=store,
        )
        self._apikee = apikee
        if default_open_paths is None:
            defaults = [*self._docs_paths(), *_PROBES]
        else:
            defaults = path_list(default_open_paths, "default_open_paths")
        self._open_defaults = defaults
        self._open_explicit = path_list(exclude_paths, "exclude_paths")
        prefixes = path_list(exclude_prefixes, "exclude_prefixes")
        # Starlette builds its middleware only at the first request; check the paths now.
        PathRules([*defaults, *self._open_explicit], prefixes)
        self.add_middleware(
            ApikeeMiddleware,
            apikee=apikee,
            header_name=header,
            bearer=bearer,
            exclude_paths=self._open_explicit,  # completed by build_middleware_stack()
            exclude_prefixes=prefixes,
            costs=costs,
        )
        self._apikee_entry = self.user_middleware[0]
        add_error_handler(self, header, bearer=bearer)
        add_security_scheme(self, header, open_prefixes=prefixes)

    @property
    def open_paths(self) -> list[str]:
        """The exact paths open without a key: ``exclude_paths`` and the default open paths
        that the app declares as routes (read from the routes as they are now)."""
        declared = [
            path
            for route in self.routes
            if isinstance(path := getattr(route, "path", None), str) and "{" not in path
        ]
        return [*self._open_explicit, *declared_open_paths(self._open_defaults, declared)]

    def build_middleware_stack(self) -> Any:
        # Called once, when the app starts serving: every route is declared by then.
        entry = self._apikee_entry
        options = getattr(entry, "kwargs", None)
        if options is None:  # Starlette < 0.35
            options = getattr(entry, "options")  # noqa: B009
        options["exclude_paths"] = self.open_paths
        return super().build_middleware_stack()

    def _docs_paths(self) -> list[str]:
        paths = []
        if self.openapi_url:
            paths.append(self.openapi_url)
            if self.docs_url:
                paths.append(self.docs_url)
                if self.swagger_ui_oauth2_redirect_url:
                    paths.append(self.swagger_ui_oauth2_redirect_url)
            if self.redoc_url:
                paths.append(self.redoc_url)
        return paths

    @property
    def apikee(self) -> Apikee:
        """The :class:`~apikee.Apikee` instance verifying this app's keys."""
        return self._apikee


# ── errors ─────────────────────────────────────────────────────────────────────────────────


def add_error_handler(app: Any, header_name: str = "x-api-key", *, bearer: bool = True) -> None:
    """Answer any :class:`~apikee.ApikeeError` escaping a route or dependency as its 401/403
    JSON ``{"error", "message"}`` with a ``WWW-Authenticate`` header.

    :class:`SecuredFastAPI` does this itself; call it on a plain ``FastAPI`` (or Starlette) app
    that uses the dependencies without :class:`~apikee.asgi.ApikeeMiddleware`.
    """
    header = checked_header_name(header_name)

    async def apikee_error_handler(request: HTTPConnection, exc: ApikeeError) -> Response | None:
        if isinstance(request, WebSocket):  # a websocket dependency: refuse the handshake
            await request.close(code=1008, reason=exc.code)
            return None
        return Response(
            error_body(exc),
            status_code=exc.http_status,
            headers=dict(_merge(error_headers(exc, header, bearer=bearer))),
        )

    app.add_exception_handler(ApikeeError, apikee_error_handler)


def _merge(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # Starlette's headers= mapping holds one value per name: join repeated challenges.
    merged: dict[str, str] = {}
    for name, value in headers:
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return list(merged.items())


# ── dependencies ───────────────────────────────────────────────────────────────────────────


def get_claims(request: HTTPConnection) -> ApikeeClaims:
    """The verified claims of this request (HTTP or WebSocket).

    Set by :class:`~apikee.asgi.ApikeeMiddleware`; raises ``ApikeeError(MISSING_KEY)`` (a 401)
    when there are none, e.g. on an excluded path. Usable directly or as ``Depends(get_claims)``
    (prefer :func:`ApikeeDepends`, which does not need a worker thread).
    """
    claims = request.scope.get("apikee")
    if claims is None:
        state = request.scope.get("state")
        claims = state.get("apikee") if state else None
    if claims is None:
        raise ApikeeError(ErrorCode.MISSING_KEY, _NO_CLAIMS)
    verified: ApikeeClaims = claims
    return verified


async def _claims_dependency(request: HTTPConnection) -> ApikeeClaims:
    # async: FastAPI runs sync dependencies in a worker thread, which costs more than the check.
    return get_claims(request)


#: The verified claims as a route parameter: ``async def route(claims: Claims) -> ...``.
Claims = Annotated[ApikeeClaims, Depends(_claims_dependency)]


def require_scope(
    *scopes: str, any_of: bool = False
) -> Callable[[HTTPConnection], Awaitable[ApikeeClaims]]:
    """Dependency factory enforcing scopes: all of them by default, any one with ``any_of``.

        @app.delete("/x", dependencies=[Depends(require_scope("admin"))])
        async def delete_x(): ...

        @app.get("/y")
        async def y(claims=Depends(require_scope("read", "write", any_of=True))): ...

    ``"*"`` grants every scope and ``"res:*"`` every ``res:…`` scope; otherwise matching is
    exact. A key lacking them gets 403 ``{"error": "INSUFFICIENT_SCOPE", "message": ...}``;
    the dependency returns the claims.
    """
    required = required_scopes(scopes)

    async def apikee_require_scope(request: HTTPConnection) -> ApikeeClaims:
        claims = get_claims(request)
        Apikee.check_scopes(claims, required, any_of=any_of)
        return claims

    apikee_require_scope.__qualname__ = f"require_scope{required!r}"
    return apikee_require_scope


def ApikeeDepends(*scopes: str, any_of: bool = False) -> ApikeeClaims:  # noqa: N802 (0.1.2 name)
    """``claims: ApikeeClaims = ApikeeDepends()`` in a route signature: the verified claims.

    With scopes, ``ApikeeDepends("read")`` is ``Depends(require_scope("read"))``. Typed as the
    claims the parameter receives (as FastAPI's own ``Depends`` is typed to fit any parameter),
    so ``claims: ApikeeClaims = ApikeeDepends()`` type-checks; :data:`Claims` is the
    ``Annotated`` form.
    """
    if scopes:
        dependency: Any = Depends(require_scope(*scopes, any_of=any_of))
    else:
        dependency = Depends(_claims_dependency)
    return dependency  # type: ignore[no-any-return]


# ── OpenAPI ────────────────────────────────────────────────────────────────────────────────


def add_security_scheme(
    app: Any,
    header_name: str = "x-api-key",
    *,
    open_paths: Iterable[str] = (),
    open_prefixes: Iterable[str] = (),
) -> None:
    """Declare the ``ApikeeAuth`` API-key header scheme in a FastAPI app's OpenAPI schema.

    Every operation requires it (Swagger UI shows a lock on each route and an Authorize button)
    except those under ``open_paths`` / ``open_prefixes``, marked ``security: []``, and those
    every :class:`~apikee.asgi.ApikeeMiddleware` added to the app leaves open (its
    ``exclude_paths`` / ``exclude_prefixes``, read when the schema is built, so the order of
    the calls does not matter). Safe to call more than once and with a schema FastAPI
    regenerates later.
    """
    header = checked_header_name(header_name)
    given_paths, given_prefixes = list(open_paths), list(open_prefixes)
    PathRules(given_paths, given_prefixes)  # check them now, not at the first request
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        paths, prefixes = _middleware_open_paths(app)
        rules = PathRules([*given_paths, *paths], [*given_prefixes, *prefixes])
        schema: dict[str, Any] = generate()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes[SECURITY_SCHEME] = {
            "type": "apiKey",
            "in": "header",
            "name": header,
            "description": "apikee_ signed key: tenant, scopes and expiry embedded",
        }
        schema.setdefault("security", [{SECURITY_SCHEME: []}])
        for path, item in schema.get("paths", {}).items():
            is_open = rules.is_open(path)
            for operation in item.values():
                if isinstance(operation, dict):
                    if is_open:
                        operation["security"] = []
                    else:
                        operation.setdefault("security", [{SECURITY_SCHEME: []}])
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


def _middleware_open_paths(app: Any) -> tuple[list[str], list[str]]:
    """The paths and prefixes the app's ApikeeMiddleware entries leave open."""
    paths: list[str] = list(app.open_paths) if isinstance(app, SecuredFastAPI) else []
    prefixes: list[str] = []
    for entry in getattr(app, "user_middleware", ()):
        cls = getattr(entry, "cls", None)
        if not (isinstance(cls, type) and issubclass(cls, ApikeeMiddleware)):
            continue
        # Starlette >= 0.35 keeps the options in .kwargs, older versions in .options.
        options = getattr(entry, "kwargs", None) or getattr(entry, "options", None) or {}
        paths.extend(path_list(options.get("exclude_paths"), "exclude_paths"))
        prefixes.extend(path_list(options.get("exclude_prefixes"), "exclude_prefixes"))
    return paths, prefixes
