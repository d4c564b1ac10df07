"""Flask integration (``pip install 'apikee[flask]'``).

    from flask import Flask
    from apikee.flask import init_apikee, get_claims, require_scope

    app = Flask(__name__)
    init_apikee(app)                       # reads APIKEE_SECRET; every route needs a key

    @app.get("/data")
    def data():
        return {"tenant": get_claims().tenant}

    @app.delete("/admin")
    @require_scope("admin")
    def admin(): ...

Failures are answered with ``{"error": CODE, "message": ...}``: 401 for a missing or invalid key
(with a ``WWW-Authenticate`` header), 403 ``INSUFFICIENT_SCOPE`` for a missing scope. The
configuration lives on ``app.extensions["apikee"]``, so several apps can coexist in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable, Iterable, TypeVar

from flask import Flask, Response, current_app, g, request

from ._apikee import Apikee
from ._claims_py import ApikeeClaims
from ._errors import ApikeeError, ErrorCode
from ._http import (
    PathRules,
    checked_apikee,
    checked_costs,
    declared_open_paths,
    environ_key,
    environ_name,
    error_body,
    error_headers,
    path_list,
    required_scopes,
    verifier_and_header,
)
from .wsgi import environ_admit

__all__ = ["init_apikee", "apikee_required", "require_scope", "get_claims", "DEFAULT_OPEN_PATHS"]

#: Paths :func:`init_apikee` leaves open by default (``exclude_paths`` adds to them).
DEFAULT_OPEN_PATHS = ("/health", "/ready")
EXTENSION = "apikee"
_ENVIRON_KEY = "apikee.claims"
_NO_CLAIMS = "no verified API key is attached to this request"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class _State:
    """One app's configuration (``app.extensions["apikee"]``)."""

    apikee: Apikee
    header_name: str
    environ_key: str
    bearer: bool
    protect_all: bool
    explicit_paths: list[str]
    default_paths: list[str]
    prefixes: list[str]
    costs: dict[str, int]
    rules: PathRules | None = None  # resolved at the first request, when every route exists

    def open_rules(self, app: Flask) -> PathRules:
        """The open paths: ``exclude_paths``, the default open paths the app declares as routes
        (exact rules without variables), and the prefixes."""
        rules = self.rules
        if rules is None:
            declared = [rule.rule for rule in app.url_map.iter_rules() if not rule.arguments]
            opened = [*self.explicit_paths, *declared_open_paths(self.default_paths, declared)]
            self.rules = rules = PathRules(opened, self.prefixes)
        return rules

    def response(self, error: ApikeeError) -> Response:
        return Response(
            error_body(error),
            status=error.http_status,
            headers=error_headers(error, self.header_name, bearer=self.bearer),
        )

    def authenticate(self) -> ApikeeClaims:
        """Verify this request's key (raises ApikeeError), enforce its allow list and rate
        limits (docs/SPEC.md section 8), and attach the claims."""
        environ = request.environ
        try:
            key = environ_key(environ, self.environ_key, self.header_name, self.bearer)
        except ApikeeError:
            if self.apikee.usage is not None:
                self.apikee.usage.missing()  # verify never sees it
            raise
        claims = self.apikee.verify(key)
        try:
            extra = environ_admit(self.apikee, claims, environ, self.costs)
        except ApikeeError as error:
            usage = self.apikee.usage
            if usage is not None:
                usage.refused(error.code, claims)  # counted VALID, then refused
            raise
        if extra:
            g.apikee_rate_headers = extra
        g.apikee = claims
        environ[_ENVIRON_KEY] = claims
        return claims


