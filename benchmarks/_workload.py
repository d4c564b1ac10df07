"""The one workload every benchmark measures, and the timed operations ("cases") built on it.

Every script and test in ``benchmarks/`` takes its inputs and its timed statements from here, so
the pytest-benchmark tables, ``compare.py``, ``scaling.py`` and ``leak_check.py`` all measure
the very same thing:

* the typical key: tenant ``acme-corp``, scopes ``read``/``write``, 90-day expiry, meta
  ``{"plan": "pro"}`` (a 130-byte JSON payload, a 226-character key);
* the same claims as a PyJWT HS256 token and as an itsdangerous ``URLSafeSerializer`` token;
* a forged key (the typical payload signed with a secret the verifier does not hold), a forged
  key of the longest length the default limit admits (2048 characters: the costliest input a
  client can send), garbage (an API key of another vendor), a 1 MB string shaped like a key;
* the same key signed with the last of three secrets (rotation).

A *contender* is one implementation of an operation: ``native`` and ``pure`` (apikee with
``implementation=...``), ``apikee-0.1.2`` (the earlier SDK, loaded by ``_peers``), ``pyjwt`` and
``itsdangerous``. A :class:`Case` is one (operation, contender) pair: a statement timed with
``timeit`` (or wrapped as a function for pytest-benchmark) plus a ``check`` proving that the
statement does what the operation's name says (a "reject" really rejects, with the right code).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import itertools
import json
import os
import platform
import random
import sys
import textwrap
import timeit
from dataclasses import dataclass, field
from datetime import timedelta
from statistics import median
from typing import Any, Callable

import _peers

# The secrets of tests/conftest.py (64 hex characters: no WeakSecretWarning), two more for
# rotation and one the verifier never holds, to forge signatures with.
SECRET = "4283fefc63f0cd0e873a0000c6d07ef7b77e90d3593ad699fc1f7cd5bb2e35cb"
OLD_SECRET = "f0f19c557067cbbe80c46d1fb6dfbdb0ae0755281220e087835b92558589eaff"
OLDEST_SECRET = "9b1d7c0e5a3f48e2b6c4d8a0f2e4c6b8a0d2f4e6c8b0a2d4f6e8c0b2a4d6f8e0"
FORGER_SECRET = "0c5e8a1f3b7d9e2c4a6f8b0d2e4c6a8f0b2d4e6c8a0f2b4d6e8c0a2f4b6d8e0c"

TENANT = "acme-corp"
SCOPES = ["read", "write"]
META = {"plan": "pro"}
EXPIRES_IN = timedelta(days=90)

CONTENDERS = ("native", "pure", "apikee-0.1.2", "pyjwt", "itsdangerous")
APIKEE_IMPLEMENTATIONS = ("native", "pure")
PEER_INSTALL = {
    "apikee-0.1.2": _peers.REFERENCE_INSTALL,
    "pyjwt": "pip install PyJWT itsdangerous",
    "itsdangerous": "pip install PyJWT itsdangerous",
}
CODEC_SIZES = (32, 129, 1024)
DISTINCT_KEYS = 4096
HUGE_LENGTH = 1 << 20  # the "1 MB string"
DEFAULT_MAX_KEY_LENGTH = 2048  # Apikee's default limit (apikee._wire.DEFAULT_MAX_KEY_LENGTH)


# ── operations ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Operation:
    """One row group of every table: what is timed, and by which contenders."""

    slug: str  # short id for pytest parametrization and JSON
    title: str  # the group / row name humans read
    contenders: tuple[str, ...]
    # Contenders deliberately not measured, with the reason shown instead of a number.
    not_measured: dict[str, str] = field(default_factory=dict)
    # Operations of one family are timed interleaved (compare.py), so that differences between
    # them (the cost of one more secret) are not differences between two moments of the machine.
    family: str = ""


_ALL = CONTENDERS
_OURS_AND_REF = ("native", "pure", "apikee-0.1.2")

OPERATIONS: tuple[Operation, ...] = (
    Operation("verify", "verify typical key", _ALL, family="verify"),
    Operation(
        "verify-2", "verify, 2 secrets (match last)", APIKEE_IMPLEMENTATIONS, family="verify"
    ),
    Operation("verify-3", "verify, 3 secrets (match last)", _OURS_AND_REF, family="verify"),
    Operation(
        "verify-core", "verify typical key, Verifier only", APIKEE_IMPLEMENTATIONS, family="verify"
    ),
    # The same key again and again is what a client sends (and what "verify" times); this row
    # is the cold case: each call a key not seen in the last DISTINCT_KEYS - 1 calls, so no
    # per-payload reuse of the native reader applies (docs/SPEC.md section 2 is unchanged).
    Operation(
        "verify-distinct",
        f"verify, {DISTINCT_KEYS} distinct keys in turn",
        _OURS_AND_REF,
        family="verify",
    ),
    Operation("reject-forged", "reject forged signature", _ALL),
    Operation("reject-garbage", "reject garbage", _ALL),
    Operation(
        "reject-1mb",
        "reject 1 MB string",
        ("native", "pure", "pyjwt", "itsdangerous"),
        not_measured={
            "apikee-0.1.2": "no length limit: it base62-decodes all 1 MB in quadratic time "
            "(minutes per call)"
        },
    ),
    # The worst a client can make verify do under the default limit: decode 2 KB, then one HMAC.
    Operation("reject-forged-max", "reject forged 2 KB key (max length)", _OURS_AND_REF),
    Operation("create", "create key", _ALL),
    *(Operation(f"b62encode-{n}", f"b62encode {n} B", _OURS_AND_REF) for n in CODEC_SIZES),
    *(Operation(f"b62decode-{n}", f"b62decode {n} B", _OURS_AND_REF) for n in CODEC_SIZES),
    Operation("claims-fields", "claims: id, tenant, scopes, environment", _OURS_AND_REF),
    Operation("claims-derived", "claims: meta['plan'], expires_at", _OURS_AND_REF),
    # Measured by bench_middleware.own_work (an event loop, not timeit): see compare.py.
    Operation(
        "asgi-rest",
        "ASGI middleware's own work per request (minus verify)",
        ("native",),
        family="asgi",
    ),
)
OPERATION_BY_SLUG = {op.slug: op for op in OPERATIONS}


# ── contenders ──────────────────────────────────────────────────────────────────────────────


class Unavailable(Exception):
    """A contender cannot run here; ``str()`` says why and how to fix it."""


@functools.cache
def contender_status(name: str) -> tuple[bool, str]:
    """``(available, detail)``: a version string, or why it is missing and how to install it."""
    if name in APIKEE_IMPLEMENTATIONS:
        import apikee
        from apikee._core import load_backend

        try:
            load_backend(name)
        except Exception as exc:  # ImportError normally; any failure means "cannot use it"
            return False, f"{type(exc).__name__}: {exc}"
        return True, f"apikee {apikee.__version__}"
    try:
        module = _load_peer(name)
    except Exception as exc:  # a broken install must be reported, not crash the table
        return False, f"failed to load ({type(exc).__name__}: {exc})"
    if module is None:
        return False, f"not installed (install it with: {PEER_INSTALL[name]})"
    label = {"apikee-0.1.2": "apikee", "pyjwt": "PyJWT", "itsdangerous": "itsdangerous"}[name]
    return True, f"{label} {_peer_version(name, module)}"


def _peer_version(name: str, module: Any) -> str:
    from importlib import metadata

    if name == "apikee-0.1.2":  # loaded from its own folder, not site-packages
        return getattr(module, "__version__", "?")
    try:
        return metadata.version({"pyjwt": "PyJWT", "itsdangerous": "itsdangerous"}[name])
    except metadata.PackageNotFoundError:
        return "?"


def _load_peer(name: str) -> Any:
    if name == "apikee-0.1.2":
        return _peers.load_reference()
    if name == "pyjwt":
        return _peers.load_pyjwt()
    if name == "itsdangerous":
        return _peers.load_itsdangerous()
    raise ValueError(f"unknown contender {name!r}")


def require(name: str) -> Any:
    """The contender's module (apikee backend or peer library), or :class:`Unavailable`."""
    available, detail = contender_status(name)
    if not available:
        raise Unavailable(f"{name}: not available ({detail})")
    if name in APIKEE_IMPLEMENTATIONS:
        from apikee._core import load_backend

        return load_backend(name)
    return _load_peer(name)


