"""SARIF 2.1.0 output of ``apikee scan`` (for GitHub code scanning and other SARIF viewers).

One rule per status; every result has a location (file, line, columns in UTF-16 code units, the
SARIF default), a message without the key, and ``partialFingerprints`` built from the key's
``hash_key`` fingerprint so an alert stays the same alert when lines move.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .findings import (
    EXPIRED,
    FORGED,
    INVALID,
    LIVE,
    NOT_YET_VALID,
    PLATFORM,
    REVOKED,
    UNVERIFIABLE,
    Finding,
    ScanResult,
)

__all__ = ["SCHEMA_URI", "to_sarif"]

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_INFO_URI = "https://github.com/apikee/apikee-python"
_REVOKE = (
    "Revoke the key now (find it by its SHA-256 fingerprint, the value of apikee.hash_key), "
    "remove it from the code and from the git history (git filter-repo), and rotate the signing "
    "secret if that was committed too."
)

# id, name, short description, full description, level, security-severity, help
_RULES: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    (
        "apikee/live-key",
        "LiveApikeeKey",
        "A live apikee customer key is committed",
        "An apikee customer key that verifies with your signing secret (now, or once its "
        "not-before time passes) is in the scanned files: anyone who reads them can call your "
        "API as that tenant.",
        "error",
        "9.1",
        _REVOKE,
    ),
    (
        "apikee/unverifiable-key",
        "UnverifiableApikeeKey",
        "An apikee customer key that could not be verified is committed",
        "An apikee customer key that has not expired is in the scanned files, and no signing "
        "secret was given to the scanner to tell whether it is genuine. Treat it as live.",
        "error",
        "8.0",
        "Run the scan with APIKEE_SECRET (or --secret-file) set to the secrets your servers "
        "accept to tell live keys from forged ones. " + _REVOKE,
    ),
    (
        "apikee/platform-key",
        "ApikeePlatformKey",
        "An apikee.dev platform key (sk_live_/sk_test_) is committed",
        "A server-side project key (sk_live_… or sk_test_…) is in the scanned files. It is a "
        "server secret, never meant to leave your servers. Other services (such as Stripe) use "
        "the same prefix for their secret keys.",
        "error",
        "9.5",
        "Revoke the key in the apikee.dev dashboard (or the service that issued it), remove it "
        "from the code and the git history, and load it from the environment (APIKEE_SERVER_KEY).",
    ),
    (
        "apikee/expired-key",
        "ExpiredApikeeKey",
        "An expired apikee customer key is committed",
        "An apikee customer key whose expiry has passed is in the scanned files. It no longer "
        "opens your API, but its claims (tenant, scopes, meta) are readable by anyone.",
        "note",
        "2.0",
        "Remove it when convenient; check that its meta holds nothing sensitive.",
    ),
    (
        "apikee/forged-key",
        "ForgedApikeeKey",
        "An apikee key that does not verify with your secrets is committed",
        "An apikee-shaped key whose signature matches none of the secrets given to the scanner: "
        "forged, or issued with another secret (another project, or a secret rotated out).",
        "warning",
        "3.0",
        "If your servers still accept an older secret, give it to the scanner too "
        "(--secret-file, one secret per line) and scan again.",
    ),
    (
        "apikee/invalid-key",
        "InvalidApikeeKey",
        "A malformed apikee key is committed",
        "An apikee-shaped key that verification rejects for its form or its claims (too long, "
        "claims of the wrong type): it opens nothing, but it was probably meant to.",
        "note",
        "1.0",
        "Remove it; keys are issued by apikee.create() and never edited by hand.",
    ),
    (
        "apikee/revoked-key",
        "RevokedApikeeKey",
        "A revoked apikee customer key is committed",
        "An apikee customer key signed with your secret, and revoked in the revocation store "
        "given to the scanner: verifiers that read the store refuse it, but its claims are "
        "readable by anyone.",
        "note",
        "2.0",
        "Remove it from the code and the git history; check that every verifier reads the "
        "store that revoked it.",
    ),
)
_RULE_OF_STATUS = {
    LIVE: 0,
    NOT_YET_VALID: 0,
    UNVERIFIABLE: 1,
    PLATFORM: 2,
    EXPIRED: 3,
    FORGED: 4,
    INVALID: 5,
    REVOKED: 6,
}


def _rule(index: int) -> dict[str, Any]:
    rule_id, name, short, full, level, severity, help_text = _RULES[index]
    return {
        "id": rule_id,
        "name": name,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": help_text, "markdown": help_text},
        "helpUri": _INFO_URI,
        "defaultConfiguration": {"level": level},
        "properties": {
            "tags": ["security", "secret", "apikee"],
            "precision": "high" if index != 1 else "medium",
            "security-severity": severity,
        },
    }


def _uri(path: str) -> tuple[str, str | None]:
    """A relative URI under %SRCROOT% (the working directory) when possible, else a file URI."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # another drive on Windows
        relative = None
    if relative is None or relative == ".." or relative.startswith(".." + os.sep):
        return Path(absolute).as_uri(), None
    return quote(relative.replace(os.sep, "/"), safe="/"), "%SRCROOT%"


