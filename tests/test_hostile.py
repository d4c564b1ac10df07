"""Hostile input: ``verify`` returns claims or raises ApikeeError, nothing else, on both twins.

The signed-payload tests sign arbitrary bytes with the secret themselves, so they reach the
parsing and claim checks (SPEC section 2, steps 7-9) that forged keys never get to.
"""

from __future__ import annotations

import json
import math
import pickle
import sys

import msgpack
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import json_scalars, json_trees
from support import OLD_SECRET, SECRET, case_id, signed_key

from apikee import ApikeeError, ErrorCode, hash_key
from apikee._wire import ALPHABET, MAX_TIMESTAMP

NOW = 1_800_000_000
CODES = {v for k, v in vars(ErrorCode).items() if k.isupper()}
VERIFY_CODES = CODES - {"REVOKED", "INSUFFICIENT_SCOPE", "WRONG_ENVIRONMENT"}
MB = 1 << 20


# ── helpers ─────────────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def verifier(make_apikee):
    """Default options, the reference secrets."""
    return make_apikee(secrets=[SECRET, OLD_SECRET])


@pytest.fixture(scope="module")
def roomy(make_apikee):
    """Accepts keys up to 64 KiB, for payloads bigger than the default 2048 characters allow."""
    return make_apikee(secrets=[SECRET], max_key_length=1 << 16)


@pytest.fixture(scope="module")
def valid_keys(verifier, core) -> list[str]:
    keys = [
        verifier.create("acme", scopes=["read", "write"]),
        verifier.create(
            "Zürich \U0001f600", meta={"plan": "pro", "n": [1, 2.5, None]}, expires_in=None
        ),
        verifier.create("", environment="staging", not_before=0),
    ]
    for i in range(20_000):  # and one whose signature has a leading zero byte (~1 in 256)
        key = verifier.create(f"t{i}")
        if len(core.b62decode(key.rpartition(".")[2])) < 32:
            keys.append(key)
            break
    return keys


def outcome(apikee, key, now=NOW):
    """The claims, or the ApikeeError code; any other exception fails the test loudly."""
    try:
        claims = apikee.verify(key, now=now)
    except ApikeeError as exc:
        assert exc.code in VERIFY_CODES, exc.code
        assert isinstance(exc.message, str) and exc.message
        return exc.code
    except BaseException as exc:  # noqa: BLE001 - exactly what must never happen
        pytest.fail(f"{type(exc).__name__} escaped verify(): {exc!r}")
    assert type(claims).__name__ == "ApikeeClaims"  # the class of whichever twin is tested
    return claims


def protect_outcome(apikee, value):
    try:
        apikee.protect(value)
    except ApikeeError as exc:
        return exc.code
    except BaseException as exc:  # noqa: BLE001
        pytest.fail(f"{type(exc).__name__} escaped protect(): {exc!r}")
    return "valid"


def code_of(apikee, key, now=NOW) -> str:
    result = outcome(apikee, key, now)
    return result if isinstance(result, str) else "valid"


# ── arbitrary text and bytes ────────────────────────────────────────────────────────────────


@given(text=st.text(max_size=200))
def test_arbitrary_text(verifier, text: str) -> None:
    result = code_of(verifier, text)
    assert result != "valid"
    if not text:
        assert result == "MISSING_KEY"
    elif not text.startswith("apikee_"):
        assert result == "INVALID_PREFIX"


@given(text=st.text(max_size=200))
def test_arbitrary_text_after_the_prefix(verifier, text: str) -> None:
    result = code_of(verifier, "apikee_" + text)
    assert result in {"INVALID_FORMAT", "DECODE_ERROR", "INVALID_SIGNATURE"}
    payload, _, signature = text.partition(".")
    if not payload or not signature or "." in signature:
        assert result == "INVALID_FORMAT"


@given(
    payload=st.text(ALPHABET, min_size=1, max_size=120),
    signature=st.text(ALPHABET, min_size=1, max_size=60),
)
def test_well_formed_forgeries_are_rejected(verifier, payload: str, signature: str) -> None:
    result = code_of(verifier, f"apikee_{payload}.{signature}")
    if payload[0] == "0" or signature[0] == "0":
        assert result == "DECODE_ERROR"
    else:
        assert result == "INVALID_SIGNATURE"


@given(data=st.binary(max_size=200))
def test_arbitrary_bytes(verifier, data: bytes) -> None:
    assert code_of(verifier, data) != "valid"
    assert code_of(verifier, b"apikee_" + data) != "valid"


@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_to_protect(verifier, data: bytes) -> None:
    assert protect_outcome(verifier, data) != "valid"


# ── non-string objects ──────────────────────────────────────────────────────────────────────


class Boom(Exception):
    """Raised by the booby-trapped objects below; must never escape verify()."""


def _boom(*args, **kwargs):
    raise Boom("booby trap")


class RaisingEq:
    __eq__ = _boom
    __ne__ = _boom
    __hash__ = object.__hash__


class RaisingBool:
    __bool__ = _boom


class RaisingLen:
    __len__ = _boom


class RaisingEverything:
    __eq__ = __ne__ = __bool__ = __len__ = __str__ = __repr__ = __format__ = _boom
    __hash__ = _boom
    __iter__ = __getitem__ = __contains__ = __bytes__ = __index__ = __int__ = _boom
    __fspath__ = _boom


