"""Hardening of the core (the adversarial review's findings), on both implementations:
cheapest rejection first, option parity outside verify(), and read-only claims."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from support import SECRET, signed_key

from apikee import ApikeeConfigError, ApikeeError
from apikee._core import load_backend
from apikee._options import LARGEST_MAX_KEY_LENGTH, MAX_LEEWAY

BOTH = ["native", "pure"]
#: Tests that compare the two implementations directly need both (deselected by --no-native).
native_and_pure = pytest.mark.native


def outcome(call):
    try:
        return ("ok", call())
    except ApikeeError as exc:
        return ("ApikeeError", exc.code, exc.message)
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return (type(exc).__name__, str(exc))


# ── 2. cheapest rejection first ──────────────────────────────────────────────────────────────


def test_an_over_long_signature_is_rejected_before_the_payload_is_decoded(impl) -> None:
    # A 16 MB payload: decoding it (quadratic) would take a quarter of an hour natively, days in
    # pure Python. An over-long or over-wide signature must be refused after linear checks only,
    # so this finishes at once; the subprocess timeout turns a regression into a failure.
    program = textwrap.dedent(f"""
        from apikee._core import load_backend
        from apikee import ApikeeError
        core = load_backend({impl!r})
        verifier = core.Verifier([b"s" * 32], max_key_length=2**25)
        payload = "z" * 16_000_000
        for signature in ("z" * 44, "z" * 43, "z" * 5000):
            try:
                verifier.verify("apikee_" + payload + "." + signature)
            except ApikeeError as exc:
                print(exc.code)
    """)
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["INVALID_SIGNATURE"] * 3


@native_and_pure
@pytest.mark.parametrize(
    "key",
    [
        "apikee_abc." + "z" * 44,  # too many digits
        "apikee_abc." + "z" * 43,  # 43 digits, wider than 32 bytes
        "apikee_a!c." + "z" * 44,  # a bad payload character wins over the width
        "apikee_abc." + "z" * 43 + "!",  # a bad signature character wins too
        "apikee_0bc." + "z" * 44,  # non-canonical payload wins over the width
        "apikee_abc.0" + "z" * 43,  # non-canonical signature
        "apikee_abc.1" + "0" * 42,  # 43 digits that still fit 32 bytes: a bad MAC
    ],
)
def test_the_order_of_the_cheap_checks_is_the_same(key) -> None:
    results = [
        outcome(lambda core=load_backend(name): core.Verifier([b"s"]).verify(key)) for name in BOTH
    ]
    assert results[0] == results[1]
    assert results[0][0] == "ApikeeError"


# ── 3. options checked once, identically ────────────────────────────────────────────────────


@native_and_pure
@pytest.mark.parametrize(
    "options",
    [
        {"max_key_length": 2**63},
        {"max_key_length": LARGEST_MAX_KEY_LENGTH + 1},
        {"max_key_length": 0},
        {"max_key_length": 1.5},
        {"max_key_length": True},
        {"leeway": 10**400},
        {"leeway": 2**53 + 1},
        {"leeway": MAX_LEEWAY + 1},
        {"leeway": -1},
        {"leeway": float("nan")},
        {"leeway": float("inf")},
        {"leeway": "5"},
        {"leeway": True},
        {"environment": 5},
        {"is_revoked": 5},
    ],
    ids=repr,
)
def test_bad_verifier_options_fail_alike(options) -> None:
    results = [
        outcome(lambda core=load_backend(name): core.Verifier([b"s"], **options)) for name in BOTH
    ]
    assert results[0] == results[1]
    assert results[0][0] in ("ApikeeConfigError", "TypeError")


def test_the_largest_options_are_accepted(core) -> None:
    verifier = core.Verifier([b"s"], max_key_length=LARGEST_MAX_KEY_LENGTH, leeway=MAX_LEEWAY)
    assert verifier.max_key_length == LARGEST_MAX_KEY_LENGTH and verifier.leeway == MAX_LEEWAY


@native_and_pure
@pytest.mark.parametrize("leeway", [0, 1, 2**30, 2**37 + 1, MAX_LEEWAY], ids=repr)
@pytest.mark.parametrize("exp", [0, 1, 1_800_000_000, 1_800_000_000.5, 253402300799])
@pytest.mark.parametrize("delta", [-1, 0, 1])
def test_time_window_arithmetic_is_identical(leeway, exp, delta) -> None:
    payload = f'{{"tid":"t","exp":{exp!r},"nbf":{exp!r}}}'.encode()
    results = []
    for name in BOTH:
        core = load_backend(name)
        key = signed_key(core, payload, secret="s")
        verifier = core.Verifier([b"s"], leeway=leeway)
        for now in (exp + leeway + delta, exp - leeway + delta):
            results.append((name, now, outcome(lambda: verifier.verify(key, now).tenant)))
    half = len(results) // 2
    assert [r[1:] for r in results[:half]] == [r[1:] for r in results[half:]]


@native_and_pure
@pytest.mark.parametrize(
    "now",
    [
        10**400,
        -(10**400),
        2**1100,
        float("inf"),
        float("-inf"),
        float("nan"),
        "0",
        None.__class__,
        b"1",
    ],
    ids=repr,
)
def test_now_out_of_range_is_the_documented_type_error(now) -> None:
    payload = b'{"tid":"t","exp":1}'
    results = []
    for name in BOTH:
        core = load_backend(name)
        key = signed_key(core, payload, secret="s")
        results.append(outcome(lambda: core.Verifier([b"s"]).verify(key, now)))
    assert results[0] == results[1]
    assert results[0][0] == "TypeError"


def test_apikee_refuses_the_same_values(make_apikee) -> None:
    for options in ({"max_key_length": 2**63}, {"leeway": 10**400}, {"leeway": 2**53 + 1}):
        with pytest.raises(ApikeeConfigError):
            make_apikee(secret=SECRET, **options)


# ── the review's later findings ──────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "meta",
    [
        {"deep": __import__("functools").reduce(lambda inner, _: {"a": inner}, range(40), {})},
        {"huge": 10**700},
    ],
    ids=["nested-40", "int-700-digits"],
)
def test_create_never_issues_a_key_verify_refuses(make_apikee, meta) -> None:
    with pytest.raises(ValueError, match="cannot go in a key"):
        make_apikee(secret=SECRET).create("acme", meta=meta)


@pytest.mark.parametrize("value", [" KEY ", "\tKEY", "KEY, other", ", KEY"])
def test_protect_applies_the_header_rule(make_apikee, value) -> None:
    apikee = make_apikee(secret=SECRET)
    key = apikee.create("acme")
    text = value.replace("KEY", key)
    assert apikee.protect(text).tenant == "acme"
    assert apikee.protect(text.encode()).tenant == "acme"
    with pytest.raises(ApikeeError) as info:
        apikee.protect(" \t ")
    assert info.value.code == "MISSING_KEY"


def test_asgi_takes_the_first_non_empty_authorization(make_apikee) -> None:
    import asyncio

    from apikee.asgi import ApikeeMiddleware

    apikee = make_apikee(secret=SECRET)
    key = apikee.create("acme")
    seen: list[str] = []

    async def app(scope, receive, send):  # noqa: ANN001 - a bare ASGI app
        seen.append(scope["apikee"].tenant)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent: list[dict] = []

    async def send(message):  # noqa: ANN001
        sent.append(message)

    async def receive():  # pragma: no cover - not called on http
        return {"type": "http.request"}

    middleware = ApikeeMiddleware(app, apikee=apikee)
    headers = [(b"authorization", b"  "), (b"authorization", f"Bearer {key}".encode())]
    scope = {"type": "http", "path": "/", "headers": headers}
    asyncio.run(middleware(scope, receive, send))
    assert sent[0]["status"] == 200 and seen == ["acme"]
