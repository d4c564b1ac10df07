"""Rate limits and IP allow lists (docs/SPEC.md section 8): the policy claims, the GCRA limiter
twins (compared with each other), the shared stores, and the integrations' 429/403 answers.

The real-server tests (uvicorn, werkzeug, two workers on one Redis, Redis killed mid-run) are
in ``tests/test_limits_servers.py``.
"""

from __future__ import annotations

import json
import random
import threading
import time
import warnings

import httpx
import pytest
from support import SECRET, signed_key

from apikee import ApikeeConfigError, ApikeeError, RateLimit, RateLimitExceeded
from apikee._limiter import load_limiter
from apikee._policy import (
    IPMatcher,
    TrustedProxies,
    client_address,
    parse_ips,
    parse_limits,
    parse_window,
    rate_headers,
)

NOW = 1_800_000_000.25


def limited(make_apikee, **options):
    options.setdefault("max_key_length", 2**20)
    return make_apikee(secret=SECRET, **options)


# ── the policy as users write it ───────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1), ("s", 1), ("5m", 300), ("h", 3600), ("1d", 86400), ("1w", 604800)]
    + [("month", 2592000), ("1mo", 2592000), ("30d", 2592000), (" 2 h ", 7200), (60, 60)],
)
def test_windows(text, seconds) -> None:
    assert parse_window(text) == seconds


@pytest.mark.parametrize(
    "bad", ["0s", "31d", "2mo", "1y", "", "-1s", "1.5s", 0, -5, 10**20, 2.0, True, None, "1 s s"]
)
def test_bad_windows_are_clear_errors(bad) -> None:
    with pytest.raises(ValueError, match="window"):
        parse_window(bad)


def test_limit_grammar() -> None:
    assert parse_limits("10/s") == (RateLimit(10, 1),)
    assert parse_limits("10/s, 100000/month") == (RateLimit(10, 1), RateLimit(100000, 2592000))
    assert parse_limits(["10/1s burst 20"]) == (RateLimit(10, 1, 20),)
    assert parse_limits({"limit": 5, "window": "1m"}) == (RateLimit(5, 60),)
    assert parse_limits("unlimited") == ()
    assert parse_limits(None) is None
    assert str(RateLimit(100, "month", burst=10)) == "100/30d burst 10"
    assert RateLimit(5, "1m").wire() == [5, 60]
    assert RateLimit(5, "1m", burst=9).wire() == [5, 60, 9]


@pytest.mark.parametrize(
    "bad",
    [
        "10",
        "ten/s",
        "10/s burst",
        "0/s",
        f"{10**10}/s",
        "10/0s",
        "10/1y",
        [],
        ["10/s"] * 9,
        5,
        {"limit": 5},
        {"limit": 5, "window": "1s", "extra": 1},
    ],
)
def test_bad_limits_are_clear_value_errors(bad) -> None:
    with pytest.raises((ValueError, AttributeError)):
        parse_limits(bad)


def test_create_writes_the_policy_and_refuses_bad_ones(make_apikee) -> None:
    apikee = limited(make_apikee)
    key = apikee.create("acme", rate_limit=["10/s", "100000/month"], allow_ips=["10.0.0.0/8"])
    wire = apikee.verify(key).to_dict()
    assert wire["rl"] == [[10, 1], [100000, 2592000]]
    assert wire["ip"] == ["10.0.0.0/8"]
    assert list(wire)[-2:] == ["rl", "ip"]
    assert "rl" not in apikee.verify(apikee.create("acme")).to_dict()
    for bad in ("10/x", "0/s", ["1/s"] * 9, 10):
        with pytest.raises(ValueError):
            apikee.create("acme", rate_limit=bad)
    for bad in (["10.0.0.1/8"], ["nope"], [], ["1.2.3.4"] * 1001, [5]):
        with pytest.raises(ValueError):
            apikee.create("acme", allow_ips=bad)
    with pytest.raises(ValueError, match="not both"):
        apikee.create("acme", allow_ips=["1.2.3.4"], ip_whitelist=["1.2.3.4"])


