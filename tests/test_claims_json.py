"""Claims as JSON through the real frameworks: FastAPI routes returning claims, Starlette
``JSONResponse``, Flask views, and the OpenAPI schema; on both implementations."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from fastapi import FastAPI
from flask import Flask, jsonify
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

with warnings.catch_warnings():  # newer Starlette prefers httpx2 for its client; httpx still works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from apikee import ApikeeClaims
from apikee.asgi import ApikeeMiddleware
from apikee.fastapi import Claims, SecuredFastAPI
from apikee.flask import get_claims, init_apikee

META = {"plan": "pro", "l": [1, {"k": "v"}], "none": None}
EXPECTED_KEYS = [
    "id",
    "tenant",
    "scopes",
    "environment",
    "expires_at",
    "exp",
    "not_before",
    "nbf",
    "issued_at",
    "iat",
    "meta",
]


@pytest.fixture
def key(apikee) -> str:
    return apikee.create("acme", scopes=["read", "write"], meta=META, expires_in="1h")


def check_view(body: dict[str, Any], key_claims: ApikeeClaims) -> None:
    assert list(body) == EXPECTED_KEYS
    assert body == json.loads(json.dumps(key_claims.to_json_dict()))
    assert body["tenant"] == "acme" and body["scopes"] == ["read", "write"]
    assert body["meta"] == META
    assert body["expires_at"].endswith("Z") and body["not_before"] is None


# ── FastAPI ─────────────────────────────────────────────────────────────────────────────────


def fastapi_app(apikee) -> FastAPI:
    app = SecuredFastAPI(apikee=apikee)

    @app.get("/claims")
    async def claims_route(claims: Claims) -> ApikeeClaims:
        return claims

    @app.get("/model", response_model=ApikeeClaims)
    async def model_route(claims: Claims) -> Any:
        return claims

    @app.get("/untyped")
    async def untyped_route(claims: Claims):  # type: ignore[no-untyped-def]
        return claims.to_json_dict()

    @app.get("/meta")
    async def meta_route(claims: Claims) -> dict[str, Any]:
        return claims.meta

    return app


@pytest.mark.parametrize("path", ["/claims", "/model", "/untyped"])
def test_fastapi_route_returns_claims(apikee, key, path) -> None:
    client = TestClient(fastapi_app(apikee))
    response = client.get(path, headers={"x-api-key": key})
    assert response.status_code == 200, response.text
    check_view(response.json(), apikee.verify(key))


def test_fastapi_route_returns_meta(apikee, key) -> None:
    response = TestClient(fastapi_app(apikee)).get("/meta", headers={"x-api-key": key})
    assert response.status_code == 200 and response.json() == META


def test_fastapi_openapi_describes_the_claims(apikee) -> None:
    schema = TestClient(fastapi_app(apikee)).get("/openapi.json").json()
    content = schema["paths"]["/claims"]["get"]["responses"]["200"]["content"]
    described = json.dumps(content) + json.dumps(schema.get("components", {}))
    for name in EXPECTED_KEYS:
        assert f'"{name}"' in described


def test_pydantic_refuses_what_is_not_claims() -> None:
    import pydantic

    adapter = pydantic.TypeAdapter(ApikeeClaims)
    with pytest.raises(pydantic.ValidationError):
        adapter.validate_python({"tenant": "forged"})


def test_configure_swagger_leaves_excluded_paths_unlocked(apikee) -> None:
    app = FastAPI()
    app.add_middleware(apikee.middleware, exclude_paths=["/health"], exclude_prefixes=["/pub"])
    apikee.configure_swagger(app)

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/pub/x")
    async def public() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/orders")
    async def orders() -> dict[str, bool]:
        return {"ok": True}

    paths = app.openapi()["paths"]
    assert paths["/health"]["get"]["security"] == []
    assert paths["/pub/x"]["get"]["security"] == []
    assert paths["/orders"]["get"]["security"] == [{"ApikeeAuth": []}]


# ── Starlette ───────────────────────────────────────────────────────────────────────────────


def test_starlette_json_response_of_meta_and_claims(apikee, key) -> None:
    async def meta(request: Request) -> JSONResponse:
        return JSONResponse(request.state.apikee.meta)

    async def claims(request: Request) -> JSONResponse:
        return JSONResponse(request.state.apikee.to_json_dict())

    app = Starlette(
        routes=[Route("/meta", meta), Route("/claims", claims)],
        middleware=[Middleware(ApikeeMiddleware, apikee=apikee)],
    )
    client = TestClient(app)
    assert client.get("/meta", headers={"x-api-key": key}).json() == META
    check_view(client.get("/claims", headers={"x-api-key": key}).json(), apikee.verify(key))


# ── Flask ───────────────────────────────────────────────────────────────────────────────────


def test_flask_views_return_meta_and_claims(apikee, key) -> None:
    app = Flask(__name__)
    init_apikee(app, apikee=apikee)

    @app.get("/meta")
    def meta() -> Any:
        return get_claims().meta

    @app.get("/claims")
    def claims() -> Any:
        return get_claims().to_json_dict()

    @app.get("/jsonify")
    def jsonified() -> Any:
        return jsonify(get_claims().to_json_dict())

    client = app.test_client()
    assert client.get("/meta", headers={"x-api-key": key}).get_json() == META
    for path in ("/claims", "/jsonify"):
        response = client.get(path, headers={"x-api-key": key})
        assert response.status_code == 200
        body = response.get_json()
        assert sorted(body) == sorted(EXPECTED_KEYS)  # Flask sorts keys by default
        assert body == json.loads(json.dumps(apikee.verify(key).to_json_dict()))
