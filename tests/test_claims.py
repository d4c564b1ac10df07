"""ApikeeClaims (both twins, through ``core`` / ``make_apikee``) and ApikeeError."""

from __future__ import annotations

import copy
import json
import os
import pickle
import time
from datetime import datetime, timedelta, timezone

import pytest
from support import OLD_SECRET, SECRET, signed_key

from apikee import ApikeeError, ErrorCode

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
EXP = 1_900_000_000
META = {
    "plan": "pro",
    "limits": {"rpm": 100, "tags": ["a", "b"]},
    "list": [1, {"x": [2]}],
    "none": None,
}


@pytest.fixture
def key(apikee) -> str:
    return apikee.create(
        "acme",
        scopes=["read", "write", "billing:*"],
        meta=META,
        expires_in=datetime.fromtimestamp(EXP, timezone.utc),
        not_before=1_700_000_000,
        environment="staging",
    )


@pytest.fixture
def claims(apikee, key):
    return apikee.verify(key, now=1_800_000_000)


# ── read-only ───────────────────────────────────────────────────────────────────────────────

ATTRIBUTES = [
    "id",
    "tenant",
    "scopes",
    "environment",
    "exp",
    "nbf",
    "raw_key",
    "meta",
    "expires_at",
    "not_before",
]


@pytest.mark.parametrize("name", ATTRIBUTES + ["anything_new", "__dict__"])
def test_attributes_cannot_be_set(claims, name) -> None:
    with pytest.raises(AttributeError):
        setattr(claims, name, "changed")


@pytest.mark.parametrize("name", ATTRIBUTES + ["anything_new"])
def test_attributes_cannot_be_deleted(claims, name) -> None:
    with pytest.raises(AttributeError):
        delattr(claims, name)


def test_values_are_unchanged_after_attempts(claims) -> None:
    for name in ("tenant", "scopes"):
        with pytest.raises(AttributeError):
            setattr(claims, name, "x")
    assert claims.tenant == "acme"
    assert claims.scopes == ["read", "write", "billing:*"]


def test_scopes_is_a_list_of_str(claims) -> None:
    assert type(claims.scopes) is list
    assert claims.scopes == ["read", "write", "billing:*"]


