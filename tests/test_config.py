"""Configuration: secrets and their precedence, env vars, rotation, options, no secret leaks."""

from __future__ import annotations

import traceback
import warnings
from datetime import datetime, timedelta, timezone

import pytest
from support import OLD_SECRET, SECRET, case_id, signed_key

import apikee as apikee_module
from apikee import ApikeeConfigError, ApikeeError, WeakSecretWarning, get_apikee

THIRD_SECRET = "9b1d0c1e5f3a47d2a8c6e4b2f0d9c7a5e3b1f9d7c5a3e1b9f7d5c3a1e9b7f5d3"
EXP = 2_000_000_000
NBF = 1_900_000_000


def signer(make_apikee, secret: str):
    return make_apikee(secret=secret)


def signed_by(make_apikee, key: str) -> str | None:
    """Which of the known secrets signed ``key`` (by trying each alone)."""
    for secret in (SECRET, OLD_SECRET, THIRD_SECRET):
        try:
            make_apikee(secret=secret).verify(key)
        except ApikeeError:
            continue
        return secret
    return None


def code_of(apikee, key, **kwargs) -> str:
    try:
        apikee.verify(key, **kwargs)
    except ApikeeError as exc:
        return exc.code
    return "valid"


# ── where the secret comes from ─────────────────────────────────────────────────────────────


def test_secrets_list_beats_secret_and_env(make_apikee, monkeypatch) -> None:
    monkeypatch.setenv("APIKEE_SECRET", THIRD_SECRET)
    apikee = make_apikee(secrets=[SECRET], secret=OLD_SECRET)
    assert signed_by(make_apikee, apikee.create("acme")) == SECRET
    assert apikee.secret_count == 1


def test_secret_beats_env(make_apikee, monkeypatch) -> None:
    monkeypatch.setenv("APIKEE_SECRET", THIRD_SECRET)
    assert signed_by(make_apikee, make_apikee(secret=OLD_SECRET).create("acme")) == OLD_SECRET


def test_env_secret_is_used_when_nothing_is_passed(make_apikee, monkeypatch) -> None:
    monkeypatch.setenv("APIKEE_SECRET", f"  {THIRD_SECRET}\n")  # as pasted into a .env file
    assert signed_by(make_apikee, make_apikee().create("acme")) == THIRD_SECRET


def test_bytes_secret_is_the_same_as_its_text(make_apikee) -> None:
    key = make_apikee(secret=SECRET.encode()).create("acme")
    assert make_apikee(secret=SECRET).verify(key).tenant == "acme"
    key = make_apikee(secrets=[OLD_SECRET.encode()]).create("acme")
    assert make_apikee(secret=OLD_SECRET).verify(key).tenant == "acme"


def test_hex_secret_is_not_hex_decoded(make_apikee, core) -> None:
    # SPEC section 1: the HMAC key is the UTF-8 text of the secret
    payload = b'{"tid":"t"}'
    by_text = core.Verifier([SECRET.encode()]).sign(payload).lstrip(b"\x00")
    key = "apikee_" + core.b62encode(payload) + "." + core.b62encode(by_text)
    assert make_apikee(secret=SECRET).verify(key).tenant == "t"
    by_hex = core.Verifier([bytes.fromhex(SECRET)]).sign(payload).lstrip(b"\x00")
    key = "apikee_" + core.b62encode(payload) + "." + core.b62encode(by_hex)
    assert code_of(make_apikee(secret=SECRET), key) == "INVALID_SIGNATURE"


