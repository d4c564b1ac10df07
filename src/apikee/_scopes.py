"""Scope matching, shared by both implementations and by the integrations.

A granted scope matches a required one when it is equal to it, when it is ``"*"`` (everything),
or when it ends in ``":*"`` and the required scope starts with what precedes the ``*``
(``"res:*"`` grants ``"res:read"`` and ``"res:x:y"``, not ``"res"`` nor ``"resource:read"``).
Nothing else is a pattern: ``"re*"`` only matches the literal ``"re*"``.
"""

from __future__ import annotations

from typing import Iterable

from ._errors import ApikeeError, ErrorCode

__all__ = ["scope_granted", "missing_scopes", "scopes_satisfied", "require_scopes"]


def scope_granted(granted: Iterable[str], required: str) -> bool:
    """Whether the granted scopes cover one required scope."""
    for scope in granted:
        if scope == required or scope == "*":
            return True
        if scope.endswith(":*") and required.startswith(scope[:-1]):
            return True
    return False


def missing_scopes(granted: Iterable[str], required: Iterable[str]) -> list[str]:
    """The required scopes that the granted ones do not cover, in the order given."""
    granted = tuple(granted)
    return [r for r in required if not scope_granted(granted, r)]


def scopes_satisfied(
    granted: Iterable[str], required: Iterable[str], *, any_of: bool = False
) -> bool:
    """All-of (default) or any-of check; an empty requirement is always satisfied."""
    required = tuple(required)
    if not required:
        return True
    granted = tuple(granted)
    if any_of:
        return any(scope_granted(granted, r) for r in required)
    return all(scope_granted(granted, r) for r in required)


def require_scopes(
    granted: Iterable[str], required: Iterable[str] | str, *, any_of: bool = False
) -> None:
    """Raise ``INSUFFICIENT_SCOPE`` (HTTP 403) unless the granted scopes cover the required ones."""
    required = [required] if isinstance(required, str) else list(required)
    granted = tuple(granted)
    if scopes_satisfied(granted, required, any_of=any_of):
        return
    joiner = " or " if any_of else ", "
    wanted = joiner.join(missing_scopes(granted, required))
    raise ApikeeError(
        ErrorCode.INSUFFICIENT_SCOPE, f"the key lacks the required scope(s): {wanted}"
    )
