"""Fuzz the base62 codec and ``constant_time_compare``: native against pure, and round trips.

Input layout: byte 0 picks the mode, the rest is the material.

- 0: bytes -> ``b62encode`` (as bytes, bytearray and memoryview) must agree, and both twins'
  ``b62decode`` must give the bytes back;
- 1: latin-1 text -> ``b62decode`` must agree, errors (type and message) included;
- 2: UTF-8 text (lone surrogates for invalid bytes) -> the same;
- 3: text over the alphabet only (byte % 62) -> ``b62decode`` must agree and
  ``b62encode(b62decode(text)) == text`` (every digit string is canonical once leading
  ``"0"`` are counted as zero bytes), in both twins, crossing them too;
- 4: two byte strings (split at a fuzzed point) -> ``constant_time_compare`` must be
  ``a == b`` in both twins, for bytes, bytearray and memoryview arguments.

    python fuzz/fuzz_codec.py -max_total_time=60 CORPUS_DIR fuzz/corpus/codec
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

H.prepare(fuzzing=__name__ == "__main__", instrument_python=False)  # C and _core_py only


def _call(function, *args):
    try:
        return ("ok", function(*args))
    except (TypeError, ValueError) as exc:  # the codec's documented exceptions, nothing else
        return ("raise", type(exc).__name__, str(exc))


def _decode_both(text: str):
    left = _call(H.native.b62decode, text)
    right = _call(H.pure.b62decode, text)
    H.same(f"b62decode({text!r:.200})", left, right)
    return right


def check(data: bytes) -> None:
    r = H.Reader(data)
    mode = r.below(5)
    body = r.rest()
    if mode == 0:
        encoded = H.pure.b62encode(body)
        for kind in (bytes, bytearray, memoryview):
            H.same(f"b62encode({kind.__name__})", H.native.b62encode(kind(body)), encoded)
        H.same("native b62decode(b62encode(x))", H.native.b62decode(encoded), body)
        H.same("pure b62decode(b62encode(x))", H.pure.b62decode(encoded), body)
    elif mode in (1, 2):
        text = body.decode("latin-1") if mode == 1 else body.decode("utf-8", "surrogateescape")
        _decode_both(text)
    elif mode == 3:
        text = "".join(H.ALPHABET[b % 62] for b in body)
        result = _decode_both(text)
        H.same("decode of alphabet text", result[0], "ok")
        H.same("native b62encode(b62decode(t))", H.native.b62encode(result[1]), text)
        H.same("pure b62encode(b62decode(t))", H.pure.b62encode(result[1]), text)
    else:
        cut = (body[0] if body else 0) % (len(body) + 1)
        a, b = body[1:cut] if cut else b"", body[cut:]
        if body and body[0] & 0x80:  # equal lengths, differing (maybe) in one byte
            b = bytearray(a)
            if b:  # an odd last byte flips bits of one byte (anywhere); an even one: equal
                b[body[0] % len(b)] ^= body[-1] if body[-1] & 1 else 0
            b = bytes(b)
        expected = a == b
        for kind in (bytes, bytearray, memoryview):
            H.same(
                "native constant_time_compare",
                H.native.constant_time_compare(kind(a), kind(b)),
                expected,
            )
            H.same(
                "pure constant_time_compare",
                H.pure.constant_time_compare(kind(a), kind(b)),
                expected,
            )


if __name__ == "__main__":
    H.main(check)
