"""Finding leaked keys in files and folders (``apikee scan``).

Customer keys (``apikee_<payload>.<signature>``) are decoded without a secret for their tenant
and expiry, and, when the caller passes an :class:`~apikee.Apikee`, verified to tell a live key
from an expired or forged one. Platform keys (``sk_live_…``/``sk_test_…``) are server-side
secrets: they can only be reported. A finding never carries the key itself, only a masked form
and its ``hash_key`` fingerprint (what a revocation list stores).

Speed on large trees: an ``os.scandir`` walk that follows no symlinks, files read as bytes up
to a size limit, ``bytes.find`` for each prefix before an anchored regex match, and one
verification per distinct key.
"""

from __future__ import annotations

import fnmatch
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from ._errors import MSG_NO_MSGPACK, ApikeeError, ErrorCode
from ._keyutil import decode_unverified, hash_key

__all__ = [
    "PATTERNS",
    "FAILING",
    "Finding",
    "ScanResult",
    "scan",
    "patterns_yaml",
    "DEFAULT_MAX_SIZE",
]

# The secret-scanning patterns of the seed document (plus the test-mode platform key the
# scanner also looks for), for a scanner's configuration: `apikee scan --patterns`.
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
    (b"apikee_", re.compile(rb"apikee_[0-9A-Za-z]+\.[0-9A-Za-z]+")),
    (b"sk_live_", re.compile(rb"sk_live_[0-9A-Za-z]{8,}")),
    (b"sk_test_", re.compile(rb"sk_test_[0-9A-Za-z]{8,}")),
)
_ALNUM = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_PRAGMAS = (b"apikee-scan: ignore", b"apikee-scan:ignore")
_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})
_BINARY_SNIFF = 8192  # git's heuristic: a NUL byte in the first 8 KiB means binary
DEFAULT_MAX_SIZE = 10 * 1024 * 1024
_CONTINUATION = bytes(range(0x80, 0xC0))  # UTF-8 continuation bytes: not a new code point
_FOUR_BYTE_LEADS = bytes(range(0xF0, 0xF8))  # code points outside the BMP: 2 UTF-16 units

# Statuses. The failing ones make `apikee scan` exit 1: the key may open the door right now.
LIVE = "live"
NOT_YET_VALID = "not-yet-valid"
UNVERIFIABLE = "unverifiable"
PLATFORM = "platform-key"
EXPIRED = "expired"
FORGED = "forged"
INVALID = "invalid"
FAILING = frozenset({LIVE, NOT_YET_VALID, UNVERIFIABLE, PLATFORM})
STATUSES = (LIVE, NOT_YET_VALID, UNVERIFIABLE, PLATFORM, EXPIRED, FORGED, INVALID)


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
    excluded: int = 0
    ignored_candidates: int = 0  # matched the pattern but do not decode as a key
    ignored_by_pragma: int = 0
    secret_configured: bool = False

    @property
    def failing(self) -> int:
        """How many findings are live, not yet valid, unverifiable or platform keys."""
        return sum(1 for f in self.findings if f.failing)

    def by_status(self) -> dict[str, int]:
        """Finding counts for every status (zeros included: a stable JSON shape)."""
        counts = dict.fromkeys(STATUSES, 0)
        for finding in self.findings:
            counts[finding.status] += 1
        return counts


# ── walking ─────────────────────────────────────────────────────────────────────────────────


def _exclude_matcher(patterns: Iterable[str]) -> Callable[..., bool]:
    """A test ``(*paths) -> excluded`` for fnmatch-style globs.

    A glob matches the path relative to the scanned folder, the path as displayed or the bare
    name, so ``--exclude tests``, ``--exclude '*.min.js'`` and ``--exclude 'docs/*'`` all work.
    """
    patterns = [p.replace(os.sep, "/").rstrip("/") for p in patterns if p.strip()]
    if not patterns:
        return lambda *paths: False
    regex = re.compile("|".join(fnmatch.translate(p) for p in patterns))

    def excluded(*paths: str) -> bool:
        return any(regex.match(p.replace(os.sep, "/")) for p in paths)

    return excluded