@pytest.mark.parametrize(
    "secrets, count, signs_with",
    [
        ([SECRET, ""], 1, SECRET),
        ([SECRET, "   "], 1, SECRET),
        ([SECRET, None], 1, SECRET),
        (["", SECRET], 1, SECRET),
        (["", OLD_SECRET, "", SECRET, "\t"], 2, OLD_SECRET),
        (lambda: (s for s in [SECRET, "", OLD_SECRET]), 2, SECRET),  # any iterable
    ],
    ids=[
        "current-blank",
        "current-spaces",
        "current-none",
        "blank-first",
        "many-blanks",
        "generator",
    ],
)
def test_blank_entries_are_dropped(make_apikee, secrets, count, signs_with) -> None:
    apikee = make_apikee(secrets=secrets() if callable(secrets) else secrets)
    assert apikee.secret_count == count
    assert signed_by(make_apikee, apikee.create("acme")) == signs_with


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"secret": ""},
        {"secret": "   "},
        {"secrets": []},
        {"secrets": ["", "  ", None]},
        {"secret": None},
    ],
    ids=["nothing", "empty", "spaces", "empty-list", "blank-list", "none"],
)
def test_no_usable_secret_is_a_clear_error(make_apikee, kwargs) -> None:
    with pytest.raises(ApikeeConfigError) as info:
        make_apikee(**kwargs)
    assert "openssl rand -hex 32" in str(info.value)
    assert "APIKEE_SECRET" in str(info.value)
    assert isinstance(info.value, ValueError)  # apikee 0.1.2 raised ValueError: still caught


def test_blank_env_secret_is_no_secret(make_apikee, monkeypatch) -> None:
    monkeypatch.setenv("APIKEE_SECRET", "   ")
    with pytest.raises(ApikeeConfigError, match="openssl rand -hex 32"):
        make_apikee()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secrets": SECRET},
        {"secrets": SECRET.encode()},
        {"secrets": [SECRET, 5]},
        {"secrets": [SECRET, ["nested"]]},
        {"secret": 12345},
        {"secrets": ["\ud800" + SECRET]},
        {"secret": SECRET + "\udfff"},
    ],
    ids=[
        "str-as-list",
        "bytes-as-list",
        "int-entry",
        "list-entry",
        "int-secret",
        "surrogate-list",
        "surrogate",
    ],
)
def test_unusable_secret_values_are_config_errors_without_the_secret(make_apikee, kwargs) -> None:
    with pytest.raises(ApikeeConfigError) as info:
        make_apikee(**kwargs)
    text = "".join(traceback.format_exception(info.value))
    assert SECRET not in text and SECRET[:16] not in text


# ── weak secrets ────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": "too-short"},
        {"secret": "x" * 31},
        {"secret": "é" * 15 + "a"},  # 31 bytes of UTF-8
        {"secrets": [SECRET, "an-old-weak-one"]},
        {"secret": b"short bytes"},
    ],
    ids=["short", "31-chars", "31-bytes", "weak-previous", "bytes"],
)
def test_weak_secret_warns_without_showing_it(make_apikee, kwargs) -> None:
    weak = kwargs.get("secret") or kwargs["secrets"][-1]
    weak_text = weak.decode() if isinstance(weak, bytes) else weak
    with pytest.warns(WeakSecretWarning) as record:
        apikee = make_apikee(**kwargs)
    messages = [str(w.message) for w in record]
    assert messages and all(weak_text not in m for m in messages)
    assert any("openssl rand -hex 32" in m for m in messages)
    assert any("32 bytes" in m for m in messages)
    assert apikee.verify(apikee.create("acme")).tenant == "acme"  # a warning, not an error


def test_weak_env_secret_warns(make_apikee, monkeypatch) -> None:
    monkeypatch.setenv("APIKEE_SECRET", "weak-env-secret")
    with pytest.warns(WeakSecretWarning) as record:
        make_apikee()
    assert all("weak-env-secret" not in str(w.message) for w in record)


@pytest.mark.parametrize(
    "secret", ["x" * 32, "é" * 16, SECRET, "k" * 200], ids=["32-chars", "32-bytes", "hex", "long"]
)
def test_strong_secret_does_not_warn(make_apikee, secret) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_apikee(secret=secret)


def test_weak_secret_warning_is_a_user_warning() -> None:
    assert issubclass(WeakSecretWarning, UserWarning)
    assert issubclass(ApikeeConfigError, ValueError)


# ── rotation ────────────────────────────────────────────────────────────────────────────────