def _plain(value) -> bool:
    """Whether a value is plain JSON data, as json.loads gives it."""
    if type(value) is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if type(value) is list:
        return all(_plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_meta_is_plain_json_data(claims) -> None:
    assert type(claims.meta) is dict and _plain(claims.meta)
    assert claims.meta == META
    assert json.loads(json.dumps(claims.meta)) == META
    assert json.loads(json.dumps(claims.to_json_dict()))["meta"] == META


@pytest.mark.parametrize("meta", [{"l": [1, {"k": "v"}]}, {"flat": "x", "n": 1}, {}])
def test_meta_equals_what_create_was_given(apikee, meta) -> None:
    claims = apikee.verify(apikee.create("acme", meta=meta))
    assert claims.meta == meta
    assert json.dumps(claims.meta) == json.dumps(meta)
    assert json.dumps(dict(claims.meta)) == json.dumps(meta)  # the README's dict(claims.meta)
    assert pickle.loads(pickle.dumps(claims.meta)) == meta
    assert copy.deepcopy(claims.meta) == meta


def test_meta_is_fresh_per_claims_object(apikee, key) -> None:
    first = apikee.verify(key, now=1_800_000_000)
    first.meta["plan"] = "free"
    first.meta["limits"]["tags"].append("c")
    first.scopes.append("admin")
    assert first.meta["plan"] == "free"  # kept on the object: read once, then cached
    second = apikee.verify(key, now=1_800_000_000)
    assert second.meta == META and second.scopes == ["read", "write", "billing:*"]
    assert first.to_dict()["meta"] == META  # the payload's own claims are untouched
    assert first.to_dict()["scp"] == ["read", "write", "billing:*"]


def test_meta_is_built_once_under_threads(apikee, key) -> None:
    # Eight threads read .meta (and the datetimes) of the same fresh claims object: every one
    # must get the very same object, not an equal copy.
    import threading

    for _ in range(200):
        claims = apikee.verify(key, now=1_800_000_000)
        barrier = threading.Barrier(8)
        seen: list[tuple[int, int, int]] = []

        def read() -> None:
            barrier.wait()
            seen.append((id(claims.meta), id(claims.expires_at), id(claims.not_before)))

        threads = [threading.Thread(target=read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(seen)) == 1


def test_claims_are_apikee_claims_in_both_implementations(claims) -> None:
    import apikee as package

    assert isinstance(claims, package.ApikeeClaims)
    assert claims.verified is True


def test_init_cannot_rewrite_claims(claims) -> None:
    with pytest.raises(AttributeError):
        claims.__init__(tenant="evil")
    assert claims.tenant == "acme" and claims.scopes == ["read", "write", "billing:*"]


def test_copies_of_meta_do_not_reach_the_claims(claims) -> None:
    shallow = dict(claims.meta)
    shallow["plan"] = "free"
    copied = claims.meta.copy()
    copied["plan"] = "enterprise"
    assert claims.meta["plan"] == "pro"
    assert claims.to_dict()["meta"]["plan"] == "pro"


def test_meta_is_an_empty_dict_when_absent(apikee) -> None:
    claims = apikee.verify(apikee.create("acme"))
    assert claims.meta == {} and type(claims.meta) is dict
    claims.meta["x"] = 1
    assert apikee.verify(apikee.create("acme")).meta == {}  # no empty dict shared between objects


# ── times ───────────────────────────────────────────────────────────────────────────────────


def test_expiry_and_start_are_aware_utc_datetimes(claims) -> None:
    assert claims.expires_at == datetime.fromtimestamp(EXP, timezone.utc)
    assert claims.not_before == datetime.fromtimestamp(1_700_000_000, timezone.utc)
    for value in (claims.expires_at, claims.not_before):
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)


def test_exp_and_nbf_are_the_raw_numbers(claims) -> None:
    assert claims.exp == EXP and type(claims.exp) is int
    assert claims.nbf == 1_700_000_000 and type(claims.nbf) is int


def test_float_exp_keeps_its_fraction(apikee, core) -> None:
    claims = apikee.verify(signed_key(core, b'{"exp":1900000000.25}'), now=0)
    assert claims.exp == 1900000000.25
    assert claims.expires_at == datetime(2030, 3, 17, 17, 46, 40, 250000, tzinfo=timezone.utc)


def test_no_times_means_none(apikee) -> None:
    claims = apikee.verify(apikee.create("acme", expires_in=None))
    assert claims.exp is None and claims.expires_at is None
    assert claims.nbf is None and claims.not_before is None


def test_extreme_times(apikee, core) -> None:
    claims = apikee.verify(signed_key(core, b'{"exp":253402300799,"nbf":0}'), now=0)
    assert claims.expires_at == datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    assert claims.not_before == datetime(1970, 1, 1, tzinfo=timezone.utc)


# ── scopes ──────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "granted, required, any_of, expected",
    [
        (["read", "write"], ["read"], False, True),
        (["read", "write"], ["read", "write"], False, True),
        (["read", "write"], ["read", "admin"], False, False),
        (["read", "write"], ["read", "admin"], True, True),
        (["read", "write"], ["admin", "root"], True, False),
        (["read", "write"], [], False, True),
        (["read", "write"], [], True, True),
        ([], ["read"], False, False),
        ([], [], False, True),
        (["*"], ["read", "anything:at:all"], False, True),
        (["*"], ["x"], True, True),
        (["res:*"], ["res:read"], False, True),
        (["res:*"], ["res:read", "res:write:all"], False, True),
        (["res:*"], ["resource:read"], False, False),
        (["res:*"], ["res"], False, False),
        (["res:*"], ["other:read"], False, False),
        (["res:*"], ["RES:read"], False, False),
        (["res:*", "other:read"], ["res:x", "other:read"], False, True),
        (["re*"], ["read"], False, False),
        (["re*"], ["re*"], False, True),
        (["read"], ["READ"], False, False),
        (["read"], ["*"], False, False),
        (["res:read"], ["res:*"], False, False),
        (["a:b:*"], ["a:b:c"], False, True),
        (["a:b:*"], ["a:c"], False, False),
    ],
)
def test_has_scopes(core, granted, required, any_of, expected) -> None:
    claims = core.ApikeeClaims(tenant="acme", scopes=granted)
    assert claims.has_scopes(*required, any_of=any_of) is expected


