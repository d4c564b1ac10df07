"""``apikee usage`` reads the real SQLite file and a real Redis that a usage-enabled Apikee
flushed to: uses, last used, revoked state; a table by default, ``--json``; no key shown."""

from __future__ import annotations

import pytest
from store_fixtures import redis_server  # noqa: F401 (fixture)
from support import SECRET, run_cli

from apikee import Apikee


def _populate(url: str, impl: str) -> tuple[str, str]:
    apikee = Apikee(secret=SECRET, implementation=impl, store=url, usage=True)
    acme, beta = apikee.create("acme"), apikee.create("beta")
    for key in (acme, acme, acme, beta):
        apikee.verify(key)
    apikee.revoke(beta)
    apikee.close()  # the last flush
    return acme, beta


def _check(url: str, impl: str) -> None:
    acme, beta = _populate(url, impl)
    table = run_cli("usage", "--store", url, impl=impl, hidden=(acme, beta))
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0].split() == ["KEY", "ID", "TENANT", "USES", "LAST", "USED", "REVOKED"]
    rows = {line.split()[1]: line.split() for line in lines[1:-1]}
    assert rows["acme"][2] == "3" and rows["acme"][4] == "no"
    assert rows["beta"][2] == "1" and rows["beta"][4] == "yes"
    one = run_cli("usage", "--store", url, "--key", "-", "--json", stdin=acme, impl=impl)
    data = one.json()
    assert data["count"] == 1 and data["keys"][0]["tenant"] == "acme"
    assert data["keys"][0]["uses"] == 3 and data["keys"][0]["revoked"] is False
    by_id = run_cli("usage", "--store", url, "--id", data["keys"][0]["id"], "--json", impl=impl)
    assert by_id.json()["keys"] == data["keys"]
    beta_only = run_cli("usage", "--store", url, "--tenant", "beta", "--json", impl=impl)
    assert [k["tenant"] for k in beta_only.json()["keys"]] == ["beta"]


def test_usage_sqlite(tmp_path, impl):
    _check(f"sqlite://{tmp_path}/apikee.db", impl)


def test_usage_redis(redis_server, impl):  # noqa: F811
    _check(redis_server.url, impl)


def test_usage_needs_a_store(tmp_path):
    result = run_cli("usage")
    assert result.code == 2 and "store" in result.err


@pytest.mark.parametrize("bad", ["--key", "--id"])
def test_usage_bad_key(tmp_path, bad):
    result = run_cli("usage", "--store", f"sqlite://{tmp_path}/a.db", bad, "apikee_!!")
    assert result.code == 2