def test_config_errors(make_apikee) -> None:
    for options in (
        {"rate_limit": "10/x"},
        {"tenant_limits": {"acme": "0/s"}},
        {"tenant_limits": ["acme"]},
        {"trusted_proxies": ["not-an-ip"]},
        {"trusted_proxies": "10.0.0.1/8"},
    ):
        with pytest.raises(ApikeeConfigError):
            limited(make_apikee, **options)


# ── malformed policies at verify: INVALID_CLAIMS, both twins alike ─────────────────────────

HOSTILE_RL = [
    "10/s",
    {"n": 1},
    [],  # valid: explicitly unlimited (tested below)
    [[0, 1]],
    [[1, 0]],
    [[-1, 1]],
    [[1, 2592001]],
    [[10**9 + 1, 1]],
    [[10**30, 1]],
    [[1, 1, 0]],
    [[1.0, 1]],
    [[True, 1]],
    [[1]],
    [[1, 1, 1, 1]],
    [["1", 1]],
    [[1, 1]] * 9,
    None,
]
HOSTILE_IP = [
    "10.0.0.0/8",
    [],
    ["10.0.0.1/8"],
    ["999.1.1.1"],
    [5],
    [None],
    ["a" * 100],
    ["1.2.3.4"] * 1001,
    {"a": 1},
    None,
]


def _payload(**claims) -> bytes:
    base = {"id": "k1", "tid": "acme", "scp": [], "env": "production"}
    base.update(claims)
    return json.dumps(base, separators=(",", ":")).encode()


@pytest.mark.parametrize("value", HOSTILE_RL, ids=repr)
def test_malformed_rate_claims_are_invalid_claims(make_apikee, core, value) -> None:
    apikee = limited(make_apikee)
    key = signed_key(core, _payload(rl=value))
    if value == []:
        assert apikee.check_rate_limit(apikee.verify(key)) is None
        return
    with pytest.raises(ApikeeError) as info:
        apikee.verify(key)
    assert info.value.code == "INVALID_CLAIMS"
    assert "'rl'" in info.value.message


@pytest.mark.parametrize("value", HOSTILE_IP, ids=lambda v: repr(v)[:40])
def test_malformed_ip_claims_are_invalid_claims(make_apikee, core, value) -> None:
    apikee = limited(make_apikee)
    with pytest.raises(ApikeeError) as info:
        apikee.verify(signed_key(core, _payload(ip=value)))
    assert info.value.code == "INVALID_CLAIMS"
    assert "'ip'" in info.value.message


def test_both_twins_give_the_same_errors(core) -> None:
    from apikee import Apikee

    twins = [
        Apikee(secret=SECRET, implementation=name, max_key_length=2**20)
        for name in ("native", "pure")
    ]
    for claims in [{"rl": v} for v in HOSTILE_RL] + [{"ip": v} for v in HOSTILE_IP]:
        key = signed_key(core, _payload(**claims))
        outcomes = []
        for apikee in twins:
            try:
                apikee.verify(key)
                outcomes.append("valid")
            except ApikeeError as exc:
                outcomes.append((exc.code, exc.message))
        assert outcomes[0] == outcomes[1], claims


def test_ten_thousand_cidrs_are_refused_cheaply(make_apikee, core) -> None:
    apikee = make_apikee(secret=SECRET, max_key_length=2**20)
    ranges = [f"10.{i // 256}.{i % 256}.0/24" for i in range(10_000)]
    key = signed_key(core, _payload(ip=ranges))
    started = time.perf_counter()
    with pytest.raises(ApikeeError) as info:
        apikee.verify(key)
    assert info.value.code == "INVALID_CLAIMS"
    assert time.perf_counter() - started < 5  # refused by its length, not by parsing 10,000
    with pytest.raises(ValueError, match="1 to 1000"):
        apikee.create("acme", allow_ips=ranges)


