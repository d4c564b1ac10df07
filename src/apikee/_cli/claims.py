"""A key's claims as the command line shows them: the stable ``--json`` shape and text lines,
or why a key has none (``CODE: message``).

Used by ``create``, ``verify``, ``inspect`` and the demo. The claims may come from a key that
was never verified, so every value is checked for its type and made safe to print.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._revoked import key_id_issued_at
from .._wire import MAX_TIMESTAMP, TIMESTAMP_RANGE
from .output import EXIT_BAD, emit_json, err, iso, jsonable, relative, safe

if TYPE_CHECKING:
    from .._errors import ApikeeError

_KNOWN_CLAIMS = ("id", "tid", "scp", "env", "exp", "nbf", "iat", "meta")


def unix_seconds(value: Any) -> float | None:
    """A claim's value as unix seconds when it is a valid instant (an int or a float, not a
    bool, from 0 to MAX_TIMESTAMP), else None."""
    if type(value) in (int, float) and 0 <= value <= MAX_TIMESTAMP:
        number: float = value
        return number
    return None


def claims_view(claims: dict[str, Any], key: str | bytes) -> tuple[dict[str, Any], list[str]]:
    """The stable ``--json`` shape of a key's claims, and any type problems found in them.

    Shape: ``id, tenant, scopes, environment, expires_at, exp, not_before, nbf, meta,
    fingerprint, other_claims``; ``*_at``/``not_before`` are ISO 8601 UTC or null.
    """
    from .._keyutil import hash_key

    problems: list[str] = []

    def text(name: str, default: str) -> Any:
        value = claims.get(name, default)
        if type(value) is not str:
            problems.append(f"claim '{name}' must be a string")
        return jsonable(value)

    def instant(name: str) -> tuple[Any, str | None]:
        value = claims.get(name)
        if value is None and name not in claims:
            return None, None
        seconds = unix_seconds(value)
        if seconds is not None:
            return seconds, iso(seconds)
        problems.append(f"claim '{name}' must be {TIMESTAMP_RANGE}")
        return jsonable(value), None

    key_id, tenant = text("id", ""), text("tid", "")
    scopes = claims.get("scp", [])
    if type(scopes) is not list or any(type(s) is not str for s in scopes):
        problems.append("claim 'scp' must be a list of strings")
    environment = text("env", "production")
    exp, expires_at = instant("exp")
    nbf, not_before = instant("nbf")
    iat, _ = instant("iat")
    issued = iat if iat is not None and not isinstance(iat, str) else None
    if issued is None and isinstance(key_id, str):
        issued = key_id_issued_at(key_id)
    meta = claims.get("meta", {})
    if type(meta) is not dict:
        problems.append("claim 'meta' must be an object")
    if isinstance(key, str):
        key = key.encode("utf-8", "surrogatepass")
    view = {
        "id": key_id,
        "tenant": tenant,
        "scopes": jsonable(scopes),
        "environment": environment,
        "expires_at": expires_at,
        "exp": exp,
        "not_before": not_before,
        "nbf": nbf,
        "issued_at": iso(issued) if issued is not None else None,
        "iat": iat,
        "meta": jsonable(meta),
        "fingerprint": hash_key(key),
        "policy": policy_view(claims, problems),
        "other_claims": jsonable(
            {k: v for k, v in claims.items() if k not in _KNOWN_CLAIMS and k not in ("rl", "ip")}
        ),
    }
    return view, problems


def policy_view(claims: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """The key's rate limits and allow list (docs/SPEC.md section 8), readable; a malformed
    one is a problem (verify() refuses it with INVALID_CLAIMS)."""
    from .._policy import claim_summary

    summary = claim_summary(claims)
    for name in ("rate_limit", "allow_ips"):
        value = summary.get(name)
        if isinstance(value, dict):
            problems.append(str(value["error"]))
            summary[name] = f"(invalid: {value['error']})"
    return summary


def claims_lines(view: dict[str, Any], now: float, indent: str = "  ") -> list[str]:
    """The claims as aligned ``name  value`` lines for people."""
    scopes = view["scopes"]
    if isinstance(scopes, list) and scopes:
        scope_text = ", ".join(safe(s, 80) for s in scopes)
    else:
        scope_text = "(none)" if scopes == [] else safe(scopes)

    def when(at: str | None, raw: Any, absent: str) -> str:
        if at is not None:
            return f"{at} ({relative(raw, now)})"
        return absent if raw is None else f"{safe(raw)} (invalid)"

    rows = [
        ("id", safe(view["id"])),
        ("tenant", safe(view["tenant"])),
        ("scopes", scope_text),
        ("environment", safe(view["environment"])),
        ("expires", when(view["expires_at"], view["exp"], "never")),
    ]
    if view["nbf"] is not None:
        rows.append(("not before", when(view["not_before"], view["nbf"], "-")))
    rows.append(("meta", safe(view["meta"]) if view["meta"] != {} else "(none)"))
    policy = view.get("policy") or {}
    if "rate_limit" in policy:
        limits = policy["rate_limit"]
        rows.append(("rate limit", safe(", ".join(limits) if isinstance(limits, list) else limits)))
    if "allow_ips" in policy:
        ips = policy["allow_ips"]
        rows.append(("allow ips", safe(", ".join(ips) if isinstance(ips, list) else ips, 200)))
    if view["other_claims"]:
        rows.append(("other claims", safe(view["other_claims"])))
    rows.append(("fingerprint", f"{view['fingerprint']} (sha256, = apikee.hash_key(key))"))
    return [f"{indent}{name:<12} {value}" for name, value in rows]


def rejected(error: ApikeeError, as_json: bool, flag: str) -> int:
    """Report a key ``verify`` or ``inspect`` could not accept: ``{flag: false, error, message}``
    in JSON, else ``CODE: message`` on stderr; exit 1."""
    if as_json:
        emit_json({flag: False, "error": error.code, "message": error.message})
    else:
        err(f"{error.code}: {error.message}")
    return EXIT_BAD
