"""Per-request cost of the ASGI middleware, measured in process.

    python benchmarks/bench_middleware.py              # about 20 seconds
    python benchmarks/bench_middleware.py --quick      # a few seconds, rougher numbers
    python benchmarks/bench_middleware.py --breakdown  # where the middleware's own work goes

A trivial ASGI app (it sends a prebuilt 200 response) is called directly, without a server, with
a prebuilt scope of a typical request (eight headers, the typical key of ``_workload``), inside
one running event loop. Rows:

- no middleware: the baseline every other row is compared with;
- ``ApikeeMiddleware`` on the native and on the pure core (``apikee.asgi``);
- apikee 0.1.2's ``Apikee(...).middleware``, a Starlette ``BaseHTTPMiddleware`` (loaded with
  ``_peers.load_reference()``; reported as missing, with the command that installs it, if
  absent);
- the same middlewares rejecting a forged key and a request without a key (answered by the
  middleware itself, so compared with the baseline they can even be cheaper than it);
- the native middleware with its ``verify`` replaced by a dict look-up returning the claims:
  the middleware's own work with nothing else (its "rest" is the floor of this design).

With ``--breakdown``, the rows are instead the native middleware and apps that do a part of
its work themselves, each step adding one thing: an ``async`` pass-through middleware (a class
instance whose ``__call__`` only awaits the app), the app verifying the key, the app verifying
and storing the claims in the scope, the app calling the middleware's compiled gate (scope,
header scan, verify, claims stored), and the middleware itself. The table shows each one's
minimum over the batches, minus the baseline and minus the verify call timed alone.

Each row runs ``--repeat`` batches of ``--requests`` requests, interleaved across rows (batch 1
of every row, then batch 2, ...); the table shows the median µs per request, the overhead added
to the baseline, and, for the valid-key rows, how much of that is the verify call itself (timed
alone on the same key, in the same rounds). The garbage collector is off while timing, as in
``timeit``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import sys
import time
from dataclasses import dataclass
from statistics import median
from typing import Any, Callable

import _peers
import _workload as W

REQUESTS = 2000
REPEAT = 15

START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")],
}
BODY = {"type": "http.response.body", "body": b"ok"}
REQUEST = {"type": "http.request", "body": b"", "more_body": False}


async def trivial_app(scope: dict, receive: Callable, send: Callable) -> None:
    """The app behind every middleware: a prebuilt 200, nothing else."""
    await send(START)
    await send(BODY)


async def receive() -> dict:
    return REQUEST


def base_scope(headers: list[tuple[bytes, bytes]]) -> dict:
    """The ASGI scope of a typical GET (what uvicorn builds), with ``headers`` added."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 51234),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": "/orders",
        "raw_path": b"/orders",
        "query_string": b"",
        "headers": [
            (b"host", b"api.example.com"),
            (b"user-agent", b"python-httpx/0.28.1"),
            (b"accept", b"application/json"),
            (b"accept-encoding", b"gzip, deflate"),
            (b"connection", b"keep-alive"),
            (b"x-request-id", b"5f0c7d2e-3b1a-4c8e-9d6f-2a7b8c9d0e1f"),
            *headers,
        ],
    }


@dataclass
class Row:
    """One line of the table: an ASGI app and the request it gets."""

    name: str
    app: Any
    headers: list[tuple[bytes, bytes]]
    expect_status: int
    verify: Callable[[], Any] | None = None  # the verify call alone, when there is one
    note: str = ""


def _collector() -> tuple[list, Callable]:
    sent: list = []

    async def send(message: dict) -> None:
        sent.append(message)

    return sent, send


def call_once(row: Row) -> list[dict]:
    """Run one request through ``row.app``; return the messages it sent."""
    sent, send = _collector()
    scope = base_scope(row.headers)
    scope["state"] = {}
    asyncio.run(row.app(scope, receive, send))
    return sent


def check(row: Row) -> None:
    """Fail unless the row answers as its name says (a 'valid key' row really gets a 200)."""
    sent = call_once(row)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    if status != row.expect_status:
        raise AssertionError(f"{row.name}: status {status}, expected {row.expect_status}")


async def batch(app: Any, scope: dict, count: int) -> None:
    """``count`` requests, each with its own shallow copy of the scope (as a server makes)."""

    async def send(message: dict) -> None:
        pass

    for _ in range(count):
        request_scope = scope.copy()
        request_scope["state"] = {}  # uvicorn gives each request a copy of the lifespan state
        await app(request_scope, receive, send)


def batch_runner(row: Row, count: int) -> Callable[[], None]:
    """A callable running one batch of ``row`` on a private event loop (for pytest-benchmark)."""
    loop = asyncio.new_event_loop()
    scope = base_scope(row.headers)

    def run() -> None:
        loop.run_until_complete(batch(row.app, scope, count))

    run.close = loop.close  # type: ignore[attr-defined]
    return run


