"""``apikee create``: make a key with the configured secret and print it (and nothing else).

The only command that prints a full key: that is its job. ``--json`` adds the key's claims.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from ..claims import claims_view
from ..input import configured_secrets, make_apikee, parse_expires, parse_when
from ..output import EXIT_OK, CliError, emit_json, err, out, safe
from ..parser import accepts_negative, add_secret_file_option

EPILOG = (
    "examples:\n  apikee create --tenant acme-corp --scope orders:read --expires 30d\n"
    "  apikee create --tenant acme-corp --meta plan=pro --meta seats:=25 --expires never"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--tenant``, ``--scope``, ``--expires``, ``--not-before``, ``--env``, ``--meta``."""
    add_secret_file_option(parser)
    parser.add_argument("--tenant", required=True, help="the customer the key is for")
    parser.add_argument(
        "--scope",
        action="append",
        default=[],
        metavar="SCOPE",
        help="a scope the key grants (repeatable)",
    )
    parser.add_argument(
        "--expires",
        metavar="WHEN",
        help="a duration (90d, 24h, 60m, 3600s, 1w), 'never', or an ISO 8601 date (default: 90d)",
    )
    parser.add_argument(
        "--not-before",
        metavar="WHEN",
        help="valid from: an ISO 8601 date, unix seconds, or +DURATION/-DURATION from now",
    )
    accepts_negative(parser, "--expires", "--not-before")
    parser.add_argument(
        "--env",
        default="production",
        metavar="ENV",
        help="the key's environment (default: production)",
    )
    parser.add_argument(
        "--meta",
        action="append",
        default=[],
        metavar="K=V",
        help="metadata, K=VALUE (string) or K:=JSON (repeatable); readable by "
        "anyone holding the key",
    )
    parser.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="LIMIT",
        help="a rate limit, COUNT/WINDOW[ burst N]: 10/s, 100/5m, 100000/month "
        "(30 days), or 'unlimited' (repeatable)",
    )
    parser.add_argument(
        "--ip",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="an IP address or CIDR range the key may be used from (repeatable)",
    )


_SENSITIVE_META = re.compile(
    r"pass|secret|token|ssn|social|card|cvv|iban|private|credential", re.IGNORECASE
)


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


def _rate_limit(items: list[str]) -> str | list[str] | None:
    if not items:
        return None
    return items[0] if len(items) == 1 else items


def run(args: argparse.Namespace) -> int:
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
    from ..secret_strength import judge_secret

    report = judge_secret(secrets[0])
    serious = [m for code, m in report.problems if code != "TOO_SHORT"]  # Apikee warned already
    if serious:
        err(f"apikee: warning: weak signing secret: {serious[0]} (see: apikee secret --check)")
    try:
        key = apikee.create(
            args.tenant,
            scopes=args.scope,
            meta=meta or None,
            environment=args.env,
            rate_limit=_rate_limit(args.rate_limit),
            allow_ips=args.ip or None,
            **options,
        )
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. --not-before after the expiry
        message = str(exc)
        for name, option in (
            ("not_before", "--not-before"),
            ("expires_in", "--expires"),
            ("rate_limit", "--rate-limit"),
            ("allow_ips", "--ip"),
        ):
            message = message.replace(name, option)  # the names the user typed
        raise CliError(f"cannot create the key: {message}") from None
    if args.json:
        from ..._keyutil import unverified_payload

        view, _ = claims_view(unverified_payload(key), key)
        emit_json({"key": key, "claims": view})
    else:
        out(key)
    return EXIT_OK
