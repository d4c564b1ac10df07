"""Legacy MessagePack payloads: read with the optional ``msgpack``, a clear error without it."""

from __future__ import annotations

import json
import pathlib
import sys

import pytest
from support import SECRET, signed_key

from apikee import ApikeeError, _msgpack

VECTORS = [
    json.loads(line)
    for line in (pathlib.Path(__file__).parent / "vectors-reference-0.1.2.jsonl")
    .read_text()
    .splitlines()
    if line.strip()
]
MSGPACK_VALID = next(
    v
    for v in VECTORS
    if v["source"] == "ref-python-msgpack"
    and v["expect"] == "valid"
    and v.get("claims", {}).get("meta")
)
MSGPACK_WRONG_SECRET = next(
    v for v in VECTORS if v["source"] == "ref-python-msgpack" and v["expect"] == "INVALID_SIGNATURE"
)
JSON_VALID = next(v for v in VECTORS if v["source"] == "ref-python-json" and v["expect"] == "valid")
INSTALL_HINT = "pip install 'apikee[msgpack]'"


@pytest.fixture
def msgpack_missing():
    """msgpack looks uninstalled for the duration of the test, then is detected again."""
    _msgpack._reset_for_tests(False)
    try:
        yield
    finally:
        _msgpack._reset_for_tests(None)


@pytest.fixture
def msgpack_unimportable(monkeypatch):
    """``import msgpack`` really fails (as on a base install), then is detected again."""
    monkeypatch.setitem(sys.modules, "msgpack", None)
    _msgpack._reset_for_tests(None)
    try:
        yield
    finally:
        _msgpack._reset_for_tests(None)  # lazy: re-detected after monkeypatch restores the module


def verify(make_apikee, vector):
    return make_apikee(secrets=vector["secrets"]).verify(vector["key"], now=vector["now"])


def test_the_vector_is_messagepack(core) -> None:
    payload = core.b62decode(MSGPACK_VALID["key"][7:].partition(".")[0])
    assert payload[0] >= 0x80


def test_msgpack_key_verifies_when_msgpack_is_installed(make_apikee) -> None:
    pytest.importorskip("msgpack")
    claims = verify(make_apikee, MSGPACK_VALID)
    assert claims.to_dict() == MSGPACK_VALID["claims"]
    assert claims.tenant == MSGPACK_VALID["claims"]["tid"]


@pytest.mark.parametrize("unavailable", ["msgpack_missing", "msgpack_unimportable"])
def test_msgpack_key_without_msgpack_says_how_to_install(make_apikee, request, unavailable) -> None:
    request.getfixturevalue(unavailable)
    with pytest.raises(ApikeeError) as info:
        verify(make_apikee, MSGPACK_VALID)
    assert info.value.code == "DECODE_ERROR"
    assert INSTALL_HINT in info.value.message
    assert info.value.http_status == 401


@pytest.mark.parametrize("unavailable", ["msgpack_missing", "msgpack_unimportable"])
def test_json_keys_do_not_need_msgpack(make_apikee, request, unavailable) -> None:
    request.getfixturevalue(unavailable)
    claims = verify(make_apikee, JSON_VALID)
    assert claims.to_dict() == JSON_VALID["claims"]


def test_signature_is_checked_before_msgpack_is_needed(make_apikee, msgpack_missing) -> None:
    with pytest.raises(ApikeeError) as info:
        verify(make_apikee, MSGPACK_WRONG_SECRET)
    assert info.value.code == "INVALID_SIGNATURE"


def test_msgpack_comes_back_after_the_reset(make_apikee) -> None:
    pytest.importorskip("msgpack")
    _msgpack._reset_for_tests(False)
    try:
        with pytest.raises(ApikeeError):
            verify(make_apikee, MSGPACK_VALID)
    finally:
        _msgpack._reset_for_tests(None)
    assert verify(make_apikee, MSGPACK_VALID).to_dict() == MSGPACK_VALID["claims"]


def test_every_valid_msgpack_vector_fails_the_same_way_without_msgpack(
    make_apikee, msgpack_missing
) -> None:
    vectors = [v for v in VECTORS if v["source"] == "ref-python-msgpack" and v["expect"] == "valid"]
    assert vectors
    for vector in vectors:
        with pytest.raises(ApikeeError) as info:
            verify(make_apikee, vector)
        assert info.value.code == "DECODE_ERROR" and INSTALL_HINT in info.value.message


def test_garbage_msgpack_is_decode_error_with_msgpack(make_apikee, core) -> None:
    pytest.importorskip("msgpack")
    key = signed_key(core, b"\x81\xc1")
    with pytest.raises(ApikeeError) as info:
        make_apikee(secret=SECRET).verify(key)
    assert info.value.code == "DECODE_ERROR"
    assert INSTALL_HINT not in info.value.message  # msgpack is there; the payload is bad
