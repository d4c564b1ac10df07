"""The claims object and the type checks of docs/SPEC.md section 1: pure half of the hot path.

Part of the pure implementation (``_core_py.py`` re-exports ``ApikeeClaims``); its compiled
twin is ``_claims_c.pxi``, included into ``_core_c.pyx``. Same names, docstrings and behaviour.

This class is also THE public ``apikee.ApikeeClaims``, whichever implementation is active: the
compiled claims class registers itself as a (virtual) subclass of it, so
``isinstance(claims, apikee.ApikeeClaims)`` holds for claims of both, and pickles of either name
``apikee.ApikeeClaims`` and load under either implementation.
"""

from __future__ import annotations

import math
from abc import ABCMeta
from datetime import datetime
from typing import Any, Iterable

from . import _errors as E
from ._claims_shared import claims_equal, claims_repr, json_view, to_datetime, wire_from_arguments
from ._errors import ApikeeError
from ._frozen import deep_copy
from ._revoked import issued_at
from ._scopes import scopes_satisfied
from ._wire import IP_CLAIM, MAX_TIMESTAMP, RATE_CLAIM, TIMESTAMP_RANGE

__all__ = ["ApikeeClaims"]

_MISSING = object()
_INSTANT_OF = {"expires_at": "exp", "not_before": "nbf"}
_READ_ONLY = "ApikeeClaims is read-only"


# ── claims ──────────────────────────────────────────────────────────────────────────────────


class _ClaimsSlots:
    """The storage of ApikeeClaims: its slots, on a base of their own so that verify() can fill
    them through a writable twin class (_ClaimsUnderConstruction) and then give the object its
    public, read-only class (see _claims_from_dict)."""

    __slots__ = (
        "id",
        "tenant",
        "scopes",
        "environment",
        "exp",
        "nbf",
        "iat",
        "raw_key",
        "verified",
        "_claims",
        "_views",
    )