def test_rotation(make_apikee) -> None:
    old_key = signer(make_apikee, OLD_SECRET).create("acme")
    rotated = make_apikee(secrets=[SECRET, OLD_SECRET])
    assert rotated.verify(old_key).tenant == "acme"
    new_key = rotated.create("acme")
    assert signed_by(make_apikee, new_key) == SECRET
    assert rotated.verify(new_key).tenant == "acme"
    assert code_of(make_apikee(secret=OLD_SECRET), new_key) == "INVALID_SIGNATURE"
    # once the old secret is retired, its keys stop working
    assert code_of(make_apikee(secrets=[SECRET, ""]), old_key) == "INVALID_SIGNATURE"


def test_rotation_with_three_secrets_matches_the_last(make_apikee) -> None:
    oldest = signer(make_apikee, THIRD_SECRET).create("acme")
    middle = signer(make_apikee, OLD_SECRET).create("acme")
    three = make_apikee(secrets=[SECRET, OLD_SECRET, THIRD_SECRET])
    assert three.verify(oldest).tenant == "acme"
    assert three.verify(middle).tenant == "acme"
    assert three.verify(three.create("acme")).tenant == "acme"
    assert code_of(make_apikee(secrets=[SECRET, OLD_SECRET]), oldest) == "INVALID_SIGNATURE"


def test_unknown_secret_is_invalid_signature(make_apikee) -> None:
    key = signer(make_apikee, "a completely unrelated but long enough secret!!").create("acme")
    assert (
        code_of(make_apikee(secrets=[SECRET, OLD_SECRET, THIRD_SECRET]), key) == "INVALID_SIGNATURE"
    )


# ── server-mode settings (accepted for 0.1.2 compatibility; no server mode) ─────────────────


def test_server_settings_from_env(make_apikee, monkeypatch) -> None:
    monkeypatch.setenv("APIKEE_SERVER_KEY", "sk_" + "live_0123456789abcdef")
    monkeypatch.setenv("APIKEE_PROJECT_ENV", " my-api-production ")
    apikee = make_apikee(secret=SECRET)
    assert apikee.project_env == "my-api-production"
    assert apikee.server_mode is False
    # The server key is accepted and not kept: nothing reads it, and a credential nobody uses
    # is one less to leak.
    assert not any("sk_live" in repr(value) for value in vars(apikee).values())
    assert "sk_live" not in repr(apikee)


def test_server_settings_arguments_beat_env(make_apikee, monkeypatch) -> None:
    monkeypatch.setenv("APIKEE_SERVER_KEY", "sk_from_env")
    monkeypatch.setenv("APIKEE_PROJECT_ENV", "from-env")
    apikee = make_apikee(secret=SECRET, server_key="sk_from_code", project_env="from-code")
    assert apikee.project_env == "from-code"
    assert "sk_from_code" not in repr(apikee)


def test_server_settings_absent(make_apikee) -> None:
    apikee = make_apikee(secret=SECRET)
    assert apikee.project_env is None and apikee.server_mode is False


# ── now and leeway ──────────────────────────────────────────────────────────────────────────


@pytest.fixture
def timed_key(apikee) -> str:
    return apikee.create(
        "acme", expires_in=datetime.fromtimestamp(EXP, timezone.utc), not_before=NBF
    )


@pytest.mark.parametrize(
    "now, expected",
    [
        (EXP, "valid"),
        (float(EXP), "valid"),
        (EXP - 0.000001, "valid"),
        (EXP + 0.001, "EXPIRED"),
        (EXP + 1, "EXPIRED"),
        (NBF, "valid"),
        (NBF + 0.5, "valid"),
        (NBF - 0.001, "NOT_YET_VALID"),
        (0, "NOT_YET_VALID"),
        (253402300799, "EXPIRED"),
    ],
    ids=case_id,
)
def test_time_window_without_leeway(apikee, timed_key, now, expected) -> None:
    assert code_of(apikee, timed_key, now=now) == expected


