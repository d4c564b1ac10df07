"""Fuzz the claims reader: signed payloads built from fuzzed structures, native against pure.

The fuzzer's bytes drive a small generator (``H.Reader``) that builds a claims object, the
known claims (``id tid scp env exp nbf meta``) mostly well typed and sometimes anything, plus
unknown names and duplicates, out of values chosen near the boundaries of the native reader:
integers of 17-20 digits, around 2**63 and the 640-digit limit, negative ones, leading zeros;
floats, exponents and non-finite spellings; strings with escapes, lone surrogates, raw control
characters, invalid UTF-8; nesting on both sides of the depth limit (32). The structure is
written out as JSON with fuzzed whitespace and formatting, or as MessagePack, signed with a
fixed secret and verified by both twins, which must agree exactly (``_harness.compare_verify``).

    python fuzz/fuzz_claims.py -max_total_time=60 CORPUS_DIR fuzz/corpus/claims
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

H.prepare(fuzzing=__name__ == "__main__")

try:
    import msgpack
except ImportError:  # the MessagePack payloads are then left out
    msgpack = None

CLAIMS = ("id", "tid", "scp", "env", "exp", "nbf", "meta")
NAMES = CLAIMS + ("x", "", "\u00e9", "meta2", "n")
INTS = (
    0,
    1,
    9,
    10,
    17,
    2**31 - 1,
    2**31,
    2**32,
    2**53,
    2**53 + 1,
    10**17,
    10**18 - 1,
    10**18,
    922337203685477580,
    922337203685477581,
    9223372036854775807,
    9223372036854775808,
    9999999999999999999,
    10**19,
    18446744073709551615,
    18446744073709551616,
    10**20,
    H.NOW,
    253402300799,
    253402300800,
    10**639,
    10**640 - 1,
    10**640,
)
FLOAT_TEXTS = (
    "0.0",
    "-0.0",
    "1.5",
    "1e5",
    "1E+2",
    "2.5e-3",
    "1.8e9",
    "1800000000.5",
    "253402300799.0",
    "253402300799.5",
    "253402300800.0",
    "1e308",
    "1e309",
    "-1e309",
    "4.9e-324",
    "1e-400",
    "0.1e1",
    "1e18",
    "9223372036854775807.0",
    "1.0e+19",
)
BAD_NUMBERS = (
    "1.",
    ".5",
    "1e",
    "1e+",
    "-",
    "--1",
    "+1",
    "NaN",
    "Infinity",
    "-Infinity",
    "0x10",
    "01",
)
STRINGS = (
    "",
    "t",
    "read",
    "res:x",
    "res:*",
    "*",
    "production",
    "staging",
    "\u00e9",
    "\U0001f600",
    "a\u0000b",
    "\ud800",
    "\udfff\ud800",
)
ESCAPES = (
    '\\"',
    "\\\\",
    "\\/",
    "\\b",
    "\\n",
    "\\u00e9",
    "\\ud83d\\ude00",
    "\\ud800",
    "\\u0000",
    "\\x",
    "\\",
)
WHITESPACE = (" ", "\n", "\t", "\r", "  \r\n")
BAD_WHITESPACE = ("\x0b", "\x0c", "\x00", "\u00a0")  # not JSON whitespace


class Obj:
    """A JSON object as a list of pairs: duplicates survive until the JSON is written."""

    __slots__ = ("pairs",)

    def __init__(self, pairs):
        self.pairs = pairs


class Raw:
    """Bytes written into the JSON as they are (numbers, escapes, broken tokens, bad UTF-8)."""

    __slots__ = ("text", "value")

    def __init__(self, text, value=None):
        self.text = text.encode("utf-8") if isinstance(text, str) else text
        self.value = value  # what MessagePack writes instead (None: leave the item out)


def gen_int(r: H.Reader):
    kind = r.below(4)
    if kind == 0:
        value = INTS[r.below(len(INTS))]
    elif kind == 1:
        value = INTS[r.below(len(INTS))] + r.below(5) - 2
    elif kind == 2:  # a run of fuzzed digits: 1-25 of them, a leading zero now and then
        digits = "".join("0123456789"[b % 10] for b in r.take(1 + r.below(25))) or "0"
        text = ("-" if r.chance(3) else "") + digits
        valid = digits == "0" or digits[0] != "0"
        return Raw(text, int(text) if valid else None)
    else:
        value = H.NOW + r.below(2001) - 1000
    if r.chance(3):
        value = -value
    return Raw(str(value), value if -(2**63) <= value < 2**64 else None)


def gen_string(r: H.Reader):
    kind = r.below(16)
    if kind < 6:
        return STRINGS[r.below(len(STRINGS))]
    if kind < 12 or (kind == 15 and not r.chance(4)):
        # fuzzed latin-1 text without quote or backslash: no escape, the reader's fast path
        return r.take(r.below(24)).decode("latin-1").replace("\\", "/").replace('"', "'")
    if kind < 14:  # any code points, as one JSON string (json.dumps escapes what it must),
        # lone surrogates now and then (written unescaped they are invalid UTF-8)
        return r.take(r.below(24)).decode("utf-8", "surrogateescape" if r.chance(8) else "replace")
    if kind == 14:  # escapes and broken escapes, written raw
        parts = [ESCAPES[r.below(len(ESCAPES))] for _ in range(1 + r.below(3))]
        return Raw('"' + "x".join(parts) + '"')
    # raw bytes in a string: control characters, invalid UTF-8
    return Raw(b'"' + r.take(r.below(8)).replace(b'"', b"").replace(b"\\", b"") + b'"', "")


def gen_value(r: H.Reader, depth: int):
    kind = r.below(9 if depth < 36 else 5)
    if kind == 0:
        return (None, True, False)[r.below(3)]
    if kind == 1:
        return gen_int(r)
    if kind == 2:
        if r.chance(8):
            return Raw(BAD_NUMBERS[r.below(len(BAD_NUMBERS))])
        text = FLOAT_TEXTS[r.below(len(FLOAT_TEXTS))]
        try:
            value = float(text)
        except ValueError:
            value = None
        return Raw(text, value)
    if kind in (3, 4):
        return gen_string(r)
    if kind in (5, 6):
        if r.chance(4):  # straight to a given depth: either side of the limit
            depth_wanted = 28 + r.below(8)
            inner = [] if r.chance(2) else Obj([])
            for _ in range(depth_wanted):
                inner = [inner] if r.chance(2) else Obj([("k", inner)])
            return inner
        return [gen_value(r, depth + 1) for _ in range(r.below(5))]
    pairs = []
    for _ in range(r.below(5)):
        pairs.append(
            (NAMES[r.below(len(NAMES))] if r.chance(2) else gen_string(r), gen_value(r, depth + 1))
        )
    return Obj(pairs)


def gen_claim(r: H.Reader, name: str):
    """Mostly a well-typed value for a known claim; anything now and then."""
    if r.chance(4):
        return gen_value(r, 2)
    if name in ("id", "tid", "env"):
        return gen_string(r)
    if name == "scp":
        return [gen_string(r) for _ in range(r.below(4))]
    if name in ("exp", "nbf"):
        if r.chance(2):
            return Raw(str(H.NOW + r.below(401) - 200) + (".5" if r.chance(4) else ""))
        return gen_int(r) if r.chance(2) else gen_value(r, 2)
    pairs = [
        (gen_string(r) if r.chance(3) else NAMES[r.below(len(NAMES))], gen_value(r, 2))
        for _ in range(r.below(4))
    ]
    return Obj(pairs)


def gen_claims(r: H.Reader) -> Obj:
    pairs = []
    for _ in range(r.below(10)):
        name = CLAIMS[r.below(len(CLAIMS))] if r.below(4) else NAMES[r.below(len(NAMES))]
        pairs.append((name, gen_claim(r, name)))
    return Obj(pairs)


def write_json(value, r: H.Reader, out: list) -> None:
    """Append the JSON of ``value`` to ``out`` as bytes, with fuzzed whitespace."""
    if r.chance(3):
        spaces = BAD_WHITESPACE if r.chance(40) else WHITESPACE
        out.append(spaces[r.below(len(spaces))].encode("utf-8"))
    if isinstance(value, Raw):
        out.append(value.text)
    elif isinstance(value, Obj):
        out.append(b"{")
        for i, (name, item) in enumerate(value.pairs):
            if i:
                out.append(b",")
            write_json(name, r, out)
            out.append(b":")
            write_json(item, r, out)
        if value.pairs and r.chance(40):
            out.append(b",")  # trailing comma: not JSON
        out.append(b"}")
    elif isinstance(value, list):
        out.append(b"[")
        for i, item in enumerate(value):
            if i:
                out.append(b",")
            write_json(item, r, out)
        out.append(b"]")
    elif isinstance(value, str):
        # ensure_ascii=False keeps lone surrogates, written as (invalid) UTF-8 bytes
        out.append(json.dumps(value, ensure_ascii=r.chance(2)).encode("utf-8", "surrogatepass"))
    else:
        out.append({None: b"null", True: b"true", False: b"false"}[value])


def to_python(value):
    """The structure as MessagePack can write it (duplicates collapse, raw text becomes its
    value or disappears)."""
    if isinstance(value, Raw):
        return value.value
    if isinstance(value, Obj):
        result = {}
        for name, item in value.pairs:
            name = to_python(name)
            if isinstance(name, str):
                result[name] = to_python(item)
        return result
    if isinstance(value, list):
        return [to_python(item) for item in value]
    return value


def check(data: bytes) -> None:
    r = H.Reader(data)
    form = r.below(8)
    claims = gen_claims(r)
    if form == 7 and msgpack is not None:
        try:
            payload = msgpack.packb(to_python(claims), use_bin_type=True)
        except (OverflowError, ValueError, TypeError):  # a value MessagePack cannot carry
            return
    else:
        out: list = []
        write_json(claims, r, out)
        if r.chance(20):
            out.append(WHITESPACE[r.below(len(WHITESPACE))].encode("utf-8"))
        payload = b"".join(out)
    if not payload or payload[0] == 0:
        return  # such a key is NON_CANONICAL before anything is parsed: nothing to learn here
    key = H.signed_key(payload)
    H.compare_verify(_native, _pure, key if form != 6 else key.encode("ascii"), H.NOW)


_native = H.native.Verifier([H.SECRET], max_key_length=1 << 16)
_pure = H.pure.Verifier([H.SECRET], max_key_length=1 << 16)


if __name__ == "__main__":
    H.main(check)
