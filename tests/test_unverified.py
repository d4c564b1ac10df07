"""decode_unverified(): an ApikeeClaims marked unverified, through the same strict decoder as
verify(), so inspection and verification agree on every payload (on every Python version)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import json_scalars, json_trees
from support import SECRET, signed_key

import apikee as package
from apikee import ApikeeClaims, ApikeeError, decode_unverified

# Payloads verify() rejects at the decoding or claims step, whatever the Python version:
# deep nesting (json.loads accepts it on 3.13), NaN, huge integers, wrong claim types.
REJECTED = [
    ("deep", b'{"meta":' + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}", "DECODE_ERROR"),
    ("deep-list", b'{"x":' + b"[" * 40 + b"]" * 40 + b"}", "DECODE_ERROR"),
    ("nan", b'{"tid":"t","meta":{"n":NaN}}', "DECODE_ERROR"),
    ("infinity", b'{"tid":"t","exp":Infinity}', "DECODE_ERROR"),
    ("huge-int", b'{"tid":"t","meta":{"n":' + b"9" * 700 + b"}}", "DECODE_ERROR"),
    ("bad-utf8", b'{"tid":"\xff"}', "DECODE_ERROR"),
    ("not-json", b'{"tid":', "DECODE_ERROR"),
    ("array", b"[1,2]", "INVALID_CLAIMS"),
    ("tid-int", b'{"tid":5}', "INVALID_CLAIMS"),
    ("scp-str", b'{"scp":"admin"}', "INVALID_CLAIMS"),
    ("exp-negative", b'{"exp":-1}', "INVALID_CLAIMS"),
    ("meta-list", b'{"meta":[1]}', "INVALID_CLAIMS"),
]


def test_returns_claims_marked_unverified(apikee) -> None:
    key = apikee.create("acme", scopes=["read"], meta={"l": [1, {"k": "v"}]})
    claims = decode_unverified(key)
    assert isinstance(claims, ApikeeClaims)
    assert claims.verified is False and apikee.verify(key).verified is True
    assert "verified=False" in repr(claims)
    assert claims.tenant == "acme" and claims.scopes == ["read"]
    assert claims.meta == {"l": [1, {"k": "v"}]}
    assert claims.raw_key == key
    assert claims.to_dict() == apikee.verify(key).to_dict()
    assert claims != apikee.verify(key)  # equal values, but one was never verified


def test_does_not_check_signature_or_time(apikee) -> None:
    expired = apikee.create("acme", expires_in=datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert decode_unverified(expired).tenant == "acme"
    forged = expired.rpartition(".")[0] + ".abc"
    assert decode_unverified(forged).tenant == "acme"


@pytest.mark.parametrize(
    ("payload", "code"), [(p, c) for _, p, c in REJECTED], ids=[name for name, _, _ in REJECTED]
)
def test_rejects_what_verify_rejects(make_apikee, core, payload, code) -> None:
    key = signed_key(core, payload)
    with pytest.raises(ApikeeError) as verified:
        make_apikee(secret=SECRET).verify(key)
    with pytest.raises(ApikeeError) as inspected:
        decode_unverified(key)
    assert verified.value.code == inspected.value.code == code
    assert verified.value.message == inspected.value.message


json_values = json_trees(
    json_scalars(st.text(max_size=5)), keys=st.text(max_size=3), max_size=3, max_leaves=12
)


@given(
    claims=st.dictionaries(
        st.sampled_from(["id", "tid", "scp", "env", "exp", "nbf", "meta", "x"]),
        json_values,
        max_size=6,
    )
)
def test_agrees_with_verify_on_arbitrary_payloads(make_apikee, core, claims) -> None:
    payload = json.dumps(claims, separators=(",", ":")).encode()
    key = signed_key(core, payload)
    try:
        expected = ("ok", make_apikee(secret=SECRET).verify(key, now=0).to_dict())
    except ApikeeError as exc:
        expected = ("error", exc.code)
    if expected[0] == "error" and expected[1] in ("EXPIRED", "NOT_YET_VALID"):
        expected = ("ok", json.loads(payload))  # time is not checked when inspecting
    try:
        got = ("ok", decode_unverified(key).to_dict())
    except ApikeeError as exc:
        got = ("error", exc.code)
    assert got == expected


def test_create_refuses_a_window_that_can_never_be_valid(apikee) -> None:
    later = datetime.now(timezone.utc) + timedelta(days=10)
    with pytest.raises(ValueError, match="never be valid"):
        apikee.create("acme", not_before=later, expires_in="1h")
    with pytest.raises(ValueError, match="never be valid"):
        apikee.create("acme", not_before=later, expires_in=later)
    key = apikee.create("acme", not_before=later, expires_in=timedelta(days=11))
    assert decode_unverified(key).nbf is not None
    assert apikee.create("acme", not_before=later, expires_in=None)  # no expiry: fine


def test_implementation_is_one_of_two() -> None:
    assert package.IMPLEMENTATION in ("native", "pure")
