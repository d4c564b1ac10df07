"""Revocation on the command line: ``revoke``, ``unrevoke``, ``revocations``, ``scan --revoke``,
``info`` and the demo, driven as users drive them (``python -m apikee`` in a subprocess) against
a real SQLite file, and a Redis URL with a password that nothing answers.

Every run has a timeout (a hung command fails the test) and checks that no secret, key or
store password it was given appears in its output (``run_cli(hidden=...)``).
"""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
from support import OTHER_SECRET, PAST, SECRET, CliRun, run_cli, signed_key

from apikee import Apikee, _core_py, decode_unverified, hash_key

TIMEOUT = 60  # seconds: each of these runs takes well under one
PASSWORD = "s3cretpw"
DEAD_REDIS = f"redis://user:{PASSWORD}@127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture(autouse=True)
def _no_env_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process Apikee instances here are stateless, whatever the developer's env says."""
    monkeypatch.delenv("APIKEE_STORE", raising=False)


def cli(*args: str, **kwargs) -> CliRun:
    kwargs.setdefault("timeout", TIMEOUT)
    return run_cli(*args, **kwargs)


@pytest.fixture
def store(tmp_path) -> str:
    return f"sqlite://{tmp_path}/revocations.db"  # tmp_path is absolute: sqlite:///tmp/…


@pytest.fixture
def keys() -> Apikee:
    return Apikee(secret=SECRET)


def verify(key: str, store: str | None) -> CliRun:
    env = {"APIKEE_STORE": store} if store else None
    return cli("verify", "-", stdin=key, secret=SECRET, env=env, hidden=(key,))


def listed(store: str) -> list[dict]:
    result = cli("revocations", "--json", "--store", store)
    assert result.code == 0, result.err
    return result.json()["revocations"]


# ── revoke ──────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("impl", ["pure", pytest.param("native", marks=pytest.mark.native)])
def test_revoke_a_key_then_verify_fails_revoked(keys, store, impl):
    key = keys.create("acme", scopes=["read"])
    assert verify(key, store).code == 0
    result = cli(
        "revoke",
        "--store",
        store,
        "--reason",
        "leaked in a ticket",
        "-",
        stdin=key,
        secret=SECRET,
        hidden=(key,),
        impl=impl,
    )
    assert result.code == 0, result.err
    key_id = keys.verify(key).id
    assert result.out.startswith(f"REVOKED apikee_…{key[-4:]}: the key with id {key_id}")
    assert "leaked in a ticket" in result.out and store in result.out
    rejected = cli(
        "verify",
        "-",
        stdin=key,
        secret=SECRET,
        env={"APIKEE_STORE": store},
        hidden=(key,),
        impl=impl,
    )
    assert rejected.code == 1
    assert rejected.err.startswith("REVOKED:")
    assert verify(key, None).code == 0  # a verifier without the store knows nothing of it


def test_revoke_json_gives_the_record(keys, store):
    key = keys.create("acme", expires_in="30d")
    claims = keys.verify(key)
    result = cli("revoke", "--json", "--store", store, "-", stdin=key, secret=SECRET, hidden=(key,))
    assert result.code == 0, result.err
    data = result.json()
    assert data["store"] == store
    record = data["revoked"]
    assert record["kind"] == "id" and record["value"] == claims.id
    assert record["reason"] is None and record["issued_before"] is None
    assert record["expires_at"] == claims.to_dict()["exp"]
    assert abs(record["revoked_at"] - time.time()) < 60
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["revoked_at_iso"])
    assert [(r["kind"], r["value"]) for r in listed(store)] == [("id", claims.id)]


