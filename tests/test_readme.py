"""The README's Quickstart, FastAPI, Starlette and Flask examples, run as written.

The sources come verbatim from README.md (``tests/readme_examples.py``); ``.ci/run`` also runs
``mypy --strict`` on the same files. The answers checked are the ones the README's ``curl``
lines show.
"""

from __future__ import annotations

import importlib.util
import pathlib
import subprocess
import sys
import warnings
from types import ModuleType

import pytest
from readme_examples import examples, write
from support import SECRET

from apikee import Apikee

with warnings.catch_warnings():  # newer Starlette prefers httpx2 for its client; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    return {path.stem: path for path in write(tmp_path_factory.mktemp("readme"))}


def load(path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("APIKEE_SECRET", SECRET)
    spec = importlib.util.spec_from_file_location(f"readme_example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def key() -> str:
    return Apikee(secret=SECRET).create("acme", scopes=["orders:read"])


def test_the_checked_examples_are_there() -> None:
    names = set(examples())
    assert {"readme_quickstart", "readme_fastapi_main", "readme_flask_app"} <= names
    assert any(name.startswith("readme_starlette") for name in names)


def test_quickstart_runs(written) -> None:
    done = subprocess.run(
        [sys.executable, str(written["readme_quickstart"])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "acme-corp ['read', 'write']" in done.stdout
    assert "{'plan': 'pro'}" in done.stdout and '"tenant": "acme-corp"' in done.stdout


def test_fastapi_example(written, monkeypatch, key) -> None:
    client = TestClient(load(written["readme_fastapi_main"], monkeypatch).app)
    expected = {"tenant": "acme", "scopes": ["orders:read"]}
    assert client.get("/orders", headers={"x-api-key": key}).json() == expected
    assert client.get("/orders", headers={"Authorization": f"Bearer {key}"}).json() == expected
    whoami = client.get("/whoami", headers={"x-api-key": key}).json()
    assert whoami["tenant"] == "acme" and whoami["expires_at"].endswith("Z")
    denied = client.delete("/orders/7", headers={"x-api-key": key})
    assert denied.status_code == 403 and denied.json()["error"] == "INSUFFICIENT_SCOPE"
    assert client.get("/orders").json()["error"] == "MISSING_KEY"
    assert client.get("/health").json() == {"ok": True}


def test_plain_fastapi_example(written, monkeypatch, key) -> None:
    module = load(written["readme_fastapi"], monkeypatch)
    paths = module.app.openapi().get("paths", {})
    assert paths == {}  # the snippet declares no route; it must build and configure cleanly


def test_starlette_example(written, monkeypatch, key) -> None:
    name = next(n for n in written if n.startswith("readme_starlette"))
    client = TestClient(load(written[name], monkeypatch).app)
    assert client.get("/orders", headers={"x-api-key": key}).json() == {
        "tenant": "acme",
        "scopes": ["orders:read"],
    }
    assert client.get("/whoami", headers={"x-api-key": key}).json()["tenant"] == "acme"
    assert client.get("/orders", headers={"x-api-key": "apikee_nope.nope"}).status_code == 401
    assert client.get("/health").json() == {"ok": True}


def test_flask_example(written, monkeypatch, key) -> None:
    client = load(written["readme_flask_app"], monkeypatch).app.test_client()
    assert client.get("/orders", headers={"x-api-key": key}).get_json() == {
        "scopes": ["orders:read"],
        "tenant": "acme",
    }
    assert client.get("/whoami", headers={"x-api-key": key}).get_json()["tenant"] == "acme"
    denied = client.delete("/orders/7", headers={"x-api-key": key})
    assert denied.status_code == 403
    assert client.get("/health").get_json() == {"ok": True}
    assert client.get("/orders").status_code == 401


def test_revoking_keys_runs(written) -> None:
    done = subprocess.run(
        [sys.executable, str(written["readme_revoking_keys"])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "REVOKED"
    assert lines[1].startswith("id ") and lines[1].endswith("pasted in a public issue")
    assert lines[2] == "tenant globex None"
    assert "'healthy': True" in lines[3]


def test_rate_limits_example_runs(written) -> None:
    done = subprocess.run(
        [sys.executable, str(written["readme_rate_limits_and_ip_allow_lists"])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("10 1 9 ")
    assert lines[1:] == ["RATE_LIMITED 429 12", "IP_NOT_ALLOWED 403", "203.0.113.9"]


def test_usage_and_metrics_example_runs(written) -> None:
    done = subprocess.run(
        [sys.executable, str(written["readme_usage_and_metrics"])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == ["INSUFFICIENT_SCOPE", "1", "{'VALID': 1, 'INSUFFICIENT_SCOPE': 1}"]
    assert lines[3].startswith("20") and lines[3].endswith("+00:00")  # a UTC datetime
    assert "tenant='acme-corp', uses=1" in lines[4]
    assert 'apikee_verifications_total{code="VALID"} 1.0' in lines
    assert 'apikee_verifications_total{code="INSUFFICIENT_SCOPE"} 1.0' in lines