class PretendsToBeStr:
    """``isinstance(x, str)`` consults ``__class__``: this object passes it without being one."""

    @property
    def __class__(self):
        return str


class PretendsToBeBytes:
    @property
    def __class__(self):
        return bytes


class RaisingClass:
    @property
    def __class__(self):
        raise Boom("__class__")


# Factories, not instances: pytest itself would trip over the booby traps while collecting.
NON_STRINGS = [
    lambda: 0,
    lambda: 1,
    lambda: -1,
    lambda: 10**100,
    lambda: 0.0,
    lambda: float("nan"),
    lambda: True,
    lambda: False,
    list,
    lambda: ["apikee_abc.def"],
    lambda: (),
    dict,
    lambda: {"key": "apikee_abc.def"},
    lambda: set(),
    lambda: frozenset({"apikee_abc.def"}),
    lambda: bytearray(b"apikee_abc.def"),
    lambda: memoryview(b"apikee_abc.def"),
    lambda: object(),
    lambda: object,
    lambda: str,
    lambda: len,
    lambda: Exception("apikee_abc.def"),
    lambda: RaisingEq(),
    lambda: RaisingBool(),
    lambda: RaisingLen(),
    lambda: RaisingEverything(),
    lambda: PretendsToBeStr(),
    lambda: PretendsToBeBytes(),
    lambda: RaisingClass(),
]


NON_STRING_IDS = [f"{i}-{type(make()).__name__}" for i, make in enumerate(NON_STRINGS[:-3])] + [
    "pretends-to-be-str",
    "pretends-to-be-bytes",
    "raising-class",
]


@pytest.mark.parametrize("make", NON_STRINGS, ids=NON_STRING_IDS)
def test_non_string_objects_are_invalid_format(verifier, make) -> None:
    assert code_of(verifier, make()) == "INVALID_FORMAT"


@pytest.mark.parametrize("make", NON_STRINGS, ids=NON_STRING_IDS)
def test_non_string_objects_to_protect(verifier, make) -> None:
    assert protect_outcome(verifier, make()) in {"INVALID_FORMAT", "MISSING_KEY"}


def test_none_and_empty_are_missing_key(verifier) -> None:
    for value in (None, "", b""):
        assert code_of(verifier, value) == "MISSING_KEY"


def _str_subclasses():
    overrides = [
        "startswith",
        "partition",
        "split",
        "encode",
        "isascii",
        "translate",
        "__len__",
        "__getitem__",
        "__iter__",
        "__contains__",
        "__eq__",
        "__hash__",
        "__str__",
        "__bool__",
        "__add__",
        "__format__",
        "__repr__",
        "find",
        "index",
        "count",
        "strip",
    ]
    for name in overrides:
        yield pytest.param(type(f"Str_{name}", (str,), {name: _boom}), id=f"str-{name}")


def _bytes_subclasses():
    overrides = [
        "startswith",
        "partition",
        "split",
        "decode",
        "isascii",
        "translate",
        "__len__",
        "__getitem__",
        "__iter__",
        "__contains__",
        "__eq__",
        "__hash__",
        "__str__",
        "__bool__",
        "__bytes__",
        "__add__",
        "find",
        "index",
        "strip",
    ]
    for name in overrides:
        yield pytest.param(type(f"Bytes_{name}", (bytes,), {name: _boom}), id=f"bytes-{name}")


@pytest.mark.parametrize("cls", list(_str_subclasses()))
def test_str_subclasses_are_read_by_value(verifier, valid_keys, cls) -> None:
    key = valid_keys[0]
    claims = outcome(verifier, cls(key), now=None)
    assert not isinstance(claims, str), claims
    assert type(claims.raw_key) is str and claims.raw_key == key
    assert code_of(verifier, cls("apikee_abc.def")) == "INVALID_SIGNATURE"
    assert code_of(verifier, cls("")) == "MISSING_KEY"
    assert protect_outcome(verifier, cls(key)) == "valid"
    assert protect_outcome(verifier, cls("")) == "MISSING_KEY"


@pytest.mark.parametrize("cls", list(_bytes_subclasses()))
def test_bytes_subclasses_never_raise_anything_else(verifier, valid_keys, cls) -> None:
    key = valid_keys[0]
    result = outcome(verifier, cls(key.encode()), now=None)
    if not isinstance(result, str):
        assert result.raw_key == key and type(result.raw_key) is str
    assert code_of(verifier, cls(b"apikee_abc.def")) in {"INVALID_SIGNATURE", "INVALID_FORMAT"}
    assert code_of(verifier, cls(b"")) in {"MISSING_KEY", "INVALID_FORMAT"}
    assert protect_outcome(verifier, cls(key.encode())) in {"valid", "INVALID_FORMAT"}
    assert protect_outcome(verifier, cls(b"")) in {"MISSING_KEY", "INVALID_FORMAT"}


# ── 1 MB keys: rejected on length, before any decoding ──────────────────────────────────────


@pytest.mark.parametrize(
    "key",
    [
        "apikee_" + "a" * MB + ".b",
        ("apikee_" + "a" * MB + ".b").encode(),
        "x" * MB,
        b"\xff" * MB,
        "\ud800" * MB,
        "apikee_" + "\U0001f600" * MB,
        "apikee_" + "." * MB,
        "apikee_" + "0" * MB + ".1",
    ],
    ids=["str", "bytes", "no-prefix", "non-ascii-bytes", "surrogates", "astral", "dots", "zeros"],
)
def test_one_megabyte_key_is_invalid_format(verifier, key) -> None:
    assert code_of(verifier, key) == "INVALID_FORMAT"
    assert protect_outcome(verifier, key) == "INVALID_FORMAT"