def test_revoking_a_full_key_needs_the_secret_that_signed_it(keys, store):
    key = keys.create("acme")
    result = cli("revoke", "--store", store, "-", stdin=key, hidden=(key,))  # no secret
    assert result.code == 2
    assert "APIKEE_SECRET" in result.err and "--secret-file" in result.err
    forged = Apikee(secret=OTHER_SECRET).create("acme")
    result = cli("revoke", "--store", store, "-", stdin=forged, secret=SECRET, hidden=(forged,))
    assert result.code == 2
    assert "does not verify" in result.err
    expired = Apikee(secret=SECRET).create("acme", expires_in=PAST)
    result = cli("revoke", "--store", store, "-", stdin=expired, secret=SECRET, hidden=(expired,))
    assert result.code == 0, result.err  # an expired key of yours can still be revoked
    assert len(listed(store)) == 1


def test_revoke_by_id_needs_no_secret(keys, store):
    key = keys.create("acme")
    key_id = keys.verify(key).id
    result = cli("revoke", "--store", store, "--id", key_id)
    assert result.code == 0, result.err
    assert result.out.startswith(f"REVOKED the key with id {key_id}")
    assert verify(key, store).code == 1


@pytest.mark.parametrize("with_id", [False, True], ids=["no-id", "with-id"])
def test_revoke_by_fingerprint(store, keys, with_id):
    # A revoked fingerprint takes effect on any key: one without an id claim (keys of other
    # SDKs) and one with an id alike.
    if with_id:
        key = keys.create("acme")
    else:
        key = signed_key(_core_py, b'{"tid":"acme","scp":[],"env":"production"}')
    assert verify(key, store).code == 0
    fingerprint = hash_key(key)
    result = cli("revoke", "--json", "--store", store, "--fingerprint", fingerprint.upper())
    assert result.code == 0, result.err
    assert result.json()["revoked"]["kind"] == "fingerprint"
    assert result.json()["revoked"]["value"] == fingerprint
    rejected = verify(key, store)
    assert rejected.code == 1 and "REVOKED" in rejected.err
    text = cli("revoke", "--store", store, "--fingerprint", fingerprint)
    assert text.out.startswith(f"REVOKED the key with fingerprint {fingerprint[:12]}…")
    assert "every verification hashes its key" in text.out


def test_revoking_a_key_without_an_id_uses_its_fingerprint(store):
    key = signed_key(_core_py, b'{"tid":"acme","scp":[],"env":"production"}')
    result = cli("revoke", "--json", "--store", store, "-", stdin=key, secret=SECRET, hidden=(key,))
    assert result.code == 0, result.err
    assert result.json()["revoked"]["kind"] == "fingerprint"
    assert result.json()["revoked"]["value"] == hash_key(key)
    assert verify(key, store).code == 1
    result = cli("unrevoke", "--json", "--store", store, "-", stdin=key, hidden=(key,))
    assert result.json()["unrevoked"] is True and result.json()["kind"] == "fingerprint"


def test_revoke_a_tenant_issued_before(keys, store):
    acme, other = keys.create("acme"), keys.create("other-co")
    result = cli("revoke", "--json", "--store", store, "--tenant", "acme", "--issued-before", "-1d")
    assert result.code == 0, result.err
    record = result.json()["revoked"]
    assert record["kind"] == "tenant" and record["value"] == "acme"
    assert abs(record["issued_before"] - (time.time() - 86400)) < 120
    assert verify(acme, store).code == 0  # issued after the cutoff: still valid
    result = cli(
        "revoke",
        "--store",
        store,
        "--tenant",
        "acme",
        "--issued-before",
        "+1h",
        "--reason",
        "force rotation",
    )
    assert result.code == 0, result.err
    assert result.out.startswith("REVOKED every key of tenant 'acme' issued before ")
    rejected = verify(acme, store)
    assert rejected.code == 1 and "REVOKED" in rejected.err
    assert verify(other, store).code == 0
    (tenant,) = listed(store)  # revoking the tenant again moved its cutoff
    assert tenant["reason"] == "force rotation"


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "give one of KEY"),
        (("--id", "a", "--tenant", "b"), "only one"),
        (("not-a-key",), "not an apikee key"),
        (("--id", "bad id!"), "a key id is"),
        (("--id", "ab" * 32), "use --fingerprint"),
        (("--fingerprint", "abc123"), "64 hex digits"),
        (("--id", "abc", "--issued-before", "-1d"), "--tenant only"),
        (("--tenant", "acme", "--issued-before", "someday"), "--issued-before"),
        (("--id", "abc", "--reason", "x" * 501), "500 characters"),
        (("--id", "abc", "--store", "memory://"), "memory://"),
        (("--id", "abc", "--store", "ftp://example.com/x"), "unsupported revocation store"),
    ],
)
def test_bad_input_exits_2(store, args, message):
    if "--store" not in args:
        args = (*args, "--store", store)
    result = cli("revoke", *args)
    assert result.code == 2, result.text
    assert message in result.err


