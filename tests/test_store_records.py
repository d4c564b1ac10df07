"""Revocation records, the index built from them, and the reference check."""

from __future__ import annotations

import json
import socket
import time

import pytest

from apikee import hash_key
from apikee._ids import new_key_id
from apikee._store import PRUNE_MARGIN, Revocation, is_revoked, key_id_issued_at
from apikee._store._record import build_index

FP = hash_key("apikee_example.key")


def test_defaults() -> None:
    before = time.time()
    record = Revocation("id", new_key_id())
    assert record.host == socket.gethostname()
    assert before <= record.revoked_at <= time.time()
    assert record.reason is None and record.expires_at is None and record.issued_before is None


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"kind": "key", "value": "x"}, ValueError),
        ({"kind": "id", "value": ""}, ValueError),
        ({"kind": "id", "value": 5}, TypeError),
        ({"kind": "id", "value": FP}, ValueError),  # fingerprint-shaped: not an id
        ({"kind": "id", "value": "a\x00b"}, ValueError),
        ({"kind": "id", "value": "\udc80"}, ValueError),
        ({"kind": "id", "value": "x" * 5000}, ValueError),
        ({"kind": "fingerprint", "value": FP.upper()}, ValueError),
        ({"kind": "fingerprint", "value": FP[:-1]}, ValueError),
        ({"kind": "tenant", "value": "acme"}, TypeError),  # a cutoff is required
        ({"kind": "tenant", "value": "acme", "issued_before": float("inf")}, ValueError),
        ({"kind": "id", "value": "abc", "issued_before": 1.0}, ValueError),
        ({"kind": "id", "value": "abc", "expires_at": float("nan")}, ValueError),
        ({"kind": "id", "value": "abc", "expires_at": True}, TypeError),
        ({"kind": "id", "value": "abc", "revoked_at": None}, TypeError),
        ({"kind": "id", "value": "abc", "reason": 3}, TypeError),
    ],
)
def test_invalid_records(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        Revocation(**kwargs)  # type: ignore[arg-type]


def test_numbers_become_floats_and_round_trip() -> None:
    record = Revocation(
        "tenant",
        "acme|corp:eu \u00e9",
        reason='leak "x"',
        revoked_at=10,
        host="h",
        issued_before=20,
    )
    assert isinstance(record.revoked_at, float) and record.issued_before == 20.0
    assert Revocation.from_json(record.to_json()) == record
    assert json.loads(record.to_json())["value"] == "acme|corp:eu \u00e9"
    assert record.record_key == "tenant:acme|corp:eu \u00e9"
    with pytest.raises(ValueError):
        Revocation.from_json("[1]")
    with pytest.raises(ValueError):
        Revocation.from_json('{"kind": "id"}')
    with pytest.raises(dataclass_frozen_error()):
        record.value = "other"  # type: ignore[misc]


def dataclass_frozen_error() -> type[Exception]:
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_prunable() -> None:
    now = 1_000_000.0
    assert not Revocation("id", "abc").prunable(now)
    assert not Revocation("id", "abc", expires_at=now - 10).prunable(now)  # within the margin
    assert Revocation("id", "abc", expires_at=now - PRUNE_MARGIN - 1).prunable(now)


def test_build_index() -> None:
    now = time.time()
    records = [
        Revocation("id", "id1"),
        Revocation("fingerprint", FP, expires_at=now + 100),
        Revocation("tenant", "acme", issued_before=now),
        Revocation("id", "gone", expires_at=now - PRUNE_MARGIN - 10),
    ]
    ids, tenants = build_index(records, now)
    assert ids == {"id1", FP} and tenants == {"acme": now}


def test_key_id_issued_at() -> None:
    before = time.time()
    issued = key_id_issued_at(new_key_id())
    assert issued is not None and before - 0.002 <= issued <= time.time()
    assert key_id_issued_at("355DsMRbAOWHkn302GWYe") is None  # a 21-character 0.1.x id
    assert key_id_issued_at("!" * 22) is None
    assert key_id_issued_at("z" * 22) is None  # over 128 bits


def test_is_revoked() -> None:
    old, fresh = new_key_id(), None
    cutoff = time.time() + 0.01
    time.sleep(0.02)
    fresh = new_key_id()
    ids = frozenset({"revoked-id", FP})
    tenants = {"acme": cutoff}
    assert is_revoked(ids, tenants, "revoked-id", "other")
    assert is_revoked(ids, tenants, new_key_id(), "other", FP)
    assert not is_revoked(ids, tenants, new_key_id(), "other", hash_key("another"))
    assert is_revoked(ids, tenants, old, "acme")
    assert not is_revoked(ids, tenants, fresh, "acme")
    assert is_revoked(ids, tenants, "355DsMRbAOWHkn302GWYe", "acme")  # no issue time: revoked
    assert not is_revoked(frozenset(), {}, old, "acme")
