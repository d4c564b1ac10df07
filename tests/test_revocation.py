"""Revocation through the public API: ``Apikee(store=...)``, ``revoke*``/``unrevoke``/
``revocations``, and verify()'s step 10 on both implementations.

Every behavioural test runs on both implementations (``make_apikee``/``core``) and, where a
store is involved, on a real SQLite file in ``tmp_path`` and on a real redis-server (one per
module, started on a free 127.0.0.1 port and stopped by PID; each test has its own key
prefix). "Another process" is a real child process (:class:`VerifierChild`, this file run as a
script) that verifies keys in a loop through its own ``Apikee`` and reports each change of a
key's outcome. Waits are bounded by a generous deadline: the tests assert behaviour, not timing.

The differential tests hold the compiled and the pure ``Verifier`` to identical results and
errors with the same installed snapshot (``set_revocations``), and both to an independent
model of the rules of ``apikee/_revoked.py``.

    python tests/test_revocation.py --child URL IMPL KEY...   # the child (used by the tests)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import queue
import socket
import sys
import threading
import time
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis_server import RedisServer, require_redis_server
from store_fixtures import DEADLINE, Child, wait_for
from support import OTHER_SECRET, PAST, SECRET, signed_key

from apikee import (
    Apikee,
    ApikeeConfigError,
    ApikeeError,
    StoreUnavailable,
    decode_unverified,
    hash_key,
)
from apikee._core import load_backend
from apikee._wire import ALPHABET, ID_LENGTH, PREFIX

# ── helpers ─────────────────────────────────────────────────────────────────────────────────

SERVER_TIMEOUT = 2.0


def code_of(apikee: Any, key: str, **options: Any) -> str:
    """``"OK"`` or the error code verify() gives (anything else escapes: a failure)."""
    try:
        apikee.verify(key, **options)
    except ApikeeError as exc:
        return exc.code
    return "OK"


def time_id(instant: float, random_bits: int = 0x5A5A5A5A5A5A5A5A5A5A) -> str:
    """A 22-character time-ordered key id carrying ``instant`` (unix seconds, ms precision),
    built the way ``apikee._ids.new_key_id`` builds one."""
    value = (int(instant * 1000) & 0xFFFFFFFFFFFF) << 80 | (random_bits & ((1 << 80) - 1))
    digits = []
    while value:
        value, digit = divmod(value, 62)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits)).rjust(ID_LENGTH, "0")


def id_instant(key_id: str) -> float | None:
    """The model's reading of a key id's instant (independent of ``apikee._revoked``)."""
    if len(key_id) != ID_LENGTH or any(char not in ALPHABET for char in key_id):
        return None
    number = 0
    for char in key_id:
        number = number * 62 + ALPHABET.index(char)
    return None if number >= 1 << 128 else (number >> 80) / 1000.0


def claims_key(core: Any, claims: dict[str, Any], secret: str = SECRET) -> str:
    """A key whose signature is genuine for exactly these claims (with or without an id)."""
    payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    return signed_key(core, payload, secret)


def no_id_key(core: Any, tenant: str = "acme", **extra: Any) -> str:
    """A key created without an ``id`` claim: it can only be revoked by its fingerprint."""
    claims = {
        "tid": tenant,
        "scp": ["read"],
        "env": "production",
        "exp": int(time.time()) + 3600,
        **extra,
    }
    return claims_key(core, claims)


# ── stores ──────────────────────────────────────────────────────────────────────────────────


@pytest.fixture(autouse=True)
def _no_store_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's APIKEE_STORE (tests/conftest.py clears the other
    APIKEE_* variables, not this one)."""
    monkeypatch.delenv("APIKEE_STORE", raising=False)