def test_a_full_key_given_as_an_id_is_refused_and_not_echoed(keys, store):
    key = keys.create("acme")
    result = cli("revoke", "--store", store, "--id", key, hidden=(key,))
    assert result.code == 2 and "pass it as KEY" in result.err


# ── unrevoke, revocations ───────────────────────────────────────────────────────────────────


def test_unrevoke(keys, store):
    key = keys.create("acme")
    assert cli("revoke", "--store", store, "-", stdin=key, secret=SECRET, hidden=(key,)).code == 0
    assert verify(key, store).code == 1
    result = cli("unrevoke", "--json", "--store", store, "-", stdin=key, hidden=(key,))  # no secret
    assert result.code == 0, result.err
    assert result.json() == {
        "unrevoked": True,
        "kind": "id",
        "value": keys.verify(key).id,
        "store": store,
    }
    assert verify(key, store).code == 0
    again = cli("unrevoke", "--store", store, "-", stdin=key, hidden=(key,))
    assert again.code == 0 and again.out.startswith("NOT REVOKED")
    assert (
        cli("unrevoke", "--json", "--store", store, "--id", "nothing-here").json()["unrevoked"]
        is False
    )
    assert cli("revoke", "--store", store, "--tenant", "acme", "--issued-before", "+1h").code == 0
    assert verify(key, store).code == 1
    result = cli("unrevoke", "--store", store, "--tenant", "acme")
    assert result.code == 0 and result.out.startswith("UNREVOKED every key of tenant 'acme'")
    assert verify(key, store).code == 0
    assert listed(store) == []


def test_revocations_table_and_json(keys, store):
    key = keys.create("acme")
    fingerprint = hash_key(keys.create("beta"))
    assert cli("revoke", "--store", store, "--id", "key-one", "--reason", "lost laptop").code == 0
    assert cli("revoke", "--store", store, "--fingerprint", fingerprint).code == 0
    assert cli("revoke", "--store", store, "--tenant", "acme").code == 0
    assert cli("revoke", "--store", store, "-", stdin=key, secret=SECRET, hidden=(key,)).code == 0
    table = cli("revocations", "--store", store)
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0].split() == ["KIND", "VALUE", "REASON", "WHEN", "HOST", "EXPIRES"]
    rows = {line.split()[1]: line for line in lines[1:-1]}
    assert rows["key-one"].startswith("id ") and "lost laptop" in rows["key-one"]
    assert "never" in rows["key-one"]
    assert fingerprint not in table.out  # shown shortened; the JSON has it whole
    assert rows[fingerprint[:12] + "…"].startswith("fingerprint ")
    assert "issued before " in rows["acme"]
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows["acme"])
    assert rows[keys.verify(key).id].rstrip().endswith("Z")  # the key's expiry
    assert lines[-1] == f"4 revocations in {store}."
    data = cli("revocations", "--json", "--store", store).json()
    assert data["store"] == store and data["count"] == 4
    assert [(r["kind"], r["value"]) for r in data["revocations"]] == [
        ("id", "key-one"),
        ("fingerprint", fingerprint),
        ("tenant", "acme"),
        ("id", keys.verify(key).id),
    ]
    assert set(data["revocations"][0]) >= {
        "kind",
        "value",
        "reason",
        "revoked_at",
        "host",
        "expires_at",
        "issued_before",
    }


