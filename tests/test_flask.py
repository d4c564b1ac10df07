"""apikee.flask through Flask's test client, on both implementations."""

from __future__ import annotations

import pytest
from flask import Flask, g
from support import OLD_SECRET, OTHER_SECRET, SECRET, check_answer, key_headers, request_cases

import apikee.flask as apikee_flask
from apikee import Apikee, ApikeeConfigError, ApikeeError
from apikee.flask import apikee_required, get_claims, init_apikee, require_scope


def make_app(**options) -> Flask:
    app = Flask(__name__)
    init_apikee(app, **options)

    @app.get("/data")
    def data():
        claims = get_claims()
        assert g.apikee is claims
        return {"tenant": claims.tenant, "scopes": list(claims.scopes)}

    @app.delete("/admin")
    @require_scope("admin")
    def admin():
        return {"deleted": True}

    @app.get("/orders")
    @require_scope("orders:read", "orders:list")
    def orders():
        return {"tenant": get_claims().tenant}

    @app.get("/either")
    @require_scope("billing", "admin", any_of=True)
    def either():
        return {"tenant": get_claims().tenant}

    @app.get("/health")
    def health():
        return {"ok": True}

    @app.get("/open")
    def open_route():
        return {"open": True}

    @app.get("/open/claims")
    def open_claims():
        return {"tenant": get_claims().tenant}

    @app.get("/open/guarded")
    @apikee_required
    def open_guarded():
        return {"tenant": get_claims().tenant}

    @app.get("/raises")
    def raises():
        raise ApikeeError("REVOKED", "the key has been revoked")

    return app


@pytest.fixture
def client(apikee):
    return make_app(
        apikee=apikee, exclude_paths=["/open"], exclude_prefixes=["/open"]
    ).test_client()


def test_every_case(apikee, client) -> None:
    for name, headers, status, code in request_cases(apikee):
        response = client.get("/data", headers=headers)
        check_answer(response.status_code, response.headers, response.data, status, code)
        if code is None:
            assert response.json["tenant"] == "acme", name
        else:
            assert response.json["error"] == code, name


def test_scopes(apikee, client) -> None:
    def status(path: str, *scopes: str, method: str = "get") -> int:
        return getattr(client, method)(path, headers=key_headers(apikee, *scopes)).status_code

    assert status("/admin", "admin", method="delete") == 200
    response = client.delete("/admin", headers=key_headers(apikee, "read"))
    assert response.status_code == 403
    assert response.json == {
        "error": "INSUFFICIENT_SCOPE",
        "message": "the key lacks the required scope(s): admin",
    }
    assert status("/orders", "orders:read", "orders:list") == 200
    assert status("/orders", "orders:read") == 403
    assert status("/orders", "orders:*") == 200
    assert status("/orders", "*") == 200
    assert status("/orders", "orders") == 403
    assert status("/either", "admin") == 200
    assert status("/either", "read") == 403
    assert client.delete("/admin").status_code == 401


def test_open_paths(apikee, client) -> None:
    assert client.get("/health").json == {"ok": True}
    # /ready is a default open path, but the app declares no such route: it stays closed
    assert client.get("/ready").status_code == 401
    assert client.get("/open").json == {"open": True}
    # an open path carries no claims ...
    assert client.get("/open/claims").json["error"] == "MISSING_KEY"
    # ... unless the route asks for a key itself
    assert client.get("/open/guarded").status_code == 401
    assert client.get("/open/guarded", headers=key_headers(apikee)).json == {"tenant": "acme"}
    assert client.get("/nope").status_code == 401


def test_a_catch_all_route_does_not_open_the_probe_names(apikee) -> None:
    app = Flask(__name__)
    init_apikee(app, apikee=apikee)

    @app.get("/<path:anything>")
    def proxy(anything: str) -> dict:
        return {"proxied": anything}

    client = app.test_client()
    assert client.get("/health").status_code == 401
    assert client.get("/ready").status_code == 401
    assert client.get("/health", headers=key_headers(apikee)).json == {"proxied": "health"}


def test_default_open_paths_can_be_removed(apikee) -> None:
    client = make_app(apikee=apikee, default_open_paths=()).test_client()
    assert client.get("/health").status_code == 401
    assert make_app(apikee=apikee).test_client().get("/health").status_code == 200


