"""The ``apikee`` command line: secrets, keys, leak scanning, diagnostics.

``apikee`` (or ``python -m apikee``) with no arguments runs a short demo. Commands: ``demo``,
``secret``, ``create``, ``verify``, ``inspect``, ``scan``, ``info``; each takes ``--json``.

Exit codes: 0 success; 1 a key or secret was judged bad (or ``scan`` found keys that may work);
2 a usage or configuration error (argparse's own errors included); 3 an internal error (a bug).

Nothing here prints a signing secret, and only ``create`` (whose job it is) and the demo (with
a throwaway secret) print a full key: scan results, errors and argparse's messages mask keys.
Heavy or rarely used modules are imported inside the commands that need them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, NoReturn

EXIT_OK, EXIT_BAD, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
STDIN_LIMIT = 1 << 20  # a key is at most a few KiB; reading more is never needed
SECRET_FILE_LIMIT = 1 << 16
_DISPLAY_LIMIT = 200  # characters of a decoded (possibly hostile) string shown in text output

NO_SECRET = (
    "no signing secret: set APIKEE_SECRET (make one with: apikee secret) "
    "or pass --secret-file FILE"
)


class CliError(Exception):
    """A failure the user can act on: printed as ``apikee: <message>``, exit ``status``."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# ── text safety ─────────────────────────────────────────────────────────────────────────────

_KEY_TEXT = re.compile(r"apikee_[0-9A-Za-z]+\.[0-9A-Za-z]+|sk_(?:live|test)_[0-9A-Za-z]+")
# Control and invisible/bidi characters a hostile key could use to rewrite a terminal line.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)


def redact(text: str) -> str:
    """``text`` with every key-shaped substring masked (for messages that echo user input)."""
    return _KEY_TEXT.sub(lambda m: m.group()[:8] + "…[masked]", text)


def safe(value: Any, limit: int = _DISPLAY_LIMIT) -> str:
    """A decoded value as one harmless line: escapes control characters, caps the length."""
    text = value if isinstance(value, str) else json.dumps(jsonable(value), ensure_ascii=False)
    text = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text)} characters)"
    return text