def test_length_limit_is_inclusive(verifier, make_apikee) -> None:
    limit = verifier.max_key_length
    at_limit = "apikee_" + "a" * (limit - 9) + ".b"
    assert len(at_limit) == limit
    assert code_of(verifier, at_limit) == "INVALID_SIGNATURE"
    assert code_of(verifier, at_limit + "c") == "INVALID_FORMAT"
    assert code_of(verifier, at_limit.encode()) == "INVALID_SIGNATURE"
    assert code_of(verifier, (at_limit + "c").encode()) == "INVALID_FORMAT"


# ── mutations of valid keys ─────────────────────────────────────────────────────────────────

CONFUSABLES = {
    "a": "\u0430",  # CYRILLIC SMALL LETTER A
    "e": "\u0435",
    "o": "\u043e",
    "p": "\u0440",
    "i": "\u0456",
    "k": "\u03ba",  # GREEK SMALL LETTER KAPPA
    "0": "O",
    "O": "0",
    "1": "l",
    "l": "1",
    "I": "l",
    "_": "\uff3f",  # FULLWIDTH LOW LINE
    ".": "\uff0e",  # FULLWIDTH FULL STOP
    "A": "\u0391",  # GREEK CAPITAL ALPHA
    "B": "\u0392",
}

MUTATION_KINDS = [
    "insert",
    "insert-alnum",
    "delete",
    "replace",
    "replace-alnum",
    "swap-fields",
    "zeros-payload",
    "zeros-signature",
    "truncate",
    "duplicate-dot",
    "confusable",
    "flip-case",
    "append-space",
    "prepend-space",
    "extra-dot-field",
    "nul",
]


def mutate(key: str, kind: str, pos: int, char: str) -> str:
    prefix, body = key[:7], key[7:]
    payload, _, signature = body.partition(".")
    at = pos % (len(key) + 1)
    if kind == "insert":
        return key[:at] + char + key[at:]
    if kind == "insert-alnum":
        return key[:at] + ALPHABET[pos % 62] + key[at:]
    if kind == "delete":
        return key[: at % len(key)] + key[at % len(key) + 1 :]
    if kind == "replace":
        i = at % len(key)
        return key[:i] + char + key[i + 1 :]
    if kind == "replace-alnum":
        i = at % len(key)
        return key[:i] + ALPHABET[pos % 62] + key[i + 1 :]
    if kind == "swap-fields":
        return f"{prefix}{signature}.{payload}"
    if kind == "zeros-payload":
        return f"{prefix}{'0' * (1 + pos % 5)}{payload}.{signature}"
    if kind == "zeros-signature":
        return f"{prefix}{payload}.{'0' * (1 + pos % 5)}{signature}"
    if kind == "truncate":
        return key[:at]
    if kind == "duplicate-dot":
        return key.replace(".", "..", 1)
    if kind == "confusable":
        spots = [i for i, ch in enumerate(key) if ch in CONFUSABLES]
        if not spots:  # an earlier step left none: add one (the key must still fail)
            return key + CONFUSABLES["a"]
        i = spots[pos % len(spots)]
        return key[:i] + CONFUSABLES[key[i]] + key[i + 1 :]
    if kind == "flip-case":
        i = at % len(key)
        return key[:i] + key[i].swapcase() + key[i + 1 :]
    if kind == "append-space":
        return key + char if char.isspace() else key + " "
    if kind == "prepend-space":
        return " " + key
    if kind == "extra-dot-field":
        return f"{key}.{signature}"
    if kind == "nul":
        return key[:at] + "\x00" + key[at:]
    raise AssertionError(kind)


@given(
    which=st.integers(0, 3),
    steps=st.lists(
        st.tuples(st.sampled_from(MUTATION_KINDS), st.integers(0, 10_000), st.characters()),
        min_size=1,
        max_size=4,
    ),
    as_bytes=st.booleans(),
)
def test_mutated_keys_never_verify(verifier, valid_keys, which, steps, as_bytes) -> None:
    key = valid_keys[which % len(valid_keys)]
    mutated = key
    for kind, pos, char in steps:
        mutated = mutate(mutated, kind, pos, char) if mutated else mutated
    candidate = mutated.encode("utf-8", "surrogatepass") if as_bytes else mutated
    result = code_of(verifier, candidate, now=None)
    if candidate in (key, key.encode()):
        assert result == "valid"
    else:
        assert result != "valid", f"a changed key verified: {mutated!r}"


@pytest.mark.parametrize(
    "kind, code",
    [
        ("zeros-payload", "DECODE_ERROR"),
        ("zeros-signature", "DECODE_ERROR"),
        ("swap-fields", "INVALID_SIGNATURE"),
        ("duplicate-dot", "INVALID_FORMAT"),
        ("extra-dot-field", "INVALID_FORMAT"),
        ("append-space", "DECODE_ERROR"),
        ("prepend-space", "INVALID_PREFIX"),
    ],
)
def test_single_mutation_codes(verifier, valid_keys, kind, code) -> None:
    for key in valid_keys:
        assert code_of(verifier, mutate(key, kind, 0, " "), now=None) == code


