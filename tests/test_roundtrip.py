"""create -> verify round trips on both implementations, and compatibility with apikee 0.1.2."""

from __future__ import annotations

import json
import math
import pathlib
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import json_scalars, json_trees
from support import OLD_SECRET, SECRET, case_id

from apikee import ApikeeError, KeyOptions
from apikee._wire import ALPHABET, MAX_TIMESTAMP

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"

# Any Unicode except lone surrogates (which cannot be UTF-8 encoded into a payload).
unicode_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60)
json_values = json_trees(
    json_scalars(
        unicode_text,
        integers=st.integers(min_value=-(2**70), max_value=2**70),
        allow_infinity=False,
    ),
    keys=unicode_text,
    max_size=4,
    max_leaves=12,
)
json_objects = st.dictionaries(unicode_text, json_values, max_size=5)
scope_lists = st.lists(unicode_text, max_size=8)


@pytest.fixture(scope="module")
def issuer(make_apikee):
    """A module-wide instance with the reference secrets, for Hypothesis tests. Its limit is
    raised above the default (2048) as README's "Key length" tells whoever issues large
    claims to do: the strategies draw tenants and meta far larger than real ones."""
    return make_apikee(secrets=[SECRET, OLD_SECRET], max_key_length=65536)


def signature_bytes(core, key: str) -> bytes:
    return core.b62decode(key.rpartition(".")[2])


# ── round trips ─────────────────────────────────────────────────────────────────────────────


@given(tenant=unicode_text, scopes=scope_lists, meta=json_objects, environment=unicode_text)
def test_create_then_verify_round_trips_every_claim(
    issuer, tenant, scopes, meta, environment
) -> None:
    key = issuer.create(tenant, scopes=scopes, meta=meta, environment=environment)
    claims = issuer.verify(key)
    assert claims.tenant == tenant
    assert claims.scopes == scopes
    assert claims.environment == environment
    assert claims.meta == meta
    assert claims.raw_key == key
    wire = claims.to_dict()
    assert wire["tid"] == tenant and wire["scp"] == scopes and wire["env"] == environment
    if meta:
        assert wire["meta"] == meta
    else:
        assert "meta" not in wire  # SPEC section 1: omitted when empty


@given(tenant=unicode_text)
def test_keys_are_canonical_and_in_the_scan_pattern(issuer, tenant) -> None:
    key = issuer.create(tenant)
    assert key.startswith("apikee_")
    payload, dot, signature = key[7:].partition(".")
    assert dot and payload and signature
    assert set(payload) <= set(ALPHABET) and set(signature) <= set(ALPHABET)
    assert payload[0] != "0" and signature[0] != "0"
    assert len(signature) <= 43
    assert len(key) <= issuer.max_key_length


@given(tenant=unicode_text, surrogate=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))
def test_lone_surrogate_in_tenant_is_refused_at_create(issuer, tenant, surrogate) -> None:
    with pytest.raises(ValueError):
        issuer.create(tenant + surrogate)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scopes": ["read", "\udc80"]},
        {"environment": "prod\ud800"},
        {"meta": {"\ud800": 1}},
        {"meta": {"a": ["ok", "\udfff"]}},
    ],
    ids=["scope", "environment", "meta-key", "meta-value"],
)
def test_lone_surrogates_anywhere_are_refused_at_create(apikee, kwargs) -> None:
    with pytest.raises(ValueError):
        apikee.create("acme", **kwargs)


def test_tenant_with_control_characters_and_astral_plane(apikee) -> None:
    tenant = 'a\x00b\n"c\\d\u2028\U0001f600\ufeff'
    claims = apikee.verify(apikee.create(tenant))
    assert claims.tenant == tenant


def test_verify_accepts_the_key_as_bytes(apikee) -> None:
    key = apikee.create("acme", scopes=["read"])
    claims = apikee.verify(key.encode("ascii"))
    assert claims.tenant == "acme"
    assert claims.raw_key == key and type(claims.raw_key) is str