def test_an_empty_store_lists_nothing(store):
    result = cli("revocations", "--store", store)
    assert result.code == 0 and result.out.startswith("No revocations in")
    assert cli("revocations", "--json", "--store", store).json()["revocations"] == []


# ── which store ─────────────────────────────────────────────────────────────────────────────


def test_store_option_or_apikee_store(tmp_path):
    first, second = f"sqlite://{tmp_path}/first.db", f"sqlite://{tmp_path}/second.db"
    assert cli("revoke", "--id", "from-env", env={"APIKEE_STORE": first}).code == 0
    # --store wins over APIKEE_STORE
    assert (
        cli("revoke", "--id", "from-option", "--store", second, env={"APIKEE_STORE": first}).code
        == 0
    )
    assert [r["value"] for r in listed(first)] == ["from-env"]
    data = cli("revocations", "--json", env={"APIKEE_STORE": second}).json()
    assert [r["value"] for r in data["revocations"]] == ["from-option"]
    relative = cli("revoke", "--id", "relative", "--store", "sqlite:rel.db", cwd=tmp_path)
    assert relative.code == 0, relative.err
    assert f"sqlite://{tmp_path}/rel.db" in relative.out  # shown as the absolute path it is
    assert [r["value"] for r in listed(f"sqlite:///{tmp_path}/rel.db")] == ["relative"]


@pytest.mark.parametrize(
    "args",
    [
        ("revoke", "--id", "abc"),
        ("unrevoke", "--id", "abc"),
        ("revocations",),
        ("scan", "--revoke", "."),
    ],
)
def test_no_store_exits_2_naming_both_ways(args, tmp_path):
    result = cli(*args, secret=SECRET, cwd=tmp_path)
    assert result.code == 2
    assert "--store" in result.err and "APIKEE_STORE" in result.err
    assert result.out == ""


def test_a_store_password_is_never_shown_and_a_dead_store_fails_fast(tmp_path):
    pytest.importorskip("redis")
    (tmp_path / "app.py").write_text(f'key = "{Apikee(secret=SECRET).create("acme")}"\n')
    for args, expected in [
        (("revoke", "--id", "abc"), 1),
        (("revoke", "--json", "--tenant", "acme"), 1),
        (("unrevoke", "--id", "abc"), 1),
        (("revocations",), 1),
        (("scan", "--revoke", "."), 1),
    ]:
        started = time.monotonic()
        result = cli(
            *args,
            "--store",
            DEAD_REDIS,
            secret=SECRET,
            cwd=tmp_path,
            timeout=20,
            hidden=(PASSWORD,),
        )
        assert time.monotonic() - started < 10, args
        assert result.code == expected, (args, result.text)
        assert result.err.startswith("apikee: the store is unavailable: "), result.err
        assert "redis://user:***@127.0.0.1:1/0" in result.err
        assert result.out == ""  # nothing was revoked, nothing scanned
    via_env = cli(
        "revoke", "--id", "abc", env={"APIKEE_STORE": DEAD_REDIS}, timeout=20, hidden=(PASSWORD,)
    )
    assert via_env.code == 1
    malformed = cli(
        "revoke", "--id", "abc", "--store", DEAD_REDIS + "?bogus=1", timeout=20, hidden=(PASSWORD,)
    )
    assert malformed.code == 2 and "unknown option" in malformed.err
    info = cli("info", "--store", DEAD_REDIS, timeout=20, hidden=(PASSWORD,))
    assert info.code == 0 and "UNHEALTHY" in info.out
    data = cli(
        "info", "--json", env={"APIKEE_STORE": DEAD_REDIS}, timeout=20, hidden=(PASSWORD,)
    ).json()
    assert data["store"]["healthy"] is False and data["store"]["source"] == "APIKEE_STORE"


# ── scan --revoke ───────────────────────────────────────────────────────────────────────────


