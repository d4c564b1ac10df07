"""The report of ``apikee scan`` in text and JSON (SARIF is :mod:`.sarif`).

No full key is ever written: a finding shows its masked form and its sha256 fingerprint
(``apikee.hash_key(key)``), and decoded values (the tenant) pass through ``safe``. With
``--revoke``, a finding also says whether its key was revoked (by its id, or fingerprint).
"""

from __future__ import annotations

import time
from typing import Any

from ..output import err, iso, out, relative, safe
from .findings import Finding, ScanResult


def size_text(size: float) -> str:
    """A byte count for people: ``512 bytes``, ``10.0 MiB``."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} bytes"  # pragma: no cover


def _expiry_text(finding: Finding, now: float) -> str:
    if finding.exp is None:
        return "never expires"
    verb = "expired" if finding.exp < now else "expires"
    return f"{verb} {iso(finding.exp)} ({relative(finding.exp, now)})"


def revocation_text(finding: Finding) -> str:
    """What ``--revoke`` did with the finding's key, as a short phrase ("" when nothing)."""
    outcome = finding.revocation
    if outcome is None:
        return ""
    if outcome.revoked:
        what = (
            f"id {safe(outcome.value, 130)}"
            if outcome.kind == "id"
            else f"fingerprint {(outcome.value or '')[:12]}…"
        )
        return f"REVOKED NOW (by its {what})"
    return f"NOT REVOKED: {safe(outcome.error, 300)}"


def _finding_line(finding: Finding, now: float) -> str:
    """The text-format line of a finding: where, what, whose, until when, why; no key."""
    head = (
        f"{safe(finding.path)}:{finding.line}:{finding.column}: "
        f"{finding.status.upper()} {finding.masked}"
    )
    if finding.kind == "platform-key":
        return f"{head} {finding.detail} [sha256 {finding.fingerprint[:16]}]"
    tenant = "tenant unknown" if finding.tenant is None else f"tenant {safe(finding.tenant, 60)!r}"
    revoked = revocation_text(finding)
    return (
        f"{head} {tenant}, {_expiry_text(finding, now)}: {finding.detail} "
        f"[sha256 {finding.fingerprint[:16]}]" + (f" -> {revoked}" if revoked else "")
    )


_LABELS = {
    "live": "Live apikee key",
    "expired": "Expired apikee key",
    "invalid": "Invalid apikee key",
    "revoked": "Revoked apikee key",
}


def describe_finding(finding: Finding, now: float | None = None) -> str:
    """One sentence about a scan finding, without the key (SARIF messages)."""
    now = time.time() if now is None else now
    if finding.kind == "platform-key":
        return f"apikee.dev platform key: {finding.detail}"
    tenant = "unknown tenant" if finding.tenant is None else f"tenant {safe(finding.tenant, 60)!r}"
    label = _LABELS.get(finding.status, "Apikee key")
    revoked = revocation_text(finding)
    return f"{label} for {tenant}, {_expiry_text(finding, now)}: {finding.detail}" + (
        f"; {revoked}" if revoked else ""
    )


def _finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_column": finding.end_column,
        "kind": finding.kind,
        "status": finding.status,
        "failing": finding.failing,
        "masked": finding.masked,
        "fingerprint": finding.fingerprint,
        "tenant": finding.tenant,
        "environment": finding.environment,
        "expires_at": iso(finding.exp),
        "exp": finding.exp,
        "detail": finding.detail,
        "revocation": None if finding.revocation is None else finding.revocation.to_dict(),
    }


def json_report(result: ScanResult, elapsed: float) -> dict[str, Any]:
    """The ``--format json`` document (stable shape, ``version`` 1)."""
    return {
        "version": 1,
        "secret_configured": result.secret_configured,
        "store": result.store,
        "revoke": result.revoke,
        "findings": [_finding_dict(f) for f in result.findings],
        "summary": {
            "findings": len(result.findings),
            "failing": result.failing,
            "by_status": result.by_status(),
            "files_scanned": result.files_scanned,
            "bytes_scanned": result.bytes_scanned,
            "skipped_binary": result.skipped_binary,
            "skipped_large": result.skipped_large,
            "unreadable": [{"path": p, "reason": r} for p, r in result.unreadable],
            "skipped_special": [{"path": p, "kind": k} for p, k in result.skipped_special],
            "possibly_missed": result.possibly_missed,
            "files_transcoded": result.files_transcoded,
            "excluded": result.excluded,
            "ignored_candidates": result.ignored_candidates,
            "ignored_by_pragma": result.ignored_by_pragma,
            "revoked": result.revoked,
            "revoke_failed": result.revoke_failed,
            "revoke_error": result.revoke_error,
            "seconds": round(elapsed, 3),
        },
    }


def _counted(*counts: tuple[int, str]) -> list[str]:
    """``"3 binary"``-style phrases for the counts that are not zero, in order."""
    return [f"{count:,} {what}" for count, what in counts if count]


