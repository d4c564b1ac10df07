"""What every integration (ASGI, FastAPI, Flask, WSGI) shares: the failure response, where the
key is read from, which paths are open, and the checks of their options. Imports no framework.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable

from ._apikee import Apikee, ApikeeConfigError, get_apikee
from ._errors import ApikeeError, ErrorCode, RateLimitExceeded
from ._header import bearer_token as bearer_token
from ._header import first_value as first_value
from ._header import route_path as route_path
from ._policy import rate_headers

REALM = "apikee"


# ── the failure response ───────────────────────────────────────────────────────────────────


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
    """Response headers for a failure (without Content-Length): JSON, no-store, challenge(s),
    and for ``RATE_LIMITED`` the ``RateLimit-Policy``, ``RateLimit`` and ``Retry-After``."""
    headers = [("content-type", "application/json"), ("cache-control", "no-store")]
    for value in www_authenticate(header_name, bearer=bearer, code=error.code):
        headers.append(("www-authenticate", value))
    if isinstance(error, RateLimitExceeded):
        headers.extend(rate_headers(error.decision))
    return headers


def checked_costs(costs: Any) -> dict[str, int]:
    """``costs`` (exact path -> the cost of one request there, default 1) checked."""
    if costs is None:
        return {}
    if not isinstance(costs, dict):
        raise ApikeeConfigError("costs must be a dict of path -> int cost")
    for path, cost in costs.items():
        if not isinstance(path, str) or not path.startswith("/"):
            raise ApikeeConfigError(f"every path of costs must start with '/': {path!r}")
        if type(cost) is not int or not 0 <= cost <= 1_000_000_000:
            raise ApikeeConfigError(f"costs[{path!r}] must be an int from 0 to 1000000000")
    return dict(costs)


def missing_key_error(header_name: str, *, bearer: bool = True) -> ApikeeError:
    """The ``MISSING_KEY`` error naming where the key is expected."""
    where = f"the '{header_name}' header is required"
    if bearer:
        where += " (or 'Authorization: Bearer <key>')"
    return ApikeeError(ErrorCode.MISSING_KEY, where)


# ── the request: where its key is, whether its path is open ────────────────────────────────


def environ_name(header_name: str) -> str:
    """The WSGI environ key of a request header (PEP 3333: X-Api-Key is ``HTTP_X_API_KEY``)."""
    return "HTTP_" + header_name.upper().replace("-", "_")


def environ_key(environ: dict[str, Any], name: str, header_name: str, bearer: bool) -> Any:
    """The key of a WSGI request: header ``name`` (see :func:`environ_name`), else with
    ``bearer`` the ``Authorization: Bearer`` token; ``MISSING_KEY`` when there is none."""
    key = first_value(environ.get(name))
    if key is None and bearer:
        key = bearer_token(environ.get("HTTP_AUTHORIZATION"))
    if key is None:
        raise missing_key_error(header_name, bearer=bearer)
    return key


def path_list(value: Any, what: str) -> list[str]:
    """``value`` as a list of paths (None is empty); a lone string is refused, since it would
    otherwise be read character by character (``"/"`` would open everything)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        raise ApikeeConfigError(f"{what} must be a list of paths, not a single string: [{value!r}]")
    return list(value)


def _paths(value: Any, what: str) -> list[str]:
    try:
        paths = path_list(value, what)
    except TypeError:
        raise ApikeeConfigError(f"{what} must be a list of paths") from None
    for path in paths:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ApikeeConfigError(
                f"every entry of {what} must be a string starting with '/': {path!r}"
            )
    return paths


def declared_open_paths(defaults: Iterable[str], declared: Iterable[str]) -> list[str]:
    """The default open paths that the app really declares as routes (exact paths).

    Default open paths (docs, probes) are opened only where a route of exactly that path
    exists: a catch-all or proxy route never answers ``/health`` without a key just because
    ``/health`` is a conventional name.
    """
    routes = set(declared)
    return [path for path in defaults if path in routes]


def _has_dot_segment(path: str) -> bool:
    return any(segment in (".", "..") for segment in path.split("/"))