def test_new_keys_are_compact_json(apikee, core) -> None:
    key = apikee.create("Zürich", scopes=["read"], meta={"plan": "pro"})
    payload = core.b62decode(key[7:].partition(".")[0])
    decoded = json.loads(payload.decode("utf-8"))
    assert payload == json.dumps(decoded, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert set(decoded) == {"id", "tid", "scp", "env", "exp", "meta"}


# ── expiry forms (SPEC section 3) ───────────────────────────────────────────────────────────


def _exp_of(apikee, **kwargs) -> tuple[float, float, object]:
    before = time.time()
    key = apikee.create("acme", **kwargs)
    after = time.time()
    claims = apikee.verify(key, now=0)  # before any expiry, however short
    return before, after, claims


@pytest.mark.parametrize(
    "expires_in, seconds",
    [
        (timedelta(days=90), 90 * 86400),
        (timedelta(hours=1, minutes=30), 5400),
        (timedelta(seconds=0.5), 0.5),
        (3600, 3600),
        (3600.75, 3600.75),
        (0, 0),
        ("90d", 90 * 86400),
        ("24h", 86400),
        ("60m", 3600),
        ("3600s", 3600),
        ("1w", 604800),
        ("2w", 1209600),
        (" 7d ", 7 * 86400),
    ],
    ids=case_id,
)
def test_relative_expiry_forms(apikee, expires_in, seconds) -> None:
    before, after, claims = _exp_of(apikee, expires_in=expires_in)
    assert type(claims.exp) in (int, float)
    assert math.floor(before + seconds) <= claims.exp <= math.ceil(after + seconds)
    assert claims.expires_at == datetime.fromtimestamp(claims.exp, tz=timezone.utc)


def test_default_expiry_is_90_days(apikee) -> None:
    before, after, claims = _exp_of(apikee)
    assert math.floor(before) + 90 * 86400 <= claims.exp <= math.ceil(after) + 90 * 86400


@pytest.mark.parametrize("default", [timedelta(hours=24), "24h", 86400], ids=case_id)
def test_default_expiry_option(make_apikee, default) -> None:
    apikee = make_apikee(secret=SECRET, default_expiry=default)
    before, after, claims = _exp_of(apikee)
    assert math.floor(before) + 86400 <= claims.exp <= math.ceil(after) + 86400


@pytest.mark.parametrize("default", [None, "never"], ids=case_id)
def test_default_expiry_never(make_apikee, default) -> None:
    apikee = make_apikee(secret=SECRET, default_expiry=default)
    claims = apikee.verify(apikee.create("acme"), now=MAX_TIMESTAMP)
    assert claims.exp is None and claims.expires_at is None


@pytest.mark.parametrize("never", [None, "never", "NEVER", " never "], ids=case_id)
def test_keys_that_never_expire(apikee, never) -> None:
    key = apikee.create("acme", expires_in=never)
    claims = apikee.verify(key, now=MAX_TIMESTAMP)
    assert claims.exp is None and claims.expires_at is None
    assert "exp" not in claims.to_dict()


@pytest.mark.parametrize(
    "when, expected",
    [
        (datetime(2031, 5, 17, 12, 30, 15), 1936787415),  # naive = UTC
        (datetime(2031, 5, 17, 12, 30, 15, tzinfo=timezone.utc), 1936787415),
        (datetime(2031, 5, 17, 14, 30, 15, tzinfo=timezone(timedelta(hours=2))), 1936787415),
        (
            datetime(2031, 5, 17, 7, 0, 15, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
            1936787415,
        ),
        (datetime(9999, 12, 31, 23, 59, 59), MAX_TIMESTAMP),
    ],
    ids=["naive", "utc", "plus2", "minus0530", "year9999"],
)
def test_absolute_datetime_expiry(apikee, when, expected) -> None:
    claims = apikee.verify(apikee.create("acme", expires_in=when), now=expected)
    assert claims.exp == expected
    assert claims.expires_at == datetime.fromtimestamp(expected, tz=timezone.utc)
    with pytest.raises(ApikeeError) as info:
        apikee.verify(claims.raw_key, now=expected + 1)
    assert info.value.code == "EXPIRED"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "90",
        "d",
        "90x",
        "-1d",
        "1.5h",
        "90 days",
        "1y",
        "٣d",
        "never!",
        [],
        {},
        object(),
        True,
        b"90d",
    ],
    ids=case_id,
)
def test_unusable_expiry_is_refused_at_create(apikee, bad) -> None:
    with pytest.raises((ValueError, TypeError)):
        apikee.create("acme", expires_in=bad)


@pytest.mark.parametrize(
    "bad",
    [
        float("nan"),
        float("inf"),
        -float("inf"),
        timedelta(days=3_000_000),  # past year 9999
        datetime(1960, 1, 1),
        10**30,
    ],
    ids=case_id,
)
def test_out_of_range_expiry_is_refused_at_create(apikee, bad) -> None:
    with pytest.raises(ValueError):
        apikee.create("acme", expires_in=bad)


def test_already_expired_key_is_expired(apikee) -> None:
    key = apikee.create("acme", expires_in=-10)
    with pytest.raises(ApikeeError) as info:
        apikee.verify(key)
    assert info.value.code == "EXPIRED"