@pytest.mark.parametrize("leeway", [5, 5.0, timedelta(seconds=5)], ids=case_id)
@pytest.mark.parametrize(
    "now, expected",
    [
        (EXP + 5, "valid"),
        (EXP + 4.999, "valid"),
        (EXP + 5.001, "EXPIRED"),
        (NBF - 5, "valid"),
        (NBF - 5.001, "NOT_YET_VALID"),
    ],
    ids=case_id,
)
def test_leeway_widens_both_edges(make_apikee, timed_key, leeway, now, expected) -> None:
    apikee = make_apikee(secrets=[SECRET, OLD_SECRET], leeway=leeway)
    assert code_of(apikee, timed_key, now=now) == expected


def test_current_time_is_used_without_now(apikee) -> None:
    assert code_of(apikee, apikee.create("acme", expires_in=-5)) == "EXPIRED"
    assert code_of(apikee, apikee.create("acme", not_before=timedelta(hours=1))) == "NOT_YET_VALID"
    assert code_of(apikee, apikee.create("acme", expires_in="1h")) == "valid"


@pytest.mark.parametrize("leeway", [-1, float("nan"), float("inf"), "5", True, None], ids=case_id)
def test_bad_leeway_is_a_config_error(make_apikee, leeway) -> None:
    with pytest.raises(ApikeeConfigError):
        make_apikee(secret=SECRET, leeway=leeway)


# ── later checks: environment, revocation, scopes ───────────────────────────────────────────


def test_environment_option(make_apikee) -> None:
    production = make_apikee(secret=SECRET, environment="production")
    staging_key = production.create("acme", environment="staging")
    production_key = production.create("acme")
    with pytest.raises(ApikeeError) as info:
        production.verify(staging_key)
    assert info.value.code == "WRONG_ENVIRONMENT" and info.value.http_status == 401
    assert production.verify(production_key).environment == "production"
    assert make_apikee(secret=SECRET).verify(staging_key).environment == "staging"  # not asked for


def test_environment_option_with_key_lacking_env_claim(make_apikee, core) -> None:
    key = signed_key(core, b'{"tid":"t"}')
    assert (
        make_apikee(secret=SECRET, environment="production").verify(key).environment == "production"
    )
    assert code_of(make_apikee(secret=SECRET, environment="staging"), key) == "WRONG_ENVIRONMENT"


def test_is_revoked(make_apikee) -> None:
    seen = []

    def is_revoked(claims) -> bool:
        seen.append(claims.id)
        return claims.tenant == "revoked-co"

    apikee = make_apikee(secret=SECRET, is_revoked=is_revoked)
    good, bad = apikee.create("acme"), apikee.create("revoked-co")
    assert apikee.verify(good).tenant == "acme"
    with pytest.raises(ApikeeError) as info:
        apikee.verify(bad)
    assert info.value.code == "REVOKED" and info.value.http_status == 401
    assert len(seen) == 2
    # a key that fails earlier never reaches the callback
    assert code_of(apikee, good[:-1]) == "INVALID_SIGNATURE"
    assert code_of(apikee, apikee.create("revoked-co", expires_in=-5)) == "EXPIRED"
    assert len(seen) == 2


def test_verify_with_required_scopes(apikee) -> None:
    key = apikee.create("acme", scopes=["read", "billing:*"])
    assert apikee.verify(key, scopes=["read"]).tenant == "acme"
    assert apikee.verify(key, scopes=["read", "billing:invoices"]).tenant == "acme"
    assert apikee.verify(key, scopes="read").tenant == "acme"  # one scope, not its letters
    assert apikee.verify(key, scopes=["admin", "read"], any_of=True).tenant == "acme"
    assert apikee.verify(key, scopes=[]).tenant == "acme"
    for required, any_of in (
        (["admin"], False),
        (["read", "admin"], False),
        (["admin", "root"], True),
    ):
        with pytest.raises(ApikeeError) as info:
            apikee.verify(key, scopes=required, any_of=any_of)
        assert info.value.code == "INSUFFICIENT_SCOPE"
        assert info.value.http_status == 403
        assert "admin" in info.value.message


def test_scopes_checked_only_after_the_key_is_valid(apikee) -> None:
    key = apikee.create("acme", scopes=["read"], expires_in=-5)
    assert code_of(apikee, key, scopes=["admin"]) == "EXPIRED"


