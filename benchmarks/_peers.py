"""Loading the libraries apikee is compared with, without installing anything.

apikee 0.1.2 (the earlier SDK) shares our package name, so it is installed into a folder of its
own and loaded under the module name ``apikee_ref`` (its modules use relative imports, so it is
loaded as a package). With ``msgpack`` importable, 0.1.2 would read every payload as
MessagePack; we pin it to its JSON codec, as it runs where msgpack is not installed, so that it
verifies the very same JSON keys this library issues.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import sys
from types import ModuleType

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_PEER_DIR = ROOT / ".bench-peers" / "apikee-0.1.2"
REFERENCE_INSTALL = "pip install --no-deps --target .bench-peers/apikee-0.1.2 apikee==0.1.2"


def reference_dir() -> pathlib.Path:
    """Where apikee 0.1.2 is expected (``APIKEE_REF_DIR`` overrides)."""
    return pathlib.Path(os.environ.get("APIKEE_REF_DIR", DEFAULT_PEER_DIR))


def load_reference(path: pathlib.Path | None = None) -> ModuleType | None:
    """apikee 0.1.2 as module ``apikee_ref``, or None when it is not installed there."""
    if "apikee_ref" in sys.modules:
        return sys.modules["apikee_ref"]
    package_dir = (path or reference_dir()) / "apikee"
    init = package_dir / "__init__.py"
    if not init.is_file():
        return None
    spec = importlib.util.spec_from_file_location(
        "apikee_ref", init, submodule_search_locations=[str(package_dir)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["apikee_ref"] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules["apikee_ref"]
        raise
    key_module = sys.modules["apikee_ref.key"]
    key_module._pack = lambda obj: json.dumps(obj, separators=(",", ":")).encode()
    key_module._unpack = json.loads
    return module


def load_pyjwt() -> ModuleType | None:
    """PyJWT, or None when it is not installed."""
    try:
        import jwt
    except ImportError:
        return None
    return jwt


def load_itsdangerous() -> ModuleType | None:
    """itsdangerous, or None when it is not installed."""
    try:
        import itsdangerous
    except ImportError:
        return None
    return itsdangerous
