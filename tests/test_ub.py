"""Boundary inputs of the C hot path, where undefined behaviour would hide: both twins agree.

What the native code does with machine integers: the claims reader accumulates JSON integers
of up to 18 digits in a ``long long`` (``_json_c.pxi: _int_end``; a 19th digit must go to the
general decoder *before* it is multiplied in), the codec works in 64-bit limbs with a stack
buffer of 96 limbs (longer payloads take the heap), the signature field is at most 43 digits /
32 bytes, and exp/nbf become doubles. Every test here runs on both implementations (``impl``)
and checks the answer against an expected value and against the pure twin, so the native one
cannot drift. ``.ci/sanitize`` runs this file under AddressSanitizer and UBSan (with
``-fno-wrapv``: CPython's own ``-fwrapv`` would otherwise hide signed overflow from UBSan), and
it replays the committed fuzz corpus (``fuzz/corpus``) through the fuzz harnesses.
"""

from __future__ import annotations

import json
import math
import os
import sys

import pytest
from support import SECRET, signed_key, verify_outcome

from apikee._core import load_backend
from apikee._wire import DEFAULT_MAX_KEY_LENGTH, MAX_TIMESTAMP

NOW = 1_800_000_000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZ = os.path.join(ROOT, "fuzz")


def both(impl: str, key, now=NOW, secrets=(SECRET.encode(),), **options):
    """The outcome on ``impl``, asserted equal to the pure twin's (the reference)."""
    mine = verify_outcome(load_backend(impl).Verifier(list(secrets), **options), key, now)
    reference = verify_outcome(load_backend("pure").Verifier(list(secrets), **options), key, now)
    assert mine == reference
    return mine


def code(result) -> str:
    return "valid" if result[0] == "ok" else result[1]


# ── JSON integers around the 18-digit fast path and 64 bits ─────────────────────────────────

BOUNDARY_INTS = [
    0,
    1,
    9,
    10,
    10**17,
    10**18 - 1,
    10**18,
    10**18 + 1,
    922337203685477580,
    922337203685477581,  # 2**63 // 10 and one more (18 digits)
    999999999999999999,  # the 18-digit maximum: "... * 10" overflows
    9223372036854775807,
    9223372036854775808,  # 2**63 - 1, 2**63 (19 digits)
    9999999999999999999,
    10**19,
    10**19 + 7,  # 19/20 digits
    18446744073709551615,
    18446744073709551616,  # 2**64 - 1, 2**64
    10**20,
    10**30,
    10**639,
    10**640 - 1,  # up to the 640-digit limit of the decoder
]
SIGNED_INTS = sorted({sign * n for n in BOUNDARY_INTS for sign in (1, -1)})


@pytest.mark.parametrize(
    "n", SIGNED_INTS, ids=lambda n: f"{'-' if n < 0 else ''}{len(str(abs(n)))}d-{str(n)[-4:]}"
)
def test_integers_in_meta(impl, make_apikee, n) -> None:
    """Created with the API (a legitimately signed key), read back exactly: the reader's skip
    path (meta is validated, decoded later by the general decoder)."""
    apikee = make_apikee(secret=SECRET, max_key_length=1 << 14)
    key = apikee.create("t", meta={"n": n, "list": [n, -n], "deep": {"x": [[n]]}})
    claims = apikee.verify(key)
    assert claims.meta["n"] == n and type(claims.meta["n"]) is int
    assert claims.to_dict()["meta"] == {"n": n, "list": [n, -n], "deep": {"x": [[n]]}}
    assert both(impl, key, now=None, max_key_length=1 << 14)[0] == "ok"