@pytest.fixture(scope="module")
def module_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the module (each test gets its own key prefix)."""
    require_redis_server()
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.resume()
        server.stop()


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store: a SQLite file in tmp_path, or a fresh prefix on the Redis server."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'revocations.db'}"
    server: RedisServer = request.getfixturevalue("module_redis")
    return f"{server.url}?prefix=t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def open_apikee(make_apikee: Any) -> Iterator[Any]:
    """``open_apikee(store, **options)``: an Apikee of the implementation under test, with the
    reference secret, closed (refresher stopped) at teardown."""
    made: list[Apikee] = []

    def build(store: Any = None, **options: Any) -> Apikee:
        options.setdefault("server_timeout", SERVER_TIMEOUT)
        apikee = make_apikee(secret=SECRET, store=store, **options)
        made.append(apikee)
        return apikee

    yield build
    for apikee in made:
        apikee.close()


# ── the child: another process verifying keys through its own Apikee ────────────────────────


class VerifierChild(Child):
    """A child process with its own ``Apikee`` on ``url`` verifying ``keys`` in a loop.

    Events (JSON lines): ``ready`` (after the first pass, with every key's outcome), ``code``
    (``key`` index and its new outcome, each time one changes) and ``done`` (counts, the
    exceptions that escaped verify() or a thread, the violations of ``stay_revoked``: a key
    that was seen REVOKED and later was not, and the final ``store_status()``). Stops when its
    stdin closes (:meth:`finish`) or after ``duration`` seconds.
    """

    def __init__(
        self,
        url: str,
        impl: str,
        keys: Sequence[str],
        *,
        stay_revoked: Sequence[int] = (),
        server_timeout: float = SERVER_TIMEOUT,
        fail_open: bool = True,
        max_staleness: float | None = None,
        duration: float = 90.0,
    ) -> None:
        args = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            url,
            impl,
            *keys,
            "--server-timeout",
            str(server_timeout),
            "--duration",
            str(duration),
        ]
        if stay_revoked:
            args += ["--stay-revoked", *map(str, stay_revoked)]
        if not fail_open:
            args.append("--fail-closed")
        if max_staleness is not None:
            args += ["--max-staleness", str(max_staleness)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("APIKEE_")}
        env.update(APIKEE_SECRET=SECRET, PYTHONUNBUFFERED="1")
        self._start(args, env)

    def codes(self) -> list[str] | None:
        """The outcomes the child last reported (None before it is ready)."""
        current: list[str] | None = None
        for item in self.seen:
            if item.get("event") == "ready":
                current = list(item["codes"])
            elif item.get("event") == "code" and current is not None:
                current[item["key"]] = item["code"]
        return current

    def wait_codes(self, expected: list[str], timeout: float = DEADLINE) -> list[str] | None:
        """Wait until the child's keys give ``expected`` (the first load may come after the
        child's first pass); the last codes it reported."""
        deadline = time.monotonic() + timeout
        while self.codes() != expected and time.monotonic() < deadline:
            try:
                self.seen.append(self.events.get(timeout=0.05))
            except queue.Empty:
                pass
        return self.codes()


def assert_clean(done: dict[str, Any]) -> None:
    """A child that finished without any exception escaping and without any violation."""
    assert done["returncode"] == 0, done["stderr"][-2000:]
    assert done["escaped"] == [] and done["thread_errors"] == [], done
    assert done["violations"] == 0, done
    assert done["verifies"] > 0


def _child_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("impl")
    parser.add_argument("keys", nargs="+")
    parser.add_argument("--server-timeout", type=float, default=SERVER_TIMEOUT)
    parser.add_argument("--duration", type=float, default=90.0)
    parser.add_argument("--stay-revoked", type=int, nargs="*", default=[])
    parser.add_argument("--fail-closed", action="store_true")
    parser.add_argument("--max-staleness", type=float, default=None)
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    thread_errors: list[str] = []
    threading.excepthook = lambda info: thread_errors.append(repr(info.exc_value))
    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()

    def emit(event: str, **fields: Any) -> None:
        print(
            json.dumps({"event": event, "t": time.monotonic(), **fields}, default=str), flush=True
        )

    apikee = Apikee(
        store=options.url,
        implementation=options.impl,
        server_timeout=options.server_timeout,
        fail_open=not options.fail_closed,
        max_staleness=options.max_staleness,
    )
    keys = options.keys
    codes: list[str | None] = [None] * len(keys)
    seen_revoked = [False] * len(keys)
    escaped: list[str] = []
    verifies = violations = 0
    ready = False
    deadline = time.monotonic() + options.duration
    while not stop.is_set() and time.monotonic() < deadline:
        for index, key in enumerate(keys):
            try:
                apikee.verify(key)
                code = "OK"
            except ApikeeError as exc:
                code = exc.code
            except BaseException as exc:  # exactly what must never happen
                code = f"ESCAPED {type(exc).__name__}"
                if len(escaped) < 20:
                    escaped.append(repr(exc))
            verifies += 1
            if index in options.stay_revoked:
                if code == "REVOKED":
                    seen_revoked[index] = True
                elif seen_revoked[index]:
                    violations += 1
            if code != codes[index]:
                codes[index] = code
                if ready:
                    emit("code", key=index, code=code)
        if not ready:
            ready = True
            emit("ready", codes=codes, status=apikee.store_status())
        time.sleep(0.002)
    status = apikee.store_status()
    apikee.close()
    emit(
        "done",
        verifies=verifies,
        violations=violations,
        escaped=escaped,
        thread_errors=thread_errors,
        codes=codes,
        status=status,
    )
    return 0


# ── revoking and propagating ────────────────────────────────────────────────────────────────


def test_a_revoked_key_is_rejected_here_at_once_and_in_another_process(
    open_apikee: Any, impl: str, store_url: str, tmp_path: Path
) -> None:
    apikee = open_apikee(store_url)
    key, other = apikee.create("acme"), apikee.create("acme")
    child = VerifierChild(store_url, impl, [key, other])
    try:
        ready = child.wait("ready", timeout=30)
        assert ready is not None and ready["codes"] == ["OK", "OK"], ready

        record = apikee.revoke(key, reason="leaked in a log")
        assert (record.kind, record.value) == ("id", decode_id(key))
        assert code_of(apikee, key) == "REVOKED"  # this Apikee: at once, no waiting
        assert code_of(apikee, other) == "OK"
        assert child.wait("code", key=0, code="REVOKED") is not None  # the other process

        assert apikee.unrevoke(key) is True
        assert code_of(apikee, key) == "OK"
        assert child.wait("code", key=0, code="OK") is not None  # the unrevoke travels too
    finally:
        done = child.finish(timeout=30)
    assert done["returncode"] == 0 and done["escaped"] == [] and done["thread_errors"] == []
    assert done["codes"] == ["OK", "OK"], done  # 'other' was never touched
    assert done["status"]["healthy"] is True, done["status"]


def test_revoke_by_key_id(open_apikee: Any, core: Any, store_url: str) -> None:
    apikee = open_apikee(store_url)
    key = apikee.create("acme", scopes=["read"])
    key_id = apikee.verify(key).id
    record = apikee.revoke(key_id, reason="rotated")
    assert (record.kind, record.value, record.reason) == ("id", key_id, "rotated")
    assert record.expires_at is None  # a bare id says nothing of the key's expiry
    assert code_of(apikee, key) == "REVOKED"
    # An id that no key of ours has is accepted too (the key may come from another issuer).
    foreign = time_id(time.time())
    assert apikee.revoke(foreign).value == foreign
    assert code_of(apikee, claims_key(core, {"id": foreign, "tid": "acme"})) == "REVOKED"


def test_revoke_a_key_without_id_by_its_fingerprint(
    open_apikee: Any, core: Any, store_url: str
) -> None:
    apikee = open_apikee(store_url)
    first, second, third = (no_id_key(core, meta={"n": n}) for n in range(3))
    claims = apikee.verify(first)
    assert claims.id == "" and claims.tenant == "acme"

    record = apikee.revoke(first)  # the full key: revoked by hash_key(key)
    assert (record.kind, record.value) == ("fingerprint", hash_key(first))
    assert record.expires_at == claims.exp
    assert apikee.revoke(hash_key(second)).kind == "fingerprint"  # the fingerprint itself
    assert apikee.revoke(hash_key(third).upper()).value == hash_key(third)  # any case
    assert [code_of(apikee, k) for k in (first, second, third)] == ["REVOKED"] * 3
    assert code_of(apikee, no_id_key(core, meta={"n": 3})) == "OK"  # another key: unaffected

    assert apikee.unrevoke(hash_key(second)) is True
    assert apikee.unrevoke(third) is True  # the full key finds its fingerprint record
    assert apikee.unrevoke(first) is True
    assert [code_of(apikee, k) for k in (first, second, third)] == ["OK"] * 3
    assert apikee.unrevoke(first) is False  # nothing left to take back


def test_revoke_tenant_now_cuts_off_old_keys_and_keeps_new_ones(
    open_apikee: Any, store_url: str
) -> None:
    apikee = open_apikee(store_url)
    old = apikee.create("acme")
    bystander = apikee.create("globex")
    time.sleep(0.01)  # the ids carry milliseconds: keep the cutoff off the keys' instants
    record = apikee.revoke_tenant("acme", reason="offboarded")
    time.sleep(0.01)
    new = apikee.create("acme")
    assert (record.kind, record.value, record.reason) == ("tenant", "acme", "offboarded")
    assert code_of(apikee, old) == "REVOKED"
    assert code_of(apikee, new) == "OK"  # issued after the cutoff
    assert code_of(apikee, bystander) == "OK"
    assert apikee.unrevoke(tenant="acme") is True
    assert code_of(apikee, old) == "OK"
    assert apikee.unrevoke(tenant="acme") is False


@pytest.mark.parametrize("form", ["datetime-aware", "datetime-naive", "float", "int", "timedelta"])
def test_revoke_tenant_issued_before_forms(
    open_apikee: Any, core: Any, store_url: str, form: str
) -> None:
    """The cutoff as a datetime (aware, or naive = UTC), unix seconds, or a timedelta from
    now; the issue time is the ``iat`` claim, else the instant of the time-ordered id."""
    apikee = open_apikee(store_url)
    now = time.time()
    cutoff = now - 3600  # an hour ago, away from any rounding
    given_cutoff: Any = {
        "datetime-aware": datetime.fromtimestamp(cutoff, timezone.utc),
        "datetime-naive": datetime.fromtimestamp(cutoff, timezone.utc).replace(tzinfo=None),
        "float": cutoff,
        "int": int(cutoff),
        "timedelta": timedelta(hours=-1),
    }[form]

    def key(issued: float, *, by: str) -> str:
        claims: dict[str, Any] = {"tid": "acme", "exp": int(now) + 3600}
        if by == "iat":
            # the id says the opposite side of the cutoff: the iat wins over the id
            claims.update(id=time_id(2 * cutoff - issued), iat=issued)
        else:
            claims["id"] = time_id(issued)
        return claims_key(core, claims)

    before = [key(cutoff - 60, by="iat"), key(cutoff - 60, by="id")]
    after = [key(cutoff + 60, by="iat"), key(cutoff + 60, by="id"), apikee.create("acme")]
    legacy = claims_key(core, {"id": "A" * 21, "tid": "acme"})  # a 0.1.x id: no instant
    no_time = no_id_key(core)  # neither iat nor a time-ordered id
    other_tenant = claims_key(core, {"id": time_id(cutoff - 60), "tid": "globex"})

    record = apikee.revoke_tenant("acme", issued_before=given_cutoff)
    assert record.issued_before == pytest.approx(cutoff, abs=2.0)
    assert [code_of(apikee, k) for k in before] == ["REVOKED", "REVOKED"]
    assert [code_of(apikee, k) for k in after] == ["OK", "OK", "OK"]
    assert code_of(apikee, legacy) == "REVOKED"  # issued "before any cutoff"
    assert code_of(apikee, no_time) == "REVOKED"
    assert code_of(apikee, other_tenant) == "OK"


def test_revoke_tenant_again_moves_the_cutoff(open_apikee: Any, core: Any, store_url: str) -> None:
    apikee = open_apikee(store_url)
    now = time.time()
    early = claims_key(core, {"id": time_id(now - 7200), "tid": "acme"})
    late = claims_key(core, {"id": time_id(now - 60), "tid": "acme"})
    apikee.revoke_tenant("acme", issued_before=now - 3600)
    assert [code_of(apikee, early), code_of(apikee, late)] == ["REVOKED", "OK"]
    apikee.revoke_tenant("acme", issued_before=now)
    assert [code_of(apikee, early), code_of(apikee, late)] == ["REVOKED", "REVOKED"]
    apikee.revoke_tenant("acme", issued_before=now - 10800)
    assert [code_of(apikee, early), code_of(apikee, late)] == ["OK", "OK"]
    assert len([r for r in apikee.revocations() if r.kind == "tenant"]) == 1


def test_revoke_tenant_keeps_a_sub_second_cutoff(
    open_apikee: Any, core: Any, store_url: str
) -> None:
    apikee = open_apikee(store_url)
    second = float(int(time.time()) - 60)
    key = claims_key(core, {"id": time_id(second + 0.2), "tid": "acme"})  # issued at .2
    record = apikee.revoke_tenant("acme", issued_before=second + 0.7)  # cutoff at .7
    assert code_of(apikee, key) == "REVOKED"
    assert record.issued_before == second + 0.7


def test_a_key_with_an_id_revoked_by_its_fingerprint(
    open_apikee: Any, store_url: str, impl: str, tmp_path: Path
) -> None:
    """What a service that stored only ``hash_key(key)`` can do (this was a silent no-op:
    fingerprints used to be looked up for keys without an id only)."""
    apikee = open_apikee(store_url)
    key, other = apikee.create("acme"), apikee.create("acme")
    record = apikee.revoke(hash_key(key))
    assert (record.kind, record.value) == ("fingerprint", hash_key(key))
    assert code_of(apikee, key) == "REVOKED"
    assert code_of(apikee, other) == "OK"
    child = VerifierChild(store_url, impl, [key, other])
    try:
        assert child.wait_codes(["REVOKED", "OK"], timeout=30) == ["REVOKED", "OK"]
        assert apikee.unrevoke(hash_key(key)) is True
        assert code_of(apikee, key) == "OK"
        assert child.wait_codes(["OK", "OK"]) == ["OK", "OK"]
    finally:
        done = child.finish(timeout=30)
    assert done["returncode"] == 0 and done["escaped"] == [] and done["thread_errors"] == []


def test_unrevoke_takes_back_each_kind(open_apikee: Any, core: Any, store_url: str) -> None:
    apikee = open_apikee(store_url)
    by_key, by_id = apikee.create("acme"), apikee.create("acme")
    by_fingerprint = no_id_key(core, tenant="solo")
    time.sleep(0.01)
    tenant_key = apikee.create("globex")
    time.sleep(0.01)
    apikee.revoke(by_key)
    apikee.revoke(decode_id(by_id))
    apikee.revoke(hash_key(by_fingerprint))
    apikee.revoke_tenant("globex")
    keys = [by_key, by_id, by_fingerprint, tenant_key]
    assert [code_of(apikee, k) for k in keys] == ["REVOKED"] * 4
    assert len(apikee.revocations()) == 4

    assert apikee.unrevoke(by_key) is True  # the full key: its id record
    assert apikee.unrevoke(decode_id(by_key)) is False  # already gone
    assert apikee.unrevoke(decode_id(by_id)) is True
    assert apikee.unrevoke(hash_key(by_fingerprint)) is True
    assert apikee.unrevoke(tenant="globex") is True
    assert [code_of(apikee, k) for k in keys] == ["OK"] * 4
    assert apikee.revocations() == []
    for bad in ((), (by_key,)):
        with pytest.raises(ValueError):
            apikee.unrevoke(*bad, **({"tenant": "globex"} if bad else {}))


def decode_id(key: str) -> str:
    return decode_unverified(key).id


def test_revocations_lists_every_record(open_apikee: Any, core: Any, store_url: str) -> None:
    apikee = open_apikee(store_url)
    key = apikee.create("acme", expires_in="1d")
    fingerprinted = no_id_key(core)
    started = time.time()
    apikee.revoke(key, reason="leaked")
    apikee.revoke(fingerprinted)
    cutoff = datetime(2020, 1, 1, tzinfo=timezone.utc)
    apikee.revoke_tenant("globex", issued_before=cutoff, reason="contract ended")
    finished = time.time()

    records = apikee.revocations()
    assert [(r.kind, r.value, r.reason) for r in records] == [
        ("id", decode_id(key), "leaked"),
        ("fingerprint", hash_key(fingerprinted), None),
        ("tenant", "globex", "contract ended"),
    ]
    for record in records:
        assert started - 1 <= record.revoked_at <= finished + 1
        assert record.host == socket.gethostname()
    assert records[0].expires_at == decode_unverified(key).exp  # pruned a day after expiry
    assert records[1].expires_at == decode_unverified(fingerprinted).exp
    assert records[2].issued_before == cutoff.timestamp() and records[2].expires_at is None
    # Another Apikee on the same store lists the same records.
    other = open_apikee(store_url)
    assert other.revocations() == records
    with pytest.raises(ValueError):
        apikee.revoke(apikee.create("acme"), reason="x" * 501)


# ── the order of the checks ─────────────────────────────────────────────────────────────────


def test_revoked_comes_after_the_signature_and_time_checks(
    open_apikee: Any, core: Any, store_url: str
) -> None:
    apikee = open_apikee(store_url)
    now = time.time()
    expired = apikee.create("acme", expires_in=PAST)
    not_yet = apikee.create("acme", expires_in=None, not_before=now + 3600)
    revoked = apikee.create("acme", scopes=["read"])
    for key in (expired, not_yet, revoked):
        apikee.revoke(key)  # an expired or not-yet-valid key can be revoked too
    assert code_of(apikee, expired) == "EXPIRED"
    assert code_of(apikee, not_yet) == "NOT_YET_VALID"
    assert code_of(apikee, revoked) == "REVOKED"
    assert code_of(apikee, revoked, now=now + 200 * 86400) == "EXPIRED"
    # Before the later checks: scopes and environment.
    assert code_of(apikee, revoked, scopes=["admin"]) == "REVOKED"
    strict = open_apikee(store_url, environment="staging")
    assert code_of(strict, revoked) == "REVOKED"

    # A forged key carrying a revoked id is a bad signature, not a revoked key.
    claims = {"id": decode_id(revoked), "tid": "acme", "scp": ["read"]}
    forged = claims_key(core, claims, secret=OTHER_SECRET)
    assert code_of(apikee, forged) == "INVALID_SIGNATURE"
    genuine = claims_key(core, claims)
    assert code_of(apikee, genuine) == "REVOKED"  # the same claims, genuinely signed
    # A forged key of a revoked tenant, likewise.
    apikee.revoke_tenant("acme")
    assert code_of(apikee, claims_key(core, {"tid": "acme"}, secret=OTHER_SECRET)) == (
        "INVALID_SIGNATURE"
    )


def test_is_revoked_callable_still_works_beside_a_store(open_apikee: Any, store_url: str) -> None:
    asked: list[str] = []

    def is_revoked(claims: Any) -> bool:
        asked.append(claims.tenant)
        return claims.tenant == "blocked"

    apikee = open_apikee(store_url, is_revoked=is_revoked)
    blocked, by_store, fine = (apikee.create(t) for t in ("blocked", "acme", "globex"))
    apikee.revoke(by_store)
    assert code_of(apikee, blocked) == "REVOKED"
    assert code_of(apikee, by_store) == "REVOKED"
    assert code_of(apikee, fine) == "OK"
    assert {"blocked", "globex"} <= set(asked)
    apikee.unrevoke(by_store)
    assert code_of(apikee, by_store) == "OK" and "acme" in asked


# ── refusals and configuration ──────────────────────────────────────────────────────────────


def test_revoking_a_key_that_does_not_verify_raises_value_error(
    open_apikee: Any, core: Any, store_url: str
) -> None:
    apikee = open_apikee(store_url)
    genuine = apikee.create("acme")
    foreign = Apikee(secret=OTHER_SECRET, implementation=apikee.implementation).create("acme")
    tampered = apikee.create("evil").partition(".")[0] + "." + genuine.partition(".")[2]
    for key in (
        foreign,
        tampered,
        claims_key(core, {"tid": "acme"}, secret=OTHER_SECRET),
        PREFIX + "notakey",
        PREFIX + "abc.def.ghi",
    ):
        with pytest.raises(ValueError):
            apikee.revoke(key)
    for junk in ("", "   ", "bad id with spaces", "x" * 129, b"", 42, None):
        with pytest.raises((ValueError, TypeError)):
            apikee.revoke(junk)  # type: ignore[arg-type]
    for bad_tenant in ("", None, 7):
        with pytest.raises(ValueError):
            apikee.revoke_tenant(bad_tenant)  # type: ignore[arg-type]
    with pytest.raises((ValueError, TypeError)):
        apikee.revoke_tenant("acme", issued_before="yesterday")  # type: ignore[arg-type]
    assert apikee.revocations() == []  # nothing was written
    assert code_of(apikee, foreign) == "INVALID_SIGNATURE"


def test_without_a_store_revocation_is_a_configuration_error(open_apikee: Any) -> None:
    apikee = open_apikee(None)
    key = apikee.create("acme")
    assert apikee.store_kind is None and apikee.store_status() is None
    assert "store" not in repr(apikee)
    calls = [
        lambda: apikee.revoke(key),
        lambda: apikee.revoke_tenant("acme"),
        lambda: apikee.unrevoke(key),
        lambda: apikee.unrevoke(tenant="acme"),
        apikee.revocations,
    ]
    for call in calls:
        with pytest.raises(ApikeeConfigError, match="APIKEE_STORE"):
            call()
    apikee.close()  # harmless without a store
    assert code_of(apikee, key) == "OK"
    for bad in ("", "   ", "ftp://nope", "sqlite://", "redis://host:port/0"):
        with pytest.raises(ApikeeConfigError):
            open_apikee(bad)
    for bad_option in (
        {"server_timeout": 0},
        {"server_timeout": float("inf")},
        {"max_staleness": -1},
        {"max_staleness": float("nan")},
    ):
        with pytest.raises(ApikeeConfigError):
            open_apikee("memory://", **bad_option)


def test_the_apikee_store_environment_variable(
    open_apikee: Any, make_apikee: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite://{tmp_path / 'from-env.db'}"
    monkeypatch.setenv("APIKEE_STORE", url)
    apikee = open_apikee()
    assert apikee.store_kind == "sqlite" and apikee.store_status()["url"] == url
    key = apikee.create("acme")
    apikee.revoke(key)
    reader = open_apikee()  # a second instance from the same environment
    assert wait_for(lambda: code_of(reader, key) == "REVOKED")
    # An explicit store wins over the environment.
    explicit = open_apikee("memory://")
    assert explicit.store_kind == "memory" and code_of(explicit, key) == "OK"
    # A blank variable means no store.
    monkeypatch.setenv("APIKEE_STORE", "  ")
    assert open_apikee().store_kind is None


def test_the_store_password_never_shows(
    open_apikee: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    password = "pw-" + uuid.uuid4().hex
    caplog.set_level(logging.DEBUG)
    with RedisServer(tmp_path / "redis", password=password) as server:
        assert password in server.url
        apikee = open_apikee(server.url, server_timeout=0.5)
        key = apikee.create("acme")
        apikee.revoke(key)
        texts = [
            repr(apikee),
            str(apikee.store_status()),
            repr(apikee._store),
            str(apikee.revocations()),
        ]

        wrong = open_apikee(
            server.url.replace(password, password[:-4] + "XXXX"), server_timeout=0.5
        )
        with pytest.raises(StoreUnavailable) as refused:
            wrong.revoke(key)
        exc = refused.value
        assert exc.__cause__ is None and exc.__context__ is None
        texts += [str(exc), repr(exc), exc.message, repr(wrong), str(wrong.store_status())]
        assert wrong.store_status()["last_error"]  # the failure is reported, redacted

        server.kill()
        with pytest.raises(StoreUnavailable) as down:
            apikee.revoke(apikee.create("acme"))
        texts += [str(down.value), repr(down.value)]
        assert wait_for(lambda: apikee.store_status()["last_error"] is not None)
        texts.append(str(apikee.store_status()))
    for bad in (
        f"redis://:{password}@127.0.0.1:notaport/0",
        f"redis://user:{password}@127.0.0.1:6379/notadb",
        f"redis://user:{password}@[::1/0",
        f"rediss://user:{password}@/0",
    ):
        with pytest.raises(ApikeeConfigError) as config_error:
            open_apikee(bad)
        texts += [str(config_error.value), repr(config_error.value)]
    texts.append(caplog.text)
    assert "***" in texts[1]  # the status shows the URL, redacted
    for text in texts:
        assert password not in text
        assert password[:-4] not in text  # not even the wrong one


# ── native and pure, differentially ─────────────────────────────────────────────────────────

NOW = 1_800_000_000.0
INSTANT = NOW - 1000.0
try:
    NATIVE = load_backend("native")
except ImportError:  # a pure-only install: the differential tests are deselected there
    NATIVE = None
PURE = load_backend("pure")
TENANTS = ["acme", "globex", "", "ünïcødé"]


def both_cores() -> tuple[Any, Any]:
    """``(native, pure)``; a test that needs both fails without the extension."""
    if NATIVE is None:
        pytest.fail("the native extension is not importable; use --no-native to deselect")
    return NATIVE, PURE


@pytest.fixture
def both() -> tuple[Any, Any]:
    return both_cores()


def outcome(verifier: Any, key: str, now: float = NOW) -> tuple[Any, ...]:
    try:
        claims = verifier.verify(key, now)
    except ApikeeError as exc:
        return ("error", exc.code, exc.message)
    return ("ok", claims.to_dict(), claims.id, claims.tenant, claims.raw_key)


def model(
    claims: dict[str, Any],
    key: str,
    forged: bool,
    ids: frozenset[str],
    tenants: dict[str, float],
    stale: bool,
    now: float = NOW,
) -> str:
    """The expected code, from docs/SPEC.md and the module docstring of apikee/_revoked.py."""
    if forged:
        return "INVALID_SIGNATURE"
    iat = claims.get("iat")
    if "iat" in claims and (type(iat) not in (int, float) or not 0 <= iat <= 253402300799):
        return "INVALID_CLAIMS"
    if "exp" in claims and now > claims["exp"]:
        return "EXPIRED"
    if "nbf" in claims and now < claims["nbf"]:
        return "NOT_YET_VALID"
    if stale:
        return "STORE_UNAVAILABLE"
    key_id = claims.get("id", "")
    if key_id and key_id in ids:
        return "REVOKED"
    if hashlib.sha256(key.encode()).hexdigest() in ids:  # any key, with an id or not
        return "REVOKED"
    tenant = claims.get("tid", "")
    if tenant in tenants:
        issued = float(iat) if iat is not None else id_instant(key_id)
        if issued is None or issued < tenants[tenant]:
            return "REVOKED"
    return "OK"


instants = st.floats(INSTANT - 5.0, INSTANT + 5.0) | st.integers(int(INSTANT) - 5, int(INSTANT) + 5)
key_ids = st.one_of(
    st.builds(time_id, instants, st.integers(0, (1 << 80) - 1)),  # time-ordered, near cutoffs
    st.text(ALPHABET, min_size=21, max_size=21),  # 0.1.x ids: no instant
    st.text(ALPHABET, min_size=22, max_size=22),  # 22 digits, maybe >= 2**128: no instant
    st.text(max_size=24),  # anything (the empty id means: fingerprint)
)
claims_strategy = st.fixed_dictionaries(
    {"tid": st.sampled_from(TENANTS)},
    optional={
        "id": key_ids,
        "iat": instants | st.sampled_from(["soon", -1, True, None, 1e300]),
        "exp": st.sampled_from([NOW - 1, NOW + 1, NOW + 86400]),
        "nbf": st.sampled_from([NOW - 86400, NOW + 1]),
        "scp": st.just(["read"]),
    },
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[tuple[dict, str, bool]], frozenset, dict, Any]:
    keys = []
    for claims in draw(st.lists(claims_strategy, min_size=1, max_size=6)):
        forged = draw(st.integers(0, 4)) == 0  # one key in five is forged
        keys.append((claims, claims_key(PURE, claims, OTHER_SECRET if forged else SECRET), forged))
    known_ids = sorted({c["id"] for c, _, _ in keys if c.get("id")})
    fingerprints = sorted(hashlib.sha256(k.encode()).hexdigest() for _, k, _ in keys)
    ids = (
        frozenset(draw(st.lists(st.sampled_from(known_ids), unique=True)) if known_ids else [])
        | frozenset(draw(st.lists(st.sampled_from(fingerprints), unique=True)))
        | frozenset(draw(st.lists(key_ids, max_size=3)))
    )
    issued = [c.get("iat") for c, _, _ in keys if type(c.get("iat")) in (int, float)]
    issued += [id_instant(c.get("id", "")) for c, _, _ in keys]
    near = [float(t) + d for t in issued if t is not None for d in (-0.001, 0.0, 0.001)]
    cutoff = st.sampled_from(near) if near else instants
    tenants = draw(
        st.dictionaries(
            st.sampled_from(TENANTS), cutoff | instants | st.sampled_from([0.0, 1e12]), max_size=3
        )
    )
    fresh = draw(st.sampled_from(["none", "future", "past"]))
    return keys, ids, tenants, fresh


@pytest.mark.native
@settings(max_examples=300)
@given(scenarios())
def test_native_and_pure_agree_with_each_other_and_the_model(scenario: Any) -> None:
    both = both_cores()
    keys, ids, tenants, fresh = scenario
    fresh_until = {"none": None, "future": time.monotonic() + 3600, "past": time.monotonic() - 1}[
        fresh
    ]
    verifiers = []
    for core in both:
        verifier = core.Verifier([SECRET.encode()])
        verifier.set_revocations(ids, tenants, fresh_until)
        verifiers.append(verifier)
    for claims, key, forged in keys:
        native_outcome, pure_outcome = (outcome(v, key) for v in verifiers)
        assert native_outcome == pure_outcome, (claims, ids, tenants)
        expected = model(claims, key, forged, ids, tenants, stale=fresh == "past")
        got = "OK" if native_outcome[0] == "ok" else native_outcome[1]
        assert got == expected, (claims, ids, tenants, fresh)
        # bytes take the same path as text, in both
        assert outcome(verifiers[0], key.encode()) == outcome(verifiers[1], key.encode())


@pytest.mark.native
def test_differential_edge_cases(both: tuple[Any, Any]) -> None:
    native, pure = both
    with_id = {"id": time_id(INSTANT), "tid": "acme"}
    no_id = {"tid": "acme", "iat": INSTANT}
    bare = {"tid": "acme"}  # no id, no iat: issued "before any cutoff"
    keys = {
        name: claims_key(PURE, claims)
        for name, claims in (("with_id", with_id), ("no_id", no_id), ("bare", bare))
    }
    cases: list[tuple[frozenset, dict, dict[str, str]]] = [
        # a cutoff exactly at the issue instant does not revoke (strictly before)...
        (frozenset(), {"acme": INSTANT}, {"with_id": "OK", "no_id": "OK", "bare": "REVOKED"}),
        # ...a millisecond later it does (the iat, else the id's instant)
        (
            frozenset(),
            {"acme": INSTANT + 0.001},
            {"with_id": "REVOKED", "no_id": "REVOKED", "bare": "REVOKED"},
        ),
        (frozenset(), {"acme": 0.0}, {"with_id": "OK", "no_id": "OK", "bare": "REVOKED"}),
        # the fingerprint counts for every key, with an id or without
        (
            frozenset({hash_key(keys["with_id"]), hash_key(keys["no_id"])}),
            {},
            {"with_id": "REVOKED", "no_id": "REVOKED", "bare": "OK"},
        ),
        # a fingerprint of another key in the set: the look-up runs, and finds nothing
        (frozenset({hash_key(keys["bare"]), "x" * 64}), {}, {"with_id": "OK", "bare": "REVOKED"}),
        (frozenset({with_id["id"]}), {}, {"with_id": "REVOKED", "no_id": "OK"}),
        (frozenset({with_id["id"]}), {"acme": 1e12}, {"with_id": "REVOKED", "no_id": "REVOKED"}),
        (frozenset({"unrelated"}), {"globex": 1e12}, {"with_id": "OK", "bare": "OK"}),
    ]
    for ids, tenants, expected in cases:
        for name, code in expected.items():
            outcomes = []
            for core in (native, pure):
                verifier = core.Verifier([SECRET.encode()])
                verifier.set_revocations(ids, tenants)
                outcomes.append(outcome(verifier, keys[name]))
            assert outcomes[0] == outcomes[1]
            assert ("OK" if outcomes[0][0] == "ok" else outcomes[0][1]) == code, (
                name,
                ids,
                tenants,
            )


def test_a_stale_fail_closed_snapshot_gives_store_unavailable(core: Any) -> None:
    verifier = core.Verifier([SECRET.encode()])
    key = claims_key(core, {"id": time_id(INSTANT), "tid": "acme", "exp": NOW + 60})
    verifier.set_revocations(frozenset(), {}, time.monotonic() + 3600)
    assert verifier.verify(key, NOW).tenant == "acme"  # fresh: verifies
    verifier.set_revocations(frozenset(), {}, time.monotonic() - 0.001)
    with pytest.raises(ApikeeError) as stale:
        verifier.verify(key, NOW)
    assert stale.value.code == "STORE_UNAVAILABLE" and stale.value.http_status == 503
    # ...but only after the signature and the time window: those failures say what they are
    assert code_of(verifier, key, now=NOW + 120) == "EXPIRED"
    assert code_of(verifier, claims_key(core, {"tid": "acme"}, OTHER_SECRET)) == (
        "INVALID_SIGNATURE"
    )
    verifier.set_revocations(frozenset(), {}, None)  # the next snapshot: never stale
    assert verifier.verify(key, NOW).tenant == "acme"


@pytest.mark.native
def test_set_revocations_refuses_other_types_alike(both: tuple[Any, Any]) -> None:
    class FrozenSub(frozenset):
        pass

    class DictSub(dict):
        pass

    bad_ids = [set(), ["a"], ("a",), FrozenSub({"a"}), None, {"a": 1}, "a"]
    bad_tenants = [OrderedDict(), defaultdict(float), DictSub(), None, [("a", 1.0)], frozenset()]
    calls = [(ids, {}) for ids in bad_ids] + [(frozenset(), tenants) for tenants in bad_tenants]
    for ids, tenants in calls:
        errors = []
        for core in both:
            verifier = core.Verifier([SECRET.encode()])
            with pytest.raises(TypeError) as refused:
                verifier.set_revocations(ids, tenants)
            errors.append(str(refused.value))
        assert errors[0] == errors[1], (ids, tenants)
    for fresh_until in ("soon", [1.0], object()):
        kinds = []
        for core in both:
            with pytest.raises((TypeError, ValueError)) as refused:
                core.Verifier([SECRET.encode()]).set_revocations(frozenset(), {}, fresh_until)
            kinds.append((type(refused.value), str(refused.value)))
        assert kinds[0] == kinds[1], fresh_until
    for core in both:  # the accepted forms
        verifier = core.Verifier([SECRET.encode()])
        verifier.set_revocations(frozenset({"a"}), {"t": 1.0}, 5)
        verifier.set_revocations(frozenset(), {})
        assert verifier.verify(claims_key(core, {"id": "a", "tid": "t"}), NOW).id == "a"
    for core in both:  # a refused call installs nothing: the previous snapshot stays
        verifier = core.Verifier([SECRET.encode()])
        verifier.set_revocations(frozenset({"a"}), {})
        for ids, tenants, fresh_until in ((frozenset(), {}, "soon"), (set(), {}, None)):
            with pytest.raises((TypeError, ValueError)):
                verifier.set_revocations(ids, tenants, fresh_until)
        assert code_of(verifier, claims_key(core, {"id": "a"}), now=NOW) == "REVOKED"


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--child":
    sys.exit(_child_main(sys.argv[2:]))