def test_has_scopes_on_verified_claims(claims) -> None:
    assert claims.has_scopes("read")
    assert claims.has_scopes("billing:invoices", "write")
    assert not claims.has_scopes("billing")
    assert not claims.has_scopes("billingx:read")
    assert claims.has_scopes("admin", "read", any_of=True)


# ── to_dict, repr, pickle ───────────────────────────────────────────────────────────────────


def test_to_dict_is_the_wire_claims(claims) -> None:
    wire = claims.to_dict()
    assert wire == {
        "id": claims.id,
        "tid": "acme",
        "scp": ["read", "write", "billing:*"],
        "env": "staging",
        "exp": EXP,
        "nbf": 1_700_000_000,
        "meta": META,
    }


def test_to_dict_is_a_fresh_copy(claims) -> None:
    first = claims.to_dict()
    first["tid"] = "evil"
    first["scp"].append("admin")
    first["meta"]["plan"] = "free"
    first["meta"]["limits"]["tags"].append("c")
    first["meta"]["list"][1]["x"].append(3)
    second = claims.to_dict()
    assert second is not first
    assert second["tid"] == "acme" and second["scp"] == ["read", "write", "billing:*"]
    assert second["meta"] == META
    assert claims.tenant == "acme" and "admin" not in claims.scopes
    assert claims.meta["plan"] == "pro" and claims.meta["limits"]["tags"] == ["a", "b"]


def test_to_dict_includes_unknown_claims(apikee, core) -> None:
    claims = apikee.verify(signed_key(core, b'{"tid":"t","iss":"someone","xyz":[1,{"a":null}]}'))
    wire = claims.to_dict()
    assert wire == {"tid": "t", "iss": "someone", "xyz": [1, {"a": None}]}
    wire["xyz"][1]["a"] = 5
    assert claims.to_dict()["xyz"] == [1, {"a": None}]


def test_repr_shows_tenant_scopes_and_expiry_but_not_the_key(claims, key) -> None:
    payload, _, signature = key[7:].partition(".")
    for text in (repr(claims), str(claims), f"{claims}", f"{claims!r}"):
        assert "acme" in text
        assert "read" in text and "billing:*" in text
        assert "2030-03-17" in text  # the expiry
        assert key not in text
        assert payload[:16] not in text and signature[:16] not in text
        assert "apikee_" not in text


def test_repr_of_a_key_that_never_expires(apikee) -> None:
    claims = apikee.verify(apikee.create("acme", expires_in=None))
    assert "never" in repr(claims)
    assert claims.raw_key not in repr(claims)


def test_repr_of_claims_with_odd_text(apikee, core) -> None:
    claims = apikee.verify(signed_key(core, b'{"tid":"\\ud800\\u0000\\n","scp":["\\udfff"]}'))
    text = repr(claims)
    assert "\\ud800" in text  # escaped by repr, not crashed on


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_pickle_round_trip(claims, key, protocol) -> None:
    data = pickle.dumps(claims, protocol=protocol)
    assert b"_core_c" not in data and b"_claims_py" not in data and b"_core_py" not in data
    copy_ = pickle.loads(data)
    import apikee as package

    assert isinstance(copy_, package.ApikeeClaims) and copy_ == claims
    assert copy_.to_dict() == claims.to_dict()
    assert (copy_.id, copy_.tenant, copy_.scopes, copy_.environment) == (
        claims.id,
        claims.tenant,
        claims.scopes,
        claims.environment,
    )
    assert (copy_.exp, copy_.nbf, copy_.raw_key) == (EXP, 1_700_000_000, key)
    assert copy_.meta == claims.meta
    with pytest.raises(AttributeError):
        copy_.tenant = "evil"


