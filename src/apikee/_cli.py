"""The ``apikee`` command line: secrets, keys, leak scanning, diagnostics.

``apikee`` (or ``python -m apikee``) with no arguments runs a short demo. Commands: ``demo``,
``secret``, ``create``, ``verify``, ``inspect``, ``scan``, ``info``; each takes ``--json``.

Exit codes: 0 success; 1 a key or secret was judged bad (or ``scan`` found keys that may work);
2 a usage or configuration error (argparse's own errors included); 3 an internal error (a bug).

Nothing here prints a signing secret, and only ``create`` (whose job it is) and the demo (with
a throwaway secret) print a full key: scan results, errors and argparse's messages mask keys.
This module is the parser and the entry point. Each command lives in its own module
(``_cli_secret``, ``_cli_keys``, ``_cli_scan``, ``_cli_info``), imported only when that command
runs, and heavy modules only inside the commands that need them: ``apikee --version`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Callable, NoReturn

from ._cliinput import parse_size
from ._clitext import EXIT_BAD, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, CliError, err, redact, safe

__all__ = ["main", "build_parser"]

Handler = Callable[[argparse.Namespace], int]


def cmd_demo(args: argparse.Namespace) -> int:
    """The in-memory tour (``apikee`` with no arguments)."""
    from ._demo import run_demo

    return run_demo(json_output=args.json)


def _handler(target: str) -> Handler:
    """The command function ``"module:function"``, imported only when that command runs."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(f".{module}", __package__), name)


# ── parser ──────────────────────────────────────────────────────────────────────────────────


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse quotes the offending argument: a key pasted in the wrong place must not echo.
        super().error(redact(message))


_EPILOG = """\
exit codes: 0 success, 1 a key or secret judged bad (scan: keys that may work were found),
            2 usage or configuration error, 3 internal error

Run `apikee` with no arguments for a demo; `apikee COMMAND --help` for a command's options."""


