"""Rate limits and IP allow lists: what they cost per request (README "Rate limits and IP
allow lists"; docs/SPEC.md section 8).

    python benchmarks/bench_limits.py           # about a minute
    python benchmarks/bench_limits.py --quick   # seconds; figures are rough

Sections:

1. in-process: ``verify`` alone vs ``verify`` + ``check_rate_limit`` (the limiter on top of
   verify), native and pure, and the ``limits`` package's moving-window and fixed-window
   in-memory strategies deciding the same limit; plus GCRA vs a sliding-window counter written
   the same way in pure Python (the algorithm choice);
2. IP allow list: ``IPMatcher.allows`` with 1 and 1,000 ranges (the address parse is cached);
3. Redis (a redis-server of its own on 127.0.0.1): p50/p99 of one decision (one Lua round
   trip), against ``limits``' Redis moving-window strategy; SQLite: one decision;
4. ASGI: one request through a Starlette app with ApikeeMiddleware and a limited key, vs a
   Starlette app limited by ``slowapi`` (the same limit), in-process (httpx ASGI transport).

Numbers are minima of repeats (in-process) or percentiles (round trips) on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "src"))

from apikee import Apikee  # noqa: E402
from apikee._policy import IPMatcher  # noqa: E402

SECRET = "4283fefc63f0cd0e873a0000c6d07ef7b77e90d3593ad699fc1f7cd5bb2e35cb"
HUGE = "1000000000/s"  # a limit never reached: every decision is a full admission


def best(fn, number: int, repeat: int) -> float:
    """Microseconds per call, minimum of ``repeat`` runs of ``number`` calls, minus the loop."""
    empty = min(timeit.repeat(lambda: None, number=number, repeat=repeat)) / number
    return (min(timeit.repeat(fn, number=number, repeat=repeat)) / number - empty) * 1e6


def in_process(number: int, repeat: int) -> None:
    print("\n1. in-process, µs per request (min of repeats)")
    for impl in ("native", "pure"):
        apikee = Apikee(secret=SECRET, implementation=impl)
        limited = apikee.create("acme", rate_limit=HUGE)
        two = apikee.create("acme", rate_limit=[HUGE, "1000000000/30d"])
        verify, check = apikee.verify, apikee.check_rate_limit
        raw = apikee._verifier.verify  # the twin's verify, without the policy gate
        claims = verify(limited)
        n = number if impl == "native" else number // 20
        cases = {
            "raw": lambda: raw(limited),
            "verify": lambda: verify(limited),
            "one": lambda: check(verify(limited)),
            "two_base": lambda: verify(two),
            "two": lambda: check(verify(two)),
            "alone": lambda: check(claims),
        }
        found = {name: float("inf") for name in cases}
        for _ in range(repeat):  # interleaved, so a noisy neighbour hits every case alike
            for name, fn in cases.items():
                found[name] = min(found[name], best(fn, n, 1))
        print(
            f"  {impl:6}  verify {found['verify']:6.3f} (twin alone {found['raw']:.3f})"
            f"   verify+1 limit {found['one']:6.3f} (+{found['one'] - found['verify']:.3f})"
            f"   verify+2 limits {found['two']:6.3f} (+{found['two'] - found['two_base']:.3f})"
            f"   check alone {found['alone']:.3f}"
        )
    try:
        from limits import parse
        from limits.storage import MemoryStorage
        from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
    except ImportError:
        print("  limits: not installed (pip install limits)")
    else:
        item = parse("1000000000/second")
        storage = MemoryStorage()
        for name, strategy in (
            ("moving window", MovingWindowRateLimiter(storage)),
            ("fixed window", FixedWindowRateLimiter(storage)),
        ):
            hit = strategy.hit
            cost = best(lambda s=hit: s(item, "key-id"), number // 20, repeat)
            print(f"  limits {limits_version()} {name} (memory): {cost:.3f} µs per hit")
    algorithms(number // 20, repeat)


def limits_version() -> str:
    import limits

    return str(limits.__version__)


def algorithms(number: int, repeat: int) -> None:
    """GCRA and a sliding-window counter, both in plain Python with the same structure: the
    state and cost of each, for the written reason of the choice (docs/SPEC.md section 8)."""
    now = [1.8e9]
    gcra_state: dict[str, list[float]] = {}
    swc_state: dict[str, list[float]] = {}
    limit, window = 10**9, 1.0

    def gcra(key: str = "k") -> bool:
        t = now[0]
        cell = gcra_state.get(key)
        if cell is None:
            cell = gcra_state[key] = [0.0, t]
        backlog = max(0.0, cell[0] - (t - cell[1])) + window / limit
        if backlog > window:
            return False
        cell[0], cell[1] = backlog, t
        return True

    def swc(key: str = "k") -> bool:
        t = now[0]
        start = t - t % window
        cell = swc_state.get(key)
        if cell is None:
            cell = swc_state[key] = [start, 0.0, 0.0]
        if cell[0] != start:
            cell[2] = cell[1] if start - cell[0] == window else 0.0
            cell[0], cell[1] = start, 0.0
        estimate = cell[2] * (1 - (t - start) / window) + cell[1]
        if estimate + 1 > limit:
            return False
        cell[1] += 1
        return True

    g = best(gcra, number, repeat)
    s = best(swc, number, repeat)
    print(
        f"  algorithm, plain Python: GCRA {g:.3f} µs (1 float + stamp per limit, exact, idle ="
        f" fresh), sliding-window counter {s:.3f} µs (2 counters + window, approximate)"
    )


def ip_lists(number: int, repeat: int) -> None:
    print("\n2. IP allow list, µs per check (address parse cached)")
    one = IPMatcher(["10.0.0.0/8"])
    many = IPMatcher([f"10.{i // 256}.{i % 256}.0/24" for i in range(1000)])
    v6 = IPMatcher([f"2001:db8:{i:x}::/48" for i in range(1000)])
    for name, matcher, address in (
        ("1 range, hit", one, "10.1.2.3"),
        ("1,000 ranges, hit", many, "10.3.200.9"),
        ("1,000 ranges, miss", many, "11.0.0.1"),
        ("1,000 IPv6 ranges, hit", v6, "2001:db8:3e7::1"),
    ):
        cost = best(lambda m=matcher, a=address: m.allows(a), number // 5, repeat)
        print(f"  {name:24} {cost:.3f}")
    import ipaddress

    parse = best(lambda: ipaddress.ip_address("10.3.200.9"), number // 20, repeat)
    print(f"  (ipaddress.ip_address, uncached: {parse:.3f})")


def percentiles(samples: list[float]) -> str:
    samples.sort()
    p50 = statistics.median(samples) * 1e6
    p99 = samples[int(len(samples) * 0.99) - 1] * 1e6
    return f"p50 {p50:7.1f} µs   p99 {p99:7.1f} µs"


def round_trips(count: int) -> None:
    print("\n3. shared stores, one decision (loopback)")
    try:
        from redis_server import RedisServer
    except ImportError:  # pragma: no cover
        print("  redis: tests/redis_server.py not found")
        return
    with tempfile.TemporaryDirectory() as directory:
        try:
            server = RedisServer(Path(directory) / "redis").start()
        except Exception as exc:  # noqa: BLE001 - a benchmark reports and goes on
            print(f"  redis: skipped ({exc})")
            server = None
        if server is not None:
            try:
                apikee = Apikee(secret=SECRET, store=server.url)
                claims = apikee.verify(apikee.create("acme", rate_limit=HUGE))
                check = apikee.check_rate_limit
                for _ in range(200):
                    check(claims)
                samples = []
                for _ in range(count):
                    started = time.perf_counter()
                    check(claims)
                    samples.append(time.perf_counter() - started)
                print(f"  apikee redis (1 Lua call)      {percentiles(samples)}")
                apikee.close()
                try:
                    from limits import parse
                    from limits.storage import storage_from_string
                    from limits.strategies import MovingWindowRateLimiter

                    storage = storage_from_string(server.url)
                    strategy = MovingWindowRateLimiter(storage)
                    item = parse("1000000/second")
                    samples = []
                    for _ in range(count):
                        started = time.perf_counter()
                        strategy.hit(item, "key-id")
                        samples.append(time.perf_counter() - started)
                    print(f"  limits redis moving window     {percentiles(samples)}")
                except ImportError:
                    print("  limits: not installed")
            finally:
                server.stop()
        apikee = Apikee(secret=SECRET, store=f"sqlite://{directory}/limits.db")
        claims = apikee.verify(apikee.create("acme", rate_limit=HUGE))
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            apikee.check_rate_limit(claims)
            samples.append(time.perf_counter() - started)
        print(f"  apikee sqlite (1 transaction)  {percentiles(samples)}")
        apikee.close()


def asgi(count: int) -> None:
    print("\n4. one request through Starlette (in-process ASGI transport), µs")
    import httpx
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from apikee.asgi import ApikeeMiddleware

    async def data(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    apikee = Apikee(secret=SECRET)
    key = apikee.create("acme", rate_limit=HUGE)
    plain_key = apikee.create("acme")
    ours = Starlette(
        routes=[Route("/data", data)], middleware=[Middleware(ApikeeMiddleware, apikee=apikee)]
    )
    apps = [("apikee, key without limits", ours, plain_key), ("apikee, limited key", ours, key)]
    try:
        from slowapi import Limiter, _rate_limit_exceeded_handler
        from slowapi.errors import RateLimitExceeded as SlowapiExceeded
        from slowapi.util import get_remote_address

        limiter = Limiter(key_func=get_remote_address)

        @limiter.limit("1000000000/second")
        async def limited(request: Request) -> JSONResponse:
            return JSONResponse({"ok": True})

        slow = Starlette(routes=[Route("/data", limited)])
        slow.state.limiter = limiter
        slow.add_exception_handler(SlowapiExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]
        apps.append(("slowapi (memory), no key", slow, ""))
    except ImportError:
        print("  slowapi: not installed (pip install slowapi)")

    async def run(app, header: str) -> float:
        transport = httpx.ASGITransport(app=app)
        headers = {"x-api-key": header} if header else {}
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for _ in range(50):
                await client.get("/data", headers=headers)
            samples = []
            for _ in range(count):
                started = time.perf_counter()
                answer = await client.get("/data", headers=headers)
                samples.append(time.perf_counter() - started)
                assert answer.status_code == 200
        return statistics.median(samples) * 1e6

    for name, app, header in apps:
        print(f"  {name:28} p50 {asyncio.run(run(app, header)):8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    number, repeat, count = (20_000, 3, 500) if args.quick else (200_000, 7, 5000)
    in_process(number, repeat)
    ip_lists(number, repeat)
    round_trips(count)
    asgi(count // 5)


if __name__ == "__main__":
    main()