@pytest.fixture
def leaked(tmp_path, keys):
    live = keys.create("acme")
    forged = Apikee(secret=OTHER_SECRET).create("evil")
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "settings.py").write_text(f'LIVE = "{live}"\nFORGED = "{forged}"\n')
    (folder / "notes.md").write_text(f"again: {live}\n")
    return folder, live, forged


def test_scan_revoke_revokes_only_the_live_key(leaked, store, keys):
    folder, live, forged = leaked
    hidden = (live, forged)
    result = cli(
        "scan",
        "--revoke",
        "--json",
        "--store",
        store,
        ".",
        secret=SECRET,
        cwd=folder,
        hidden=hidden,
    )
    assert result.code == 1, result.err  # a live key was found: the scan fails as before
    data = result.json()
    assert data["store"] == store and data["revoke"] is True
    by_place = {(f["path"], f["line"]): f for f in data["findings"]}
    live_id = keys.verify(live).id
    for place in (("settings.py", 1), ("notes.md", 1)):
        finding = by_place[place]
        assert finding["status"] == "live" and finding["masked"] == "apikee_…" + live[-4:]
        assert finding["revocation"] == {"revoked": True, "kind": "id", "value": live_id}
    assert by_place[("settings.py", 2)]["status"] == "forged"
    assert by_place[("settings.py", 2)]["revocation"] is None
    assert data["summary"]["revoked"] == 1 and data["summary"]["revoke_failed"] == 0
    (record,) = listed(store)
    assert (record["kind"], record["value"]) == ("id", live_id)
    assert record["reason"].startswith("leaked: found by apikee scan in ")
    assert verify(live, store).code == 1
    # Scanned again: the key is revoked in the store, nothing is left to revoke.
    again = cli("scan", "--revoke", "--store", store, ".", secret=SECRET, cwd=folder, hidden=hidden)
    assert again.code == 0, again.text
    assert again.out.count(" REVOKED apikee_…") == 2
    assert "Nothing to revoke" in again.out
    assert len(listed(store)) == 1


def test_scan_revoke_text_output(leaked, store):
    folder, live, forged = leaked
    result = cli(
        "scan",
        "--revoke",
        "--reason",
        "leaked in repo",
        ".",
        secret=SECRET,
        cwd=folder,
        env={"APIKEE_STORE": store},
        hidden=(live, forged),
    )
    assert result.code == 1
    line = next(x for x in result.out.splitlines() if x.startswith("settings.py:1:"))
    assert "LIVE apikee_…" in line and "-> REVOKED NOW (by its id " in line
    forged_line = next(x for x in result.out.splitlines() if x.startswith("settings.py:2:"))
    assert "FORGED" in forged_line and "REVOKED" not in forged_line
    assert f"Revoked 1 key in {store}" in result.out
    assert listed(store)[0]["reason"] == "leaked in repo"


def test_scan_revoke_sarif_marks_the_revoked_results(leaked, store):
    folder, live, forged = leaked
    log = cli(
        "scan",
        "--revoke",
        "--format",
        "sarif",
        "--store",
        store,
        ".",
        secret=SECRET,
        cwd=folder,
        hidden=(live, forged),
    ).json()
    results = log["runs"][0]["results"]
    revoked = [r for r in results if r["properties"].get("revoked")]
    assert len(revoked) == 2 and all(r["ruleId"] == "apikee/live-key" for r in revoked)
    later = cli(
        "scan",
        "--format",
        "sarif",
        "--store",
        store,
        ".",
        secret=SECRET,
        cwd=folder,
        hidden=(live, forged),
    ).json()
    assert {r["ruleId"] for r in later["runs"][0]["results"]} == {
        "apikee/revoked-key",
        "apikee/forged-key",
    }


