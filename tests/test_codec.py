"""The base62 codec and the constant-time compare, on both implementations (``core`` fixture)."""

from __future__ import annotations

import array
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import case_id

from apikee import ApikeeError
from apikee._core import load_backend
from apikee._errors import MSG_BAD_CHAR, ErrorCode
from apikee._wire import ALPHABET, PREFIX


def wire_encode(data: bytes) -> str:
    """SPEC section 1, written the slow obvious way: the bytes as one big-endian integer."""
    n = int.from_bytes(data, "big")
    digits = []
    while n:
        n, d = divmod(n, 62)
        digits.append(ALPHABET[d])
    return "".join(reversed(digits))


# ── round trips ─────────────────────────────────────────────────────────────────────────────


@given(data=st.binary(max_size=300))
def test_round_trip_arbitrary_bytes(core, data: bytes) -> None:
    text = core.b62encode(data)
    assert type(text) is str
    assert core.b62decode(text) == data


@given(zeros=st.integers(0, 40), rest=st.binary(max_size=64))
def test_round_trip_keeps_leading_zero_bytes(core, zeros: int, rest: bytes) -> None:
    data = b"\x00" * zeros + rest
    text = core.b62encode(data)
    assert core.b62decode(text) == data
    # every leading zero byte is one leading "0", and nothing else starts with "0"
    stripped = rest.lstrip(b"\x00")
    leading = zeros + len(rest) - len(stripped)
    assert text[:leading] == "0" * leading
    assert not text[leading:].startswith("0")


@given(text=st.text(alphabet=ALPHABET, max_size=200))
def test_every_alphabet_string_round_trips_the_other_way(core, text: str) -> None:
    assert core.b62encode(core.b62decode(text)) == text


@given(data=st.binary(min_size=1, max_size=300).filter(lambda b: b[0] != 0))
def test_agrees_with_the_wire_encoding_when_not_starting_with_zero(core, data: bytes) -> None:
    assert core.b62encode(data) == wire_encode(data)
    assert core.b62decode(wire_encode(data)) == data


def test_round_trip_of_a_large_input(core) -> None:
    data = bytes(range(1, 256)) * 16  # 4 KiB, crosses every chunk boundary of the encoder
    assert core.b62decode(core.b62encode(data)) == data
    assert core.b62encode(data) == wire_encode(data)
    assert core.b62decode(core.b62encode(b"\x00" + data)) == b"\x00" + data


# Lengths at every boundary of the decoders: the pure twin's digit loop (20), its levels (powers
# of two) and its split into halves (1024); the C decoder's rows of 10 (5) digits and its two
# rows per sweep. The reference is the one-digit-at-a-time definition.
_BOUNDARY_LENGTHS = sorted(
    {1, 2, 9, 10, 11, 19, 20, 21, 22, 29, 30, 31, 43, 44, 175, 1023, 1024, 1025, 2048, 2049, 3001}
    | {(1 << k) + d for k in range(2, 12) for d in (-1, 0, 1)}
)


