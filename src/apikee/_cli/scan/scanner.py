"""Finding leaked keys in files and folders (``apikee scan``).

Customer keys (``apikee_<payload>.<signature>``) and platform keys (``sk_live_…``/``sk_test_…``,
server-side secrets that can only be reported) are found in every file the walk
(:mod:`.walk`) yields, read by :mod:`.reading` and judged by :mod:`.classify`.

Speed on large trees: files read as bytes up to a size limit, ``bytes.find`` for each prefix
before an anchored regex match, and one verification per distinct key.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..._keyutil import hash_key
from ..._wire import ALPHABET, PREFIX
from ..claims import unix_seconds
from .classify import classify, mask, text
from .findings import PLATFORM, REVOCABLE, Finding, RevokeOutcome, ScanResult
from .reading import NotRegular, read_file, text_encoding
from .walk import exclude_matcher, files_to_read

if TYPE_CHECKING:
    from ..._apikee import Apikee

__all__ = ["DEFAULT_MAX_SIZE", "PATTERNS", "patterns_yaml", "scan"]

# The secret-scanning patterns of docs/SPEC.md section 7 (customer keys, live and test-mode
# platform keys), for a scanner's configuration: `apikee scan --patterns`.
PATTERNS = (
    ("apikee customer key", r"apikee_[0-9A-Za-z]+\.[0-9A-Za-z]+"),
    ("apikee platform key", r"sk_live_[0-9A-Za-z]+"),
    ("apikee platform test key", r"sk_test_[0-9A-Za-z]+"),
)

# What the scanner matches: the same shapes, not glued to a preceding letter or digit
# ("task_live_x" is not "sk_live_x"), and platform keys of at least 8 characters so that
# documentation placeholders such as "sk_live_abc123..." are not reported. Each needle is found
# with bytes.find (memchr speed) and only then matched: a regex over whole files is 10x slower.
_SHAPES = (
    (PREFIX.encode(), re.compile(re.escape(PREFIX).encode() + rb"[0-9A-Za-z]+\.[0-9A-Za-z]+")),
    (b"sk_live_", re.compile(rb"sk_live_[0-9A-Za-z]{8,}")),
    (b"sk_test_", re.compile(rb"sk_test_[0-9A-Za-z]{8,}")),
)
_ALNUM = frozenset(ALPHABET.encode("ascii"))
_PRAGMAS = (b"apikee-scan: ignore", b"apikee-scan:ignore")
DEFAULT_MAX_SIZE = 10 * 1024 * 1024
_CONTINUATION = bytes(range(0x80, 0xC0))  # UTF-8 continuation bytes: not a new code point
_FOUR_BYTE_LEADS = bytes(range(0xF0, 0xF8))  # code points outside the BMP: 2 UTF-16 units
_PLATFORM_DETAIL = "a server-side apikee.dev project key (or another service's sk_ secret key)"

# (status, kind, detail, tenant, environment, exp) of a key, the same wherever it appears.
_Judged = tuple[str, str, str, str | None, str | None, float | None]
# `scan --revoke`: revoker(key, path, line) revokes a key (each distinct key once).
Revoke = Callable[[str, str, int], RevokeOutcome]


def _matches(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of every key-shaped string in ``data``, in order."""
    spans: list[tuple[int, int]] = []
    for needle, shape in _SHAPES:
        at = data.find(needle)
        while at != -1:
            match = None if at and data[at - 1] in _ALNUM else shape.match(data, at)
            if match is not None:
                spans.append(match.span())
            at = data.find(needle, match.end() if match is not None else at + 1)
    spans.sort()
    return spans


def _judge(key: str, apikee: Apikee | None, now: float) -> _Judged | None:
    """What a key-shaped match is; None when it is no key (a name such as apikee_x.y)."""
    if not key.startswith(PREFIX):
        return PLATFORM, "platform-key", _PLATFORM_DETAIL, None, None, None
    classified = classify(key, apikee, now)
    if classified is None:
        return None
    status, detail, claims = classified
    tenant, environment = text(claims.get("tid")), text(claims.get("env"))
    return status, "customer-key", detail, tenant, environment, unix_seconds(claims.get("exp"))


