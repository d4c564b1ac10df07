"""``apikee demo`` (and ``apikee`` with no arguments): a short tour, entirely in memory.

Everything uses a throwaway secret made here and discarded at exit, so the keys it prints open
nothing. The secret itself is never printed in full. The revocation step uses an embedded
SQLite store in a temporary folder, removed before the demo ends; ``APIKEE_STORE`` is ignored
(the demo never touches your own store).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ... import __version__, _core
from ..._apikee import Apikee
from ..._core import b62decode, b62encode
from ..._errors import ApikeeError
from ..._keyutil import decode_unverified, generate_secret
from ..._wire import PREFIX
from ..claims import claims_lines, claims_view
from ..output import EXIT_OK, emit_json, out

EPILOG = None

_TENANT = "acme-corp"
_SCOPES = ["orders:read", "orders:write"]
_META = {"plan": "pro"}
_TIMING_SECONDS = 0.2  # long enough for a stable number, short enough for a demo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options but ``--json``."""


def run(args: argparse.Namespace) -> int:
    """The tour, or its results as JSON with ``--json``."""
    return run_demo(json_output=args.json)


def _outcome(verify: Callable[[], Any]) -> dict[str, Any]:
    """One verification's outcome: ``{"valid": True, …}`` or ``{"valid": False, "error": …}``."""
    try:
        claims = verify()
    except ApikeeError as exc:
        return {"valid": False, "error": exc.code, "message": exc.message}
    return {"valid": True, "tenant": claims.tenant}


def _said(outcome: dict[str, Any]) -> str:
    if outcome["valid"]:
        return f"valid (tenant {outcome['tenant']})"
    return f"ApikeeError {outcome['error']}: {outcome['message']}"


def _forge(key: str, tenant: str) -> str:
    """The same key with its payload rewritten to another tenant, signature kept."""
    payload_text, signature_text = key[len(PREFIX) :].split(".")
    original, edited = f'"tid":"{_TENANT}"'.encode(), f'"tid":"{tenant}"'.encode()
    payload = b62decode(payload_text).replace(original, edited)
    return f"apikee_{b62encode(payload)}.{signature_text}"


def _time_verify(apikee: Apikee, key: str) -> tuple[int, float]:
    """(verifications, seconds) of verifying ``key`` repeatedly for about 0.2 s."""
    verify = apikee.verify
    count, start = 0, time.perf_counter()
    while True:
        for _ in range(250):
            verify(key)
        count += 250
        elapsed = time.perf_counter() - start
        if elapsed >= _TIMING_SECONDS:
            return count, elapsed


