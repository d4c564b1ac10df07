"""Verification, the hot loop: accept the typical key, reject what an attacker or a typo sends.

One pytest-benchmark group per operation, so native, pure, apikee 0.1.2, PyJWT (HS256
``jwt.decode``) and itsdangerous (``URLSafeSerializer.loads``) sit in one table:

    python -m pytest benchmarks/test_bench_verify.py            # timed tables
    python -m pytest benchmarks --benchmark-disable -q          # CI: each body runs once

Every case first checks its behaviour (the typical key verifies with its claims; a rejection
raises the expected error code), so the quick CI mode still proves the suite measures what its
names say. "reject-forged-max" is a forged key of the maximum default length (2048
characters): the most work a client can make a verifier do. apikee 0.1.2 is not run on the 1 MB
string: it has no length limit and its base62 decoder is quadratic (minutes per call).
"""

from __future__ import annotations

import pytest
from _bench import contender_params, run_case

OPERATIONS = (
    "verify",
    "verify-2",
    "verify-3",
    "verify-core",
    "reject-forged",
    "reject-garbage",
    "reject-1mb",
    "reject-forged-max",
)


@pytest.mark.parametrize(
    ("operation", "contender"), [p for slug in OPERATIONS for p in contender_params(slug)]
)
def test_verify(benchmark, operation: str, contender: str) -> None:
    run_case(benchmark, operation, contender)