# ── not_before forms ────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "not_before, expected",
    [
        (datetime(2031, 5, 17, 12, 30, 15), 1936787415),
        (datetime(2031, 5, 17, 12, 30, 15, tzinfo=timezone.utc), 1936787415),
        (datetime(2031, 5, 17, 13, 30, 15, tzinfo=timezone(timedelta(hours=1))), 1936787415),
        (1936787415, 1936787415),
        (1936787415.0, 1936787415),
    ],
    ids=["naive", "utc", "plus1", "int", "float"],
)
def test_not_before_absolute_forms(apikee, not_before, expected) -> None:
    key = apikee.create("acme", not_before=not_before, expires_in=None)
    claims = apikee.verify(key, now=expected)
    assert claims.nbf == expected
    assert claims.not_before == datetime.fromtimestamp(expected, tz=timezone.utc)
    with pytest.raises(ApikeeError) as info:
        apikee.verify(key, now=expected - 1)
    assert info.value.code == "NOT_YET_VALID"


def test_not_before_relative_timedelta(apikee) -> None:
    before = time.time()
    key = apikee.create("acme", not_before=timedelta(hours=1))
    after = time.time()
    claims = apikee.verify(key, now=after + 3601)
    assert math.floor(before) + 3600 <= claims.nbf <= math.ceil(after) + 3600
    with pytest.raises(ApikeeError) as info:
        apikee.verify(key)
    assert info.value.code == "NOT_YET_VALID"


def test_without_not_before_there_is_no_nbf(apikee) -> None:
    claims = apikee.verify(apikee.create("acme"))
    assert claims.nbf is None and claims.not_before is None
    assert "nbf" not in claims.to_dict()


@pytest.mark.parametrize("bad", ["tomorrow", "1h", [], object(), True], ids=case_id)
def test_unusable_not_before_is_refused_at_create(apikee, bad) -> None:
    with pytest.raises((ValueError, TypeError)):
        apikee.create("acme", not_before=bad)


# ── argument checking at create ─────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scopes": "read"},
        {"scopes": [1]},
        {"scopes": [b"read"]},
        {"environment": 3},
        {"meta": [1, 2]},
        {"meta": "plan"},
    ],
    ids=case_id,
)
def test_wrong_argument_types_are_refused_at_create(apikee, kwargs) -> None:
    with pytest.raises(TypeError):
        apikee.create("acme", **kwargs)


@pytest.mark.parametrize("tenant", [None, 123, b"acme", ["acme"]], ids=case_id)
def test_tenant_must_be_text(apikee, tenant) -> None:
    with pytest.raises(TypeError):
        apikee.create(tenant)


@pytest.mark.parametrize(
    "meta",
    [{"a": {1, 2}}, {"a": b"bytes"}, {"a": float("nan")}, {"a": float("inf")}, {"a": object()}],
    ids=case_id,
)
def test_meta_that_is_not_json_is_refused_at_create(apikee, meta) -> None:
    with pytest.raises(ValueError):
        apikee.create("acme", meta=meta)


def test_too_large_meta_is_refused_at_create(apikee) -> None:
    with pytest.raises(ValueError, match="max_key_length"):
        apikee.create("acme", meta={"blob": "x" * 10_000})


# ── key ids ─────────────────────────────────────────────────────────────────────────────────


