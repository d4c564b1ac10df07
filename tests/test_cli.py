"""The ``apikee`` command line, driven the way users drive it: in a subprocess.

Every run goes through ``python -m apikee`` with a controlled environment (``APIKEE_SECRET`` set
or not; ``APIKEE_NO_EXTENSIONS=1`` for the pure implementation, unset for the native one), and
every run checks that no signing secret it was given appears in its output.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
from datetime import datetime, timezone

import pytest
from support import OLD_SECRET, OTHER_SECRET, SECRET, CliRun, run_cli, signed_key

from apikee import Apikee, ApikeeError, b62encode, hash_key

DOC_PLACEHOLDER = "sk-local-dev-secret-change-this"
# Built at run time so that this file holds no literal platform-key-shaped string.
PLATFORM_KEY = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dcXq"
HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


@pytest.fixture(scope="session")
def checked_impl(impl: str) -> str:
    """The implementation, after checking that a subprocess really runs it."""
    info = run_cli("info", "--json", impl=impl).json()
    assert info["implementation"] == impl, info
    return impl


@pytest.fixture
def cli(checked_impl: str):
    """``run_cli`` bound to the implementation under test."""

    def call(*args: str, **kwargs) -> CliRun:
        return run_cli(*args, impl=checked_impl, **kwargs)

    return call


@pytest.fixture
def keys(make_apikee) -> Apikee:
    return make_apikee(secret=SECRET)


def forged_key(key: str, tenant: str) -> str:
    """The key with its payload rewritten to another tenant, signature kept."""
    from apikee import b62decode

    payload_text, signature = key[len("apikee_") :].split(".")
    claims = json.loads(b62decode(payload_text))
    claims["tid"] = tenant
    payload = json.dumps(claims, separators=(",", ":")).encode()
    return f"apikee_{b62encode(payload)}.{signature}"


def raw_key(claims, signature: bytes = b"\x01" * 32) -> str:
    """A key-shaped string with arbitrary (possibly hostile) claims and a bogus signature."""
    payload = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    return f"apikee_{b62encode(payload)}.{b62encode(signature)}"


# ── demo, info, help ────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("args", [(), ("demo",)], ids=["no-arguments", "demo"])
def test_demo_tours_the_library(cli, checked_impl, args):
    result = cli(*args)
    assert result.code == 0, result.err
    out = result.out
    assert f"Implementation: {checked_impl}" in out
    assert "tenant       acme-corp" in out
    assert "EXPIRED: the key has expired" in out
    assert "INVALID_SIGNATURE" in out
    assert "valid (tenant acme-corp)" in out  # rotation: old key, [new, old] secrets
    assert re.search(r"\d+\.\d+ µs per key", out)
    # The only 64-hex string printed is the key's fingerprint, never the secret.
    for line in out.splitlines():
        if HEX64.search(line):
            assert "fingerprint" in line, line


def test_demo_json(cli, checked_impl):
    data = cli("demo", "--json").json()
    assert data["implementation"] == checked_impl
    assert data["claims"]["tenant"] == "acme-corp"
    assert data["expired"] == {"valid": False, "error": "EXPIRED", "message": "the key has expired"}
    assert data["forged"]["error"] == "INVALID_SIGNATURE"
    assert data["rotation"]["old_key_with_both_secrets"]["valid"] is True
    assert data["rotation"]["old_key_with_new_secret_only"]["error"] == "INVALID_SIGNATURE"
    assert data["verify"]["count"] > 0 and data["verify"]["per_key_us"] > 0


def test_info(cli, checked_impl):
    result = cli("info")
    assert result.code == 0
    assert "apikee 0." in result.out and f"implementation  {checked_impl}" in result.out
    data = cli("info", "--json").json()
    assert set(data) == {
        "version",
        "implementation",
        "reason",
        "import_error",
        "no_extensions_env",
        "python",
        "platform",
        "msgpack",
        "apikee_secret_set",
        "native_code",
    }
    assert data["implementation"] == checked_impl
    assert data["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert data["apikee_secret_set"] is False
    if checked_impl == "pure":
        assert "APIKEE_NO_EXTENSIONS" in data["reason"]
    else:
        assert data["import_error"] is None
    assert cli("info", "--json", secret=SECRET).json()["apikee_secret_set"] is True


@pytest.mark.parametrize(
    "args", [("--help",), ("scan", "--help"), ("create", "--help"), ("--version",)]
)
def test_help_and_version(args):
    result = run_cli(*args)
    assert result.code == 0
    assert "apikee" in result.out


def test_usage_errors_exit_2_and_never_echo_a_key(keys):
    key = keys.create("acme")
    assert run_cli("no-such-command").code == 2
    assert run_cli("create").code == 2  # --tenant is required
    result = run_cli("info", key, hidden=(key,))  # argparse quotes unknown arguments
    assert result.code == 2
    assert "unrecognized arguments" in result.err
    assert "python -m apikee" in result.err  # the usage line names how it was run


# ── secret ──────────────────────────────────────────────────────────────────────────────────


def test_secret_is_fresh_hex():
    first, second = run_cli("secret"), run_cli("secret")
    assert first.code == second.code == 0
    assert re.fullmatch(r"[0-9a-f]{64}\n", first.out)
    assert first.out != second.out
    data = run_cli("secret", "--json").json()
    assert set(data) == {"secret", "bytes", "encoding"}
    assert re.fullmatch(r"[0-9a-f]{64}", data["secret"]) and data["bytes"] == 32


@pytest.mark.parametrize(
    "secret",
    [secrets.token_hex(32), secrets.token_urlsafe(32), secrets.token_hex(64)],
    ids=["hex32", "urlsafe32", "hex64"],
)
def test_secret_check_accepts_strong_secrets(secret):
    result = run_cli("secret", "--check", secret=secret)
    assert result.code == 0, result.out
    assert result.out.startswith("APIKEE_SECRET: OK")


@pytest.mark.parametrize(
    "secret, problem",
    [
        (DOC_PLACEHOLDER, "PLACEHOLDER"),
        ("changeme", "TOO_SHORT"),
        ("hunter2", "TOO_SHORT"),
        ("password" * 5, "PLACEHOLDER"),
        ("a" * 64, "LOW_ENTROPY"),
        ("0123456789abcdef" * 4, "LOW_ENTROPY"),
        ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP", "LOW_ENTROPY"),
        ("xK9#" * 12, "LOW_ENTROPY"),
        (secrets.token_hex(8), "TOO_SHORT"),
        ("apikee_" + secrets.token_hex(20), "CUSTOMER_KEY"),
        ("sk_live_" + secrets.token_hex(20), "PLATFORM_KEY"),
    ],
)
def test_secret_check_rejects_weak_secrets_without_printing_them(secret, problem):
    result = run_cli("secret", "--check", secret=secret)
    assert result.code == 1
    assert "WEAK" in result.out and "apikee secret" in result.out
    data = run_cli("secret", "--check", "--json", secret=secret).json()
    assert data["ok"] is False
    (entry,) = data["results"]
    assert entry["source"] == "APIKEE_SECRET"
    assert problem in [p["code"] for p in entry["problems"]]
    assert set(entry) == {
        "source",
        "ok",
        "length_bytes",
        "entropy_bits",
        "alphabet",
        "problems",
        "warnings",
    }


@pytest.mark.parametrize("word", ["secret", "password", "changeme"])
def test_secret_check_rejects_bare_words(word):
    # (The word itself shows up in any sentence about secrets: no leak check here.)
    result = run_cli("secret", "--check", "--stdin", "--json", stdin=word)
    assert result.code == 1
    codes = {p["code"] for p in result.json()["results"][0]["problems"]}
    assert {"TOO_SHORT", "LOW_ENTROPY"} <= codes


def test_secret_check_reads_stdin_and_files(tmp_path):
    strong = secrets.token_hex(32)
    result = run_cli("secret", "--check", stdin=strong + "\n", hidden=(strong,))
    assert result.code == 0 and result.out.startswith("stdin: OK")
    # --stdin wins over APIKEE_SECRET
    result = run_cli("secret", "--check", "--stdin", secret=strong, stdin=DOC_PLACEHOLDER)
    assert result.code == 1 and result.out.startswith("stdin: WEAK")
    # hostile stdin: invalid UTF-8, NUL bytes, a megabyte
    for data in (b"\xff\xfe\x00garbage" * 8, b"\x00" * 64, os.urandom(1 << 20)):
        result = run_cli("secret", "--check", "--stdin", stdin=data)
        assert result.code in (0, 1)
    secrets_file = tmp_path / "secrets.txt"
    secrets_file.write_text(f"# current first\n{strong}\n\n{DOC_PLACEHOLDER}\n")
    secrets_file.chmod(0o644)
    result = run_cli(
        "secret",
        "--check",
        "--json",
        "--secret-file",
        str(secrets_file),
        hidden=(strong, DOC_PLACEHOLDER),
    )
    data = result.json()
    assert [r["ok"] for r in data["results"]] == [True, False]
    assert data["results"][0]["source"].endswith("line 1")
    if os.name == "posix":
        assert "readable by other users" in result.err


def test_secret_check_without_any_secret_is_a_usage_error():
    result = run_cli("secret", "--check")
    assert result.code == 2
    assert "APIKEE_SECRET" in result.err


# ── create ──────────────────────────────────────────────────────────────────────────────────


def test_create_prints_only_a_key_that_verifies(cli, keys):
    result = cli(
        "create",
        "--tenant",
        "acme-corp",
        "--scope",
        "orders:read",
        "--scope",
        "orders:write",
        "--meta",
        "plan=pro",
        "--meta",
        "seats:=25",
        secret=SECRET,
    )
    assert result.code == 0, result.err
    assert result.err == ""
    key = result.out.strip()
    assert result.out == key + "\n" and key.startswith("apikee_")
    claims = keys.verify(key)
    assert claims.tenant == "acme-corp"
    assert list(claims.scopes) == ["orders:read", "orders:write"]  # (a tuple or a list)
    assert dict(claims.meta) == {"plan": "pro", "seats": 25}
    assert 89 * 86400 < claims.exp - datetime.now(timezone.utc).timestamp() <= 90 * 86400


def test_create_options(cli, keys):
    key = cli(
        "create", "--tenant", "t", "--expires", "never", "--env", "staging", secret=SECRET
    ).out.strip()
    claims = keys.verify(key)
    assert claims.exp is None and claims.environment == "staging"
    key = cli(
        "create",
        "--tenant",
        "t",
        "--expires",
        "2031-01-02T03:04:05Z",
        "--not-before",
        "2030-01-01",
        secret=SECRET,
    ).out.strip()
    claims = keys.verify(key, now=datetime(2030, 6, 1, tzinfo=timezone.utc).timestamp())
    assert claims.expires_at == datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert claims.not_before == datetime(2030, 1, 1, tzinfo=timezone.utc)
    key = cli("create", "--tenant", "t", "--expires", "24h", secret=SECRET).out.strip()
    assert abs(keys.verify(key).exp - datetime.now(timezone.utc).timestamp() - 86400) < 60


def test_create_json(cli):
    data = cli("create", "--json", "--tenant", "acme", "--scope", "read", secret=SECRET).json()
    assert set(data) == {"key", "claims"}
    claims = data["claims"]
    assert set(claims) == {
        "id",
        "tenant",
        "scopes",
        "environment",
        "expires_at",
        "exp",
        "not_before",
        "nbf",
        "issued_at",
        "iat",
        "meta",
        "fingerprint",
        "policy",
        "other_claims",
    }
    assert claims["policy"] == {}  # no rate limit, no allow list
    assert claims["tenant"] == "acme" and claims["scopes"] == ["read"]
    assert claims["fingerprint"] == hash_key(data["key"])
    assert claims["expires_at"].endswith("Z")


def test_create_signs_with_the_first_secret_of_the_file(cli, tmp_path, make_apikee):
    secrets_file = tmp_path / "secrets"
    secrets_file.write_text(f"{OTHER_SECRET}\n{SECRET}\n")
    secrets_file.chmod(0o600)
    key = cli(
        "create", "--tenant", "t", "--secret-file", str(secrets_file), hidden=(OTHER_SECRET, SECRET)
    ).out.strip()
    make_apikee(secret=OTHER_SECRET).verify(key)
    with pytest.raises(ApikeeError) as failure:
        make_apikee(secret=SECRET).verify(key)
    assert failure.value.code == "INVALID_SIGNATURE"


@pytest.mark.parametrize(
    "args, message",
    [
        (("--tenant", "t", "--expires", "soon"), "--expires"),
        (("--tenant", "t", "--not-before", "later"), "--not-before"),
        (("--tenant", "t", "--meta", "novalue"), "--meta"),
        (("--tenant", "t", "--meta", "n:={bad json"), "not valid JSON"),
        (("--tenant", "  "), "--tenant"),
        (("--tenant", "t", "--secret-file", "/no/such/file"), "--secret-file"),
    ],
)
def test_create_usage_errors(cli, args, message):
    result = cli("create", *args, secret=SECRET)
    assert result.code == 2
    assert message in result.err and result.out == ""


def test_create_without_a_secret_names_apikee_secret(cli):
    result = cli("create", "--tenant", "t")
    assert result.code == 2
    assert "APIKEE_SECRET" in result.err and "apikee secret" in result.err


def test_create_warns_about_weak_secrets_and_sensitive_meta(cli):
    result = cli(
        "create",
        "--tenant",
        "t",
        "--meta",
        "password=hunter2",
        secret=DOC_PLACEHOLDER + "-and-then-some",
    )
    assert result.code == 0
    assert "weak signing secret" in result.err
    assert "meta 'password' will be readable" in result.err


# ── verify ──────────────────────────────────────────────────────────────────────────────────


def test_verify_valid_key(cli, keys):
    key = keys.create("acme-corp", scopes=["orders:read"], meta={"plan": "pro"})
    result = cli("verify", key, secret=SECRET)
    assert result.code == 0, result.err
    assert "VALID" in result.out and "acme-corp" in result.out and "orders:read" in result.out
    assert key not in result.text  # claims only, never the key
    assert hash_key(key) in result.out
    result = cli("verify", "-", secret=SECRET, stdin=key + "\n", hidden=(key,))
    assert result.code == 0
    data = cli("verify", "--json", "-", secret=SECRET, stdin=key, hidden=(key,)).json()
    assert data["valid"] is True
    assert data["claims"]["tenant"] == "acme-corp" and data["claims"]["meta"] == {"plan": "pro"}


def test_verify_failures_exit_1_with_code_and_message(cli, keys, make_apikee):
    key = keys.create("acme", scopes=["orders:read"], expires_in="1h")
    expired = cli("verify", "--now", "+2h", key, secret=SECRET)
    assert (expired.code, expired.err) == (1, "EXPIRED: the key has expired\n")
    assert expired.out == ""
    at = cli("verify", "--now", "2000-01-01T00:00:00Z", key, secret=SECRET)
    assert at.code == 0  # before expiry (and no nbf)
    forged = cli("verify", forged_key(key, "evil"), secret=SECRET)
    assert forged.code == 1 and forged.err.startswith("INVALID_SIGNATURE: ")
    scope = cli("verify", "--require-scope", "orders:write", key, secret=SECRET)
    assert scope.code == 1 and scope.err.startswith("INSUFFICIENT_SCOPE: ")
    assert (
        cli(
            "verify",
            "--require-scope",
            "orders:write",
            "--require-scope",
            "orders:read",
            "--any-scope",
            key,
            secret=SECRET,
        ).code
        == 0
    )
    env = cli("verify", "--env", "staging", key, secret=SECRET)
    assert env.code == 1 and env.err.startswith("WRONG_ENVIRONMENT: ")
    data = cli("verify", "--json", "--now", "+2h", key, secret=SECRET).json()
    assert data == {"valid": False, "error": "EXPIRED", "message": "the key has expired"}


def test_verify_with_a_rotation_file(cli, tmp_path, make_apikee):
    old_key = make_apikee(secret=OLD_SECRET).create("acme")
    secrets_file = tmp_path / "secrets"
    secrets_file.write_text(f"{SECRET}\n{OLD_SECRET}\n")
    secrets_file.chmod(0o600)
    assert (
        cli("verify", "--secret-file", str(secrets_file), old_key, hidden=(OLD_SECRET, SECRET)).code
        == 0
    )
    assert cli("verify", old_key, secret=SECRET).code == 1


def test_verify_usage_errors(cli, keys):
    key = keys.create("acme")
    result = cli("verify", key)
    assert result.code == 2 and "APIKEE_SECRET" in result.err
    result = cli("verify", "--now", "whenever", key, secret=SECRET)
    assert result.code == 2 and "--now" in result.err
    result = cli("verify", "--any-scope", key, secret=SECRET)
    assert result.code == 2


def _deep_payload() -> bytes:
    return b"[" * 5000 + b"]" * 5000


HOSTILE = {
    "empty": b"",
    "garbage": b"garbage",
    "prefix-only": b"apikee_",
    "three-fields": b"apikee_abc.def.ghi",
    "non-canonical": b"apikee_0abc.def",
    "non-utf8": b"apikee_\xff\xfe\xfd.\x80\x81",
    "nul-bytes": b"apikee_abc\x00.def",
    "two-megabytes": b"apikee_" + b"z" * (2 << 20) + b".z",
    "random-megabyte": os.urandom(1 << 20),
}


@pytest.mark.parametrize("data", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("command", ["verify", "inspect"])
def test_hostile_input_on_stdin(cli, command, data):
    result = cli(command, "-", secret=SECRET, stdin=data)
    assert result.code == 1
    assert re.fullmatch(r"[A-Z_]+: [^\n]+\n", result.err), result.err
    assert result.out == ""


@pytest.mark.parametrize("command", ["verify", "inspect"])
def test_hostile_arguments(cli, command):
    # A single argv string is capped near 128 KiB on Linux: 100 KB is as big as one gets.
    for arg in ("apikee_" + "a" * 100_000 + ".b", "x" * 100_000, "apikee_\udcff.abc", "   "):
        result = cli(command, arg, secret=SECRET)
        assert result.code == 1
        assert re.fullmatch(r"[A-Z_]+: [^\n]+\n", result.err), result.err


@pytest.mark.parametrize(
    "claims",
    [
        [1, 2, 3],
        "a string",
        {"tid": 5},
        {"exp": "tomorrow"},
        {"scp": "admin"},
        {"meta": [1]},
        {"exp": 1e300},
        {"exp": None},
    ],
    ids=["array", "string", "tid-int", "exp-str", "scp-str", "meta-list", "exp-huge", "exp-null"],
)
def test_hostile_claims(cli, claims):
    key = raw_key(claims)
    result = cli("inspect", key)
    assert result.code == 1  # not an object, or a claim of the wrong type
    assert "INVALID_CLAIMS" in result.text or "problem:" in result.out
    assert cli("verify", key, secret=SECRET).code == 1
    assert cli("inspect", "--json", key).json()["verified"] is False


def test_deeply_nested_payload(cli):
    result = cli("inspect", raw_key(_deep_payload()))
    assert result.code == 1 and result.err.startswith("DECODE_ERROR")


# ── inspect ─────────────────────────────────────────────────────────────────────────────────


def test_inspect_needs_no_secret_and_says_so(cli, keys):
    key = keys.create("acme-corp", scopes=["read", "write"], meta={"plan": "pro"}, expires_in="90d")
    result = cli("inspect", key, hidden=(key,))
    assert result.code == 0, result.err
    out = result.out
    assert out.startswith("NOT VERIFIED")
    assert "acme-corp" in out and "read, write" in out and "production" in out
    assert re.search(r"in 89 days", out)
    assert '{"plan": "pro"}' in out
    assert hash_key(key) in out
    assert cli("inspect", "-", stdin=key, hidden=(key,)).code == 0


def test_inspect_expired_key_and_json(cli, keys):
    key = keys.create("acme", expires_in=datetime(2020, 1, 1, tzinfo=timezone.utc))
    result = cli("inspect", key)
    assert result.code == 0
    assert "2020-01-01T00:00:00Z" in result.out and "years ago" in result.out
    data = cli("inspect", "--json", key).json()
    assert data["verified"] is False and data["problems"] == []
    assert data["claims"]["tenant"] == "acme"
    assert data["claims"]["expires_at"] == "2020-01-01T00:00:00Z"


def test_inspect_escapes_terminal_control_characters(cli):
    key = raw_key({"tid": "\x1b[2J\x1b]0;pwned\x07\u202eevil", "meta": {"x": "\x00"}})
    result = cli("inspect", key)
    assert result.code == 0
    assert "\x1b" not in result.out and "\u202e" not in result.out and "\x00" not in result.out
    assert "\\u001b[2J" in result.out


# ── scan ────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def tree(tmp_path, keys, make_apikee):
    """A project with planted keys; returns (root, keys by name)."""
    planted = {
        "live": keys.create("acme-corp", expires_in="30d"),
        "expired": keys.create("old-co", expires_in=datetime(2020, 1, 1, tzinfo=timezone.utc)),
        "forged": make_apikee(secret=OTHER_SECRET).create("evil-corp"),
        "later": keys.create(
            "later-inc", not_before=datetime(2099, 1, 1, tzinfo=timezone.utc), expires_in=None
        ),
    }
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "vendor" / "lib").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "src" / "app.py").write_text(
        'import os\n\nAPI_KEY = "' + planted["live"] + '"\nname = "apikee_config.value"\n'
    )
    (root / "docs" / "notes.md").write_text(
        f"old: {planted['expired']}\n\n  forged: {planted['forged']}\n"
    )
    (root / "docs" / "example.md").write_text(
        f"Example: {planted['live']}  <!-- apikee-scan: ignore -->\n"
    )
    (root / "config.env").write_text(
        f"# ünïcødé 𝓧 {planted['later']}\nAPIKEE_SERVER_KEY={PLATFORM_KEY}\n"
        "docs say sk_live_abc123 is a placeholder\n"
    )
    (root / "vendor" / "lib" / "bundle.js").write_text(f"var k='{planted['live']}';\n")
    (root / ".git" / "config").write_text(planted["live"])
    (root / "src" / "logo.png").write_bytes(b"\x89PNG\x00\x00" + planted["live"].encode())
    return root, planted


def _statuses(data: dict) -> list[tuple[str, int, str]]:
    return sorted((f["path"], f["line"], f["status"]) for f in data["findings"])


def test_scan_with_a_secret_tells_live_from_expired_and_forged(cli, tree):
    root, planted = tree
    hidden = tuple(planted.values()) + (PLATFORM_KEY,)
    result = cli("scan", "--json", ".", secret=SECRET, cwd=root, hidden=hidden)
    assert result.code == 1
    data = result.json()
    assert data["secret_configured"] is True
    assert _statuses(data) == [
        ("config.env", 1, "not-yet-valid"),
        ("config.env", 2, "platform-key"),
        ("docs/notes.md", 1, "expired"),
        ("docs/notes.md", 3, "forged"),
        ("src/app.py", 3, "live"),
        ("vendor/lib/bundle.js", 1, "live"),
    ]
    by_place = {(f["path"], f["line"]): f for f in data["findings"]}
    live = by_place[("src/app.py", 3)]
    assert (live["column"], live["end_column"]) == (12, 12 + len(planted["live"]))
    assert live["tenant"] == "acme-corp" and live["failing"] is True
    assert live["fingerprint"] == hash_key(planted["live"])
    assert live["masked"] == "apikee_…" + planted["live"][-4:]
    assert by_place[("docs/notes.md", 3)]["column"] == 11
    assert by_place[("config.env", 1)]["column"] == 13  # code points, not bytes
    assert by_place[("docs/notes.md", 1)]["expires_at"] == "2020-01-01T00:00:00Z"
    assert by_place[("config.env", 2)]["tenant"] is None
    summary = data["summary"]
    assert summary["failing"] == 4
    assert summary["by_status"] == {
        "live": 2,
        "not-yet-valid": 1,
        "unverifiable": 0,
        "platform-key": 1,
        "expired": 1,
        "forged": 1,
        "invalid": 0,
    }
    assert summary["skipped_binary"] == 1  # logo.png; .git is not even walked
    assert summary["ignored_by_pragma"] == 1
    assert summary["ignored_candidates"] == 1  # apikee_config.value


def test_scan_text_output(cli, tree):
    root, planted = tree
    hidden = tuple(planted.values()) + (PLATFORM_KEY,)
    result = cli("scan", ".", secret=SECRET, cwd=root, hidden=hidden)
    assert result.code == 1
    lines = result.out.splitlines()
    live = next(line for line in lines if line.startswith("src/app.py:"))
    assert live.startswith("src/app.py:3:12: LIVE apikee_…")
    assert "tenant 'acme-corp'" in live and "in 29 days" in live
    assert any(line.startswith("docs/notes.md:1:6: EXPIRED") for line in lines)
    assert any(line.startswith("config.env:2:19: PLATFORM-KEY sk_live_…") for line in lines)
    assert "Found 6 keys in 4 files" in result.out
    assert "Revoke" in result.out


def test_scan_exclude_and_exit_status(cli, tree):
    root, planted = tree
    hidden = tuple(planted.values()) + (PLATFORM_KEY,)
    data = cli(
        "scan",
        "--json",
        "--exclude",
        "vendor",
        "--exclude",
        "*.env",
        ".",
        secret=SECRET,
        cwd=root,
        hidden=hidden,
    ).json()
    assert {f["path"] for f in data["findings"]} == {"src/app.py", "docs/notes.md"}
    assert data["summary"]["excluded"] == 2
    # Only an expired and a forged key left: nothing that opens the door, exit 0.
    result = cli(
        "scan",
        "--json",
        "--exclude",
        "vendor",
        "--exclude",
        "src",
        "--exclude",
        "config.env",
        ".",
        secret=SECRET,
        cwd=root,
        hidden=hidden,
    )
    assert result.code == 0
    assert sorted(f["status"] for f in result.json()["findings"]) == ["expired", "forged"]
    assert cli("scan", "--exit-zero", ".", secret=SECRET, cwd=root, hidden=hidden).code == 0


def test_scan_without_a_secret_reports_unverifiable(cli, tree):
    root, planted = tree
    hidden = tuple(planted.values()) + (PLATFORM_KEY,)
    result = cli("scan", "--json", "docs", "src", cwd=root, hidden=hidden)
    assert result.code == 1
    assert _statuses(result.json()) == [
        ("docs/notes.md", 1, "expired"),  # expiry is readable without a secret
        ("docs/notes.md", 3, "unverifiable"),
        ("src/app.py", 3, "unverifiable"),
    ]
    text = cli("scan", "docs", "src", cwd=root, hidden=hidden).out
    assert "UNVERIFIABLE" in text and "No signing secret was given" in text


def test_scan_sarif(cli, tree):
    root, planted = tree
    hidden = tuple(planted.values()) + (PLATFORM_KEY,)
    result = cli("scan", "--format", "sarif", ".", secret=SECRET, cwd=root, hidden=hidden)
    assert result.code == 1
    log = result.json()
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "apikee" and driver["version"]
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert len(set(rule_ids)) == len(rule_ids)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("note", "warning", "error")
        assert 0 < float(rule["properties"]["security-severity"]) <= 10
    assert len(run["results"]) == 6
    for res in run["results"]:
        assert rule_ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("note", "warning", "error")
        assert res["message"]["text"]
        (location,) = res["locations"]
        physical = location["physicalLocation"]
        artifact = physical["artifactLocation"]
        assert artifact["uriBaseId"] == "%SRCROOT%" and "\\" not in artifact["uri"]
        assert not artifact["uri"].startswith("/")
        region = physical["region"]
        assert region["startLine"] >= 1 and region["endColumn"] > region["startColumn"] >= 1
        assert res["partialFingerprints"]["primaryLocationLineHash"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file://")
    assert run["columnKind"] == "utf16CodeUnits"
    by_uri = {
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        ): r
        for r in run["results"]
    }
    assert by_uri[("src/app.py", 3)]["ruleId"] == "apikee/live-key"
    assert by_uri[("src/app.py", 3)]["level"] == "error"
    assert by_uri[("docs/notes.md", 1)]["ruleId"] == "apikee/expired-key"
    assert by_uri[("config.env", 2)]["ruleId"] == "apikee/platform-key"
    # "# ünïcødé 𝓧 " is 12 code points but 13 UTF-16 units: SARIF counts UTF-16.
    region = by_uri[("config.env", 1)]["locations"][0]["physicalLocation"]["region"]
    assert region["startColumn"] == 14


def test_scan_skips_large_files_with_a_note(cli, tmp_path, keys):
    key = keys.create("acme")
    (tmp_path / "big.log").write_text("x" * 4096 + key + "\n")
    (tmp_path / "small.txt").write_text("nothing here\n")
    result = cli("scan", "--max-size", "1K", str(tmp_path), secret=SECRET, hidden=(key,))
    assert result.code == 0
    assert "big.log" in result.err and "--max-size" in result.err
    assert "No keys found" in result.out
    data = cli(
        "scan", "--json", "--max-size", "1K", str(tmp_path), secret=SECRET, hidden=(key,)
    ).json()
    assert data["summary"]["skipped_large"] == [str(tmp_path / "big.log")]


def test_scan_patterns():
    result = run_cli("scan", "--patterns")
    assert result.code == 0
    assert "patterns:" in result.out
    assert "- pattern: 'apikee_[0-9A-Za-z]+\\.[0-9A-Za-z]+'" in result.out
    assert "- pattern: 'sk_live_[0-9A-Za-z]+'" in result.out
    data = run_cli("scan", "--patterns", "--json").json()
    names = [p["name"] for p in data["patterns"]]
    assert "apikee customer key" in names and "apikee platform key" in names
    for pattern in data["patterns"]:
        re.compile(pattern["pattern"])


def test_scan_usage_errors(tmp_path):
    assert run_cli("scan").code == 2
    result = run_cli("scan", str(tmp_path / "missing"))
    assert result.code == 2 and "no such file" in result.err
    assert run_cli("scan", "--format", "xml", str(tmp_path)).code == 2
    assert run_cli("scan", "--max-size", "lots", str(tmp_path)).code == 2
    empty = run_cli("scan", str(tmp_path))
    assert empty.code == 0 and "No keys found" in empty.out


def test_scan_reads_legacy_messagepack_keys(cli, tmp_path):
    msgpack = pytest.importorskip("msgpack")
    from apikee import _core_py

    payload = msgpack.packb({"id": "legacy", "tid": "old-sdk-tenant", "scp": ["read"]})
    assert payload[0] >= 0x80
    key = signed_key(_core_py, payload)
    (tmp_path / "legacy.txt").write_text(f"key={key}\n")
    data = cli("scan", "--json", str(tmp_path / "legacy.txt"), secret=SECRET, hidden=(key,)).json()
    (finding,) = data["findings"]
    assert (finding["status"], finding["tenant"], finding["expires_at"]) == (
        "live",
        "old-sdk-tenant",
        None,
    )
    assert data["summary"]["files_scanned"] == 1