class PathRules:
    """Which request paths skip authentication.

    ``exact`` paths match exactly (``"/health"`` does not open ``"/health/"``). A prefix opens
    what is below it, segment-wise: ``"/static"`` (or ``"/static/"``) opens ``"/static/app.js"``
    but neither ``"/static"`` itself (list it in ``exact`` to open it too) nor
    ``"/static-admin"``. A path containing a ``.`` or ``..`` segment is never opened by a prefix,
    so ``"/static/../admin"`` cannot ride on an open prefix.
    """

    __slots__ = ("exact", "prefixes")

    def __init__(
        self, exact: Iterable[str] | None = (), prefixes: Iterable[str] | None = ()
    ) -> None:
        opened = set(_paths(exact, "exclude_paths"))
        below: list[str] = []
        for prefix in _paths(prefixes, "exclude_prefixes"):
            below.append(prefix if prefix.endswith("/") else prefix + "/")
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


# ── options ────────────────────────────────────────────────────────────────────────────────

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
    checked: tuple[str, ...] = tuple(scopes)
    for scope in checked:
        if not isinstance(scope, str) or not scope:
            raise ApikeeConfigError(f"every required scope must be a non-empty string: {scope!r}")
    return checked


def checked_apikee(apikee: Any) -> Apikee:
    """``apikee``, or ApikeeConfigError unless it is an :class:`~apikee.Apikee`."""
    if not isinstance(apikee, Apikee):
        raise ApikeeConfigError(f"apikee must be an Apikee instance, not {type(apikee).__name__}")
    return apikee


def verifier_and_header(
    apikee: Apikee | None, header_name: str | None, **secret_options: Any
) -> tuple[Apikee, str]:
    """The verifier of an integration (``apikee``, else one built from ``secret_options`` and
    ``header_name``) and its checked header name (by default the verifier's)."""
    if apikee is None:
        apikee = Apikee(header_name=header_name or "x-api-key", **secret_options)
    return apikee, checked_header_name(header_name or apikee.header_name)


def checked_metrics(apikee: Apikee, path: Any, registry: Any) -> tuple[str | None, Any]:
    """``metrics_path`` (the one path answered with the Prometheus text, with no key; None:
    no such path, the default) and the registry it serves (default: only this Apikee's usage
    collector, see ``apikee.metrics``)."""
    if path is None:
        if registry is not None:
            raise ApikeeConfigError("metrics_registry needs metrics_path='/metrics'")
        return None, None
    if not isinstance(path, str) or not path.startswith("/"):
        raise ApikeeConfigError(f"metrics_path must be a path starting with '/': {path!r}")
    if registry is None:
        if apikee.usage is None:
            raise ApikeeConfigError(
                "metrics_path needs Apikee(usage=True) (or give metrics_registry=)"
            )
        try:
            from .metrics import default_registry

            registry = default_registry(apikee)
        except ImportError:
            raise ApikeeConfigError(
                "metrics_path needs prometheus_client: pip install 'apikee[prometheus]'"
            ) from None
    return path, registry


class KeyGuard:
    """The options of the ASGI and WSGI middlewares, checked once, at startup (``apikee``
    defaults to :func:`~apikee.get_apikee`); a subclass binds its own constants in ``_bind``."""

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
        costs: dict[str, int] | None = None,
        metrics_path: str | None = None,
        metrics_registry: Any = None,
    ) -> None:
        apikee = checked_apikee(get_apikee() if apikee is None else apikee)
        self.metrics_path, self.metrics_registry = checked_metrics(
            apikee, metrics_path, metrics_registry
        )
        if self.metrics_path is not None:
            exclude_paths = [*path_list(exclude_paths, "exclude_paths"), self.metrics_path]
        self.costs = checked_costs(costs)
        self.app = app
        self.apikee = apikee
        header = apikee.header_name if header_name is None else header_name
        self.header_name = checked_header_name(header)
        self.bearer = bool(bearer)
        self.rules = PathRules(exclude_paths, exclude_prefixes)
        self.scopes = required_scopes(scopes)
        self.any_of = bool(any_of)
        self._bind()

    def _bind(self) -> None:
        """Compute a subclass's per-request constants from the checked options."""
