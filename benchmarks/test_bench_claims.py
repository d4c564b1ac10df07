"""Reading the verified claims, as a request handler does after every ``verify``.

Plain fields (``id``, ``tenant``, ``scopes``, ``environment``) and the derived ones
(``meta["plan"]``, ``expires_at``, which apikee builds lazily on access while 0.1.2 builds them
inside ``verify``), for native, pure and apikee 0.1.2.
"""

from __future__ import annotations

import pytest
from _bench import contender_params, run_case


@pytest.mark.parametrize(
    ("operation", "contender"),
    [p for slug in ("claims-fields", "claims-derived") for p in contender_params(slug)],
)
def test_claims(benchmark, operation: str, contender: str) -> None:
    run_case(benchmark, operation, contender)