def test_scan_revoke_needs_the_secret_and_the_store(leaked, store):
    folder, live, forged = leaked
    no_secret = cli("scan", "--revoke", "--store", store, ".", cwd=folder, hidden=(live, forged))
    assert no_secret.code == 2 and "APIKEE_SECRET" in no_secret.err and no_secret.out == ""
    no_store = cli("scan", "--revoke", ".", secret=SECRET, cwd=folder, hidden=(live, forged))
    assert no_store.code == 2 and "APIKEE_STORE" in no_store.err and no_store.out == ""
    reason_alone = cli(
        "scan", "--reason", "x", ".", secret=SECRET, cwd=folder, hidden=(live, forged)
    )
    assert reason_alone.code == 2
    assert listed(store) == []


def test_scan_revoke_also_revokes_a_not_yet_valid_key(tmp_path, store, keys):
    later = keys.create("acme", not_before=timedelta(days=1))
    (tmp_path / "later.env").write_text(f"KEY={later}\n")
    data = cli(
        "scan",
        "--revoke",
        "--json",
        "--store",
        store,
        "later.env",
        secret=SECRET,
        cwd=tmp_path,
        hidden=(later,),
    ).json()
    (finding,) = data["findings"]
    assert finding["status"] == "not-yet-valid" and finding["revocation"]["revoked"] is True
    assert [r["value"] for r in listed(store)] == [decode_unverified(later).id]


def test_revoke_with_a_secret_file(tmp_path, store, keys):
    secrets = tmp_path / "secrets.txt"
    secrets.write_text(f"{OTHER_SECRET}\n{SECRET}\n")  # rotation: the key's secret is second
    secrets.chmod(0o600)
    key = keys.create("acme")
    result = cli(
        "revoke",
        "--secret-file",
        str(secrets),
        "--store",
        store,
        "-",
        stdin=key,
        hidden=(key, SECRET, OTHER_SECRET),
    )
    assert result.code == 0, result.err
    assert verify(key, store).code == 1


def test_scan_with_a_store_but_without_revoke_changes_nothing(leaked, store):
    folder, live, forged = leaked
    data = cli(
        "scan", "--json", "--store", store, ".", secret=SECRET, cwd=folder, hidden=(live, forged)
    ).json()
    assert data["revoke"] is False and data["summary"]["revoked"] == 0
    assert data["summary"]["by_status"]["revoked"] == 0
    assert all(f["revocation"] is None for f in data["findings"])
    assert listed(store) == []


# ── info, demo ──────────────────────────────────────────────────────────────────────────────


def test_info_shows_the_store(store):
    assert cli("revoke", "--store", store, "--id", "abc").code == 0
    result = cli("info", env={"APIKEE_STORE": store})
    assert result.code == 0
    assert f"store           {store} (from APIKEE_STORE)" in result.out
    assert "sqlite: healthy, 1 entry" in result.out
    data = cli("info", "--json", "--store", store).json()
    assert data["store"]["kind"] == "sqlite" and data["store"]["url"] == store
    assert data["store"]["healthy"] is True and data["store"]["entries"] == 1
    assert data["store"]["source"] == "--store"
    assert "store" not in cli("info", "--json").json()  # the shape without a store is unchanged
    assert "store           none" in cli("info").out


def test_demo_revokes_a_key_in_a_temporary_store(tmp_path, store):
    env = {"TMPDIR": str(tmp_path), "APIKEE_STORE": store}  # the demo must ignore the latter
    result = cli(env=env)
    assert result.code == 0, result.err
    assert "8. Revoking a key" in result.out
    assert "apikee.verify(key)                           -> valid (tenant acme-corp)" in result.out
    assert "-> ApikeeError REVOKED: the key has been revoked" in result.out
    data = cli("--json", env=env).json()
    revocation = data["revocation"]
    assert revocation["before"]["valid"] is True
    assert revocation["after"]["error"] == "REVOKED"
    assert revocation["another_verifier"]["error"] == "REVOKED"
    assert revocation["revoked"]["kind"] == "id"
    assert not list(tmp_path.glob("apikee-demo-*"))  # the temporary folder is gone
    assert not (tmp_path / "revocations.db").exists()  # APIKEE_STORE was not touched
    assert json.dumps(data).count("REVOKED") == 2
