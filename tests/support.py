"""Constants and helpers shared by the test modules (``from support import ...``).

conftest.py holds fixtures and hooks only; what a test module imports lives here. The wire
constants (``ALPHABET``, ``MAX_TIMESTAMP``, ``PREFIX``, ...) are not repeated here: take them
from ``apikee._wire``, the library's one definition.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone

from apikee import Apikee
from apikee._wire import PREFIX

# ── secrets and times ───────────────────────────────────────────────────────────────────────

#: The reference secrets (64 hex characters: no WeakSecretWarning); the ``apikee`` fixture
#: holds both, current first.
SECRET = "4283fefc63f0cd0e873a0000c6d07ef7b77e90d3593ad699fc1f7cd5bb2e35cb"
OLD_SECRET = "f0f19c557067cbbe80c46d1fb6dfbdb0ae0755281220e087835b92558589eaff"
#: A strong secret that is neither of them: what a forger signs with.
OTHER_SECRET = "9d0c1b6a7e2f43588a1f0e6d2c4b9a7f3e5d1c0b8a6f4e2d0c9b7a5f3e1d2c4b"
PAST = datetime(2020, 1, 1, tzinfo=timezone.utc)
FUTURE = datetime(2100, 1, 1, tzinfo=timezone.utc)


# ── keys ────────────────────────────────────────────────────────────────────────────────────


def signed_key(core, payload: bytes, secret: str = SECRET) -> str:
    """A key whose signature is genuine for ``payload``, whatever the payload is (``core``: the
    implementation module that signs and encodes)."""
    signature = core.Verifier([secret.encode()]).sign(payload).lstrip(b"\x00")
    return PREFIX + core.b62encode(payload) + "." + core.b62encode(signature)


def verify_outcome(verifier, key, now=None) -> tuple:
    """What one verification gives, to compare two implementations: ``("error", code,
    message)``, or ``("ok", ...)`` with everything a caller can read (numbers and containers
    as reprs, so that 1, 1.0 and True or a list and a tuple never compare equal)."""
    from apikee import ApikeeError

    try:
        claims = verifier.verify(key, now)
    except ApikeeError as exc:
        return ("error", exc.code, exc.message)
    return (
        "ok",
        repr(claims.to_dict()),
        repr(claims.meta),
        claims.id,
        claims.tenant,
        repr(claims.scopes),
        claims.environment,
        repr(claims.exp),
        repr(claims.nbf),
        repr(claims.iat),
        claims.raw_key,
        claims.verified,
        repr(claims),
    )


def key_headers(apikee: Apikee, *scopes: str, tenant: str = "acme") -> dict:
    """The request headers carrying a fresh key of ``tenant`` with ``scopes``."""
    return {"x-api-key": apikee.create(tenant, scopes=list(scopes))}


def case_id(value) -> str:
    """A stable test id (no memory addresses, which would change from run to run)."""
    text = repr(value)
    return type(value).__name__ if " at 0x" in text else text


# ── HTTP integrations: every kind of request and the answer it must get ─────────────────────


def request_cases(
    apikee: Apikee, header: str = "x-api-key"
) -> list[tuple[str, dict, int, str | None]]:
    """``(name, request headers, expected status, expected error code or None)``.

    Valid keys are for tenant ``acme`` with scopes ``read`` and ``orders:*``; a route that
    requires scopes is tested separately. Shared by the ASGI, FastAPI, Flask, WSGI and
    real-server tests.
    """
    valid = apikee.create("acme", scopes=["read", "orders:*"])
    old = Apikee(secret=OLD_SECRET).create("acme", scopes=["read"])
    forged = Apikee(secret=OTHER_SECRET).create("acme", scopes=["*"])
    payload, _, signature = valid.partition(".")
    tampered = apikee.create("evil", scopes=["*"]).partition(".")[0] + "." + signature
    return [
        ("valid", {header: valid}, 200, None),
        ("valid-old-secret", {header: old}, 200, None),
        ("bearer", {"authorization": f"Bearer {valid}"}, 200, None),
        ("bearer-lowercase", {"authorization": f"bearer {valid}"}, 200, None),
        ("header-wins-over-bearer", {header: valid, "authorization": "Bearer junk"}, 200, None),
        ("missing", {}, 401, "MISSING_KEY"),
        ("empty", {header: ""}, 401, "MISSING_KEY"),
        ("basic-auth-is-no-key", {"authorization": "Basic dXNlcjpwYXNz"}, 401, "MISSING_KEY"),
        ("not-a-key", {header: "not-a-key"}, 401, "INVALID_PREFIX"),
        ("one-field", {header: "apikee_abc"}, 401, "INVALID_FORMAT"),
        ("bad-char", {header: "apikee_ab-c.def"}, 401, "DECODE_ERROR"),
        ("too-long", {header: "apikee_" + "a" * 9000 + ".b"}, 401, "INVALID_FORMAT"),
        ("forged", {header: forged}, 401, "INVALID_SIGNATURE"),
        ("tampered", {header: tampered}, 401, "INVALID_SIGNATURE"),
        ("bearer-forged", {"authorization": f"Bearer {forged}"}, 401, "INVALID_SIGNATURE"),
        ("expired", {header: apikee.create("acme", expires_in=PAST)}, 401, "EXPIRED"),
        (
            "not-yet-valid",
            {header: apikee.create("acme", expires_in=None, not_before=FUTURE)},
            401,
            "NOT_YET_VALID",
        ),
    ]


def check_answer(
    status: int, headers, body: bytes, expected_status: int, code: str | None, secret_text: str = ""
) -> None:
    """The shared assertions on one answer (``headers``: a case-insensitive mapping)."""
    assert status == expected_status, body
    if code is None:
        return
    data = json.loads(body)
    assert set(data) == {"error", "message"}
    assert data["error"] == code
    assert isinstance(data["message"], str) and data["message"]
    assert headers["content-type"] == "application/json"
    assert "ApiKey" in headers["www-authenticate"]
    if secret_text:
        assert secret_text not in body.decode()


# ── the command line, in a subprocess ───────────────────────────────────────────────────────


@dataclass
class CliRun:
    """What one ``python -m apikee`` run gave: exit code, standard output and error."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def json(self) -> dict:
        return json.loads(self.out)


def _cli_env(impl: str, secret: str | None, extra: dict | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIKEE_")}
    env["PYTHONIOENCODING"] = "utf-8"
    if impl == "pure":
        env["APIKEE_NO_EXTENSIONS"] = "1"
    if secret is not None:
        env["APIKEE_SECRET"] = secret
    env.update(extra or {})
    return env


def run_cli(
    *args: str,
    impl: str = "pure",
    secret: str | None = None,
    stdin: bytes | str | None = None,
    env: dict | None = None,
    cwd: str | os.PathLike | None = None,
    hidden: tuple[str, ...] = (),
    timeout: float = 120,
    pass_fds: tuple[int, ...] = (),
) -> CliRun:
    """``python -m apikee ARGS``; asserts no traceback and no given secret in the output.

    A run that outlives ``timeout`` seconds is killed and fails the test (it hung)."""
    if isinstance(stdin, str):
        stdin = stdin.encode()
    proc = subprocess.run(
        [sys.executable, "-m", "apikee", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=_cli_env(impl, secret, env),
        cwd=cwd,
        timeout=timeout,
        pass_fds=pass_fds,
    )
    result = CliRun(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )
    assert "Traceback" not in result.err, result.err
    for value in (secret, *hidden):
        if value:
            assert value not in result.text, "a secret or key leaked into the output"
    return result