@contextmanager
def _without_env_store() -> Iterator[None]:
    """Hide ``APIKEE_STORE`` (an Apikee built without store= would open it) for the demo."""
    saved = os.environ.pop("APIKEE_STORE", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["APIKEE_STORE"] = saved


def _revocation(secret: str) -> dict[str, Any]:
    """Revoke a key in a SQLite store in a temporary folder; what each verification said."""
    import tempfile

    from ..._store import StoreUnavailable

    try:
        with tempfile.TemporaryDirectory(prefix="apikee-demo-") as folder:
            url = "sqlite:///" + os.path.join(folder, "revocations.db").lstrip("/")
            apikee = Apikee(secret=secret, store=url)
            other = None
            try:
                key = apikee.create(_TENANT, scopes=["orders:read"])
                before = _outcome(lambda: apikee.verify(key))
                record = apikee.revoke(key, reason="leaked in a log")
                after = _outcome(lambda: apikee.verify(key))
                other = Apikee(secret=secret, store=url)  # another process would do the same
                elsewhere = _outcome(lambda: other.verify(key))
            finally:
                apikee.close()
                if other is not None:
                    other.close()
    except (StoreUnavailable, OSError, ImportError, ValueError) as exc:
        return {"skipped": f"{type(exc).__name__}: {exc}"}
    return {
        "store": "sqlite (a temporary file, deleted)",
        "before": before,
        "revoked": {"kind": record.kind, "value": record.value, "reason": record.reason},
        "after": after,
        "another_verifier": elsewhere,
    }


def run_demo(json_output: bool = False) -> int:
    """Print the tour (or its results as JSON); always exits 0."""
    with _without_env_store():
        return _run_demo(json_output)


def _run_demo(json_output: bool) -> int:
    secret, old_secret = generate_secret(), generate_secret()
    apikee = Apikee(secret=secret)
    key = apikee.create(_TENANT, scopes=_SCOPES, meta=_META)
    now = time.time()
    claims = apikee.verify(key)
    view, _ = claims_view(claims.to_dict(), key)
    short = apikee.create(_TENANT, expires_in="1h")
    expired = _outcome(lambda: apikee.verify(short, now=now + 2 * 3600))
    forged = _outcome(lambda: apikee.verify(_forge(key, "evil-corp")))
    old_key = Apikee(secret=old_secret).create(_TENANT, scopes=["orders:read"])
    rotated = _outcome(lambda: Apikee(secrets=[secret, old_secret]).verify(old_key))
    dropped = _outcome(lambda: Apikee(secrets=[secret]).verify(old_key))
    scope_ok = claims.has_scopes("orders:read")
    revocation = _revocation(secret)
    count, seconds = _time_verify(apikee, key)
    per_key_us = seconds / count * 1e6
    limited_key = apikee.create(_TENANT, rate_limit="3/m")
    limited_claims = apikee.verify(limited_key)
    decisions = [apikee.check_rate_limit(limited_claims, now=now) for _ in range(4)]
    limited = [
        {"allowed": d.allowed, "remaining": d.remaining, "retry_after": round(d.retry_after, 3)}
        for d in decisions
        if d is not None
    ]
    refused = _outcome(lambda: apikee.enforce(limited_claims, now=now))

    if json_output:
        emit_json(
            {
                "version": __version__,
                "implementation": _core.IMPLEMENTATION,
                "reason": _core.REASON,
                "claims": view,
                "has_scope_orders_read": scope_ok,
                "expired": expired,
                "forged": forged,
                "rotation": {
                    "old_key_with_both_secrets": rotated,
                    "old_key_with_new_secret_only": dropped,
                },
                "revocation": revocation,
                "rate_limit": {"limit": "3/m", "decisions": limited, "fourth": refused},
                "verify": {
                    "count": count,
                    "seconds": round(seconds, 4),
                    "per_key_us": round(per_key_us, 3),
                },
            }
        )
        return EXIT_OK

    kind = "compiled Cython core" if _core.IMPLEMENTATION == "native" else "pure Python"
    out(f"apikee {__version__}: a short tour, in memory, with a throwaway secret.")
    out(f"Implementation: {_core.IMPLEMENTATION} ({kind}): {_core.REASON}")
    out("")
    out("1. A signing secret, 32 bytes from the OS random generator (yours goes in APIKEE_SECRET)")
    out("     secret = apikee.generate_secret()")
    out(f"     -> {secret[:4]}… ({len(secret)} hex characters; never print or commit yours)")
    out("     apikee = Apikee(secret=secret)")
    out("")
    out("2. Create a key for a customer")
    out(f"     key = apikee.create({_TENANT!r}, scopes={_SCOPES!r}, meta={_META!r})")
    out(f"     -> {key}")
    out("")
    out("3. Verify it: one HMAC and an expiry check, no database, no network")
    out("     claims = apikee.verify(key)")
    for line in claims_lines(view, now, indent="       "):
        out(line)
    out(f"     claims.has_scopes('orders:read') -> {scope_ok}")
    out("")
    out("4. An expired key is refused")
    out("     short = apikee.create('acme-corp', expires_in='1h')")
    out(f"     apikee.verify(short, now=<two hours later>) -> {_said(expired)}")
    out("")
    out("5. A forged key is refused: the payload edited to tenant 'evil-corp', signature kept")
    out(f"     apikee.verify(forged) -> {_said(forged)}")
    out("")
    out("6. Rotating the secret: sign with the new one, keep accepting the old one for a while")
    out("     old_key = Apikee(secret=old_secret).create('acme-corp')")
    out(f"     Apikee(secrets=[secret, old_secret]).verify(old_key) -> {_said(rotated)}")
    out(f"     Apikee(secrets=[secret]).verify(old_key)             -> {_said(dropped)}")
    out("")
    out("7. Claims are encoded, not encrypted: anyone with the key reads them (no secrets in meta)")
    decoded = decode_unverified(key)
    out(
        f"     apikee.decode_unverified(key) -> tenant {decoded.tenant!r}, "
        f"meta {decoded.meta!r}, verified {decoded.verified}"
    )
    out("")
    out("8. Revoking a key: a store every verifier reads (here SQLite in a temporary folder;")
    out("   redis:// for a fleet). verify() reads an in-memory snapshot: still no I/O per call")
    if "skipped" in revocation:
        out(f"     (skipped: {revocation['skipped']})")
    else:
        record = revocation["revoked"]
        revoke_call = f"apikee.revoke(key, reason={record['reason']!r})"
        rows = (
            ("apikee.verify(key)", _said(revocation["before"])),
            (revoke_call, f"revoked its id {record['value']}"),
            ("apikee.verify(key)", _said(revocation["after"])),
            ("another verifier reading the store", _said(revocation["another_verifier"])),
        )
        out("     apikee = Apikee(secret=secret, store='sqlite:///path/revocations.db')")
        for call, said in rows:
            out(f"     {call:<{len(revoke_call)}} -> {said}")
        out("     shell: apikee revoke --store sqlite:///path/revocations.db - < key.txt")
    out("")
    out("9. A key with its own rate limit: 3 requests a minute, the fourth is refused (HTTP 429)")
    out("     limited = apikee.create('acme-corp', rate_limit='3/m')")
    for i, d in enumerate(limited, 1):
        out(
            f"     apikee.check_rate_limit(claims) #{i} -> allowed {d['allowed']}, "
            f"remaining {d['remaining']}, retry after {d['retry_after']:g} s"
        )
    out(f"     apikee.enforce(claims) -> {_said(refused)}")
    out("")
    out(
        f"10. Speed of verify() here: {per_key_us:.2f} µs per key "
        f"({count:,} verifications in {seconds:.2f} s, {_core.IMPLEMENTATION})"
    )
    out("")
    out("Next:")
    out("  apikee secret                                  a strong secret for APIKEE_SECRET")
    out("  apikee create --tenant acme-corp --scope orders:read")
    out("  apikee verify - < key.txt                      apikee inspect - < key.txt")
    out("  apikee scan .                                  find leaked keys in your code")
    out("  apikee revoke --store sqlite:///path/revocations.db - < key.txt")
    out("  apikee --help")
    return EXIT_OK
