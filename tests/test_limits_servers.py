"""Rate limits and allow lists through real servers on 127.0.0.1 (uvicorn serving Starlette,
werkzeug serving Flask), each in a child process, on both implementations: a limited key
driven past its limit gets exactly the documented 200s then 429s with their headers; two
uvicorn workers sharing one redis-server admit the limit in total, exactly; an address outside
the allow list gets 403 and a spoofed X-Forwarded-For from an untrusted peer changes nothing;
Redis killed mid-run follows fail_open with no error and no hanging request.
"""

from __future__ import annotations

import contextlib
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Iterator

import httpx
import pytest
from store_fixtures import redis_server  # noqa: F401  (fixture)
from support import SECRET

from apikee import Apikee

pytestmark = pytest.mark.slow
START_TIMEOUT = 30.0
BOUND = 5.0  # generous bound of any one request during an outage: behaviour, not timing

CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
import test_limits_servers
test_limits_servers.serve_child(sys.argv[2], sys.argv[3], sys.argv[4])
"""


def build_apikee(impl: str, store: str) -> Apikee:
    return Apikee(secret=SECRET, implementation=impl, store=store or None, server_timeout=0.5)


def starlette_app(apikee: Apikee):
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from apikee.asgi import ApikeeMiddleware

    async def data(request):
        return JSONResponse({"tenant": request.state.apikee.tenant})

    async def health(request):
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[Route("/data", data), Route("/health", health)],
        middleware=[Middleware(ApikeeMiddleware, apikee=apikee, exclude_paths=["/health"])],
    )


def flask_app(apikee: Apikee):
    from flask import Flask

    from apikee.flask import get_claims, init_apikee

    app = Flask(__name__)
    init_apikee(app, apikee=apikee)

    @app.get("/data")
    def data():
        return {"tenant": get_claims().tenant}

    @app.get("/health")
    def health():
        return {"ok": True}

    return app


def serve_child(kind: str, impl: str, store: str) -> None:
    """Child process: serve ``kind`` on 127.0.0.1:<ephemeral> until terminated."""
    apikee = build_apikee(impl, store)
    if kind == "uvicorn":
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        print(sock.getsockname()[1], flush=True)
        # proxy_headers=False: uvicorn itself otherwise rewrites scope["client"] from
        # X-Forwarded-For for peers in its forwarded_allow_ips (127.0.0.1 by default), before
        # apikee sees the request (README, "Rate limits and IP allow lists").
        config = uvicorn.Config(
            starlette_app(apikee), log_level="warning", lifespan="off", proxy_headers=False
        )
        uvicorn.Server(config).run(sockets=[sock])
    else:
        from werkzeug.serving import make_server

        httpd = make_server("127.0.0.1", 0, flask_app(apikee), threaded=True)
        print(httpd.server_port, flush=True)
        httpd.serve_forever(poll_interval=0.05)


@contextlib.contextmanager
def running(kind: str, impl: str, store: str = "") -> Iterator[str]:
    log = tempfile.TemporaryFile()
    here = str(pathlib.Path(__file__).parent)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, here, kind, impl, store],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    watchdog = threading.Timer(START_TIMEOUT, child.kill)
    watchdog.start()
    try:
        port = child.stdout.readline().strip()
        watchdog.cancel()
        if not port.isdigit():
            log.seek(0)
            raise AssertionError(f"{kind} did not start: {log.read()[-2000:]!r}")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or child.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        watchdog.cancel()
        child.terminate()
        try:
            child.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:  # pragma: no cover
            child.kill()
            child.wait()
        child.stdout.close()
        log.seek(0)
        tail = log.read().decode(errors="replace")
        log.close()
        assert "Traceback" not in tail, tail[-2000:]


@pytest.mark.parametrize("kind", ["uvicorn", "werkzeug"])
def test_a_limited_key_gets_its_200s_then_429s(kind, impl) -> None:
    issuer = Apikee(secret=SECRET)
    key = issuer.create("acme", rate_limit="5/s")
    with running(kind, impl) as url, httpx.Client(base_url=url, timeout=10) as client:
        started = time.monotonic()
        answers = [client.get("/data", headers={"x-api-key": key}) for _ in range(6)]
        elapsed = time.monotonic() - started
        statuses = [a.status_code for a in answers]
        assert statuses[:5] == [200] * 5, statuses
        for i, answer in enumerate(answers[:5]):
            assert answer.headers["ratelimit-policy"] == '"5/1s";q=5;w=1'
            assert answer.headers["ratelimit"].startswith('"5/1s";r=')
            assert int(answer.headers["ratelimit"].split("r=")[1].split(";")[0]) <= 4 - i + int(
                elapsed / 0.2
            )
        if elapsed < 0.2:  # the sixth came within one emission interval: refused
            refused = answers[5]
            assert refused.status_code == 429
            assert refused.json()["error"] == "RATE_LIMITED"
            assert refused.headers["retry-after"] == "1"
            assert refused.headers["ratelimit"].startswith('"5/1s";r=0;')
        # driven for a while: never more than burst + rate * elapsed
        started = time.monotonic()
        more = [client.get("/data", headers={"x-api-key": key}).status_code for _ in range(30)]
        elapsed = time.monotonic() - started
        assert set(more) <= {200, 429}
        assert more.count(200) <= 5 + 5 * elapsed + 1


@pytest.mark.parametrize("kind", ["uvicorn", "werkzeug"])
def test_allow_list_and_spoofed_forwarding(kind, impl) -> None:
    issuer = Apikee(secret=SECRET)
    elsewhere = issuer.create("acme", allow_ips=["10.0.0.0/8"])
    here = issuer.create("acme", allow_ips=["127.0.0.0/8", "::1"])
    with running(kind, impl) as url, httpx.Client(base_url=url, timeout=10) as client:
        refused = client.get("/data", headers={"x-api-key": elsewhere})
        assert refused.status_code == 403 and refused.json()["error"] == "IP_NOT_ALLOWED"
        spoofed = {
            "x-api-key": elsewhere,
            "x-forwarded-for": "10.1.2.3",
            "forwarded": "for=10.1.2.3",
        }
        assert client.get("/data", headers=spoofed).status_code == 403
        assert client.get("/data", headers={"x-api-key": here}).status_code == 200


def test_two_uvicorn_workers_share_one_redis(impl, redis_server) -> None:  # noqa: F811
    issuer = Apikee(secret=SECRET)
    key = issuer.create("acme", rate_limit="20/h")
    with (
        running("uvicorn", impl, redis_server.url) as first,
        running("uvicorn", impl, redis_server.url) as second,
    ):
        with httpx.Client(timeout=10) as client:
            statuses = [
                client.get((first if i % 2 else second) + "/data", headers={"x-api-key": key})
                for i in range(50)
            ]
        codes = [s.status_code for s in statuses]
        assert codes.count(200) == 20, codes  # exact: one atomic decision per request
        assert set(codes) == {200, 429}
        assert codes[:20] == [200] * 20


def test_redis_killed_mid_run_fails_open(impl, redis_server) -> None:  # noqa: F811
    issuer = Apikee(secret=SECRET)
    key = issuer.create("acme", rate_limit="1000/s")
    with running("uvicorn", impl, redis_server.url) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            slowest = 0.0
            codes = []
            for i in range(60):
                if i == 20:
                    redis_server.kill()
                started = time.monotonic()
                answer = client.get("/data", headers={"x-api-key": key})
                slowest = max(slowest, time.monotonic() - started)
                codes.append(answer.status_code)
                assert answer.headers["ratelimit"]
            assert codes == [200] * 60  # fail_open: admitted and counted locally
            assert slowest < BOUND
