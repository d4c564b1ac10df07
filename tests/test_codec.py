"""The base62 codec and the constant-time compare, on both implementations (``core`` fixture)."""

from __future__ import annotations

import array

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import case_id

from apikee._wire import ALPHABET


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