def test_targeted_mutations(verifier, valid_keys) -> None:
    for key in valid_keys:
        payload, _, signature = key[7:].partition(".")
        cases = {
            key[:-1]: "INVALID_SIGNATURE",
            key + "z": "INVALID_SIGNATURE",
            f"apikee_{payload}.": "INVALID_FORMAT",
            f"apikee_{payload}": "INVALID_FORMAT",
            f"apikee_.{signature}": "INVALID_FORMAT",
            "apikee": "INVALID_PREFIX",
            "APIKEE_" + key[7:]: "INVALID_PREFIX",
            "apikee-" + key[7:]: "INVALID_PREFIX",
            "\u0430pikee_" + key[7:]: "INVALID_PREFIX",
            "apikee\uff3f" + key[7:]: "INVALID_PREFIX",
            "Bearer " + key: "INVALID_PREFIX",
            f"apikee_{payload}\uff0e{signature}": "INVALID_FORMAT",
            f"apikee_{payload}\u2024{signature}": "INVALID_FORMAT",  # ONE DOT LEADER
            f"apikee_{payload[:3]}\u0430{payload[4:]}.{signature}": "DECODE_ERROR",
            f"apikee_{payload[:3]}\u200b{payload[3:]}.{signature}": "DECODE_ERROR",  # zero-width space
            f"apikee_{payload}.{signature}\n": "DECODE_ERROR",
            f"apikee_{payload}.{signature}\x00": "DECODE_ERROR",
            f"apikee_{payload}.{signature}\r\n": "DECODE_ERROR",
            f"apikee_{payload}.{signature[:5]}\ud800{signature[5:]}": "DECODE_ERROR",
            f"apikee_{payload}.{signature}{signature}": "INVALID_SIGNATURE",  # > 32 bytes
            f"apikee_{payload}.{'z' * 43}": "INVALID_SIGNATURE",  # 43 digits, >= 2**256
            f"apikee_{payload}.{'1' * 44}": "INVALID_SIGNATURE",
            f"apikee_{payload}.{'1' * 1800}": "INVALID_SIGNATURE",  # long, within the default limit
        }
        for candidate, code in cases.items():
            assert code_of(verifier, candidate, now=None) == code, candidate
            assert (
                code_of(verifier, candidate.encode("utf-8", "surrogatepass"), now=None) == code
            ), candidate


def test_error_messages_never_contain_the_key(verifier, valid_keys) -> None:
    key = valid_keys[0]
    payload, _, signature = key[7:].partition(".")
    for candidate in (
        key[:-1],
        "0" + key[7:],
        key + "\n",
        f"apikee_{signature}.{payload}",
        key + "x" * 9000,
    ):
        try:
            verifier.verify(candidate)
        except ApikeeError as exc:
            for text in (str(exc), repr(exc), exc.message):
                assert payload not in text and signature[:-1] not in text
        else:
            pytest.fail("a mutated key verified")


# ── signed hostile payloads (the signature is genuine; parsing and claims must hold) ────────


