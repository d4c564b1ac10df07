"""The state layer of key revocation: stores, the in-process snapshot, and the service.

    from apikee._store import Revocations, open_store
    revocations = Revocations("sqlite:///var/lib/apikee/revocations.db")
    revocations.revoke_id(claims.id, expires_at=claims.exp, reason="leaked")
    snapshot = revocations.snapshot      # what the verifiers read: no I/O per request
    snapshot.ids, snapshot.tenants       # frozenset of ids+fingerprints; tenant -> cutoff

Stores: ``memory://`` (one process), ``sqlite:///path.db`` (one host, every process),
``redis://`` / ``rediss://`` (a fleet; ``pip install 'apikee[redis]'``). A revocation made
anywhere is enforced by every snapshot within ``poll_interval`` (SQLite) or one pub/sub hop
(Redis); a store outage keeps the last snapshot and resyncs by itself when the store is back.
"""

from __future__ import annotations

from ._base import Feed, Store
from ._check import is_revoked, key_id_issued_at
from ._errors import StoreUnavailable
from ._memory import MemoryStore
from ._open import open_store
from ._record import KINDS, PRUNE_MARGIN, Change, Kind, Revocation, StoreVersion
from ._service import Revocations
from ._snapshot import Listener, RevocationSnapshot
from ._sqlite import SQLiteStore
from ._url import StoreURL, parse_store_url, redacted_url

__all__ = [
    "KINDS",
    "PRUNE_MARGIN",
    "Change",
    "Feed",
    "Kind",
    "Listener",
    "MemoryStore",
    "Revocation",
    "RevocationSnapshot",
    "Revocations",
    "SQLiteStore",
    "Store",
    "StoreURL",
    "StoreUnavailable",
    "StoreVersion",
    "is_revoked",
    "key_id_issued_at",
    "open_store",
    "parse_store_url",
    "redacted_url",
]
