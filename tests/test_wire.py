"""The wire constants: defined once in Python (apikee._wire), equal on the C side."""

from __future__ import annotations

import pathlib
import re

import pytest

from apikee import _wire

SRC = pathlib.Path(__file__).resolve().parent.parent / "src" / "apikee"
# The files allowed to spell the constants out: the definition, its C mirror, and the base62
# header's lookup table (checked against _wire.py at import).
DEFINITIONS = {"_wire.py", "_wire.h", "_b62.h"}


@pytest.mark.native
def test_the_c_side_equals_the_python_definition() -> None:
    from apikee._core import load_backend

    native = load_backend("native")
    assert native._wire_constants_for_tests() == {
        "PREFIX": _wire.PREFIX,
        "ALPHABET": _wire.ALPHABET,
        "MAX_TIMESTAMP": _wire.MAX_TIMESTAMP,
        "DEFAULT_MAX_KEY_LENGTH": _wire.DEFAULT_MAX_KEY_LENGTH,
        "SIGNATURE_BYTES": _wire.SIGNATURE_BYTES,
        "MAX_SIGNATURE_DIGITS": _wire.MAX_SIGNATURE_DIGITS,
    }


def test_the_constants_are_consistent() -> None:
    assert len(_wire.ALPHABET) == len(set(_wire.ALPHABET)) == 62
    assert 62 ** (_wire.MAX_SIGNATURE_DIGITS - 1) < 2 ** (8 * _wire.SIGNATURE_BYTES)
    assert 62**_wire.MAX_SIGNATURE_DIGITS > 2 ** (8 * _wire.SIGNATURE_BYTES)
    assert str(_wire.MAX_TIMESTAMP) in _wire.TIMESTAMP_RANGE


@pytest.mark.parametrize(
    "pattern",
    [
        re.escape(_wire.ALPHABET),
        re.escape(str(_wire.MAX_TIMESTAMP)),
        r"""["']apikee_["']""",
        r"MAX_SIGNATURE_DIGITS\s*=\s*\d",
        r"DEFAULT_MAX_KEY_LENGTH\s*=\s*\d",
        r"MIN_SECRET_BYTES\s*=\s*\d",
    ],
)
def test_no_other_module_spells_a_wire_constant(pattern) -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        for path in sorted(SRC.rglob("*"))
        if path.suffix in (".py", ".pyx", ".pxi", ".h") and path.name not in DEFINITIONS
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(pattern, line)
    ]
    assert offenders == []