@pytest.mark.parametrize("length", _BOUNDARY_LENGTHS)
def test_decode_at_every_boundary_length(core, length: int) -> None:
    import random

    rng = random.Random(length)
    for text in (
        "z" * length,
        "1" + "0" * (length - 1),
        rng.choice(ALPHABET[1:]) + "".join(rng.choices(ALPHABET, k=length - 1)),
    ):
        value = 0
        for ch in text:
            value = value * 62 + ALPHABET.index(ch)
        assert core.b62decode(text) == value.to_bytes((value.bit_length() + 7) // 8, "big")


# The compiled decoder at every length up to 600 digits: _b62.h converts 10-digit chunks, from 16
# digits on 16 bytes at a time (SSE2 on x86-64: loads from the chunk, or for the last full chunks
# from 6 bytes before it, and the last n % 10 digits from the final 16 bytes), and sweeps two rows
# of chunks at a time, so every length mod 10, mod 20 and near 16 is an alignment of its own.
# The reference is Python's int, one digit at a time; the C decoder sees the digits after the
# leading zeros (one zero byte each), so the cases with a non-zero first digit test it at full
# length. Build with CFLAGS=-DAPIKEE_B62_NO_INT128 (32-bit limbs) or -DAPIKEE_B62_NO_SIMD (no
# SSE2) to run the other variants of _b62.h.

_DIGIT_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_EVERY_LENGTH = range(1, 601)


def reference_decode(text: str) -> bytes:
    digits = text.lstrip("0")
    value = 0
    for ch in digits:
        value = value * 62 + _DIGIT_VALUE[ch]
    size = (value.bit_length() + 7) // 8
    return b"\x00" * (len(text) - len(digits)) + value.to_bytes(size, "big")


@pytest.fixture(scope="module")
def native():
    return load_backend("native")


def _positions(rng: random.Random, length: int) -> list[int]:
    """Every position of a short text; of a long one the first 12, the last 24 and 6 others."""
    chosen = set(range(min(length, 12))) | set(range(max(0, length - 24), length))
    return sorted(chosen | set(rng.sample(range(length), min(length, 6))))


@pytest.mark.native
def test_native_decode_of_every_length_up_to_600(native) -> None:
    rng = random.Random(600)
    for length in _EVERY_LENGTH:
        texts = [
            "z" * length,  # the largest value of the length
            "1" + "0" * (length - 1),  # 62**(length - 1)
            *(
                rng.choice(ALPHABET[1:]) + "".join(rng.choices(ALPHABET, k=length - 1))
                for _ in range(3)
            ),
        ]
        for p in _positions(rng, length):
            digit = rng.choice(ALPHABET[1:])
            texts.append("0" * p + digit + "0" * (length - 1 - p))  # one non-zero digit
            if p:  # the same digit at full length: every digit position of the chunks
                texts.append("1" + "0" * (p - 1) + digit + "0" * (length - 1 - p))
        for text in texts:
            assert native.b62decode(text) == reference_decode(text), (length, text)


# Bytes outside the alphabet next to its ranges, and with the top bit set (signed in a vector
# lane): 0xB0, 0xC1 and 0xE1 are '0', 'A' and 'a' plus 0x80.
_FOREIGN_BYTES = [bytes([byte]) for byte in b"/:@[`{ \x00\x7f\x80\xb0\xc1\xe1\xff"]
_FOREIGN_LENGTHS = [*range(1, 45), 59, 60, 61, 175, 176, 184, 400, 1029, 1030, 1031, 2000]


@pytest.mark.native
@pytest.mark.parametrize("length", _FOREIGN_LENGTHS)
def test_native_verify_finds_a_foreign_byte_at_every_position(native, length: int) -> None:
    """The checked decoder of Verifier.verify (both fields; b62decode validates first): one byte
    outside the alphabet anywhere is a DECODE_ERROR, exactly as in the pure twin."""
    pure = load_backend("pure")
    rng = random.Random(length)
    payload = (rng.choice(ALPHABET[1:]) + "".join(rng.choices(ALPHABET, k=length - 1))).encode()
    signature = pure.b62encode(bytes([rng.randrange(1, 256)]) + rng.randbytes(31)).encode()
    verifiers = [m.Verifier([b"secret"], max_key_length=4096) for m in (native, pure)]

    def outcomes(key: bytes) -> list:
        answers = []
        for verifier in verifiers:
            try:
                verifier.verify(key)
            except ApikeeError as exc:
                answers.append((exc.code, exc.message))
            else:  # pragma: no cover - random digits are never signed
                answers.append(("ok",))
        return answers

    clean = outcomes(PREFIX.encode() + payload + b"." + signature)
    assert clean[0] == clean[1] and clean[0][0] != ErrorCode.DECODE_ERROR
    for field in (payload, signature):
        for p in _positions(rng, len(field)):
            for foreign in _FOREIGN_BYTES:
                spoiled = field[:p] + foreign + field[p + 1 :]
                if field is payload:
                    key = PREFIX.encode() + spoiled + b"." + signature
                else:
                    key = PREFIX.encode() + payload + b"." + spoiled
                assert outcomes(key) == [(ErrorCode.DECODE_ERROR, MSG_BAD_CHAR)] * 2, (p, foreign)


@pytest.mark.parametrize(
    "data, text",
    [
        (b"", ""),
        (b"\x00", "0"),
        (b"\x00\x00\x00", "000"),
        (b"\x01", "1"),
        (b"\x00\x01", "01"),
        (b"\x09", "9"),
        (b"\x0a", "A"),
        (b"\x23", "Z"),
        (b"\x24", "a"),
        (b"\x3d", "z"),
        (b"\x3e", "10"),
        (b"\xff", "47"),
        (b"\x01\x00", "48"),
        (b"\xff" * 32, "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1"),  # 2**256 - 1: 43 digits
        (b"hello", "7tQLFHz"),
    ],
)
def test_known_values(core, data: bytes, text: str) -> None:
    assert core.b62encode(data) == text
    assert core.b62decode(text) == data


def test_largest_signature_has_43_digits(core) -> None:
    assert len(core.b62encode(b"\xff" * 32)) == 43
    assert len(core.b62encode(b"\x01" + b"\x00" * 31)) <= 43


# ── accepted and rejected argument types ────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "wrap", [bytes, bytearray, memoryview], ids=["bytes", "bytearray", "memoryview"]
)
def test_encode_accepts_bytes_like(core, wrap) -> None:
    assert core.b62encode(wrap(b"\x00hello")) == "07tQLFHz"


