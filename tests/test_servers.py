"""End to end through real servers on 127.0.0.1, on both implementations.

Each server is started by these tests in a child process on an ephemeral port of 127.0.0.1 and
stopped at the end of the module:
uvicorn serving a FastAPI app (``SecuredFastAPI``) and a Starlette app (``ApikeeMiddleware``),
and werkzeug's threaded WSGI server serving a Flask app (``init_apikee``). They are driven with
httpx over real sockets: every request case of ``support.request_cases``, the scope and open
path cases, and 500 requests with mixed keys sent at once (all in flight together, each on a
connection of its own), each answer checked against the key it was sent with — a valid key's
answer must name that key's own tenant, so any cross-request leak of claims would show.
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Iterator

import httpx
import pytest
import uvicorn
from flask import Flask
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from support import FUTURE, OLD_SECRET, OTHER_SECRET, PAST, SECRET, check_answer, request_cases
from werkzeug.serving import make_server

from apikee import Apikee
from apikee.asgi import ApikeeMiddleware
from apikee.fastapi import ApikeeDepends, SecuredFastAPI, require_scope
from apikee.flask import get_claims, init_apikee
from apikee.flask import require_scope as flask_require_scope

pytestmark = pytest.mark.slow

CONCURRENT_REQUESTS = 500
CLIENTS = 10
START_TIMEOUT = 30.0


# ── the three apps ─────────────────────────────────────────────────────────────────────────


def fastapi_app(apikee: Apikee):
    from fastapi import Depends

    app = SecuredFastAPI(apikee=apikee)

    @app.get("/data")
    async def data(claims=ApikeeDepends()):
        return {"tenant": claims.tenant}

    @app.get("/admin", dependencies=[Depends(require_scope("admin"))])
    async def admin():
        return {"admin": True}

    @app.get("/health")
    async def health():
        return {"ok": True}

    return app


def starlette_app(apikee: Apikee):
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield {"started": True}  # lifespan must pass through the middleware

    async def data(request: Request) -> JSONResponse:
        return JSONResponse({"tenant": request.state.apikee.tenant})

    async def admin(request: Request) -> JSONResponse:
        Apikee.check_scopes(request.state.apikee, ["admin"])  # its ApikeeError becomes the 403
        return JSONResponse({"admin": True})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": request.state.started})

    return Starlette(
        routes=[Route("/data", data), Route("/admin", admin), Route("/health", health)],
        middleware=[Middleware(ApikeeMiddleware, apikee=apikee, exclude_paths=["/health"])],
        lifespan=lifespan,
    )


def flask_app(apikee: Apikee):
    app = Flask(__name__)
    init_apikee(app, apikee=apikee)

    @app.get("/data")
    def data():
        return {"tenant": get_claims().tenant}

    @app.get("/admin")
    @flask_require_scope("admin")
    def admin():
        return {"admin": True}

    @app.get("/health")
    def health():
        return {"ok": True}

    return app


# ── starting and stopping real servers (each in a process of its own) ─────────────────────

# Servers run in a child process, as in production: in a thread of the test process they would
# share its GIL with the client and mostly measure thread switching. The child binds an
# ephemeral port on 127.0.0.1 itself and prints it (no fd passing, so this works everywhere).
CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
import test_servers
test_servers.serve_child(sys.argv[2], sys.argv[3])
"""


def raise_fd_limit() -> int:
    """Raise this process's open-file limit toward what 500 sockets need; return how many
    connections to open at once (macOS shells default to 256 descriptors)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        # No descriptor limit to raise; stay well under the 512 sockets a select()-based event
        # loop can watch there.
        return CONCURRENT_REQUESTS // 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return CONCURRENT_REQUESTS
    return max(CLIENTS, min(CONCURRENT_REQUESTS, soft - 100))


def serve_child(kind: str, impl: str) -> None:
    """Child process entry point: serve ``kind``'s app on 127.0.0.1:<ephemeral> until killed."""
    raise_fd_limit()
    apikee = Apikee(secrets=[SECRET, OLD_SECRET], implementation=impl)
    build, server = SERVERS[kind]
    app = build(apikee)
    if server == "uvicorn":
        # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on sockets that say they are TCP;
        # without it every response waits ~40 ms for a delayed ACK (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        print(sock.getsockname()[1], flush=True)
        http = "h11" if kind.endswith("-h11") else "auto"  # auto: httptools where installed
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", ws="none", backlog=1024, http=http
        )
        uvicorn.Server(config).run(sockets=[sock])
    else:
        httpd = make_server("127.0.0.1", 0, app, threaded=True)
        print(httpd.server_port, flush=True)
        httpd.serve_forever(poll_interval=0.05)


