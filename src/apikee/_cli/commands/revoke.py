"""``apikee revoke``: revoke a key (by the key, its id or its fingerprint) or a tenant's keys.

The revocation is written to the store (``--store URL``, else ``APIKEE_STORE``); every verifier
that reads the store refuses the key with ``REVOKED`` within its refresh period. Revoking a
full key needs the signing secret (``APIKEE_SECRET`` or ``--secret-file``): the key must verify
with it, whatever its expiry. ``--id``, ``--fingerprint`` and ``--tenant`` need no secret.

Exit 0 when the store has the revocation; 1 when the store is unavailable (nothing was
revoked); 2 for input that names no key, or no store. The shared options and the way a
target is read are here too (:func:`add_target_arguments`, :func:`read_target`), for
``unrevoke``.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from ..._wire import PREFIX
from ..input import configured_secrets, instant_seconds, read_key_argument
from ..output import EXIT_OK, CliError, emit_json, iso, out, safe
from ..parser import accepts_negative, add_secret_file_option
from ..store import (
    add_store_option,
    configured_store,
    open_store,
    record_json,
    record_lines,
    shown_url,
)

EPILOG = (
    "examples:\n"
    "  apikee revoke --reason 'leaked in a ticket' - < key.txt\n"
    "  apikee revoke --id 0ujsszwN8NRY24YaXiTIE2\n"
    "  apikee revoke --fingerprint 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
    "  apikee revoke --tenant acme-corp --issued-before -1d\n\n"
    "The store is --store URL, else APIKEE_STORE: sqlite:///var/lib/apikee/revocations.db,\n"
    "sqlite:relative.db, redis://[user:password@]host:6379/0, rediss://…, memory://.\n"
    "A full key needs the signing secret (APIKEE_SECRET or --secret-file); --id, --fingerprint\n"
    "and --tenant need none. Exit 1 when the store is unavailable: nothing was revoked."
)

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_PREFIX = PREFIX
TARGETS = "KEY (or - to read it from stdin), --id ID, --fingerprint HEX or --tenant TENANT"


def add_target_arguments(parser: argparse.ArgumentParser, verb: str) -> None:
    """KEY, ``--id``, ``--fingerprint``, ``--tenant`` (one of them), ``--store``."""
    add_store_option(parser)
    parser.add_argument(
        "key",
        metavar="KEY",
        nargs="?",
        help=f"the key to {verb}, or - to read it from stdin (keeps it out of shell history)",
    )
    parser.add_argument("--id", metavar="ID", help=f"{verb} the key whose id claim is ID")
    parser.add_argument(
        "--fingerprint",
        metavar="HEX",
        help=f"{verb} the key whose apikee.hash_key() is HEX (64 hex digits; apikee scan "
        "--json shows it); while a fingerprint is revoked, every verification hashes its key, "
        "so prefer KEY or --id for keys with an id",
    )
    parser.add_argument(
        "--tenant",
        metavar="TENANT",
        help=f"{verb} every key of TENANT"
        + (
            " issued before --issued-before (default: now)"
            if verb == "revoke"
            else " (the tenant revocation)"
        ),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """KEY | ``--id`` | ``--fingerprint`` | ``--tenant`` [``--issued-before``], ``--reason``,
    ``--store``, ``--secret-file``."""
    add_secret_file_option(parser)
    add_target_arguments(parser, "revoke")
    parser.add_argument(
        "--issued-before",
        metavar="WHEN",
        help="with --tenant: revoke the keys issued before WHEN (ISO 8601, unix "
        "seconds, or +DURATION/-DURATION from now such as -1d); default: now",
    )
    accepts_negative(parser, "--issued-before")
    parser.add_argument(
        "--reason", metavar="TEXT", help="why (kept with the revocation; at most 500 characters)"
    )


def read_target(args: argparse.Namespace) -> tuple[str, Any]:
    """``(form, value)``: ``("key", the key)``, ``("id", …)``, ``("fingerprint", lowercase
    hex)`` or ``("tenant", …)``; CliError (exit 2) unless exactly one was given, well formed.
    Nothing a user typed is echoed (it may be a key)."""
    given = [
        (form, value)
        for form, value in (
            ("key", args.key),
            ("id", args.id),
            ("fingerprint", args.fingerprint),
            ("tenant", args.tenant),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise CliError(f"give one of {TARGETS}" + (" (only one)" if given else ""))
    form, value = given[0]
    if form == "key":
        key = read_key_argument(value)
        if not key:
            raise CliError("no key given" + (" on stdin" if value == "-" else ""))
        prefix: Any = _PREFIX.encode() if isinstance(key, bytes) else _PREFIX
        if not key.startswith(prefix):
            raise CliError(
                "KEY is not an apikee key (apikee_…): for a key id or a fingerprint "
                "use --id ID or --fingerprint HEX"
            )
        return form, key
    value = value.strip()
    if not value:
        raise CliError(f"--{form}: the value is empty")
    if form == "id":
        if value.startswith(_PREFIX):
            raise CliError(
                "--id: that is a full key, not a key id: pass it as KEY "
                "(or - to read it from stdin)"
            )
        if _HEX64.fullmatch(value):
            raise CliError("--id: 64 hex digits is a fingerprint, not a key id: use --fingerprint")
    if form == "fingerprint":
        if not _HEX64.fullmatch(value):
            raise CliError(
                "--fingerprint: give the 64 hex digits of apikee.hash_key(key) "
                "(apikee scan --json shows it)"
            )
        value = value.lower()
    return form, value


def target_phrase(kind: str, value: str) -> str:
    """``the key with id X`` / ``the key with fingerprint 0123456789ab…`` / ``tenant 'T'``."""
    from ..store import fingerprint_shown

    if kind == "fingerprint":
        return f"the key with fingerprint {fingerprint_shown(value)}"
    if kind == "id":
        return f"the key with id {safe(value, 130)}"
    return f"every key of tenant {safe(value, 80)!r}"


def shown_key(key: str | bytes) -> str:
    """A full key as the output may show it: masked, as ``apikee scan`` does."""
    from ..scan.classify import mask

    text = key.decode("ascii", "replace") if isinstance(key, bytes) else key
    return mask(text)


def run(args: argparse.Namespace) -> int:
    """Write the revocation to the store; exit 1 when the store cannot take it."""
    form, value = read_target(args)
    if args.issued_before is not None and form != "tenant":
        raise CliError("--issued-before applies to --tenant only")
    cutoff = None
    if args.issued_before is not None:
        cutoff = instant_seconds(args.issued_before, "--issued-before")
    url = configured_store(args)
    secrets = configured_secrets(args) if form == "key" else None
    reason = args.reason or None
    with open_store(url, secrets) as apikee:
        store = shown_url(apikee, url)
        if form == "tenant":
            record = apikee.revoke_tenant(value, issued_before=cutoff, reason=reason)
        else:
            record = apikee.revoke(value, reason=reason)
    if args.json:
        emit_json({"revoked": record_json(record), "store": store})
        return EXIT_OK
    what = target_phrase(record.kind, record.value)
    if record.kind == "tenant":
        out(f"REVOKED {what} issued before {iso(record.issued_before)}")
    elif form == "key":
        out(f"REVOKED {shown_key(value)}: {what}")
    else:
        out(f"REVOKED {what}")
    out(f"  {'store':<15}{safe(store, 300)}")
    for line in record_lines(record):
        out(line)
    if record.kind == "fingerprint" and form == "fingerprint":
        out(
            "Note: while a fingerprint is revoked, every verification hashes its key (a SHA-256);"
            "\nkeys with an id (every key this library issues) are cheaper to revoke by KEY or --id."
        )
    out(
        "Every verifier reading this store refuses "
        f"{'these keys' if record.kind == 'tenant' else 'it'} with REVOKED within its refresh "
        "period."
    )
    return EXIT_OK
