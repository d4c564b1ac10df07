"""Usage counting costs (numbers in README "Usage and metrics"; not a timed test).

PYTHONPATH=src python benchmarks/bench_usage.py verify      # counting on vs off
PYTHONPATH=src python benchmarks/bench_usage.py flush       # last-used flush, 100,000 keys
"""

from __future__ import annotations

import sys
import tempfile
import time
import timeit

from apikee import Apikee
from apikee._store._usage import write_usage

SECRET = "4283fefc63f0cd0e873a0000c6d07ef7b77e90d3593ad699fc1f7cd5bb2e35cb"


def verify_cost(impl: str, number: int) -> None:
    plain = Apikee(secret=SECRET, implementation=impl)
    counted = Apikee(secret=SECRET, implementation=impl, usage=True)
    key = plain.create("acme", scopes=["read"])
    results = {}
    for _ in range(3):  # interleaved rounds: the machine's drift hits both sides alike
        for name, apikee in (("off", plain), ("on", counted)):
            verify = apikee.verify
            best = min(timeit.repeat(lambda: verify(key), number=number, repeat=5)) / number
            results[name] = min(results.get(name, best), best)
    counted.close()
    off, on = results["off"] * 1e9, results["on"] * 1e9
    print(f"{impl:6} verify off {off:7.0f} ns   on {on:7.0f} ns   counting {on - off:+5.0f} ns")


def middleware_cost(impl: str, number: int = 20_000) -> None:
    """One ASGI request through ApikeeMiddleware (no server, no network): usage off, vs on
    with the Prometheus collector registered and metrics_path set."""
    import asyncio

    from prometheus_client import CollectorRegistry

    from apikee.asgi import ApikeeMiddleware
    from apikee.metrics import PrometheusCollector

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive():  # type: ignore[no-untyped-def]
        return {"type": "http.request"}

    async def send(message):  # type: ignore[no-untyped-def]
        return None

    plain = Apikee(secret=SECRET, implementation=impl)
    counted = Apikee(secret=SECRET, implementation=impl, usage=True)
    registry = CollectorRegistry()
    registry.register(PrometheusCollector(counted))
    key = plain.create("acme").encode()
    scope = {"type": "http", "path": "/data", "headers": [(b"x-api-key", key)]}
    results = {}
    loop = asyncio.new_event_loop()
    for _ in range(3):
        for name, apikee, extra in (
            ("off", plain, {}),
            ("on", counted, {"metrics_path": "/metrics", "metrics_registry": registry}),
        ):
            middleware = ApikeeMiddleware(app, apikee=apikee, **extra)

            async def many(middleware=middleware):  # type: ignore[no-untyped-def]
                for _ in range(number):
                    await middleware(dict(scope), receive, send)

            started = time.perf_counter()
            loop.run_until_complete(many())
            cost = (time.perf_counter() - started) / number
            results[name] = min(results.get(name, cost), cost)
    loop.close()
    counted.close()
    off, on = results["off"] * 1e9, results["on"] * 1e9
    print(
        f"{impl:6} middleware off {off:6.0f} ns   on+prometheus {on:6.0f} ns   {on - off:+5.0f} ns"
    )


def flush_cost(url: str, keys: int = 100_000) -> None:
    apikee = Apikee(secret=SECRET, store=url)
    store = apikee._store.snapshot.store  # type: ignore[union-attr]
    rows = [(f"key{i:06d}", f"tenant{i % 100}", 3, 1.7e9 + i) for i in range(keys)]
    started = time.perf_counter()
    write_usage(store, rows)
    first = time.perf_counter() - started
    started = time.perf_counter()
    write_usage(store, rows)
    again = time.perf_counter() - started
    print(f"{store.kind:6} flush of {keys:,} keys: {first:.2f} s new, {again:.2f} s existing")
    apikee.close()


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "verify"
    if what == "verify":
        verify_cost("native", 100_000)
        verify_cost("pure", 20_000)
    elif what == "middleware":
        middleware_cost("native")
        middleware_cost("pure", 5_000)
    elif what == "flush":
        with tempfile.TemporaryDirectory() as tmp:
            flush_cost(f"sqlite:///{tmp}/apikee.db")
        for url in sys.argv[2:]:
            flush_cost(url)
