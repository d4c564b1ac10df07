"""apikee.fastapi through FastAPI's TestClient, on both implementations."""

from __future__ import annotations

import warnings

import pytest
from fastapi import Depends, FastAPI, Request, WebSocket

with warnings.catch_warnings():  # newer Starlette prefers httpx2 for its client; httpx still works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from support import OLD_SECRET, SECRET, check_answer, key_headers, request_cases

from apikee import Apikee, ApikeeClaims, ApikeeConfigError
from apikee import _apikee as apikee_module
from apikee.fastapi import (
    DEFAULT_OPEN_PATHS,
    ApikeeDepends,
    SecuredFastAPI,
    add_error_handler,
    add_security_scheme,
    get_claims,
    require_scope,
)


def add_routes(app: FastAPI) -> FastAPI:
    @app.get("/data")
    async def data(claims: ApikeeClaims = ApikeeDepends()):
        return {"tenant": claims.tenant, "scopes": list(claims.scopes)}

    @app.get("/state")
    def state(request: Request):  # a sync route reading request.state, as in 0.1.2
        return {"tenant": request.state.apikee.tenant}

    @app.get("/direct")
    async def direct(request: Request):
        return {"tenant": get_claims(request).tenant}

    @app.get("/legacy")
    def legacy(claims: ApikeeClaims = Depends(get_claims)):  # the 0.1.2 spelling
        return {"tenant": claims.tenant}

    @app.delete("/admin", dependencies=[Depends(require_scope("admin"))])
    async def admin():
        return {"deleted": True}

    @app.get("/orders")
    async def orders(claims: ApikeeClaims = Depends(require_scope("orders:read", "orders:list"))):
        return {"tenant": claims.tenant}

    @app.get("/either")
    async def either(claims=ApikeeDepends("billing", "admin", any_of=True)):
        return {"tenant": claims.tenant}

    @app.get("/health")
    async def health():
        return {"ok": True}

    @app.get("/public/info")
    async def info():
        return {"open": True}

    @app.get("/public/whoami")
    async def whoami(claims=ApikeeDepends()):
        return {"tenant": claims.tenant}

    return app


@pytest.fixture
def client(apikee) -> TestClient:
    return TestClient(add_routes(SecuredFastAPI(apikee=apikee, exclude_prefixes=["/public"])))


def test_every_case(apikee, client) -> None:
    for name, headers, status, code in request_cases(apikee):
        for path in ("/data", "/state", "/direct", "/legacy"):
            response = client.get(path, headers=headers)
            check_answer(response.status_code, response.headers, response.content, status, code)
            if code is None:
                assert response.json()["tenant"] == "acme", (name, path)


def test_require_scope_403_has_the_top_level_body(apikee, client) -> None:
    response = client.delete("/admin", headers=key_headers(apikee, "read"))
    assert response.status_code == 403
    assert response.json() == {
        "error": "INSUFFICIENT_SCOPE",
        "message": "the key lacks the required scope(s): admin",
    }
    assert "detail" not in response.json()
    assert 'error="INSUFFICIENT_SCOPE"' in response.headers["www-authenticate"]
    assert client.delete("/admin", headers=key_headers(apikee, "admin")).json() == {"deleted": True}
    # no key at all is still a 401 from the middleware
    assert client.delete("/admin").status_code == 401


def test_scope_rules(apikee, client) -> None:
    def status(path: str, *scopes: str) -> int:
        return client.get(path, headers=key_headers(apikee, *scopes)).status_code

    # all-of by default
    assert status("/orders", "orders:read", "orders:list") == 200
    assert status("/orders", "orders:read") == 403
    # "res:*" grants every res:… scope, "*" everything; nothing else is a pattern
    assert status("/orders", "orders:*") == 200
    assert status("/orders", "*") == 200
    assert status("/orders", "orders") == 403
    assert status("/orders", "order*") == 403
    assert status("/orders", "orders:read:*") == 403
    # any_of
    assert status("/either", "admin") == 200
    assert status("/either", "billing") == 200
    assert status("/either", "read") == 403
    message = client.get("/either", headers=key_headers(apikee, "read")).json()["message"]
    assert message == "the key lacks the required scope(s): billing or admin"


def test_default_open_paths(apikee, client) -> None:
    assert DEFAULT_OPEN_PATHS == (
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
        "/health",
        "/ready",
    )
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200
    assert client.get("/docs/oauth2-redirect").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/health").json() == {"ok": True}
    # /ready is a default open path, but the app declares no such route: it stays closed
    assert client.get("/ready").status_code == 401
    assert client.get("/nope").status_code == 401  # an unknown path does not reveal itself
    assert client.app.open_paths == [
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/health",
    ]