# ── the workload ────────────────────────────────────────────────────────────────────────────


def _apikee(secrets: list[str], implementation: str = "pure", **options: Any) -> Any:
    from apikee import Apikee

    return Apikee(secrets=secrets, implementation=implementation, **options)


def _signature_is_full(key: str) -> bool:
    """True when the signature has no leading zero byte (apikee 0.1.2 wrongly rejects those)."""
    from apikee import b62decode

    return len(b62decode(key.rpartition(".")[2])) == 32


def create_key(
    secret: str,
    *,
    tenant: str = TENANT,
    scopes: list[str] = SCOPES,
    meta: dict | None = None,
    **options: Any,
) -> str:
    """A typical key signed with ``secret`` that apikee 0.1.2 can verify too.

    Keys get a fresh id each time; about 1 in 256 has a signature starting with a zero byte,
    which 0.1.2 rejects (a bug), so such keys are drawn again: every contender then verifies
    the same key successfully. ``meta=None`` means the typical meta; ``{}`` means none.
    """
    issuer = _apikee([secret], **options)
    while True:
        key = issuer.create(
            tenant, scopes=scopes, expires_in=EXPIRES_IN, meta=META if meta is None else meta
        )
        if _signature_is_full(key):
            return key


def distinct_keys(count: int, secret: str = SECRET) -> list[str]:
    """``count`` typical keys (distinct ids, same claims otherwise), all valid for 0.1.2 too."""
    issuer = _apikee([secret])
    keys: list[str] = []
    while len(keys) < count:
        key = issuer.create(TENANT, scopes=SCOPES, expires_in=EXPIRES_IN, meta=META)
        if _signature_is_full(key):
            keys.append(key)
    return keys


