"""Hardening of the ``apikee`` command line (the "hardening" issue, items 7 and 8).

7. It never echoes a secret: argparse's messages and "cannot read FILE" errors mask arguments
   that look like secrets (see ``looks_secret``), and ``apikee secret`` masks every stray one.
8. It never hangs and never silently misses: FIFOs, sockets and devices are refused (never
   opened blocking), UTF-16/UTF-32 text is scanned, and files that may hold keys but were not
   scanned show in every output format and, with ``--strict``, in the exit status.

Every run that could hang has a short timeout: a hang fails the test instead of the suite.
"""

from __future__ import annotations

import base64
import os
import random
import shutil
import socket
import tempfile

import pytest
from support import SECRET, run_cli

from apikee._cli.masking import looks_secret

HANG = 20  # seconds: far more than any of these runs needs, far less than forever

_RANDOM = random.Random(20260131)  # seeded: the same tokens, and so the same verdicts, every run


def _token(size: int) -> bytes:
    return bytes(_RANDOM.getrandbits(8) for _ in range(size))


def _urlsafe(size: int) -> str:
    return base64.urlsafe_b64encode(_token(size)).decode().rstrip("=")


STRAY_SECRETS = {
    "hex64": _token(32).hex(),
    "hex16": _token(8).hex(),
    "urlsafe32": "Q" + _urlsafe(32),  # (a leading "-" would make it an option)
    "urlsafe16": "Zk3" + _urlsafe(16),
    "base64": base64.b64encode(_token(32)).decode(),
    "hex-and-more": "0123456789abcdef0123456789abcdefXYZ",
}


# ── 7. no secret is ever echoed ─────────────────────────────────────────────────────────────


@pytest.mark.parametrize("secret", STRAY_SECRETS.values(), ids=STRAY_SECRETS.keys())
def test_secret_check_given_the_secret_as_an_argument_does_not_echo_it(secret):
    result = run_cli("secret", "--check", secret, hidden=(secret,))
    assert result.code == 2
    assert "unrecognized arguments: [masked" in result.err


def test_secret_masks_every_stray_argument_even_a_short_one():
    result = run_cli(
        "secret", "--check", "hunter2", "--x=swordfish", hidden=("hunter2", "swordfish")
    )
    assert result.code == 2 and "unrecognized arguments" in result.err


@pytest.mark.parametrize("secret", STRAY_SECRETS.values(), ids=STRAY_SECRETS.keys())
def test_secret_file_given_a_secret_does_not_echo_it(secret):
    result = run_cli("verify", "--secret-file", secret, "-", hidden=(secret,))
    assert result.code == 2
    assert "--secret-file: cannot read [masked" in result.err
    result = run_cli("secret", "--check", "--secret-file", secret, hidden=(secret,))
    assert result.code == 2 and "[masked" in result.err


@pytest.mark.parametrize(
    "args",
    [
        ("{secret}",),  # invalid choice: 'SECRET'
        ("info", "{secret}"),  # unrecognized arguments
        ("info", "--token={secret}"),
        ("verify", "--now", "{secret}", "-"),  # cannot read '…'
        ("create", "--tenant", "t", "--expires", "{secret}"),
        ("scan", "/tmp/no-such-folder/{secret}"),  # no such file or folder
        ("scan", "--max-size", "{secret}", "."),
    ],
)
def test_no_error_message_echoes_a_secret(args):
    secret = STRAY_SECRETS["urlsafe32"]
    result = run_cli(*(arg.format(secret=secret) for arg in args), secret=SECRET, hidden=(secret,))
    assert result.code == 2


def test_ordinary_values_are_still_shown():
    result = run_cli("info", "stray-word")
    assert result.code == 2 and "unrecognized arguments: stray-word" in result.err
    result = run_cli("verify", "--secret-file", "/no/such/secrets.txt", "-")
    assert "cannot read /no/such/secrets.txt" in result.err
    result = run_cli("verify", "--now", "next-tuesday", "-", secret=SECRET)
    assert "'next-tuesday'" in result.err


@pytest.mark.parametrize("value", [*STRAY_SECRETS.values(), "apikee_abc.def", "sk_" + "live_x1"])
def test_the_masking_rule_catches_generated_tokens(value):
    assert looks_secret(value)
    assert looks_secret(f"/some/folder/{value}")