def test_a_thousand_ranges_work(make_apikee) -> None:
    apikee = make_apikee(secret=SECRET, max_key_length=2**16)
    ranges = [f"10.{i // 256}.{i % 256}.0/24" for i in range(1000)]
    claims = apikee.verify(apikee.create("acme", allow_ips=ranges))
    apikee.check_ip(claims, "10.3.231.7")
    with pytest.raises(ApikeeError, match="IP_NOT_ALLOWED"):
        apikee.check_ip(claims, "10.3.232.7")


# ── the limiter: semantics, the twins compared, memory, threads ───────────────────────────


def test_gcra_admits_the_burst_then_one_per_interval(make_apikee) -> None:
    apikee = limited(make_apikee)
    claims = apikee.verify(apikee.create("acme", rate_limit="5/s"))
    decisions = [apikee.check_rate_limit(claims, now=NOW) for _ in range(7)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0, 0]
    assert decisions[5].retry_after == pytest.approx(0.2, abs=1e-5)
    assert decisions[0].limit == 5 and decisions[0].window == 1
    assert apikee.check_rate_limit(claims, now=NOW + 0.2).allowed
    assert not apikee.check_rate_limit(claims, now=NOW + 0.2).allowed
    assert apikee.check_rate_limit(claims, now=NOW + 10).remaining == 4  # idle = fresh


def test_cost_burst_and_several_limits(make_apikee) -> None:
    apikee = limited(make_apikee)
    claims = apikee.verify(apikee.create("acme", rate_limit=["10/s burst 4", "20/m"]))
    assert apikee.check_rate_limit(claims, cost=4, now=NOW).allowed
    assert not apikee.check_rate_limit(claims, cost=1, now=NOW).allowed
    refused = apikee.check_rate_limit(claims, cost=5, now=NOW + 100)  # more than the burst
    assert not refused.allowed and refused.retry_after == 1
    assert apikee.check_rate_limit(claims, cost=0, now=NOW).allowed  # free: headers only
    t = NOW + 1000
    admitted = sum(apikee.check_rate_limit(claims, now=t + i * 0.1).allowed for i in range(300))
    assert admitted <= 20 + 30 * 20 / 60 + 1  # the minute limit binds: burst + rate * period


def test_defaults_and_tenant_overrides(make_apikee) -> None:
    apikee = limited(
        make_apikee, rate_limit="2/m", tenant_limits={"vip": "unlimited", "slow": "1/h"}
    )
    own = apikee.verify(apikee.create("acme", rate_limit="3/m"))
    default = apikee.verify(apikee.create("acme"))
    vip = apikee.verify(apikee.create("vip", rate_limit="1/m"))
    slow = apikee.verify(apikee.create("slow", rate_limit="100/s"))
    free = apikee.verify(apikee.create("acme", rate_limit="unlimited"))
    assert apikee.check_rate_limit(own, now=NOW).limit == 3
    assert apikee.check_rate_limit(default, now=NOW).limit == 2
    assert apikee.check_rate_limit(vip, now=NOW) is None
    assert apikee.check_rate_limit(slow, now=NOW).window == 3600
    assert apikee.check_rate_limit(free, now=NOW) is None


def _twin_run(name: str, seed: int) -> list:
    module = load_limiter(name)
    rng = random.Random(seed)
    plans = [
        module.Plan([(5, 1, 5)], ["a"], "h"),
        module.Plan([(10, 1, 3), (100, 60, 100)], ["a", "b"], "h"),
        module.Plan([(1, 2592000, 1000)], ["m"], "h"),
    ]
    limiter = module.LocalLimiter(max_keys=8)
    t = NOW
    out = []
    for _ in range(3000):
        t += rng.choice([0, 0, 0.001, 0.05, 0.2, 1.5])
        d = limiter.check(
            f"k{rng.randrange(12)}", rng.choice(plans), rng.choice([0, 1, 1, 2, 7]), t
        )
        out.append((d.allowed, d.limit, d.remaining, d.reset, d.retry_after, d.window, d.burst))
    return out


@pytest.mark.native
@pytest.mark.parametrize("seed", range(4))
def test_the_twins_decide_alike(seed) -> None:
    assert _twin_run("native", seed) == _twin_run("pure", seed)


