"""Fixtures of the benchmark suite. ``impl``/``core``/``make_apikee`` and ``--no-native`` come
from the repository's root conftest.py, shared with tests/: a native benchmark whose extension
cannot load FAILS (a table that silently shows pure code under the native name would be worse
than none).

``contender_case`` gives the benchmarks the timed case of one (operation, contender) pair from
``_workload``: peers that are not installed (apikee 0.1.2, PyJWT, itsdangerous) are skipped with
the command that installs them.

CI runs ``python -m pytest benchmarks --benchmark-disable -q``: every benchmark body runs once
and its behaviour is checked; no timing is asserted anywhere.
"""

from __future__ import annotations


import pytest

import _workload
from _workload import OLD_SECRET, SECRET  # noqa: F401  (``from conftest import SECRET`` works)
from apikee import Apikee

def contender_params(slug: str) -> list:
    """``pytest.param`` per contender of an operation (native marked ``native``)."""
    operation = _workload.OPERATION_BY_SLUG[slug]
    params = []
    for name in operation.contenders:
        marks = [pytest.mark.native] if name == "native" else []
        params.append(pytest.param(slug, name, marks=marks, id=f"{slug}-{name}"))
    for name, reason in operation.not_measured.items():
        params.append(
            pytest.param(
                slug, name, marks=pytest.mark.skip(reason=f"{name}: {reason}"), id=f"{slug}-{name}"
            )
        )
    return params


@pytest.fixture
def apikee(make_apikee) -> Apikee:
    """An instance with the reference secrets (current first)."""
    return make_apikee(secrets=[SECRET, OLD_SECRET])


@pytest.fixture(scope="session")
def workload() -> _workload.Workload:
    """The shared inputs: typical key, forged key, garbage, 1 MB string, peer tokens."""
    return _workload.workload()


def case_for(slug: str, contender: str) -> _workload.Case:
    """The case of one (operation, contender), failing for native and skipping missing peers."""
    available, detail = _workload.contender_status(contender)
    if not available:
        if contender in _workload.APIKEE_IMPLEMENTATIONS:
            pytest.fail(f"native: not available ({detail}); use --no-native to deselect the native benchmarks")
        pytest.skip(f"{contender}: {detail}")
    return _workload.make_case(slug, contender)


def run_case(benchmark, slug: str, contender: str) -> None:
    """Check the case's behaviour once, then hand its statement to pytest-benchmark."""
    case = case_for(slug, contender)
    case.check()
    benchmark.group = case.operation.title
    benchmark.extra_info["contender"] = contender
    benchmark.extra_info["detail"] = _workload.contender_status(contender)[1]
    benchmark(case.function())


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No benchmark sees the developer's own APIKEE_* settings."""
    for name in ("APIKEE_SECRET", "APIKEE_SERVER_KEY", "APIKEE_PROJECT_ENV"):
        monkeypatch.delenv(name, raising=False)