class ApikeeClaims(_ClaimsSlots, metaclass=ABCMeta):
    """The claims of a key, as plain Python data; read-only.

    Attributes: ``id``, ``tenant``, ``scopes`` (a list of str), ``environment``, ``exp``,
    ``nbf`` and ``iat`` (the raw unix-seconds numbers or ``None``), ``raw_key``, ``verified``
    (False for :func:`~apikee.decode_unverified` results and hand-built objects); properties
    ``expires_at``, ``not_before`` and ``issued_at`` (aware UTC datetimes, built only when read)
    and ``meta`` (a dict, decoded on first read). Lists and dicts are fresh per claims object:
    mutating them affects nothing else. ``to_dict()`` gives every claim of the payload under its
    wire name, unknown ones included; ``to_json_dict()`` the JSON-ready view under the attribute
    names.
    """

    __slots__ = ()  # the storage is _ClaimsSlots

    id: str
    tenant: str
    scopes: list[str]
    environment: str
    exp: float | None
    nbf: float | None
    iat: float | None
    raw_key: str
    verified: bool
    _claims: dict[str, Any]
    _views: dict[str, Any] | None

    def __init__(
        self,
        id: str = "",
        tenant: str = "",
        scopes: Iterable[str] = (),
        expires_at: datetime | None = None,
        not_before: datetime | None = None,
        environment: str = "production",
        meta: dict[str, Any] | None = None,
        raw_key: str = "",
        *,
        exp: float | None = None,
        nbf: float | None = None,
        iat: float | None = None,
        verified: bool = False,
    ) -> None:
        # The public constructor (tests, dependency overrides); verify() builds claims itself.
        _refuse_reinit(self)
        wire = wire_from_arguments(
            id, tenant, scopes, expires_at, not_before, environment, meta, exp, nbf, iat
        )
        if type(raw_key) is not str:
            raise TypeError("raw_key must be a str")
        _init_claims(
            self,
            wire["id"],
            wire["tid"],
            list(wire["scp"]),
            wire["env"],
            wire.get("exp"),
            wire.get("nbf"),
            wire.get("iat"),
            raw_key,
            wire,
            bool(verified),
        )

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(_READ_ONLY)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(_READ_ONLY)

    def _view(self, name: str) -> Any:
        # Datetimes and meta are built on first read, then kept: verify() never pays for them.
        # setdefault publishes the first one built, so threads racing on a fresh object all
        # get the same object back.
        views = self._views
        if views is None:
            _SLOT_SETTERS[-1](self, {})
            views = self._views
            assert views is not None
        value = views.get(name, _MISSING)
        if value is _MISSING:
            if name == "meta":
                value = deep_copy(self._claims.get("meta", {}))
            elif name == "issued_at":
                value = to_datetime(issued_at(self))
            else:
                value = to_datetime(getattr(self, _INSTANT_OF[name]))
            value = views.setdefault(name, value)
        return value

    @property
    def expires_at(self) -> datetime | None:
        """Expiry as an aware UTC datetime, or ``None`` for a key that never expires."""
        return self._view("expires_at")  # type: ignore[no-any-return]

    @property
    def not_before(self) -> datetime | None:
        """Start of validity as an aware UTC datetime, or ``None``."""
        return self._view("not_before")  # type: ignore[no-any-return]

    @property
    def issued_at(self) -> datetime | None:
        """When the key was issued, as an aware UTC datetime: its ``iat`` claim if it has one,
        else the instant its time-ordered id carries (every key this library issues), else
        ``None`` (keys of 0.1.x)."""
        return self._view("issued_at")  # type: ignore[no-any-return]

    @property
    def meta(self) -> dict[str, Any]:
        """The ``meta`` claim as a dict of plain JSON data (decoded on first read, then kept)."""
        return self._view("meta")  # type: ignore[no-any-return]

    def has_scopes(self, *required: str, any_of: bool = False) -> bool:
        """Whether the key grants all (or, with ``any_of=True``, any) of the scopes.

        ``"*"`` grants every scope, ``"res:*"`` every ``"res:..."`` scope.
        """
        return scopes_satisfied(self.scopes, required, any_of=any_of)

    def to_dict(self) -> dict[str, Any]:
        """A fresh mutable copy of every claim in the payload, under its wire name."""
        return deep_copy(self._claims)  # type: ignore[no-any-return]

    def to_json_dict(self) -> dict[str, Any]:
        """A fresh JSON-ready dict under the attribute names: ``id, tenant, scopes, environment,
        expires_at, exp, not_before, nbf, issued_at, iat, meta`` (datetimes as ISO 8601 UTC
        strings or None)."""
        return json_view(self)

    def __repr__(self) -> str:
        return claims_repr(self)

    def __eq__(self, other: object) -> bool:
        return claims_equal(self, other, ApikeeClaims)  # type: ignore[no-any-return]

    def __hash__(self) -> int:
        return hash(self.raw_key)

    def __reduce__(self) -> tuple[Any, ...]:
        return (ApikeeClaims._restore, (self._claims, self.raw_key, self.verified))

    @classmethod
    def _restore(cls, claims: dict[str, Any], raw_key: str, verified: bool) -> ApikeeClaims:
        """Unpickling: claims of the active implementation, whichever one pickled them."""
        from ._core import load_backend

        restored: ApikeeClaims = load_backend(None)._claims_from_dict(claims, raw_key, verified)
        return restored

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """Pydantic v2 (FastAPI) support: claims as a field or a route's return type.

        Validates instances of either implementation and serializes to :meth:`to_json_dict`.
        """
        from ._pydantic import claims_core_schema

        return claims_core_schema(cls)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        from ._pydantic import claims_json_schema

        return claims_json_schema()


# The public name and module, so pickles and reprs of the class say ``apikee.ApikeeClaims``.
ApikeeClaims.__module__ = "apikee"

# Slot setters bypass the read-only __setattr__ (and are faster than going through it).
_SLOT_SETTERS = tuple(getattr(_ClaimsSlots, name).__set__ for name in _ClaimsSlots.__slots__)


class _ClaimsUnderConstruction(_ClaimsSlots):
    """The same layout without the read-only __setattr__: _claims_from_dict fills a fresh object
    with plain (specialised, slot) attribute stores, then sets its class to ApikeeClaims, which
    CPython allows between classes of one layout. Eleven stores and the class change cost about
    a quarter of eleven slot-setter calls plus ApikeeClaims.__new__ (callgrind: 2.9k instead
    of 11.5k instructions per claims object). The object is not visible to anyone before its
    class is ApikeeClaims."""

    __slots__ = ()