def forge(key: str, secret: str = FORGER_SECRET) -> str:
    """The same payload with a well-formed signature made with a secret nobody holds."""
    from apikee import b62decode, b62encode

    payload_text = key[len("apikee_") :].partition(".")[0]
    payload = b62decode(payload_text)
    signature = hmac.new(secret.encode(), payload, hashlib.sha256).digest().lstrip(b"\x00")
    return f"apikee_{payload_text}.{b62encode(signature)}"


def payload_size(key: str) -> int:
    """Bytes of the (decoded) payload of a key."""
    from apikee import b62decode

    return len(b62decode(key[len("apikee_") :].partition(".")[0]))


SMALLEST_SCALING_PAYLOAD = 100


def key_with_payload_size(size: int, secret: str = SECRET, max_key_length: int = 16384) -> str:
    """A valid key whose JSON payload is exactly ``size`` bytes (>= 100), for the scaling runs.

    The smallest is the typical claims with one scope and no meta (100 bytes); larger ones pad
    ``meta`` (or the tenant, below the size of an empty padded meta). Padding is lowercase
    letters: one JSON byte per character, and stable across runs.
    """
    make = functools.partial(create_key, secret, scopes=["read"], max_key_length=max_key_length)
    base = payload_size(make(meta={}))
    with_meta = payload_size(make(meta={"pad": ""}))
    if size < base:
        raise ValueError(f"the smallest payload of the scaling workload is {base} bytes")
    letters = random.Random(size).choices("abcdefghijklmnopqrstuvwxyz", k=size)
    if size >= with_meta:
        key = make(meta={"pad": "".join(letters[: size - with_meta])})
    else:
        key = make(meta={}, tenant=TENANT + "".join(letters[: size - base]))
    if payload_size(key) != size:  # the id or expiry changed width: cannot happen before 2286
        raise AssertionError(f"built a {payload_size(key)}-byte payload instead of {size}")
    return key


