"""The awaitable ApikeeMiddleware returns per request, driven by hand, on both implementations.

On the native core the middleware's ``__call__`` is in C (``AsgiEntry`` in ``_asgi_c.pxi``) and
returns an ``AsgiCall`` that forwards to the app's awaitable; on the pure core it is the
``async def`` ``ApikeeMiddleware._call``. Both must behave as that coroutine does: ``send``,
``throw``, ``close``, cancellation, an ApikeeError from the app before and after it starts its
response, apps whose awaitable is not a coroutine.
"""

from __future__ import annotations

import asyncio
import collections.abc
import gc
import inspect

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import OTHER_SECRET, SECRET

from apikee import ApikeeError, ErrorCode, _core
from apikee.asgi import ApikeeMiddleware


class Pause:
    """An awaitable that yields ``value`` once and returns what it is sent."""

    def __init__(self, value):
        self.value = value

    def __await__(self):
        received = yield self.value
        return received


def http_scope(key: str, kind: str = "http") -> dict:
    return {
        "type": kind,
        "path": "/data",
        "root_path": "",
        "headers": [(b"x-api-key", key.encode())],
        "client": ("127.0.0.1", 1234),
    }


async def receive() -> dict:
    return {"type": "websocket.connect"}


def collector() -> tuple[list, object]:
    sent: list = []

    async def send(message) -> None:
        sent.append(message)

    return sent, send


def statuses(sent: list) -> list:
    return [m.get("status") for m in sent if m["type"].endswith("response.start")]


@pytest.fixture
def key(make_apikee) -> tuple:
    apikee = make_apikee(secrets=[SECRET])
    return apikee, apikee.create("acme", scopes=["read"])


def test_it_is_an_awaitable_of_an_asgi3_app(key) -> None:
    apikee, token = key
    log = []

    async def app(scope, receive, send) -> str:
        log.append(scope["apikee"].tenant)
        return "ignored"

    middleware = ApikeeMiddleware(app, apikee=apikee)
    # ASGI servers and Starlette's TestClient tell ASGI 3 apps by this
    assert asyncio.iscoroutinefunction(middleware.__call__)
    call = middleware(http_scope(token), receive, collector()[1])
    assert inspect.isawaitable(call)
    assert isinstance(call, collections.abc.Coroutine)
    assert asyncio.run(call) is None  # the middleware returns None, as the coroutine does
    assert log == ["acme"]
    if apikee.implementation == "native" and _core.IMPLEMENTATION == "native":
        assert type(call).__name__ == "AsgiCall"  # the compiled entry point (_asgi_c.pxi)


def test_send_forwards_values_and_the_end(key) -> None:
    apikee, token = key
    seen = []

    async def app(scope, receive, send) -> None:
        seen.append(await Pause("first"))
        seen.append(await Pause("second"))

    call = ApikeeMiddleware(app, apikee=apikee)(http_scope(token), receive, collector()[1])
    iterator = call.__await__()
    assert iterator.send(None) == "first"
    assert iterator.send(1) == "second"
    with pytest.raises(StopIteration) as stop:
        iterator.send(2)
    assert stop.value.value is None
    assert seen == [1, 2]
    with pytest.raises(RuntimeError):  # a finished coroutine cannot be resumed
        iterator.send(None)
    # next() and send() on the awaitable itself
    seen.clear()
    call = ApikeeMiddleware(app, apikee=apikee)(http_scope(token), receive, collector()[1])
    assert call.send(None) == "first"
    assert next(call.__await__()) == "second"
    with pytest.raises(StopIteration):
        call.send(None)
    assert seen == [None, None]


def test_throw_goes_to_the_app(key) -> None:
    apikee, token = key
    log = []

    async def app(scope, receive, send) -> None:
        try:
            await Pause("waiting")
        except ValueError as error:
            log.append(str(error))
            await Pause("again")
        raise KeyError("out")

    call = ApikeeMiddleware(app, apikee=apikee)(http_scope(token), receive, collector()[1])
    assert call.send(None) == "waiting"
    assert call.throw(ValueError("in")) == "again"
    assert log == ["in"]
    with pytest.raises(KeyError):
        call.send(None)
    # an error the app does not catch propagates unchanged
    call = ApikeeMiddleware(app, apikee=apikee)(http_scope(token), receive, collector()[1])
    call.send(None)
    with pytest.raises(OSError, match="boom"):
        call.throw(OSError("boom"))
    # thrown before it started: the app never runs
    log.clear()
    call = ApikeeMiddleware(app, apikee=apikee)(http_scope(token), receive, collector()[1])
    with pytest.raises(ValueError):
        call.throw(ValueError("early"))
    assert log == []


