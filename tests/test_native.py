"""The compiled module itself: it is what loads by default, and its C primitives are right."""

from __future__ import annotations

import hashlib
import hmac
import inspect
import os
import random
import subprocess
import sys

import pytest

import apikee
from apikee import ApikeeError, _core
from apikee._wire import PREFIX

pytestmark = pytest.mark.native

NIST_SHA256 = [  # FIPS 180-2 appendix B and the usual extra vectors
    (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (
        b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ),
    (
        b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
        b"klmnopqrlmnopqrsmnopqrstnopqrstu",
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
    ),
    (b"a" * 1_000_000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
]


@pytest.fixture(scope="module")
def native():
    return _core.load_backend("native")


@pytest.fixture(params=["accelerated", "portable"])
def sha_backend(request, native):
    """Run SHA tests on both compression functions (SHA-NI where the CPU has it)."""
    name = native._select_sha256(request.param == "accelerated")
    yield name
    native._select_sha256(True)


def test_sha256_nist_vectors(native, sha_backend) -> None:
    for message, digest in NIST_SHA256:
        assert native._sha256_for_tests(message).hex() == digest


def test_sha256_matches_hashlib_for_every_length(native, sha_backend) -> None:
    data = os.urandom(2048)
    for length in range(2049):
        assert native._sha256_for_tests(data[:length]) == hashlib.sha256(data[:length]).digest()


@pytest.mark.parametrize("key_length", [0, 1, 31, 32, 63, 64, 65, 200])
def test_hmac_matches_stdlib(native, sha_backend, key_length: int) -> None:
    secret = os.urandom(key_length) or b"k"
    signer = native.Verifier([secret])
    for length in (0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000):
        payload = os.urandom(length)
        assert signer.sign(payload) == hmac.new(secret, payload, hashlib.sha256).digest()


def test_hmac_matches_stdlib_for_every_length(native, sha_backend) -> None:
    secret = os.urandom(32)
    signer = native.Verifier([secret])
    data = os.urandom(300)
    for length in range(301):
        payload = data[:length]
        assert signer.sign(payload) == hmac.new(secret, payload, hashlib.sha256).digest()


def _authenticates(verifier, native, payload: bytes, signature: bytes) -> bool:
    """Whether ``verifier`` accepts the MAC of a key (``signature``, 32 bytes) for ``payload``:
    step 6 passed when verify() fails with anything but INVALID_SIGNATURE (the payload itself
    is random bytes, rarely valid claims) or succeeds."""
    key = PREFIX + native.b62encode(payload) + "." + native.b62encode(signature.lstrip(b"\0"))
    try:
        verifier.verify(key, now=1_800_000_000)
    except ApikeeError as exc:
        return exc.code != "INVALID_SIGNATURE"
    return True


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
def test_verify_tries_every_secret(native, sha_backend, count: int) -> None:
    """The multi-secret MAC check (lanes side by side with SHA-NI) agrees with
    hmac.compare_digest, whichever secret signed (each position) or none did."""
    rng = random.Random(count)
    # short, block-sized and hashed (longer than 64 bytes) secrets side by side
    secrets = [rng.randbytes(rng.choice([1, 20, 32, 64, 65, 100])) for _ in range(count)]
    stranger = rng.randbytes(32)
    verifier = native.Verifier(secrets)
    for length in range(1, 301):  # an empty payload never reaches step 6 (step 4 rejects it)
        payload = bytes([rng.randrange(1, 256)]) + rng.randbytes(length - 1)  # canonical
        for signer in [*secrets, stranger]:
            signature = hmac.new(signer, payload, hashlib.sha256).digest()
            expected = any(
                hmac.compare_digest(hmac.new(s, payload, hashlib.sha256).digest(), signature)
                for s in secrets
            )
            assert expected == (signer is not stranger)
            assert _authenticates(verifier, native, payload, signature) == expected, (
                length,
                secrets.index(signer) if expected else None,
            )
        # one flipped bit of a genuine signature matches no secret
        signature = bytearray(hmac.new(secrets[-1], payload, hashlib.sha256).digest())
        signature[rng.randrange(32)] ^= 1 << rng.randrange(8)
        assert not _authenticates(verifier, native, payload, bytes(signature))


def test_default_import_is_native() -> None:
    assert apikee.IMPLEMENTATION == "native", _core.REASON


def _implementation_in_subprocess(env_value: str | None) -> str:
    env = dict(os.environ)
    env.pop("APIKEE_NO_EXTENSIONS", None)
    if env_value is not None:
        env["APIKEE_NO_EXTENSIONS"] = env_value
    out = subprocess.run(
        [sys.executable, "-c", "import apikee; print(apikee.IMPLEMENTATION)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(__file__),
    )
    return out.stdout.strip()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "native"),
        ("", "native"),
        ("0", "native"),
        ("false", "native"),
        ("1", "pure"),
        ("yes", "pure"),
        ("TRUE", "pure"),
    ],
)
def test_switch_in_a_fresh_interpreter(value: str | None, expected: str) -> None:
    assert _implementation_in_subprocess(value) == expected


