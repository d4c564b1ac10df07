"""``open_store``: a store from its URL (or a store given as is)."""

from __future__ import annotations

import math

from ._base import Store
from ._memory import named_memory_store
from ._url import parse_store_url

__all__ = ["open_store"]


def open_store(url_or_store: Store | str, *, server_timeout: float = 3.0) -> Store:
    """The store of ``url_or_store``: ``memory://[name]``, ``sqlite:///path.db`` (or
    ``sqlite:relative.db``), ``redis://[user:password@]host[:port][/db]``, ``rediss://…``.

    No I/O happens here: a store connects on first use. ``server_timeout`` bounds every wait
    on the server or the database file. ``ValueError`` for a bad URL (the URL in the message is
    redacted); ``ImportError`` naming ``pip install 'apikee[redis]'`` when redis is missing.
    """
    if isinstance(url_or_store, Store):
        return url_or_store
    if (
        isinstance(server_timeout, bool)
        or not isinstance(server_timeout, (int, float))
        or not (0 < server_timeout < math.inf)
    ):
        raise ValueError("server_timeout must be a positive number of seconds")
    url = parse_store_url(url_or_store)
    timeout = float(server_timeout)
    if url.kind == "memory":
        return named_memory_store(url.path, server_timeout=timeout)
    if url.kind == "sqlite":
        from ._sqlite import SQLiteStore

        return SQLiteStore(url.path, server_timeout=timeout)
    from ._redis import RedisStore

    return RedisStore(url, server_timeout=timeout)
