"""The one exception of the revocation state layer, and the scrubbing of secrets from messages.

Every failure to reach or use a store (refused connection, timeout, locked database, bad
credentials, a server that answers nonsense) surfaces as :class:`StoreUnavailable`. Its message
names the store by its redacted URL and never contains a password: messages are built from the
underlying error's text with every secret of the URL replaced by ``***``, and the exception is
raised outside the ``except`` block so that the original error (whose text might carry a
credential) is neither its ``__cause__`` nor its ``__context__``.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["NeedResync", "StoreUnavailable", "scrub"]

MASK = "***"


class StoreUnavailable(Exception):
    """The revocation store cannot be reached or used right now (never carries a credential).

    Raised by writes (``revoke*``, ``unrevoke``), by ``list()`` and by ``refresh_now()``. The
    background refresher never raises it: it records it in ``status()`` and retries.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)

    @property
    def message(self) -> str:
        """The human-readable reason, safe to log (no credentials)."""
        return str(self.args[0]) if self.args else ""


class NeedResync(Exception):
    """Internal: a feed saw a gap (missed change, new epoch); the refresher must reload fully."""


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each non-empty secret replaced by ``***``."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def describe(operation: str, exc: BaseException, secrets: Iterable[str]) -> str:
    """``"<operation>: <ExceptionType>: <message>"`` with the secrets scrubbed out."""
    detail = str(exc).strip()
    kind = type(exc).__name__
    text = f"{operation}: {kind}: {detail}" if detail else f"{operation}: {kind}"
    return scrub(text, secrets)