HOSTILE_PAYLOADS = [
    # (name, payload, expected code)
    ("deep-array", b"[" * 5000, "DECODE_ERROR"),
    ("deep-object", b'{"a":' * 2000, "DECODE_ERROR"),
    ("deep-meta-unclosed", b'{"meta":' + b"[" * 5000, "DECODE_ERROR"),
    ("not-json", b"{not json", "DECODE_ERROR"),
    ("trailing-garbage", b"{}x", "DECODE_ERROR"),
    ("two-objects", b"{}{}", "DECODE_ERROR"),
    ("blank", b" ", "DECODE_ERROR"),
    ("single-quotes", b"{'tid':'t'}", "DECODE_ERROR"),
    ("trailing-comma", b'{"tid":"t",}', "DECODE_ERROR"),
    ("comment", b'{"tid":"t"/*x*/}', "DECODE_ERROR"),
    ("raw-control-char", b'{"tid":"a\x01b"}', "DECODE_ERROR"),
    ("nul-inside", b'{"tid":"t"}\x00', "DECODE_ERROR"),
    ("huge-int-exp", b'{"exp":' + b"9" * 5000 + b"}", "DECODE_ERROR"),
    ("huge-int-meta", b'{"meta":{"n":' + b"1" * 5000 + b"}}", "DECODE_ERROR"),
    ("nan-exp", b'{"exp":NaN}', "DECODE_ERROR"),  # NaN/Infinity are not JSON (RFC 8259)
    ("infinity-exp", b'{"exp":Infinity}', "DECODE_ERROR"),
    ("minus-infinity-nbf", b'{"nbf":-Infinity}', "DECODE_ERROR"),
    ("nan-in-meta", b'{"meta":{"x":NaN}}', "DECODE_ERROR"),
    ("overflowing-float-exp", b'{"exp":1e999}', "DECODE_ERROR"),  # not read as infinity
    ("overflowing-float-in-meta", b'{"meta":{"a":-1e999}}', "DECODE_ERROR"),
    ("overflowing-negative-exp", b'{"exp":-1e999}', "DECODE_ERROR"),
    ("invalid-utf8", b'{"tid":"\xff\xfe"}', "DECODE_ERROR"),
    ("overlong-utf8", b'{"tid":"\xc0\xaf"}', "DECODE_ERROR"),
    ("encoded-surrogate-utf8", b'{"tid":"\xed\xa0\x80"}', "DECODE_ERROR"),
    ("truncated-utf8", b'{"tid":"\xe2\x82"}', "DECODE_ERROR"),
    ("bom-json", b'\xef\xbb\xbf{"tid":"t"}', "DECODE_ERROR"),
    ("utf16-le-json", '{"tid":"t"}'.encode("utf-16-le"), "DECODE_ERROR"),
    ("utf16-bom-json", '{"tid":"t"}'.encode("utf-16"), "DECODE_ERROR"),
    ("utf32-le-json", '{"tid":"t"}'.encode("utf-32-le"), "DECODE_ERROR"),
    ("msgpack-never-used-byte", b"\xc1", "DECODE_ERROR"),
    ("msgpack-map-then-never-used", b"\x81\xc1", "DECODE_ERROR"),
    ("msgpack-truncated", b"\x82\xa3tid\xa1", "DECODE_ERROR"),
    ("msgpack-extra-data", msgpack.packb({"tid": "t"}) + b"\x01", "DECODE_ERROR"),
    ("msgpack-int-keys", msgpack.packb({1: "x"}), "DECODE_ERROR"),
    ("msgpack-deep", b"\x91" * 5000 + b"\x90", "DECODE_ERROR"),
    ("msgpack-huge-declared-length", b"\xdd\xff\xff\xff\xff", "DECODE_ERROR"),
    ("msgpack-huge-declared-map", b"\xdf\xff\xff\xff\xff", "DECODE_ERROR"),
    ("msgpack-huge-declared-str", b"\x81\xdb\xff\xff\xff\xff", "DECODE_ERROR"),
    ("msgpack-array", msgpack.packb([1, 2]), "INVALID_CLAIMS"),
    ("msgpack-str", msgpack.packb("claims"), "INVALID_CLAIMS"),
    # values JSON cannot represent: the payload is not JSON data (claims are plain JSON data)
    ("msgpack-bin-tid", msgpack.packb({"tid": b"t"}, use_bin_type=True), "DECODE_ERROR"),
    ("msgpack-ext-tid", msgpack.packb({"tid": msgpack.ExtType(5, b"t")}), "DECODE_ERROR"),
    ("msgpack-timestamp-exp", msgpack.packb({"exp": msgpack.Timestamp(5)}), "DECODE_ERROR"),
    ("msgpack-nan-exp", msgpack.packb({"exp": float("nan")}), "DECODE_ERROR"),
    ("msgpack-inf-exp", msgpack.packb({"exp": float("inf")}), "DECODE_ERROR"),
    ("msgpack-bool-exp", msgpack.packb({"exp": True}), "INVALID_CLAIMS"),
    ("msgpack-nil-nbf", msgpack.packb({"nbf": None}), "INVALID_CLAIMS"),
    ("msgpack-uint64-exp", msgpack.packb({"exp": 2**64 - 1}), "INVALID_CLAIMS"),
    ("msgpack-scp-tuple-of-int", msgpack.packb({"scp": [1]}), "INVALID_CLAIMS"),
    ("json-array", b"[1,2,3]", "INVALID_CLAIMS"),
    ("json-string", b'"claims"', "INVALID_CLAIMS"),
    ("json-number", b"12", "INVALID_CLAIMS"),
    ("json-null", b"null", "INVALID_CLAIMS"),
    ("json-true", b"true", "INVALID_CLAIMS"),
    ("bool-exp", b'{"exp":true}', "INVALID_CLAIMS"),
    ("false-nbf", b'{"nbf":false}', "INVALID_CLAIMS"),
    ("null-exp", b'{"exp":null}', "INVALID_CLAIMS"),
    ("string-exp", b'{"exp":"1800000100"}', "INVALID_CLAIMS"),
    ("list-exp", b'{"exp":[1800000100]}', "INVALID_CLAIMS"),
    ("negative-exp", b'{"exp":-1}', "INVALID_CLAIMS"),
    ("negative-float-exp", b'{"exp":-0.5}', "INVALID_CLAIMS"),
    ("tiny-negative-exp", b'{"exp":-5e-324}', "INVALID_CLAIMS"),
    ("negative-nbf", b'{"nbf":-1}', "INVALID_CLAIMS"),
    ("exp-past-9999", b'{"exp":253402300800}', "INVALID_CLAIMS"),
    ("float-exp-past-9999", b'{"exp":253402300799.5}', "INVALID_CLAIMS"),
    ("exp-1e300", b'{"exp":1e300}', "INVALID_CLAIMS"),
    ("exp-31-digits", b'{"exp":1000000000000000000000000000000}', "INVALID_CLAIMS"),
    ("nbf-past-9999", b'{"nbf":253402300800}', "INVALID_CLAIMS"),
    ("tid-int", b'{"tid":5}', "INVALID_CLAIMS"),
    ("tid-null", b'{"tid":null}', "INVALID_CLAIMS"),
    ("id-list", b'{"id":["x"]}', "INVALID_CLAIMS"),
    ("env-int", b'{"env":3}', "INVALID_CLAIMS"),
    ("env-null", b'{"env":null}', "INVALID_CLAIMS"),
    ("scp-string", b'{"scp":"read"}', "INVALID_CLAIMS"),
    ("scp-null", b'{"scp":null}', "INVALID_CLAIMS"),
    ("scp-object", b'{"scp":{}}', "INVALID_CLAIMS"),
    ("scp-mixed", b'{"scp":["read",1]}', "INVALID_CLAIMS"),
    ("scp-nested", b'{"scp":[["read"]]}', "INVALID_CLAIMS"),
    ("meta-list", b'{"meta":[1]}', "INVALID_CLAIMS"),
    ("meta-null", b'{"meta":null}', "INVALID_CLAIMS"),
    ("meta-string", b'{"meta":"x"}', "INVALID_CLAIMS"),
    ("bad-type-after-expired", b'{"exp":1,"tid":5}', "INVALID_CLAIMS"),  # claims before time
    ("expired-exp-zero", b'{"exp":0}', "EXPIRED"),
    ("expired-and-not-yet", b'{"exp":1700000000,"nbf":1900000000}', "EXPIRED"),  # EXPIRED first
    ("not-yet-valid", b'{"nbf":1800000001}', "NOT_YET_VALID"),
    ("not-yet-valid-float", b'{"nbf":1800000000.000001}', "NOT_YET_VALID"),
    ("duplicate-exp-last-wins-expired", b'{"exp":1900000000,"exp":1}', "EXPIRED"),
    ("minimal-object", b"{}", "valid"),
    ("whitespace-around", b' \n\t{"tid":"t"} \r\n', "valid"),
    ("exp-at-now", b'{"exp":1800000000}', "valid"),
    ("float-exp-at-now", b'{"exp":1800000000.0}', "valid"),
    ("exp-max", b'{"exp":253402300799}', "valid"),
    ("float-exp-max", b'{"exp":253402300799.0}', "valid"),
    ("exp-exponent-form", b'{"exp":1.9e9}', "valid"),
    ("nbf-zero", b'{"nbf":0}', "valid"),
    ("nbf-negative-zero", b'{"nbf":-0.0}', "valid"),
    ("nbf-tiny-float", b'{"nbf":5e-324}', "valid"),
    ("unknown-claims", b'{"iss":"x","aud":[1,{"a":null}],"exp2":"y"}', "valid"),
    ("unknown-huge-float", b'{"x":1e999}', "DECODE_ERROR"),
    ("escaped-nul", b'{"tid":"a\\u0000b"}', "valid"),
    (
        "lone-surrogate-escape",
        b'{"tid":"\\ud800","scp":["\\udfff"],"meta":{"\\udc80":"\\ud83d"}}',
        "valid",
    ),
    ("surrogate-pair-escape", b'{"tid":"\\ud83d\\ude00"}', "valid"),
    ("duplicate-keys", b'{"tid":"first","tid":"last"}', "valid"),
    ("duplicate-exp-last-wins-valid", b'{"exp":1,"exp":1900000000}', "valid"),
    ("msgpack-minimal", b"\x80", "valid"),
    (
        "msgpack-bin-in-meta",
        msgpack.packb({"meta": {"a": b"\x00"}}, use_bin_type=True),
        "DECODE_ERROR",
    ),
    (
        "msgpack-ext-in-meta",
        msgpack.packb({"meta": {"a": msgpack.ExtType(5, b"x")}}),
        "DECODE_ERROR",
    ),
    ("msgpack-nan-in-meta", msgpack.packb({"meta": {"a": float("nan")}}), "DECODE_ERROR"),
    ("msgpack-float32-exp", b"\x81\xa3exp\xca" + bytes.fromhex("4ee2329b"), "valid"),
    ("msgpack-duplicate-keys", b"\x82\xa3tid\xa1a\xa3tid\xa1b", "valid"),
]


