"""Fixtures of the test suite (and its Hypothesis profiles). ``impl``, ``core``, ``make_apikee``
and ``--no-native`` live in the repository's root conftest.py, shared with benchmarks/: every
behavioural test that takes one of them runs on both implementations of the hot path.

Nothing here is for importing: the shared constants and helpers are in ``support.py``, the
shared Hypothesis strategies in ``strategies.py``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
from support import OLD_SECRET, SECRET

from apikee import Apikee

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=150
)
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=300
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def apikee(make_apikee) -> Apikee:
    """An instance with the reference secrets (current first)."""
    return make_apikee(secrets=[SECRET, OLD_SECRET])


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own APIKEE_* settings."""
    for name in ("APIKEE_SECRET", "APIKEE_SERVER_KEY", "APIKEE_PROJECT_ENV", "APIKEE_STORE"):
        monkeypatch.delenv(name, raising=False)
