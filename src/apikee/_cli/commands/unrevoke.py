"""``apikee unrevoke``: take a revocation back (of a key, a key id, a fingerprint or a tenant).

No secret is needed: a full key is taken back by its id (or its fingerprint when it has none),
read without verifying it. Exit 0 whether or not there was a revocation to take back (the
output says which: ``{"unrevoked": true|false}``); 1 when the store is unavailable; 2 for input
that names no key, or no store.
"""

from __future__ import annotations

import argparse

from ..output import EXIT_OK, emit_json, out, safe
from ..store import configured_store, open_store, shown_url
from .revoke import add_target_arguments, read_target, shown_key, target_phrase

EPILOG = (
    "examples:\n"
    "  apikee unrevoke - < key.txt\n"
    "  apikee unrevoke --id 0ujsszwN8NRY24YaXiTIE2\n"
    "  apikee unrevoke --tenant acme-corp\n\n"
    "The store is --store URL, else APIKEE_STORE. No secret is needed."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """KEY | ``--id`` | ``--fingerprint`` | ``--tenant``, ``--store``."""
    add_target_arguments(parser, "unrevoke")


def _kind_and_value(form: str, value: str | bytes) -> tuple[str, str]:
    """What the library takes back for this target (a key: its id, else its fingerprint)."""
    if form != "key":
        return form, str(value)
    from ..._errors import ApikeeError
    from ..._keyutil import decode_unverified, hash_key

    try:
        key_id = decode_unverified(value).id
    except ApikeeError:
        key_id = ""
    if key_id:
        return "id", key_id
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return "fingerprint", hash_key(text.strip())


def run(args: argparse.Namespace) -> int:
    """Remove the revocation from the store; exit 1 when the store cannot take the change."""
    form, value = read_target(args)
    url = configured_store(args)
    with open_store(url) as apikee:
        store = shown_url(apikee, url)
        if form == "tenant":
            removed = apikee.unrevoke(tenant=value)
        else:
            removed = apikee.unrevoke(value)
    kind, shown_value = _kind_and_value(form, value)
    if args.json:
        emit_json({"unrevoked": removed, "kind": kind, "value": shown_value, "store": store})
        return EXIT_OK
    what = target_phrase(kind, shown_value)
    if form == "key":
        what = f"{shown_key(value)} ({what})"
    if removed:
        out(
            f"UNREVOKED {what}: verifiers reading {safe(store, 300)} accept "
            f"{'its keys' if kind == 'tenant' else 'it'} again within their refresh period."
        )
    else:
        out(f"NOT REVOKED: {safe(store, 300)} holds no revocation of {what}; nothing changed.")
    return EXIT_OK
