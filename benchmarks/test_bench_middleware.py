"""pytest-benchmark: per-request cost of the ASGI middlewares (see ``bench_middleware.py``).

Three cases, each timed as a batch of ``BATCH`` requests through a trivial ASGI app called
directly (one event loop, no server): no middleware, ``ApikeeMiddleware`` (native and pure, via
the ``impl`` fixture) and apikee 0.1.2's ``BaseHTTPMiddleware`` (skipped, with the command
that installs it, when 0.1.2 is not there). Divide the times by ``BATCH`` for µs per request.

CI runs ``python -m pytest benchmarks --benchmark-disable -q``: each body runs once and its
answer is checked (a valid key gets 200, a forged one 401); no timing is asserted.
"""

from __future__ import annotations

import _peers
import _workload as W
import bench_middleware as M
import pytest

from apikee.asgi import ApikeeMiddleware

BATCH = 100
GROUP = f"ASGI middleware, {BATCH} requests (valid key)"


@pytest.fixture(scope="module")
def key() -> str:
    return W.create_key(W.SECRET)


def run_batch(benchmark, row: M.Row) -> None:
    M.check(row)
    runner = M.batch_runner(row, BATCH)
    try:
        benchmark.group = GROUP
        benchmark.extra_info["requests_per_round"] = BATCH
        benchmark(runner)
    finally:
        runner.close()


def test_no_middleware(benchmark, key: str) -> None:
    run_batch(benchmark, M.Row("no middleware", M.trivial_app, [(b"x-api-key", key.encode())], 200))


def test_apikee_middleware(benchmark, make_apikee, key: str) -> None:
    app = ApikeeMiddleware(M.trivial_app, apikee=make_apikee(secret=W.SECRET))
    M.check(M.Row("forged", app, [(b"x-api-key", W.forge(key).encode())], 401))
    M.check(M.Row("no key", app, [], 401))
    run_batch(benchmark, M.Row("ApikeeMiddleware", app, [(b"x-api-key", key.encode())], 200))


def test_apikee_0_1_2_base_http_middleware(benchmark, key: str) -> None:
    available, detail = W.contender_status("apikee-0.1.2")
    if not available:
        pytest.skip(f"apikee 0.1.2: {detail}")
    reference = _peers.load_reference().Apikee(secret=W.SECRET)
    app = reference.middleware(M.trivial_app)
    M.check(M.Row("forged", app, [(b"x-api-key", W.forge(key).encode())], 401))
    run_batch(benchmark, M.Row("apikee 0.1.2", app, [(b"x-api-key", key.encode())], 200))


def test_breakdown_rows_answer() -> None:
    """``bench_middleware.py --breakdown``: every row is a working app that answers 200."""
    available, detail = W.contender_status("native")
    if not available:
        pytest.skip(f"native: {detail}")
    rows = M.breakdown_rows()
    for row in rows:
        M.check(row)
    assert [row.verify is not None for row in rows] == [False, False, True, True, True, True]