@pytest.mark.parametrize("loader_env", ["1", "0"], ids=["load-pure-only", "load-default"])
def test_pickles_load_under_either_implementation(claims, loader_env) -> None:
    import subprocess
    import sys

    program = (
        "import pickle, sys, apikee\n"
        "c = pickle.loads(sys.stdin.buffer.read())\n"
        "assert isinstance(c, apikee.ApikeeClaims)\n"
        "print(apikee.IMPLEMENTATION, c.tenant, c.scopes, c.meta['plan'], c.verified)\n"
    )
    env = dict(os.environ, APIKEE_NO_EXTENSIONS=loader_env)
    done = subprocess.run(
        [sys.executable, "-c", program],
        input=pickle.dumps(claims),
        capture_output=True,
        env=env,
        timeout=60,
        check=True,
    )
    implementation, *rest = done.stdout.decode().split()
    assert implementation in (("pure",) if loader_env == "1" else ("native", "pure"))
    assert rest == ["acme", "['read',", "'write',", "'billing:*']", "pro", "True"]


def test_copy_and_deepcopy(claims) -> None:
    for duplicate in (copy.copy(claims), copy.deepcopy(claims)):
        assert duplicate.to_dict() == claims.to_dict()
        assert duplicate.raw_key == claims.raw_key


def test_pickle_of_claims_without_times(apikee) -> None:
    claims = apikee.verify(apikee.create("acme", expires_in=None))
    again = pickle.loads(pickle.dumps(claims))
    assert again.exp is None and again.to_dict() == claims.to_dict()


# ── the public constructor (0.1.2-compatible keywords) ──────────────────────────────────────


def test_constructor_with_0_1_2_keywords(core) -> None:
    expires = datetime(2030, 1, 1, tzinfo=timezone.utc)
    starts = datetime(2024, 1, 1, tzinfo=timezone.utc)
    meta = {"plan": "pro", "tags": ["a"]}
    claims = core.ApikeeClaims(
        id="key_1",
        tenant="acme",
        scopes=["read", "write"],
        expires_at=expires,
        not_before=starts,
        environment="staging",
        meta=meta,
        raw_key="apikee_abc.def",
    )
    assert claims.id == "key_1"
    assert claims.tenant == "acme"
    assert claims.scopes == ["read", "write"]
    assert claims.expires_at == expires and claims.exp == expires.timestamp()
    assert claims.not_before == starts and claims.nbf == starts.timestamp()
    assert claims.environment == "staging"
    assert claims.meta == {"plan": "pro", "tags": ["a"]}
    assert claims.raw_key == "apikee_abc.def"
    assert claims.has_scopes("read", "write")
    meta["plan"] = "free"  # the caller's dict is copied, not shared
    meta["tags"].append("b")
    assert claims.meta == {"plan": "pro", "tags": ["a"]}
    assert claims.verified is False  # built by hand, not by verify()
    with pytest.raises(AttributeError):
        claims.tenant = "evil"


def test_constructor_positional_in_0_1_2_order(core) -> None:
    claims = core.ApikeeClaims(
        "key_1", "acme", ["read"], None, None, "production", {}, "apikee_x.y"
    )
    assert (claims.id, claims.tenant, claims.scopes, claims.environment, claims.raw_key) == (
        "key_1",
        "acme",
        ["read"],
        "production",
        "apikee_x.y",
    )
    assert claims.expires_at is None and claims.not_before is None and dict(claims.meta) == {}


def test_constructor_defaults(core) -> None:
    claims = core.ApikeeClaims()
    assert (claims.id, claims.tenant, claims.scopes, claims.environment, claims.raw_key) == (
        "",
        "",
        [],
        "production",
        "",
    )
    assert claims.exp is None and claims.nbf is None and dict(claims.meta) == {}


def test_constructor_with_raw_numbers(core) -> None:
    claims = core.ApikeeClaims(tenant="acme", exp=EXP, nbf=1_700_000_000)
    assert claims.exp == EXP and claims.expires_at == datetime.fromtimestamp(EXP, timezone.utc)
    assert claims.nbf == 1_700_000_000


def test_constructed_claims_pickle(core) -> None:
    claims = core.ApikeeClaims(
        id="k",
        tenant="acme",
        scopes=["read"],
        expires_at=datetime(2030, 1, 1, tzinfo=timezone.utc),
        meta={"a": [1]},
        raw_key="apikee_x.y",
    )
    again = pickle.loads(pickle.dumps(claims))
    assert again.to_dict() == claims.to_dict()
    assert again.expires_at == claims.expires_at and again.raw_key == "apikee_x.y"


# ── ApikeeError ─────────────────────────────────────────────────────────────────────────────