def test_key_ids_are_22_base62_characters_and_unique(apikee) -> None:
    ids = [apikee.verify(apikee.create("acme")).id for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for key_id in ids:
        assert len(key_id) == 22
        assert set(key_id) <= set(ALPHABET)


def test_key_ids_are_time_ordered(apikee) -> None:
    ids = []
    for _ in range(6):
        ids.append(apikee.verify(apikee.create("acme")).id)
        # the id's time part has millisecond resolution: wait until the clock has moved on
        # (polling, since sleep() and the clock are coarse on some platforms)
        start = time.time()
        while time.time() < start + 0.002:
            time.sleep(0.001)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


# ── signatures that start with a zero byte (~1 key in 256) ──────────────────────────────────


def _key_with_short_signature(apikee, core) -> str:
    for i in range(20_000):  # misses with probability (255/256)**20000, about e**-78
        key = apikee.create(f"tenant-{i}")
        if len(signature_bytes(core, key)) < 32:
            return key
    raise AssertionError("no signature with a leading zero byte in 20000 keys")


def test_signature_with_leading_zero_byte_verifies(apikee, core) -> None:
    key = _key_with_short_signature(apikee, core)
    signature_text = key.rpartition(".")[2]
    assert not signature_text.startswith("0")  # canonical: the zero byte is simply not written
    assert apikee.verify(key).tenant.startswith("tenant-")


# ── KeyOptions and the 0.1.2 keywords ───────────────────────────────────────────────────────


def test_create_accepts_key_options(apikee) -> None:
    options = KeyOptions(
        tenant="acme",
        scopes=["read", "write"],
        expires_in="24h",
        not_before=datetime(2020, 1, 1, tzinfo=timezone.utc),
        environment="staging",
        meta={"plan": "pro"},
    )
    before = time.time()
    claims = apikee.verify(apikee.create(options))
    assert claims.tenant == "acme"
    assert claims.scopes == ["read", "write"]
    assert claims.environment == "staging"
    assert claims.meta == {"plan": "pro"}
    assert claims.nbf == 1577836800
    assert math.floor(before) + 86400 <= claims.exp <= math.ceil(time.time()) + 86400


def test_key_options_defaults(apikee) -> None:
    claims = apikee.verify(apikee.create(KeyOptions(tenant="acme")))
    assert claims.scopes == [] and claims.environment == "production" and claims.nbf is None
    assert claims.exp is not None


def test_server_mode_keywords_are_no_trap(apikee) -> None:
    # 0.1.2 accepted ip_whitelist= and template_id= and ignored them. Now ip_whitelist is the
    # allow list (the ``ip`` claim, enforced), and template_id, which needs server-side
    # templates this version does not have, is refused instead of silently dropped.
    key = apikee.create(
        "acme",
        scopes=["read"],
        client_name="Acme backend",
        client_type="user",
        ip_whitelist=["10.0.0.0/8", "127.0.0.1"],
    )
    wire = apikee.verify(key).to_dict()
    assert set(wire) == {"id", "tid", "scp", "env", "exp", "ip"}
    assert wire["ip"] == ["10.0.0.0/8", "127.0.0.1"]
    with pytest.raises(ValueError, match="template_id"):
        apikee.create("acme", template_id="tpl_123")
    assert set(apikee.verify(apikee.create("acme", template_id=None)).to_dict()) == {
        "id",
        "tid",
        "scp",
        "env",
        "exp",
    }


def test_create_signs_with_the_first_secret(make_apikee) -> None:
    key = make_apikee(secrets=[SECRET, OLD_SECRET]).create("acme")
    assert make_apikee(secret=SECRET).verify(key).tenant == "acme"
    with pytest.raises(ApikeeError) as info:
        make_apikee(secret=OLD_SECRET).verify(key)
    assert info.value.code == "INVALID_SIGNATURE"


# ── apikee 0.1.2 reads our keys, we read its keys ───────────────────────────────────────────


@pytest.fixture(scope="module")
def reference():
    """apikee 0.1.2 (module ``apikee_ref``), from .bench-peers/ (or APIKEE_REF_DIR)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from _peers import REFERENCE_INSTALL, load_reference, reference_dir
    finally:
        sys.path.remove(str(BENCHMARKS))
    module = load_reference()
    if module is None:
        pytest.skip(
            f"apikee 0.1.2 is not installed in {reference_dir()}; install it with: {REFERENCE_INSTALL}"
        )
    return module


@given(tenant=unicode_text, scopes=scope_lists, meta=json_objects, environment=unicode_text)
def test_our_keys_verify_in_0_1_2(
    issuer, core, reference, tenant, scopes, meta, environment
) -> None:
    key = issuer.create(tenant, scopes=scopes, meta=meta, environment=environment)
    old = reference.Apikee(secrets=[SECRET])
    if len(signature_bytes(core, key)) < 32:  # 0.1.2's own bug (SPEC section 4)
        with pytest.raises(reference.ApikeeError):
            old.verify(key)
        return
    claims = old.verify(key)
    assert claims.tenant == tenant
    assert claims.scopes == scopes
    assert claims.environment == environment
    assert claims.meta == meta
    assert claims.expires_at == issuer.verify(key).expires_at
    assert claims.raw_key == key


def test_our_key_with_every_option_verifies_in_0_1_2(apikee, reference) -> None:
    key = apikee.create(
        "Zürich Bäckerei",
        scopes=["read", "write"],
        expires_in="1w",
        meta={"plan": "pro", "n": [1, 2]},
        environment="staging",
        not_before=datetime(2020, 1, 1),
    )
    claims = reference.Apikee(secrets=[SECRET]).verify(key)
    assert claims.tenant == "Zürich Bäckerei"
    assert claims.not_before == datetime(2020, 1, 1, tzinfo=timezone.utc)


def test_0_1_2_rejects_a_short_signature_that_we_accept(apikee, core, reference) -> None:
    key = _key_with_short_signature(apikee, core)
    with pytest.raises(reference.ApikeeError) as info:
        reference.Apikee(secrets=[SECRET]).verify(key)
    assert info.value.code == "INVALID_SIGNATURE"
    assert apikee.verify(key).raw_key == key


@given(tenant=unicode_text, scopes=scope_lists, meta=json_objects)
def test_0_1_2_keys_verify_here(issuer, reference, tenant, scopes, meta) -> None:
    key = reference.Apikee(secret=OLD_SECRET).create(
        tenant, scopes=scopes, meta=meta, expires_in=timedelta(hours=1)
    )
    claims = issuer.verify(key)  # OLD_SECRET is the second secret of the fixture: rotation
    assert claims.tenant == tenant
    assert claims.scopes == scopes
    assert claims.meta == meta
