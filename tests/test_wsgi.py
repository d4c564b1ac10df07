"""ApikeeWSGIMiddleware through werkzeug's test client, on both implementations."""

from __future__ import annotations

import json

import pytest
from support import SECRET, check_answer, request_cases
from werkzeug.test import Client
from werkzeug.wrappers import Response

from apikee import Apikee, ApikeeConfigError
from apikee import _apikee as apikee_module
from apikee.wsgi import ENVIRON_KEY, ApikeeWSGIMiddleware


def inner_app(environ, start_response):
    """Echo the tenant of the claims (or say the path is open)."""
    claims = environ.get(ENVIRON_KEY)
    body = {"tenant": claims.tenant, "scopes": list(claims.scopes)} if claims else {"open": True}
    return Response(json.dumps(body), mimetype="application/json")(environ, start_response)


def client(apikee, **options) -> Client:
    return Client(ApikeeWSGIMiddleware(inner_app, apikee=apikee, **options))


def test_every_case(apikee) -> None:
    app = client(apikee)
    for name, headers, status, code in request_cases(apikee):
        response = app.get("/data", headers=headers)
        check_answer(response.status_code, response.headers, response.data, status, code)
        if code is None:
            assert response.json["tenant"] == "acme", name
        else:
            assert response.json["error"] == code, name
            assert response.headers["content-length"] == str(len(response.data))


def test_status_lines_and_challenges(apikee) -> None:
    app = client(apikee, scopes=["admin"])
    missing = app.get("/data")
    assert missing.status == "401 Unauthorized"
    assert missing.headers.getlist("www-authenticate") == [
        'ApiKey realm="apikee", header="x-api-key"',
        'Bearer realm="apikee"',
    ]
    lacking = app.get("/data", headers={"x-api-key": apikee.create("acme", scopes=["read"])})
    assert lacking.status == "403 Forbidden"
    assert lacking.json["error"] == "INSUFFICIENT_SCOPE"


def test_scopes_any_of_and_wildcards(apikee) -> None:
    app = client(apikee, scopes=["reports:read", "admin"], any_of=True)

    def status(*scopes: str) -> int:
        return app.get(
            "/x", headers={"x-api-key": apikee.create("t", scopes=list(scopes))}
        ).status_code

    assert status("admin") == 200
    assert status("reports:*") == 200
    assert status("*") == 200
    assert status("reports") == 403
    all_of = client(apikee, scopes=["reports:read", "admin"])
    assert (
        all_of.get("/x", headers={"x-api-key": apikee.create("t", scopes=["admin"])}).status_code
        == 403
    )


def test_exclusions(apikee) -> None:
    app = client(apikee, exclude_paths=["/health"], exclude_prefixes=["/static"])
    assert app.get("/health").json == {"open": True}
    assert app.get("/static/site.css").json == {"open": True}
    assert app.get("/static-admin").status_code == 401
    assert app.get("/health/").status_code == 401


def test_bearer_and_custom_header(make_apikee) -> None:
    instance = make_apikee(secret=SECRET, header_name="X-Key")
    token = instance.create("acme")
    app = client(instance)
    assert app.get("/", headers={"x-key": token}).json["tenant"] == "acme"
    assert app.get("/", headers={"Authorization": f"Bearer {token}"}).json["tenant"] == "acme"
    no_bearer = client(instance, bearer=False)
    assert (
        no_bearer.get("/", headers={"Authorization": f"Bearer {token}"}).json["error"]
        == "MISSING_KEY"
    )


def test_flask_app_behind_the_wsgi_middleware(apikee) -> None:
    from flask import Flask, request

    app = Flask(__name__)

    @app.get("/data")
    def data():
        return {"tenant": request.environ[ENVIRON_KEY].tenant}

    app.wsgi_app = ApikeeWSGIMiddleware(app.wsgi_app, apikee=apikee)
    test_client = app.test_client()
    assert test_client.get("/data", headers={"x-api-key": apikee.create("acme")}).json == {
        "tenant": "acme"
    }
    assert test_client.get("/data").status_code == 401


def test_default_apikee_comes_from_the_environment(monkeypatch, impl) -> None:
    monkeypatch.setattr(apikee_module, "_instance", None)
    monkeypatch.setenv("APIKEE_SECRET", SECRET)
    token = Apikee(secret=SECRET, implementation=impl).create("env")
    assert (
        Client(ApikeeWSGIMiddleware(inner_app))
        .get("/", headers={"x-api-key": token})
        .json["tenant"]
        == "env"
    )


def test_configuration(monkeypatch, apikee) -> None:
    monkeypatch.setattr(apikee_module, "_instance", None)
    with pytest.raises(ApikeeConfigError, match="openssl rand -hex 32"):
        ApikeeWSGIMiddleware(inner_app)
    with pytest.raises(ApikeeConfigError):
        ApikeeWSGIMiddleware(inner_app, apikee=apikee, exclude_paths="/health")
    with pytest.raises(ApikeeConfigError):
        ApikeeWSGIMiddleware(inner_app, apikee=object())
