"""Usage counting and last-used (Apikee(usage=...)), on both implementations, with real stores.

Counts per outcome code, per tenant with a cap, last-used flushed to memory, the real SQLite
file and a real Redis within the flush interval (bounded waits), rejection log lines that are
rate-limited and never carry the key or the secret.
"""

from __future__ import annotations

import logging
import sqlite3

import pytest
from store_fixtures import redis_server, sqlite_url, wait_for  # noqa: F401 (fixtures)
from support import OTHER_SECRET, PAST, SECRET

from apikee import ApikeeError, ErrorCode
from apikee._usage import Usage


def attempt(apikee, key, **options) -> str:
    try:
        apikee.verify(key, **options)
    except ApikeeError as exc:
        return exc.code
    return "VALID"


def test_off_by_default(make_apikee):
    apikee = make_apikee(secret=SECRET)
    assert apikee.usage is None
    assert apikee.verify == apikee._verifier.verify  # the default path is untouched
    with pytest.raises(Exception, match="usage is off"):
        apikee.last_used("abc")


def test_counts_per_code(make_apikee):
    apikee = make_apikee(secret=SECRET, usage=True, environment="production")
    other = make_apikee(secret=OTHER_SECRET)
    good = apikee.create("acme", scopes=["read"])
    expired = apikee.create("acme", expires_in=PAST)
    forged = other.create("acme")
    staging = apikee.create("acme", environment="staging")
    sent = ["VALID"] * 5 + ["EXPIRED"] * 3 + ["INVALID_SIGNATURE"] * 2 + ["WRONG_ENVIRONMENT"]
    keys = {"VALID": good, "EXPIRED": expired, "INVALID_SIGNATURE": forged}
    keys["WRONG_ENVIRONMENT"] = staging
    for code in sent:
        assert attempt(apikee, keys[code]) == code
    assert attempt(apikee, good, scopes=["write"]) == ErrorCode.INSUFFICIENT_SCOPE
    assert attempt(apikee, "apikee_nonsense") != "VALID"
    codes = apikee.usage.snapshot()["codes"]
    assert codes["VALID"] == 5 and codes["EXPIRED"] == 3 and codes["INVALID_SIGNATURE"] == 2
    assert codes["WRONG_ENVIRONMENT"] == 1 and codes["INSUFFICIENT_SCOPE"] == 1
    assert apikee.usage.snapshot()["total"] == len(sent) + 2
    apikee.close()


def test_rate_limited_and_ip_moved_from_valid(make_apikee):
    apikee = make_apikee(secret=SECRET, usage=Usage(per_tenant=True))
    key = apikee.create("acme", rate_limit="2/m", allow_ips=["10.0.0.0/8"])
    outcomes = []
    for address in ["10.0.0.1", "10.0.0.1", "10.0.0.1", "192.168.0.1"]:
        claims = apikee.verify(key)
        try:
            apikee.enforce(claims, client_ip=address)
            outcomes.append("VALID")
        except ApikeeError as exc:
            outcomes.append(exc.code)
    assert outcomes == ["VALID", "VALID", "RATE_LIMITED", "IP_NOT_ALLOWED"]
    snap = apikee.usage.snapshot()
    assert snap["codes"]["VALID"] == 2 and snap["codes"]["RATE_LIMITED"] == 1
    assert snap["codes"]["IP_NOT_ALLOWED"] == 1
    assert snap["tenants"]["acme"] == {"VALID": 2, "RATE_LIMITED": 1, "IP_NOT_ALLOWED": 1}
    apikee.close()


def test_tenant_cap_bounds_memory(make_apikee):
    usage = Usage(per_tenant=True, max_tenants=50)
    apikee = make_apikee(secret=SECRET, usage=usage)
    forger = make_apikee(secret=OTHER_SECRET)
    for i in range(10_000):
        apikee.verify(apikee.create(f"tenant-{i}", expires_in=None))
        attempt(apikee, forger.create(f"forged-{i}", expires_in=None))
    snap = usage.snapshot()
    assert len(usage.tenants) <= 51  # the cap, plus the other bucket
    assert not any(t.startswith("forged-") for t in snap["tenants"])  # forged: no tenant
    assert snap["tenants"]["other"]["VALID"] == 10_000 - 50
    assert snap["codes"]["INVALID_SIGNATURE"] == 10_000
    apikee.close()