def test_a_catch_all_route_does_not_open_the_probe_names(apikee) -> None:
    app = SecuredFastAPI(apikee=apikee)

    @app.get("/{anything:path}")
    async def proxy(anything: str) -> dict[str, str]:
        return {"proxied": anything}

    client = TestClient(app)
    assert client.get("/health").status_code == 401
    assert client.get("/ready").status_code == 401
    assert client.get("/health", headers=key_headers(apikee)).json() == {"proxied": "health"}


def test_default_open_paths_can_be_removed(apikee) -> None:
    app = add_routes(SecuredFastAPI(apikee=apikee, default_open_paths=()))
    client = TestClient(app)
    for path in ("/docs", "/openapi.json", "/health", "/redoc"):
        assert client.get(path).status_code == 401, path
    assert app.open_paths == []
    only_health = add_routes(SecuredFastAPI(apikee=apikee, default_open_paths=["/health"]))
    assert TestClient(only_health).get("/health").status_code == 200
    assert TestClient(only_health).get("/docs").status_code == 401


def test_a_prefix_does_not_open_its_bare_path(apikee) -> None:
    app = SecuredFastAPI(apikee=apikee, exclude_prefixes=["/static"])

    @app.get("/static")
    async def bare() -> dict[str, bool]:
        return {"bare": True}

    @app.get("/static/app.js")
    async def below() -> dict[str, bool]:
        return {"below": True}

    client = TestClient(app)
    assert client.get("/static").status_code == 401
    assert client.get("/static/app.js").status_code == 200


def test_exclude_paths_add_to_the_defaults(apikee) -> None:
    app = add_routes(SecuredFastAPI(apikee=apikee, exclude_paths={"/data"}))
    client = TestClient(app)
    assert client.get("/health").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    # an open path carries no claims: asking for them is a 401
    response = client.get("/data")
    assert response.status_code == 401
    assert response.json()["error"] == "MISSING_KEY"


def test_exclude_prefixes(apikee, client) -> None:
    assert client.get("/public/info").json() == {"open": True}
    assert client.get("/public/whoami").status_code == 401


def test_docs_paths_follow_the_app_configuration(apikee) -> None:
    app = SecuredFastAPI(
        apikee=apikee, docs_url="/api-docs", openapi_url="/api.json", redoc_url=None
    )
    client = TestClient(app)
    assert client.get("/api-docs").status_code == 200
    assert client.get("/api.json").status_code == 200
    assert client.get("/redoc").status_code == 401
    assert client.get("/docs").status_code == 401


def test_openapi_declares_the_scheme(apikee, client) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["ApikeeAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "apikee_ signed key: tenant, scopes and expiry embedded",
    }
    assert schema["security"] == [{"ApikeeAuth": []}]
    assert schema["paths"]["/data"]["get"]["security"] == [{"ApikeeAuth": []}]
    assert schema["paths"]["/admin"]["delete"]["security"] == [{"ApikeeAuth": []}]
    assert schema["paths"]["/health"]["get"]["security"] == []
    assert schema["paths"]["/public/info"]["get"]["security"] == []
    # Swagger UI gets the schema it renders the Authorize button from
    assert "/openapi.json" in client.get("/docs").text


def test_openapi_survives_routes_added_later(apikee) -> None:
    app = SecuredFastAPI(apikee=apikee)
    client = TestClient(app)
    assert client.get("/openapi.json").json()["components"]["securitySchemes"]["ApikeeAuth"]

    @app.get("/late")
    async def late():
        return {}

    schema = app.openapi()
    assert "ApikeeAuth" in schema["components"]["securitySchemes"]
    assert schema["paths"]["/late"]["get"]["security"] == [{"ApikeeAuth": []}]


def test_configure_swagger_on_a_plain_app(apikee) -> None:
    app = FastAPI()

    @app.get("/x")
    async def x():
        return {}

    app.openapi()  # a schema generated before configuring is still completed
    apikee.configure_swagger(app)
    apikee.configure_swagger(app)  # idempotent
    schema = app.openapi()
    assert schema["components"]["securitySchemes"]["ApikeeAuth"]["name"] == "x-api-key"
    assert schema["paths"]["/x"]["get"]["security"] == [{"ApikeeAuth": []}]
    custom = FastAPI()
    add_security_scheme(custom, "X-Key")
    assert custom.openapi()["components"]["securitySchemes"]["ApikeeAuth"]["name"] == "x-key"


