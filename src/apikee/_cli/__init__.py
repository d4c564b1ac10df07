"""The ``apikee`` command line: secrets, keys, leak scanning, diagnostics.

``apikee`` (or ``python -m apikee``) with no arguments runs a short demo (``apikee --json``:
the demo's results as JSON). Commands: ``demo``, ``secret``, ``create``, ``verify``,
``inspect``, ``scan``, ``info``; each takes ``--json``.

Exit codes: 0 success; 1 a key or secret was judged bad (or ``scan`` found keys that may work,
or with ``--strict`` skipped files that may hold some); 2 a usage or configuration error
(argparse's own errors included); 3 an internal error (a bug).

Nothing here prints a signing secret, and only ``create`` (whose job it is) and the demo (with
a throwaway secret) print a full key: scan results, errors and argparse's messages mask keys
and anything that looks like a secret (:mod:`apikee._cli.masking`).

Layout: this module is the entry point (``apikee._cli:main``); :mod:`.parser` builds the
parser; :mod:`.commands` has one module a command, imported only when that command runs, each
declaring its own options; :mod:`.scan` is the leak scanner with its text, JSON and SARIF
reports; :mod:`.output`, :mod:`.input`, :mod:`.secret_file`, :mod:`.claims`,
:mod:`.masking` and :mod:`.secret_strength` are the helpers the commands share.
"""

from __future__ import annotations

import os
import sys

from .masking import mask_secrets
from .output import EXIT_BAD, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, CliError, err, safe

__all__ = ["main"]


def _configure_streams() -> None:
    # Decoded claims may hold anything; an unencodable character must not end the program.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - exotic streams
                pass


def _run(arguments: list[str], prog: str) -> int:
    """Parse the arguments and run the command they name (the demo when they name none)."""
    from .parser import build_parser, command_in

    args = build_parser(prog, command_in(arguments)).parse_args(arguments)
    if args.command is None:  # only top-level options were given: the demo
        demo = ["--json", "demo"] if args.top_json else ["demo"]
        args = build_parser(prog, "demo").parse_args(demo)
    args.json = args.json or args.top_json  # `apikee --json COMMAND` as `COMMAND --json`
    status: int = args.handler(args)
    return status


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (``apikee`` console script)."""
    _configure_streams()
    arguments = sys.argv[1:] if argv is None else list(argv)
    prog = "python -m apikee" if os.path.basename(sys.argv[0] or "") == "__main__.py" else "apikee"
    try:
        return _run(arguments or ["demo"], prog)
    except CliError as exc:
        err(f"apikee: {mask_secrets(exc.message)}")
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
            f"apikee: internal error: {type(exc).__name__}: {safe(mask_secrets(str(exc)))}\n"
            "  please report it with the output of `apikee info` "
            "(APIKEE_DEBUG=1 shows the traceback)"
        )
        return EXIT_INTERNAL