@pytest.mark.parametrize(
    "payload, expected",
    [(p, e) for _, p, e in HOSTILE_PAYLOADS],
    ids=[n for n, _, _ in HOSTILE_PAYLOADS],
)
def test_signed_hostile_payload(roomy, core, payload: bytes, expected: str) -> None:
    assert payload[:1] != b"\x00"
    key = signed_key(core, payload)
    result = outcome(roomy, key)
    if not isinstance(result, str):
        assert expected == "valid"
        _claims_are_usable(result, key)
    else:
        assert result == expected


@pytest.mark.parametrize(
    "payload", [p for _, p, _ in HOSTILE_PAYLOADS], ids=[n for n, _, _ in HOSTILE_PAYLOADS]
)
def test_hostile_payload_with_a_wrong_secret_is_not_parsed(roomy, core, payload: bytes) -> None:
    # SPEC section 2 step 6: the payload is never looked at before the signature is proven
    key = signed_key(core, payload, secret="another secret that is long enough to be strong!")
    assert code_of(roomy, key) == "INVALID_SIGNATURE"


def _claims_are_usable(claims, key: str) -> None:
    """Everything a caller may do with valid claims works (no late surprises)."""
    assert isinstance(repr(claims), str)
    assert isinstance(claims.to_dict(), dict)
    assert len(claims.meta) >= 0
    assert claims.expires_at is None or claims.expires_at.tzinfo is not None
    assert claims.not_before is None or claims.not_before.tzinfo is not None
    assert claims.has_scopes("read") in (True, False)
    assert len(hash_key(claims.raw_key)) == 64
    assert claims.raw_key == key
    copy = pickle.loads(pickle.dumps(claims))
    assert copy.raw_key == key and copy.tenant == claims.tenant and copy.scopes == claims.scopes


