"""``apikee info``: version, implementation in use and why, Python, platform, msgpack.

What to paste into a bug report; says only whether ``APIKEE_SECRET`` is set, never its value.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..output import EXIT_OK, emit_json, out

EPILOG = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options but ``--json``."""


def run(args: argparse.Namespace) -> int:
    """Print what the installation runs on (``--json``: one document); always exit 0."""
    import importlib.util
    import platform

    from ... import __version__, _core
    from ..._switch import ENV_VAR

    msgpack_version = None
    has_msgpack = importlib.util.find_spec("msgpack") is not None
    if has_msgpack:
        from importlib import metadata

        try:
            msgpack_version = metadata.version("msgpack")
        except metadata.PackageNotFoundError:
            msgpack_version = "unknown version"
    secret = os.environ.get("APIKEE_SECRET", "").strip()
    info: dict[str, Any] = {
        "version": __version__,
        "implementation": _core.IMPLEMENTATION,
        "reason": _core.REASON,
        "import_error": _core.IMPORT_ERROR,
        "no_extensions_env": os.environ.get(ENV_VAR),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "platform": platform.platform(),
        "msgpack": {"available": has_msgpack, "version": msgpack_version},
        "apikee_secret_set": bool(secret),
    }
    if args.json:
        emit_json(info)
        return EXIT_OK
    implementation = "compiled (Cython)" if info["implementation"] == "native" else "pure Python"
    out(f"apikee {__version__}")
    out(f"  implementation  {info['implementation']}: {implementation}; {info['reason']}")
    python = info["python"]
    out(f"  python          {python['version']} ({python['implementation']}) {sys.executable}")
    out(f"  platform        {info['platform']}")
    if has_msgpack:
        out(f"  msgpack         {msgpack_version}: MessagePack keys of older SDKs are readable")
    else:
        out("  msgpack         not installed: MessagePack keys from older SDKs cannot be read "
            "(pip install 'apikee[msgpack]')")
    out(f"  APIKEE_SECRET   {'set' if secret else 'not set'}")
    return EXIT_OK
