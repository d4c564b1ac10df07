"""``apikee scan``: find leaked keys in files and report them (text, JSON or SARIF).

Exit 1 when a key that may work (live, not yet valid, unverifiable, platform) is found, unless
``--exit-zero``. The scanning itself is :mod:`apikee._scan`; the report :mod:`apikee._scanreport`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from ._cliinput import configured_secrets, make_apikee
from ._clitext import EXIT_BAD, EXIT_OK, CliError, emit_json, redact, safe


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


def cmd_scan(args: argparse.Namespace) -> int:
    """Scan the given paths (or print the secret-scanning patterns with --patterns)."""
    from . import _scan
    from ._scanreport import describe_finding, json_report, print_text_report

    fmt = "json" if args.json else args.format
    if args.patterns:
        if fmt == "json":
            emit_json({"patterns": [{"name": n, "pattern": p} for n, p in _scan.PATTERNS]})
        else:
            sys.stdout.write(_scan.patterns_yaml())
        return EXIT_OK
    if not args.paths:
        raise CliError("scan needs at least one PATH (or --patterns)")
    for path in args.paths:
        if not os.path.exists(path):
            raise CliError(f"no such file or folder: {safe(redact(path), 120)}")
    secrets = configured_secrets(args, required=False)
    apikee = make_apikee(secrets) if secrets else None
    progress = _Progress() if sys.stderr.isatty() else None
    started = time.monotonic()
    try:
        result = _scan.scan(
            args.paths, apikee=apikee, excludes=args.exclude, max_size=args.max_size,
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.done()
    elapsed = time.monotonic() - started
    status = EXIT_BAD if result.failing and not args.exit_zero else EXIT_OK
    if fmt == "sarif":
        from . import __version__
        from ._sarif import to_sarif

        emit_json(to_sarif(result, version=__version__, describe=describe_finding))
    elif fmt == "json":
        emit_json(json_report(result, elapsed))
    else:
        print_text_report(result, args.max_size, elapsed)
    return status