ALL_CODES = sorted(v for k, v in vars(ErrorCode).items() if k.isupper())


def test_error_codes_are_their_names() -> None:
    assert ALL_CODES == sorted(
        [
            "MISSING_KEY",
            "INVALID_FORMAT",
            "INVALID_PREFIX",
            "DECODE_ERROR",
            "INVALID_SIGNATURE",
            "INVALID_CLAIMS",
            "EXPIRED",
            "NOT_YET_VALID",
            "REVOKED",
            "INSUFFICIENT_SCOPE",
            "WRONG_ENVIRONMENT",
            "STORE_UNAVAILABLE",
            "IP_NOT_ALLOWED",
            "RATE_LIMITED",
        ]
    )
    for name, value in vars(ErrorCode).items():
        if name.isupper():
            assert name == value


@pytest.mark.parametrize("code", ALL_CODES)
def test_error_attributes(code) -> None:
    error = ApikeeError(code, "something went wrong")
    assert isinstance(error, Exception)
    assert error.code == code and error.message == "something went wrong"
    assert str(error) == f"{code}: something went wrong"
    assert repr(error) == f"ApikeeError({code!r}, 'something went wrong')"
    statuses = {
        "INSUFFICIENT_SCOPE": 403,
        "IP_NOT_ALLOWED": 403,
        "RATE_LIMITED": 429,
        "STORE_UNAVAILABLE": 503,
    }
    assert error.http_status == statuses.get(code, 401)
    assert error.to_dict() == {"error": code, "message": "something went wrong"}
    assert error.to_dict() is not error.to_dict()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_error_pickles(protocol) -> None:
    error = ApikeeError("EXPIRED", "the key has expired")
    again = pickle.loads(pickle.dumps(error, protocol=protocol))
    assert type(again) is ApikeeError
    assert (again.code, again.message, str(again)) == (error.code, error.message, str(error))


def test_error_from_verify_is_complete(apikee, make_apikee) -> None:
    key = make_apikee(secret="a different secret, long enough to be a strong one!").create("acme")
    with pytest.raises(ApikeeError) as info:
        apikee.verify(key)
    error = info.value
    assert type(error) is ApikeeError
    assert error.code == "INVALID_SIGNATURE" and error.http_status == 401
    assert error.to_dict() == {"error": "INVALID_SIGNATURE", "message": error.message}
    assert str(error).startswith("INVALID_SIGNATURE: ")
    again = pickle.loads(pickle.dumps(error))
    assert (again.code, again.message) == (error.code, error.message)
    assert key not in repr(error) and key not in str(error)
    assert SECRET not in repr(error) and OLD_SECRET not in str(error)


def test_insufficient_scope_is_403(apikee) -> None:
    with pytest.raises(ApikeeError) as info:
        apikee.verify(apikee.create("acme", scopes=["read"]), scopes=["admin"])
    assert info.value.code == "INSUFFICIENT_SCOPE"
    assert info.value.http_status == 403
    assert "admin" in info.value.message


def test_check_scopes(apikee, claims) -> None:
    apikee.check_scopes(claims, ["read"])
    apikee.check_scopes(claims, "read")
    apikee.check_scopes(claims, ["admin", "write"], any_of=True)
    with pytest.raises(ApikeeError) as info:
        apikee.check_scopes(claims, ["read", "admin", "root"])
    assert info.value.code == "INSUFFICIENT_SCOPE" and info.value.http_status == 403
    assert "admin" in info.value.message and "root" in info.value.message
    assert "read," not in info.value.message  # only the missing ones are named


@pytest.fixture
def local_time_zone():
    """Run in a local time zone far from UTC (naive datetimes must not depend on it)."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset() is Unix-only")
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


def test_constructor_reads_naive_datetimes_as_utc(core, local_time_zone) -> None:
    # the library's convention (create(expires_in=datetime(...))): naive means UTC, whatever
    # the machine's local time zone is
    claims = core.ApikeeClaims(
        tenant="acme", expires_at=datetime(2030, 1, 1), not_before=datetime(2024, 1, 1)
    )
    assert claims.expires_at == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert claims.exp == 1893456000
    assert claims.not_before == datetime(2024, 1, 1, tzinfo=timezone.utc)