# ── protect ─────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("value", [None, "", b""], ids=case_id)
def test_protect_missing_key_names_the_header(make_apikee, value) -> None:
    with pytest.raises(ApikeeError) as info:
        make_apikee(secret=SECRET).protect(value)
    assert info.value.code == "MISSING_KEY" and info.value.http_status == 401
    assert "x-api-key" in info.value.message


def test_protect_with_custom_header(make_apikee) -> None:
    apikee = make_apikee(secret=SECRET, header_name="X-Service-Key")
    assert apikee.header_name == "x-service-key"
    with pytest.raises(ApikeeError) as info:
        apikee.protect(None)
    assert "x-service-key" in info.value.message


def test_protect_verifies(apikee) -> None:
    key = apikee.create("acme")
    assert apikee.protect(key).tenant == "acme"
    assert apikee.protect(key.encode()).tenant == "acme"
    with pytest.raises(ApikeeError) as info:
        apikee.protect(key[:-1])
    assert info.value.code == "INVALID_SIGNATURE"


@pytest.mark.parametrize("header_name", ["", "   ", None, 5], ids=case_id)
def test_bad_header_name_is_a_config_error(make_apikee, header_name) -> None:
    with pytest.raises(ApikeeConfigError):
        make_apikee(secret=SECRET, header_name=header_name)


# ── max_key_length ──────────────────────────────────────────────────────────────────────────


def test_default_max_key_length(apikee) -> None:
    assert apikee.max_key_length == 2048


def test_max_key_length_is_configurable(make_apikee) -> None:
    key = make_apikee(secret=SECRET).create("acme", meta={"a": "b" * 100})
    exact = make_apikee(secret=SECRET, max_key_length=len(key))
    assert exact.max_key_length == len(key)
    assert exact.verify(key).tenant == "acme"
    assert code_of(make_apikee(secret=SECRET, max_key_length=len(key) - 1), key) == "INVALID_FORMAT"
    assert (
        code_of(make_apikee(secret=SECRET, max_key_length=len(key) - 1), key.encode())
        == "INVALID_FORMAT"
    )
    roomy = make_apikee(secret=SECRET, max_key_length=100_000)
    big = roomy.create("acme", meta={"blob": "x" * 20_000})
    assert roomy.verify(big).meta["blob"] == "x" * 20_000
    assert code_of(make_apikee(secret=SECRET), big) == "INVALID_FORMAT"


def test_create_refuses_keys_over_the_limit(make_apikee) -> None:
    small = make_apikee(secret=SECRET, max_key_length=200)
    small.verify(small.create("acme"))
    with pytest.raises(ValueError, match="max_key_length"):
        small.create("acme", meta={"a": "b" * 200})


@pytest.mark.parametrize("value", [0, 63, -1, 100.0, "8192", True, None], ids=case_id)
def test_bad_max_key_length_is_a_config_error(make_apikee, value) -> None:
    with pytest.raises(ApikeeConfigError):
        make_apikee(secret=SECRET, max_key_length=value)


# ── the shared instance ─────────────────────────────────────────────────────────────────────


def test_get_apikee_is_a_singleton_from_env(monkeypatch, make_apikee) -> None:
    monkeypatch.setattr(apikee_module._apikee, "_instance", None)
    monkeypatch.setenv("APIKEE_SECRET", THIRD_SECRET)
    shared = get_apikee()
    assert get_apikee() is shared
    assert shared.verify(make_apikee(secret=THIRD_SECRET).create("acme")).tenant == "acme"
    assert signed_by(make_apikee, shared.create("acme")) == THIRD_SECRET


def test_get_apikee_without_env_fails_clearly_and_can_retry(monkeypatch) -> None:
    monkeypatch.setattr(apikee_module._apikee, "_instance", None)
    with pytest.raises(ApikeeConfigError, match="openssl rand -hex 32"):
        get_apikee()
    monkeypatch.setenv("APIKEE_SECRET", THIRD_SECRET)
    assert get_apikee() is get_apikee()


