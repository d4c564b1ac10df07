"""Runs tests/typed_usage.py (the file ``.ci/run`` type-checks with ``mypy --strict``)."""

from __future__ import annotations

import typed_usage


def test_claims_api() -> None:
    assert typed_usage.claims_api().tenant == "acme"


def test_errors_api() -> None:
    typed_usage.errors_api()


def test_codec_api() -> None:
    typed_usage.codec_api()


def test_fastapi_and_flask_apps_build() -> None:
    assert typed_usage.fastapi_api().routes
    assert typed_usage.flask_api().url_map


def test_stateful_api(tmp_path) -> None:
    typed_usage.stateful_api(str(tmp_path))
