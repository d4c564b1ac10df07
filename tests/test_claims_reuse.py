"""What the compiled verify path reuses or defers stays invisible: both twins give equal claims.

The native reader keeps a small table of the strings and ints of verified payloads (tenant,
scopes, environment, id, exp), builds the scopes list at its final size, keeps no copy of the
payload (meta and to_dict() decode it again from the raw key), and flags the policy claims so
that the verifier's ``policy=`` runs only for keys that carry ``rl`` or ``ip``. Each of these is
checked here against the pure twin, with many distinct keys so that the table's slots collide.
"""

from __future__ import annotations

import json
import pickle

import pytest
from support import SECRET, signed_key, verify_outcome

from apikee import ApikeeError, ErrorCode
from apikee._core import load_backend

BACKENDS = ("native", "pure")


@pytest.fixture(params=BACKENDS)
def core(request):
    try:
        return load_backend(request.param)
    except ImportError as exc:  # pragma: no cover - the native suite always has it
        pytest.skip(str(exc))


def _payload(**claims) -> bytes:
    return json.dumps(claims, separators=(",", ":")).encode()


def _verify_both(payload: bytes, **options):
    """(native claims, pure claims) of one key, or the two errors' codes."""
    out = []
    for name in BACKENDS:
        core = load_backend(name)
        key = signed_key(core, payload)
        try:
            out.append(core.Verifier([SECRET.encode()], **options).verify(key, now=1.0))
        except ApikeeError as error:
            out.append(error.code)
    return out


def test_many_distinct_claims_through_the_table() -> None:
    native = load_backend("native")
    verifier = native.Verifier([SECRET.encode()])
    keys = []
    for i in range(3000):  # many more than the table's slots: every slot is replaced often
        payload = _payload(
            id=f"id{i:05d}",
            tid=f"tenant-{i % 700}",
            scp=[f"s{i % 13}", f"scope:{i % 5}:long-name-{i % 3}"],
            env="staging" if i % 2 else "production",
            exp=10**9 + i,
        )
        keys.append((signed_key(native, payload), i))
    for _round in range(2):
        for key, i in keys:
            claims = verifier.verify(key, now=1.0)
            assert claims.id == f"id{i:05d}"
            assert claims.tenant == f"tenant-{i % 700}"
            assert claims.scopes == [f"s{i % 13}", f"scope:{i % 5}:long-name-{i % 3}"]
            assert claims.environment == ("staging" if i % 2 else "production")
            assert claims.exp == 10**9 + i and type(claims.exp) is int


def test_scopes_are_a_fresh_list_per_claims_object(core) -> None:
    key = signed_key(core, _payload(tid="t", scp=["read", "write"]))
    verifier = core.Verifier([SECRET.encode()])
    first = verifier.verify(key)
    first.scopes.append("admin")
    first.scopes[0] = "changed"
    second = verifier.verify(key)
    assert second.scopes == ["read", "write"]
    assert second.scopes is not first.scopes


@pytest.mark.parametrize("count", [0, 1, 2, 15, 16, 17, 40])
def test_scopes_of_every_length(count: int) -> None:
    scopes = [f"scope-{i}" for i in range(count)]
    native, pure = _verify_both(_payload(tid="t", scp=scopes))
    assert native.scopes == pure.scopes == scopes
    assert type(native.scopes) is list


@pytest.mark.parametrize(
    "scopes",
    [["ok", 1], ["ok"] * 16 + [2], ["ok"] * 17 + [None], ["a\\u00e9"], ["x"] * 20 + [[]]],
)
def test_scopes_that_bail_out_midway(scopes) -> None:
    """A bad item after the first SCOPES_ON_STACK ones, or an escape: same result as pure."""
    native, pure = _verify_both(_payload(tid="t", scp=scopes))
    if isinstance(pure, str):
        assert native == pure == ErrorCode.INVALID_CLAIMS
    else:
        assert native.scopes == pure.scopes


def test_meta_and_to_dict_come_back_from_the_key(core) -> None:
    payload = _payload(tid="t", scp=["r"], meta={"plan": "pro", "n": [1, 2.5, None]}, extra=True)
    key = signed_key(core, payload)
    verifier = core.Verifier([SECRET.encode()])
    for given in (key, key.encode("ascii")):
        claims = verifier.verify(given)
        assert claims.meta == {"plan": "pro", "n": [1, 2.5, None]}
        assert claims.to_dict() == json.loads(payload)
        assert claims.raw_key == key
        again = pickle.loads(pickle.dumps(claims))
        assert again == claims and again.meta == claims.meta


@pytest.mark.parametrize(
    "claims, called",
    [
        ({"tid": "t"}, False),
        ({"tid": "t", "rl": [[10, 60]]}, True),
        ({"tid": "t", "ip": ["10.0.0.0/8"]}, True),
        ({"tid": "t", "rl": "junk"}, True),  # the policy decides what is malformed
        ({"tid": "t", "rlx": 1, "i": 2, "ipp": 3, "meta": {"rl": 1, "ip": 2}}, False),
        ({"tid": "t", "r\\u006c": [[1, 1]]}, True),  # an escaped name: the general decoder
    ],
)
def test_policy_runs_only_for_keys_with_policy_claims(claims, called: bool) -> None:
    text = json.dumps(claims, separators=(",", ":")).replace("\\\\", "\\")
    seen: dict[str, list] = {}
    for name in BACKENDS:
        core = load_backend(name)
        calls: list = []
        verifier = core.Verifier([SECRET.encode()], policy=calls.append)
        verifier.verify(signed_key(core, text.encode()))
        seen[name] = calls
    assert len(seen["native"]) == len(seen["pure"]) == (1 if called else 0)