@pytest.mark.native
def test_decide_is_shared_by_the_twins() -> None:
    rng = random.Random(1)
    native, pure = load_limiter("native"), load_limiter("pure")
    for _ in range(2000):
        limits = [
            (rng.randint(1, 10**9), rng.randint(1, 2592000), rng.randint(1, 10**9))
            for _ in range(rng.randint(1, 8))
        ]
        levels = [rng.choice([0.0, rng.uniform(0, 10**6)]) for _ in limits]
        stamp = NOW - rng.choice([0.0, 1.0, 1e5, -3.0])
        cost = rng.choice([0, 1, 3, 10**9])
        names = [str(i) for i in range(len(limits))]
        a, na = native.decide(native.Plan(limits, names, "h"), levels, stamp, cost, NOW)
        b, nb = pure.decide(pure.Plan(limits, names, "h"), levels, stamp, cost, NOW)
        assert (a.allowed, a.limit, a.remaining, a.reset, a.retry_after, a.name) == (
            b.allowed,
            b.limit,
            b.remaining,
            b.reset,
            b.retry_after,
            b.name,
        )
        assert na == nb


def test_memory_is_bounded(impl) -> None:
    module = load_limiter(impl)
    limiter = module.LocalLimiter(max_keys=1000)
    plan = module.Plan([(1, 1, 1)], ["a"], "h")
    for i in range(20_000):
        limiter.check(f"key-{i}", plan, 1, NOW + i * 0.01)
    assert len(limiter) <= 1000


def test_threads_never_over_admit(make_apikee) -> None:
    apikee = limited(make_apikee)
    claims = apikee.verify(apikee.create("acme", rate_limit="500/h"))
    admitted = []

    def worker() -> None:
        count = 0
        for _ in range(400):
            count += apikee.check_rate_limit(claims, now=NOW).allowed
        admitted.append(count)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(admitted) == 500


def test_limiter_argument_errors(impl) -> None:
    module = load_limiter(impl)
    limiter = module.LocalLimiter()
    plan = module.Plan([(1, 1, 1)], ["a"], "h")
    for bucket, cost in (("b", -1), ("b", 10**10), ("b", 1.5), (b"b", 1)):
        with pytest.raises((TypeError, ValueError)):
            limiter.check(bucket, plan, cost)
    for limits in ([], [(0, 1, 1)], [(1, 1, 1)] * 9):
        with pytest.raises(ValueError):
            module.Plan(limits, ["a"] * len(limits), "h")


# ── IP addresses and proxies ───────────────────────────────────────────────────────────────