@pytest.mark.parametrize(
    "value",
    [
        "/tmp/pytest-of-root/pytest-12/test_secret_file0/secrets.txt",
        "config/production-secrets.env",
        "sk-local-dev-secret-change-this",
        "2026-01-31T12:00:00Z",
        "+30d",
        "-1d",
        "orders:read",
        "--require-scope",
        "node_modules/lodash/lodash.min.js",
        "release-v1-2-3-build-45",
        "stray-word",
    ],
)
def test_the_masking_rule_spares_words_and_paths(value):
    assert not looks_secret(value)


def test_random_tokens_are_masked_reliably():
    # Generated tokens change character class most of the time: check the rule on many.
    misses = [t for t in (_urlsafe(24) for _ in range(2000)) if not looks_secret(t)]
    assert len(misses) < 10, misses[:5]


# ── 8. never hang, never silently miss ──────────────────────────────────────────────────────


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


@pytest.fixture
def short_dir():
    """A folder with a short path (a unix socket's path is limited to ~100 bytes)."""
    folder = tempfile.mkdtemp(prefix="ak", dir="/tmp")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _summary(result):
    return result.json()["summary"]


def test_scan_refuses_a_fifo_named_on_the_command_line(fifo):
    result = run_cli("scan", str(fifo), timeout=HANG)
    assert result.code == 0  # not strict: reported, but not a failure
    assert "pipe (FIFO)" in result.err and "Incomplete: 1 file" in result.out
    result = run_cli("scan", "--strict", str(fifo), timeout=HANG)
    assert result.code == 1 and "fails" in result.out
    summary = _summary(run_cli("scan", "--json", str(fifo), timeout=HANG))
    assert summary["skipped_special"] == [{"path": str(fifo), "kind": "a pipe (FIFO)"}]
    assert summary["possibly_missed"] == 1


def test_scan_reports_special_files_in_folders(fifo, short_dir):
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(os.path.join(short_dir, "dev.sock"))
        os.mkfifo(os.path.join(short_dir, "pipe"))
        result = run_cli("scan", "--json", short_dir, str(fifo.parent), timeout=HANG)
        kinds = sorted(s["kind"] for s in _summary(result)["skipped_special"])
        assert kinds == ["a pipe (FIFO)", "a pipe (FIFO)", "a socket"]
        assert result.code == 0
        assert run_cli("scan", "--strict", short_dir, timeout=HANG).code == 1
        # --exclude still applies to them
        result = run_cli(
            "scan", "--json", "--exclude", "*.sock", "--exclude", "pipe", short_dir, timeout=HANG
        )
        assert _summary(result)["possibly_missed"] == 0
        result = run_cli(
            "verify", "--secret-file", os.path.join(short_dir, "dev.sock"), "-", timeout=HANG
        )
        assert result.code == 2 and "a socket, not a file" in result.err
    finally:
        sock.close()


def test_secret_file_fifo_does_not_hang(fifo):
    result = run_cli("verify", "--secret-file", str(fifo), "-", stdin="apikee_x.y", timeout=HANG)
    assert result.code == 2
    assert "holds no secret" in result.err