def test_signed_payload_values(roomy, core) -> None:
    def claims_of(payload: bytes):
        result = outcome(roomy, signed_key(core, payload))
        assert not isinstance(result, str), result
        return result

    assert claims_of(b'{"tid":"first","tid":"last"}').tenant == "last"
    assert claims_of(b"\x82\xa3tid\xa1a\xa3tid\xa1b").tenant == "b"
    assert claims_of(b'{"exp":1,"exp":1900000000}').exp == 1900000000
    surrogates = claims_of(b'{"tid":"\\ud800","scp":["\\udfff"]}')
    assert surrogates.tenant == "\ud800" and surrogates.scopes == ["\udfff"]
    assert claims_of(b'{"tid":"\\ud83d\\ude00"}').tenant == "\U0001f600"
    assert claims_of(b'{"tid":"a\\u0000b"}').tenant == "a\x00b"
    float_exp = claims_of(b'{"exp":1800000000.0}')
    assert float_exp.exp == 1800000000 and type(float_exp.exp) is float
    assert type(claims_of(b'{"exp":1800000000}').exp) is int
    assert claims_of(b'{"nbf":-0.0}').nbf == 0
    minimal = claims_of(b"{}")
    assert (minimal.id, minimal.tenant, minimal.scopes, minimal.environment) == (
        "",
        "",
        [],
        "production",
    )
    assert minimal.exp is None and minimal.nbf is None and dict(minimal.meta) == {}
    assert minimal.to_dict() == {}
    assert claims_of(b'{"iss":"x"}').to_dict() == {"iss": "x"}


def test_payload_starting_with_a_zero_byte_is_non_canonical(verifier, core) -> None:
    # b62encode writes the zero byte as a leading "0": not the canonical wire form
    assert code_of(verifier, signed_key(core, b"\x00{}")) == "DECODE_ERROR"


def test_signature_written_with_its_leading_zero_byte_is_non_canonical(verifier, core) -> None:
    for i in range(20_000):
        payload = b'{"tid":"%d"}' % i
        signature = core.Verifier([SECRET.encode()]).sign(payload)
        if signature[0] == 0:
            break
    else:  # pragma: no cover - probability (255/256)**20000
        pytest.fail("no signature with a leading zero byte")
    good = "apikee_" + core.b62encode(payload) + "." + core.b62encode(signature.lstrip(b"\x00"))
    padded = "apikee_" + core.b62encode(payload) + "." + core.b62encode(signature)
    assert padded.rpartition(".")[2].startswith("0")
    assert code_of(verifier, good) == "valid"
    assert code_of(verifier, padded) == "DECODE_ERROR"


@pytest.mark.parametrize(
    "exp, now, expected",
    [
        (0, 0, "valid"),
        (0, 0.000001, "EXPIRED"),
        (0.0, 0, "valid"),
        (1800000000.5, 1800000000.5, "valid"),
        (1800000000.5, 1800000000.500001, "EXPIRED"),
        (MAX_TIMESTAMP, MAX_TIMESTAMP, "valid"),
        (MAX_TIMESTAMP, MAX_TIMESTAMP + 1, "EXPIRED"),
        (float(MAX_TIMESTAMP), MAX_TIMESTAMP, "valid"),
        (5e-324, 0, "valid"),
        (1e-300, 1e-300, "valid"),
    ],
    ids=case_id,
)
def test_exp_boundaries(verifier, core, exp, now, expected) -> None:
    key = signed_key(core, json.dumps({"exp": exp}).encode())
    assert code_of(verifier, key, now=now) == expected


# ── generated payloads against a model of SPEC section 1 ────────────────────────────────────


def model(claims, now: float) -> str:
    """The code SPEC sections 1-2 give for decoded claims (steps 8-9)."""
    if type(claims) is not dict:
        return "INVALID_CLAIMS"
    for name in ("id", "tid", "env"):
        if name in claims and type(claims[name]) is not str:
            return "INVALID_CLAIMS"
    if "scp" in claims:
        scopes = claims["scp"]
        if type(scopes) is not list or any(type(s) is not str for s in scopes):
            return "INVALID_CLAIMS"
    for name in ("exp", "nbf", "iat"):
        if name in claims:
            value = claims[name]
            ok = type(value) is int or (type(value) is float and math.isfinite(value))
            if not ok or not 0 <= value <= MAX_TIMESTAMP:
                return "INVALID_CLAIMS"
    if "meta" in claims and type(claims["meta"]) is not dict:
        return "INVALID_CLAIMS"
    if "exp" in claims and now > claims["exp"]:
        return "EXPIRED"
    if "nbf" in claims and now < claims["nbf"]:
        return "NOT_YET_VALID"
    return "valid"


text = st.text(max_size=12)  # lone surrogates included: JSON writes them as \\udXXX escapes
json_values = json_trees(
    json_scalars(text, integers=st.integers(-(2**40), 2**70), allow_infinity=False),
    keys=text,
    max_size=3,
    max_leaves=8,
)
timestamps = st.one_of(
    st.integers(-3, MAX_TIMESTAMP + 3),
    st.floats(-1.0, MAX_TIMESTAMP + 1.0, allow_nan=False),
    st.sampled_from(
        [
            0,
            -0.0,
            5e-324,
            MAX_TIMESTAMP,
            float(MAX_TIMESTAMP),
            MAX_TIMESTAMP + 1,
            MAX_TIMESTAMP + 0.5,
            True,
            False,
        ]
    ),
)
claim_values = {
    "id": st.one_of(text, json_values),
    "tid": st.one_of(text, json_values),
    "env": st.one_of(text, json_values),
    "scp": st.one_of(st.lists(text, max_size=3), json_values),
    "exp": st.one_of(timestamps, json_values),
    "nbf": st.one_of(timestamps, json_values),
    "meta": st.one_of(st.dictionaries(text, json_values, max_size=3), json_values),
    "extra": json_values,
}


