"""Rate-limit counters in a real redis-server and in SQLite (docs/SPEC.md section 8): the same
decisions as the in-process limiter, shared by every Apikee on the store, and the outage
policy (fail_open decides locally; fail closed answers STORE_UNAVAILABLE; never a hang, never
an exception to the caller)."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
from redis_server import RedisServer
from store_fixtures import redis_server  # noqa: F401  (fixture)
from support import SECRET

from apikee import ApikeeError

NOW = 1_800_000_000.5


def pair(make_apikee, url, **options):
    first = make_apikee(secret=SECRET, store=url, server_timeout=0.5, **options)
    second = make_apikee(secret=SECRET, store=url, server_timeout=0.5, **options)
    return first, second


def shared_url(kind: str, server: RedisServer | None, tmp_path: Path) -> str:
    return server.url if kind == "redis" else f"sqlite://{tmp_path / 'limits.db'}"


@pytest.mark.parametrize("kind", ["redis", "sqlite"])
def test_two_instances_share_the_counters(make_apikee, kind, tmp_path, request) -> None:
    server = request.getfixturevalue("redis_server") if kind == "redis" else None
    first, second = pair(make_apikee, shared_url(kind, server, tmp_path))
    try:
        key = first.create("acme", rate_limit=["5/s", "8/m"])
        a, b = first.verify(key), second.verify(key)
        decisions = [
            (first if i % 2 else second).check_rate_limit(a if i % 2 else b, now=NOW)
            for i in range(7)
        ]
        assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
        assert [d.remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
        assert decisions[5].retry_after == pytest.approx(0.2, abs=1e-5)
        # the same decisions as the in-process limiter gives
        local = make_apikee(secret=SECRET)
        c = local.verify(key)
        expected = [local.check_rate_limit(c, now=NOW) for _ in range(7)]
        assert [(d.allowed, d.remaining, d.limit) for d in decisions] == [
            (d.allowed, d.remaining, d.limit) for d in expected
        ]
        later = first.check_rate_limit(a, now=NOW + 0.2)
        assert later.allowed
        assert first.limiter_status()["kind"] == kind
    finally:
        first.close()
        second.close()


def test_redis_uses_its_own_clock_and_expires_idle_buckets(make_apikee, redis_server) -> None:  # noqa: F811
    apikee = make_apikee(secret=SECRET, store=redis_server.url)
    try:
        claims = apikee.verify(apikee.create("acme", rate_limit="2/s"))
        assert [apikee.check_rate_limit(claims).allowed for _ in range(3)] == [True, True, False]
        import redis

        client = redis.Redis(port=redis_server.port)
        keys = client.keys("{apikee:rl:*")
        assert len(keys) == 1
        assert 0 < client.pttl(keys[0]) <= 2000  # gone once the bucket is idle again
    finally:
        apikee.close()


def _worker(url: str, key: str, count: int, out) -> None:
    from apikee import Apikee

    apikee = Apikee(secret=SECRET, store=url)
    claims = apikee.verify(key)
    out.put(sum(apikee.check_rate_limit(claims).allowed for _ in range(count)))
    apikee.close()


@pytest.mark.parametrize("kind", ["redis", "sqlite"])
def test_processes_admit_at_most_the_limit(make_apikee, kind, tmp_path, request) -> None:
    server = request.getfixturevalue("redis_server") if kind == "redis" else None
    url = shared_url(kind, server, tmp_path)
    issuer = make_apikee(secret=SECRET)
    key = issuer.create("acme", rate_limit="30/h")
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [context.Process(target=_worker, args=(url, key, 40, out)) for _ in range(3)]
    for worker in workers:
        worker.start()
    total = sum(out.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(30)
    assert total == 30  # exact: one atomic decision per request in the store


def test_redis_outage_fails_open_locally(make_apikee, redis_server) -> None:  # noqa: F811
    apikee = make_apikee(secret=SECRET, store=redis_server.url, server_timeout=0.5)
    try:
        claims = apikee.verify(apikee.create("acme", rate_limit="3/m"))
        assert apikee.check_rate_limit(claims).allowed
        redis_server.kill()
        started = time.monotonic()
        decisions = [apikee.check_rate_limit(claims) for _ in range(6)]
        assert time.monotonic() - started < 5  # bounded: never a hang
        # counted locally from a fresh local bucket: 3 more, then refused
        assert [d.allowed for d in decisions] == [True, True, True, False, False, False]
        status = apikee.limiter_status()
        assert status["healthy"] is False and status["failures"] >= 1
    finally:
        apikee.close()


def test_redis_paused_is_bounded_by_server_timeout(make_apikee, redis_server) -> None:  # noqa: F811
    apikee = make_apikee(secret=SECRET, store=redis_server.url, server_timeout=0.3)
    try:
        claims = apikee.verify(apikee.create("acme", rate_limit="100/s"))
        assert apikee.check_rate_limit(claims).allowed
        redis_server.pause()
        slowest = 0.0
        for _ in range(20):
            started = time.monotonic()
            assert apikee.check_rate_limit(claims).allowed
            slowest = max(slowest, time.monotonic() - started)
        assert slowest < 0.3 * 5  # one timeout at most, generous bound
    finally:
        redis_server.resume()
        apikee.close()


def test_redis_outage_fails_closed_with_503(make_apikee, redis_server) -> None:  # noqa: F811
    apikee = make_apikee(secret=SECRET, store=redis_server.url, server_timeout=0.5, fail_open=False)
    try:
        claims = apikee.verify(apikee.create("acme", rate_limit="3/m"))
        redis_server.kill()
        with pytest.raises(ApikeeError) as info:
            apikee.check_rate_limit(claims)
        assert info.value.code == "STORE_UNAVAILABLE" and info.value.http_status == 503
    finally:
        apikee.close()


def test_memory_store_is_the_local_limiter(make_apikee) -> None:
    apikee = make_apikee(secret=SECRET, store="memory://")
    claims = apikee.verify(apikee.create("acme", rate_limit="1/m"))
    assert apikee.check_rate_limit(claims).allowed
    assert not apikee.check_rate_limit(claims).allowed
    assert apikee.limiter_status()["kind"] == "local"
    apikee.close()
