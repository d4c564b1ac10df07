"""The argparse parser of the ``apikee`` command line, built for the command that runs.

The top-level parser lists every command (its name and summary, from :mod:`.commands`), but
only the command being run is imported and declares its options (its module's
``add_arguments``): ``apikee --version`` and ``apikee --help`` import no command at all. The
options several commands share (``--json``, ``--secret-file``) are declared here.

Two changes to argparse: no error message echoes a secret-looking argument (the rule is in
:mod:`apikee._cli.masking`), and the options that take a WHEN value accept negative ones
(``--now -1d`` is read as ``--now=-1d``; argparse would take ``-1d`` for an option).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import NoReturn

from . import commands
from .masking import mask_secrets, masked, shown_argument
from .output import safe

_NEGATIVE_VALUE = re.compile(r"-[0-9.]")  # "-1d", "-3600", "-.5": a value, not an option

EPILOG = """\
exit codes: 0 success, 1 a key or secret judged bad (scan: keys that may work were found),
            2 usage or configuration error, 3 internal error

Run `apikee` with no arguments for a demo; `apikee COMMAND --help` for a command's options."""


class Parser(argparse.ArgumentParser):
    """argparse's parser that masks secrets in its errors and takes negative WHEN values."""

    negative_value_options: frozenset[str] = frozenset()

    def error(self, message: str) -> NoReturn:
        # argparse quotes the offending argument: a key pasted in the wrong place must not echo.
        super().error(mask_secrets(message))

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if args is not None and self.negative_value_options:
            args = _attach_negative_values(list(args), self.negative_value_options)
        return super().parse_known_args(args, namespace)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            # Anything given to `apikee secret` is most likely the secret itself.
            everything = getattr(parsed, "command", None) == "secret"
            shown = " ".join(_unrecognized(value, everything) for value in extras)
            self.error(f"unrecognized arguments: {shown}")
        return parsed


def _attach_negative_values(args: list[str], options: frozenset[str]) -> list[str]:
    """``["--now", "-1d"]`` → ``["--now=-1d"]`` for the given options (not after ``--``)."""
    result: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            result.extend(args[index:])
            break
        following = args[index + 1] if index + 1 < len(args) else ""
        if arg in options and _NEGATIVE_VALUE.match(following):
            result.append(f"{arg}={following}")
            index += 2
            continue
        result.append(arg)
        index += 1
    return result


def _unrecognized(value: str, everything: bool) -> str:
    """An unrecognized argument as an error message may show it."""
    if value.startswith("-") and "=" in value:  # --option=VALUE: the option name is harmless
        option, _, rest = value.partition("=")
        return f"{safe(option, 60)}={masked(rest) if everything else shown_argument(rest)}"
    if everything and not value.startswith("-"):
        return masked(value)
    return shown_argument(value)


# ── shared options ──────────────────────────────────────────────────────────────────────────


def accepts_negative(parser: argparse.ArgumentParser, *options: str) -> None:
    """Let ``options`` (which take a WHEN value) take ``-1d`` or ``-3600`` as their value."""
    assert isinstance(parser, Parser)
    parser.negative_value_options = parser.negative_value_options | frozenset(options)


def add_secret_file_option(parser: argparse.ArgumentParser) -> None:
    """``--secret-file FILE``: the signing secrets, one a line (create, verify, scan, secret)."""
    parser.add_argument(
        "--secret-file",
        metavar="FILE",
        help="read secrets from FILE, one a line, current first (default: APIKEE_SECRET)",
    )


def add_key_argument(parser: argparse.ArgumentParser) -> None:
    """The KEY argument of ``verify`` and ``inspect``."""
    parser.add_argument(
        "key",
        metavar="KEY",
        help="the key, or - to read it from stdin (keeps it out of shell history)",
    )


def command_in(arguments: Sequence[str]) -> str | None:
    """The command the arguments name: the first one that is not an option (the top-level
    options take no value), or None."""
    for arg in arguments:
        if not arg.startswith("-"):
            return arg
    return None


def build_parser(prog: str = "apikee", command: str | None = None) -> Parser:
    """The parser of every command, with the options of ``command`` (only) declared."""
    from .. import __version__

    formatter = argparse.RawDescriptionHelpFormatter
    parser = Parser(
        prog=prog,
        description="Self-contained, HMAC-signed API keys: secrets, keys, leak scanning.",
        epilog=EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"apikee {__version__}")
    parser.add_argument(
        "--json",
        action="store_true",
        dest="top_json",
        help="print one JSON document (without a COMMAND: the demo's results)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, summary in commands.COMMANDS:
        sub = subparsers.add_parser(
            name, help=summary, description=summary, formatter_class=formatter
        )
        sub.add_argument(
            "--json", action="store_true", help="print one JSON document (stable shape)"
        )
        if name == command:
            module = commands.load(name)
            sub.epilog = module.EPILOG
            module.add_arguments(sub)
            sub.set_defaults(handler=module.run)
    return parser