def test_policy_refusal_is_the_last_check(core) -> None:
    def refuse(claims):
        raise ApikeeError(ErrorCode.INVALID_CLAIMS, "bad policy")

    verifier = core.Verifier([SECRET.encode()], environment="production", policy=refuse)
    key = signed_key(core, _payload(tid="t", env="staging", rl=[[1, 1]]))
    with pytest.raises(ApikeeError) as caught:
        verifier.verify(key)
    assert caught.value.code == ErrorCode.WRONG_ENVIRONMENT  # step 10 before the policy
    key = signed_key(core, _payload(tid="t", rl=[[1, 1]]))
    with pytest.raises(ApikeeError) as caught:
        verifier.verify(key)
    assert caught.value.code == ErrorCode.INVALID_CLAIMS


def test_policy_must_be_callable(core) -> None:
    with pytest.raises(TypeError, match="policy must be a callable"):
        core.Verifier([SECRET.encode()], policy=42)


def test_uninitialised_claims_object_says_so() -> None:
    native = load_backend("native")
    claims = native.ApikeeClaims.__new__(native.ApikeeClaims)
    with pytest.raises(TypeError, match="never initialised"):
        claims.to_dict()


def test_payloads_parsed_before_give_the_same_claims() -> None:
    """The parsed-payload table: hits, collisions (more keys than slots), long payloads."""
    native, pure = load_backend("native"), load_backend("pure")
    secret = SECRET.encode()
    verifiers = native.Verifier([secret]), pure.Verifier([secret])
    payloads = [
        _payload(id=f"k{i}", tid=f"t{i % 3}", scp=["a", f"b{i}"], nbf=i, exp=10**9 + i)
        for i in range(300)
    ] + [
        _payload(tid="long", scp=["x" * 40] * 5, meta={"pad": "y" * 100}),  # > 192 bytes
        _payload(tid="p", rl=[[5, 60]]),
        _payload(),
    ]
    keys = [signed_key(native, payload) for payload in payloads]
    for _round in range(3):
        for key in keys:
            first, second = (verify_outcome(v, key, 10.0**9 - 1) for v in verifiers)
            assert first == second
            claims = [v.verify(key, 10.0**9 - 1) for v in verifiers]
            assert native.has_policy_claims(claims[0]) == pure.has_policy_claims(claims[1])


def test_a_parsed_payload_is_still_checked_every_time() -> None:
    """A hit skips the parse only: the time window and the later checks still run."""
    native = load_backend("native")
    verifier = native.Verifier([SECRET.encode()])
    key = signed_key(native, _payload(tid="t", exp=100, nbf=50))
    assert verifier.verify(key, now=60).tenant == "t"
    for now, code in ((101, ErrorCode.EXPIRED), (49, ErrorCode.NOT_YET_VALID)):
        with pytest.raises(ApikeeError) as caught:
            verifier.verify(key, now=now)
        assert caught.value.code == code
    verifier.set_revocations(frozenset(), {"t": 10.0**12})
    with pytest.raises(ApikeeError) as caught:
        verifier.verify(key, now=60)
    assert caught.value.code == ErrorCode.REVOKED
    other = native.Verifier([b"another secret of 32 bytes......"])
    with pytest.raises(ApikeeError) as caught:
        other.verify(key, now=60)  # the table is never consulted before the MAC
    assert caught.value.code == ErrorCode.INVALID_SIGNATURE


def test_raw_key_is_always_the_key_given() -> None:
    """The table keeps a key's str for the next bytes key: only when every character is equal."""
    native = load_backend("native")
    old, new = b"o" * 32, b"n" * 32
    verifier = native.Verifier([new, old])
    payload = _payload(id="same", tid="t")
    by_new = signed_key(native, payload, secret=new.decode())
    by_old = signed_key(native, payload, secret=old.decode())
    assert by_new != by_old  # one payload, two signatures: the same slot, two keys

    class Text(str):
        pass

    for _round in range(3):
        for key in (by_new, by_old):
            for given in (key, key.encode("ascii"), Text(key)):
                claims = verifier.verify(given)
                assert claims.raw_key == key and type(claims.raw_key) is str


@pytest.mark.parametrize("with_id", [True, False])
def test_fingerprint_revocation_in_both_twins(core, with_id: bool) -> None:
    """The compiled twin hashes the key itself (its own SHA-256): the same fingerprints."""
    from apikee import hash_key

    claims = {"tid": "t", **({"id": "some-id"} if with_id else {})}
    keys = [signed_key(core, _payload(**claims, n=i)) for i in range(20)]
    for key in keys:
        verifier = core.Verifier([SECRET.encode()])
        verifier.verify(key)  # nothing revoked
        verifier.set_revocations(frozenset({hash_key(key), "x" * 64}), {})
        with pytest.raises(ApikeeError) as caught:
            verifier.verify(key)
        assert caught.value.code == ErrorCode.REVOKED
        verifier.set_revocations(frozenset({"0" * 64}), {})
        assert verifier.verify(key).tenant == "t"