def test_an_apikee_error_thrown_in_is_answered_on_http(key) -> None:
    apikee, token = key

    async def app(scope, receive, send) -> None:
        await Pause("waiting")

    sent, send = collector()
    call = ApikeeMiddleware(app, apikee=apikee)(http_scope(token), receive, send)
    call.send(None)
    with pytest.raises(StopIteration):
        call.throw(ApikeeError("REVOKED", "revoked"))
    assert statuses(sent) == [401]
    # on a websocket it propagates
    sent, send = collector()
    call = ApikeeMiddleware(app, apikee=apikee)(http_scope(token, "websocket"), receive, send)
    call.send(None)
    with pytest.raises(ApikeeError):
        call.throw(ApikeeError("REVOKED", "revoked"))
    assert sent == []


def test_close_closes_the_app(key) -> None:
    apikee, token = key
    log = []

    async def app(scope, receive, send) -> None:
        try:
            await Pause("waiting")
        finally:
            log.append("closed")

    call = ApikeeMiddleware(app, apikee=apikee)(http_scope(token), receive, collector()[1])
    call.send(None)
    call.close()
    assert log == ["closed"]
    call.close()  # twice is fine
    with pytest.raises(RuntimeError):
        call.send(None)
    # closing one that never started
    call = ApikeeMiddleware(app, apikee=apikee)(http_scope(token), receive, collector()[1])
    call.close()
    del call
    gc.collect()


def test_cancellation_propagates(key) -> None:
    apikee, token = key
    log = []

    async def app(scope, receive, send) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log.append("cancelled")
            raise

    async def main() -> None:
        middleware = ApikeeMiddleware(app, apikee=apikee)
        task = asyncio.ensure_future(middleware(http_scope(token), receive, collector()[1]))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        # awaited from a coroutine of the server's own
        async def server() -> None:
            await middleware(http_scope(token), receive, collector()[1])

        task = asyncio.ensure_future(server())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert log == ["cancelled", "cancelled"]