def longest_key(max_key_length: int = DEFAULT_MAX_KEY_LENGTH) -> str:
    """The valid key with the largest payload whose length is still <= ``max_key_length``."""
    import math

    # key = "apikee_" + payload digits + "." + 43 signature digits; ~log62(256) digits a byte
    size = math.floor((max_key_length - 51) * math.log(62) / math.log(256)) + 1
    while True:
        key = key_with_payload_size(size, max_key_length=2 * max_key_length)
        if len(key) <= max_key_length:
            return key
        size -= 1


def _codec_data(size: int) -> bytes:
    """Deterministic bytes that do not start with a zero byte (same wire form in every codec)."""
    data = bytearray(random.Random(size).randbytes(size))
    data[0] |= 0x80
    return bytes(data)


@dataclass(frozen=True)
class Workload:
    """Every input of the benchmarks, built once per process."""

    key: str  # the typical key, signed with SECRET
    key_rotated: str  # the same claims signed with OLDEST_SECRET (last of three)
    distinct: list[str]  # DISTINCT_KEYS typical keys of distinct ids (and one tenant)
    forged: str
    forged_max: str  # a forged key of the longest length the default limit lets through
    garbage: str
    huge: str
    claims: dict  # the wire claims of ``key``, for the peers
    jwt_token: str | None
    jwt_forged: str | None
    itsdangerous_token: str | None
    itsdangerous_forged: str | None
    codec_data: dict[int, bytes]
    codec_text: dict[int, str]


@functools.cache
def workload() -> Workload:
    """The shared inputs (keys are made with the pure implementation: same bytes either way)."""
    from apikee import b62encode, decode_unverified

    key = create_key(SECRET)
    claims = decode_unverified(key).to_dict()
    # Garbage as a server really sees it: an API key of another kind pasted in the header.
    garbage = "sk_live_" + "".join(
        random.Random(7).choices(
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", k=99
        )
    )
    signature = key.rpartition(".")[2]
    huge = "apikee_" + "A" * (HUGE_LENGTH - len("apikee_") - 1 - len(signature)) + "." + signature
    jwt = _peers.load_pyjwt()
    itsdangerous = _peers.load_itsdangerous()
    return Workload(
        key=key,
        key_rotated=create_key(OLDEST_SECRET),
        distinct=distinct_keys(DISTINCT_KEYS),
        forged=forge(key),
        forged_max=forge(longest_key()),
        garbage=garbage,
        huge=huge,
        claims=claims,
        jwt_token=jwt.encode(claims, SECRET, algorithm="HS256") if jwt else None,
        jwt_forged=jwt.encode(claims, FORGER_SECRET, algorithm="HS256") if jwt else None,
        itsdangerous_token=(
            itsdangerous.URLSafeSerializer(SECRET).dumps(claims) if itsdangerous else None
        ),
        itsdangerous_forged=(
            itsdangerous.URLSafeSerializer(FORGER_SECRET).dumps(claims) if itsdangerous else None
        ),
        codec_data={n: _codec_data(n) for n in CODEC_SIZES},
        codec_text={n: b62encode(_codec_data(n)) for n in CODEC_SIZES},
    )


# ── cases ───────────────────────────────────────────────────────────────────────────────────


@dataclass
class Case:
    """One timed statement: ``stmt`` runs in ``namespace``; ``check()`` proves what it does."""

    operation: Operation
    contender: str
    stmt: str
    namespace: dict[str, Any]
    check: Callable[[], None]

    def timer(self) -> timeit.Timer:
        """A ``timeit.Timer`` running the statement (no wrapper call inside the timed loop)."""
        return timeit.Timer(self.stmt, globals=self.namespace)

    def function(self) -> Callable[[], Any]:
        """The statement as a no-argument function (what pytest-benchmark calls)."""
        namespace = dict(self.namespace)
        exec("def _case():\n" + textwrap.indent(self.stmt, "    "), namespace)
        return namespace["_case"]


def _expect_raises(call: Callable[[], Any], exc_type: type, code: str | None = None) -> None:
    try:
        call()
    except exc_type as exc:
        if code is not None and getattr(exc, "code", None) != code:
            raise AssertionError(f"expected error code {code}, got {exc.code}") from None
        return
    raise AssertionError(f"expected {exc_type.__name__}, nothing was raised")


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


_REJECT_STMT = "try:\n    {call}\nexcept Rejected:\n    pass"