def build_parser(prog: str = "apikee") -> argparse.ArgumentParser:
    """The argparse parser of every command."""
    from . import __version__

    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=prog,
        description="Self-contained, HMAC-signed API keys: secrets, keys, leak scanning.",
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"apikee {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    json_opt = _Parser(add_help=False)
    json_opt.add_argument(
        "--json", action="store_true", help="print one JSON document (stable shape)"
    )
    secret_opt = _Parser(add_help=False)
    secret_opt.add_argument(
        "--secret-file", metavar="FILE",
        help="read secrets from FILE, one a line, current first (default: APIKEE_SECRET)",
    )

    def command(name: str, handler: str, help: str,
                parents: tuple = (), epilog: str | None = None) -> argparse.ArgumentParser:
        # handler is "module:function", resolved by _handler only for the command that runs.
        sub = commands.add_parser(
            name, help=help, description=help, parents=[json_opt, *parents], epilog=epilog,
            formatter_class=formatter,
        )
        sub.set_defaults(handler=handler)
        return sub

    command(
        "demo", "_cli:cmd_demo",
        "a short tour of the library, in memory (the default command)",
    )

    sub = command(
        "secret", "_cli_secret:cmd_secret",
        "make a new signing secret, or --check the strength of one",
        parents=(secret_opt,),
        epilog="examples:\n  apikee secret\n  APIKEE_SECRET=... apikee secret --check\n"
        "  apikee secret --check --stdin < secret.txt",
    )
    sub.add_argument(
        "--check", action="store_true",
        help="judge APIKEE_SECRET (or stdin, or --secret-file); exit 1 when weak; never prints it",
    )
    sub.add_argument(
        "--stdin", action="store_true", help="with --check: read the secret from stdin"
    )

    sub = command(
        "create", "_cli_keys:cmd_create", "create a key (prints the key only)",
        parents=(secret_opt,),
        epilog="examples:\n  apikee create --tenant acme-corp --scope orders:read --expires 30d\n"
        "  apikee create --tenant acme-corp --meta plan=pro --meta seats:=25 --expires never",
    )
    sub.add_argument("--tenant", required=True, help="the customer the key is for")
    sub.add_argument("--scope", action="append", default=[], metavar="SCOPE",
                     help="a scope the key grants (repeatable)")
    sub.add_argument("--expires", metavar="WHEN",
                     help="a duration (90d, 24h, 60m, 3600s, 1w), 'never', or an ISO 8601 date "
                     "(default: 90d)")
    sub.add_argument("--not-before", metavar="WHEN",
                     help="valid from: an ISO 8601 date, unix seconds, or +DURATION from now")
    sub.add_argument("--env", default="production", metavar="ENV",
                     help="the key's environment (default: production)")
    sub.add_argument("--meta", action="append", default=[], metavar="K=V",
                     help="metadata, K=VALUE (string) or K:=JSON (repeatable); readable by anyone "
                     "holding the key")

    key_help = "the key, or - to read it from stdin (keeps it out of shell history)"
    sub = command(
        "verify", "_cli_keys:cmd_verify",
        "verify a key with your secret: claims on success, CODE: message on failure",
        parents=(secret_opt,),
        epilog="examples:\n  apikee verify - < key.txt\n"
        "  apikee verify --require-scope orders:write - < key.txt",
    )
    sub.add_argument("key", metavar="KEY", help=key_help)
    sub.add_argument("--now", metavar="WHEN",
                     help="verify as of this instant: ISO 8601, unix seconds, or +DURATION")
    sub.add_argument("--require-scope", action="append", default=[], metavar="SCOPE",
                     help="fail with INSUFFICIENT_SCOPE unless the key grants SCOPE (repeatable)")
    sub.add_argument("--any-scope", action="store_true",
                     help="one of the --require-scope scopes is enough")
    sub.add_argument("--env", metavar="ENV",
                     help="fail with WRONG_ENVIRONMENT unless the key is for ENV")

    sub = command(
        "inspect", "_cli_keys:cmd_inspect",
        "decode a key's claims WITHOUT a secret (nothing is verified)",
        epilog="example:\n  apikee inspect - < key.txt",
    )
    sub.add_argument("key", metavar="KEY", help=key_help)

    sub = command(
        "scan", "_cli_scan:cmd_scan",
        "find leaked apikee_ keys and sk_live_/sk_test_ platform keys in files",
        parents=(secret_opt,),
        epilog="examples:\n  apikee scan .\n"
        "  apikee scan --exclude 'tests/*' --format sarif . > apikee.sarif\n"
        "  apikee scan --patterns > .github/secret_scanning.yml\n\n"
        "With APIKEE_SECRET (or --secret-file with every secret your servers accept) keys are\n"
        "verified: LIVE, NOT-YET-VALID, EXPIRED, FORGED. Without a secret, unexpired keys are\n"
        "UNVERIFIABLE. Exit 1 when a live, not-yet-valid, unverifiable or platform key is found.\n"
        "A line containing 'apikee-scan: ignore' is skipped (for documented example keys).",
    )
    sub.add_argument("paths", nargs="*", metavar="PATH", help="files and folders to scan")
    sub.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                     help="skip files and folders matching GLOB (repeatable); "
                     ".git is always skipped")
    sub.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                     help="output format (sarif: SARIF 2.1.0 for code scanning)")
    sub.add_argument("--max-size", type=parse_size, default=10 * 1024 * 1024, metavar="SIZE",
                     help="skip files larger than SIZE (default 10M)")
    sub.add_argument("--exit-zero", action="store_true",
                     help="exit 0 even when keys are found (e.g. to upload SARIF in CI)")
    sub.add_argument("--patterns", action="store_true",
                     help="print the secret-scanning patterns "
                     "(YAML for .github/secret_scanning.yml)")

    command(
        "info", "_cli_info:cmd_info",
        "version, implementation in use and why, Python, platform",
    )
    return parser


# ── entry point ─────────────────────────────────────────────────────────────────────────────


def _configure_streams() -> None:
    # Decoded claims may hold anything; an unencodable character must not end the program.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - exotic streams
                pass


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (``apikee`` console script)."""
    _configure_streams()
    arguments = sys.argv[1:] if argv is None else list(argv)
    prog = "python -m apikee" if os.path.basename(sys.argv[0] or "") == "__main__.py" else "apikee"
    if not arguments:
        arguments = ["demo"]
    try:
        parser = build_parser(prog)
        args = parser.parse_args(arguments)
        if args.command is None:  # only top-level options were given
            args = parser.parse_args(["demo"])
        return _handler(args.handler)(args)
    except CliError as exc:
        err(f"apikee: {exc.message}")
        return exc.status
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or EXIT_OK
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("apikee: interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (`apikee scan . | head`): silence the flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BAD
    except Exception as exc:  # a bug: one clear line, the traceback only on request
        if os.environ.get("APIKEE_DEBUG"):
            raise
        err(
            f"apikee: internal error: {type(exc).__name__}: {safe(redact(str(exc)))}\n"
            "  please report it with the output of `apikee info` "
            "(APIKEE_DEBUG=1 shows the traceback)"
        )
        return EXIT_INTERNAL
