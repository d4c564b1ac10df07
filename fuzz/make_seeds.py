"""Write the committed seed corpus (fuzz/corpus/{verify,codec,claims}/) from scratch.

Deterministic: the same files every run (fixed RNG seed), so a re-run shows as no change. Each
file is one input in the layout its harness documents; the names say what each one aims at.
Only the pure implementation is needed. ``python fuzz/make_seeds.py``
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "src"))

import _harness as H  # noqa: E402

from apikee import _core_py as pure  # noqa: E402

SECRET, NOW = H.SECRET, H.NOW
MODE_BYTES, MODE_LATIN1, MODE_UTF8, MODE_AFTER_PREFIX, MODE_SIGNED, MODE_SIGNED_MUTATED = range(6)


def signed_key(payload: bytes) -> str:
    signature = pure.Verifier([SECRET]).sign(payload).lstrip(b"\x00")
    return "apikee_" + pure.b62encode(payload) + "." + pure.b62encode(signature)


def claims(**values) -> bytes:
    return json.dumps(values, separators=(",", ":")).encode()


def verify_seeds(rng: random.Random) -> dict[str, bytes]:
    def seed(mode: int, config: int, body: bytes, now_index: int = 0) -> bytes:
        return bytes([mode, config + 6 * now_index]) + body

    good = claims(id="k1", tid="acme", scp=["read", "res:*"], env="production", exp=NOW + 100)
    long_meta = claims(tid="t", meta={"blob": "x" * 1100})  # > 768 bytes: the heap path
    near_stack = claims(tid="t", meta={"blob": "y" * 700})
    out = {
        "signed-good-claims": seed(MODE_SIGNED, 0, good),
        "signed-good-claims-scopes-any": seed(MODE_SIGNED, 5, good),
        "signed-good-claims-staging": seed(
            MODE_SIGNED, 4, claims(tid="t", env="staging", scp=["res:x"])
        ),
        "signed-good-claims-wrong-secret": seed(MODE_SIGNED, 2, good),
        "signed-meta-19-digit-int": seed(
            MODE_SIGNED, 0, b'{"tid":"t","meta":{"n":9999999999999999999}}'
        ),
        "signed-meta-20-digit-int": seed(
            MODE_SIGNED, 0, b'{"tid":"t","meta":{"n":10000000000000000000}}'
        ),
        "signed-meta-negative-ints": seed(
            MODE_SIGNED,
            0,
            b'{"meta":{"a":-9223372036854775808,"b":-9223372036854775809,"c":-0,"d":-999999999999999999}}',
        ),
        "signed-exp-18-digits": seed(MODE_SIGNED, 0, b'{"tid":"t","exp":999999999999999999}'),
        "signed-exp-19-digits": seed(MODE_SIGNED, 0, b'{"tid":"t","exp":9999999999999999999}'),
        "signed-exp-max": seed(MODE_SIGNED, 1, b'{"tid":"t","exp":253402300799}', now_index=2),
        "signed-exp-max-plus-one": seed(MODE_SIGNED, 0, b'{"tid":"t","exp":253402300800}'),
        "signed-exp-float-inf": seed(MODE_SIGNED, 0, b'{"tid":"t","exp":1e309}'),
        "signed-exp-float": seed(
            MODE_SIGNED, 1, b'{"tid":"t","exp":1.8e9,"nbf":1799999999.75}', now_index=3
        ),
        "signed-scp-big-int": seed(MODE_SIGNED, 0, b'{"scp":["a",12345678901234567890]}'),
        "signed-unknown-claim-int-at-end": seed(MODE_SIGNED, 0, b'{"x":123456789012345678'),
        "signed-escapes-and-duplicates": seed(
            MODE_SIGNED,
            0,
            b'{"tid":"a\\u00e9","tid":"b","x":"\\ud800","meta":{"k":"\\n"},"meta":{}}',
        ),
        "signed-meta-depth-31": seed(MODE_SIGNED, 0, b'{"meta":' + b"[" * 31 + b"]" * 31 + b"}"),
        "signed-meta-depth-32": seed(MODE_SIGNED, 0, b'{"meta":' + b"[" * 32 + b"]" * 32 + b"}"),
        "signed-whitespace": seed(MODE_SIGNED, 0, b' \t{ "tid" :\r\n"t" , "scp" : [ "a" ] }\n'),
        "signed-msgpack": seed(MODE_SIGNED, 0, b"\x82\xa3tid\xa1t\xa3exp\xce\x6b\x49\xd2\x00"),
        "signed-not-utf8": seed(MODE_SIGNED, 0, b'{"tid":"\xc3\x28"}'),
        "signed-long-payload-heap": seed(MODE_SIGNED, 1, long_meta),
        "signed-payload-near-stack-limit": seed(MODE_SIGNED, 0, near_stack),
        "signed-mutated-bytes-key": seed(MODE_SIGNED_MUTATED, 0, b"\x11z" + good),
        "key-bytes-valid": seed(MODE_BYTES, 0, signed_key(good).encode()),
        "key-latin1-valid-length-limit": seed(MODE_LATIN1, 3, signed_key(good).encode()),
        "key-utf8-non-ascii": seed(
            MODE_UTF8, 0, "apikee_\u00e9\u00e9.\U0001f600".encode() + b"\xff"
        ),
        "after-prefix-sig-43-digits-too-big": seed(MODE_AFTER_PREFIX, 0, b"1." + b"z" * 43),
        "after-prefix-sig-44-digits": seed(MODE_AFTER_PREFIX, 0, b"1." + b"1" * 44),
        "after-prefix-leading-zero": seed(MODE_AFTER_PREFIX, 0, b"0abc.1"),
        "after-prefix-two-dots": seed(MODE_AFTER_PREFIX, 0, b"a.b.c"),
        "after-prefix-long-forgery": seed(
            MODE_AFTER_PREFIX,
            1,
            bytes(rng.choice(H.ALPHABET.encode()) for _ in range(3000)) + b".zz",
        ),
    }
    return out


def codec_seeds(rng: random.Random) -> dict[str, bytes]:
    return {
        "encode-empty": b"\x00",
        "encode-zero-bytes": b"\x00\x00\x00\x01",
        "encode-32-ff": b"\x00" + b"\xff" * 32,
        "encode-random-800": b"\x00" + rng.randbytes(800),
        "encode-random-1100": b"\x00" + rng.randbytes(1100),
        "decode-latin1": b"\x01" + "00z\u00e9".encode("latin-1"),
        "decode-utf8-surrogate": b"\x02" + b"zz\xed\xa0\x80",
        "decode-alphabet-43-z": b"\x03" + bytes([61]) * 43,
        "decode-alphabet-zeros-then-digits": b"\x03" + bytes([0, 0, 0, 1, 2, 3]),
        "decode-alphabet-random-1500": b"\x03" + rng.randbytes(1500),
        "compare-equal": b"\x04\x05abcdabcd",
        "compare-differ-last-byte": b"\x04\x85" + b"k" * 31 + b"\x01",
    }


def claims_seeds(rng: random.Random) -> dict[str, bytes]:
    out = {f"random-{n}": rng.randbytes(n) for n in (8, 16, 32, 64, 128, 256, 512)}
    out["zeros-64"] = b"\x00" * 64
    out["ones-64"] = b"\xff" * 64
    out["msgpack-form"] = b"\x07" + rng.randbytes(100)
    out["bytes-key-form"] = b"\x06" + rng.randbytes(100)
    return out


def main() -> None:
    rng = random.Random(20240601)
    root = os.path.join(HERE, "corpus")
    for name, seeds in (
        ("verify", verify_seeds(rng)),
        ("codec", codec_seeds(rng)),
        ("claims", claims_seeds(rng)),
    ):
        folder = os.path.join(root, name)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        for file_name, data in seeds.items():
            with open(os.path.join(folder, file_name), "wb") as handle:
                handle.write(data)
        print(f"{folder}: {len(seeds)} files, {sum(map(len, seeds.values()))} bytes")


if __name__ == "__main__":
    main()