@pytest.mark.parametrize(
    "n", SIGNED_INTS, ids=lambda n: f"{'-' if n < 0 else ''}{len(str(abs(n)))}d-{str(n)[-4:]}"
)
@pytest.mark.parametrize("where", ["unknown", "scp", "tid", "exp", "meta-array"])
def test_integers_in_every_position(impl, core, where, n) -> None:
    """The same integers where the reader builds values (scp, tid, exp: the parse path) and
    where it only validates them (unknown claims, meta): the same answer as the pure twin."""
    text = str(n).encode()
    payload = {
        "unknown": b'{"tid":"t","x":' + text + b"}",
        "scp": b'{"scp":["a",' + text + b"]}",
        "tid": b'{"tid":' + text + b"}",
        "exp": b'{"exp":' + text + b"}",
        "meta-array": b'{"meta":{"a":[' + text + b',{"b":' + text + b"}]}}",
    }[where]
    result = both(impl, signed_key(core, payload), max_key_length=1 << 14)
    if where in ("unknown", "meta-array"):
        assert code(result) == "valid"
    elif where == "exp":
        assert code(result) == (
            "valid"
            if NOW <= n <= MAX_TIMESTAMP
            else "EXPIRED"
            if 0 <= n < NOW
            else "INVALID_CLAIMS"
        )
    else:
        assert code(result) == "INVALID_CLAIMS"


@pytest.mark.parametrize(
    "text, expected",
    [
        (b"-", "DECODE_ERROR"),
        (b"-0", "valid"),
        (b"-01", "DECODE_ERROR"),
        (b"00", "DECODE_ERROR"),
        (b"1" * 18, "valid"),
        (b"9" * 18, "valid"),
        (b"9" * 19, "valid"),
        (b"9" * 20, "valid"),
        (b"-" + b"9" * 18, "valid"),
        (b"-" + b"9" * 19, "valid"),
        (b"9" * 18 + b".5", "valid"),
        (b"9" * 19 + b"e3", "valid"),
        (b"9" * 18 + b"E", "DECODE_ERROR"),
        (b"1" * 641, "DECODE_ERROR"),
        (b"-" + b"1" * 640, "valid"),
        (b"9" * 19 + b"x", "DECODE_ERROR"),
        (b"--1", "DECODE_ERROR"),
    ],
    ids=lambda v: v.decode()[:24] if isinstance(v, bytes) else v,
)
def test_integer_spellings(impl, core, text, expected) -> None:
    for payload in (b'{"meta":{"n":' + text + b"}}", b'{"x":[' + text + b"]}"):
        assert code(both(impl, signed_key(core, payload), max_key_length=1 << 14)) == expected


@pytest.mark.parametrize("digits", [1, 17, 18, 19, 20])
def test_payload_ending_inside_an_integer(impl, core, digits) -> None:
    """The integer runs into the end of the payload: the reader must stop at the buffer end."""
    for prefix in (b'{"x":', b'{"meta":{"n":', b'{"scp":[', b'{"exp":-'):
        result = both(impl, signed_key(core, prefix + b"9" * digits))
        assert code(result) == "DECODE_ERROR"


# ── exp/nbf: huge, negative, non-finite, and the double conversion ─────────────────────────


@pytest.mark.parametrize(
    "value, expected",
    [
        (b"0", "EXPIRED"),
        (b"-1", "INVALID_CLAIMS"),
        (b"-0.0", "EXPIRED"),
        (b"1800000000", "valid"),
        (b"253402300799", "valid"),
        (b"253402300800", "INVALID_CLAIMS"),
        (b"253402300799.0", "valid"),
        (b"253402300799.5", "INVALID_CLAIMS"),
        (b"999999999999999999", "INVALID_CLAIMS"),
        (b"9999999999999999999", "INVALID_CLAIMS"),
        (b"9223372036854775808", "INVALID_CLAIMS"),
        (b"-9223372036854775809", "INVALID_CLAIMS"),
        (b"1" + b"0" * 400, "INVALID_CLAIMS"),
        (b"1e308", "INVALID_CLAIMS"),
        (b"1e309", "DECODE_ERROR"),
        (b"-1e309", "DECODE_ERROR"),
        (b"4.9e-324", "EXPIRED"),
        (b"1.8e9", "valid"),
        (b"9007199254740993", "INVALID_CLAIMS"),
        (b"true", "INVALID_CLAIMS"),
        (b"null", "INVALID_CLAIMS"),
    ],
    ids=lambda v: v.decode()[:24] if isinstance(v, bytes) else v,
)
def test_huge_exp_and_nbf(impl, core, value, expected) -> None:
    exp = both(impl, signed_key(core, b'{"exp":' + value + b"}"))
    assert code(exp) == expected
    nbf = both(impl, signed_key(core, b'{"nbf":' + value + b"}"))
    if expected not in ("INVALID_CLAIMS", "DECODE_ERROR"):  # valid: nbf is the window's other side
        expected = "valid" if json.loads(value) <= NOW else "NOT_YET_VALID"
    assert code(nbf) == expected


