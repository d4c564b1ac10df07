"""``apikee usage``: what the store knows of each key's use (a table, or ``--json``).

Columns: key id, tenant, uses (successful verifications flushed by ``Apikee(usage=True)``),
last used (ISO 8601 UTC) and whether the key is revoked now (by id or by its tenant). Filter
with ``--tenant T``, or name one key: ``--key KEY`` (``-`` reads it from stdin) or ``--id ID``.
No secret is needed (a key is read for its id only). Exit 1 when the store is unavailable; 2
without a store.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..input import read_key_argument
from ..output import EXIT_OK, CliError, emit_json, iso, out, safe
from ..store import add_store_option, configured_store, open_store, shown_url

EPILOG = (
    "examples:\n  apikee usage --store sqlite:///var/lib/apikee/revocations.db\n"
    "  apikee usage --tenant acme --json\n"
    "  apikee usage --key - < key.txt"
)

_HEADERS = ("KEY ID", "TENANT", "USES", "LAST USED", "REVOKED")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--store``, ``--tenant``, ``--key``, ``--id``."""
    add_store_option(parser)
    parser.add_argument("--tenant", metavar="T", help="only the keys of tenant T")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--key", metavar="KEY", help="one key (or - to read it from stdin)")
    which.add_argument("--id", metavar="ID", help="the key whose id claim is ID")


def run(args: argparse.Namespace) -> int:
    """Print the store's usage records, most recently used first."""
    from ..._store._usage import read_usage
    from ..._usage import key_id_of

    url = configured_store(args)
    ids = None
    if args.key is not None or args.id is not None:
        try:
            raw = read_key_argument(args.key) if args.key is not None else args.id
            ids = [key_id_of(raw)]
        except Exception as exc:
            raise CliError(f"no key id: {safe(str(exc), 200)}") from None
    with open_store(url) as apikee:
        store = apikee._binding().snapshot.store
        shown = shown_url(apikee, url)
        records = read_usage(store, ids, args.tenant)
        _, revoked_ids, tenant_cutoffs = store.load_index()
    from ..._store import is_revoked

    rows: list[dict[str, Any]] = []
    for record in records:
        rows.append(
            {
                "id": record.id,
                "tenant": record.tenant,
                "uses": record.uses,
                "last_used": record.last_used,
                "last_used_iso": iso(record.last_used),
                "revoked": is_revoked(revoked_ids, tenant_cutoffs, record.id, record.tenant),
            }
        )
    if args.json:
        emit_json({"store": shown, "count": len(rows), "keys": rows})
        return EXIT_OK
    if not rows:
        out(f"No usage recorded in {safe(shown, 300)}.")
        return EXIT_OK
    table = [_HEADERS] + [
        (
            safe(r["id"], 60),
            safe(r["tenant"], 40) or "-",
            str(r["uses"]),
            str(r["last_used_iso"]),
            "yes" if r["revoked"] else "no",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(_HEADERS))]
    for row in table:
        out("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    out(f"{len(rows)} key{'s' if len(rows) != 1 else ''} in {safe(shown, 300)}.")
    return EXIT_OK
