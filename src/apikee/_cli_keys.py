"""``apikee create``, ``verify`` and ``inspect``: the commands that make and read keys.

Only ``create`` prints a full key (its job); ``verify`` and ``inspect`` print the claims, or
``CODE: message`` on failure.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from typing import Any

from ._cliclaims import claims_lines, claims_view
from ._cliinput import (
    configured_secrets,
    instant_seconds,
    make_apikee,
    parse_expires,
    parse_when,
    read_key_argument,
)
from ._clitext import EXIT_BAD, EXIT_OK, CliError, emit_json, err, out, safe

_SENSITIVE_META = re.compile(r"pass|secret|token|ssn|social|card|cvv|iban|private|credential", re.I)


def _parse_meta(items: list[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for item in items:
        if item.split("=", 1)[0].endswith(":"):  # K:=JSON (HTTPie's convention for raw JSON)
            name, _, raw = item.partition(":=")
            try:
                value = json.loads(raw)
            except ValueError:
                raise CliError(f"--meta {safe(name, 40)}:=…: not valid JSON") from None
        else:
            name, sep, value = item.partition("=")
            if not sep:
                raise CliError("--meta takes KEY=VALUE (a string) or KEY:=JSON")
        name = name.strip()
        if not name:
            raise CliError("--meta: the name before '=' is empty")
        if _SENSITIVE_META.search(name):
            err(
                f"apikee: warning: meta {name!r} will be readable by anyone who holds the key "
                "(claims are encoded, not encrypted): never put secrets or personal data in meta"
            )
        meta[name] = value
    return meta


def _rejected(error: Any, as_json: bool, flag: str) -> int:
    """Report a key ``verify`` or ``inspect`` could not accept: ``{flag: false, error, message}``
    in JSON, else ``CODE: message`` on stderr; exit 1."""
    if as_json:
        emit_json({flag: False, "error": error.code, "message": error.message})
    else:
        err(f"{error.code}: {error.message}")
    return EXIT_BAD


def cmd_create(args: argparse.Namespace) -> int:
    """Create a key with the configured secret and print it (with its claims under --json)."""
    secrets = configured_secrets(args)
    if not args.tenant.strip():
        raise CliError("--tenant must not be empty")
    options: dict[str, Any] = {}
    if args.expires is not None:
        options["expires_in"] = parse_expires(args.expires)
    if args.not_before is not None:
        options["not_before"] = parse_when(args.not_before, "--not-before")
    meta = _parse_meta(args.meta)
    apikee = make_apikee(secrets)
    from ._secretcheck import judge_secret

    report = judge_secret(secrets[0])
    serious = [m for code, m in report.problems if code != "TOO_SHORT"]  # Apikee warned already
    if serious:
        err(f"apikee: warning: weak signing secret: {serious[0]} (see: apikee secret --check)")
    try:
        key = apikee.create(
            args.tenant, scopes=args.scope, meta=meta or None, environment=args.env, **options
        )
    except (ValueError, TypeError, OverflowError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        from ._keyutil import decode_unverified

        view, _ = claims_view(decode_unverified(key), key)
        emit_json({"key": key, "claims": view})
    else:
        out(key)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify a key with the configured secret(s); exit 1 when it is not valid."""
    from ._errors import ApikeeError

    if args.any_scope and not args.require_scope:
        raise CliError("--any-scope needs at least one --require-scope")
    now = instant_seconds(args.now, "--now") if args.now is not None else None
    secrets = configured_secrets(args)
    apikee = make_apikee(secrets, environment=args.env)
    key = read_key_argument(args.key)
    try:
        claims = apikee.verify(key, now=now, scopes=args.require_scope, any_of=args.any_scope)
    except ApikeeError as exc:
        return _rejected(exc, args.json, "valid")
    view, _ = claims_view(claims.to_dict(), key)
    if args.json:
        emit_json({"valid": True, "claims": view})
    else:
        out("VALID: the signature matches your secret and the key is within its validity window")
        for line in claims_lines(view, time.time() if now is None else now):
            out(line)
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace) -> int:
    """Decode a key's claims without a secret; exit 1 when they cannot be read or are invalid."""
    from ._errors import ApikeeError, ErrorCode
    from ._keyutil import decode_unverified

    key = read_key_argument(args.key)
    try:
        claims = decode_unverified(key)
        if type(claims) is not dict:
            raise ApikeeError(ErrorCode.INVALID_CLAIMS, "the key claims are not an object")
    except ApikeeError as exc:
        return _rejected(exc, args.json, "verified")
    view, problems = claims_view(claims, key)
    if args.json:
        emit_json({"verified": False, "claims": view, "problems": problems})
        return EXIT_BAD if problems else EXIT_OK
    out("NOT VERIFIED: decoded without any secret. Anyone can read these claims, and anyone")
    out("can write a key that shows them: only `apikee verify` (with your secret) proves a key.")
    for line in claims_lines(view, time.time()):
        out(line)
    for problem in problems:
        out(f"  problem: {problem} (verify would answer INVALID_CLAIMS)")
    return EXIT_BAD if problems else EXIT_OK
