"""Store URLs: parsing, errors, and a password that never shows anywhere."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis_server import RedisServer, free_port
from store_fixtures import wait_for

from apikee._store import (
    MemoryStore,
    Revocations,
    RevocationSnapshot,
    SQLiteStore,
    StoreUnavailable,
    open_store,
    parse_store_url,
    redacted_url,
)

SECRET = "s3cr3t-P4ss"


# ── parsing ─────────────────────────────────────────────────────────────────────────────────


def test_memory_urls() -> None:
    assert parse_store_url("memory://").kind == "memory"
    assert parse_store_url("memory://shared").path == "shared"
    assert isinstance(open_store("memory://"), MemoryStore)
    assert open_store("memory://a") is open_store("memory://a")
    assert open_store("memory://") is not open_store("memory://")


@pytest.mark.parametrize(
    "url, path",
    [
        ("sqlite:///var/lib/apikee.db", "/var/lib/apikee.db"),
        ("sqlite:////var/lib/apikee.db", "/var/lib/apikee.db"),
        ("sqlite:///tmp/with%20space.db", "/tmp/with space.db"),
    ],
)
def test_sqlite_absolute_paths(url: str, path: str) -> None:
    parsed = parse_store_url(url)
    assert (parsed.kind, parsed.path) == ("sqlite", path)


def test_sqlite_relative_path_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_store_url("sqlite:apikee.db").path == str(tmp_path / "apikee.db")
    assert parse_store_url("sqlite:./data/x.db").path == str(tmp_path / "data" / "x.db")
    store = open_store("sqlite:apikee.db")
    assert isinstance(store, SQLiteStore) and store.url == f"sqlite://{tmp_path / 'apikee.db'}"


def test_redis_urls() -> None:
    url = parse_store_url("redis://cache.internal")
    assert (url.kind, url.host, url.port, url.db, url.password, url.tls) == (
        "redis",
        "cache.internal",
        6379,
        0,
        None,
        False,
    )
    url = parse_store_url(f"redis://app:{SECRET}@10.0.0.5:6380/3?prefix=svc.a")
    assert (url.username, url.password, url.port, url.db, url.option("prefix")) == (
        "app",
        SECRET,
        6380,
        3,
        "svc.a",
    )
    assert parse_store_url(f"redis://:{SECRET}@h/0").password == SECRET
    assert parse_store_url(f"redis://{SECRET}@h").password == SECRET  # a bare token: a password
    assert parse_store_url("redis://[::1]:7000/1").host == "::1"
    assert parse_store_url("redis://h/0").redacted() == "redis://h:6379/0"
    tls = parse_store_url("rediss://h:6390/0?ssl_ca_certs=/etc/ca.pem&ssl_cert_reqs=required")
    assert tls.tls and tls.kind == "redis" and tls.option("ssl_ca_certs") == "/etc/ca.pem"
    assert parse_store_url("redis://u:p%2Fq%40r@h").password == "p/q@r"


@pytest.mark.parametrize(
    "url, words",
    [
        ("postgres://h/db", "unsupported"),
        ("", "unsupported"),
        ("/var/lib/x.db", "unsupported"),
        ("sqlite://host/x.db", "no host"),
        ("sqlite://", "file path"),
        ("sqlite:///:memory:", "memory://"),
        ("sqlite:///x.db?mode=ro", "no query"),
        ("memory://a/b", "memory://"),
        ("redis://", "host is required"),
        ("redis://h:99999/0", "port"),
        ("redis://h:port/0", "port"),
        ("redis://h/zero", "database number"),
        ("redis://h/0?timeout=1", "unknown option"),
        ("redis://h/0?ssl_ca_certs=/x", "rediss://"),
        ("rediss://h/0?ssl_cert_reqs=maybe", "ssl_cert_reqs"),
        ("redis://h/0?prefix=a%20b", "prefix"),
        ("redis://h/0#frag", "fragment"),
    ],
)
def test_bad_urls_raise_value_error(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_store_url(url)


def test_not_a_string() -> None:
    with pytest.raises(TypeError):
        parse_store_url(b"memory://")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        open_store(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", [0, -1, float("inf"), float("nan"), True, "3"])
def test_bad_server_timeout(timeout: object) -> None:
    with pytest.raises(ValueError, match="server_timeout"):
        open_store("memory://", server_timeout=timeout)  # type: ignore[arg-type]


# ── redaction ───────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "url",
    [
        f"redis://user:{SECRET}@h:6379/0",
        f"redis://:{SECRET}@h:6379/0",
        f"redis://{SECRET}@h",
        f"rediss://user:{SECRET}@h:6379/0?ssl_cert_reqs=none",
        f"redis://user:{SECRET}/with/slashes@h:6379/0",
        f"redis://user:{SECRET}@with@ats@h:6379/0",
        f"redis://user:{SECRET}?q@h:6379/0",
        f"redis://h:6379/0?password={SECRET}",
        f"redis://user:{SECRET}@h:notaport/0",
        f"unknown://user:{SECRET}@h",
    ],
)
def test_password_never_shown(url: str) -> None:
    assert SECRET not in redacted_url(url)
    assert "***" in redacted_url(url)
    try:
        parsed = parse_store_url(url)
    except ValueError as exc:
        assert SECRET not in str(exc) and SECRET not in repr(exc)
        assert exc.__context__ is None and exc.__cause__ is None
        return
    for text in (repr(parsed), str(parsed), parsed.redacted()):
        assert SECRET not in text


def test_redacted_url_keeps_the_rest() -> None:
    assert redacted_url(f"redis://app:{SECRET}@h:6380/2") == "redis://app:***@h:6380/2"
    assert redacted_url("redis://h:6380/2") == "redis://h:6380/2"
    assert redacted_url("sqlite:///a@b.db") == "sqlite:///a@b.db"
    assert redacted_url(None) == "None"


def test_store_and_snapshot_never_show_the_password(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nothing listens there
    url = f"redis://app:{SECRET}@127.0.0.1:{port}/0"
    caplog.set_level(logging.DEBUG, logger="apikee")
    with Revocations(url, server_timeout=0.5, backoff_max=0.2) as revocations:
        snapshot = revocations.snapshot
        texts = [
            repr(revocations),
            repr(revocations.store),
            str(revocations.store),
            revocations.store.url,
            repr(snapshot),
        ]
        with pytest.raises(StoreUnavailable) as caught:
            revocations.revoke_id("4Zb8ADn5k3hYrVJqXWQpLd")
        texts += [str(caught.value), repr(caught.value)]
        assert caught.value.__context__ is None and caught.value.__cause__ is None
        snapshot.start()
        assert wait_for(lambda: snapshot.status()["last_error"] is not None)
        texts.append(repr(snapshot.status()))
        assert snapshot.status()["healthy"] is False
    texts += [record.getMessage() for record in caplog.records]
    assert caplog.records, "the refresher logs its failures"
    for text in texts:
        assert SECRET not in text, text
    assert any("***" in text for text in texts)


def test_wrong_password_error_is_scrubbed(tmp_path: Path) -> None:
    with RedisServer(tmp_path / "auth", password="the-right-one") as server:
        good = open_store(f"redis://:the-right-one@127.0.0.1:{server.port}/0", server_timeout=2)
        good.ping()
        good.close()
        bad = open_store(f"redis://default:{SECRET}@127.0.0.1:{server.port}/0", server_timeout=2)
        with pytest.raises(StoreUnavailable) as caught:
            bad.ping()
        assert SECRET not in str(caught.value) and "***" in str(caught.value)
        none = open_store(f"redis://127.0.0.1:{server.port}/0", server_timeout=2)
        with pytest.raises(StoreUnavailable, match="(?i)auth"):
            none.version()


def test_missing_redis_package_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "from apikee._store import open_store\n"
        "try:\n"
        "    open_store('redis://127.0.0.1:6379/0')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert "pip install 'apikee[redis]'" in result.stdout, result.stderr


def test_status_of_a_sqlite_store(tmp_path: Path) -> None:
    with RevocationSnapshot(f"sqlite://{tmp_path / 'x.db'}") as snapshot:
        snapshot.refresh_now()
        status = snapshot.status()
        assert status["kind"] == "sqlite" and status["url"] == f"sqlite://{tmp_path / 'x.db'}"
        assert status["entries"] == 0 and status["last_error"] is None
        assert time.time() - float(status["loaded_at"]) < 60  # type: ignore[arg-type]