def init_apikee(
    app: Flask,
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
    protect_all: bool = True,
    inject_swagger: bool = True,
    default_open_paths: Iterable[str] | None = None,
    store: str | None = None,
    costs: dict[str, int] | None = None,
) -> Apikee:
    """Attach apikee to a Flask app; returns the :class:`~apikee.Apikee` it verifies with.

    The verifier is ``apikee`` if given, else one built from ``secrets`` / ``secret``, else from
    the app config (``APIKEE_SECRETS`` / ``APIKEE_SECRET``), else from the ``APIKEE_SECRET``
    environment variable; no usable secret raises :class:`~apikee.ApikeeConfigError` here.
    ``store`` (else ``app.config["APIKEE_STORE"]``, else ``APIKEE_STORE``) is the revocation
    store of the Apikee built here; an ``apikee=`` instance brings its own.

    With ``protect_all`` (default) every request needs a key, except ``exclude_paths``, what is
    below ``exclude_prefixes`` (segment-wise: ``"/static"`` opens ``/static/…``, not ``/static``
    itself) and the default open paths: ``default_open_paths``, ``None`` meaning
    :data:`DEFAULT_OPEN_PATHS` (``/health``, ``/ready``), each opened only if the app declares a
    route of exactly that path at its first request (a catch-all route never answers
    ``/health`` without a key); ``default_open_paths=()`` opens none. With
    ``protect_all=False`` only routes decorated with :func:`apikee_required` or
    :func:`require_scope` need one. The key comes from ``header_name`` (default ``x-api-key``)
    or, with ``bearer``, from ``Authorization: Bearer <key>``. An :class:`~apikee.ApikeeError`
    escaping a view is answered as its 401/403 JSON too.

    Policies: a key's allow list (403 ``IP_NOT_ALLOWED``; the client is ``REMOTE_ADDR`` or
    what a trusted proxy forwards) and rate limits (429 ``RATE_LIMITED``, ``Retry-After``;
    ``RateLimit-Policy`` and ``RateLimit`` on every answer) are enforced when the key is
    verified; ``costs`` (``{path: cost}``) weighs requests on expensive paths.
    """
    if not isinstance(app, Flask):
        raise TypeError(f"init_apikee() needs a Flask app, not {type(app).__name__}")
    if EXTENSION in app.extensions:
        raise RuntimeError("init_apikee() was already called for this app")
    if apikee is None:
        if secrets is None and secret is None:
            secrets = app.config.get("APIKEE_SECRETS")
            secret = app.config.get("APIKEE_SECRET")
        if store is None:
            store = app.config.get("APIKEE_STORE")
    else:
        checked_apikee(apikee)
    apikee, header = verifier_and_header(
        apikee,
        header_name,
        secret=secret,
        secrets=secrets,
        server_key=server_key,
        project_env=project_env,
        store=store,
    )
    explicit = path_list(exclude_paths, "exclude_paths")
    defaults = path_list(
        DEFAULT_OPEN_PATHS if default_open_paths is None else default_open_paths,
        "default_open_paths",
    )
    prefixes = path_list(exclude_prefixes, "exclude_prefixes")
    PathRules([*explicit, *defaults], prefixes)  # check them now, not at the first request
    state = _State(
        apikee=apikee,
        header_name=header,
        environ_key=environ_name(header),
        bearer=bool(bearer),
        protect_all=bool(protect_all),
        explicit_paths=explicit,
        default_paths=defaults,
        prefixes=prefixes,
        costs=checked_costs(costs),
    )
    app.extensions[EXTENSION] = state

    @app.after_request
    def _apikee_rate_headers(response: Response) -> Response:
        for name, value in g.get("apikee_rate_headers", ()):
            response.headers[name] = value
        return response

    if protect_all:

        @app.before_request
        def _apikee_before_request() -> Response | None:
            if state.open_rules(app).is_open(request.path):
                return None
            try:
                state.authenticate()
            except ApikeeError as error:
                return state.response(error)
            return None

    @app.errorhandler(ApikeeError)
    def _apikee_error(error: ApikeeError) -> Response:
        return state.response(error)

    if inject_swagger:
        _patch_flask_swagger(app, header)
    return apikee


def _patch_flask_swagger(app: Flask, header_name: str) -> None:
    """Declare ``ApikeeAuth`` for flasgger when it is in use (as apikee 0.1.2 did)."""
    if hasattr(app, "swag") or "flasgger" in app.extensions:
        definitions = app.config.setdefault("SWAGGER", {}).setdefault("securityDefinitions", {})
        definitions["ApikeeAuth"] = {"type": "apiKey", "in": "header", "name": header_name}


def _state() -> _State:
    state: _State | None = current_app.extensions.get(EXTENSION)
    if state is None:
        raise RuntimeError("apikee is not set up on this Flask app: call init_apikee(app) first")
    return state


def get_claims() -> ApikeeClaims:
    """The verified claims of the current request.

    Raises ``ApikeeError(MISSING_KEY)`` — answered 401 by the handler :func:`init_apikee`
    installs — when the request carries none (an excluded path without :func:`apikee_required`).
    """
    claims: ApikeeClaims | None = g.get("apikee")
    if claims is None:
        raise ApikeeError(ErrorCode.MISSING_KEY, _NO_CLAIMS)
    return claims


def _ensure_claims(state: _State) -> ApikeeClaims:
    claims = g.get("apikee")
    return claims if claims is not None else state.authenticate()


def apikee_required(fn: F) -> F:
    """Require a valid key on one route.

    Needed with ``protect_all=False``, or on an excluded path; a no-op cost otherwise (the
    claims are already there).
    """

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state = _state()
        try:
            _ensure_claims(state)
        except ApikeeError as error:
            return state.response(error)
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def require_scope(*scopes: str, any_of: bool = False) -> Callable[[F], F]:
    """Decorator requiring a valid key granting ``scopes``: all of them, or any with ``any_of``.

    ``"*"`` grants every scope and ``"res:*"`` every ``res:…`` scope; otherwise matching is
    exact. A lacking key gets 403 ``{"error": "INSUFFICIENT_SCOPE", ...}``.
    """
    required = required_scopes(scopes)

    def decorator(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            state = _state()
            try:
                claims = _ensure_claims(state)
                Apikee.check_scopes(claims, required, any_of=any_of)
            except ApikeeError as error:
                return state.response(error)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
