"""The base62 codec on 32 B (a signature), 129 B (a typical payload) and 1024 B.

apikee 0.1.2's codec (``_b62_encode``/``_b62_decode``, what its ``verify`` runs) is included:
its decoder is quadratic in the length, which the 1024-byte group shows.
"""

from __future__ import annotations

import _workload
import pytest
from _bench import contender_params, run_case

OPERATIONS = [
    f"{name}-{size}" for name in ("b62encode", "b62decode") for size in _workload.CODEC_SIZES
]


@pytest.mark.parametrize(
    ("operation", "contender"), [p for slug in OPERATIONS for p in contender_params(slug)]
)
def test_codec(benchmark, operation: str, contender: str) -> None:
    run_case(benchmark, operation, contender)