@contextlib.contextmanager
def running_server(kind: str, impl: str) -> Iterator[str]:
    """Start ``kind``'s server for ``impl`` in a child process; yield its base URL; stop it."""
    log = tempfile.TemporaryFile()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(pathlib.Path(__file__).parent), kind, impl],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    watchdog = threading.Timer(START_TIMEOUT, child.kill)  # a child that never prints a port
    watchdog.start()
    try:
        port = child.stdout.readline().strip()
        watchdog.cancel()
        if not port.isdigit():
            raise AssertionError(f"{kind} did not start: {child_log(child, log)}")
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, child, log)
        yield url
    finally:
        watchdog.cancel()
        child.terminate()  # uvicorn shuts down gracefully on SIGTERM
        try:
            child.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:  # pragma: no cover
            child.kill()
            child.wait()
        child.stdout.close()
        log.close()


def child_log(child: subprocess.Popen, log) -> str:
    child.kill()
    child.wait()
    log.seek(0)
    return log.read().decode(errors="replace")[-2000:]


def wait_until_serving(url: str, child: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise AssertionError(f"the server exited: {child_log(child, log)}")
        try:
            httpx.get(url + "/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"the server did not answer: {child_log(child, log)}")


SERVERS = {
    "fastapi-uvicorn": (fastapi_app, "uvicorn"),
    "starlette-uvicorn": (starlette_app, "uvicorn"),
    "starlette-uvicorn-h11": (starlette_app, "uvicorn"),
    "flask-werkzeug": (flask_app, "werkzeug"),
}


@pytest.fixture(scope="module", params=list(SERVERS))
def server(request, impl) -> Iterator[tuple[str, Apikee]]:
    """``(base url, an Apikee with the server's secrets)`` of a running server."""
    with running_server(request.param, impl) as url:
        yield url, Apikee(secrets=[SECRET, OLD_SECRET], implementation=impl)


# ── tests ──────────────────────────────────────────────────────────────────────────────────


def test_every_case(server) -> None:
    url, apikee = server
    with httpx.Client(base_url=url, timeout=10) as client:
        for name, headers, status, code in request_cases(apikee):
            response = client.get("/data", headers=headers)
            check_answer(response.status_code, response.headers, response.content, status, code)
            if code is None:
                assert response.json() == {"tenant": "acme"}, name
            else:
                assert response.json()["error"] == code, name


def raw_status(url: str, header_lines: list[str]) -> tuple[int, bytes]:
    """Send ``GET /data`` with exactly these header lines over a raw socket (no client library
    normalising them); return the status and the body."""
    host, port = url.removeprefix("http://").split(":")
    request = "GET /data HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    request += "".join(line + "\r\n" for line in header_lines) + "\r\n"
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request.encode("latin-1"))
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_header_whitespace_and_duplicates_follow_one_rule(server) -> None:
    # Optional whitespace never counts; of a repeated header the first non-empty value counts,
    # on every server (h11 and httptools under uvicorn, werkzeug's WSGI joining).
    url, apikee = server
    good, bad = apikee.create("acme"), "apikee_bad.bad"
    cases = [
        ([f"x-api-key: {good} \t"], 200),
        ([f"x-api-key: {good}\t"], 200),
        ([f"x-api-key:  {good}"], 200),
        ([f"x-api-key: {good}", f"x-api-key: {bad}"], 200),
        ([f"x-api-key: {bad}", f"x-api-key: {good}"], 401),
        (["x-api-key: ", f"x-api-key: {good}"], 200),
        ([f"Authorization: Bearer {good} \t"], 200),
        ([f"Authorization: Bearer {good}", f"Authorization: Bearer {bad}"], 200),
        ([f"Authorization: Bearer {bad}", f"Authorization: Bearer {good}"], 401),
        ([f"x-api-key: {bad}", f"Authorization: Bearer {good}"], 401),
    ]
    for lines, expected in cases:
        status, body = raw_status(url, lines)
        assert status == expected, (lines, body)
        if expected == 200:
            assert b'"acme"' in body


def test_scopes_and_open_paths(server) -> None:
    url, apikee = server
    with httpx.Client(base_url=url, timeout=10) as client:
        lacking = client.get("/admin", headers={"x-api-key": apikee.create("t", scopes=["read"])})
        check_answer(
            lacking.status_code, lacking.headers, lacking.content, 403, "INSUFFICIENT_SCOPE"
        )
        for scopes in (["admin"], ["*"]):
            granted = client.get("/admin", headers={"x-api-key": apikee.create("t", scopes=scopes)})
            assert granted.json() == {"admin": True}
        assert client.get("/admin").status_code == 401
        assert client.get("/health").json() == {
            "ok": True
        }  # open (and, for Starlette, lifespan ran)
        assert client.get("/missing-route").status_code == 401


def mixed_requests(apikee: Apikee, count: int) -> list[tuple[str, dict, int, str]]:
    """``(path, headers, status, expected tenant or error code)``, shuffled, deterministic."""
    forged = Apikee(secret=OTHER_SECRET).create("forged", scopes=["*"])
    expired = apikee.create("expired", expires_in=PAST)
    early = apikee.create("early", expires_in=None, not_before=FUTURE)
    lacking = apikee.create("lacking", scopes=["read"])
    requests = []
    for i in range(count):
        kind = i % 8
        tenant = f"tenant-{i}"
        if kind == 0:
            requests.append(("/data", {"x-api-key": apikee.create(tenant)}, 200, tenant))
        elif kind == 1:
            token = apikee.create(tenant)
            requests.append(("/data", {"authorization": f"Bearer {token}"}, 200, tenant))
        elif kind == 2:
            requests.append(("/data", {"x-api-key": forged}, 401, "INVALID_SIGNATURE"))
        elif kind == 3:
            requests.append(("/data", {"x-api-key": expired}, 401, "EXPIRED"))
        elif kind == 4:
            requests.append(("/data", {}, 401, "MISSING_KEY"))
        elif kind == 5:
            requests.append(("/admin", {"x-api-key": lacking}, 403, "INSUFFICIENT_SCOPE"))
        elif kind == 6:
            requests.append(
                ("/admin", {"x-api-key": apikee.create(tenant, scopes=["admin"])}, 200, "admin")
            )
        else:
            requests.append(("/data", {"x-api-key": early}, 401, "NOT_YET_VALID"))
    random.Random(5).shuffle(requests)
    return requests


def test_concurrent_mixed_keys(server) -> None:
    url, apikee = server
    requests = mixed_requests(apikee, CONCURRENT_REQUESTS)

    async def run() -> list[httpx.Response]:
        # Several clients, each with its own pool: httpcore's pool does work quadratic in the
        # number of requests queued on it, so one client with 500 queued requests would mostly
        # measure that. Here every request has a connection of its own and all are in flight.
        batches = [requests[i::CLIENTS] for i in range(CLIENTS)]
        per_client = max(1, raise_fd_limit() // CLIENTS)  # 50 unless descriptors are scarce

        async def batch(part: list) -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
            async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
                return await asyncio.gather(
                    *(client.get(path, headers=headers) for path, headers, _, _ in part)
                )

        answers = await asyncio.gather(*(batch(part) for part in batches))
        # back in the order of ``requests``
        ordered: list = [None] * len(requests)
        for i, part in enumerate(answers):
            ordered[i::CLIENTS] = part
        return ordered

    responses = asyncio.run(run())
    assert len(responses) == CONCURRENT_REQUESTS
    wrong = []
    for (path, _, status, expected), response in zip(requests, responses, strict=True):
        body = response.json()
        if status == 200:
            ok = response.status_code == 200 and (
                body == {"admin": True} if expected == "admin" else body == {"tenant": expected}
            )
        else:
            ok = response.status_code == status and body.get("error") == expected
        if not ok:
            wrong.append((path, status, expected, response.status_code, body))
    assert not wrong, wrong[:5]
