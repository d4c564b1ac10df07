"""Fixtures of the test suite. ``impl``, ``core``, ``make_apikee`` and ``--no-native`` live in
the repository's root conftest.py, shared with benchmarks/: every behavioural test that takes
one of them runs on both implementations of the hot path.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from apikee import Apikee

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=150
)
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=300
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

SECRET = "4283fefc63f0cd0e873a0000c6d07ef7b77e90d3593ad699fc1f7cd5bb2e35cb"
OLD_SECRET = "f0f19c557067cbbe80c46d1fb6dfbdb0ae0755281220e087835b92558589eaff"


@pytest.fixture
def apikee(make_apikee) -> Apikee:
    """An instance with the reference secrets (current first)."""
    return make_apikee(secrets=[SECRET, OLD_SECRET])


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own APIKEE_* settings."""
    for name in ("APIKEE_SECRET", "APIKEE_SERVER_KEY", "APIKEE_PROJECT_ENV"):
        monkeypatch.delenv(name, raising=False)
