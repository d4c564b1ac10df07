"""Fuzz ``Verifier.verify``: native against pure on every input.

Input layout (so that a seed file reads as what it tests):

- byte 0: how the rest becomes a key (``MODES``);
- byte 1: which verifier and which ``now`` (``CONFIGS`` x ``NOWS``);
- the rest: the key itself (modes 0-3), or a payload the harness signs with ``SECRET``
  (modes 4-5: ``apikee_<b62(payload)>.<b62(sig without leading zero bytes)>``), so that the
  parser and the claim checks behind the MAC are reached, which forged keys never are.

Both twins must give the same claims (every attribute, ``to_dict()``, ``meta``, the datetimes,
``repr``, pickling, cross-twin ``==``) or the same ``ApikeeError`` code and message; any other
exception from ``verify`` is a failure too.

    python fuzz/fuzz_verify.py -max_total_time=60 CORPUS_DIR fuzz/corpus/verify
    python fuzz/fuzz_verify.py --replay fuzz/corpus/verify
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

H.prepare(fuzzing=__name__ == "__main__")

MODES = (
    "bytes key",  # 0: the raw bytes, as a bytes key (the header bytes of a request)
    "latin-1 str key",  # 1: one char per byte
    "utf-8 str key",  # 2: with lone surrogates for invalid UTF-8 (surrogateescape)
    "after the prefix",  # 3: "apikee_" + latin-1 text: structure and alphabet checks
    "signed payload",  # 4: a genuine signature over the bytes: parser and claim checks
    "signed payload, bytes key, then a mutation",  # 5: the same as bytes with one byte changed
)

# (secrets, Verifier options, verify() keyword arguments)
CONFIGS = (
    ([H.SECRET, H.OLD_SECRET], {}, {}),
    ([H.OLD_SECRET, H.SECRET], {"max_key_length": 1 << 15, "leeway": 30.5}, {}),
    ([H.WRONG_SECRET], {}, {}),
    ([H.SECRET], {"max_key_length": 64}, {}),
    ([H.SECRET], {"environment": "staging", "leeway": 3}, {"scopes": ["read", "res:x"]}),
    ([H.SECRET, H.WRONG_SECRET], {}, {"scopes": ["read", "res:x"], "any_of": True}),
)
NOWS = (H.NOW, 0, 253402300799, 1.5e9 + 0.25, None)

_verifiers = [
    (H.native.Verifier(secrets, **options), H.pure.Verifier(secrets, **options), kwargs)
    for secrets, options, kwargs in CONFIGS
]


def check(data: bytes) -> None:
    r = H.Reader(data)
    mode = r.below(len(MODES))
    choice = r.byte()
    native_verifier, pure_verifier, kwargs = _verifiers[choice % len(CONFIGS)]
    now = NOWS[(choice // len(CONFIGS)) % len(NOWS)]
    if mode == 5:
        where, value = r.byte(), r.byte()
    body = r.rest()
    if mode == 0:
        key = body
    elif mode == 1:
        key = body.decode("latin-1")
    elif mode == 2:
        key = body.decode("utf-8", "surrogateescape")
    elif mode == 3:
        key = "apikee_" + body.decode("latin-1")
    else:
        key = H.signed_key(body)
        if mode == 5:
            raw = bytearray(key.encode("ascii"))
            if where:  # 0: unmutated, as bytes
                raw[where % len(raw)] = value
            key = bytes(raw)
    H.compare_verify(native_verifier, pure_verifier, key, now, **kwargs)


if __name__ == "__main__":
    H.main(check)
