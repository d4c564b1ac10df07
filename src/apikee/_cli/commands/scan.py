"""``apikee scan``: find leaked keys in files and report them (text, JSON or SARIF).

Exit 1 when a key that may work (live, not yet valid, unverifiable, platform) is found, unless
``--exit-zero``. Files that may hold keys but were not scanned (larger than ``--max-size``,
unreadable, or special files such as FIFOs, sockets and devices, which are never opened) are
named on stderr and counted in every format's summary (``possibly_missed``): by default they
do not change the exit status; with ``--strict`` they make it 1. UTF-16 and UTF-32 text is
read. The scanner and its reports are :mod:`apikee._cli.scan`.

With a store (``--store URL`` or ``APIKEE_STORE``) and a secret, keys the store has revoked are
reported ``revoked`` (they do not fail the scan). ``--revoke`` (needs both: exit 2 before
scanning without either) revokes every live or not-yet-valid key found, each once, and says
so in every format; those findings keep their status (the scan still exits 1: the key was
live when found and must still leave the code). A store that cannot take a revocation makes
the scan exit 1, even with ``--exit-zero``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING

from ..input import configured_secrets, make_apikee, parse_size
from ..masking import shown_argument
from ..output import EXIT_BAD, EXIT_OK, CliError, emit_json, err, safe
from ..parser import add_secret_file_option
from ..store import add_store_option, configured_store, open_store, unavailable

if TYPE_CHECKING:
    from ..._apikee import Apikee

EPILOG = (
    "examples:\n  apikee scan .\n"
    "  apikee scan --exclude 'tests/*' --format sarif . > apikee.sarif\n"
    "  apikee scan --patterns > .github/secret_scanning.yml\n"
    "  apikee scan --revoke --store sqlite:///var/lib/apikee/revocations.db .\n\n"
    "With APIKEE_SECRET (or --secret-file with every secret your servers accept) keys are\n"
    "verified: LIVE, NOT-YET-VALID, EXPIRED, FORGED. Without a secret, unexpired keys are\n"
    "UNVERIFIABLE. Exit 1 when a live, not-yet-valid, unverifiable or platform key is found.\n"
    "A line containing 'apikee-scan: ignore' is skipped (for documented example keys).\n"
    "UTF-16 and UTF-32 text files are read; FIFOs, sockets and devices are never opened.\n"
    "Files that may hold keys but were not scanned are reported; --strict makes them fail.\n"
    "--revoke revokes every LIVE and NOT-YET-VALID key found in the store (--store URL or\n"
    "APIKEE_STORE; the secret is required too) and reports it; the scan still exits 1."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PATH..., ``--exclude``, ``--format``, ``--max-size``, ``--exit-zero``, ``--strict``,
    ``--patterns``."""
    add_secret_file_option(parser)
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files and folders to scan")
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip files and folders matching GLOB (repeatable); .git is always skipped",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "sarif"),
        default="text",
        help="output format (sarif: SARIF 2.1.0 for code scanning)",
    )
    parser.add_argument(
        "--max-size",
        type=parse_size,
        default=10 * 1024 * 1024,
        metavar="SIZE",
        help="skip files larger than SIZE (default 10M; they are reported)",
    )
    parser.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even when keys are found (e.g. to upload SARIF in CI)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also exit 1 when a file that may hold keys was not scanned "
        "(larger than --max-size, unreadable, or a FIFO, socket or device); "
        "by default such files are only reported",
    )
    parser.add_argument(
        "--patterns",
        action="store_true",
        help="print the secret-scanning patterns (YAML for .github/secret_scanning.yml)",
    )
    add_store_option(parser)
    parser.add_argument(
        "--revoke",
        action="store_true",
        help="revoke every live or not-yet-valid key found, in the store "
        "(needs the secret and --store or APIKEE_STORE)",
    )
    parser.add_argument(
        "--reason",
        metavar="TEXT",
        help="with --revoke: the reason recorded (default: 'leaked: found by "
        "apikee scan in PATH:LINE')",
    )


class _Progress:
    """A one-line counter on stderr, only when stderr is a terminal, redrawn 10 times a second."""

    def __init__(self) -> None:
        self.last = 0.0
        self.shown = False

    def __call__(self, count: int, path: str) -> None:
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        self.shown = True
        shown = safe(path, 10_000)
        shown = shown if len(shown) <= 60 else "…" + shown[-59:]  # the file name end matters
        sys.stderr.write(f"\r\x1b[Kscanning… {count:,} files  {shown}")
        sys.stderr.flush()

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    """Scan the given paths (or print the secret-scanning patterns with --patterns)."""
    from ..scan import scanner

    fmt = "json" if args.json else args.format
    if args.patterns:
        if fmt == "json":
            emit_json({"patterns": [{"name": n, "pattern": p} for n, p in scanner.PATTERNS]})
        else:
            sys.stdout.write(scanner.patterns_yaml())
        return EXIT_OK
    if not args.paths:
        raise CliError("scan needs at least one PATH (or --patterns)")
    for path in args.paths:
        if not os.path.exists(path):
            raise CliError(f"no such file or folder: {shown_argument(path)}")
    if args.reason is not None and not args.revoke:
        raise CliError("--reason applies to --revoke only")
    if args.reason is not None and len(args.reason) > 500:
        raise CliError("--reason: at most 500 characters")
    secrets = configured_secrets(args, required=args.revoke)
    store = configured_store(args, required=args.revoke, shared=args.revoke) if secrets else None
    with ExitStack() as stack:
        apikee = None
        if secrets and store:
            apikee = stack.enter_context(open_store(store, secrets, value_errors=False))
            health = apikee.store_status() or {}
            if not health.get("healthy") and health.get("last_error"):
                if args.revoke:
                    raise unavailable(health["last_error"])  # exit 1 before scanning
                err(
                    f"apikee: note: {unavailable(health['last_error']).message}; keys it "
                    "revoked may be reported as live"
                )
        elif secrets:
            apikee = make_apikee(secrets)
        status = _scan(args, fmt, apikee)
    return status


def _scan(args: argparse.Namespace, fmt: str, apikee: Apikee | None) -> int:
    """Scan, report, and say how it went (the exit status)."""
    from ..scan import scanner
    from ..scan.report import describe_finding, json_report, print_text_report
    from ..scan.revoking import Revoker

    revoker = Revoker(apikee, args.reason) if args.revoke and apikee is not None else None
    progress = _Progress() if sys.stderr.isatty() else None
    started = time.monotonic()
    try:
        result = scanner.scan(
            args.paths,
            apikee=apikee,
            excludes=args.exclude,
            max_size=args.max_size,
            progress=progress,
            revoke=revoker,
        )
    finally:
        if progress is not None:
            progress.done()
    elapsed = time.monotonic() - started
    failed = bool(result.failing) and not args.exit_zero
    status = EXIT_BAD if failed or (args.strict and result.possibly_missed) else EXIT_OK
    if result.revoke_failed:
        status = EXIT_BAD  # a revocation that did not happen: the job is not done
    if fmt == "sarif":
        from ... import __version__
        from ..scan.sarif import to_sarif

        emit_json(to_sarif(result, version=__version__, describe=describe_finding))
    elif fmt == "json":
        emit_json(json_report(result, elapsed))
    else:
        print_text_report(result, args.max_size, elapsed, strict=args.strict)
    if result.revoke_error is not None:
        err(f"apikee: {unavailable(result.revoke_error).message}")
    return status
