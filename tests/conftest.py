"""Every behavioural test runs on both implementations of the hot path.

The ``impl`` fixture is parametrized ``native``/``pure``; the native parameter carries the
``native`` mark. A native test whose extension cannot load FAILS (a silent fallback to slow code
is a bug); ``--no-native`` deselects the native tests explicitly, for pure-only installs.
"""

from __future__ import annotations

import functools
import os

import pytest
from hypothesis import HealthCheck, settings

from apikee import Apikee
from apikee._core import load_backend

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=150
)
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=300
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

IMPLEMENTATIONS = [
    pytest.param("native", marks=pytest.mark.native, id="native"),
    pytest.param("pure", id="pure"),
]

SECRET = "4283fefc63f0cd0e873a0000c6d07ef7b77e90d3593ad699fc1f7cd5bb2e35cb"
OLD_SECRET = "f0f19c557067cbbe80c46d1fb6dfbdb0ae0755281220e087835b92558589eaff"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-native",
        action="store_true",
        default=False,
        help="deselect the tests of the compiled implementation (pure-only installs)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--no-native"):
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("native") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session", params=IMPLEMENTATIONS)
def impl(request: pytest.FixtureRequest) -> str:
    """``"native"`` or ``"pure"``; the native one fails loudly if the extension did not build."""
    name = request.param
    try:
        load_backend(name)
    except ImportError as exc:  # pragma: no cover - exactly what must not happen silently
        pytest.fail(f"the native extension is not importable ({exc}); use --no-native to skip it")
    return name


@pytest.fixture(scope="session")
def core(impl: str):
    """The implementation module itself (``apikee._core_c`` or ``apikee._core_py``)."""
    return load_backend(impl)


@pytest.fixture(scope="session")
def make_apikee(impl: str):
    """``Apikee`` bound to the implementation under test."""
    return functools.partial(Apikee, implementation=impl)


@pytest.fixture
def apikee(make_apikee) -> Apikee:
    """An instance with the reference secrets (current first)."""
    return make_apikee(secrets=[SECRET, OLD_SECRET])


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own APIKEE_* settings."""
    for name in ("APIKEE_SECRET", "APIKEE_SERVER_KEY", "APIKEE_PROJECT_ENV"):
        monkeypatch.delenv(name, raising=False)