def test_rejection_lines_rate_limited_and_secret_free(make_apikee, caplog):
    usage = Usage(log_level=logging.WARNING, log_rate=5)
    apikee = make_apikee(secret=SECRET, usage=usage)
    forger = make_apikee(secret=OTHER_SECRET)
    bad = forger.create("evil")
    expired = apikee.create("acme", expires_in=PAST)
    with caplog.at_level(logging.WARNING, logger="apikee.usage"):
        attempt(apikee, expired)
        for _ in range(1000):
            attempt(apikee, bad)
    lines = [r.getMessage() for r in caplog.records if r.name == "apikee.usage"]
    assert 1 <= len(lines) <= 10  # at most log_rate per second (the test runs ~1 s at most)
    assert "code=EXPIRED tenant=acme" in lines[0]
    assert all("INVALID_SIGNATURE" in line and "tenant=-" in line for line in lines[1:])
    text = "\n".join(lines) + repr(usage.snapshot())
    for secret in (bad, expired, SECRET, OTHER_SECRET, bad[7:40], expired.split(".")[1]):
        assert secret not in text
    apikee.close()


def _check_last_used(apikee, key, other_key):
    assert apikee.last_used(key) is None
    for _ in range(3):
        apikee.verify(key)
    claims = apikee.verify(other_key)
    # last_used first: once it shows the key, pending_keys == 0 means the flush has written it
    # (read the other way round, pending could be 0 only because the flush had not started).
    assert wait_for(lambda: apikee.last_used(key) and apikee.usage.snapshot()["pending_keys"] == 0)
    found = apikee.key_usage(key)
    assert found.tenant == "acme" and found.uses == 3
    assert apikee.key_usage(claims.id).tenant == "beta"


def test_last_used_memory(make_apikee):
    apikee = make_apikee(secret=SECRET, store="memory://", usage=Usage(flush_interval=0.05))
    _check_last_used(apikee, apikee.create("acme"), apikee.create("beta"))
    apikee.close()


def test_last_used_without_store(make_apikee):
    apikee = make_apikee(secret=SECRET, usage=Usage(flush_interval=0.05))
    _check_last_used(apikee, apikee.create("acme"), apikee.create("beta"))
    apikee.close()


def test_last_used_sqlite_file(make_apikee, sqlite_url):  # noqa: F811
    apikee = make_apikee(secret=SECRET, store=sqlite_url, usage=Usage(flush_interval=0.05))
    key = apikee.create("acme")
    _check_last_used(apikee, key, apikee.create("beta"))
    path = sqlite_url[len("sqlite://") :]
    with sqlite3.connect(path) as conn:
        rows = dict(conn.execute("SELECT id, uses FROM apikee_last_used").fetchall())
    assert rows[apikee.verify(key).id] >= 3
    # another process's Apikee on the same file reads it
    reader = make_apikee(secret=SECRET, store=sqlite_url, usage=True)
    assert reader.key_usage(key).uses >= 3
    reader.close()
    apikee.close()


def test_last_used_redis(make_apikee, redis_server):  # noqa: F811
    url = redis_server.url
    apikee = make_apikee(secret=SECRET, store=url, usage=Usage(flush_interval=0.05))
    key = apikee.create("acme")
    _check_last_used(apikee, key, apikee.create("beta"))
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    assert client.hget("{apikee}:usage:uses", apikee.verify(key).id) == "3"
    reader = make_apikee(secret=SECRET, store=url, usage=True)
    assert reader.key_usage(key).tenant == "acme"
    reader.close()
    apikee.close()