@pytest.mark.parametrize(
    "now", [0, -1, -1e308, 1e308, 2**53 + 1, 253402300799, 253402300800.5, 5e-324]
)
def test_extreme_now(impl, core, now) -> None:
    for payload in (b'{"exp":253402300799,"nbf":0}', b'{"exp":0}', b'{"nbf":253402300799}', b"{}"):
        both(impl, signed_key(core, payload), now=now)


def test_now_too_big_for_a_double_fails_alike(impl, core) -> None:
    key = signed_key(core, b'{"exp":1}')
    raised = []
    for name in (impl, "pure"):
        with pytest.raises(Exception) as info:  # math.isfinite(10**400): OverflowError today
            load_backend(name).Verifier([SECRET.encode()]).verify(key, 10**400)
        raised.append((type(info.value), str(info.value)))
    assert raised[0] == raised[1]


@pytest.mark.parametrize("leeway", [0, 0.5, 1e300, 2**53 + 3, 10**400])
def test_huge_leeway(impl, core, leeway) -> None:
    """Verifier(leeway=...): accepted (or refused) alike and compared alike, however big: the
    native twin keeps it as a double, so an int leeway past 2**53 or 1e308 is where they could
    part."""
    results = []
    for name in (impl, "pure"):
        try:
            verifier = load_backend(name).Verifier([SECRET.encode()], leeway=leeway)
        except Exception as exc:
            results.append(("init", type(exc).__name__, str(exc)))
            continue
        results.append(
            tuple(
                verify_outcome(verifier, signed_key(core, payload), now)
                for payload in (b'{"exp":0}', b'{"nbf":253402300799}', b'{"exp":1}')
                for now in (0, 2**53 + 4, 9007199254740996.0, 1e308)
            )
        )
    assert results[0] == results[1]


@pytest.mark.parametrize("max_key_length", [1, 64, 2**31, 2**62, 2**63 - 1, 2**63, 2**64, 10**30])
def test_huge_max_key_length(impl, core, max_key_length) -> None:
    results = []
    for name in (impl, "pure"):
        try:
            verifier = load_backend(name).Verifier([SECRET.encode()], max_key_length)
        except Exception as exc:
            results.append(("init", type(exc).__name__, str(exc)))
            continue
        results.append(
            (verifier.max_key_length, verify_outcome(verifier, signed_key(core, b'{"tid":"t"}')))
        )
    assert results[0] == results[1]


# ── long keys: the stack/heap boundary of the decoder, signature widths ─────────────────────


def _payload_with_digits(core, digits: int) -> bytes:
    """A valid claims payload whose base62 field has exactly ``digits`` digits: a string of
    the right length, and leading JSON whitespace (a smaller first byte) to fill the gaps
    where one more byte would add two digits."""
    size = int(digits * math.log(62) / math.log(256))
    for length in range(max(size - 3, 32), size + 4):
        for lead in (b"", b" ", b"\t", b"\t\t", b"\t "):
            payload = lead + b'{"tid":"t","meta":{"p":"' + b"x" * (length - 27 - len(lead)) + b'"}}'
            if len(core.b62encode(payload)) == digits:
                return payload
    raise AssertionError(f"no payload encodes to exactly {digits} digits")


