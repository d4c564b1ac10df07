"""The commands of ``apikee``: one module each, imported only when that command runs.

Each module declares its options next to its handler: ``EPILOG`` (the examples under
``--help``), ``add_arguments(parser)`` and ``run(args) -> exit status``. Adding a command is
adding a module and a line to :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Protocol, cast

__all__ = ["COMMANDS", "Command", "load"]

# (name = module name, summary shown by `apikee --help`), in the order of the help.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("demo", "a short tour of the library, in memory (the default command)"),
    ("secret", "make a new signing secret, or --check the strength of one"),
    ("create", "create a key (prints the key only)"),
    ("verify", "verify a key with your secret: claims on success, CODE: message on failure"),
    ("inspect", "decode a key's claims WITHOUT a secret (nothing is verified)"),
    ("scan", "find leaked apikee_ keys and sk_live_/sk_test_ platform keys in files"),
    ("revoke", "revoke a key (by the key, its id or fingerprint) or a tenant's keys, in the store"),
    ("unrevoke", "take a revocation back"),
    ("revocations", "list the revocations in the store"),
    ("usage", "each key's use from the store: uses, last used, revoked (--tenant, --key, --id)"),
    ("info", "version, implementation in use and why, Python, platform, store"),
)


class Command(Protocol):
    """What a command module provides."""

    EPILOG: str | None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare the command's options and arguments."""

    def run(self, args: argparse.Namespace) -> int:
        """Run the command; return the exit status."""


def load(name: str) -> Command:
    """The module of the command ``name`` (one of :data:`COMMANDS`), imported now."""
    return cast(Command, importlib.import_module(f"{__name__}.{name}"))
