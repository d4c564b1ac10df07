"""``apikee verify``: verify a key with your secret(s); the claims, or ``CODE: message``.

Exit 0 when the key is valid (and grants the ``--require-scope`` scopes, and is for ``--env``),
else 1 with the library's error code: the same answer your servers give.
"""

from __future__ import annotations

import argparse
import time

from ..claims import claims_lines, claims_view, rejected
from ..input import configured_secrets, instant_seconds, make_apikee, read_key_argument
from ..output import EXIT_OK, CliError, emit_json, out
from ..parser import accepts_negative, add_key_argument, add_secret_file_option

EPILOG = (
    "examples:\n  apikee verify - < key.txt\n"
    "  apikee verify --require-scope orders:write - < key.txt"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """KEY, ``--now``, ``--require-scope``, ``--any-scope``, ``--env``."""
    add_secret_file_option(parser)
    add_key_argument(parser)
    parser.add_argument(
        "--now",
        metavar="WHEN",
        help="verify as of this instant: ISO 8601, unix seconds, or +DURATION/-DURATION from now",
    )
    accepts_negative(parser, "--now")
    parser.add_argument(
        "--require-scope",
        action="append",
        default=[],
        metavar="SCOPE",
        help="fail with INSUFFICIENT_SCOPE unless the key grants SCOPE (repeatable)",
    )
    parser.add_argument(
        "--any-scope", action="store_true", help="one of the --require-scope scopes is enough"
    )
    parser.add_argument(
        "--env", metavar="ENV", help="fail with WRONG_ENVIRONMENT unless the key is for ENV"
    )


def run(args: argparse.Namespace) -> int:
    """Verify a key with the configured secret(s); exit 1 when it is not valid."""
    from ..._errors import ApikeeError

    if args.any_scope and not args.require_scope:
        raise CliError("--any-scope needs at least one --require-scope")
    now = instant_seconds(args.now, "--now") if args.now is not None else None
    secrets = configured_secrets(args)
    apikee = make_apikee(secrets, environment=args.env)
    key = read_key_argument(args.key)
    try:
        claims = apikee.verify(key, now=now, scopes=args.require_scope, any_of=args.any_scope)
    except ApikeeError as exc:
        return rejected(exc, args.json, "valid")
    view, _ = claims_view(claims.to_dict(), key)
    if args.json:
        emit_json({"valid": True, "claims": view})
    else:
        out("VALID: the signature matches your secret and the key is within its validity window")
        for line in claims_lines(view, time.time() if now is None else now):
            out(line)
    return EXIT_OK
