"""``apikee info``: version, implementation in use and why, Python, platform, msgpack, store.

What to paste into a bug report; says only whether ``APIKEE_SECRET`` is set, never its value.
With a revocation store (``--store URL`` or ``APIKEE_STORE``) it opens the store and shows its
kind, its redacted URL (never a password) and its health: healthy, age, entries, last error
(the JSON has a ``store`` object then). Always exits 0, even when the store is down.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..output import EXIT_OK, CliError, emit_json, out, safe
from ..store import STORE_ENV, add_store_option, configured_store, open_store

EPILOG = "example:\n  APIKEE_STORE=sqlite:///var/lib/apikee/revocations.db apikee info"

_STATUS_FIELDS = ("healthy", "age", "entries", "tenants", "version", "last_error")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--store``."""
    add_store_option(parser)


def _store_info(args: argparse.Namespace) -> dict[str, Any] | None:
    """The store's kind, redacted URL and health; None when no store is configured."""
    from ..._store import redacted_url

    url = configured_store(args, required=False, shared=False)
    if url is None:
        return None
    info: dict[str, Any] = {
        "source": "--store" if getattr(args, "store", None) else STORE_ENV,
        "kind": None,
        "url": redacted_url(url),
    }
    try:
        with open_store(url) as apikee:
            status = apikee.store_status() or {}
    except CliError as exc:  # a malformed URL, redis-py missing: say so, exit 0 all the same
        info["error"] = exc.message
        return info
    info["kind"], info["url"] = status.get("kind"), status.get("url", info["url"])
    info.update({name: status.get(name) for name in _STATUS_FIELDS})
    return info


def _store_line(store: dict[str, Any] | None) -> str:
    if store is None:
        return "  store           none (APIKEE_STORE not set; --store URL checks one)"
    head = f"  store           {safe(store['url'], 300)} (from {store['source']})"
    if "error" in store:
        return f"{head}\n                  cannot be used: {safe(store['error'], 500)}"
    entries, tenants = store["entries"], store["tenants"]
    age = "never loaded" if store["age"] is None else f"confirmed {store['age']:.2f} s ago"
    state = "healthy" if store["healthy"] else "UNHEALTHY"
    line = (
        f"{head}\n                  {store['kind']}: {state}, {entries} "
        f"entr{'y' if entries == 1 else 'ies'} ({tenants} tenant{'' if tenants == 1 else 's'})"
        f", {age}"
    )
    if store["last_error"] and not store["healthy"]:
        line += f"\n                  last error: {safe(store['last_error'], 500)}"
    return line


def _native_code() -> dict[str, str] | None:
    """The CPU-specific code the compiled module chose at import (None when it is not loaded):
    ``sha-ni`` / ``sse2``, or ``portable`` (no such CPU feature, or ``APIKEE_PORTABLE_C``)."""
    from ... import _core

    if _core.IMPLEMENTATION != "native":
        return None
    from ... import _core_c  # type: ignore[attr-defined]

    return {"sha256": _core_c._sha256_backend(), "base62": _core_c._b62_backend()}


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
        "native_code": _native_code(),
    }
    store = _store_info(args)
    if store is not None:  # only then: the shape without a store is unchanged
        info["store"] = store
    if args.json:
        emit_json(info)
        return EXIT_OK
    implementation = "compiled (Cython)" if info["implementation"] == "native" else "pure Python"
    out(f"apikee {__version__}")
    out(f"  implementation  {info['implementation']}: {implementation}; {info['reason']}")
    python = info["python"]
    out(f"  python          {python['version']} ({python['implementation']}) {sys.executable}")
    out(f"  platform        {info['platform']}")
    code = info["native_code"]
    if code is not None:
        out(f"  native code     SHA-256 {code['sha256']}, base62 digits {code['base62']}")
    if has_msgpack:
        out(f"  msgpack         {msgpack_version}: MessagePack keys of older SDKs are readable")
    else:
        out(
            "  msgpack         not installed: MessagePack keys from older SDKs cannot be read "
            "(pip install 'apikee[msgpack]')"
        )
    out(f"  APIKEE_SECRET   {'set' if secret else 'not set'}")
    out(_store_line(store))
    return EXIT_OK
