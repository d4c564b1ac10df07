"""Usage metrics through real servers (uvicorn, werkzeug), both implementations.

The counts that ``/metrics`` (parsed with prometheus_client's own text parser) and the
OpenTelemetry SDK's in-memory reader report match the requests sent, per code; last-used lands
in the real SQLite file; no key or secret appears in any label, value or log line.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sqlite3
import threading
import time
from typing import Iterator

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from store_fixtures import wait_for
from support import OTHER_SECRET, PAST, SECRET
from werkzeug.serving import make_server

from apikee import Apikee
from apikee._usage import Usage
from apikee.metrics import instrument_otel

pytestmark = pytest.mark.slow


def starlette_app(apikee: Apikee):
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from apikee.asgi import ApikeeMiddleware

    async def data(request):
        return JSONResponse({"tenant": request.state.apikee.tenant})

    middleware = Middleware(ApikeeMiddleware, apikee=apikee, metrics_path="/metrics")
    return Starlette(routes=[Route("/data", data)], middleware=[middleware])


def wsgi_app(apikee: Apikee):
    from apikee.wsgi import ApikeeWSGIMiddleware

    def app(environ, start_response):
        start_response("200 OK", [("content-type", "text/plain")])
        return [environ["apikee.claims"].tenant.encode()]

    return ApikeeWSGIMiddleware(app, apikee=apikee, metrics_path="/metrics")


@contextlib.contextmanager
def serving(kind: str, apikee: Apikee) -> Iterator[str]:
    if kind == "uvicorn":
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(starlette_app(apikee), log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        assert wait_for(lambda: server.started, timeout=15)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            thread.join(10)
    else:
        httpd = make_server("127.0.0.1", 0, wsgi_app(apikee), threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_port}"
        finally:
            httpd.shutdown()
            thread.join(10)


def families(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.mark.parametrize("kind", ["uvicorn", "werkzeug"])
def test_metrics_match_requests(kind, impl, tmp_path, caplog):
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    url_db = f"sqlite://{tmp_path / 'apikee.db'}"
    usage = Usage(per_tenant=True, max_tenants=3, flush_interval=0.1)
    apikee = Apikee(secret=SECRET, implementation=impl, store=url_db, usage=usage)
    reader = InMemoryMetricReader()
    instrument_otel(apikee, MeterProvider(metric_readers=[reader]))
    forger = Apikee(secret=OTHER_SECRET)
    good = {t: apikee.create(t) for t in ("acme", "beta", "gamma", "delta", "eps")}
    expired = apikee.create("acme", expires_in=PAST)
    forged = forger.create("evil")
    limited = apikee.create("beta", rate_limit="2/m")
    sent = (
        [(good[t], 200) for t in good for _ in range(2)]
        + [(expired, 401)] * 3
        + [(forged, 401)] * 4
        + [(None, 401)] * 2
        + [(limited, 200)] * 2
        + [(limited, 429)] * 3
    )
    with caplog.at_level(logging.INFO, logger="apikee.usage"), serving(kind, apikee) as base:
        with httpx.Client(base_url=base, timeout=10) as client:
            for key, status in sent:
                headers = {} if key is None else {"x-api-key": key}
                assert client.get("/data", headers=headers).status_code == status
            metrics = client.get("/metrics")
            assert metrics.status_code == 200
            assert client.get("/other").status_code == 401  # nothing else is opened
    samples = families(metrics.text)
    expected = {"VALID": 12, "EXPIRED": 3, "INVALID_SIGNATURE": 4, "MISSING_KEY": 2}
    expected["RATE_LIMITED"] = 3
    for code, count in expected.items():
        assert samples[("apikee_verifications_total", (("code", code),))] == count, code
    assert samples[("apikee_verifications_total", (("code", "REVOKED"),))] == 0
    tenants = {
        labels: value
        for (name, labels), value in samples.items()
        if name == "apikee_tenant_verifications_total"
    }
    named = {dict(labels)["tenant"] for labels in tenants}
    assert len(named) <= 4 and "other" in named and "evil" not in named
    assert sum(v for k, v in tenants.items() if dict(k)["code"] == "VALID") == 12
    assert tenants[(("code", "RATE_LIMITED"), ("tenant", "beta"))] == 3

    data = reader.get_metrics_data()
    otel = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    otel[(metric.name, tuple(sorted(point.attributes.items())))] = point.value
    expected["MISSING_KEY"] += 1  # the /other request, after the scrape
    for code, count in expected.items():
        assert otel[("apikee_verifications", (("code", code),))] == count, code

    # last-used reached the real SQLite file within the flush interval (bounded wait)
    path = url_db[len("sqlite://") :]
    acme_id = apikee.verify(good["acme"]).id

    def landed() -> bool:
        try:
            with sqlite3.connect(path) as conn:
                row = conn.execute(
                    "SELECT uses FROM apikee_last_used WHERE id = ?", (acme_id,)
                ).fetchone()
        except sqlite3.OperationalError:
            return False
        return row is not None and row[0] >= 2

    assert wait_for(landed)
    assert apikee.last_used(good["acme"]).timestamp() <= time.time() + 1
    apikee.close()

    lines = "\n".join(r.getMessage() for r in caplog.records if r.name == "apikee.usage")
    assert "code=EXPIRED tenant=acme" in lines and "code=RATE_LIMITED tenant=beta" in lines
    everything = metrics.text + lines + repr(otel)
    for secret in [SECRET, OTHER_SECRET, expired, forged, limited, *good.values()]:
        assert secret not in everything
        if secret.startswith("apikee_"):
            assert secret.split(".")[1] not in everything  # nor the signature


def test_metrics_path_is_opt_in(make_apikee):
    from apikee import ApikeeConfigError
    from apikee.asgi import ApikeeMiddleware

    plain = make_apikee(secret=SECRET)
    middleware = ApikeeMiddleware(lambda *a: None, apikee=plain)
    assert middleware.metrics_path is None and "/metrics" not in middleware.rules.exact
    with pytest.raises(ApikeeConfigError, match="usage=True"):
        ApikeeMiddleware(lambda *a: None, apikee=plain, metrics_path="/metrics")
