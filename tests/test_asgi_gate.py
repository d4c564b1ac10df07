"""The ASGI request gate and header scan: the compiled twins give what the pure ones give.

``AsgiGate.check(scope)`` is everything the middleware does between the scope and the app, and
``scan_headers`` its header scan; the native versions handle the shapes servers send in C and
hand anything else to the pure ones. Arbitrary scopes (odd types, paths, header lists of odd
shapes and values, failing verifiers and policy steps) must give equal results, equal scope
mutations and equal exceptions.
"""

from __future__ import annotations

import collections

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apikee import ApikeeError, ErrorCode
from apikee._core import load_backend

pytestmark = pytest.mark.native

native = pytest.importorskip("apikee._core_c")
pure = load_backend("pure")

HEADER = b"x-api-key"

_values = st.sampled_from(
    [
        b"",
        b" ",
        b"\t",
        b"k1",
        b" k1 ",
        b"k1,k2",
        b", k2",
        b" ,",
        b"Bearer k3",
        b"bearer  k4 ",
        b"Basic xyz",
        b"Bearer",
        b"Bearer ",
        b"\tk5",
        b"k6\t",
        b"k,",
        b"x" * 40,
    ]
)
_names = st.sampled_from([HEADER, b"authorization", b"host", b"X-Api-Key", b"x-api-ke", b""])
_pair = st.tuples(_names, _values)
_odd_item = st.one_of(
    _pair.map(list),  # a list instead of a tuple
    st.tuples(_names, _values.map(lambda v: v.decode())),  # a str value
    st.tuples(_names.map(lambda n: n.decode()), _values),  # a str name
    st.tuples(_names, _values, _values),  # three items
    st.just(42),
)
_headers = st.one_of(
    st.lists(_pair, max_size=8),
    st.lists(st.one_of(_pair, _odd_item), max_size=6),
    st.lists(_pair, max_size=4).map(tuple),  # not a list
)


def _outcome(call):
    try:
        return ("ok", call())
    except Exception as exc:  # the exception's type and text are what must be equal
        return ("raised", type(exc), str(exc))


@given(headers=_headers, name=st.sampled_from([HEADER, b"authorization", "x-api-key"]))
def test_scan_headers_twins_agree(headers, name) -> None:
    assert _outcome(lambda: native.scan_headers(headers, name)) == _outcome(
        lambda: pure.scan_headers(headers, name)
    )


def test_scan_headers_returns_the_value_object_itself() -> None:
    value = b"apikee_abc.def"
    for core in (native, pure):
        assert core.scan_headers([(b"host", b"h"), (HEADER, value)], HEADER)[0] is value


class Claims:
    """What the fake verifier returns: tells its key, and whether it has policy claims."""

    def __init__(self, key, policed: bool) -> None:
        self.key = key
        self.policed = policed

    def to_dict(self) -> dict:
        return {"rl": [[1, 1]]} if self.policed else {}

    def __eq__(self, other) -> bool:
        return isinstance(other, Claims) and (self.key, self.policed) == (other.key, other.policed)

    def __repr__(self) -> str:
        return f"Claims({self.key!r}, {self.policed})"


def _verify(key):
    if key in (b"k5", b"Basic xyz"):
        raise ApikeeError(ErrorCode.INVALID_SIGNATURE, "no")
    return Claims(key, key == b"k1")


def _gate(core, always: bool, prefix: bool, calls: list):
    def after(claims, scope, path):
        calls.append((claims, path))
        if claims.key == b"k6":
            raise ApikeeError(ErrorCode.RATE_LIMITED, "slow down")
        return [(b"ratelimit", b"x")] if claims.key == b"k3" else None

    prefix_open = (lambda path: path.startswith("/open/")) if prefix else None
    return core.AsgiGate(HEADER, frozenset({"/health"}), prefix_open, True, _verify, after, always)


_scopes = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["http", "websocket", "lifespan", "HTTP", "ht" + "tp"]),
        "path": st.sampled_from(["/orders", "/health", "/open/x", "/api/health", "/"]),
        "headers": _headers,
    },
    optional={
        "root_path": st.sampled_from(["", "/api", None]),
        "state": st.sampled_from([None, "dict", "mapping"]),
    },
)