def make_case(operation: Operation | str, contender: str) -> Case:
    """The case for one (operation, contender) pair.

    Raises :class:`Unavailable` when the contender cannot run here, and ``KeyError`` when it
    does not take part in the operation (see ``Operation.contenders``).
    """
    op = OPERATION_BY_SLUG[operation] if isinstance(operation, str) else operation
    if contender not in op.contenders:
        raise KeyError(f"{contender} does not take part in {op.title!r}")
    module = require(contender)
    if contender in APIKEE_IMPLEMENTATIONS:
        return _apikee_case(op, contender, module)
    if contender == "apikee-0.1.2":
        return _reference_case(op, module)
    if contender == "pyjwt":
        return _pyjwt_case(op, module)
    return _itsdangerous_case(op, module)


def _apikee_case(op: Operation, impl: str, backend: Any) -> Case:
    from apikee import ApikeeError, ErrorCode

    w = workload()
    one = _apikee([SECRET], impl)
    ns: dict[str, Any] = {"Rejected": ApikeeError, "verify": one.verify}

    def verifies(verify: Callable[[str], Any], key: str) -> Callable[[], None]:
        def check() -> None:
            claims = verify(key)
            _expect(claims.tenant == TENANT and list(claims.scopes) == SCOPES, "wrong claims")

        return check

    def rejects(key: str, code: str) -> Callable[[], None]:
        return lambda: _expect_raises(lambda: one.verify(key), ApikeeError, code)

    slug = op.slug
    if slug == "verify":
        ns["key"] = w.key
        return Case(op, impl, "verify(key)", ns, verifies(one.verify, w.key))
    if slug in ("verify-2", "verify-3"):
        secrets = (
            [SECRET, OLD_SECRET, OLDEST_SECRET] if slug == "verify-3" else [SECRET, OLDEST_SECRET]
        )
        rotating = _apikee(secrets, impl)
        ns.update(verify=rotating.verify, key=w.key_rotated)
        return Case(op, impl, "verify(key)", ns, verifies(rotating.verify, w.key_rotated))
    if slug == "verify-distinct":
        ns.update(next_key=itertools.cycle(w.distinct).__next__)
        return Case(op, impl, "verify(next_key())", ns, verifies(one.verify, w.distinct[1]))
    if slug == "verify-core":
        verifier = backend.Verifier([SECRET.encode()], 8192, 0)
        ns.update(verify=verifier.verify, key=w.key)
        return Case(op, impl, "verify(key)", ns, verifies(verifier.verify, w.key))
    if slug.startswith("reject-"):
        key, code = {
            "reject-forged": (w.forged, ErrorCode.INVALID_SIGNATURE),
            "reject-garbage": (w.garbage, ErrorCode.INVALID_PREFIX),
            "reject-1mb": (w.huge, ErrorCode.INVALID_FORMAT),
            "reject-forged-max": (w.forged_max, ErrorCode.INVALID_SIGNATURE),
        }[slug]
        ns["key"] = key
        return Case(op, impl, _REJECT_STMT.format(call="verify(key)"), ns, rejects(key, code))
    if slug == "create":
        ns.update(create=one.create, tenant=TENANT, scopes=SCOPES, expiry=EXPIRES_IN, meta=META)

        def check_create() -> None:
            verifies(
                one.verify, one.create(TENANT, scopes=SCOPES, expires_in=EXPIRES_IN, meta=META)
            )()

        return Case(
            op,
            impl,
            "create(tenant, scopes=scopes, expires_in=expiry, meta=meta)",
            ns,
            check_create,
        )
    if slug.startswith("b62"):
        return _codec_case(op, impl, backend.b62encode, backend.b62decode)
    claims = one.verify(w.key)
    return _claims_case(op, impl, claims)


def _codec_case(op: Operation, contender: str, encode: Callable, decode: Callable) -> Case:
    w = workload()
    name, size = op.slug.split("-")
    size = int(size)
    data, text = w.codec_data[size], w.codec_text[size]

    def check() -> None:
        _expect(encode(data) == text, "b62encode gives a different text")
        _expect(decode(text) == data, "b62decode does not give the original bytes back")

    if name == "b62encode":
        return Case(op, contender, "encode(data)", {"encode": encode, "data": data}, check)
    return Case(op, contender, "decode(text)", {"decode": decode, "text": text}, check)