@pytest.mark.parametrize(
    "value", ["abc", "", None, 123, 1.5, ["a"], [1, 2], {b"a": 1}, object()], ids=case_id
)
def test_encode_rejects_non_bytes_with_type_error(core, value) -> None:
    with pytest.raises(TypeError):
        core.b62encode(value)


@pytest.mark.parametrize(
    "value",
    [b"abc", b"", bytearray(b"abc"), memoryview(b"abc"), None, 0, ["a"], object()],
    ids=case_id,
)
def test_decode_rejects_non_str_with_type_error(core, value) -> None:
    with pytest.raises(TypeError):
        core.b62decode(value)


def test_decode_accepts_str_subclass(core) -> None:
    class Text(str):
        pass

    assert core.b62decode(Text("7tQLFHz")) == b"hello"
    with pytest.raises(ValueError):
        core.b62decode(Text("7tQ LFHz"))


INVALID_TEXT = [
    " ",
    "abc ",
    " abc",
    "ab\tc",
    "ab\nc",
    "ab\r\n",
    "\x00",
    "ab\x00c",
    "+",
    "/",
    "=",
    "-",
    "_",
    ".",
    "abc=",
    "é",
    "abcé",
    "\u00a0",  # no-break space
    "\u0663",  # ARABIC-INDIC DIGIT THREE: str.isdigit() is True, still not base62
    "\uff11",  # FULLWIDTH DIGIT ONE
    "\u0430",  # CYRILLIC SMALL LETTER A (looks like "a")
    "\ud800",  # lone surrogate
    "ab\udfffcd",
    "\U0001f600",
    "\x7f",
    "\x80",
    "\xff",
]


@pytest.mark.parametrize("text", INVALID_TEXT, ids=case_id)
def test_decode_rejects_characters_outside_the_alphabet(core, text: str) -> None:
    with pytest.raises(ValueError):
        core.b62decode(text)


@given(
    prefix=st.text(alphabet=ALPHABET, max_size=20),
    bad=st.characters(exclude_characters=ALPHABET),
    suffix=st.text(alphabet=ALPHABET, max_size=20),
)
def test_decode_rejects_any_foreign_character_with_value_error(core, prefix, bad, suffix) -> None:
    with pytest.raises(ValueError):
        core.b62decode(prefix + bad + suffix)


@given(text=st.text(max_size=50))
def test_decode_of_arbitrary_text_is_bytes_or_value_error(core, text: str) -> None:
    try:
        result = core.b62decode(text)
    except ValueError:
        assert any(ch not in ALPHABET for ch in text)
    else:
        assert type(result) is bytes
        assert all(ch in ALPHABET for ch in text)


# ── constant-time compare ───────────────────────────────────────────────────────────────────


def test_compare_equal_and_unequal(core) -> None:
    assert core.constant_time_compare(b"abc", b"abc") is True
    assert core.constant_time_compare(b"", b"") is True
    assert core.constant_time_compare(b"abc", b"abd") is False
    assert core.constant_time_compare(b"\x00" * 32, b"\x00" * 31 + b"\x01") is False


def test_compare_different_lengths_is_false(core) -> None:
    assert core.constant_time_compare(b"abc", b"abcd") is False
    assert core.constant_time_compare(b"", b"a") is False
    assert core.constant_time_compare(b"a" * 32, b"a" * 33) is False


@pytest.mark.parametrize(
    "left", [bytes, bytearray, memoryview], ids=["bytes", "bytearray", "memoryview"]
)
@pytest.mark.parametrize(
    "right", [bytes, bytearray, memoryview], ids=["bytes", "bytearray", "memoryview"]
)
def test_compare_accepts_bytes_like(core, left, right) -> None:
    assert core.constant_time_compare(left(b"secret"), right(b"secret")) is True
    assert core.constant_time_compare(left(b"secret"), right(b"secreT")) is False


@pytest.mark.parametrize(
    "a, b",
    [
        ("abc", "abc"),
        (b"abc", "abc"),
        ("abc", b"abc"),
        (None, b""),
        (b"", None),
        (1, 1),
        ([1], [1]),
    ],
    ids=case_id,
)
def test_compare_rejects_str_and_other_types(core, a, b) -> None:
    with pytest.raises(TypeError):
        core.constant_time_compare(a, b)


@given(a=st.binary(max_size=64), b=st.binary(max_size=64))
def test_compare_matches_equality(core, a: bytes, b: bytes) -> None:
    assert core.constant_time_compare(a, b) is (a == b)
    assert core.constant_time_compare(a, bytes(a)) is True


def test_compare_of_non_byte_buffers_follows_its_bytes(core) -> None:
    # a buffer with another item format is bytes-like too; only its bytes count
    words = array.array("B", b"abc")
    assert core.constant_time_compare(memoryview(words), b"abc") is True