def _scan_bytes(
    data: bytes,
    path: str,
    apikee: Apikee | None,
    now: float,
    cache: dict[str, _Judged | None],
    result: ScanResult,
    revoke: Revoke | None = None,
) -> None:
    # Everything per line is computed once per line, and counts run on from the previous match:
    # a 10 MB minified line with thousands of keys stays linear.
    line, line_start, last = 1, 0, 0
    col_pos, col_cp, col_u16 = 0, 1, 1  # running column count on the current line
    ignored_line: bool | None = None  # does the current line carry the ignore pragma?
    seen: dict[str, int] = {}
    for start, end in _matches(data):
        newlines = data.count(b"\n", last, start)
        if newlines:
            line += newlines
            line_start = data.rfind(b"\n", last, start) + 1
            col_pos, col_cp, col_u16 = line_start, 1, 1
            ignored_line = None
        last = start
        if ignored_line is None:
            line_end = data.find(b"\n", end)
            line_end = len(data) if line_end == -1 else line_end
            ignored_line = any(data.find(p, line_start, line_end) != -1 for p in _PRAGMAS)
        if ignored_line:
            result.ignored_by_pragma += 1
            continue
        key = data[start:end].decode("ascii")
        if key not in cache:
            cache[key] = _judge(key, apikee, now)
        judged = cache[key]
        if judged is None:
            result.ignored_candidates += 1
            continue
        status, kind, detail, tenant, environment, exp = judged
        segment = data[col_pos:start]
        cp = len(segment.translate(None, _CONTINUATION))
        astral = len(segment) - len(segment.translate(None, _FOUR_BYTE_LEADS))
        col_pos, col_cp, col_u16 = start, col_cp + cp, col_u16 + cp + astral
        seen[key] = seen.get(key, 0) + 1
        width = end - start  # keys are ASCII: one column per byte in every unit
        revocation = revoke(key, path, line) if revoke is not None and status in REVOCABLE else None
        result.findings.append(
            Finding(
                path=path,
                line=line,
                column=col_cp,
                end_column=col_cp + width,
                column_utf16=col_u16,
                end_column_utf16=col_u16 + width,
                kind=kind,
                masked=mask(key),
                fingerprint=hash_key(key),
                status=status,
                detail=detail,
                tenant=tenant,
                environment=environment,
                exp=exp,
                occurrence=seen[key],
                revocation=revocation,
            )
        )


def scan(
    paths: Iterable[str],
    *,
    apikee: Apikee | None = None,
    excludes: Iterable[str] = (),
    max_size: int = DEFAULT_MAX_SIZE,
    now: float | None = None,
    progress: Callable[[int, str], None] | None = None,
    revoke: Revoke | None = None,
) -> ScanResult:
    """Scan files and folders for keys.

    ``apikee``: an :class:`~apikee.Apikee` with the secrets your servers accept, to tell live
    keys from expired and forged ones (without it, unexpired keys are ``unverifiable``).
    ``excludes``: fnmatch globs. Files over ``max_size`` bytes, binary files (a NUL byte in the
    first 8 KiB that is not UTF-16's pattern), special files (FIFOs, sockets, devices: never
    opened), ``.git``/``.hg``/``.svn`` folders and symlinks are skipped; the result counts
    them (``possibly_missed``: the skipped files that may hold keys). UTF-16 and UTF-32 text
    (a BOM, or UTF-16's NUL-byte pattern) is decoded and scanned. ``progress`` is
    called as ``progress(files_scanned, path)`` before each file.

    When ``apikee`` has a store, keys it has revoked are ``revoked``. ``revoke`` (``scan
    --revoke``; needs ``apikee``): called as ``revoke(key, path, line)`` for each live or
    not-yet-valid key found, it revokes the key and says how that went (the finding's
    ``revocation``); the finding keeps the status the key had when it was found.
    """
    store = None
    if apikee is not None and apikee.store_kind is not None:
        health = apikee.store_status() or {}
        store = str(health.get("url") or apikee.store_kind)
    result = ScanResult(
        secret_configured=apikee is not None, store=store, revoke=revoke is not None
    )
    now = time.time() if now is None else now
    cache: dict[str, _Judged | None] = {}
    for path, size, follow in files_to_read(paths, exclude_matcher(excludes), result):
        if progress is not None:
            progress(result.files_scanned, path)
        try:
            data = read_file(path, size, max_size, follow)
        except NotRegular as exc:
            result.skipped_special.append((path, exc.kind))
            continue
        except OSError as exc:
            result.unreadable.append((path, exc.strerror or type(exc).__name__))
            continue
        encoding = text_encoding(data)
        if encoding is None:
            result.skipped_binary += 1
            continue
        if size > max_size or len(data) > max_size:  # (or it grew since stat())
            result.skipped_large.append(path)
            continue
        result.files_scanned += 1
        result.bytes_scanned += len(data)
        if encoding != "utf-8":
            result.files_transcoded += 1
            data = data.decode(encoding, "replace").encode("utf-8")
        _scan_bytes(data, path, apikee, now, cache, result, revoke)
    result.revoke_error = getattr(revoke, "error", None)
    return result


def patterns_yaml() -> str:
    """The patterns as a ``.github/secret_scanning.yml`` document (GitHub's secret-scanning format)."""
    lines = ["# .github/secret_scanning.yml  (generated by: apikee scan --patterns)", "patterns:"]
    for name, pattern in PATTERNS:
        lines.append(f"  - pattern: '{pattern}'")
        lines.append(f"    name: {name}")
    return "\n".join(lines) + "\n"
