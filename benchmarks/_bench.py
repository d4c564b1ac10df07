"""What the ``test_bench_*.py`` modules share: the ``pytest.param`` list of an operation's
contenders and the body that checks, then times, one (operation, contender) case of
``_workload`` (``from _bench import contender_params, run_case``).

Peers that are not installed (apikee 0.1.2, PyJWT, itsdangerous) are skipped with the command
that installs them; a native case whose extension cannot load FAILS.
"""

from __future__ import annotations

import _workload
import pytest


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


def case_for(slug: str, contender: str) -> _workload.Case:
    """The case of one (operation, contender), failing for native and skipping missing peers."""
    available, detail = _workload.contender_status(contender)
    if not available:
        if contender in _workload.APIKEE_IMPLEMENTATIONS:
            pytest.fail(
                f"native: not available ({detail}); use --no-native to deselect the native benchmarks"
            )
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
