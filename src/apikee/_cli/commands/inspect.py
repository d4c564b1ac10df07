"""``apikee inspect``: decode a key's claims WITHOUT a secret, and say so.

Claims are encoded, not encrypted: anyone holding a key can read them, and anyone can write a
key that shows any claims. Only ``verify`` proves a key is genuine.
"""

from __future__ import annotations

import argparse
import time

from ..claims import claims_lines, claims_view, rejected
from ..input import read_key_argument
from ..output import EXIT_BAD, EXIT_OK, emit_json, out
from ..parser import add_key_argument

EPILOG = "example:\n  apikee inspect - < key.txt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """KEY."""
    add_key_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Decode a key's claims without a secret; exit 1 when they cannot be read or are invalid."""
    from ..._errors import ApikeeError, ErrorCode
    from ..._keyutil import unverified_payload

    key = read_key_argument(args.key)
    try:
        claims = unverified_payload(key)
        if type(claims) is not dict:
            raise ApikeeError(ErrorCode.INVALID_CLAIMS, "the key claims are not an object")
    except ApikeeError as exc:
        return rejected(exc, args.json, "verified")
    view, problems = claims_view(claims, key)
    if args.json:
        emit_json({"verified": False, "claims": view, "problems": problems})
        return EXIT_BAD if problems else EXIT_OK
    out("NOT VERIFIED: decoded without any secret. Anyone can read these claims, and anyone")
    out("can write a key that shows them: only `apikee verify` (with your secret) proves a key.")
    for line in claims_lines(view, time.time()):
        out(line)
    for problem in problems:
        out(f"  problem: {problem} (verify would answer INVALID_CLAIMS)")
    return EXIT_BAD if problems else EXIT_OK