def test_sha_backend_is_reported(native) -> None:
    assert native._sha256_backend() in {"sha-ni", "portable"}


def _prose(doc: str | None) -> str:
    """A docstring without indentation and without the signature line embedsignature adds."""
    text = inspect.cleandoc(doc or "")
    first, _, rest = text.partition("\n")
    if "(" in first and first.rstrip().endswith(")") and rest.startswith("\n"):
        text = rest.strip()
    return text


def test_twins_have_the_same_public_names_and_docstrings(native) -> None:
    pure = _core.load_backend("pure")
    assert native.__all__ == pure.__all__
    members = (
        "verify",
        "sign",
        "has_scopes",
        "to_dict",
        "expires_at",
        "not_before",
        "meta",
        "max_key_length",
        "leeway",
    )
    for name in pure.__all__:
        left, right = getattr(native, name), getattr(pure, name)
        assert _prose(left.__doc__) == _prose(right.__doc__), name
        for member in members if isinstance(right, type) else ():
            if hasattr(right, member):
                assert hasattr(left, member), (name, member)
                assert _prose(getattr(left, member).__doc__) == _prose(
                    getattr(right, member).__doc__
                ), (name, member)


@pytest.mark.parametrize("accelerated", [True, False])
def test_b62_digit_loops_agree(native, accelerated: bool) -> None:
    """The SSE2 digit loop and the portable one decode alike (the switch tests use)."""
    import random

    pure = _core.load_backend("pure")
    rng = random.Random(62)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    native._select_b62(accelerated)
    try:
        for length in range(1, 400):
            text = rng.choice(alphabet[1:]) + "".join(rng.choices(alphabet, k=length - 1))
            assert native.b62decode(text) == pure.b62decode(text)
    finally:
        native._select_b62(True)


def test_portable_c_switch_selects_the_portable_code() -> None:
    code = "from apikee import _core_c as m; print(m._sha256_backend(), m._b62_backend())"
    for value, expected in (("1", "portable portable"), ("0", None)):
        env = {**os.environ, "APIKEE_PORTABLE_C": value}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        if expected is None:
            assert out[0] in {"sha-ni", "portable"} and out[1] in {"sse2", "portable"}
        else:
            assert " ".join(out) == expected


def test_claims_attributes_are_member_descriptors(native) -> None:
    """The compiled claims' plain attributes are member descriptors, like the pure class's
    slots (CPython specialises reading those), read-only, with the verified values."""
    import types

    from support import SECRET

    from apikee import Apikee

    apikee = Apikee(secret=SECRET, implementation="native")
    claims = apikee.verify(apikee.create("acme", scopes=["read"], expires_in=60))
    pure = Apikee(secret=SECRET, implementation="pure").verify(claims.raw_key)
    for name in ("id", "tenant", "scopes", "environment", "exp", "nbf", "iat", "raw_key"):
        assert type(vars(native.ApikeeClaims)[name]) is types.MemberDescriptorType, name
        assert getattr(claims, name) == getattr(pure, name), name
        with pytest.raises(AttributeError):
            setattr(claims, name, "other")
        with pytest.raises(AttributeError):
            delattr(claims, name)
    assert claims.tenant == "acme" and claims.scopes == ["read"]