def test_a_prefix_does_not_open_its_bare_path(apikee) -> None:
    app = Flask(__name__)
    init_apikee(app, apikee=apikee, exclude_prefixes=["/static-files"])

    @app.get("/static-files")
    def bare() -> dict:
        return {"bare": True}

    @app.get("/static-files/app.js")
    def below() -> dict:
        return {"below": True}

    client = app.test_client()
    assert client.get("/static-files").status_code == 401
    assert client.get("/static-files/app.js").json == {"below": True}


def test_apikee_error_from_a_view_is_answered(apikee, client) -> None:
    response = client.get("/raises", headers=key_headers(apikee))
    assert response.status_code == 401
    assert response.json == {"error": "REVOKED", "message": "the key has been revoked"}
    assert 'error="REVOKED"' in response.headers["www-authenticate"]


def test_protect_all_false_guards_only_decorated_routes(apikee) -> None:
    client = make_app(apikee=apikee, protect_all=False).test_client()
    assert client.get("/data").status_code == 401  # get_claims(): no claims
    assert client.get("/open/guarded").status_code == 401
    assert client.get("/open/guarded", headers=key_headers(apikee)).json == {"tenant": "acme"}
    assert client.delete("/admin", headers=key_headers(apikee, "admin")).json == {"deleted": True}
    assert client.delete("/admin").json["error"] == "MISSING_KEY"
    assert client.get("/open").status_code == 200


def test_secret_sources(monkeypatch, impl) -> None:
    token = Apikee(secret=SECRET, implementation=impl).create("acme")
    # the environment, as the 0.1.2 README promised
    monkeypatch.setenv("APIKEE_SECRET", SECRET)
    assert make_app().test_client().get("/data", headers={"x-api-key": token}).status_code == 200
    monkeypatch.delenv("APIKEE_SECRET")
    # explicit secret / secrets (rotation)
    assert (
        make_app(secret=SECRET).test_client().get("/data", headers={"x-api-key": token}).status_code
        == 200
    )
    rotated = make_app(secrets=[OLD_SECRET, SECRET]).test_client()
    assert rotated.get("/data", headers={"x-api-key": token}).status_code == 200
    # the app config
    app = Flask(__name__)
    app.config["APIKEE_SECRET"] = SECRET
    assert init_apikee(app).secret_count == 1
    # nothing anywhere: a clear error at setup
    with pytest.raises(ApikeeConfigError, match="openssl rand -hex 32"):
        make_app()
    with pytest.raises(ApikeeConfigError):
        make_app(secret=SECRET, exclude_paths="/health")


def test_two_apps_coexist(make_apikee) -> None:
    first = make_app(apikee=make_apikee(secret=SECRET)).test_client()
    second = make_app(apikee=make_apikee(secret=OTHER_SECRET), header_name="X-Other").test_client()
    one = make_apikee(secret=SECRET).create("one")
    two = make_apikee(secret=OTHER_SECRET).create("two")
    assert first.get("/data", headers={"x-api-key": one}).json["tenant"] == "one"
    assert second.get("/data", headers={"x-other": two}).json["tenant"] == "two"
    assert first.get("/data", headers={"x-api-key": two}).json["error"] == "INVALID_SIGNATURE"
    assert second.get("/data", headers={"x-other": one}).json["error"] == "INVALID_SIGNATURE"
    assert second.get("/data", headers={"x-api-key": two}).json["error"] == "MISSING_KEY"


def test_state_lives_on_the_app(apikee) -> None:
    app = make_app(apikee=apikee)
    assert app.extensions["apikee"].apikee is apikee
    assert not hasattr(apikee_flask, "_apikee_instance")
    with pytest.raises(RuntimeError, match="already"):
        init_apikee(app, apikee=apikee)


def test_decorators_need_init(apikee) -> None:
    app = Flask(__name__)

    @app.get("/x")
    @apikee_required
    def x():
        return {}

    app.testing = True
    with pytest.raises(RuntimeError, match="init_apikee"):
        app.test_client().get("/x")


def test_environ_carries_the_claims(apikee) -> None:
    app = make_app(apikee=apikee)

    @app.get("/environ")
    def environ():
        from flask import request

        return {"tenant": request.environ["apikee.claims"].tenant}

    assert app.test_client().get("/environ", headers=key_headers(apikee)).json == {"tenant": "acme"}
