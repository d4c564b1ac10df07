"""The revocation store on the command line: ``--store``, opening it, and showing its records.

``revoke``, ``unrevoke``, ``revocations``, ``scan --revoke`` and ``info`` take ``--store URL``
(else ``APIKEE_STORE``): ``memory://``, ``sqlite:///abs/path.db``, ``sqlite:relative.db``,
``redis://[user:password@]host[:port][/db]`` or ``rediss://…``. The URL is only ever shown
redacted (:func:`apikee._store.redacted_url`): no password reaches the terminal or a log.

Failures, as the command line reports them:

- no store configured, a malformed URL, a missing optional dependency (redis): exit 2;
- a store that cannot be reached or cannot take the write (:class:`~apikee.StoreUnavailable`):
  ``apikee: the store is unavailable: …`` and exit 1, never a traceback;
- input that names no key (``ValueError`` of the library): exit 2.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, overload

from .input import make_apikee
from .output import EXIT_BAD, EXIT_USAGE, CliError, iso, safe

if TYPE_CHECKING:
    from .._apikee import Apikee
    from .._store import Revocation

__all__ = [
    "NO_STORE",
    "STORE_ENV",
    "add_store_option",
    "configured_store",
    "fingerprint_shown",
    "open_store",
    "record_json",
    "record_lines",
    "record_value",
    "shown_url",
    "unavailable",
]

STORE_ENV = "APIKEE_STORE"
NO_STORE = (
    "no revocation store: pass --store URL or set APIKEE_STORE "
    "(sqlite:///path/revocations.db, redis://host:6379/0, …)"
)
_STORE_LOGGER = "apikee.revocation"


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """``--store URL``: the revocation store (default: ``APIKEE_STORE``)."""
    parser.add_argument(
        "--store",
        metavar="URL",
        help="the revocation store: sqlite:///path.db, sqlite:relative.db, redis://host:6379/0, "
        "rediss://…, memory:// (default: APIKEE_STORE)",
    )


@overload
def configured_store(args: argparse.Namespace, *, shared: bool = ...) -> str: ...
@overload
def configured_store(
    args: argparse.Namespace, required: Literal[True], *, shared: bool = ...
) -> str: ...
@overload
def configured_store(
    args: argparse.Namespace, required: bool, *, shared: bool = ...
) -> str | None: ...


def configured_store(
    args: argparse.Namespace, required: bool = True, *, shared: bool = True
) -> str | None:
    """The store URL of ``--store``, else ``APIKEE_STORE``; CliError (exit 2) when neither is
    set and ``required``, or (``shared``) when it is ``memory://``: a store that lives and
    dies with this one command would take a revocation and lose it at exit."""
    value = getattr(args, "store", None)
    if value is not None and not value.strip():
        raise CliError("--store: give a store URL such as sqlite:///path/revocations.db")
    value = (value or os.environ.get(STORE_ENV, "")).strip() or None
    if value is None:
        if required:
            raise CliError(NO_STORE)
        return None
    if shared and value.lower().startswith("memory:"):
        raise CliError(
            "a memory:// store lives in one process and would be lost when this "
            "command exits: use sqlite:///path/revocations.db or redis://…"
        )
    return value


def _quiet_refresher() -> None:
    """The store's background refresher logs its retries; a one-shot command reports the
    failure itself (once, redacted). ``APIKEE_DEBUG=1`` keeps the log lines."""
    if os.environ.get("APIKEE_DEBUG"):
        return
    logger = logging.getLogger(_STORE_LOGGER)
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def unavailable(exc: Any) -> CliError:
    """The CliError (exit 1) of a store that cannot be used (the message holds no password)."""
    message = getattr(exc, "message", "") or str(exc)
    return CliError(f"the store is unavailable: {message}", EXIT_BAD)


@contextmanager
def open_store(
    url: str, secrets: list[str] | None = None, *, value_errors: bool = True
) -> Iterator[Apikee]:
    """An ``Apikee`` bound to the store at ``url`` (closed on exit).

    ``secrets``: the signing secrets (to revoke a full key, which must verify with them); None
    for the commands that need none (``--id``, ``--fingerprint``, ``--tenant``, ``unrevoke``,
    ``revocations``, ``info``): a throwaway secret then, which signs and verifies nothing here.
    Inside the block, :class:`~apikee.StoreUnavailable` becomes exit 1 and (unless not
    ``value_errors``) ``ValueError``, the library's answer to input that names no key, exit 2.
    """
    from .._keyutil import generate_secret
    from .._store import StoreUnavailable

    _quiet_refresher()
    try:
        apikee = make_apikee(secrets or [generate_secret()], store=url)
    except ImportError as exc:  # redis:// without redis-py: the message says what to install
        raise CliError(safe(str(exc), 300)) from None
    except StoreUnavailable as exc:
        raise unavailable(exc) from None
    try:
        yield apikee
    except StoreUnavailable as exc:
        raise unavailable(exc) from None
    except ValueError as exc:
        if not value_errors:
            raise
        raise CliError(str(exc), EXIT_USAGE) from None
    finally:
        apikee.close()


def shown_url(apikee: Apikee, url: str) -> str:
    """The store's URL as the output shows it: normalized (a relative SQLite path made
    absolute) and redacted (no password)."""
    from .._store import redacted_url

    status = apikee.store_status() or {}
    return str(status.get("url") or redacted_url(url))


# ── records, for people and for --json ──────────────────────────────────────────────────────


def fingerprint_shown(value: str) -> str:
    """A fingerprint in a table or a sentence: its first 12 hex digits (the JSON has all)."""
    return value[:12] + "…"


def record_value(record: Revocation, width: int = 60) -> str:
    """What a record revokes, as one short, safe phrase."""
    if record.kind == "fingerprint":
        return fingerprint_shown(record.value)
    return safe(record.value, width)


def record_json(record: Revocation) -> dict[str, Any]:
    """A record as JSON: its fields (unix seconds) and the same instants in ISO 8601."""
    data = record.to_dict()
    data.update(
        revoked_at_iso=iso(record.revoked_at),
        expires_at_iso=iso(record.expires_at),
        issued_before_iso=iso(record.issued_before),
    )
    return data


def record_lines(record: Revocation, indent: str = "  ") -> list[str]:
    """A record as aligned ``name  value`` lines."""
    rows: list[tuple[str, str]] = [("kind", record.kind)]
    if record.kind == "fingerprint":
        rows.append(("fingerprint", f"{record.value} (sha256, = apikee.hash_key(key))"))
    else:
        rows.append(("key id" if record.kind == "id" else "tenant", safe(record.value)))
    if record.kind == "tenant":
        rows.append(
            ("issued before", f"{iso(record.issued_before)} (keys issued later stay valid)")
        )
    rows.append(("reason", safe(record.reason) if record.reason else "-"))
    rows.append(("when", f"{iso(record.revoked_at)} by {safe(record.host, 80) or '?'}"))
    if record.kind != "tenant":
        rows.append(
            (
                "expires",
                "never (the record is kept)"
                if record.expires_at is None
                else f"{iso(record.expires_at)} (the record is dropped a day after)",
            )
        )
    return [f"{indent}{name:<15}{value}" for name, value in rows]