def _claims_case(op: Operation, contender: str, claims: Any) -> Case:
    def check() -> None:
        _expect(claims.tenant == TENANT and list(claims.scopes) == SCOPES, "wrong claims")
        _expect(claims.meta["plan"] == "pro" and claims.expires_at is not None, "wrong claims")

    if op.slug == "claims-fields":
        stmt = "c.id; c.tenant; c.scopes; c.environment"
    else:
        stmt = "c.meta['plan']; c.expires_at"
    return Case(op, contender, stmt, {"c": claims}, check)


def _reference_case(op: Operation, ref: Any) -> Case:
    from apikee_ref import key as ref_key
    from apikee_ref.core import ApikeeError as RefError  # registered by _peers.load_reference

    w = workload()
    one = ref.Apikee(secrets=[SECRET])
    ns: dict[str, Any] = {"Rejected": RefError, "verify": one.verify}

    def verifies(verify: Callable[[str], Any], key: str) -> Callable[[], None]:
        return lambda: _expect(verify(key).tenant == TENANT, "apikee 0.1.2 gave wrong claims")

    slug = op.slug
    if slug == "verify":
        ns["key"] = w.key
        return Case(op, "apikee-0.1.2", "verify(key)", ns, verifies(one.verify, w.key))
    if slug == "verify-distinct":
        ns.update(next_key=itertools.cycle(w.distinct).__next__)
        return Case(
            op, "apikee-0.1.2", "verify(next_key())", ns, verifies(one.verify, w.distinct[1])
        )
    if slug == "verify-3":
        rotating = ref.Apikee(secrets=[SECRET, OLD_SECRET, OLDEST_SECRET])
        ns.update(verify=rotating.verify, key=w.key_rotated)
        return Case(op, "apikee-0.1.2", "verify(key)", ns, verifies(rotating.verify, w.key_rotated))
    if slug.startswith("reject-"):
        key, code = {
            "reject-forged": (w.forged, "INVALID_SIGNATURE"),
            "reject-garbage": (w.garbage, "INVALID_PREFIX"),
            "reject-forged-max": (w.forged_max, "INVALID_SIGNATURE"),
        }[slug]
        ns["key"] = key
        return Case(
            op,
            "apikee-0.1.2",
            _REJECT_STMT.format(call="verify(key)"),
            ns,
            lambda: _expect_raises(lambda: one.verify(key), RefError, code),
        )
    if slug == "create":
        ns.update(create=one.create, tenant=TENANT, scopes=SCOPES, expiry=EXPIRES_IN, meta=META)

        def check_create() -> None:
            key = one.create(TENANT, scopes=SCOPES, expires_in=EXPIRES_IN, meta=META)
            if _signature_is_full(key):  # 0.1.2 rejects its own key 1 time in 256
                verifies(one.verify, key)()

        return Case(
            op,
            "apikee-0.1.2",
            "create(tenant, scopes=scopes, expires_in=expiry, meta=meta)",
            ns,
            check_create,
        )
    if slug.startswith("b62"):
        return _codec_case(op, "apikee-0.1.2", ref_key._b62_encode, ref_key._b62_decode)
    return _claims_case(op, "apikee-0.1.2", one.verify(w.key))


