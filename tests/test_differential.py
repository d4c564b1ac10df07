"""Native against pure: equal results and equal exceptions on random and hostile input.

These tests need both implementations at once, so they carry the ``native`` mark (deselected by
``--no-native``) instead of running through the ``impl`` fixture.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import json_scalars, json_trees
from support import verify_outcome

from apikee import ApikeeError
from apikee._core import load_backend
from apikee._wire import ALPHABET, PREFIX

pytestmark = pytest.mark.native

try:
    native = load_backend("native")
except ImportError as exc:  # a pure-only install: these tests are deselected by --no-native
    native = None
    NATIVE_ERROR = str(exc)
pure = load_backend("pure")

NOW = 1_800_000_000
secrets_st = st.lists(st.binary(min_size=1, max_size=80), min_size=1, max_size=5)
json_values = json_trees(
    json_scalars(st.text()), keys=st.text(max_size=8), max_size=4, max_leaves=12
)
claims_st = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=24) | json_values,
        "tid": st.text() | json_values,
        "scp": st.lists(st.text(max_size=10), max_size=4) | json_values,
        "env": st.sampled_from(["production", "staging"]) | json_values,
        "exp": st.integers(NOW - 100, NOW + 100) | st.floats() | json_values,
        "nbf": st.integers(NOW - 100, NOW + 100) | json_values,
        "meta": st.dictionaries(st.text(max_size=8), json_values, max_size=4) | json_values,
        "extra": json_values,
    },
)


@pytest.fixture(autouse=True)
def _native_is_required() -> None:
    if native is None:  # selected without --no-native: the extension must be there
        pytest.fail(f"the native extension is not importable ({NATIVE_ERROR})")


def _call(function, *args):
    try:
        return ("ok", function(*args))
    except (TypeError, ValueError) as exc:  # the codec's documented exceptions
        return ("raise", type(exc).__name__, str(exc))


def _key(payload: bytes, signature: bytes) -> str:
    signature = signature.lstrip(b"\x00")
    return PREFIX + pure.b62encode(payload) + "." + pure.b62encode(signature)


def _same(secrets, key, now=NOW):
    left = verify_outcome(native.Verifier(secrets), key, now)
    right = verify_outcome(pure.Verifier(secrets), key, now)
    assert left == right
    return left


# ── codec ───────────────────────────────────────────────────────────────────────────────────


@given(st.binary(max_size=300))
def test_encode_equal(data: bytes) -> None:
    assert native.b62encode(data) == pure.b62encode(data)
    assert native.b62encode(bytearray(data)) == pure.b62encode(memoryview(data))


@given(st.text(max_size=200) | st.text(alphabet=ALPHABET, max_size=300))
def test_decode_equal_including_errors(text: str) -> None:
    assert _call(native.b62decode, text) == _call(pure.b62decode, text)


@given(st.binary(max_size=300))
def test_mixed_pairs_round_trip(data: bytes) -> None:
    assert pure.b62decode(native.b62encode(data)) == data
    assert native.b62decode(pure.b62encode(data)) == data


@given(
    st.one_of(st.integers(), st.text(max_size=3), st.none(), st.lists(st.integers(), max_size=2))
)
def test_codec_type_errors_equal(value) -> None:
    assert _call(native.b62encode, value) == _call(pure.b62encode, value)
    if not isinstance(value, str):
        assert _call(native.b62decode, value) == _call(pure.b62decode, value)


@given(st.binary(max_size=40), st.binary(max_size=40))
def test_constant_time_compare_equal(a: bytes, b: bytes) -> None:
    assert native.constant_time_compare(a, b) == pure.constant_time_compare(a, b) == (a == b)
    assert native.constant_time_compare(a, a) and pure.constant_time_compare(a, a)


# ── verify ──────────────────────────────────────────────────────────────────────────────────


@given(st.text(max_size=300) | st.binary(max_size=300), secrets_st)
def test_arbitrary_keys(key, secrets) -> None:
    _same(secrets, key)


@given(st.text(alphabet=ALPHABET + "._", max_size=120).map(lambda s: PREFIX + s), secrets_st)
def test_key_shaped_text(key, secrets) -> None:
    _same(secrets, key)


@given(claims_st, secrets_st, st.data())
def test_signed_claims_with_rotation(claims, secrets, data) -> None:
    """Arbitrary claims, signed by one of 1-5 secrets (or by none), verified at various times."""
    try:
        payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=data.draw(st.booleans()))
        payload = payload.encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        assume(False)
    signer = data.draw(st.sampled_from(secrets + [b"not-configured"]))
    key = _key(payload, pure.Verifier([signer]).sign(payload))
    now = data.draw(st.integers(NOW - 200, NOW + 200) | st.floats(NOW - 200, NOW + 200))
    _same(secrets, key, now)
    _same(secrets, key.encode("ascii"), now)


@given(st.binary(min_size=1, max_size=400), st.binary(min_size=1, max_size=40))
def test_signed_arbitrary_payloads(payload, secret) -> None:
    """Any bytes that pass the signature: JSON, MessagePack or garbage, same answer."""
    assume(payload[0] != 0)
    key = _key(payload, pure.Verifier([secret]).sign(payload))
    _same([secret], key)


@given(
    st.sampled_from(
        [
            b'{"id":"x","tid":"t","scp":["a"],"exp":1800000000}',
            b'{"tid":"t","meta":{"a":[1,2,{"b":null}],"c":true,"d":false}}',
            b'{"tid":"Z\\u00fcrich","scp":["a","b"]}',
            b'  {"tid" : "t" , "scp" : [ ] }  ',
            b'{"exp":1.8e9}',
            b'{"exp":-0}',
            b'{"exp":01}',
            b'{"a":' + b"[" * 40 + b"]" * 40 + b"}",
            b'{"tid":"t","tid":"u"}',
            b'{"x":12345678901234567890}',
            b'{"x":"\x7f"}',
            b'{"x":"\t"}',
            b'{"x":"\xc3\xa9"}',
            b'{"x":"\xc3"}',
            b'{"x":NaN}',
            b'{"exp":Infinity}',
            b'{"a":1}x',
            b'{"a":tru}',
            b'{"a":-}',
            b'{"a" 1}',
            b"{,}",
            b'{"a":1,}',
            b"[]",
            b'"s"',
            b"123",
            # the one-pass claims reader: unknown names, meta of every type, duplicates, depth
            b'{"meta":{"a":1},"meta":[1]}',
            b'{"meta":[1],"meta":{}}',
            b'{"meta":null}',
            b'{"meta":"x"}',
            b'{"\xc3\xa9":1,"tid":"t"}',
            b'{"\xff":1}',
            b'{"x":{"y":[true,false,null]}}',
            b'{"tid":"a","tid":"b","scp":["x"],"scp":["y"]}',
            b'{"id":1}',
            b'{"scp":[1]}',
            b'{"exp":1800000000,"exp":"x"}',
            b'{"x":"\xc3\xa9","tid":"\xe2\x82\xac"}',
            b'{"meta":' + b"[" * 30 + b"]" * 30 + b"}",
            b'{"meta":' + b"[" * 31 + b"]" * 31 + b"}",
            b'{"meta":' + b"[" * 32 + b"]" * 32 + b"}",
            b'{"x":' + b'{"a":' * 31 + b"1" + b"}" * 31 + b"}",
            b'{"scp":' + b"[" * 31 + b"]" * 31 + b"}",
            b'{"scp":' + b"[" * 32 + b"]" * 32 + b"}",
            b'{"x":123456789012345678}',
            b'{"x":1234567890123456789}',
            b'{"x":-0,"y":0}',
            b'{"meta":{"k":"\t"}}',
            b'{"x":[1,]}',
            b'{"x":{"a":1,}}',
            b'{"x":{1:2}}',
            b"{} ",
        ]
    ),
    st.binary(min_size=1, max_size=33),
)
def test_parser_edge_cases(payload, secret) -> None:
    key = _key(payload, pure.Verifier([secret]).sign(payload))
    _same([secret], key)


@given(claims_st, st.data())
def test_mutated_keys(claims, data) -> None:
    payload = json.dumps(claims, separators=(",", ":")).encode()
    secret = b"k" * 32
    key = _key(payload, pure.Verifier([secret]).sign(payload))
    chars = list(key)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(chars)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        char = data.draw(st.sampled_from(list(ALPHABET + "._-+/= \x00é\u2024\ud800")))
        if action == "insert":
            chars.insert(position, char)
        elif chars and position < len(chars):
            if action == "delete":
                del chars[position]
            else:
                chars[position] = char
    _same([secret], "".join(chars))


@given(st.integers(1, 60), st.integers(0, 9000))
def test_length_limits(max_length, length) -> None:
    key = "apikee_" + "a" * length
    left = verify_outcome(native.Verifier([b"s"], max_length), key, NOW)
    right = verify_outcome(pure.Verifier([b"s"], max_length), key, NOW)
    assert left == right


def test_non_string_inputs_equal() -> None:
    class Weird:
        def __bool__(self):
            raise RuntimeError("no")

        def __len__(self):
            raise RuntimeError("no")

    class Text(str):
        def startswith(self, *args):
            return True

    class Raw(bytes):
        def decode(self, *args):
            return "apikee_x.y"

    for value in [
        None,
        0,
        1.5,
        [],
        {},
        object(),
        Weird(),
        bytearray(b"apikee_a.b"),
        memoryview(b"apikee_a.b"),
        Text("nope"),
        Raw(b"nope"),
        "",
        b"",
    ]:
        _same([b"s" * 32], value)


def test_signatures_wider_than_32_bytes() -> None:
    payload = b'{"tid":"t"}'
    too_big = (2**256).to_bytes(33, "big")
    key = f"apikee_{pure.b62encode(payload)}.{pure.b62encode(too_big)}"
    assert _same([b"s"], key)[1] == "INVALID_SIGNATURE"


def test_claims_objects_behave_alike() -> None:
    payload = b'{"id":"i","tid":"t","scp":["a","b:*"],"exp":1800000000,"meta":{"k":[1]}}'
    key = _key(payload, pure.Verifier([b"s"]).sign(payload))
    left, right = native.Verifier([b"s"]).verify(key, NOW), pure.Verifier([b"s"]).verify(key, NOW)
    for claims in (left, right):
        with pytest.raises(AttributeError):
            claims.tenant = "x"
        claims.meta["k"] = 2  # plain data of its own: mutable, and it changes nothing else
        assert claims.to_dict()["meta"] == {"k": [1]}
    assert left.meta == right.meta == {"k": 2}
    assert left.to_json_dict() == right.to_json_dict()
    assert left == right and type(left) is not type(right)
    assert left.expires_at == right.expires_at and left.not_before == right.not_before
    assert left.has_scopes("a", "b:c") == right.has_scopes("a", "b:c") is True
    assert left.has_scopes("z", "a", any_of=True) == right.has_scopes("z", "a", any_of=True) is True
    assert repr(left) == repr(right)


@given(
    st.lists(st.sampled_from(["a", "b", "res:x", "res:*", "*", ""]), max_size=3),
    st.lists(st.sampled_from(["a", "b", "res:x", "res:y", "c"]), max_size=3),
    st.booleans(),
    st.sampled_from([None, "production", "staging"]),
    st.booleans(),
)
def test_later_checks_equal(granted, required, any_of, environment, revoke) -> None:
    """REVOKED, INSUFFICIENT_SCOPE and WRONG_ENVIRONMENT: same order, codes and messages."""
    payload = json.dumps({"tid": "t", "scp": granted, "env": "production"}).encode()
    key = _key(payload, pure.Verifier([b"s"]).sign(payload))
    options = {
        "environment": environment,
        "is_revoked": (lambda claims: revoke) if revoke else None,
    }
    left = right = None
    for module in (native, pure):
        try:
            result = (
                "ok",
                module.Verifier([b"s"], **options)
                .verify(key, NOW, scopes=required, any_of=any_of)
                .tenant,
            )
        except ApikeeError as exc:
            result = ("error", exc.code, exc.message)
        left, right = right, result
    assert left == right


@pytest.mark.parametrize("now", [float("nan"), float("inf"), "1", True, None, 1, 1.5, -3])
def test_now_validation_equal(now) -> None:
    payload = b'{"tid":"t"}'
    key = _key(payload, pure.Verifier([b"s"]).sign(payload))
    results = []
    for module in (native, pure):
        try:
            results.append(("ok", module.Verifier([b"s"]).verify(key, now).tenant))
        except TypeError as exc:
            results.append(("TypeError", str(exc)))
    assert results[0] == results[1]


# ── the JSON fast path of _payload.load_json (short payloads skip two hooks) ────────────────


def _load_outcome(load, payload: bytes):
    try:
        return ("ok", load(payload))
    except ApikeeError as exc:
        return ("error", exc.code, exc.message)


def _load_every_hook(payload: bytes):
    """load_json without its fast path: the integer hook and the depth walk always run."""
    from apikee import _payload

    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ApikeeError("DECODE_ERROR", _payload.MSG_BAD_UTF8) from None
    try:
        value = _payload._DECODER.decode(text)
    except (ValueError, RecursionError):
        raise ApikeeError("DECODE_ERROR", _payload.MSG_BAD_JSON) from None
    return _payload._checked(value)


def _assert_fast_path_agrees(payload: bytes) -> None:
    from apikee._payload import load_json

    assert _load_outcome(load_json, payload) == _load_outcome(_load_every_hook, payload)


_LIMIT_PAYLOADS = [
    b"[" * 32 + b"]" * 32,  # depth 32: allowed
    b"[" * 33 + b"]" * 33,  # depth 33: refused (33 brackets: not the fast path)
    b"{" + b'"a":' * 0 + b'"x":' + b"[" * 31 + b"]" * 31 + b"}",
    b'{"a":"' + b"[" * 40 + b'"}',  # brackets inside a string: counted, still correct
    b'{"n":' + b"9" * 633 + b"}",  # 640 bytes, 633 digits
    b'{"n":' + b"9" * 634 + b"}",  # 641 bytes: general path
    b'{"n":' + b"9" * 640 + b"}",  # the longest integer allowed
    b'{"n":' + b"9" * 641 + b"}",  # one digit too many
    b'{"n":-' + b"9" * 640 + b"}",
    b'{"n":-' + b"9" * 641 + b"}",
    b'{"n":NaN}',
    b'{"n":Infinity}',
    b'{"n":-Infinity}',
    b'{"n":1e400}',
    b'{"n":-1e400}',
    b'{"n":1e308}',
    b'{"n":1.5,"m":-0,"o":0.0}',
    b'{"a":[{"b":[{"c":[]}]}]}',
    b"",
    b"{",
    b'{"a":1}x',
    b' {"a":1} ',
    b'{"a":1} ',
    b'\n\t{"a":1}',
    b'{"a":1}{"b":2}',
    b'{"a":1},',
    b"[]",
    b"1",
    b"-",
    b'{"a":tru}',
    b'{"a":"\\ud800"}',
    b'"\xff"',
]


@pytest.mark.parametrize("payload", _LIMIT_PAYLOADS)
def test_payload_fast_path_agrees_at_the_limits(payload: bytes) -> None:
    _assert_fast_path_agrees(payload)


@given(
    depth=st.integers(0, 40),
    digits=st.integers(1, 700),
    sign=st.sampled_from([b"", b"-"]),
    kind=st.sampled_from([b"[", b"{"]),
    pad=st.integers(0, 80),
)
def test_payload_fast_path_agrees_on_nesting_and_long_integers(depth, digits, sign, kind, pad):
    number = sign + b"1" + b"0" * (digits - 1)
    if kind == b"[":
        payload = b"[" * depth + number + b"]" * depth
    else:
        payload = b'{"k":' * depth + number + b"}" * depth
    _assert_fast_path_agrees(b" " * pad + payload)
    # and through both verifiers, when it is a claims object
    if kind == b"{" and depth:
        secrets = [b"s"]
        _same(
            secrets, _key(b" " * pad + payload, pure.Verifier(secrets).sign(b" " * pad + payload))
        )


@pytest.mark.parametrize("size", [700, 730, 760, 1000, 1480, 2900])
@pytest.mark.parametrize("forged", [False, True])
def test_long_keys_without_the_gil_agree(size: int, forged: bool) -> None:
    # Keys of >= 1024 characters are decoded and authenticated with the GIL released (native).
    payload = json.dumps({"tid": "t", "meta": {"pad": "x" * size}}, separators=(",", ":")).encode()
    secrets = [b"a" * 32, b"b" * 32]
    signature = pure.Verifier([b"forger" * 6] if forged else secrets[1:]).sign(payload)
    key = _key(payload, signature)
    for limit in (len(key), 8192):
        left = verify_outcome(native.Verifier(secrets, limit), key, NOW)
        assert left == verify_outcome(pure.Verifier(secrets, limit), key, NOW)
        assert left[0] == ("error" if forged else "ok")
