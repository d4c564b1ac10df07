"""``apikee scan --revoke``: revoking the keys a scan finds that verify with your secret.

Each distinct key is revoked once, in the store of the scan's :class:`~apikee.Apikee`, with a
reason that says where it was found (or ``--reason``). When the store becomes unavailable the
scan goes on without revoking any further key (each would wait for the store's timeout):
those findings say they were not revoked, and ``error`` says why (no credentials in it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..masking import mask_secrets
from ..output import safe
from .findings import RevokeOutcome

if TYPE_CHECKING:
    from ..._apikee import Apikee

__all__ = ["Revoker"]


def _reason(path: str, line: int) -> str:
    """``leaked: found by apikee scan in PATH:LINE`` (escaped, within the library's limit)."""
    return f"leaked: found by apikee scan in {safe(path, 400)}:{line}"


class Revoker:
    """``revoker(key, path, line) -> RevokeOutcome``: revokes ``key`` (once) in the store."""

    def __init__(self, apikee: Apikee, reason: str | None = None) -> None:
        self._apikee = apikee
        self._reason = reason
        self._done: dict[str, RevokeOutcome] = {}
        self.error: str | None = None  # the first StoreUnavailable message

    def __call__(self, key: str, path: str, line: int) -> RevokeOutcome:
        outcome = self._done.get(key)
        if outcome is None:
            outcome = self._done[key] = self._revoke(key, path, line)
        return outcome

    def _revoke(self, key: str, path: str, line: int) -> RevokeOutcome:
        from ..._store import StoreUnavailable

        if self.error is not None:
            return RevokeOutcome(False, error="not tried: the store is unavailable")
        try:
            record = self._apikee.revoke(key, reason=self._reason or _reason(path, line))
        except StoreUnavailable as exc:
            self.error = exc.message
            return RevokeOutcome(False, error=f"the store is unavailable: {exc.message}")
        except ValueError as exc:  # the library judged it not revocable (never says the key)
            return RevokeOutcome(False, error=mask_secrets(str(exc)))
        return RevokeOutcome(True, kind=record.kind, value=record.value)
