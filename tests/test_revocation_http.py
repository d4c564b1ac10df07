"""Revocation through the integrations (FastAPI, Starlette, Flask, WSGI) on a real SQLite
store: a revoked key is answered 401 REVOKED with the usual body; a store unreachable past its
staleness with fail_open=False is answered 503 STORE_UNAVAILABLE. Both implementations."""

from __future__ import annotations

import time
import warnings

import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from werkzeug.test import Client

with warnings.catch_warnings():  # newer Starlette prefers httpx2 for its client; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from apikee import ApikeeError
from apikee.asgi import ApikeeMiddleware
from apikee.fastapi import Claims, SecuredFastAPI
from apikee.flask import get_claims, init_apikee
from apikee.wsgi import ApikeeWSGIMiddleware

SECRET = "4283fefc63f0cd0e873a0000c6d07ef7b77e90d3593ad699fc1f7cd5bb2e35cb"
REVOKED = {"error": "REVOKED", "message": "the key has been revoked"}


@pytest.fixture
def store_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'apikee.db'}"


@pytest.fixture
def issuer(make_apikee, store_url):
    apikee = make_apikee(secret=SECRET, store=store_url)
    yield apikee
    apikee.close()


def wait_until(condition, deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, "the condition did not become true in time"
        time.sleep(0.05)


def test_fastapi(issuer, store_url, impl) -> None:
    app = SecuredFastAPI(secret=SECRET, store=store_url)

    @app.get("/data")
    async def data(claims: Claims) -> dict[str, str]:
        return {"tenant": claims.tenant}

    client = TestClient(app)
    key = issuer.create("acme")
    assert client.get("/data", headers={"x-api-key": key}).json() == {"tenant": "acme"}
    issuer.revoke(key, reason="leaked")  # another Apikee on the same store revokes it
    wait_until(lambda: client.get("/data", headers={"x-api-key": key}).status_code == 401)
    response = client.get("/data", headers={"x-api-key": key})
    assert response.json() == REVOKED and 'error="REVOKED"' in response.headers["www-authenticate"]
    app.apikee.close()


def test_starlette_middleware_with_the_bound_apikee(issuer) -> None:
    async def data(request: Request) -> JSONResponse:
        return JSONResponse({"tenant": request.state.apikee.tenant})

    app = Starlette(
        routes=[Route("/data", data)], middleware=[Middleware(ApikeeMiddleware, apikee=issuer)]
    )
    client = TestClient(app)
    key = issuer.create("acme")
    assert client.get("/data", headers={"x-api-key": key}).status_code == 200
    issuer.revoke(key)
    response = client.get("/data", headers={"x-api-key": key})  # the revoking process: at once
    assert response.status_code == 401 and response.json() == REVOKED


def test_flask_and_wsgi(issuer, store_url) -> None:
    app = Flask(__name__)
    app.config["APIKEE_STORE"] = store_url
    bound = init_apikee(app, secret=SECRET)

    @app.get("/data")
    def data() -> dict[str, str]:
        return {"tenant": get_claims().tenant}

    def plain(environ, start_response):  # noqa: ANN001 - a bare WSGI app
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"ok"]

    wsgi = Client(ApikeeWSGIMiddleware(plain, apikee=issuer))
    client = app.test_client()
    key = issuer.create("acme")
    assert client.get("/data", headers={"x-api-key": key}).status_code == 200
    assert wsgi.get("/", headers={"x-api-key": key}).status_code == 200
    issuer.revoke(key)
    assert wsgi.get("/", headers={"x-api-key": key}).status_code == 401
    wait_until(lambda: client.get("/data", headers={"x-api-key": key}).status_code == 401)
    assert client.get("/data", headers={"x-api-key": key}).get_json() == REVOKED
    bound.close()


def test_an_unreachable_store_fails_closed_with_503(make_apikee) -> None:
    # Nothing listens on port 1: the snapshot never loads, and past max_staleness every
    # verification is refused with 503 (fail_open=False), never an exception to the app.
    apikee = make_apikee(
        secret=SECRET,
        store="redis://:s3cretpw@127.0.0.1:1/0",
        fail_open=False,
        server_timeout=0.2,
        max_staleness=0.5,
    )
    try:
        key = apikee.create("acme")
        time.sleep(0.6)
        with pytest.raises(ApikeeError) as info:
            apikee.verify(key)
        assert info.value.code == "STORE_UNAVAILABLE" and info.value.http_status == 503

        def plain(environ, start_response):  # noqa: ANN001 - a bare WSGI app
            start_response("200 OK", [])
            return [b"ok"]

        response = Client(ApikeeWSGIMiddleware(plain, apikee=apikee)).get(
            "/", headers={"x-api-key": key}
        )
        assert response.status_code == 503
        assert response.get_json()["error"] == "STORE_UNAVAILABLE"
        status = apikee.store_status()
        assert status is not None and status["healthy"] is False
        assert "s3cretpw" not in repr(status) and "s3cretpw" not in repr(apikee)
    finally:
        apikee.close()


def test_an_unreachable_store_fails_open_by_default(make_apikee) -> None:
    apikee = make_apikee(secret=SECRET, store="redis://127.0.0.1:1/0", server_timeout=0.2)
    try:
        key = apikee.create("acme")
        assert (
            apikee.verify(key).tenant == "acme"
        )  # the last (empty) snapshot: verification goes on
    finally:
        apikee.close()