def _walk(
    root: str, excluded: Callable[..., bool], result: ScanResult
) -> Iterator[tuple[str, int]]:
    """(path, size) of every regular file under ``root``, skipping VCS folders and symlinks."""
    stack = [(root, "")]  # (folder as opened, its path relative to root with a trailing "/")
    while stack:
        folder, rel_prefix = stack.pop()
        try:
            with os.scandir(folder) as entries:
                children = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            result.unreadable.append((os.path.normpath(folder), exc.strerror or type(exc).__name__))
            continue
        subfolders = []
        for entry in children:
            name, rel = entry.name, rel_prefix + entry.name
            path = os.path.normpath(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if name in _SKIPPED_DIRS:
                        continue
                    if excluded(name, rel, path):
                        result.excluded += 1
                        continue
                    subfolders.append((entry.path, rel + "/"))
                elif entry.is_file(follow_symlinks=False):
                    if name in _SKIPPED_DIRS:  # a ".git" file: a worktree or submodule link
                        continue
                    if excluded(name, rel, path):
                        result.excluded += 1
                        continue
                    yield path, entry.stat(follow_symlinks=False).st_size
            except OSError as exc:
                result.unreadable.append((path, exc.strerror or type(exc).__name__))
        stack.extend(reversed(subfolders))  # depth first, in name order


def _files(
    paths: Iterable[str], excluded: Callable[..., bool], result: ScanResult
) -> Iterator[tuple[str, int]]:
    for root in paths:
        if os.path.isdir(root):
            yield from _walk(root, excluded, result)
        else:  # a file named on the command line is scanned even if a glob matches it
            try:
                yield os.path.normpath(root), os.stat(root).st_size
            except OSError as exc:
                result.unreadable.append((root, exc.strerror or type(exc).__name__))


# ── classifying ─────────────────────────────────────────────────────────────────────────────


def _number(value: Any) -> float | None:
    if type(value) in (int, float) and 0 <= value <= 253402300799:
        return value
    return None


def _text(value: Any) -> str | None:
    return value if type(value) is str else None


_NOT_YOURS = "does not verify with your secret(s): forged, or issued with another secret"
_NEEDS_MSGPACK = "a MessagePack key: install apikee[msgpack] to read its claims"


def _classify(key: str, apikee: Any, now: float) -> tuple[str, str, dict] | None:
    """(status, detail, decoded claims) for a customer key; None when it is not a key at all."""
    try:
        claims = decode_unverified(key)
    except ApikeeError as exc:
        if exc.message != MSG_NO_MSGPACK:
            return None  # looks like "apikee_x.y" but is no key: a name in code, a truncated line
        claims = {}  # a legacy MessagePack key; its claims need the optional msgpack package
        unreadable = True
    else:
        if type(claims) is not dict:
            return None
        unreadable = False
    exp = _number(claims.get("exp"))
    if apikee is None:
        if exp is not None and now > exp:
            return EXPIRED, "not verified (no secret given); expired by its claims", claims
        if unreadable:
            return UNVERIFIABLE, f"not verified: no secret given; {_NEEDS_MSGPACK}", claims
        return UNVERIFIABLE, "not verified: no secret given", claims
    try:
        apikee.verify(key, now=now)
    except ApikeeError as exc:
        if exc.code == ErrorCode.EXPIRED:
            return EXPIRED, "signed with your secret", claims
        if exc.code == ErrorCode.NOT_YET_VALID:
            return NOT_YET_VALID, "signed with your secret; becomes valid later", claims
        if exc.code == ErrorCode.INVALID_SIGNATURE:
            return FORGED, _NOT_YOURS, claims
        if exc.message == MSG_NO_MSGPACK:
            return UNVERIFIABLE, f"signed with your secret; {_NEEDS_MSGPACK}", claims
        return INVALID, f"{exc.code}: {exc.message}", claims
    return LIVE, "verifies with your secret", claims


def _mask(key: str) -> str:
    if key.startswith("apikee_"):
        return "apikee_…" + key[-4:]  # 4 characters of the MAC: no help to anyone
    return key[:8] + "…"  # a platform key is a secret: its prefix only


# ── scanning ────────────────────────────────────────────────────────────────────────────────


def _matches(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of every key-shaped string in ``data``, in order."""
    spans = []
    for needle, shape in _SHAPES:
        at = data.find(needle)
        while at != -1:
            match = None if at and data[at - 1] in _ALNUM else shape.match(data, at)
            if match is not None:
                spans.append(match.span())
            at = data.find(needle, match.end() if match is not None else at + 1)
    spans.sort()
    return spans


def _scan_bytes(
    data: bytes, path: str, apikee: Any, now: float, cache: dict, result: ScanResult
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
        if key.startswith("apikee_"):
            if key not in cache:
                cache[key] = _classify(key, apikee, now)
            classified = cache[key]
            if classified is None:
                result.ignored_candidates += 1
                continue
            status, detail, claims = classified
            kind = "customer-key"
            tenant, environment = _text(claims.get("tid")), _text(claims.get("env"))
            exp = _number(claims.get("exp"))
        else:
            status, kind = PLATFORM, "platform-key"
            detail = "a server-side apikee.dev project key (or another service's sk_ secret key)"
            tenant = environment = exp = None
        segment = data[col_pos:start]
        cp = len(segment.translate(None, _CONTINUATION))
        astral = len(segment) - len(segment.translate(None, _FOUR_BYTE_LEADS))
        col_pos, col_cp, col_u16 = start, col_cp + cp, col_u16 + cp + astral
        seen[key] = seen.get(key, 0) + 1
        width = end - start  # keys are ASCII: one column per byte in every unit
        result.findings.append(
            Finding(
                path=path,
                line=line,
                column=col_cp,
                end_column=col_cp + width,
                column_utf16=col_u16,
                end_column_utf16=col_u16 + width,
                kind=kind,
                masked=_mask(key),
                fingerprint=hash_key(key),
                status=status,
                detail=detail,
                tenant=tenant,
                environment=environment,
                exp=exp,
                occurrence=seen[key],
            )
        )


def scan(
    paths: Iterable[str],
    *,
    apikee: Any = None,
    excludes: Iterable[str] = (),
    max_size: int = DEFAULT_MAX_SIZE,
    now: float | None = None,
    progress: Callable[[int, str], None] | None = None,
) -> ScanResult:
    """Scan files and folders for keys.

    ``apikee``: an :class:`~apikee.Apikee` with the secrets your servers accept, to tell live
    keys from expired and forged ones (without it, unexpired keys are ``unverifiable``).
    ``excludes``: fnmatch globs. Files over ``max_size`` bytes, binary files (a NUL byte in the
    first 8 KiB), ``.git``/``.hg``/``.svn`` folders and symlinks are skipped. ``progress`` is
    called as ``progress(files_scanned, path)`` before each file.
    """
    result = ScanResult(secret_configured=apikee is not None)
    now = time.time() if now is None else now
    cache: dict[str, Any] = {}
    for path, size in _files(paths, _exclude_matcher(excludes), result):
        if progress is not None:
            progress(result.files_scanned, path)
        try:
            with open(path, "rb") as handle:
                if size > max_size:  # only its head, to tell binary (not worth a note) from text
                    data = handle.read(_BINARY_SNIFF)
                else:
                    # read(n) allocates n bytes up front: ask for what stat() announced (+1 to
                    # notice growth), never for the whole limit (3x slower on small files).
                    data = handle.read(size + 1 if size else max_size + 1)
                    if len(data) > size and size:
                        data += handle.read(max_size + 1 - len(data))
        except OSError as exc:
            result.unreadable.append((path, exc.strerror or type(exc).__name__))
            continue
        if data.find(b"\x00", 0, _BINARY_SNIFF) != -1:
            result.skipped_binary += 1
            continue
        if size > max_size or len(data) > max_size:  # (or it grew since stat())
            result.skipped_large.append(path)
            continue
        result.files_scanned += 1
        result.bytes_scanned += len(data)
        _scan_bytes(data, path, apikee, now, cache, result)
    return result


def patterns_yaml() -> str:
    """The patterns as a ``.github/secret_scanning.yml`` document (the seed's format)."""
    lines = ["# .github/secret_scanning.yml  (generated by: apikee scan --patterns)", "patterns:"]
    for name, pattern in PATTERNS:
        lines.append(f"  - pattern: '{pattern}'")
        lines.append(f"    name: {name}")
    return "\n".join(lines) + "\n"
