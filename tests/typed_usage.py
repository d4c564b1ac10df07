"""The whole public API used with precise types: ``.ci/run`` checks this file with
``mypy --strict`` (the ``reveal``-free assertions below are what a typed user relies on).

It also runs (``tests/test_typed_usage.py`` imports it), so every line is real usage.
"""

from __future__ import annotations

import json
import pickle
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from fastapi import Depends, FastAPI
from flask import Flask

import apikee as package
from apikee import (
    IMPLEMENTATION,
    Apikee,
    ApikeeClaims,
    ApikeeConfigError,
    ApikeeError,
    ErrorCode,
    KeyOptions,
    Verifier,
    WeakSecretWarning,
    b62decode,
    b62encode,
    constant_time_compare,
    decode_unverified,
    generate_secret,
    hash_key,
)
from apikee.asgi import ApikeeMiddleware
from apikee.fastapi import (
    ApikeeDepends,
    Claims,
    SecuredFastAPI,
    add_error_handler,
    add_security_scheme,
    require_scope,
)
from apikee.fastapi import get_claims as fastapi_claims
from apikee.flask import apikee_required, get_claims, init_apikee
from apikee.flask import require_scope as flask_scope
from apikee.wsgi import ApikeeWSGIMiddleware

SECRET = "4283fefc63f0cd0e873a0000c6d07ef7b77e90d3593ad699fc1f7cd5bb2e35cb"


def claims_api() -> ApikeeClaims:
    implementation: Literal["native", "pure"] = IMPLEMENTATION
    assert implementation in ("native", "pure") and package.__version__
    issuer = Apikee(secrets=[SECRET, ""], leeway=5, max_key_length=4096)
    key: str = issuer.create(
        "acme",
        scopes=["read"],
        expires_in=timedelta(days=1),
        meta={"l": [1, {"k": "v"}]},
        not_before=datetime.now(timezone.utc) - timedelta(seconds=1),
        environment="production",
    )
    key2: str = issuer.create(KeyOptions(tenant="acme", scopes=["read"], expires_in="1h"))
    claims: ApikeeClaims = issuer.verify(key, scopes=["read"])
    tenant: str = claims.tenant
    scopes: list[str] = claims.scopes
    meta: dict[str, Any] = claims.meta
    key_id: str = claims.id
    environment: str = claims.environment
    exp: float | None = claims.exp
    expires: datetime | None = claims.expires_at
    starts: datetime | None = claims.not_before
    verified: bool = claims.verified
    view: dict[str, Any] = claims.to_json_dict()
    wire: dict[str, Any] = claims.to_dict()
    granted: bool = claims.has_scopes("read", any_of=True)
    assert tenant and scopes and meta and key_id and environment and exp and expires and view
    assert wire and granted and verified and starts is not None
    assert json.dumps(meta) and pickle.loads(pickle.dumps(claims)) == claims
    unverified: ApikeeClaims = decode_unverified(key2)
    assert not unverified.verified
    assert issuer.protect(key).tenant == "acme"
    Apikee.check_scopes(claims, ["read"])
    built = ApikeeClaims(tenant="acme", scopes=["read"], meta={"plan": "pro"})
    assert isinstance(built, ApikeeClaims)
    return claims


def errors_api() -> None:
    try:
        Apikee(secret=SECRET).verify("apikee_bad.key")
    except ApikeeError as exc:
        code: str = exc.code
        message: str = exc.message
        status: int = exc.http_status
        body: dict[str, str] = exc.to_dict()
        assert code == ErrorCode.INVALID_SIGNATURE and message and status == 401 and body
    try:
        Apikee(secrets=[])
    except ApikeeConfigError as exc:
        assert "openssl rand -hex 32" in str(exc)
    assert issubclass(WeakSecretWarning, UserWarning)


def codec_api() -> None:
    encoded: str = b62encode(b"\x01\x02")
    decoded: bytes = b62decode(encoded)
    same: bool = constant_time_compare(decoded, b"\x01\x02")
    fingerprint: str = hash_key("apikee_x.y")
    secret: str = generate_secret()
    verifier = Verifier([SECRET.encode()], 8192, 0)
    mac: bytes = verifier.sign(b"{}")
    assert same and len(fingerprint) == 64 and len(secret) == 64 and len(mac) == 32


def fastapi_api() -> FastAPI:
    app = SecuredFastAPI(apikee=Apikee(secret=SECRET), exclude_paths=["/health"])

    @app.get("/a")
    async def a(claims: Claims) -> ApikeeClaims:
        return claims

    @app.get("/b")
    async def b(claims: ApikeeClaims = ApikeeDepends("read")) -> dict[str, str]:
        return {"tenant": claims.tenant}

    @app.get("/c", dependencies=[Depends(require_scope("read"))])
    async def c() -> dict[str, bool]:
        return {"ok": True}

    plain = FastAPI()
    plain.add_middleware(ApikeeMiddleware, apikee=Apikee(secret=SECRET), exclude_paths=["/x"])
    add_error_handler(plain)
    add_security_scheme(plain, "x-api-key", open_paths=["/x"])
    assert callable(fastapi_claims)
    return app


def flask_api() -> Flask:
    app = Flask(__name__)
    bound: Apikee = init_apikee(app, apikee=Apikee(secret=SECRET), protect_all=False)
    assert bound.header_name == "x-api-key"

    @app.get("/a")
    @apikee_required
    def a() -> dict[str, Any]:
        return get_claims().to_json_dict()

    @app.get("/b")
    @flask_scope("read")
    def b() -> dict[str, Any]:
        return get_claims().meta

    app.wsgi_app = ApikeeWSGIMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, apikee=Apikee(secret=SECRET), exclude_paths=["/a", "/b"]
    )
    return app


def stateful_api(directory: str) -> None:
    """Revocation, rate limits and usage, typed (a real SQLite store in ``directory``)."""
    from apikee import RateLimit, RateLimitExceeded, Revocation, StoreUnavailable, Usage

    store = f"sqlite:///{directory}/apikee.db"
    apikee = Apikee(secret=SECRET, store=store, usage=True, rate_limit=RateLimit(2, "1m"))
    try:
        key: str = apikee.create("acme", rate_limit="3/m", allow_ips=["127.0.0.1"])
        claims: ApikeeClaims = apikee.verify(key)
        apikee.check_ip(claims, "127.0.0.1")
        decision = apikee.check_rate_limit(claims)
        assert decision is not None and decision.allowed
        try:
            for _ in range(5):
                apikee.enforce(claims, client_ip="127.0.0.1")
        except RateLimitExceeded as exc:
            assert exc.code == ErrorCode.RATE_LIMITED and exc.http_status == 429
        record: Revocation = apikee.revoke(key, reason="typed")
        kind: str = record.kind
        entries: list[Revocation] = apikee.revocations()
        status: dict[str, Any] | None = apikee.store_status()
        assert kind == "id" and entries and status is not None and apikee.store_kind == "sqlite"
        assert apikee.unrevoke(key) and apikee.revoke_tenant("globex").kind == "tenant"
        usage: Usage | None = apikee.usage
        assert usage is not None and isinstance(usage.snapshot(), dict)
        assert issubclass(StoreUnavailable, Exception)
    finally:
        apikee.close()
