"""The claims object and the type checks of SPEC section 1: pure half of the hot path.

Part of the pure implementation (``_core_py.py`` re-exports ``ApikeeClaims``); its compiled
twin is ``_claims_c.pxi``, included into ``_core_c.pyx``. Same names, docstrings and behaviour.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Iterable

from . import _errors as E
from ._errors import ApikeeError
from ._frozen import deep_copy, freeze
from ._scopes import scopes_satisfied

__all__ = ["ApikeeClaims"]

MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z
_MISSING = object()


# ── claims ──────────────────────────────────────────────────────────────────────────────────


def _utc_timestamp(moment: datetime) -> float:
    """Unix seconds of a datetime; a naive one is UTC (as everywhere in apikee)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _to_datetime(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)


class ApikeeClaims:
    """The verified claims of a key; read-only.

    Attributes: ``id``, ``tenant``, ``scopes`` (tuple), ``environment``, ``exp`` and ``nbf`` (the
    raw unix-seconds numbers or ``None``), ``raw_key``; properties ``expires_at`` and
    ``not_before`` (aware UTC datetimes, built only when read), ``meta`` (a read-only mapping).
    ``to_dict()`` gives every claim of the payload, unknown ones included.
    """

    __slots__ = ("id", "tenant", "scopes", "environment", "exp", "nbf", "raw_key", "_claims", "_views")

    def __init__(
        self,
        id: str = "",
        tenant: str = "",
        scopes: Iterable[str] = (),
        expires_at: datetime | None = None,
        not_before: datetime | None = None,
        environment: str = "production",
        meta: dict | None = None,
        raw_key: str = "",
        *,
        exp: float | None = None,
        nbf: float | None = None,
    ) -> None:
        # The public constructor (tests, dependency overrides); verify() builds claims itself.
        if expires_at is not None and exp is None:
            exp = _utc_timestamp(expires_at)
        if not_before is not None and nbf is None:
            nbf = _utc_timestamp(not_before)
        scopes = tuple(scopes)
        claims: dict[str, Any] = {"id": id, "tid": tenant, "scp": list(scopes), "env": environment}
        if exp is not None:
            claims["exp"] = exp
        if nbf is not None:
            claims["nbf"] = nbf
        if meta:
            claims["meta"] = deep_copy(dict(meta))
        _init_claims(self, id, tenant, scopes, environment, exp, nbf, raw_key, claims)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ApikeeClaims is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("ApikeeClaims is read-only")

    def _view(self, name: str) -> Any:
        # Datetimes and the meta view are built on first read, then kept: the object is
        # read-only, so they cannot go stale, and verify() never pays for them.
        views = self._views
        if views is None:
            views = {}
            _SLOT_SETTERS[-1](self, views)
        if name not in views:
            if name == "meta":
                views[name] = freeze(self._claims.get("meta", {}))
            else:
                views[name] = _to_datetime(self.exp if name == "expires_at" else self.nbf)
        return views[name]

    @property
    def expires_at(self) -> datetime | None:
        """Expiry as an aware UTC datetime, or ``None`` for a key that never expires."""
        return self._view("expires_at")

    @property
    def not_before(self) -> datetime | None:
        """Start of validity as an aware UTC datetime, or ``None``."""
        return self._view("not_before")

    @property
    def meta(self) -> Any:
        """The ``meta`` claim as a read-only mapping (nested lists as tuples)."""
        return self._view("meta")

    def has_scopes(self, *required: str, any_of: bool = False) -> bool:
        """Whether the key grants all (or, with ``any_of=True``, any) of the scopes.

        ``"*"`` grants every scope, ``"res:*"`` every ``"res:..."`` scope.
        """
        return scopes_satisfied(self.scopes, required, any_of=any_of)

    def to_dict(self) -> dict:
        """A fresh mutable copy of every claim in the payload, under its wire name."""
        return deep_copy(self._claims)

    def __repr__(self) -> str:
        expires = "never" if self.exp is None else self.expires_at.isoformat()
        return (
            f"ApikeeClaims(id={self.id!r}, tenant={self.tenant!r}, scopes={self.scopes!r}, "
            f"environment={self.environment!r}, expires_at={expires})"
        )

    def __eq__(self, other: object) -> bool:
        # By value, across both implementations' claims classes (same key, same claims).
        if type(other).__name__ != "ApikeeClaims" or not hasattr(other, "to_dict"):
            return NotImplemented
        return self.raw_key == other.raw_key and self._claims == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.raw_key)

    def __reduce__(self):
        return (_claims_from_dict, (self._claims, self.raw_key))


# Slot setters bypass the read-only __setattr__ (and are faster than going through it).
_SLOT_SETTERS = tuple(getattr(ApikeeClaims, name).__set__ for name in ApikeeClaims.__slots__)


def _init_claims(obj, id, tenant, scopes, environment, exp, nbf, raw_key, claims) -> None:
    s_id, s_tenant, s_scopes, s_env, s_exp, s_nbf, s_raw, s_claims, s_views = _SLOT_SETTERS
    s_id(obj, id)
    s_tenant(obj, tenant)
    s_scopes(obj, scopes)
    s_env(obj, environment)
    s_exp(obj, exp)
    s_nbf(obj, nbf)
    s_raw(obj, raw_key)
    s_claims(obj, claims)
    s_views(obj, None)


def _claim_error(name: str, expected: str) -> ApikeeError:
    return ApikeeError(E.ErrorCode.INVALID_CLAIMS, E.MSG_CLAIM_TYPE.format(name, expected))


def _timestamp_claim(claims: dict, name: str) -> float | None:
    value = claims.get(name, _MISSING)
    if value is _MISSING:
        return None
    kind = type(value)
    if kind is int or (kind is float and math.isfinite(value)):
        if 0 <= value <= MAX_TIMESTAMP:
            return value
    raise _claim_error(name, "a number of unix seconds from 0 to 253402300799")


def _text_claim(claims: dict, name: str, default: str) -> str:
    value = claims.get(name, default)
    if type(value) is not str:
        raise _claim_error(name, "a string")
    return value


def _claims_from_dict(claims: Any, raw_key: str) -> ApikeeClaims:
    """Validate a decoded payload (SPEC section 1 types) and build the claims object."""
    if type(claims) is not dict:
        raise ApikeeError(E.ErrorCode.INVALID_CLAIMS, E.MSG_NOT_OBJECT)
    key_id = _text_claim(claims, "id", "")
    tenant = _text_claim(claims, "tid", "")
    scopes = claims.get("scp", ())
    if type(scopes) is list:
        for scope in scopes:
            if type(scope) is not str:
                raise _claim_error("scp", "a list of strings")
        scopes = tuple(scopes)
    elif scopes != ():
        raise _claim_error("scp", "a list of strings")
    environment = _text_claim(claims, "env", "production")
    exp = _timestamp_claim(claims, "exp")
    nbf = _timestamp_claim(claims, "nbf")
    meta = claims.get("meta", _MISSING)
    if meta is not _MISSING and type(meta) is not dict:
        raise _claim_error("meta", "an object")
    obj = ApikeeClaims.__new__(ApikeeClaims)
    _init_claims(obj, key_id, tenant, scopes, environment, exp, nbf, raw_key, claims)
    return obj