def _message(finding: Finding, describe: Callable[[Finding], str]) -> str:
    fingerprint = finding.fingerprint[:16]
    return f"{describe(finding)} ({finding.masked}, SHA-256 fingerprint {fingerprint}…)."


def to_sarif(
    result: ScanResult, *, version: str, describe: Callable[[Finding], str]
) -> dict[str, Any]:
    """The SARIF log (a JSON-ready dict) for a scan; ``describe(finding)`` writes a message."""
    results: list[dict[str, Any]] = []
    for finding in result.findings:
        index = _RULE_OF_STATUS[finding.status]
        uri, base = _uri(finding.path)
        location: dict[str, Any] = {"uri": uri}
        if base:
            location["uriBaseId"] = base
        results.append(
            {
                "ruleId": _RULES[index][0],
                "ruleIndex": index,
                "level": _RULES[index][4],
                "message": {"text": _message(finding, describe)},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": location,
                            "region": {
                                "startLine": finding.line,
                                "startColumn": finding.column_utf16,
                                "endLine": finding.line,
                                "endColumn": finding.end_column_utf16,
                            },
                        }
                    }
                ],
                "partialFingerprints": {
                    # Stable across line moves: which key, and its n-th occurrence in the file.
                    "primaryLocationLineHash": f"{finding.fingerprint[:16]}:{finding.occurrence}",
                    "apikeeKeySha256/v1": finding.fingerprint,
                },
                "properties": {
                    key: value
                    for key, value in (
                        ("status", finding.status),
                        ("kind", finding.kind),
                        ("tenant", finding.tenant),
                        (
                            "revoked",
                            None if finding.revocation is None else finding.revocation.revoked,
                        ),
                    )
                    if value is not None
                },
            }
        )
    cwd_uri = Path(os.getcwd()).as_uri().rstrip("/") + "/"
    # Files that may hold keys but were not scanned: warnings, counted in the properties.
    notifications = (
        [
            {"level": "warning", "message": {"text": f"skipped {path}: larger than the size limit"}}
            for path in result.skipped_large
        ]
        + [
            {"level": "warning", "message": {"text": f"could not read {path}: {why}"}}
            for path, why in result.unreadable
        ]
        + [
            {"level": "warning", "message": {"text": f"skipped {path}: {kind}, not a regular file"}}
            for path, kind in result.skipped_special
        ]
    )
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "workingDirectory": {"uri": cwd_uri},
        "properties": {
            "filesScanned": result.files_scanned,
            "possiblyMissed": result.possibly_missed,
        },
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "apikee",
                        "version": version,
                        "semanticVersion": version,
                        "informationUri": _INFO_URI,
                        "rules": [_rule(i) for i in range(len(_RULES))],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": cwd_uri}},
                "invocations": [invocation],
                "results": results,
                "columnKind": "utf16CodeUnits",
            }
        ],
    }