def test_store_outage_keeps_rows(make_apikee, redis_server):  # noqa: F811
    apikee = make_apikee(secret=SECRET, store=redis_server.url, usage=Usage(flush_interval=3600))
    key = apikee.create("acme")
    apikee.verify(key)
    redis_server.pause()
    try:
        assert apikee.usage.flush() == 0
        assert apikee.usage.snapshot()["pending_keys"] == 1
        assert "password" not in (apikee.usage.snapshot()["last_error"] or "")
    finally:
        redis_server.resume()
    assert apikee.usage.flush() == 1
    assert apikee.key_usage(key).uses == 1
    apikee.close()


# A pre-fork server forks a process that has threads: that is the case under test.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_worker_flushes_its_own(make_apikee, sqlite_url):  # noqa: F811
    import os

    apikee = make_apikee(secret=SECRET, store=sqlite_url, usage=Usage(flush_interval=0.05))
    parent_key, child_key = apikee.create("parent"), apikee.create("child")
    apikee.verify(parent_key)  # not flushed yet when the worker forks
    pid = os.fork()
    if pid == 0:  # the worker: its own flush thread writes its own key, not the parent's rows
        try:
            apikee.verify(child_key)
            ok = wait_for(
                lambda: (
                    apikee.key_usage(child_key) is not None
                    and apikee.usage.snapshot()["pending_keys"] == 0
                ),
                timeout=10,
            )
            if not ok:
                print(apikee.usage.snapshot(), flush=True)
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert wait_for(lambda: apikee.key_usage(parent_key) is not None)
    assert apikee.key_usage(child_key).uses == 1
    assert apikee.key_usage(parent_key).uses == 1  # written once, by the parent
    apikee.close()


def test_flask_counts_missing_and_limited(make_apikee):
    from flask import Flask

    from apikee.flask import init_apikee

    apikee = make_apikee(secret=SECRET, usage=True)
    app = Flask(__name__)
    init_apikee(app, apikee=apikee)

    @app.get("/data")
    def data():
        return {"ok": True}

    key = apikee.create("acme", rate_limit="1/m")
    client = app.test_client()
    statuses = [client.get("/data").status_code]
    statuses += [client.get("/data", headers={"x-api-key": key}).status_code for _ in range(3)]
    assert statuses == [401, 200, 429, 429]
    codes = apikee.usage.snapshot()["codes"]
    assert codes["MISSING_KEY"] == 1 and codes["VALID"] == 1 and codes["RATE_LIMITED"] == 2
    apikee.close()


def test_the_twins_count_alike():
    from apikee import Apikee

    def run(impl):
        apikee = Apikee(secret=SECRET, implementation=impl, usage=Usage(per_tenant=True))
        forger = Apikee(secret=OTHER_SECRET, implementation=impl)
        keys = [
            apikee.create(f"t{i % 7}", expires_in=PAST if i % 5 == 0 else None) for i in range(60)
        ]
        keys += [forger.create("x") for _ in range(5)] + ["apikee_", "junk", ""]
        for i, key in enumerate(keys * 3):
            attempt(apikee, key, now=1.7e9 + i)
        snap = apikee.usage.snapshot()
        seen = apikee._gate.take_seen()
        apikee.close()
        return snap["codes"], snap["tenants"], sorted(v[1:] for v in seen.values())

    assert run("native") == run("pure")


def test_counts_exact_across_threads(make_apikee):
    import threading

    apikee = make_apikee(secret=SECRET, usage=Usage(per_tenant=True, flush_interval=0.01))
    keys = [apikee.create(f"t{i}") for i in range(8)]
    bad = keys[0][:-2] + ("AA" if not keys[0].endswith("AA") else "BB")

    def work(n):
        for i in range(2000):
            apikee.verify(keys[(n + i) % 8])
            attempt(apikee, bad)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    apikee.usage.flush()
    snap = apikee.usage.snapshot()
    assert snap["codes"]["VALID"] == 8000
    assert sum(c for code, c in snap["codes"].items() if code != "VALID") == 8000
    assert sum(t["VALID"] for t in snap["tenants"].values()) == 8000
    assert sum(apikee.key_usage(k).uses for k in keys) == 8000
    apikee.close()
