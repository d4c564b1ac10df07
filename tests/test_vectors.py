"""Conformance: every line of the 0.1.2 reference vectors gives exactly its expect (and claims)."""

from __future__ import annotations

import json
import pathlib

import pytest

from apikee import ApikeeError

VECTORS = [
    json.loads(line)
    for line in (pathlib.Path(__file__).parent / "vectors-reference-0.1.2.jsonl")
    .read_text()
    .splitlines()
    if line.strip()
]


def test_vectors_file_is_complete() -> None:
    assert len(VECTORS) == 977
    assert {v["source"] for v in VECTORS} == {
        "ref-python-json",
        "ref-python-msgpack",
        "ref-node",
        "mutation",
        "signed",
        "junk",
    }


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(vector: dict, make_apikee) -> None:
    verifier = make_apikee(secrets=vector["secrets"])
    try:
        claims = verifier.verify(vector["key"], now=vector["now"])
    except ApikeeError as exc:
        assert exc.code == vector["expect"], exc.message
        return
    assert vector["expect"] == "valid"
    assert claims.raw_key == vector["key"]
    if "claims" in vector:  # a few "at-exp" lines repeat a key without restating its claims
        wire = vector["claims"]
        assert claims.to_dict() == wire
        assert claims.tenant == wire.get("tid", "")
        assert claims.scopes == wire.get("scp", [])
        assert claims.exp == wire.get("exp")