def test_ip_matching() -> None:
    matcher = IPMatcher(parse_ips(["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]))
    for address in ("10.1.2.3", "192.0.2.7", "2001:db8::1", "::ffff:10.9.9.9", "2001:db8::1%eth0"):
        assert matcher.allows(address), address
    for address in ("11.0.0.1", "192.0.2.8", "2001:db9::1", None, "", "junk", "10.0.0.1:80"):
        assert not matcher.allows(address), address


def test_forwarded_headers_only_from_trusted_proxies() -> None:
    trusted = TrustedProxies(["10.0.0.0/8"])
    assert client_address("203.0.113.9", ["1.2.3.4"], [], trusted) == "203.0.113.9"
    assert client_address("203.0.113.9", ["1.2.3.4"], [], None) == "203.0.113.9"
    assert client_address("10.0.0.2", ["1.2.3.4"], [], None) == "10.0.0.2"
    assert client_address("10.0.0.2", ["6.6.6.6, 1.2.3.4, 10.0.0.5"], [], trusted) == "1.2.3.4"
    assert client_address("10.0.0.2", ["6.6.6.6", "1.2.3.4"], [], trusted) == "1.2.3.4"
    assert client_address("10.0.0.2", [], ['for="[2001:db8::1]:80", for=10.0.0.7'], trusted) == (
        "2001:db8::1"
    )
    assert client_address("10.0.0.2", [], ["for=192.0.2.1:4711;proto=https"], trusted) == (
        "192.0.2.1"
    )
    assert client_address("10.0.0.2", ["unknown"], [], trusted) is None
    assert client_address("10.0.0.2", [], [], trusted) == "10.0.0.2"


def test_rate_headers() -> None:
    module = load_limiter("pure")
    plan = module.Plan([(100, 60, 100)], ["100/1m"], '"100/1m";q=100;w=60')
    decision = module.LocalLimiter().check("b", plan, 1, NOW)
    assert rate_headers(decision) == [
        ("ratelimit-policy", '"100/1m";q=100;w=60'),
        ("ratelimit", '"100/1m";r=99;t=1'),
    ]


# ── the integrations: 429 and 403 with their headers ──────────────────────────────────────


def asgi_client(apikee, client=("127.0.0.1", 5000), **options):
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from apikee.asgi import ApikeeMiddleware

    async def data(request):
        return JSONResponse({"tenant": request.state.apikee.tenant})

    app = Starlette(
        routes=[Route("/data", data), Route("/search", data)],
        middleware=[Middleware(ApikeeMiddleware, apikee=apikee, **options)],
    )
    with warnings.catch_warnings():  # newer Starlette prefers httpx2; httpx still works
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    return TestClient(app, client=client, base_url="http://t")


def wsgi_client(apikee, remote="127.0.0.1", flask=False, **options):
    from flask import Flask

    from apikee.flask import get_claims, init_apikee
    from apikee.wsgi import ApikeeWSGIMiddleware

    app = Flask(__name__)

    @app.get("/data")
    @app.get("/search")
    def data():
        return {"tenant": get_claims().tenant} if flask else {"ok": True}

    if flask:
        init_apikee(app, apikee=apikee, **options)
        wsgi = app
    else:
        wsgi = ApikeeWSGIMiddleware(app.wsgi_app, apikee=apikee, **options)
    transport = httpx.WSGITransport(app=wsgi, remote_addr=remote)
    return httpx.Client(transport=transport, base_url="http://t")


CLIENTS = {
    "asgi": lambda apikee, peer, **o: asgi_client(apikee, (peer, 5000), **o),
    "wsgi": lambda apikee, peer, **o: wsgi_client(apikee, peer, **o),
    "flask": lambda apikee, peer, **o: wsgi_client(apikee, peer, flask=True, **o),
}


@pytest.mark.parametrize("kind", list(CLIENTS))
def test_http_rate_limited(make_apikee, kind) -> None:
    apikee = limited(make_apikee)
    key = apikee.create("acme", rate_limit="3/m")
    with CLIENTS[kind](apikee, "127.0.0.1", costs={"/search": 2}) as client:
        answers = [client.get("/data", headers={"x-api-key": key}) for _ in range(5)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
        assert answers[0].headers["ratelimit-policy"] == '"3/1m";q=3;w=60'
        assert answers[0].headers["ratelimit"] == '"3/1m";r=2;t=20'
        assert answers[2].headers["ratelimit"] == '"3/1m";r=0;t=60'
        refused = answers[3]
        assert refused.json()["error"] == "RATE_LIMITED"
        assert set(refused.json()) == {"error", "message"}
        assert refused.headers["retry-after"] == "20"
        assert refused.headers["ratelimit"].startswith('"3/1m";r=0;')
        assert refused.headers["content-type"] == "application/json"
        other = apikee.create("acme", rate_limit="3/m")
        assert client.get("/search", headers={"x-api-key": other}).status_code == 200
        assert client.get("/search", headers={"x-api-key": other}).status_code == 429  # 2+2 > 3
        plain = apikee.create("acme")
        answer = client.get("/data", headers={"x-api-key": plain})
        assert answer.status_code == 200 and "ratelimit" not in answer.headers


@pytest.mark.parametrize("kind", list(CLIENTS))
def test_http_ip_allow_list(make_apikee, kind) -> None:
    apikee = limited(make_apikee)
    key = apikee.create("acme", allow_ips=["192.0.2.0/24"])
    spoof = {"x-api-key": key, "x-forwarded-for": "192.0.2.5", "forwarded": "for=192.0.2.5"}
    with CLIENTS[kind](apikee, "192.0.2.10") as client:
        assert client.get("/data", headers={"x-api-key": key}).status_code == 200
    with CLIENTS[kind](apikee, "198.51.100.1") as client:
        refused = client.get("/data", headers={"x-api-key": key})
        assert refused.status_code == 403
        assert refused.json()["error"] == "IP_NOT_ALLOWED"
        assert client.get("/data", headers=spoof).status_code == 403  # untrusted peer
    behind_proxy = limited(make_apikee, trusted_proxies=["10.0.0.0/8"])
    with CLIENTS[kind](behind_proxy, "10.1.1.1") as client:
        assert client.get("/data", headers=spoof).status_code == 200
        chain = {"x-api-key": key, "x-forwarded-for": "192.0.2.5, 203.0.113.1"}
        assert client.get("/data", headers=chain).status_code == 403  # rightmost untrusted


def test_fastapi_rate_limited(make_apikee) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from apikee.fastapi import ApikeeDepends, SecuredFastAPI

    apikee = limited(make_apikee)
    app = SecuredFastAPI(apikee=apikee)

    @app.get("/data")
    async def data(claims=ApikeeDepends()):
        return {"tenant": claims.tenant}

    key = apikee.create("acme", rate_limit="1/m")
    with TestClient(app) as client:
        assert client.get("/data", headers={"x-api-key": key}).headers["ratelimit"]
        refused = client.get("/data", headers={"x-api-key": key})
        assert refused.status_code == 429 and refused.headers["retry-after"] == "60"


def test_enforce_raises_with_the_decision(make_apikee) -> None:
    apikee = limited(make_apikee)
    claims = apikee.verify(apikee.create("acme", rate_limit="1/m", allow_ips=["127.0.0.1"]))
    assert apikee.enforce(claims, client_ip="127.0.0.1", now=NOW).allowed
    with pytest.raises(RateLimitExceeded) as info:
        apikee.enforce(claims, client_ip="127.0.0.1", now=NOW)
    assert info.value.code == "RATE_LIMITED" and info.value.http_status == 429
    assert info.value.decision.retry_after == pytest.approx(60, abs=1e-5)
    with pytest.raises(ApikeeError) as denied:
        apikee.enforce(claims, client_ip="127.0.0.2", now=NOW)
    assert denied.value.code == "IP_NOT_ALLOWED" and denied.value.http_status == 403


# ── the command line ───────────────────────────────────────────────────────────────────────


def test_cli_create_verify_inspect_show_the_policy(impl) -> None:
    from support import run_cli

    made = run_cli(
        "create",
        "--tenant",
        "acme",
        "--rate-limit",
        "10/s",
        "--rate-limit",
        "100000/month burst 1000",
        "--ip",
        "10.0.0.0/8",
        impl=impl,
        secret=SECRET,
    )
    assert made.code == 0, made.err
    key = made.out.strip()
    checked = run_cli("verify", key, impl=impl, secret=SECRET, hidden=(key,))
    assert "rate limit   10/1s, 100000/30d burst 1000" in checked.out
    assert "allow ips    10.0.0.0/8" in checked.out
    view = run_cli("inspect", "--json", key, impl=impl, hidden=(key,)).json()
    assert view["claims"]["policy"] == {
        "rate_limit": ["10/1s", "100000/30d burst 1000"],
        "allow_ips": ["10.0.0.0/8"],
    }
    bad = run_cli("create", "--tenant", "acme", "--rate-limit", "10/x", impl=impl, secret=SECRET)
    assert bad.code != 0 and "rate limit" in bad.err
    demo = run_cli("demo", "--json", impl=impl).json()
    assert demo["rate_limit"]["fourth"]["error"] == "RATE_LIMITED"
    assert [d["allowed"] for d in demo["rate_limit"]["decisions"]] == [True, True, True, False]
