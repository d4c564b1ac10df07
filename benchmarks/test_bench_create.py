"""Issuing a key: ``Apikee.create`` (native, pure, apikee 0.1.2) against PyJWT's
``jwt.encode`` and itsdangerous' ``URLSafeSerializer.dumps`` of the same claims.

apikee's ``create`` also draws a fresh id and computes the expiry; the peers only encode the
claims they are given, so this group flatters them slightly.
"""

from __future__ import annotations

import pytest
from _bench import contender_params, run_case


@pytest.mark.parametrize(("operation", "contender"), contender_params("create"))
def test_create(benchmark, operation: str, contender: str) -> None:
    run_case(benchmark, operation, contender)