def test_plain_fastapi_with_the_middleware_property(apikee) -> None:
    app = add_routes(FastAPI())
    app.add_middleware(apikee.middleware, exclude_paths=["/health"])
    client = TestClient(app)
    assert client.get("/data", headers=key_headers(apikee, "read")).json()["tenant"] == "acme"
    assert client.get("/data").json()["error"] == "MISSING_KEY"
    assert client.get("/health").status_code == 200
    assert client.get("/docs").status_code == 401  # plain FastAPI: nothing open unless asked
    # require_scope's 403 keeps its top-level shape without SecuredFastAPI
    response = client.delete("/admin", headers=key_headers(apikee, "read"))
    assert response.status_code == 403
    assert response.json()["error"] == "INSUFFICIENT_SCOPE"
    assert "detail" not in response.json()


def test_plain_fastapi_with_the_error_handler_only(apikee) -> None:
    app = add_routes(FastAPI())
    add_error_handler(app)
    client = TestClient(app)
    response = client.get("/data")
    assert response.status_code == 401
    assert response.json() == {
        "error": "MISSING_KEY",
        "message": "no verified API key is attached to this request",
    }
    assert response.headers["www-authenticate"].startswith("ApiKey")


def test_secured_fastapi_reads_the_environment(monkeypatch, impl) -> None:
    monkeypatch.setenv("APIKEE_SECRET", SECRET)
    app = add_routes(SecuredFastAPI(title="env"))
    assert app.title == "env"
    assert app.apikee.secret_count == 1
    token = Apikee(secret=SECRET, implementation=impl).create("env-tenant")
    assert (
        TestClient(app).get("/data", headers={"x-api-key": token}).json()["tenant"] == "env-tenant"
    )


def test_secured_fastapi_rotation_and_header(impl) -> None:
    app = add_routes(SecuredFastAPI(secrets=[SECRET, OLD_SECRET], header_name="X-Key"))
    client = TestClient(app)
    old = Apikee(secret=OLD_SECRET, implementation=impl).create("old")
    assert client.get("/data", headers={"x-key": old}).json()["tenant"] == "old"
    assert client.get("/data", headers={"x-api-key": old}).status_code == 401
    assert (
        client.get("/openapi.json").json()["components"]["securitySchemes"]["ApikeeAuth"]["name"]
        == "x-key"
    )


def test_secured_fastapi_without_a_secret_fails_clearly(monkeypatch) -> None:
    monkeypatch.setattr(apikee_module, "_instance", None)
    with pytest.raises(ApikeeConfigError, match="openssl rand -hex 32"):
        SecuredFastAPI()
    with pytest.raises(ApikeeConfigError):
        SecuredFastAPI(secret=SECRET, exclude_paths="/health")
    with pytest.raises(ApikeeConfigError):
        SecuredFastAPI(secret=SECRET, exclude_paths=["health"])
    with pytest.raises(ApikeeConfigError):
        SecuredFastAPI(secret=SECRET, header_name="bad header")


def test_bearer_and_websocket(apikee) -> None:
    app = SecuredFastAPI(apikee=apikee)

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, claims=ApikeeDepends()):
        await websocket.accept()
        await websocket.send_json({"tenant": claims.tenant})
        await websocket.close()

    add_routes(app)
    client = TestClient(app)
    token = apikee.create("acme")
    assert (
        client.get("/data", headers={"authorization": f"Bearer {token}"}).json()["tenant"] == "acme"
    )
    with client.websocket_connect("/ws", headers={"x-api-key": token}) as connection:
        assert connection.receive_json() == {"tenant": "acme"}


def test_bearer_disabled(apikee) -> None:
    client = TestClient(add_routes(SecuredFastAPI(apikee=apikee, bearer=False)))
    token = apikee.create("acme")
    assert client.get("/data", headers={"authorization": f"Bearer {token}"}).status_code == 401


def test_websocket_dependency_without_the_middleware_refuses_the_handshake(apikee) -> None:
    from starlette.websockets import WebSocketDisconnect

    app = FastAPI()
    add_error_handler(app)

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, claims=ApikeeDepends()):
        await websocket.accept()  # pragma: no cover - never reached

    with pytest.raises(WebSocketDisconnect) as closed:
        with TestClient(app).websocket_connect("/ws"):
            pass  # pragma: no cover
    assert closed.value.code == 1008