# ── no secret in any repr, message or traceback ─────────────────────────────────────────────


def _leaks(text: str) -> list[str]:
    found = []
    for secret in (SECRET, OLD_SECRET, THIRD_SECRET):
        for needle in (secret, secret[:12], secret.encode().hex()[:24]):
            if needle in text:
                found.append(needle)
    return found


def test_repr_shows_no_secret(make_apikee, core) -> None:
    apikee = make_apikee(secrets=[SECRET, OLD_SECRET, THIRD_SECRET])
    for text in (
        repr(apikee),
        str(apikee),
        repr(apikee._verifier),
        repr(core.Verifier([SECRET.encode()])),
    ):
        assert not _leaks(text), text
    assert "3" in repr(apikee)  # how many secrets, never which


def test_no_secret_in_instance_state(make_apikee) -> None:
    apikee = make_apikee(secrets=[SECRET, OLD_SECRET])
    for value in vars(apikee).values():
        assert not _leaks(repr(value))
        assert value not in (SECRET, OLD_SECRET, SECRET.encode(), OLD_SECRET.encode())


def test_failed_verify_traceback_has_no_secret_and_no_key(make_apikee) -> None:
    apikee = make_apikee(secrets=[SECRET, OLD_SECRET])
    key = make_apikee(secret=THIRD_SECRET).create("acme")
    for candidate in (key, key[:-1], key + "!", "0" + key, key.encode()):
        with pytest.raises(ApikeeError) as info:
            apikee.verify(candidate)
        text = "".join(traceback.format_exception(info.value))
        assert not _leaks(text), text
        assert key not in text and key[7:40] not in text
        with_locals = "".join(
            traceback.TracebackException.from_exception(info.value, capture_locals=True).format()
        )
        assert not _leaks(with_locals)


def test_scope_and_time_errors_have_no_secret(apikee) -> None:
    key = apikee.create("acme", scopes=["read"], expires_in=-5)
    for kwargs in ({}, {"now": 0, "scopes": ["admin"]}):
        with pytest.raises(ApikeeError) as info:
            apikee.verify(key, **kwargs)
        text = (
            "".join(traceback.format_exception(info.value))
            + repr(info.value)
            + str(info.value.to_dict())
        )
        assert not _leaks(text) and key not in text


def test_config_error_traceback_has_no_secret(make_apikee) -> None:
    with pytest.raises(ApikeeConfigError) as info:
        make_apikee(secrets=[SECRET, OLD_SECRET, 42])
    text = "".join(traceback.format_exception(info.value))
    assert not _leaks(text), text


@pytest.mark.parametrize(
    "value",
    ["90x", "", "-1d", True, object(), float("nan"), [], timedelta(days=10**7)],
    ids=["90x", "empty", "negative", "bool", "object", "nan", "list", "past-9999"],
)
def test_bad_default_expiry_is_a_config_error(make_apikee, value) -> None:
    # like every other bad option: ApikeeConfigError at construction, not at the first create()
    with pytest.raises(ApikeeConfigError):
        make_apikee(secret=SECRET, default_expiry=value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"is_revoked": "not callable"},
        {"is_revoked": True},
        {"environment": 5},
        {"environment": b"production"},
    ],
    ids=["is_revoked-str", "is_revoked-bool", "environment-int", "environment-bytes"],
)
def test_bad_verification_options_are_config_errors(make_apikee, kwargs) -> None:
    # otherwise they surface later: a TypeError out of verify(), or every key WRONG_ENVIRONMENT
    with pytest.raises(ApikeeConfigError):
        make_apikee(secret=SECRET, **kwargs)


def test_a_verifier_is_initialised_once(core) -> None:
    # The compiled verify() reads the secrets without the GIL on long keys: they never change.
    verifier = core.Verifier([b"k" * 32])
    with pytest.raises(TypeError, match="initialised once"):
        verifier.__init__([b"other" * 8])
    assert verifier.sign(b"x") == core.Verifier([b"k" * 32]).sign(b"x")
