"""What both claims classes share that is not on the verify path (written once, not twinned).

The pure ``ApikeeClaims`` (``_claims_py.py``) and its compiled twin (``_claims_c.pxi``) keep only
what verify() itself needs; the public constructor's argument checks, ``repr``, equality, the
JSON-ready view and the datetime conversions live here and are called by both.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

from ._revoked import issued_at
from ._wire import MAX_TIMESTAMP

__all__ = [
    "claims_equal",
    "claims_repr",
    "iso_utc",
    "json_view",
    "to_datetime",
    "utc_timestamp",
    "wire_from_arguments",
]


def utc_timestamp(moment: datetime) -> float:
    """Unix seconds of a datetime; a naive one is UTC (as everywhere in apikee)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def to_datetime(value: float | None) -> datetime | None:
    """An aware UTC datetime for unix seconds (None stays None)."""
    return None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)


def iso_utc(value: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC, ``2026-03-01T12:00:00Z`` (fractions kept); None stays None."""
    if value is None:
        return None
    text = datetime.fromtimestamp(value, tz=timezone.utc).isoformat()
    return text.replace("+00:00", "Z")


def _text(value: Any, name: str) -> str:
    if type(value) is not str:
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value


def _instant(moment: Any, seconds: Any, name: str) -> float | None:
    if moment is not None:
        if not isinstance(moment, datetime):
            raise TypeError(f"{name} must be a datetime or None")
        if seconds is None:
            seconds = utc_timestamp(moment)
    if seconds is None:
        return None
    if isinstance(seconds, bool) or type(seconds) not in (int, float):
        raise TypeError(f"{name} must be a number of unix seconds")
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_TIMESTAMP):
        raise ValueError(f"{name} must be from 0 to {MAX_TIMESTAMP} unix seconds")
    return seconds  # type: ignore[no-any-return]


def wire_from_arguments(
    id: Any,
    tenant: Any,
    scopes: Any,
    expires_at: Any,
    not_before: Any,
    environment: Any,
    meta: Any,
    exp: Any,
    nbf: Any,
    iat: Any = None,
) -> dict[str, Any]:
    """The wire claims of the public ``ApikeeClaims(...)`` constructor, checked.

    Raises ``TypeError``/``ValueError`` for anything a key could not carry, so a hand-built
    claims object holds exactly what a verified one could (meta goes through a JSON round trip:
    tuples become lists, non-JSON values are refused).
    """
    if isinstance(scopes, (str, bytes)):
        raise TypeError("scopes must be a list of strings, not a single string")
    scope_list = list(scopes)
    for scope in scope_list:
        if type(scope) is not str:
            raise TypeError(f"every scope must be a str, not {type(scope).__name__}")
    wire: dict[str, Any] = {
        "id": _text(id, "id"),
        "tid": _text(tenant, "tenant"),
        "scp": scope_list,
        "env": _text(environment, "environment"),
    }
    exp = _instant(expires_at, exp, "expires_at/exp")
    nbf = _instant(not_before, nbf, "not_before/nbf")
    iat = _instant(None, iat, "iat")
    if exp is not None:
        wire["exp"] = exp
    if nbf is not None:
        wire["nbf"] = nbf
    if iat is not None:
        wire["iat"] = iat
    if meta is not None:
        if not isinstance(meta, dict):
            raise TypeError("meta must be a dict")
        try:
            meta = json.loads(json.dumps(meta, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"meta must be JSON data: {exc}") from None
        if meta:
            wire["meta"] = meta
    return wire


def json_view(claims: Any) -> dict[str, Any]:
    """The claims as a fresh JSON-ready dict under their attribute names (``to_json_dict()``).

    ``id, tenant, scopes, environment, expires_at, exp, not_before, nbf, issued_at, iat, meta``:
    the datetimes as ISO 8601 UTC strings (or null), the raw numbers beside them. The same shape
    as the first keys of the CLI's ``--json`` output.
    """
    return {
        "id": claims.id,
        "tenant": claims.tenant,
        "scopes": list(claims.scopes),
        "environment": claims.environment,
        "expires_at": iso_utc(claims.exp),
        "exp": claims.exp,
        "not_before": iso_utc(claims.nbf),
        "nbf": claims.nbf,
        "issued_at": iso_utc(issued_at(claims)),
        "iat": claims.iat,
        "meta": claims.to_dict().get("meta", {}),
    }


def claims_repr(claims: Any) -> str:
    """``ApikeeClaims(id=…, tenant=…, scopes=[…], environment=…, expires_at=…)``; never the key."""
    expires = "never" if claims.exp is None else iso_utc(claims.exp)
    marker = "" if claims.verified else ", verified=False"
    return (
        f"ApikeeClaims(id={claims.id!r}, tenant={claims.tenant!r}, scopes={list(claims.scopes)!r}, "
        f"environment={claims.environment!r}, expires_at={expires}{marker})"
    )


def claims_equal(a: Any, b: Any, public_class: type[Any]) -> Any:
    """Equality by value across both implementations (same key, same claims, same marker)."""
    if not isinstance(b, public_class):
        return NotImplemented
    return a.raw_key == b.raw_key and a.verified == b.verified and a.to_dict() == b.to_dict()
