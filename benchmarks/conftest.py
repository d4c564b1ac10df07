"""Fixtures of the benchmark suite. ``impl``/``core``/``make_apikee`` and ``--no-native`` come
from the repository's root conftest.py, shared with tests/: a native benchmark whose extension
cannot load FAILS (a table that silently shows pure code under the native name would be worse
than none).

Nothing here is for importing: what the ``test_bench_*.py`` modules share (``contender_params``,
``run_case``: the timed case of one (operation, contender) pair from ``_workload``) is in
``_bench.py``.

CI runs ``python -m pytest benchmarks --benchmark-disable -q``: every benchmark body runs once
and its behaviour is checked; no timing is asserted anywhere.
"""

from __future__ import annotations

import _workload
import pytest
from _workload import OLD_SECRET, SECRET

from apikee import Apikee


@pytest.fixture
def apikee(make_apikee) -> Apikee:
    """An instance with the reference secrets (current first)."""
    return make_apikee(secrets=[SECRET, OLD_SECRET])


@pytest.fixture(scope="session")
def workload() -> _workload.Workload:
    """The shared inputs: typical key, forged key, garbage, 1 MB string, peer tokens."""
    return _workload.workload()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No benchmark sees the developer's own APIKEE_* settings."""
    for name in ("APIKEE_SECRET", "APIKEE_SERVER_KEY", "APIKEE_PROJECT_ENV", "APIKEE_STORE"):
        monkeypatch.delenv(name, raising=False)
