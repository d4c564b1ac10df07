"""The implementation fixtures shared by tests/ and benchmarks/ (one definition for both).

``impl`` is parametrized ``native``/``pure``; the native parameter carries the ``native`` mark.
A native test or benchmark whose extension cannot load FAILS (a silent fallback to slow code is
a bug); ``--no-native`` deselects everything marked ``native``, for pure-only installs.
"""

from __future__ import annotations

import functools

import pytest

from apikee import Apikee
from apikee._core import load_backend

IMPLEMENTATIONS = [
    pytest.param("native", marks=pytest.mark.native, id="native"),
    pytest.param("pure", id="pure"),
]


def native_failure(detail: str) -> str:
    """The message of a native test that cannot run because the extension did not load."""
    return f"native: not available ({detail}); use --no-native to deselect the native tests"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-native",
        action="store_true",
        default=False,
        help="deselect the tests and benchmarks of the compiled implementation (pure-only installs)",
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
        pytest.fail(native_failure(f"{type(exc).__name__}: {exc}"))
    return name


@pytest.fixture(scope="session")
def core(impl: str):
    """The implementation module itself (``apikee._core_c`` or ``apikee._core_py``)."""
    return load_backend(impl)


@pytest.fixture(scope="session")
def make_apikee(impl: str):
    """``Apikee`` bound to the implementation under test."""
    return functools.partial(Apikee, implementation=impl)
