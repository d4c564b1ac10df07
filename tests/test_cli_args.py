"""Argument handling of the ``apikee`` command line: negative WHEN values, ``apikee --json``,
and a ``create`` the library refuses (the "claims" issue). Driven in a subprocess, as users do.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from support import SECRET, run_cli


@pytest.fixture
def key(make_apikee) -> str:
    """A key valid from one hour ago, expiring in one hour."""
    return make_apikee(secret=SECRET).create(
        "acme", not_before=timedelta(hours=-1), expires_in="1h"
    )


@pytest.mark.parametrize(
    "args",
    [("--now", "-2h"), ("--now=-2h",), ("--now", "-7200s"), ("--now", "-1d")],
    ids=["separate", "equals", "seconds", "days"],
)
def test_verify_now_takes_a_negative_duration(key, args):
    # Two hours ago (or one day ago), the key was not valid yet.
    result = run_cli("verify", *args, "-", secret=SECRET, stdin=key, hidden=(key,))
    assert (result.code, result.err) == (1, "NOT_YET_VALID: the key is not valid yet\n")


@pytest.mark.parametrize("args", [("--now", "-30m"), ("--now=-30m",)], ids=["separate", "equals"])
def test_verify_now_in_the_recent_past_is_valid(key, args):
    result = run_cli("verify", *args, "-", secret=SECRET, stdin=key, hidden=(key,))
    assert result.code == 0, result.err
    assert result.out.startswith("VALID")


@pytest.mark.parametrize(
    "args", [("--not-before", "-1d"), ("--not-before=-1d",)], ids=["separate", "equals"]
)
def test_create_not_before_takes_a_negative_duration(make_apikee, args):
    result = run_cli("create", "--tenant", "t", *args, "--json", secret=SECRET)
    assert result.code == 0, result.err
    data = result.json()
    assert abs(data["claims"]["nbf"] - (time.time() - 86400)) < 120
    make_apikee(secret=SECRET).verify(data["key"])  # valid now: it started yesterday


def test_a_negative_value_after_double_dash_is_left_alone():
    # `--` ends the options: what follows is positional, as argparse says.
    result = run_cli("verify", "--", "--now", "-1d", secret=SECRET)
    assert result.code == 2 and "unrecognized arguments" in result.err


def test_json_without_a_command_runs_the_demo_as_json():
    result = run_cli("--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["claims"]["tenant"] == "acme-corp"
    assert data["expired"]["error"] == "EXPIRED"


def test_json_before_a_command_applies_to_it():
    data = run_cli("--json", "info").json()
    assert "implementation" in data


def test_create_not_before_at_or_after_expiry_is_a_usage_error(make_apikee):
    try:  # the library rejects it (ValueError); this test checks how the CLI reports that
        make_apikee(secret=SECRET).create("t", not_before=timedelta(days=2), expires_in="1d")
    except ValueError:
        pass
    else:  # pragma: no cover - until Apikee.create raises for not_before >= exp
        pytest.xfail("Apikee.create does not reject not_before >= expiry yet")
    for args in (
        ("--not-before", "+2d", "--expires", "1d"),
        ("--not-before", "2030-01-01", "--expires", "2030-01-01T00:00:00Z"),
    ):
        result = run_cli("create", "--tenant", "t", *args, secret=SECRET)
        assert result.code == 2, result.err
        assert result.out == ""
        assert result.err.startswith("apikee: cannot create the key: ")
        assert len(result.err.splitlines()) == 1


def test_create_reports_any_library_value_error_cleanly():
    # A ValueError the library raises today: meta too large for max_key_length.
    result = run_cli("create", "--tenant", "t", "--meta", "blob=" + "x" * 9000, secret=SECRET)
    assert result.code == 2
    assert result.out == "" and result.err.startswith("apikee: cannot create the key: ")