def _refuse_reinit(obj: ApikeeClaims) -> None:
    try:
        object.__getattribute__(obj, "_claims")
    except AttributeError:
        return
    raise AttributeError(_READ_ONLY)


def _init_claims(
    obj: ApikeeClaims,
    id: str,
    tenant: str,
    scopes: list[str],
    environment: str,
    exp: float | None,
    nbf: float | None,
    iat: float | None,
    raw_key: str,
    claims: dict[str, Any],
    verified: bool,
) -> None:
    s_id, s_tenant, s_scopes, s_env, s_exp, s_nbf, s_iat, s_raw, s_verified, s_claims, s_views = (
        _SLOT_SETTERS
    )
    s_id(obj, id)
    s_tenant(obj, tenant)
    s_scopes(obj, scopes)
    s_env(obj, environment)
    s_exp(obj, exp)
    s_nbf(obj, nbf)
    s_iat(obj, iat)
    s_raw(obj, raw_key)
    s_verified(obj, verified)
    s_claims(obj, claims)
    s_views(obj, None)


def _claim_error(name: str, expected: str) -> ApikeeError:
    return ApikeeError(E.ErrorCode.INVALID_CLAIMS, E.MSG_CLAIM_TYPE.format(name, expected))


def _checked_timestamp(value: Any, name: str) -> float:
    kind = type(value)
    if kind is int or (kind is float and math.isfinite(value)):
        if 0 <= value <= MAX_TIMESTAMP:
            return value  # type: ignore[no-any-return]
    raise _claim_error(name, TIMESTAMP_RANGE)


def _claims_from_dict(claims: Any, raw_key: str, verified: bool = True) -> ApikeeClaims:
    """Validate a decoded payload (docs/SPEC.md section 1 types) and build the claims object."""
    if type(claims) is not dict:
        raise ApikeeError(E.ErrorCode.INVALID_CLAIMS, E.MSG_NOT_OBJECT)
    # The checks of _text_claim/_timestamp_claim, inline: this runs on every verification.
    get = claims.get
    key_id = get("id", "")
    if type(key_id) is not str:
        raise _claim_error("id", "a string")
    tenant = get("tid", "")
    if type(tenant) is not str:
        raise _claim_error("tid", "a string")
    scopes = get("scp", _MISSING)
    if scopes is _MISSING:
        scopes = []
    elif type(scopes) is list:
        for scope in scopes:
            if type(scope) is not str:
                raise _claim_error("scp", "a list of strings")
        scopes = list(scopes)  # the object's own list: to_dict() stays what the key says
    else:
        raise _claim_error("scp", "a list of strings")
    environment = get("env", "production")
    if type(environment) is not str:
        raise _claim_error("env", "a string")
    exp = get("exp")
    if exp is not None or "exp" in claims:  # a present null is a type error
        exp = _checked_timestamp(exp, "exp")
    nbf = get("nbf")
    if nbf is not None or "nbf" in claims:
        nbf = _checked_timestamp(nbf, "nbf")
    iat = get("iat")
    if iat is not None or "iat" in claims:
        iat = _checked_timestamp(iat, "iat")
    meta = get("meta", _MISSING)
    if meta is not _MISSING and type(meta) is not dict:
        raise _claim_error("meta", "an object")
    obj: Any = _ClaimsUnderConstruction()
    obj.id = key_id
    obj.tenant = tenant
    obj.scopes = scopes
    obj.environment = environment
    obj.exp = exp
    obj.nbf = nbf
    obj.iat = iat
    obj.raw_key = raw_key
    obj.verified = verified
    obj._claims = claims
    obj._views = None
    obj.__class__ = ApikeeClaims
    built: ApikeeClaims = obj
    return built


def has_policy_claims(claims: ApikeeClaims) -> bool:
    """Whether ``claims`` (an :class:`ApikeeClaims`) carry a policy claim, ``rl`` or ``ip``
    (docs/SPEC.md section 8): the integrations look a key's policy up only then, or when the
    Apikee has limits of its own."""
    wire = claims._claims if type(claims) is ApikeeClaims else claims.to_dict()
    return RATE_CLAIM in wire or IP_CLAIM in wire