@given(
    scope=_scopes,
    always=st.booleans(),
    prefix=st.booleans(),
    drop=st.sampled_from([None, "type", "path", "headers"]),
)
def test_asgi_gate_twins_agree(scope, always: bool, prefix: bool, drop) -> None:
    results = []
    for core in (native, pure):
        calls: list = []
        copy = dict(scope)
        if copy.get("state") == "dict":
            copy["state"] = {"other": 1}
        elif copy.get("state") == "mapping":  # not a dict: set through its __setitem__
            copy["state"] = collections.UserDict(other=1)
        if drop is not None:
            copy.pop(drop, None)
        outcome = _outcome(lambda copy=copy: _gate(core, always, prefix, calls).check(copy))
        results.append((outcome, copy, calls))
    assert results[0] == results[1]


def test_asgi_gate_accepts_other_mappings() -> None:
    class Scope(dict):
        pass

    for core in (native, pure):
        scope = Scope(type="http", path="/orders", headers=[(HEADER, b"k2")])
        claims = _gate(core, False, False, []).check(scope)
        assert claims == Claims(b"k2", False)
        assert scope["apikee"] is claims and scope["state"]["apikee"] is claims


def test_asgi_gate_options_are_checked() -> None:
    for core in (native, pure):
        with pytest.raises(TypeError):
            core.AsgiGate("x-api-key", frozenset(), None, True, _verify, None, False)
        with pytest.raises(TypeError):
            core.AsgiGate(HEADER, {"/health"}, None, True, _verify, None, False)


class _ThroughGate:
    """``verify(key)`` through a gate's ``check`` (for ``support.verify_outcome``)."""

    def __init__(self, gate) -> None:
        self.gate = gate

    def verify(self, key, now=None):
        scope = {"type": "http", "path": "/orders", "headers": [(b"host", b"h"), (HEADER, key)]}
        claims = self.gate.check(scope)
        assert scope["apikee"] is claims and scope["state"]["apikee"] is claims
        return claims


@given(case=st.sampled_from(["valid", "forged", "expired", "env", "revoked", "junk", "policy"]))
def test_asgi_gate_with_a_real_verifier_gives_its_outcome(case) -> None:
    """With a real Verifier (its bound verify, or a function calling it), the gate's outcome
    (claims or error) is what verify() itself gives, on both cores."""
    import time

    from support import OTHER_SECRET, SECRET, signed_key, verify_outcome

    def policy(claims):
        raise ApikeeError(ErrorCode.RATE_LIMITED, "limited by policy")

    outcomes = []
    for core in (native, pure):
        wire = b'{"tid":"acme","scp":["r"],"env":"live"}'
        if case == "expired":
            wire = b'{"tid":"acme","exp":%d}' % (time.time() - 60)
        elif case == "env":
            wire = b'{"tid":"acme","env":"test"}'
        elif case == "policy":
            wire = b'{"tid":"acme","ip":["10.0.0.0/8"]}'
        key = signed_key(core, wire, OTHER_SECRET if case == "forged" else SECRET)
        if case == "junk":
            key = "apikee_" + "z" * 30 + "." + "0" * 43
        verifier = core.Verifier([SECRET.encode()], environment="live", policy=policy)
        if case == "revoked":
            verifier.set_revocations(frozenset(), {"acme": time.time() + 60})
        direct = core.AsgiGate(HEADER, frozenset(), None, True, verifier.verify, None, False)
        wrapped = core.AsgiGate(
            HEADER, frozenset(), None, True, lambda k, v=verifier: v.verify(k), None, False
        )
        for gate in (direct, wrapped):
            outcomes.append(verify_outcome(_ThroughGate(gate), key.encode()))
        outcomes.append(verify_outcome(verifier, key.encode()))
    assert all(outcome == outcomes[0] for outcome in outcomes), outcomes
    assert (outcomes[0][0] == "ok") == (case == "valid")
