"""APIKEE_NO_EXTENSIONS is read one way, at build time and at run time alike."""

from __future__ import annotations

import pytest

from apikee._switch import ENV_VAR, extensions_disabled


@pytest.mark.parametrize("value", ["", "0", "false", "False", "no", "off", " 0 "])
def test_values_that_keep_the_extension(value: str) -> None:
    assert not extensions_disabled({ENV_VAR: value})


@pytest.mark.parametrize("value", ["1", "true", "yes", "on", "pure", "2"])
def test_values_that_force_pure(value: str) -> None:
    assert extensions_disabled({ENV_VAR: value})


def test_unset_keeps_the_extension() -> None:
    assert not extensions_disabled({})