def test_cancelled_while_answering_an_app_error(key) -> None:
    apikee, token = key

    async def app(scope, receive, send) -> None:
        raise ApikeeError("REVOKED", "revoked")

    async def slow_send(message) -> None:
        await asyncio.sleep(10)

    async def main() -> None:
        middleware = ApikeeMiddleware(app, apikee=apikee)
        task = asyncio.ensure_future(middleware(http_scope(token), receive, slow_send))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_app_errors_before_and_after_the_response(key) -> None:
    apikee, token = key

    async def early(scope, receive, send) -> None:
        await Pause(None)
        raise ApikeeError("INSUFFICIENT_SCOPE", "needs billing")

    async def late(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ApikeeError("REVOKED", "too late")

    sent, send = collector()

    async def run(app, send, kind="http") -> None:
        await ApikeeMiddleware(app, apikee=apikee)(http_scope(token, kind), receive, send)

    asyncio.run(run(early, send))
    assert statuses(sent) == [403]
    assert sent[-1]["body"].startswith(b'{"error":"INSUFFICIENT_SCOPE"')

    sent = []

    async def refusing(message) -> None:  # a server: one response start only
        if sent and message["type"] == "http.response.start":
            raise RuntimeError("response already started")
        sent.append(message)

    with pytest.raises(ApikeeError) as raised:
        asyncio.run(run(late, refusing))
    assert raised.value.code == "REVOKED"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert statuses(sent) == [200]
    # on a websocket the app's error propagates
    sent, send = collector()
    with pytest.raises(ApikeeError):
        asyncio.run(run(early, send, "websocket"))
    assert sent == []


def test_apps_whose_awaitable_is_not_a_coroutine(key) -> None:
    apikee, token = key

    class Responder:  # an awaitable object, not a coroutine
        def __init__(self, scope, receive, send):
            self.send = send

        def __await__(self):
            yield from Pause("tick").__await__()
            yield from self.send({"type": "http.response.start", "status": 204}).__await__()
            yield from self.send({"type": "http.response.body", "body": b""}).__await__()

    sent, send = collector()
    call = ApikeeMiddleware(Responder, apikee=apikee)(http_scope(token), receive, send)
    assert call.send(None) == "tick"
    with pytest.raises(StopIteration):
        call.send(None)
    assert statuses(sent) == [204]

    def refusing(scope, receive, send):  # raises before returning an awaitable
        raise ApikeeError("INSUFFICIENT_SCOPE", "needs billing")

    sent, send = collector()
    asyncio.run(_await(ApikeeMiddleware(refusing, apikee=apikee)(http_scope(token), receive, send)))
    assert statuses(sent) == [403]

    def broken(scope, receive, send):
        return 42

    with pytest.raises(TypeError):
        asyncio.run(
            _await(ApikeeMiddleware(broken, apikee=apikee)(http_scope(token), receive, send))
        )


async def _await(awaitable) -> None:
    await awaitable


def test_many_calls_do_not_leak(key) -> None:
    apikee, token = key

    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = ApikeeMiddleware(app, apikee=apikee)
    sent, send = collector()

    async def main(count: int) -> None:
        for _ in range(count):
            await middleware(http_scope(token), receive, send)
            sent.clear()

    asyncio.run(main(100))
    gc.collect()
    before = len(gc.get_objects())
    asyncio.run(main(2000))
    gc.collect()
    assert len(gc.get_objects()) - before < 100


def test_a_subclass_may_wrap_the_entry_point(key) -> None:
    apikee, token = key
    log = []

    async def app(scope, receive, send) -> None:
        log.append("app")

    class Logged(ApikeeMiddleware):
        async def __call__(self, scope, receive, send) -> None:
            log.append("subclass")
            await super().__call__(scope, receive, send)

    middleware = Logged(app, apikee=apikee)
    assert asyncio.iscoroutinefunction(middleware.__call__)
    asyncio.run(middleware(http_scope(token), receive, collector()[1]))
    asyncio.run(middleware.__call__(http_scope(token), receive, collector()[1]))
    assert log == ["subclass", "app"] * 2


def test_the_entry_point_takes_any_call_form(key) -> None:
    """Native core: instances are called with vectorcall (no argument tuple); keywords, a wrong
    number of arguments, a subclass, and a ``__call__`` given to the class later all behave as
    the type's own ``__call__`` does."""
    apikee, token = key
    log = []

    async def app(scope, receive, send) -> None:
        log.append(scope["apikee"].tenant)

    class Plain(ApikeeMiddleware):  # keeps the entry point: gets the vectorcall one too
        pass

    middleware = Plain(app, apikee=apikee)
    asyncio.run(middleware(http_scope(token), receive, collector()[1]))
    asyncio.run(middleware(http_scope(token), receive=receive, send=collector()[1]))
    asyncio.run(middleware(scope=http_scope(token), receive=receive, send=collector()[1]))
    assert log == ["acme"] * 3
    for args in ((), (http_scope(token),), (http_scope(token), receive, None, None)):
        with pytest.raises(TypeError):
            middleware(*args)
    with pytest.raises(TypeError):
        middleware(http_scope(token), receive, collector()[1], extra=1)

    async def replaced(self, scope, receive, send) -> None:
        log.append("replaced")

    Plain.__call__ = replaced  # the class's own __call__ from now on, for every instance
    asyncio.run(middleware(http_scope(token), receive, collector()[1]))
    asyncio.run(Plain(app, apikee=apikee)(http_scope(token), receive, collector()[1]))
    assert log[3:] == ["replaced"] * 2
    del Plain.__call__
    asyncio.run(middleware(http_scope(token), receive, collector()[1]))
    assert log[5:] == ["acme"]


def test_enable_vectorcall_refuses_other_classes() -> None:
    if _core.IMPLEMENTATION != "native":
        pytest.skip("the native core's entry point")
    native = _core.load_backend("native")
    with pytest.raises(TypeError):
        native.enable_vectorcall(dict)

    class Own(ApikeeMiddleware):
        def __call__(self, scope, receive, send):
            return None

    assert native.enable_vectorcall(Own) is False
    plain = type("Plain", (ApikeeMiddleware,), {})
    assert native.enable_vectorcall(plain) is True
    vectorcall = 1 << 11  # Py_TPFLAGS_HAVE_VECTORCALL: given as the class is created
    assert ApikeeMiddleware.__flags__ & vectorcall and plain.__flags__ & vectorcall
    assert not Own.__flags__ & vectorcall


# ── the compiled entry point against the coroutine, request by request ────────────────────

_APP_BEHAVIOURS = ["ok", "refuses-before", "refuses-after", "fails", "silent"]


def _entry_app(behaviour: str):
    async def app(scope, receive, send) -> None:
        if behaviour == "refuses-before":
            raise ApikeeError(ErrorCode.INSUFFICIENT_SCOPE, "the app wants more")
        if behaviour == "fails":
            raise ValueError("the app broke")
        if behaviour == "silent":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if behaviour == "refuses-after":
            raise ApikeeError(ErrorCode.INSUFFICIENT_SCOPE, "too late to answer")
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def _run_entry(call, scope: dict) -> tuple:
    """What one request did: the messages sent (RateLimit values dropped: they count down),
    how it ended, and the claims left in the scope."""
    sent, send = collector()
    try:
        asyncio.run(call(scope, receive, send))
        ended = "returned"
    except ApikeeError as error:
        ended = ("ApikeeError", error.code)
    except Exception as error:
        ended = (type(error).__name__, str(error))
    messages = []
    for message in sent:
        message = dict(message)
        if "headers" in message:
            message["headers"] = [
                (name, b"" if name.startswith(b"ratelimit") else value)
                for name, value in message["headers"]
            ]
        messages.append(message)
    claims = scope.get("apikee")
    return messages, ended, None if claims is None else claims.tenant


@given(
    kind=st.sampled_from(["http", "websocket", "lifespan"]),
    path=st.sampled_from(["/data", "/health", "/open/x"]),
    credential=st.sampled_from(
        ["valid", "limited", "forged", "expired", "test-env", "none", "bearer", "bearer-junk"]
    ),
    required=st.sampled_from([(), ("read",), ("write",)]),
    behaviour=st.sampled_from(_APP_BEHAVIOURS),
)
def test_the_compiled_entry_and_the_coroutine_agree(kind, path, credential, required, behaviour):
    """Native core: calling the middleware (AsgiEntry, in C) and awaiting its pure coroutine
    (ApikeeMiddleware._call) give the same messages, the same end and the same claims, for
    every kind of connection, open path, key and app behaviour."""
    if _core.IMPLEMENTATION != "native":
        pytest.skip("the native core's entry point")
    from apikee import Apikee

    outcomes = []
    for entry in ("compiled", "coroutine"):
        apikee = Apikee(secret=SECRET, implementation="native", environment="live")
        keys = {
            "valid": apikee.create("acme", scopes=["read"], environment="live"),
            "limited": apikee.create(
                "acme", scopes=["read"], environment="live", rate_limit="1000/1m"
            ),
            "forged": Apikee(secret=OTHER_SECRET).create("acme"),
            "expired": apikee.create("acme", environment="live", expires_in=-60),
            "test-env": apikee.create("acme", environment="test"),
        }
        headers = []
        if credential in keys:
            headers = [(b"x-api-key", keys[credential].encode())]
        elif credential == "bearer":
            headers = [(b"authorization", b"Bearer " + keys["valid"].encode())]
        elif credential == "bearer-junk":
            headers = [(b"authorization", b"Bearer junk")]
        middleware = ApikeeMiddleware(
            _entry_app(behaviour),
            apikee=apikee,
            exclude_paths=["/health"],
            exclude_prefixes=["/open"],
            scopes=required,
        )
        scope = {"type": kind, "path": path, "root_path": "", "headers": headers}
        call = middleware if entry == "compiled" else middleware._call
        outcomes.append(_run_entry(call, scope))
    assert outcomes[0] == outcomes[1]
