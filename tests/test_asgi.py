"""ApikeeMiddleware through Starlette's TestClient and as a bare ASGI callable, on both
implementations.

``support.request_cases`` (the headers of every kind of request and the answer it must get) is
shared with the FastAPI, Flask, WSGI and real-server tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import warnings

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

with warnings.catch_warnings():  # newer Starlette prefers httpx2 for its client; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient, WebSocketDenialResponse

from support import OTHER_SECRET, SECRET, check_answer, request_cases

from apikee import Apikee, ApikeeConfigError, ApikeeError
from apikee import _apikee as apikee_module
from apikee.asgi import (
    ApikeeMiddleware,
    PathRules,
    bearer_token,
    error_body,
    route_path,
    www_authenticate,
)


async def echo(request: Request) -> JSONResponse:
    claims = request.state.apikee
    assert request.scope["apikee"] is claims
    return JSONResponse({"tenant": claims.tenant, "scopes": list(claims.scopes)})


async def public(request: Request) -> PlainTextResponse:
    return PlainTextResponse("open")


def starlette_app(apikee: Apikee, **options) -> Starlette:
    routes = [
        Route("/data", echo),
        Route("/health", public),
        Route("/static/{path:path}", public),
        Route("/static-admin", echo),
    ]
    return Starlette(
        routes=routes, middleware=[Middleware(ApikeeMiddleware, apikee=apikee, **options)]
    )


@pytest.fixture
def cases(apikee):
    return request_cases(apikee)


def test_every_case_through_starlette(apikee, cases) -> None:
    client = TestClient(starlette_app(apikee))
    for name, headers, status, code in cases:
        response = client.get("/data", headers=headers)
        check_answer(response.status_code, response.headers, response.content, status, code)
        if code is None:
            assert response.json()["tenant"] == "acme", name
        else:
            assert response.json()["error"] == code, name


def test_messages_never_echo_the_key(apikee, cases) -> None:
    client = TestClient(starlette_app(apikee))
    for name, headers, _, code in cases:
        if code is None or not headers:
            continue
        response = client.get("/data", headers=headers)
        for value in headers.values():
            if len(value) > 20:
                assert value.split()[-1][8:40] not in response.text, name


def test_www_authenticate(apikee) -> None:
    client = TestClient(starlette_app(apikee))
    missing = client.get("/data")
    assert missing.headers.get_list("www-authenticate") == [
        'ApiKey realm="apikee", header="x-api-key"',
        'Bearer realm="apikee"',
    ]
    assert missing.headers["cache-control"] == "no-store"
    forged = client.get("/data", headers={"x-api-key": Apikee(secret=OTHER_SECRET).create("x")})
    assert forged.headers.get_list("www-authenticate")[0] == (
        'ApiKey realm="apikee", header="x-api-key", error="INVALID_SIGNATURE"'
    )
    no_bearer = TestClient(starlette_app(apikee, bearer=False)).get("/data")
    assert no_bearer.headers.get_list("www-authenticate") == [
        'ApiKey realm="apikee", header="x-api-key"'
    ]
    assert "Bearer" not in no_bearer.json()["message"]


def test_bearer_can_be_disabled(apikee) -> None:
    client = TestClient(starlette_app(apikee, bearer=False))
    response = client.get("/data", headers={"authorization": f"Bearer {apikee.create('acme')}"})
    assert response.status_code == 401
    assert response.json()["error"] == "MISSING_KEY"


def test_custom_header_name(make_apikee) -> None:
    apikee = make_apikee(secret=SECRET, header_name="X-Tenant-Key")
    client = TestClient(starlette_app(apikee))
    key = apikee.create("acme")
    assert client.get("/data", headers={"X-Tenant-Key": key}).status_code == 200
    assert client.get("/data", headers={"x-api-key": key}).json()["error"] == "MISSING_KEY"
    other = TestClient(starlette_app(apikee, header_name="Authorization-Key"))
    assert other.get("/data", headers={"authorization-key": key}).status_code == 200


def test_excluded_paths_and_prefixes(apikee) -> None:
    app = starlette_app(apikee, exclude_paths=["/health"], exclude_prefixes=["/static"])
    client = TestClient(app)
    assert client.get("/health").text == "open"
    assert client.get("/static/app.js").text == "open"
    assert client.get("/static/").text == "open"
    assert client.get("/static").status_code == 401
    # exact means exact, and prefixes are whole path segments
    assert client.get("/health/").status_code == 401
    assert client.get("/static-admin").status_code == 401
    assert client.get("/data").status_code == 401


def test_exclusions_are_relative_to_the_mount_point(apikee) -> None:
    inner = starlette_app(apikee, exclude_paths=["/health"])
    client = TestClient(Starlette(routes=[Mount("/api", app=inner)]))
    assert client.get("/api/health").text == "open"
    assert client.get("/api/data").status_code == 401
    token = apikee.create("acme")
    assert client.get("/api/data", headers={"x-api-key": token}).json()["tenant"] == "acme"
    # behind a proxy: uvicorn --root-path /v1 puts "/v1/health" in path and "/v1" in root_path
    assert route_path({"path": "/v1/health", "root_path": "/v1"}) == "/health"
    assert route_path({"path": "/v1", "root_path": "/v1"}) == "/"
    assert route_path({"path": "/v10/health", "root_path": "/v1"}) == "/v10/health"
    assert route_path({"path": "/health", "root_path": "/v1"}) == "/health"
    assert route_path({"path": "/health"}) == "/health"


def test_path_rules() -> None:
    rules = PathRules(["/health"], ["/static", "/public/"])
    assert rules.is_open("/health")
    assert not rules.is_open("/healthz")
    assert rules.is_open("/static/a/b.css")
    assert not rules.is_open("/static")  # a prefix opens what is below it, not itself
    assert not rules.is_open("/static-admin") and not rules.is_open("/staticx/a")
    assert rules.is_open("/public/x") and not rules.is_open("/public")
    # a dot segment never rides on an open prefix
    assert not rules.is_open("/static/../admin")
    assert not rules.is_open("/static/./x")
    assert rules.is_open("/static/..well-named")
    assert not PathRules()


@pytest.mark.parametrize(
    "options",
    [
        {"exclude_paths": "/health"},
        {"exclude_prefixes": "/static"},
        {"exclude_paths": ["health"]},
        {"exclude_paths": [None]},
        {"header_name": ""},
        {"header_name": "x api key"},
        {"header_name": "x-api-key:"},
        {"header_name": "clé"},
        {"header_name": 42},
        {"scopes": [""]},
        {"apikee": "not an Apikee"},
    ],
)
def test_bad_options_fail_at_construction(apikee, options) -> None:
    options.setdefault("apikee", apikee)
    with pytest.raises(ApikeeConfigError):
        ApikeeMiddleware(public, **options)


def test_default_apikee_comes_from_the_environment(monkeypatch, impl) -> None:
    monkeypatch.setattr(apikee_module, "_instance", None)
    monkeypatch.setenv("APIKEE_SECRET", SECRET)
    app = Starlette(routes=[Route("/data", echo)], middleware=[Middleware(ApikeeMiddleware)])
    key = Apikee(secret=SECRET, implementation=impl).create("env-tenant")
    assert TestClient(app).get("/data", headers={"x-api-key": key}).json()["tenant"] == "env-tenant"


def test_no_secret_anywhere_fails_at_startup(monkeypatch) -> None:
    monkeypatch.setattr(apikee_module, "_instance", None)
    with pytest.raises(ApikeeConfigError, match="openssl rand -hex 32"):
        ApikeeMiddleware(public)


def test_apikee_middleware_property_on_starlette(apikee) -> None:
    app = Starlette(routes=[Route("/data", echo)])
    app.add_middleware(apikee.middleware)
    client = TestClient(app)
    assert (
        client.get("/data", headers={"x-api-key": apikee.create("acme")}).json()["tenant"] == "acme"
    )
    assert client.get("/data").status_code == 401
    options = Starlette(routes=[Route("/data", echo), Route("/health", public)])
    options.add_middleware(apikee.middleware, exclude_paths=["/health"])
    assert TestClient(options).get("/health").text == "open"


def test_middleware_scopes_all_of_any_of_and_wildcards(apikee) -> None:
    all_of = TestClient(starlette_app(apikee, scopes=["orders:read", "read"]))
    any_of = TestClient(starlette_app(apikee, scopes=["admin", "orders:write"], any_of=True))
    needs_admin = TestClient(starlette_app(apikee, scopes=["admin"]))

    def status(client, scopes):
        return client.get("/data", headers={"x-api-key": apikee.create("t", scopes=scopes)})

    assert status(all_of, ["read", "orders:*"]).status_code == 200
    lacking = status(all_of, ["read"])
    assert lacking.status_code == 403
    assert lacking.json() == {
        "error": "INSUFFICIENT_SCOPE",
        "message": "the key lacks the required scope(s): orders:read",
    }
    assert status(all_of, ["*"]).status_code == 200
    assert status(all_of, ["orders:read"]).status_code == 403
    assert status(any_of, ["orders:*"]).status_code == 200
    assert status(any_of, ["admin"]).status_code == 200
    assert status(any_of, ["orders"]).status_code == 403  # "orders" is not "orders:write"
    assert status(needs_admin, ["adm*"]).status_code == 403  # only "*" and "res:*" are patterns
    assert status(needs_admin, ["*"]).status_code == 200
    # an invalid key is still a 401, not a 403
    assert needs_admin.get("/data").status_code == 401


def test_apikee_error_raised_by_the_app_becomes_its_answer(apikee) -> None:
    async def strict(request: Request) -> JSONResponse:
        Apikee.check_scopes(request.state.apikee, ["billing"])
        return JSONResponse({})

    app = Starlette(routes=[Route("/billing", strict)])
    app.add_middleware(apikee.middleware)
    response = TestClient(app).get("/billing", headers={"x-api-key": apikee.create("acme")})
    assert response.status_code == 403
    assert response.json()["error"] == "INSUFFICIENT_SCOPE"


def test_apikee_error_after_the_response_started_is_not_swallowed(apikee) -> None:
    async def late(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ApikeeError("REVOKED", "too late")

    middleware = ApikeeMiddleware(late, apikee=apikee)
    sent: list[dict] = []

    async def send(message) -> None:
        if sent and message["type"] == "http.response.start":
            raise RuntimeError("response already started")
        sent.append(message)

    scope = http_scope([(b"x-api-key", apikee.create("acme").encode())])
    with pytest.raises(ApikeeError):
        asyncio.run(middleware(scope, receive_nothing, send))
    assert [m["type"] for m in sent] == ["http.response.start"]


def test_streaming_response_passes_through(apikee) -> None:
    async def stream(request: Request) -> StreamingResponse:
        async def chunks():
            for i in range(3):
                yield f"chunk{i};".encode()

        return StreamingResponse(chunks())

    app = Starlette(routes=[Route("/stream", stream)])
    app.add_middleware(apikee.middleware)
    response = TestClient(app).get("/stream", headers={"x-api-key": apikee.create("acme")})
    assert response.text == "chunk0;chunk1;chunk2;"


def test_lifespan_passes_through(apikee) -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app):
        events.append("startup")
        yield {"db": "connected"}
        events.append("shutdown")

    async def uses_state(request: Request) -> JSONResponse:
        return JSONResponse({"db": request.state.db, "tenant": request.state.apikee.tenant})

    app = Starlette(
        routes=[Route("/data", uses_state)],
        middleware=[Middleware(ApikeeMiddleware, apikee=apikee)],
        lifespan=lifespan,
    )
    with TestClient(app) as client:
        assert events == ["startup"]
        response = client.get("/data", headers={"x-api-key": apikee.create("acme")})
        assert response.json() == {"db": "connected", "tenant": "acme"}
    assert events == ["startup", "shutdown"]


# ── bare ASGI ──────────────────────────────────────────────────────────────────────────────


def http_scope(headers, path: str = "/data", **extra) -> dict:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }
    scope.update(extra)
    return scope


async def receive_nothing() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


def call(middleware, scope) -> tuple[list[dict], list[dict]]:
    """Run one request; return (messages sent, scopes the inner app saw)."""
    sent: list[dict] = []

    async def send(message) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive_nothing, send))
    return sent


def test_bare_asgi_creates_state_and_stores_claims(apikee) -> None:
    seen: list[dict] = []

    async def inner(scope, receive, send) -> None:
        seen.append(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = ApikeeMiddleware(inner, apikee=apikee)
    scope = http_scope([(b"x-api-key", apikee.create("acme", scopes=["read"]).encode())])
    sent = call(middleware, scope)
    assert sent[0]["status"] == 204
    assert seen[0]["state"]["apikee"].tenant == "acme"
    assert seen[0]["apikee"] is seen[0]["state"]["apikee"]
    # an existing state dict (lifespan state, copied per request by the server) is kept
    scope = http_scope([(b"x-api-key", apikee.create("beta").encode())], state={"db": 1})
    call(middleware, scope)
    assert seen[1]["state"]["db"] == 1 and seen[1]["state"]["apikee"].tenant == "beta"


def test_bare_asgi_failure_is_one_prebuilt_response(apikee) -> None:
    async def never(scope, receive, send) -> None:  # pragma: no cover - must not run
        raise AssertionError("the app must not be called")

    middleware = ApikeeMiddleware(never, apikee=apikee)
    sent = call(middleware, http_scope([]))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 401
    assert headers[b"content-length"] == str(len(sent[1]["body"])).encode()
    assert json.loads(sent[1]["body"])["error"] == "MISSING_KEY"
    # the first matching header is used, as Starlette's request.headers.get() would
    key = apikee.create("acme").encode()
    forged = Apikee(secret=OTHER_SECRET).create("acme").encode()
    sent = call(middleware, http_scope([(b"x-api-key", forged), (b"x-api-key", key)]))
    assert json.loads(sent[1]["body"])["error"] == "INVALID_SIGNATURE"


def test_lifespan_and_unknown_scope_types_are_untouched(apikee) -> None:
    seen: list[str] = []

    async def inner(scope, receive, send) -> None:
        seen.append(scope["type"])

    middleware = ApikeeMiddleware(inner, apikee=apikee)
    asyncio.run(middleware({"type": "lifespan"}, receive_nothing, None))
    asyncio.run(middleware({"type": "custom.thing"}, receive_nothing, None))
    assert seen == ["lifespan", "custom.thing"]


# ── websockets ─────────────────────────────────────────────────────────────────────────────


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json({"tenant": websocket.state.apikee.tenant})
    await websocket.close()


def test_websocket_is_authenticated(apikee) -> None:
    app = Starlette(routes=[WebSocketRoute("/ws", ws_echo)])
    app.add_middleware(apikee.middleware)
    client = TestClient(app)
    with client.websocket_connect("/ws", headers={"x-api-key": apikee.create("acme")}) as ws:
        assert ws.receive_json() == {"tenant": "acme"}
    with pytest.raises(WebSocketDenialResponse) as denied:
        with client.websocket_connect("/ws"):
            pass  # pragma: no cover
    assert denied.value.status_code == 401
    assert denied.value.json()["error"] == "MISSING_KEY"


def test_websocket_without_denial_extension_is_closed_before_accept(apikee) -> None:
    async def never(scope, receive, send) -> None:  # pragma: no cover - must not run
        raise AssertionError("the app must not be called")

    middleware = ApikeeMiddleware(never, apikee=apikee)
    scope = http_scope([], path="/ws", type="websocket", scheme="ws")
    received: list[str] = []

    async def receive() -> dict:
        received.append("connect")
        return {"type": "websocket.connect"}

    sent: list[dict] = []

    async def send(message) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    assert received == ["connect"]
    assert [m["type"] for m in sent] == ["websocket.close"]


# ── shared helpers ─────────────────────────────────────────────────────────────────────────


def test_helpers() -> None:
    error = ApikeeError("EXPIRED", "the key has expired")
    assert json.loads(error_body(error)) == {"error": "EXPIRED", "message": "the key has expired"}
    assert www_authenticate("x-api-key", bearer=False, code="MISSING_KEY") == [
        'ApiKey realm="apikee", header="x-api-key"'
    ]
    assert bearer_token("Bearer  abc ") == "abc"
    assert bearer_token(b"BEARER abc") == b"abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None


def test_revocation_environment_and_subclasses_are_honoured(make_apikee) -> None:
    revoking = make_apikee(secret=SECRET, is_revoked=lambda claims: claims.tenant == "evil")
    client = TestClient(starlette_app(revoking))
    assert client.get("/data", headers={"x-api-key": revoking.create("good")}).status_code == 200
    response = client.get("/data", headers={"x-api-key": revoking.create("evil")})
    assert (response.status_code, response.json()["error"]) == (401, "REVOKED")

    staging_only = make_apikee(secret=SECRET, environment="staging")
    client = TestClient(starlette_app(staging_only))
    ok = staging_only.create("t", environment="staging")
    assert client.get("/data", headers={"x-api-key": ok}).status_code == 200
    response = client.get("/data", headers={"x-api-key": staging_only.create("t")})
    assert response.json()["error"] == "WRONG_ENVIRONMENT"

    class Audited(Apikee):
        seen: list = []

        def verify(self, key, **options):
            claims = super().verify(key, **options)
            self.seen.append(claims.tenant)
            return claims

    audited = Audited(secret=SECRET, implementation=make_apikee.keywords["implementation"])
    TestClient(starlette_app(audited)).get("/data", headers={"x-api-key": audited.create("a")})
    assert Audited.seen == ["a"]
