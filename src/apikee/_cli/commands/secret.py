"""``apikee secret``: make a new signing secret, or ``--check`` the strength of one.

The secret checked is never printed: only its source (``APIKEE_SECRET``, ``stdin``, a file
line) and the verdict are (:mod:`apikee._cli.secret_strength` judges it).
"""

from __future__ import annotations

import argparse
import os
import sys

from ..masking import shown_argument
from ..output import EXIT_BAD, EXIT_OK, CliError, emit_json, err, out
from ..parser import add_secret_file_option
from ..secret_file import SECRET_FILE_LIMIT, read_secret_file

EPILOG = (
    "examples:\n  apikee secret\n  APIKEE_SECRET=... apikee secret --check\n"
    "  apikee secret --check --stdin < secret.txt"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--secret-file``, ``--check``, ``--stdin``."""
    add_secret_file_option(parser)
    parser.add_argument(
        "--check",
        action="store_true",
        help="judge APIKEE_SECRET (or stdin, or --secret-file); exit 1 when weak; never prints it",
    )
    parser.add_argument(
        "--stdin", action="store_true", help="with --check: read the secret from stdin"
    )


def _secrets_to_check(args: argparse.Namespace) -> list[tuple[str, str]]:
    if args.secret_file:
        return [
            (f"{shown_argument(args.secret_file)} line {n}", s)
            for n, s in enumerate(read_secret_file(args.secret_file), 1)
        ]
    if not args.stdin:
        value = os.environ.get("APIKEE_SECRET", "").strip()
        if value:
            return [("APIKEE_SECRET", value)]
    if sys.stdin is None:
        raise CliError("nothing to check: set APIKEE_SECRET or pipe the secret on stdin")
    if sys.stdin.isatty():  # typed by hand: never echo it
        import getpass

        text = getpass.getpass("Secret to check (input hidden): ")
    else:
        text = sys.stdin.buffer.read(SECRET_FILE_LIMIT).decode("utf-8", "surrogateescape")
    text = text.strip()
    if not text:
        raise CliError("nothing to check: set APIKEE_SECRET or pipe the secret on stdin")
    return [("stdin", text)]


def run(args: argparse.Namespace) -> int:
    """Print a new secret, or judge the configured one(s); exit 1 when one is weak."""
    if not args.check:
        if args.stdin or args.secret_file:
            raise CliError("--stdin and --secret-file go with --check")
        from ..._keyutil import generate_secret

        secret = generate_secret()
        if args.json:
            emit_json({"secret": secret, "bytes": 32, "encoding": "hex"})
        else:
            out(secret)
            if sys.stdout.isatty():
                err("apikee: store it as APIKEE_SECRET in your secrets manager; never commit it")
        return EXIT_OK

    from ..secret_strength import judge_secret

    results = [(label, judge_secret(secret)) for label, secret in _secrets_to_check(args)]
    weak = any(not report.ok for _, report in results)
    if args.json:
        emit_json(
            {
                "ok": not weak,
                "results": [{"source": label, **report.to_dict()} for label, report in results],
            }
        )
        return EXIT_BAD if weak else EXIT_OK
    for label, report in results:
        summary = (
            f"{report.length} bytes, {report.alphabet}, "
            f"about {report.entropy_bits} bits of entropy estimated"
        )
        out(f"{label}: {'OK' if report.ok else 'WEAK'} ({summary})")
        for _, message in report.problems:
            out(f"  problem: {message}")
        for _, message in report.warnings:
            out(f"  note: {message}")
    if weak:
        out("Replace it with a new secret: apikee secret   (or: openssl rand -hex 32)")
    return EXIT_BAD if weak else EXIT_OK
