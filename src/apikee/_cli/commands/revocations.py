"""``apikee revocations``: list the revocations in the store (a table, or ``--json``).

Columns: kind (id, fingerprint, tenant), value (fingerprints shortened to 12 hex digits; the
JSON has them whole), reason, when (ISO 8601 UTC), host, and expires (the record is dropped a
day after the key expires; for a tenant, the instant before which its keys are revoked).
No secret is needed. Exit 1 when the store is unavailable; 2 without a store.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..output import EXIT_OK, emit_json, iso, out, safe
from ..store import (
    add_store_option,
    configured_store,
    open_store,
    record_json,
    record_value,
    shown_url,
)

if TYPE_CHECKING:
    from ..._store import Revocation

EPILOG = (
    "examples:\n  apikee revocations --store sqlite:///var/lib/apikee/revocations.db\n"
    "  APIKEE_STORE=redis://localhost:6379/0 apikee revocations --json"
)

_HEADERS = ("KIND", "VALUE", "REASON", "WHEN", "HOST", "EXPIRES")
_REASON_WIDTH = 40


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--store``."""
    add_store_option(parser)


def _cell(text: str | None, width: int) -> str:
    """A table cell: escaped, cut to ``width`` characters with an ellipsis ("-" when empty)."""
    if not text:
        return "-"
    shown = safe(text, 100_000)
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def _row(record: Revocation) -> tuple[str, ...]:
    if record.kind == "tenant":
        expires = f"issued before {iso(record.issued_before)}"
    else:
        expires = "never" if record.expires_at is None else str(iso(record.expires_at))
    value = record_value(record) if record.kind == "fingerprint" else _cell(record.value, 60)
    return (
        record.kind,
        value,
        _cell(record.reason, _REASON_WIDTH),
        str(iso(record.revoked_at)),
        _cell(record.host, 40),
        expires,
    )


def run(args: argparse.Namespace) -> int:
    """Print the store's revocations, oldest first."""
    url = configured_store(args)
    with open_store(url) as apikee:
        store = shown_url(apikee, url)
        records = apikee.revocations()
    if args.json:
        emit_json(
            {
                "store": store,
                "count": len(records),
                "revocations": [record_json(r) for r in records],
            }
        )
        return EXIT_OK
    if not records:
        out(f"No revocations in {safe(store, 300)}.")
        return EXIT_OK
    rows = [_HEADERS] + [_row(r) for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS))]
    for row in rows:
        out("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    count = len(records)
    out(f"{count} revocation{'s' if count != 1 else ''} in {safe(store, 300)}.")
    return EXIT_OK