def _missed_lines(result: ScanResult, max_size: int, strict: bool) -> list[str]:
    """The lines that say which files that may hold keys were not scanned (none: [])."""
    if not result.possibly_missed:
        return []
    parts = _counted(
        (len(result.skipped_large), f"larger than --max-size {size_text(max_size)}"),
        (len(result.unreadable), "unreadable"),
        (len(result.skipped_special), "special (pipe, socket or device)"),
    )
    count = result.possibly_missed
    return [
        f"Incomplete: {count:,} file{'s' if count != 1 else ''} that may hold keys "
        f"{'were' if count != 1 else 'was'} not scanned ({', '.join(parts)}; named on stderr).",
        (
            "The scan fails for this (exit 1)."
            if strict
            else "Use --strict to make this fail the scan (exit 1)."
        ),
    ]


def print_text_report(
    result: ScanResult, max_size: int, elapsed: float, strict: bool = False
) -> None:
    """The text report: notes on stderr, one line per finding, a summary and what to do."""
    now = time.time()
    for path in result.skipped_large:
        limit = size_text(max_size)
        err(f"apikee: note: skipped {safe(path)}: larger than {limit} (see --max-size)")
    for path, reason in result.unreadable:
        err(f"apikee: note: could not read {safe(path)}: {reason}")
    for path, kind in result.skipped_special:
        err(f"apikee: note: skipped {safe(path)}: {kind}, not a regular file (never opened)")
    for finding in result.findings:
        out(_finding_line(finding, now))
    scanned = (
        f"{result.files_scanned:,} file{'s' if result.files_scanned != 1 else ''} "
        f"({size_text(result.bytes_scanned)}) in {elapsed:.2f} s"
    )
    skipped = _counted(
        (result.skipped_binary, "binary"),
        (len(result.skipped_large), "too large"),
        (len(result.unreadable), "unreadable"),
        (len(result.skipped_special), "special"),
        (result.excluded, "excluded"),
    )
    if result.ignored_by_pragma:
        skipped.append(f"{result.ignored_by_pragma} line(s) marked apikee-scan: ignore")
    tail = f"; skipped {', '.join(skipped)}" if skipped else ""
    if not result.findings:
        out(f"No keys found: scanned {scanned}{tail}.")
        for line in _missed_lines(result, max_size, strict):
            out(line)
        return
    counts = ", ".join(
        f"{n} {status.replace('-', ' ')}" for status, n in result.by_status().items() if n
    )
    files = len({f.path for f in result.findings})
    out("")
    out(
        f"Found {len(result.findings)} key{'s' if len(result.findings) != 1 else ''} in "
        f"{files} file{'s' if files != 1 else ''} ({counts}): scanned {scanned}{tail}."
    )
    for line in _missed_lines(result, max_size, strict):
        out(line)
    if not result.secret_configured and any(f.status == "unverifiable" for f in result.findings):
        out("No signing secret was given (APIKEE_SECRET or --secret-file), so unexpired keys")
        out("are reported UNVERIFIABLE: treat them as live.")
    customer = [f for f in result.findings if f.kind == "customer-key"]
    if result.secret_configured and customer and all(f.status == "forged" for f in customer):
        out("None of these keys verifies with the given secret(s): if they are yours, give the")
        out("scan every secret your servers accept (--secret-file, one a line).")
    for line in _revoke_lines(result):
        out(line)
    unrevoked = [
        f
        for f in result.findings
        if f.failing and not (f.revocation is not None and f.revocation.revoked)
    ]
    if result.failing and not unrevoked:
        out("Still remove every key found from the code and the git history (git filter-repo),")
        out("and rotate the signing secret if it was committed too.")
    elif result.failing:
        out("Revoke every LIVE, NOT-YET-VALID, UNVERIFIABLE and PLATFORM-KEY key now (its")
        out("sha256 is apikee.hash_key(key)), remove it from the code and the git history")
        out("(git filter-repo), and rotate the signing secret if it was committed too.")


def _revoke_lines(result: ScanResult) -> list[str]:
    """What ``--revoke`` did, for the text summary (nothing without ``--revoke``)."""
    if not result.revoke:
        return []
    store = safe(result.store or "the store", 300)
    lines = []
    if result.revoked:
        count = result.revoked
        lines.append(
            f"Revoked {count} key{'s' if count != 1 else ''} in {store}: every verifier "
            f"reading it refuses {'them' if count != 1 else 'it'} with REVOKED."
        )
    if result.revoke_failed:
        count = result.revoke_failed
        lines.append(
            f"Could NOT revoke {count} key{'s' if count != 1 else ''} (see above): "
            "revoke them with `apikee revoke` (once the store is back, if it was down)."
        )
    if not result.revoked and not result.revoke_failed:
        lines.append("Nothing to revoke: no live or not-yet-valid key was found.")
    return lines