@st.composite
def claim_dicts(draw):
    names = draw(st.sets(st.sampled_from(sorted(claim_values))))
    return {name: draw(claim_values[name]) for name in sorted(names)}


@given(
    claims=st.one_of(claim_dicts(), json_values),
    now=st.integers(0, MAX_TIMESTAMP),
    compact=st.booleans(),
)
def test_signed_json_payloads_match_the_model(roomy, core, claims, now, compact) -> None:
    separators = (",", ":") if compact else (", ", ": ")
    payload = json.dumps(claims, separators=separators, allow_nan=False).encode()
    result = code_of(roomy, signed_key(core, payload), now=now)
    assert result == model(claims, now)


def _msgpack_safe(value) -> bool:
    if isinstance(value, str):
        return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**64
    if isinstance(value, list):
        return all(map(_msgpack_safe, value))
    return all(_msgpack_safe(k) and _msgpack_safe(v) for k, v in value.items())


@given(claims=claim_dicts(), now=st.integers(0, MAX_TIMESTAMP))
def test_signed_msgpack_payloads_match_the_model(roomy, core, claims, now) -> None:
    assume(_msgpack_safe(claims))
    payload = msgpack.packb(claims, use_bin_type=True)
    assert payload[0] >= 0x80  # a map: read as MessagePack
    result = code_of(roomy, signed_key(core, payload), now=now)
    assert result == model(claims, now)


@given(payload=st.binary(min_size=1, max_size=300).filter(lambda b: b[0] != 0))
def test_signed_arbitrary_bytes(roomy, core, payload: bytes) -> None:
    result = code_of(roomy, signed_key(core, payload))
    assert result in {"valid", "DECODE_ERROR", "INVALID_CLAIMS", "EXPIRED", "NOT_YET_VALID"}


@given(payload=st.text(max_size=100).map(lambda t: ("{" + t).encode("utf-8", "surrogatepass")))
def test_signed_arbitrary_text_after_a_brace(roomy, core, payload: bytes) -> None:
    result = code_of(roomy, signed_key(core, payload))
    assert result in {"valid", "DECODE_ERROR", "INVALID_CLAIMS", "EXPIRED", "NOT_YET_VALID"}


# ── nesting and number size must not depend on interpreter state ────────────────────────────


def _nested_meta_json(depth: int) -> bytes:
    return b'{"meta":{"a":' + b"[" * depth + b"]" * depth + b"}}"


def _nested_meta_msgpack(depth: int) -> bytes:
    return b"\x81\xa4meta\x81\xa1a" + b"\x91" * depth + b"\x90"


@pytest.mark.parametrize(
    "encode", [_nested_meta_json, _nested_meta_msgpack], ids=["json", "msgpack"]
)
@pytest.mark.parametrize("depth", [10, 100, 300, 600, 900])
def test_nested_meta_is_either_rejected_or_fully_usable(roomy, core, encode, depth) -> None:
    key = signed_key(core, encode(depth))
    result = outcome(roomy, key)
    if not isinstance(result, str):
        try:
            _claims_are_usable(result, key)
        except RecursionError:
            pytest.fail(
                f"verify() accepted nesting depth {depth} that the claims object cannot handle"
            )
    else:
        assert result == "DECODE_ERROR"


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def _with_headroom(frames_left: int, fn):
    """Call ``fn`` from so deep a stack that only ``frames_left`` frames remain to the limit."""
    if _stack_depth() >= sys.getrecursionlimit() - frames_left:
        return fn()
    return _with_headroom(frames_left, fn)


@pytest.mark.parametrize("depth", [20, 300])
def test_nesting_outcome_does_not_depend_on_the_callers_stack(roomy, core, depth) -> None:
    # A web framework may call verify() a few hundred frames deep; a payload nested 300 deep
    # must get the same answer there as from the top of the stack.
    key = signed_key(core, _nested_meta_json(depth))
    shallow = code_of(roomy, key)
    deep = _with_headroom(200, lambda: code_of(roomy, key))
    assert shallow == deep


@pytest.mark.skipif(not hasattr(sys, "set_int_max_str_digits"), reason="no int digit limit here")
@pytest.mark.parametrize("limit", [0, 640, 100_000])
@pytest.mark.parametrize(
    "payload, expected",
    [
        (b'{"exp":' + b"9" * 300 + b"}", "INVALID_CLAIMS"),
        (b'{"exp":' + b"9" * 5000 + b"}", "DECODE_ERROR"),
        (b'{"meta":{"n":' + b"1" * 5000 + b"}}", "DECODE_ERROR"),
    ],
    ids=["300-digit-exp", "5000-digit-exp", "5000-digit-meta"],
)
def test_big_integers_do_not_depend_on_the_int_digit_limit(
    roomy, core, limit, payload, expected
) -> None:
    key = signed_key(core, payload)
    saved = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(limit)
    try:
        result = code_of(roomy, key)
    finally:
        sys.set_int_max_str_digits(saved)
    assert result == expected