def test_secret_file_pipe_is_read(keys_on_disk):
    # `--secret-file <(vault read …)`: a pipe with a writer is read to its end.
    key = keys_on_disk["key"]
    read_fd, write_fd = os.pipe()
    os.write(write_fd, (SECRET + "\n").encode())
    os.close(write_fd)
    try:
        result = run_cli(
            "verify",
            "--secret-file",
            f"/dev/fd/{read_fd}",
            "-",
            stdin=key,
            hidden=(SECRET, key),
            timeout=HANG,
            pass_fds=(read_fd,),
        )
    finally:
        os.close(read_fd)
    assert result.code == 0, result.err


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_devices_are_refused(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    result = run_cli("verify", "--secret-file", device, "-", timeout=HANG)
    assert result.code == 2 and "a character device, not a file" in result.err
    summary = _summary(run_cli("scan", "--json", device, timeout=HANG))
    assert summary["skipped_special"] == [{"path": device, "kind": "a character device"}]


@pytest.fixture
def keys_on_disk(make_apikee):
    return {"key": make_apikee(secret=SECRET).create("acme-corp", expires_in="30d")}


ENCODINGS = {
    "utf-16-bom": lambda text: text.encode("utf-16"),
    "utf-16-le-bom": lambda text: b"\xff\xfe" + text.encode("utf-16-le"),
    "utf-16-be-bom": lambda text: b"\xfe\xff" + text.encode("utf-16-be"),
    "utf-16-le": lambda text: text.encode("utf-16-le"),
    "utf-16-be": lambda text: text.encode("utf-16-be"),
    "utf-32-bom": lambda text: text.encode("utf-32"),
    "utf-32-be-bom": lambda text: b"\x00\x00\xfe\xff" + text.encode("utf-32-be"),
}


@pytest.mark.parametrize("encode", ENCODINGS.values(), ids=ENCODINGS.keys())
def test_scan_reads_utf16_and_utf32_text(tmp_path, keys_on_disk, encode):
    key = keys_on_disk["key"]
    (tmp_path / "settings.ps1").write_bytes(encode(f"# réglages\n$env:API_KEY = '{key}'\n"))
    result = run_cli("scan", "--json", str(tmp_path), secret=SECRET, hidden=(key,), timeout=HANG)
    assert result.code == 1
    data = result.json()
    (finding,) = data["findings"]
    assert (finding["status"], finding["line"], finding["column"]) == ("live", 2, 17)
    assert data["summary"]["files_transcoded"] == 1 and data["summary"]["skipped_binary"] == 0


def test_binary_files_with_nul_bytes_stay_binary(tmp_path, keys_on_disk):
    key = keys_on_disk["key"]
    (tmp_path / "data.bin").write_bytes(bytes(range(256)) * 4 + key.encode())
    (tmp_path / "shorts.bin").write_bytes(b"".join(n.to_bytes(2, "little") for n in range(500)))
    summary = _summary(run_cli("scan", "--json", str(tmp_path), hidden=(key,), timeout=HANG))
    assert summary["skipped_binary"] == 2 and summary["files_scanned"] == 0


def test_too_large_files_are_in_the_summary_and_strict_fails(tmp_path, keys_on_disk):
    key = keys_on_disk["key"]
    (tmp_path / "big.log").write_text("x" * 4096 + key + "\n")
    (tmp_path / "big16.log").write_bytes(("y" * 4096 + key).encode("utf-16"))  # not "binary"
    (tmp_path / "small.txt").write_text("nothing\n")
    args = ("scan", "--max-size", "1K", str(tmp_path))
    result = run_cli(*args, secret=SECRET, hidden=(key,), timeout=HANG)
    assert result.code == 0
    assert "Incomplete: 2 files that may hold keys were not scanned" in result.out
    assert "2 larger than --max-size 1.0 KiB" in result.out
    assert run_cli("scan", "--strict", *args[1:], secret=SECRET, hidden=(key,)).code == 1
    summary = _summary(run_cli("scan", "--json", *args[1:], secret=SECRET, hidden=(key,)))
    assert summary["possibly_missed"] == 2 and len(summary["skipped_large"]) == 2
    log = run_cli("scan", "--format", "sarif", *args[1:], secret=SECRET, hidden=(key,)).json()
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation["properties"]["possiblyMissed"] == 2
    levels = [n["level"] for n in invocation["toolExecutionNotifications"]]
    assert levels == ["warning", "warning"]
    # --exit-zero is about findings; --strict still fails on what was not scanned.
    assert run_cli("scan", "--strict", "--exit-zero", *args[1:]).code == 1


def test_max_size_zero_is_a_usage_error(tmp_path):
    result = run_cli("scan", "--max-size", "0", str(tmp_path))
    assert result.code == 2 and "0 would skip every file" in result.err


def test_unreadable_files_are_in_the_summary(tmp_path, monkeypatch):
    # In process: running as root, chmod 000 does not make a file unreadable.
    from apikee._cli.scan import reading, scanner

    (tmp_path / "locked.env").write_text("API_KEY=...\n")
    (tmp_path / "open.env").write_text("nothing\n")
    real_open = reading.open_nonblocking

    def refusing_open(path: str, follow_symlinks: bool = True) -> int:
        if path.endswith("locked.env"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, follow_symlinks)

    monkeypatch.setattr(reading, "open_nonblocking", refusing_open)
    result = scanner.scan([str(tmp_path)])
    assert result.unreadable == [(str(tmp_path / "locked.env"), "Permission denied")]
    assert result.possibly_missed == 1 and result.files_scanned == 1