def _time_verify(call: Callable[[], Any], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        call()
    return (time.perf_counter() - start) / count


async def _time_rows(rows: list[Row], count: int, repeat: int) -> dict[str, list[float]]:
    runs: dict[str, list[float]] = {}
    scopes = {row.name: base_scope(row.headers) for row in rows}
    for row in rows:  # warm up every path once
        await batch(row.app, scopes[row.name], min(count, 200))
    for _ in range(repeat):
        for row in rows:
            start = time.perf_counter()
            await batch(row.app, scopes[row.name], count)
            runs.setdefault(row.name, []).append((time.perf_counter() - start) / count)
            if row.verify is not None:  # the verify call alone, in the same round
                runs.setdefault(("verify", row.name), []).append(_time_verify(row.verify, count))
    return runs


def time_runs(rows: list[Row], count: int, repeat: int) -> dict[Any, list[float]]:
    """Seconds per request of each row in every batch, and per verify call under
    ``("verify", name)``: batches interleaved (round 1 of every row, then round 2, ...), GC off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return asyncio.run(_time_rows(rows, count, repeat))
    finally:
        if enabled:
            gc.enable()


def time_rows(rows: list[Row], count: int, repeat: int) -> dict[Any, float]:
    """Median seconds per request of each row, and per verify call under ``("verify", name)``."""
    return {name: median(values) for name, values in time_runs(rows, count, repeat).items()}


def own_work(impl: str = "native", count: int = REQUESTS, repeat: int = REPEAT) -> dict[str, float]:
    """The middleware's own work per request on the typical key, for ``compare.py --check``:
    seconds per request with no middleware, with ``ApikeeMiddleware`` on ``impl``, and of the
    verify call alone, each the minimum of ``repeat`` interleaved batches (as compare.py takes
    the minimum of its repeats); ``"rest"`` = middleware - baseline - verify."""
    rows = [r for r in build_rows()[0] if r.name in ("no middleware", f"ApikeeMiddleware ({impl})")]
    if len(rows) != 2:
        raise RuntimeError(f"ApikeeMiddleware ({impl}) cannot run here")
    for row in rows:
        check(row)
    runs = time_runs(rows, count, repeat)
    base, middleware = (min(runs[row.name]) for row in rows)
    verify = min(runs[("verify", rows[1].name)])
    return {
        "baseline": base,
        "middleware": middleware,
        "verify": verify,
        "rest": middleware - base - verify,
    }


# ── the rows ───────────────────────────────────────────────────────────────────────────────


def build_rows() -> tuple[list[Row], list[str]]:
    """Every row that can run here, and a line per contender that cannot (with why)."""
    from apikee import Apikee
    from apikee.asgi import ApikeeMiddleware

    key = W.create_key(W.SECRET)
    forged = W.forge(key)
    valid = [(b"x-api-key", key.encode())]
    rows = [Row("no middleware", trivial_app, valid, 200)]
    missing: list[str] = []
    for impl in W.APIKEE_IMPLEMENTATIONS:
        available, detail = W.contender_status(impl)
        if not available:
            missing.append(f"{impl}: not available ({detail})")
            continue
        apikee = Apikee(secret=W.SECRET, implementation=impl)
        app = ApikeeMiddleware(trivial_app, apikee=apikee)
        verify = apikee.verify  # exactly the call the middleware makes
        call = functools.partial(verify, key.encode())
        rows.append(Row(f"ApikeeMiddleware ({impl})", app, valid, 200, call))
        rows.append(
            Row(
                f"ApikeeMiddleware ({impl}), forged key",
                app,
                [(b"x-api-key", forged.encode())],
                401,
            )
        )
        rows.append(Row(f"ApikeeMiddleware ({impl}), no key", app, [], 401))
        if impl == "native":
            # The middleware's own work alone: its verify() replaced by a dict look-up that
            # returns the claims (what a verification that cost nothing would leave).
            stubbed = Apikee(secret=W.SECRET, implementation=impl)
            stubbed.verify = {key.encode(): apikee.verify(key)}.__getitem__  # type: ignore[method-assign]
            rows.append(
                Row(
                    "ApikeeMiddleware (native), verify stubbed",
                    ApikeeMiddleware(trivial_app, apikee=stubbed),
                    valid,
                    200,
                    functools.partial(stubbed.verify, key.encode()),
                )
            )
    available, detail = W.contender_status("apikee-0.1.2")
    if available:
        reference = _peers.load_reference().Apikee(secret=W.SECRET)
        app = reference.middleware(trivial_app)
        rows.append(
            Row("apikee 0.1.2 BaseHTTPMiddleware", app, valid, 200, lambda: reference.verify(key))
        )
        rows.append(
            Row(
                "apikee 0.1.2 BaseHTTPMiddleware, forged key",
                app,
                [(b"x-api-key", forged.encode())],
                401,
            )
        )
    else:
        missing.append(f"apikee 0.1.2: {detail}")
    return rows, missing


def breakdown_rows() -> list[Row]:
    """The native middleware and the apps that do a part of its work (``--breakdown``)."""
    from apikee import Apikee
    from apikee.asgi import ApikeeMiddleware

    key = W.create_key(W.SECRET).encode()
    apikee = Apikee(secret=W.SECRET, implementation="native")
    middleware = ApikeeMiddleware(trivial_app, apikee=apikee)
    verify, gate = apikee.verify, middleware._gate
    call = functools.partial(verify, key)

    class PassThrough:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
            await self.app(scope, receive, send)

    async def app_verifies(scope: dict, receive: Callable, send: Callable) -> None:
        verify(key)
        await send(START)
        await send(BODY)

    async def app_verifies_and_stores(scope: dict, receive: Callable, send: Callable) -> None:
        claims = verify(key)
        scope["state"]["apikee"] = claims
        scope["apikee"] = claims
        await send(START)
        await send(BODY)

    async def app_calls_the_gate(scope: dict, receive: Callable, send: Callable) -> None:
        gate(scope)
        await send(START)
        await send(BODY)

    valid = [(b"x-api-key", key)]
    return [
        Row("no middleware", trivial_app, valid, 200),
        Row("async pass-through middleware (no verify)", PassThrough(trivial_app), valid, 200),
        Row("the app verifies the key", app_verifies, valid, 200, call),
        Row("... and stores the claims in the scope", app_verifies_and_stores, valid, 200, call),
        Row("the app calls the middleware's gate", app_calls_the_gate, valid, 200, call),
        Row("ApikeeMiddleware (native)", middleware, valid, 200, call),
    ]


def breakdown_table(rows: list[Row], runs: dict[Any, list[float]]) -> list[str]:
    """Minimum µs per request of each row, over the baseline, and that minus the verify call
    (the minimum of its own timings, from every round)."""
    baseline = min(runs["no middleware"])
    verify = min(t for row in rows if row.verify for t in runs[("verify", row.name)])
    lines = [
        f"verify alone: {verify * 1e6:.3f} µs; baseline (no middleware): {baseline * 1e6:.3f} µs",
        f"{'case':<46} {'added':>8} {'minus verify':>13}",
        "-" * 69,
    ]
    for row in rows[1:]:
        added = min(runs[row.name]) - baseline
        minus = f"{(added - verify) * 1e6:>+13.3f}" if row.verify else f"{'':>13}"
        lines.append(f"{row.name:<46} {added * 1e6:>+8.3f} {minus}")
    return lines


def table(rows: list[Row], seconds: dict[Any, float]) -> list[str]:
    baseline = seconds["no middleware"]
    lines = [
        f"{'case':<44} {'µs/request':>10} {'added':>9} {'verify':>8} {'rest':>7}",
        "-" * 82,
    ]
    for row in rows:
        us = seconds[row.name] * 1e6
        added = us - baseline * 1e6
        if row.name == "no middleware":
            lines.append(f"{row.name:<44} {us:>10.2f} {'-':>9} {'-':>8} {'-':>7}")
            continue
        if ("verify", row.name) in seconds:
            v = seconds[("verify", row.name)] * 1e6
            lines.append(f"{row.name:<44} {us:>10.2f} {added:>+9.2f} {v:>8.2f} {added - v:>+7.2f}")
        else:
            lines.append(f"{row.name:<44} {us:>10.2f} {added:>+9.2f} {'':>8} {'':>7}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter batches")
    parser.add_argument("--requests", type=int, default=REQUESTS, help="requests per batch")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="batches per row")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="the middleware against apps doing a part of its work (minimum of 40 batches)",
    )
    args = parser.parse_args(argv)
    count, repeat = (300, 5) if args.quick else (args.requests, args.repeat)

    for line in W.machine_lines(W.machine_info()):
        print(line)
    if args.breakdown:
        available, detail = W.contender_status("native")
        if not available:
            print(f"not measured: native: {detail}")
            return 1
        rows = breakdown_rows()
        for row in rows:
            check(row)
        repeat = repeat if args.quick else max(repeat, 40)
        print(f"{count} requests per batch, minimum of {repeat} interleaved batches\n")
        for line in breakdown_table(rows, time_runs(rows, count, repeat)):
            print(line)
        return 0
    rows, missing = build_rows()
    for row in rows:
        check(row)
    for line in missing:
        print(f"not measured: {line}")
    print(f"{count} requests per batch, median of {repeat} interleaved batches\n")
    seconds = time_rows(rows, count, repeat)
    for line in table(rows, seconds):
        print(line)
    print(
        "\nadded: µs over 'no middleware'; verify: the verify call the middleware makes, timed "
        "alone on the same key; rest: added minus verify (the middleware's own work)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