@pytest.mark.parametrize("digits", [1012, 1013, 1014, 1015, 1031, 1100, 6000, 8150])
def test_payload_lengths_around_the_stack_buffer(impl, core, digits) -> None:
    payload = _payload_with_digits(core, digits)
    key = signed_key(core, payload)
    assert len(key.partition(".")[0]) - 7 == digits
    result = both(impl, key, max_key_length=1 << 14)
    assert code(result) == "valid"
    assert both(impl, key.encode("ascii"), max_key_length=1 << 14) == result[:-1] + (result[-1],)
    # one digit changed at either end of the long field: a MAC failure, not a crash
    for position in (7, 7 + digits - 1):
        changed = key[:position] + ("1" if key[position] != "1" else "2") + key[position + 1 :]
        assert code(both(impl, changed, max_key_length=1 << 14)) == "INVALID_SIGNATURE"


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_forgeries_at_the_default_length_limit(impl, offset) -> None:
    length = DEFAULT_MAX_KEY_LENGTH + offset
    body = ("z" * (length - 7 - 3)) + ".zz"
    key = ("apikee_" + body)[:length]
    result = both(impl, key)
    expected = "INVALID_FORMAT" if length > DEFAULT_MAX_KEY_LENGTH else "INVALID_SIGNATURE"
    assert code(result) == expected


@pytest.mark.parametrize(
    "signature, expected",
    [
        ("1", "INVALID_SIGNATURE"),
        ("z" * 42, "INVALID_SIGNATURE"),
        ("z" * 43, "INVALID_SIGNATURE"),
        ("1" + "0" * 42, "INVALID_SIGNATURE"),
        ("z" * 44, "INVALID_SIGNATURE"),
        ("1" * 1000, "INVALID_SIGNATURE"),
        ("z" * 43 + "!", "DECODE_ERROR"),
        ("0" + "z" * 42, "DECODE_ERROR"),
    ],
    ids=lambda v: f"{v[:3]}x{len(v)}" if isinstance(v, str) else v,
)
def test_signature_widths(impl, core, signature, expected) -> None:
    key = "apikee_" + core.b62encode(b'{"tid":"t"}') + "." + signature
    assert code(both(impl, key)) == expected
    assert code(both(impl, key.encode("ascii"))) == expected


def test_widest_valid_signature_value(impl, core) -> None:
    """2**256 - 1 is 43 digits and 32 bytes: decodes, fails the MAC; 2**256 is 33 bytes."""
    payload = b'{"tid":"t"}'
    top = core.b62encode((2**256 - 1).to_bytes(32, "big"))
    over = core.b62encode((2**256).to_bytes(33, "big"))
    assert len(top) == len(over) == 43
    assert code(both(impl, f"apikee_{core.b62encode(payload)}.{top}")) == "INVALID_SIGNATURE"
    assert code(both(impl, f"apikee_{core.b62encode(payload)}.{over}")) == "INVALID_SIGNATURE"


@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 31, 32, 33, 767, 768, 769, 1024, 5000])
def test_codec_sizes(impl, core, size) -> None:
    pure = load_backend("pure")
    for data in (
        b"\xff" * size,
        b"\x00" + b"\xff" * size,
        bytes(range(256)) * (size // 256) + b"\x01" * (size % 256),
    ):
        text = core.b62encode(data)
        assert text == pure.b62encode(data)
        assert core.b62decode(text) == pure.b62decode(text) == data
    digits = "z" * size
    assert core.b62decode(digits) == pure.b62decode(digits)
    assert core.b62encode(core.b62decode(digits)) == digits


# ── the committed fuzz corpus, replayed (no atheris needed) ─────────────────────────────────


def _corpus():
    for harness in ("verify", "codec", "claims"):
        folder = os.path.join(FUZZ, "corpus", harness)
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            yield pytest.param(harness, os.path.join(folder, name), id=f"{harness}/{name}")


@pytest.fixture(scope="module")
def harnesses():
    sys.path.insert(0, FUZZ)
    try:
        import fuzz_claims
        import fuzz_codec
        import fuzz_verify
    finally:
        sys.path.remove(FUZZ)
    return {"verify": fuzz_verify, "codec": fuzz_codec, "claims": fuzz_claims}


@pytest.mark.native
@pytest.mark.parametrize("harness, path", list(_corpus()))
def test_fuzz_corpus_replays(harnesses, harness, path) -> None:
    with open(path, "rb") as handle:
        harnesses[harness].check(handle.read())
