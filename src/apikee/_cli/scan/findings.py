"""What ``apikee scan`` reports: the statuses of a key, one finding, the whole result.

A finding never carries the key itself, only a masked form and its ``hash_key`` fingerprint
(what a revocation list stores) and, with ``apikee scan --revoke``, what became of the
revocation of its key (:class:`RevokeOutcome`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "EXPIRED",
    "FAILING",
    "FORGED",
    "INVALID",
    "LIVE",
    "NOT_YET_VALID",
    "PLATFORM",
    "REVOCABLE",
    "REVOKED",
    "STATUSES",
    "UNVERIFIABLE",
    "Finding",
    "RevokeOutcome",
    "ScanResult",
]

# Statuses. The failing ones make `apikee scan` exit 1: the key may open the door right now.
LIVE = "live"
NOT_YET_VALID = "not-yet-valid"
UNVERIFIABLE = "unverifiable"
PLATFORM = "platform-key"
EXPIRED = "expired"
FORGED = "forged"
INVALID = "invalid"
# Signed with your secret but revoked in the store the scan was given (only with a store).
REVOKED = "revoked"
FAILING = frozenset({LIVE, NOT_YET_VALID, UNVERIFIABLE, PLATFORM})
STATUSES = (LIVE, NOT_YET_VALID, UNVERIFIABLE, PLATFORM, EXPIRED, FORGED, INVALID)
# What `apikee scan --revoke` revokes: the keys that verify with your secret, now or later.
REVOCABLE = frozenset({LIVE, NOT_YET_VALID})


@dataclass(frozen=True)
class RevokeOutcome:
    """What ``apikee scan --revoke`` did with a key: revoked it (``kind``/``value`` of the
    record: its key id, or its fingerprint), or not (``error`` says why, without the key)."""

    revoked: bool
    kind: str | None = None
    value: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        if self.revoked:
            return {"revoked": True, "kind": self.kind, "value": self.value}
        return {"revoked": False, "error": self.error}


@dataclass
class Finding:
    """One key found at one place. ``column``s are 1-based; ``end_column`` is exclusive."""

    path: str
    line: int
    column: int
    end_column: int
    column_utf16: int
    end_column_utf16: int
    kind: str  # "customer-key" | "platform-key"
    masked: str
    fingerprint: str  # hash_key(key): lowercase hex SHA-256
    status: str
    detail: str  # why this status (an error code, or a sentence)
    tenant: str | None = None
    environment: str | None = None
    exp: float | None = None
    occurrence: int = 1  # n-th time this key appears in this file
    revocation: RevokeOutcome | None = None  # `scan --revoke` only, for REVOCABLE statuses

    @property
    def failing(self) -> bool:
        """Whether this finding makes the scan fail (the key may work)."""
        return self.status in FAILING


@dataclass
class ScanResult:
    """Everything a scan found and skipped."""

    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0
    bytes_scanned: int = 0
    skipped_binary: int = 0
    skipped_large: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    skipped_special: list[tuple[str, str]] = field(default_factory=list)  # (path, what it is)
    files_transcoded: int = 0  # read as UTF-16 or UTF-32 text
    excluded: int = 0
    ignored_candidates: int = 0  # matched the pattern but do not decode as a key
    ignored_by_pragma: int = 0
    secret_configured: bool = False
    store: str | None = None  # the redacted URL of the store the keys were checked against
    revoke: bool = False  # `scan --revoke`: revoke the REVOCABLE keys found
    revoke_error: str | None = None  # why revoking stopped (the store became unavailable)

    @property
    def failing(self) -> int:
        """How many findings are live, not yet valid, unverifiable or platform keys."""
        return sum(1 for f in self.findings if f.failing)

    @property
    def possibly_missed(self) -> int:
        """Files that may hold keys but were not scanned: too large, unreadable or special."""
        return len(self.skipped_large) + len(self.unreadable) + len(self.skipped_special)

    @property
    def revoked(self) -> int:
        """How many distinct keys this scan revoked (``--revoke``)."""
        return len(
            {
                f.fingerprint
                for f in self.findings
                if f.revocation is not None and f.revocation.revoked
            }
        )

    @property
    def revoke_failed(self) -> int:
        """How many distinct keys ``--revoke`` could not revoke."""
        return len(
            {
                f.fingerprint
                for f in self.findings
                if f.revocation is not None and not f.revocation.revoked
            }
        )

    def statuses(self) -> tuple[str, ...]:
        """The statuses a finding of this scan can have (``revoked`` only with a store)."""
        return STATUSES + (REVOKED,) if self.store is not None else STATUSES

    def by_status(self) -> dict[str, int]:
        """Finding counts for every status (zeros included: a stable JSON shape; ``revoked``
        is counted when the scan was given a store)."""
        counts = dict.fromkeys(self.statuses(), 0)
        for finding in self.findings:
            counts[finding.status] = counts.get(finding.status, 0) + 1
        return counts