def _pyjwt_case(op: Operation, jwt: Any) -> Case:
    w = workload()
    ns: dict[str, Any] = {"Rejected": jwt.InvalidTokenError, "decode": jwt.decode, "secret": SECRET}
    # Exactly what a user writes: the algorithm list is a literal in the call.
    call = 'decode(token, secret, algorithms=["HS256"])'
    slug = op.slug
    if slug == "verify":
        ns["token"] = w.jwt_token

        def check() -> None:
            _expect(jwt.decode(w.jwt_token, SECRET, algorithms=["HS256"])["tid"] == TENANT, "PyJWT")

        return Case(op, "pyjwt", call, ns, check)
    if slug.startswith("reject-"):
        token = {"reject-forged": w.jwt_forged, "reject-garbage": w.garbage, "reject-1mb": w.huge}[
            slug
        ]
        ns["token"] = token
        return Case(
            op,
            "pyjwt",
            _REJECT_STMT.format(call=call),
            ns,
            lambda: _expect_raises(
                lambda: jwt.decode(token, SECRET, algorithms=["HS256"]), jwt.InvalidTokenError
            ),
        )
    # create: PyJWT has no ids or expiry arithmetic; it encodes the same claims.
    ns.update(encode=jwt.encode, claims=w.claims)

    def check_encode() -> None:
        token = jwt.encode(w.claims, SECRET, algorithm="HS256")
        _expect(jwt.decode(token, SECRET, algorithms=["HS256"])["tid"] == TENANT, "PyJWT")

    return Case(op, "pyjwt", 'encode(claims, secret, algorithm="HS256")', ns, check_encode)


def _itsdangerous_case(op: Operation, itsdangerous: Any) -> Case:
    w = workload()
    serializer = itsdangerous.URLSafeSerializer(SECRET)
    ns: dict[str, Any] = {"Rejected": itsdangerous.BadData, "loads": serializer.loads}
    slug = op.slug
    if slug == "verify":
        ns["token"] = w.itsdangerous_token
        return Case(
            op,
            "itsdangerous",
            "loads(token)",
            ns,
            lambda: _expect(
                serializer.loads(w.itsdangerous_token)["tid"] == TENANT, "itsdangerous"
            ),
        )
    if slug.startswith("reject-"):
        token = {
            "reject-forged": w.itsdangerous_forged,
            "reject-garbage": w.garbage,
            "reject-1mb": w.huge,
        }[slug]
        ns["token"] = token
        return Case(
            op,
            "itsdangerous",
            _REJECT_STMT.format(call="loads(token)"),
            ns,
            lambda: _expect_raises(lambda: serializer.loads(token), itsdangerous.BadData),
        )
    ns.update(dumps=serializer.dumps, claims=w.claims)
    return Case(
        op,
        "itsdangerous",
        "dumps(claims)",
        ns,
        lambda: _expect(
            serializer.loads(serializer.dumps(w.claims))["tid"] == TENANT, "itsdangerous"
        ),
    )


# ── measuring ───────────────────────────────────────────────────────────────────────────────


def calibrate(timer: timeit.Timer, min_time: float) -> int:
    """Loop count whose run takes at least ``min_time`` seconds (timeit's 1-2-5 autorange)."""
    number = 1
    while True:
        for factor in (1, 2, 5):
            count = number * factor
            if timer.timeit(count) >= min_time:
                return count
        number *= 10


def measure(timer: timeit.Timer, repeat: int, min_time: float) -> dict[str, Any]:
    """Median seconds per call over ``repeat`` runs of an autoranged loop count.

    The median of several repeats (not the mean, not the minimum) keeps ratios stable on a
    shared, noisy machine: one disturbed repeat moves neither the median nor the ratio.
    """
    number = calibrate(timer, min_time)
    runs = [timer.timeit(number) / number for _ in range(repeat)]
    return {"seconds": median(runs), "runs": runs, "number": number}


# ── machine description ─────────────────────────────────────────────────────────────────────


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_info() -> dict[str, Any]:
    """What a results table must say about where it was measured."""
    import apikee
    from apikee import _core

    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_build": " ".join(platform.python_build()),
        "apikee": apikee.__version__,
        "implementation": _core.IMPLEMENTATION,
        "implementation_reason": _core.REASON,
        "argv": " ".join([os.path.basename(sys.executable)] + sys.argv),
    }


def machine_lines(info: dict[str, Any]) -> list[str]:
    """The machine description as the lines every script prints at the top."""
    return [
        f"machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), "
        f"{info['os']}",
        f"python:  {info['python']} ({info['python_build']})",
        f"apikee:  {info['apikee']}, default implementation {info['implementation']} "
        f"({info['implementation_reason']})",
    ]


def to_json(data: Any) -> str:
    """Stable, readable JSON for result files."""
    return json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