def jsonable(value: Any, depth: int = 0) -> Any:
    """Decoded claims (JSON or legacy MessagePack, possibly hostile) as strict-JSON data."""
    if depth > 64:
        return "…"
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {
            (k if isinstance(k, str) else repr(k)): jsonable(v, depth + 1) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [jsonable(v, depth + 1) for v in value]
    return repr(value)[:_DISPLAY_LIMIT]


def out(text: str = "") -> None:
    print(text)


def err(text: str) -> None:
    print(text, file=sys.stderr)


def emit_json(data: Any) -> None:
    """Print one JSON document (ASCII only, so any terminal or pipe takes it)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=True, allow_nan=False) + "\n")


# ── time ────────────────────────────────────────────────────────────────────────────────────


def iso(timestamp: float | None) -> str | None:
    """Unix seconds as ``2026-03-01T12:00:00Z`` (None stays None)."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _amount(seconds: float) -> str:
    for unit, size, up_to in (
        ("second", 1, 90), ("minute", 60, 90 * 60), ("hour", 3600, 36 * 3600),
        ("day", 86400, 730 * 86400),
    ):
        if seconds < up_to:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    count = int(seconds // (365.25 * 86400))
    return f"{count} years"


def relative(timestamp: float, now: float) -> str:
    """``"in 89 days"`` or ``"3 days ago"``."""
    delta = timestamp - now
    return f"in {_amount(delta)}" if delta >= 0 else f"{_amount(-delta)} ago"


_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def _parse_datetime(text: str) -> datetime:
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)  # ValueError when not ISO 8601
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_when(text: str, option: str) -> datetime | timedelta | float:
    """An instant from the command line: ISO 8601 (naive = UTC), unix seconds, or a duration
    from now (``+30d``, ``-1h``; a bare ``30d`` also means from now)."""
    from ._duration import parse_duration

    value = text.strip()
    try:
        if _NUMBER.fullmatch(value):
            return float(value)
        sign = -1 if value.startswith("-") else 1
        try:
            return sign * parse_duration(value.lstrip("+-"))
        except ValueError:
            pass
        return _parse_datetime(value)
    except (ValueError, OverflowError, IndexError):
        raise CliError(
            f"{option}: cannot read {safe(redact(text), 60)!r}: use an ISO 8601 date "
            "(2026-01-31 or 2026-01-31T12:00:00Z), unix seconds, or +DURATION such as +30d"
        ) from None


def instant_seconds(text: str, option: str) -> float:
    """:func:`parse_when` as unix seconds (for ``--now``)."""
    value = parse_when(text, option)
    try:
        if isinstance(value, timedelta):
            return time.time() + value.total_seconds()
        if isinstance(value, datetime):
            return value.timestamp()
    except (OverflowError, ValueError, OSError):
        raise CliError(f"{option}: the date is out of range") from None
    if not math.isfinite(value):
        raise CliError(f"{option}: the date is out of range")
    return value


def parse_expires(text: str) -> Any:
    """``--expires``: ``never``, a duration (``90d``), or an absolute ISO 8601 date."""
    from ._duration import parse_duration

    value = text.strip()
    if value.lower() == "never":
        return None
    try:
        parse_duration(value)
        return value
    except ValueError:
        pass
    try:
        return _parse_datetime(value)
    except (ValueError, IndexError):
        raise CliError(
            f"--expires: cannot read {safe(redact(text), 60)!r}: use a duration (90d, 24h, 60m, "
            "3600s, 1w), 'never', or an ISO 8601 date such as 2026-01-31T00:00:00Z"
        ) from None


# ── claims ──────────────────────────────────────────────────────────────────────────────────

_KNOWN_CLAIMS = ("id", "tid", "scp", "env", "exp", "nbf", "meta")


def claims_view(claims: dict, key: str | bytes) -> tuple[dict, list[str]]:
    """The stable ``--json`` shape of a key's claims, and any type problems found in them.

    Shape: ``id, tenant, scopes, environment, expires_at, exp, not_before, nbf, meta,
    fingerprint, other_claims``; ``*_at``/``not_before`` are ISO 8601 UTC or null.
    """
    from ._keyutil import hash_key

    problems: list[str] = []

    def text(name: str, default: str) -> Any:
        value = claims.get(name, default)
        if type(value) is not str:
            problems.append(f"claim '{name}' must be a string")
        return jsonable(value)

    def instant(name: str) -> tuple[Any, str | None]:
        value = claims.get(name)
        if value is None and name not in claims:
            return None, None
        if type(value) in (int, float) and 0 <= value <= 253402300799:
            return value, iso(value)
        problems.append(f"claim '{name}' must be a number of unix seconds from 0 to 253402300799")
        return jsonable(value), None

    key_id, tenant = text("id", ""), text("tid", "")
    scopes = claims.get("scp", [])
    if type(scopes) is not list or any(type(s) is not str for s in scopes):
        problems.append("claim 'scp' must be a list of strings")
    environment = text("env", "production")
    exp, expires_at = instant("exp")
    nbf, not_before = instant("nbf")
    meta = claims.get("meta", {})
    if type(meta) is not dict:
        problems.append("claim 'meta' must be an object")
    if isinstance(key, str):
        key = key.encode("utf-8", "surrogatepass")
    view = {
        "id": key_id,
        "tenant": tenant,
        "scopes": jsonable(scopes),
        "environment": environment,
        "expires_at": expires_at,
        "exp": exp,
        "not_before": not_before,
        "nbf": nbf,
        "meta": jsonable(meta),
        "fingerprint": hash_key(key),
        "other_claims": jsonable({k: v for k, v in claims.items() if k not in _KNOWN_CLAIMS}),
    }
    return view, problems


def claims_lines(view: dict, now: float, indent: str = "  ") -> list[str]:
    """The claims as aligned ``name  value`` lines for people."""
    scopes = view["scopes"]
    if isinstance(scopes, list) and scopes:
        scope_text = ", ".join(safe(s, 80) for s in scopes)
    else:
        scope_text = "(none)" if scopes == [] else safe(scopes)

    def when(at: str | None, raw: Any, absent: str) -> str:
        if at is not None:
            return f"{at} ({relative(raw, now)})"
        return absent if raw is None else f"{safe(raw)} (invalid)"

    rows = [
        ("id", safe(view["id"])),
        ("tenant", safe(view["tenant"])),
        ("scopes", scope_text),
        ("environment", safe(view["environment"])),
        ("expires", when(view["expires_at"], view["exp"], "never")),
    ]
    if view["nbf"] is not None:
        rows.append(("not before", when(view["not_before"], view["nbf"], "-")))
    rows.append(("meta", safe(view["meta"]) if view["meta"] != {} else "(none)"))
    if view["other_claims"]:
        rows.append(("other claims", safe(view["other_claims"])))
    rows.append(("fingerprint", f"{view['fingerprint']} (sha256, = apikee.hash_key(key))"))
    return [f"{indent}{name:<12} {value}" for name, value in rows]


# ── inputs ──────────────────────────────────────────────────────────────────────────────────


def read_key_argument(value: str) -> str | bytes:
    """The KEY argument, or stdin's bytes for ``-`` (bounded: verify rejects long keys anyway)."""
    if value == "-":
        return sys.stdin.buffer.read(STDIN_LIMIT + 1).strip()
    return value.strip()


def read_secret_file(path: str) -> list[str]:
    """Secrets from a file: one a line, current first; blank lines and ``#`` comments skipped."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(SECRET_FILE_LIMIT + 1)
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise CliError(f"--secret-file: cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > SECRET_FILE_LIMIT:
        raise CliError(f"--secret-file: {path} is larger than 64 KiB: not a secrets file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"--secret-file: {path} is not UTF-8 text") from None
    secrets = [line.strip() for line in text.splitlines()]
    secrets = [s for s in secrets if s and not s.startswith("#")]
    if not secrets:
        raise CliError(f"--secret-file: {path} holds no secret (one per line, current first)")
    if os.name == "posix" and mode & 0o077:
        err(f"apikee: warning: {path} is readable by other users; restrict it: chmod 600 {path}")
    return secrets


def configured_secrets(args: argparse.Namespace, required: bool = True) -> list[str] | None:
    """``--secret-file`` (every line, rotation order), else ``APIKEE_SECRET`` (one secret)."""
    if getattr(args, "secret_file", None):
        return read_secret_file(args.secret_file)
    value = os.environ.get("APIKEE_SECRET", "").strip()
    if value:
        return [value]
    if required:
        raise CliError(NO_SECRET)
    return None


def make_apikee(secrets: list[str], **options: Any) -> Any:
    """An ``Apikee`` for these secrets; its weak-secret warning becomes a line on stderr."""
    import warnings

    from ._apikee import Apikee, ApikeeConfigError, WeakSecretWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WeakSecretWarning)
        try:
            apikee = Apikee(secrets=secrets, **options)
        except ApikeeConfigError as exc:
            raise CliError(str(exc).splitlines()[0]) from None
    for warning in caught:
        err(f"apikee: warning: {warning.message}")
    return apikee


# ── commands ────────────────────────────────────────────────────────────────────────────────


def cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(json_output=args.json)


def _secrets_to_check(args: argparse.Namespace) -> list[tuple[str, str]]:
    if args.secret_file:
        return [
            (f"{args.secret_file} line {n}", s)
            for n, s in enumerate(read_secret_file(args.secret_file), 1)
        ]
    if not args.stdin:
        value = os.environ.get("APIKEE_SECRET", "").strip()
        if value:
            return [("APIKEE_SECRET", value)]
    if sys.stdin is None:
        raise CliError("nothing to check: set APIKEE_SECRET or pipe the secret on stdin")
    if sys.stdin.isatty():  # typed by hand: never echo it
        import getpass

        text = getpass.getpass("Secret to check (input hidden): ")
    else:
        text = sys.stdin.buffer.read(SECRET_FILE_LIMIT).decode("utf-8", "surrogateescape")
    text = text.strip()
    if not text:
        raise CliError("nothing to check: set APIKEE_SECRET or pipe the secret on stdin")
    return [("stdin", text)]


def cmd_secret(args: argparse.Namespace) -> int:
    if not args.check:
        if args.stdin or args.secret_file:
            raise CliError("--stdin and --secret-file go with --check")
        from ._keyutil import generate_secret

        secret = generate_secret()
        if args.json:
            emit_json({"secret": secret, "bytes": 32, "encoding": "hex"})
        else:
            out(secret)
            if sys.stdout.isatty():
                err("apikee: store it as APIKEE_SECRET in your secrets manager; never commit it")
        return EXIT_OK

    from ._secretcheck import judge_secret

    results = [(label, judge_secret(secret)) for label, secret in _secrets_to_check(args)]
    weak = any(not report.ok for _, report in results)
    if args.json:
        emit_json({
            "ok": not weak,
            "results": [{"source": label, **report.to_dict()} for label, report in results],
        })
        return EXIT_BAD if weak else EXIT_OK
    for label, report in results:
        summary = (
            f"{report.length} bytes, {report.alphabet}, "
            f"about {report.entropy_bits} bits of entropy estimated"
        )
        out(f"{label}: {'OK' if report.ok else 'WEAK'} ({summary})")
        for _, message in report.problems:
            out(f"  problem: {message}")
        for _, message in report.warnings:
            out(f"  note: {message}")
    if weak:
        out("Replace it with a new secret: apikee secret   (or: openssl rand -hex 32)")
    return EXIT_BAD if weak else EXIT_OK


_SENSITIVE_META = re.compile(r"pass|secret|token|ssn|social|card|cvv|iban|private|credential", re.I)


def _parse_meta(items: list[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for item in items:
        if item.split("=", 1)[0].endswith(":"):  # K:=JSON (HTTPie's convention for raw JSON)
            name, _, raw = item.partition(":=")
            try:
                value = json.loads(raw)
            except ValueError:
                raise CliError(f"--meta {safe(name, 40)}:=…: not valid JSON") from None
        else:
            name, sep, value = item.partition("=")
            if not sep:
                raise CliError("--meta takes KEY=VALUE (a string) or KEY:=JSON")
        name = name.strip()
        if not name:
            raise CliError("--meta: the name before '=' is empty")
        if _SENSITIVE_META.search(name):
            err(
                f"apikee: warning: meta {name!r} will be readable by anyone who holds the key "
                "(claims are encoded, not encrypted): never put secrets or personal data in meta"
            )
        meta[name] = value
    return meta


def cmd_create(args: argparse.Namespace) -> int:
    secrets = configured_secrets(args)
    if not args.tenant.strip():
        raise CliError("--tenant must not be empty")
    options: dict[str, Any] = {}
    if args.expires is not None:
        options["expires_in"] = parse_expires(args.expires)
    if args.not_before is not None:
        options["not_before"] = parse_when(args.not_before, "--not-before")
    meta = _parse_meta(args.meta)
    apikee = make_apikee(secrets)
    from ._secretcheck import judge_secret

    report = judge_secret(secrets[0])
    serious = [m for code, m in report.problems if code != "TOO_SHORT"]  # Apikee warned already
    if serious:
        err(f"apikee: warning: weak signing secret: {serious[0]} (see: apikee secret --check)")
    try:
        key = apikee.create(
            args.tenant, scopes=args.scope, meta=meta or None, environment=args.env, **options
        )
    except (ValueError, TypeError, OverflowError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        from ._keyutil import decode_unverified

        view, _ = claims_view(decode_unverified(key), key)
        emit_json({"key": key, "claims": view})
    else:
        out(key)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from ._errors import ApikeeError

    if args.any_scope and not args.require_scope:
        raise CliError("--any-scope needs at least one --require-scope")
    now = instant_seconds(args.now, "--now") if args.now is not None else None
    secrets = configured_secrets(args)
    apikee = make_apikee(secrets, environment=args.env)
    key = read_key_argument(args.key)
    try:
        claims = apikee.verify(key, now=now, scopes=args.require_scope, any_of=args.any_scope)
    except ApikeeError as exc:
        if args.json:
            emit_json({"valid": False, "error": exc.code, "message": exc.message})
        else:
            err(f"{exc.code}: {exc.message}")
        return EXIT_BAD
    view, _ = claims_view(claims.to_dict(), key)
    if args.json:
        emit_json({"valid": True, "claims": view})
    else:
        out("VALID: the signature matches your secret and the key is within its validity window")
        for line in claims_lines(view, time.time() if now is None else now):
            out(line)
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace) -> int:
    from ._errors import ApikeeError, ErrorCode
    from ._keyutil import decode_unverified

    key = read_key_argument(args.key)
    try:
        claims = decode_unverified(key)
        if type(claims) is not dict:
            raise ApikeeError(ErrorCode.INVALID_CLAIMS, "the key claims are not an object")
    except ApikeeError as exc:
        if args.json:
            emit_json({"verified": False, "error": exc.code, "message": exc.message})
        else:
            err(f"{exc.code}: {exc.message}")
        return EXIT_BAD
    view, problems = claims_view(claims, key)
    if args.json:
        emit_json({"verified": False, "claims": view, "problems": problems})
        return EXIT_BAD if problems else EXIT_OK
    out("NOT VERIFIED: decoded without any secret. Anyone can read these claims, and anyone")
    out("can write a key that shows them: only `apikee verify` (with your secret) proves a key.")
    for line in claims_lines(view, time.time()):
        out(line)
    for problem in problems:
        out(f"  problem: {problem} (verify would answer INVALID_CLAIMS)")
    return EXIT_BAD if problems else EXIT_OK


_SIZE = re.compile(r"(\d+)\s*([kmg]?)i?b?", re.I)


def _parse_size(text: str) -> int:
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError("use a size such as 10M, 512K or 1048576")
    return int(match.group(1)) * 1024 ** " kmg".index(match.group(2).lower() or " ")


def _size_text(size: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} bytes"  # pragma: no cover


class _Progress:
    """A one-line counter on stderr, only when stderr is a terminal, redrawn 10 times a second."""

    def __init__(self) -> None:
        self.last = 0.0
        self.shown = False

    def __call__(self, count: int, path: str) -> None:
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        self.shown = True
        shown = safe(path, 10_000)
        shown = shown if len(shown) <= 60 else "…" + shown[-59:]  # the file name end matters
        sys.stderr.write(f"\r\x1b[Kscanning… {count:,} files  {shown}")
        sys.stderr.flush()

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _expiry_text(finding: Any, now: float) -> str:
    if finding.exp is None:
        return "never expires"
    verb = "expired" if finding.exp < now else "expires"
    return f"{verb} {iso(finding.exp)} ({relative(finding.exp, now)})"


def _finding_line(finding: Any, now: float) -> str:
    """The text-format line of a finding: where, what, whose, until when, why; no key."""
    head = (
        f"{safe(finding.path)}:{finding.line}:{finding.column}: "
        f"{finding.status.upper()} {finding.masked}"
    )
    if finding.kind == "platform-key":
        return f"{head} {finding.detail} [sha256 {finding.fingerprint[:16]}]"
    tenant = "tenant unknown" if finding.tenant is None else f"tenant {safe(finding.tenant, 60)!r}"
    return (
        f"{head} {tenant}, {_expiry_text(finding, now)}: {finding.detail} "
        f"[sha256 {finding.fingerprint[:16]}]"
    )


_LABELS = {
    "live": "Live apikee key", "expired": "Expired apikee key", "invalid": "Invalid apikee key",
}


def describe_finding(finding: Any, now: float | None = None) -> str:
    """One sentence about a scan finding, without the key (SARIF messages)."""
    now = time.time() if now is None else now
    if finding.kind == "platform-key":
        return f"apikee.dev platform key: {finding.detail}"
    tenant = "unknown tenant" if finding.tenant is None else f"tenant {safe(finding.tenant, 60)!r}"
    label = _LABELS.get(finding.status, "Apikee key")
    return f"{label} for {tenant}, {_expiry_text(finding, now)}: {finding.detail}"


def _finding_dict(finding: Any) -> dict:
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
    }


def cmd_scan(args: argparse.Namespace) -> int:
    from . import _scan

    fmt = "json" if args.json else args.format
    if args.patterns:
        if fmt == "json":
            emit_json({"patterns": [{"name": n, "pattern": p} for n, p in _scan.PATTERNS]})
        else:
            sys.stdout.write(_scan.patterns_yaml())
        return EXIT_OK
    if not args.paths:
        raise CliError("scan needs at least one PATH (or --patterns)")
    for path in args.paths:
        if not os.path.exists(path):
            raise CliError(f"no such file or folder: {safe(redact(path), 120)}")
    secrets = configured_secrets(args, required=False)
    apikee = make_apikee(secrets) if secrets else None
    progress = _Progress() if sys.stderr.isatty() else None
    started = time.monotonic()
    try:
        result = _scan.scan(
            args.paths, apikee=apikee, excludes=args.exclude, max_size=args.max_size,
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.done()
    elapsed = time.monotonic() - started
    failing = result.failing
    status = EXIT_BAD if failing and not args.exit_zero else EXIT_OK
    if fmt == "sarif":
        from . import __version__
        from ._sarif import to_sarif

        emit_json(to_sarif(result, version=__version__, describe=describe_finding))
        return status
    if fmt == "json":
        emit_json({
            "version": 1,
            "secret_configured": result.secret_configured,
            "findings": [_finding_dict(f) for f in result.findings],
            "summary": {
                "findings": len(result.findings),
                "failing": failing,
                "by_status": result.by_status(),
                "files_scanned": result.files_scanned,
                "bytes_scanned": result.bytes_scanned,
                "skipped_binary": result.skipped_binary,
                "skipped_large": result.skipped_large,
                "unreadable": [{"path": p, "reason": r} for p, r in result.unreadable],
                "excluded": result.excluded,
                "ignored_candidates": result.ignored_candidates,
                "ignored_by_pragma": result.ignored_by_pragma,
                "seconds": round(elapsed, 3),
            },
        })
        return status
    _scan_text(result, args, elapsed)
    return status


def _scan_text(result: Any, args: argparse.Namespace, elapsed: float) -> None:
    now = time.time()
    for path in result.skipped_large:
        limit = _size_text(args.max_size)
        err(f"apikee: note: skipped {safe(path)}: larger than {limit} (see --max-size)")
    for path, reason in result.unreadable:
        err(f"apikee: note: could not read {safe(path)}: {reason}")
    for finding in result.findings:
        out(_finding_line(finding, now))
    scanned = (
        f"{result.files_scanned:,} file{'s' if result.files_scanned != 1 else ''} "
        f"({_size_text(result.bytes_scanned)}) in {elapsed:.2f} s"
    )
    skipped = []
    if result.skipped_binary:
        skipped.append(f"{result.skipped_binary:,} binary")
    if result.skipped_large:
        skipped.append(f"{len(result.skipped_large):,} too large")
    if result.excluded:
        skipped.append(f"{result.excluded:,} excluded")
    if result.ignored_by_pragma:
        skipped.append(f"{result.ignored_by_pragma} line(s) marked apikee-scan: ignore")
    tail = f"; skipped {', '.join(skipped)}" if skipped else ""
    if not result.findings:
        out(f"No keys found: scanned {scanned}{tail}.")
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
    if not result.secret_configured and any(f.status == "unverifiable" for f in result.findings):
        out("No signing secret was given (APIKEE_SECRET or --secret-file), so unexpired keys")
        out("are reported UNVERIFIABLE: treat them as live.")
    customer = [f for f in result.findings if f.kind == "customer-key"]
    if result.secret_configured and customer and all(f.status == "forged" for f in customer):
        out("None of these keys verifies with the given secret(s): if they are yours, give the")
        out("scan every secret your servers accept (--secret-file, one a line).")
    if result.failing:
        out("Revoke every LIVE, NOT-YET-VALID, UNVERIFIABLE and PLATFORM-KEY key now (its")
        out("sha256 is apikee.hash_key(key)), remove it from the code and the git history")
        out("(git filter-repo), and rotate the signing secret if it was committed too.")


def cmd_info(args: argparse.Namespace) -> int:
    import importlib.util
    import platform

    from . import __version__, _core
    from ._switch import ENV_VAR

    msgpack_version = None
    has_msgpack = importlib.util.find_spec("msgpack") is not None
    if has_msgpack:
        from importlib import metadata

        try:
            msgpack_version = metadata.version("msgpack")
        except metadata.PackageNotFoundError:
            msgpack_version = "unknown version"
    secret = os.environ.get("APIKEE_SECRET", "").strip()
    info = {
        "version": __version__,
        "implementation": _core.IMPLEMENTATION,
        "reason": _core.REASON,
        "import_error": _core.IMPORT_ERROR,
        "no_extensions_env": os.environ.get(ENV_VAR),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "platform": platform.platform(),
        "msgpack": {"available": has_msgpack, "version": msgpack_version},
        "apikee_secret_set": bool(secret),
    }
    if args.json:
        emit_json(info)
        return EXIT_OK
    implementation = "compiled (Cython)" if info["implementation"] == "native" else "pure Python"
    out(f"apikee {__version__}")
    out(f"  implementation  {info['implementation']}: {implementation}; {info['reason']}")
    python = info["python"]
    out(f"  python          {python['version']} ({python['implementation']}) {sys.executable}")
    out(f"  platform        {info['platform']}")
    if has_msgpack:
        out(f"  msgpack         {msgpack_version}: MessagePack keys of older SDKs are readable")
    else:
        out("  msgpack         not installed: MessagePack keys from older SDKs cannot be read "
            "(pip install 'apikee[msgpack]')")
    out(f"  APIKEE_SECRET   {'set' if secret else 'not set'}")
    return EXIT_OK


# ── parser ──────────────────────────────────────────────────────────────────────────────────


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse quotes the offending argument: a key pasted in the wrong place must not echo.
        super().error(redact(message))


_EPILOG = """\
exit codes: 0 success, 1 a key or secret judged bad (scan: keys that may work were found),
            2 usage or configuration error, 3 internal error

Run `apikee` with no arguments for a demo; `apikee COMMAND --help` for a command's options."""


def build_parser(prog: str = "apikee") -> argparse.ArgumentParser:
    """The argparse parser of every command."""
    from . import __version__

    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=prog,
        description="Self-contained, HMAC-signed API keys: secrets, keys, leak scanning.",
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"apikee {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    json_opt = _Parser(add_help=False)
    json_opt.add_argument(
        "--json", action="store_true", help="print one JSON document (stable shape)"
    )
    secret_opt = _Parser(add_help=False)
    secret_opt.add_argument(
        "--secret-file", metavar="FILE",
        help="read secrets from FILE, one a line, current first (default: APIKEE_SECRET)",
    )

    def command(name: str, handler: Callable[[argparse.Namespace], int], help: str,
                parents: tuple = (), epilog: str | None = None) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=help, description=help, parents=[json_opt, *parents], epilog=epilog,
            formatter_class=formatter,
        )
        sub.set_defaults(handler=handler)
        return sub

    command("demo", cmd_demo, "a short tour of the library, in memory (the default command)")

    sub = command(
        "secret", cmd_secret, "make a new signing secret, or --check the strength of one",
        parents=(secret_opt,),
        epilog="examples:\n  apikee secret\n  APIKEE_SECRET=... apikee secret --check\n"
        "  apikee secret --check --stdin < secret.txt",
    )
    sub.add_argument(
        "--check", action="store_true",
        help="judge APIKEE_SECRET (or stdin, or --secret-file); exit 1 when weak; never prints it",
    )
    sub.add_argument(
        "--stdin", action="store_true", help="with --check: read the secret from stdin"
    )

    sub = command(
        "create", cmd_create, "create a key (prints the key only)", parents=(secret_opt,),
        epilog="examples:\n  apikee create --tenant acme-corp --scope orders:read --expires 30d\n"
        "  apikee create --tenant acme-corp --meta plan=pro --meta seats:=25 --expires never",
    )
    sub.add_argument("--tenant", required=True, help="the customer the key is for")
    sub.add_argument("--scope", action="append", default=[], metavar="SCOPE",
                     help="a scope the key grants (repeatable)")
    sub.add_argument("--expires", metavar="WHEN",
                     help="a duration (90d, 24h, 60m, 3600s, 1w), 'never', or an ISO 8601 date "
                     "(default: 90d)")
    sub.add_argument("--not-before", metavar="WHEN",
                     help="valid from: an ISO 8601 date, unix seconds, or +DURATION from now")
    sub.add_argument("--env", default="production", metavar="ENV",
                     help="the key's environment (default: production)")
    sub.add_argument("--meta", action="append", default=[], metavar="K=V",
                     help="metadata, K=VALUE (string) or K:=JSON (repeatable); readable by anyone "
                     "holding the key")

    key_help = "the key, or - to read it from stdin (keeps it out of shell history)"
    sub = command(
        "verify", cmd_verify,
        "verify a key with your secret: claims on success, CODE: message on failure",
        parents=(secret_opt,),
        epilog="examples:\n  apikee verify - < key.txt\n"
        "  apikee verify --require-scope orders:write - < key.txt",
    )
    sub.add_argument("key", metavar="KEY", help=key_help)
    sub.add_argument("--now", metavar="WHEN",
                     help="verify as of this instant: ISO 8601, unix seconds, or +DURATION")
    sub.add_argument("--require-scope", action="append", default=[], metavar="SCOPE",
                     help="fail with INSUFFICIENT_SCOPE unless the key grants SCOPE (repeatable)")
    sub.add_argument("--any-scope", action="store_true",
                     help="one of the --require-scope scopes is enough")
    sub.add_argument("--env", metavar="ENV",
                     help="fail with WRONG_ENVIRONMENT unless the key is for ENV")

    sub = command(
        "inspect", cmd_inspect, "decode a key's claims WITHOUT a secret (nothing is verified)",
        epilog="example:\n  apikee inspect - < key.txt",
    )
    sub.add_argument("key", metavar="KEY", help=key_help)

    sub = command(
        "scan", cmd_scan, "find leaked apikee_ keys and sk_live_/sk_test_ platform keys in files",
        parents=(secret_opt,),
        epilog="examples:\n  apikee scan .\n"
        "  apikee scan --exclude 'tests/*' --format sarif . > apikee.sarif\n"
        "  apikee scan --patterns > .github/secret_scanning.yml\n\n"
        "With APIKEE_SECRET (or --secret-file with every secret your servers accept) keys are\n"
        "verified: LIVE, NOT-YET-VALID, EXPIRED, FORGED. Without a secret, unexpired keys are\n"
        "UNVERIFIABLE. Exit 1 when a live, not-yet-valid, unverifiable or platform key is found.\n"
        "A line containing 'apikee-scan: ignore' is skipped (for documented example keys).",
    )
    sub.add_argument("paths", nargs="*", metavar="PATH", help="files and folders to scan")
    sub.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                     help="skip files and folders matching GLOB (repeatable); "
                     ".git is always skipped")
    sub.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                     help="output format (sarif: SARIF 2.1.0 for code scanning)")
    sub.add_argument("--max-size", type=_parse_size, default=10 * 1024 * 1024, metavar="SIZE",
                     help="skip files larger than SIZE (default 10M)")
    sub.add_argument("--exit-zero", action="store_true",
                     help="exit 0 even when keys are found (e.g. to upload SARIF in CI)")
    sub.add_argument("--patterns", action="store_true",
                     help="print the secret-scanning patterns "
                     "(YAML for .github/secret_scanning.yml)")

    command("info", cmd_info, "version, implementation in use and why, Python, platform")
    return parser


# ── entry point ─────────────────────────────────────────────────────────────────────────────


def _configure_streams() -> None:
    # Decoded claims may hold anything; an unencodable character must not end the program.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - exotic streams
                pass


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (``apikee`` console script)."""
    _configure_streams()
    arguments = sys.argv[1:] if argv is None else list(argv)
    prog = "python -m apikee" if os.path.basename(sys.argv[0] or "") == "__main__.py" else "apikee"
    if not arguments:
        arguments = ["demo"]
    try:
        parser = build_parser(prog)
        args = parser.parse_args(arguments)
        if args.command is None:  # only top-level options were given
            args = parser.parse_args(["demo"])
        return args.handler(args)
    except CliError as exc:
        err(f"apikee: {exc.message}")
        return exc.status
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or EXIT_OK
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("apikee: interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (`apikee scan . | head`): silence the flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BAD
    except Exception as exc:  # a bug: one clear line, the traceback only on request
        if os.environ.get("APIKEE_DEBUG"):
            raise
        err(
            f"apikee: internal error: {type(exc).__name__}: {safe(redact(str(exc)))}\n"
            "  please report it with the output of `apikee info` "
            "(APIKEE_DEBUG=1 shows the traceback)"
        )
        return EXIT_INTERNAL
