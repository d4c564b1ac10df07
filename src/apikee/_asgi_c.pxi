# Included by _core_c.pyx (one extension module): the ASGI middleware's per-request work, the
# twin of _asgi_gate.py (and of _header.scan_headers): the header scan and the request gate.
# Everything here is what the pure functions do, in C for the shapes servers send (a dict scope,
# a list of 2-tuples of bytes); any other shape is handed to the pure twin whole, so results and
# exceptions are its own.

cdef extern from "Python.h":
    # Borrowed references, for the loops below that must not count references per item.
    PyTypeObject PyTuple_Type
    PyTypeObject PyBytes_Type
    PyTypeObject PyDict_Type
    PyTypeObject *Py_TYPE(PyObject *obj)
    Py_ssize_t Py_SIZE(PyObject *obj)
    Py_ssize_t PyList_GET_SIZE(object lst)
    PyObject *PyList_GET_ITEM(object lst, Py_ssize_t i)
    PyObject *PyTuple_GET_ITEM(PyObject *tup, Py_ssize_t i)
    char *_bytes_data "PyBytes_AS_STRING" (PyObject *obj)
    # NULL with no exception set when the key is absent (PyDict_GetItem would also hide an
    # exception, at the cost of saving and restoring the error state on every call).
    PyObject *PyDict_GetItemWithError(object d, object key) except? NULL
    int PyDict_SetItem(object d, object key, object value) except -1


def has_policy_claims(claims):
    """Whether ``claims`` (an :class:`ApikeeClaims`) carry a policy claim, ``rl`` or ``ip``
    (docs/SPEC.md section 8): the integrations look a key's policy up only then, or when the
    Apikee has limits of its own."""
    if type(claims) is ApikeeClaims:
        return (<ApikeeClaims>claims)._policed
    wire = claims.to_dict()
    return _K_RL in wire or _K_IP in wire


cdef inline bint _blank(const unsigned char *s, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if s[i] != c' ' and s[i] != c'\t':
            return False
    return True


def scan_headers(headers, name):
    """One pass over ASGI ``headers`` (an iterable of ``(name, value)`` byte pairs):
    ``(key, authorization)``. ``key``: the :func:`first_value` of the first header ``name``
    that has one (the scan stops there); ``authorization``: the raw value of the first
    ``authorization`` header before it that is not blank, else None. Names compare exactly
    (ASGI servers send them lower-cased)."""
    return _scan(headers, name, True)


cdef object _scan(object headers, object name, bint pair):
    # scan_headers() when ``pair``; else, for the gate, no tuple on the usual path: the key
    # (bytes) when one is found (the gate has no use for the authorization header then), None
    # when there is neither, and (None, authorization) (or the pure function's pair) otherwise.
    # In C for what servers send (a list of 2-tuples of bytes); anything else, from the start,
    # by the pure function (_header.py, the definition), so results and errors are its own.
    # The items are read as borrowed references (no reference counting per header): nothing
    # between reading an item and the last use of it runs Python code, except first_value(),
    # after which only its own result is used, and the list's size is read again every turn.
    if type(headers) is not list or type(name) is not bytes:
        return _scan_headers_py(headers, name)
    cdef Py_ssize_t wanted = PyBytes_GET_SIZE(name), size, i = 0
    cdef const char *target = PyBytes_AS_STRING(name)
    cdef const unsigned char *raw
    cdef PyObject *item
    cdef PyObject *item_name
    cdef PyObject *value
    authorization = None
    while i < PyList_GET_SIZE(headers):
        item = PyList_GET_ITEM(headers, i)
        i += 1
        if Py_TYPE(item) != &PyTuple_Type or Py_SIZE(item) != 2:
            return _scan_headers_py(headers, name)
        item_name = PyTuple_GET_ITEM(item, 0)
        value = PyTuple_GET_ITEM(item, 1)
        if Py_TYPE(item_name) != &PyBytes_Type or Py_TYPE(value) != &PyBytes_Type:
            return _scan_headers_py(headers, name)
        size = Py_SIZE(item_name)
        if size == wanted and memcmp(_bytes_data(item_name), target, size) == 0:
            raw = <const unsigned char *>_bytes_data(value)
            size = Py_SIZE(value)
            if (
                size > 0 and raw[0] != c' ' and raw[0] != c'\t' and raw[size - 1] != c' '
                and raw[size - 1] != c'\t' and memchr(raw, c',', size) == NULL
            ):
                found = <object>value  # its first_value() is itself
                return (found, authorization) if pair else found
            found = first_value(<object>value)
            if found:
                return (found, authorization) if pair else found
        elif (
            size == 13 and authorization is None
            and memcmp(_bytes_data(item_name), b"authorization", 13) == 0
            and not _blank(<const unsigned char *>_bytes_data(value), Py_SIZE(value))
        ):
            authorization = <object>value
    return (None, authorization) if pair or authorization is not None else None


# ── the request gate ───────────────────────────────────────────────────────────────────────

cdef str _S_TYPE = "type", _S_PATH = "path", _S_ROOT = "root_path", _S_HEADERS = "headers"
cdef str _S_STATE = "state", _S_APIKEE = "apikee", _S_HTTP = "http", _S_WEBSOCKET = "websocket"


@cython.final
@cython.freelist(4)
cdef class _Refusal:
    """An ApikeeError the gate found, returned to the middleware instead of raised."""

    cdef object error


cdef inline _Refusal _refusal(object error):
    cdef _Refusal refusal = _Refusal.__new__(_Refusal)
    refusal.error = error
    return refusal


cdef class AsgiGate:
    """The per-request key check of :class:`apikee.asgi.ApikeeMiddleware`, bound once.

    ``AsgiGate(header, exact, prefix_open, bearer, verify, after, always)``: ``header`` is the
    key header's name (lower-case bytes); ``exact`` the open paths (a frozenset);
    ``prefix_open`` None or a callable telling whether a path is open by prefix; ``bearer``:
    also read ``Authorization: Bearer``; ``verify(key)`` returns the claims;
    ``after(claims, scope, path)`` is the scopes and policy step (it returns extra response
    headers or None, and raises ApikeeError to refuse), called when ``always`` is true or the
    claims carry a policy claim.
    """

    cdef bytes _header
    cdef frozenset _exact
    cdef object _prefix_open
    cdef bint _bearer
    cdef object _verify
    cdef object _after
    cdef bint _always
    cdef bint _has_exact
    cdef object _pure  # the same gate in Python, for scopes of another shape
    cdef Verifier _verifier  # the Verifier whose own verify ``verify`` is, else None

    def __init__(self, header, exact, prefix_open, bearer, verify, after, always):
        self._pure = _PureAsgiGate(header, exact, prefix_open, bearer, verify, after, always)
        self._header = header
        self._exact = exact
        self._prefix_open = prefix_open
        self._bearer = bool(bearer)
        self._verify = verify
        self._after = after
        self._always = bool(always)
        self._has_exact = len(exact) > 0
        owner = getattr(verify, "__self__", None)
        if type(owner) is Verifier and verify == owner.verify:
            self._verifier = owner  # called in C: see _check

    def check(self, scope):
        """One request: None when it needs no key (not http/websocket, or an open path), False
        when it carries none, else its verified claims (also stored in
        ``scope["state"]["apikee"]`` and ``scope["apikee"]``), or ``(claims, headers)`` when
        the ``after`` step added response headers; an ApikeeError when the key is refused."""
        found = self._check(scope)
        if type(found) is _Refusal:
            raise (<_Refusal>found).error
        return found

    cdef object _check(self, object scope):
        # check(), except that a key the verifier refuses gives a _Refusal holding the error
        # (not raised: a raise and its catch cost more than the rest of the refusal); errors
        # raised by the callables it was given (after, prefix_open, a verify of another kind,
        # the verifier's hooks and policy) propagate.
        if type(scope) is not dict:
            return self._pure.check(scope)
        cdef PyObject *kind = PyDict_GetItemWithError(scope, _S_TYPE)
        cdef PyObject *found
        if kind == NULL:
            return self._pure.check(scope)  # its KeyError
        if kind != <PyObject *>_S_HTTP and kind != <PyObject *>_S_WEBSOCKET:
            kind_owned = <object>kind  # held while its __eq__ runs (it could be any object)
            if not (kind_owned == _S_HTTP or kind_owned == _S_WEBSOCKET):
                return None
        found = PyDict_GetItemWithError(scope, _S_PATH)
        if found == NULL:
            return self._pure.check(scope)
        path = <object>found
        found = PyDict_GetItemWithError(scope, _S_ROOT)
        if found != NULL:
            root = <object>found  # held while its truth is tested
            if root:
                path = route_path(scope)
        if (self._has_exact and path in self._exact) or (
            self._prefix_open is not None and self._prefix_open(path)
        ):
            return None
        found = PyDict_GetItemWithError(scope, _S_HEADERS)
        if found == NULL:
            return self._pure.check(scope)
        key = _scan(<object>found, self._header, False)
        if type(key) is not bytes:
            if key is None:
                return False
            key, authorization = key
            if key is None:
                if authorization is None or not self._bearer:
                    return False
                key = bearer_token(authorization)
                if key is None:
                    return False
        cdef Verifier verifier = self._verifier
        if verifier is None:
            claims = self._verify(key)
        else:
            # verify(key) itself without the method call (Verifier._verified), its failure
            # returned as verify() would raise it.
            claims = verifier._verified(key, None, None, False)
            if type(claims) is not ApikeeClaims:
                return _refusal(claims)
        extra = None
        if self._always or (
            (<ApikeeClaims>claims)._policed if type(claims) is ApikeeClaims
            else has_policy_claims(claims)
        ):
            extra = self._after(claims, scope, path)
        found = PyDict_GetItemWithError(scope, _S_STATE)
        if found == NULL or <object>found is None:
            state = {}
            PyDict_SetItem(scope, _S_STATE, state)
        else:
            state = <object>found
        if Py_TYPE(<PyObject *>state) == &PyDict_Type:
            PyDict_SetItem(state, _S_APIKEE, claims)
        else:
            state[_S_APIKEE] = claims
        PyDict_SetItem(scope, _S_APIKEE, claims)
        return claims if extra is None else (claims, extra)


# ── the middleware's entry and its awaitable ───────────────────────────────────────────────
# The twin of ApikeeMiddleware._call (asgi.py, the definition): the same steps without a Python
# coroutine frame on the success path. AsgiEntry.__call__ runs the gate and calls the app; the
# AsgiCall it returns is awaited in place of the app's awaitable and forwards every step to it,
# answering an ApikeeError the app raises on http with the middleware's own response.

cdef extern from "Python.h":
    int PyIter_Send(object iterator, object arg, PyObject **presult) except -1
    bint PyCoro_CheckExact(object obj)
    bint PyGen_CheckExact(object obj)
    bint PyIter_Check(object obj)

cdef extern from *:
    """
    /* AsgiCall's tp_iternext and am_send, around _asgi_send (set by apikee_asgi_install): the
       end of the awaited iterator is reported without raising StopIteration (an exception
       raised from Cython code costs a traceback entry, a frame object among others). */
    typedef int (*apikee_send_fn)(PyObject *, PyObject *, PyObject **);
    static apikee_send_fn apikee_asgi_send_impl = NULL;

    static PySendResult apikee_asgi_am_send(PyObject *self, PyObject *arg, PyObject **presult) {
        int sent;
        *presult = NULL;
        sent = apikee_asgi_send_impl(self, arg, presult);
        if (sent < 0) {
            *presult = NULL;
            return PYGEN_ERROR;
        }
        return sent ? PYGEN_NEXT : PYGEN_RETURN;
    }

    static PyObject *apikee_asgi_iternext(PyObject *self) {
        PyObject *result = NULL, *stop;
        int sent = apikee_asgi_send_impl(self, Py_None, &result);
        if (sent < 0) {
            return NULL;
        }
        if (sent) {
            return result;
        }
        if (result != Py_None) {  /* StopIteration(value); None is the end without one */
            stop = PyObject_CallOneArg(PyExc_StopIteration, result);
            if (stop != NULL) {
                PyErr_SetObject(PyExc_StopIteration, stop);
                Py_DECREF(stop);
            }
        }
        Py_DECREF(result);
        return NULL;
    }

    static void apikee_asgi_install(PyTypeObject *type, apikee_send_fn send) {
        apikee_asgi_send_impl = send;
        type->tp_iternext = apikee_asgi_iternext;
        if (type->tp_as_async != NULL) {
            type->tp_as_async->am_send = apikee_asgi_am_send;
        }
        PyType_Modified(type);
    }
    """
    ctypedef int (*apikee_send_fn)(PyObject *, PyObject *, PyObject **)
    void apikee_asgi_install(PyTypeObject *type, apikee_send_fn send)

cdef int _CO_ITERABLE_COROUTINE = 0x100


cdef object _await_iter(object awaitable):
    """What ``await awaitable`` iterates: a coroutine itself, else its ``__await__()``."""
    if PyCoro_CheckExact(awaitable):
        return awaitable
    if PyGen_CheckExact(awaitable) and awaitable.gi_code.co_flags & _CO_ITERABLE_COROUTINE:
        return awaitable  # a generator-based coroutine (types.coroutine)
    method = getattr(type(awaitable), "__await__", None)
    if method is None:
        raise TypeError(
            f"object {type(awaitable).__name__} can't be used in 'await' expression"
        )
    iterator = method(awaitable)
    if PyCoro_CheckExact(iterator) or not PyIter_Check(iterator):
        raise TypeError(f"__await__() returned a non-iterator or a coroutine ({iterator!r})")
    return iterator


@cython.final
@cython.freelist(8)
cdef class AsgiCall:
    """One request of the middleware, awaited in place of the app's awaitable (a coroutine's
    ``__await__``, ``send``, ``throw`` and ``close``). An error the app raises goes to the
    middleware's ``_refused``, as in ``ApikeeMiddleware._call``."""

    cdef object _it  # the iterator awaited: the app's, then the middleware's reject; None: done
    cdef object _mw
    cdef object _scope
    cdef object _receive
    cdef object _send
    cdef bint _answering  # the awaited iterator is the middleware's _refused, not the app's

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):  # the slot itself is apikee_asgi_iternext (see above)
        return self.send(None)

    def send(self, value):
        cdef PyObject *result = NULL
        sent = _asgi_send(self, value, &result)
        out = <object>result
        Py_XDECREF(result)
        if sent:
            return out
        if out is None:
            raise StopIteration
        raise StopIteration(out)

    def throw(self, typ, val=None, tb=None):
        it = self._it
        if it is None:
            _raise(typ, val, tb)
        method = getattr(it, "throw", None)
        try:
            if method is None:
                _raise(typ, val, tb)  # raised here, as `await` does for such an iterator
            if val is None and tb is None:
                return method(typ)
            return method(typ, val, tb)
        except StopIteration:
            self._it = None
            raise
        except Exception as error:
            self._switch(error)
            return self.send(None)
        except BaseException:
            self._it = None
            raise

    def close(self):
        it = self._it
        self._it = None
        if it is not None:
            method = getattr(it, "close", None)
            if method is not None:
                method()

    cdef _switch(self, error):
        # The awaited iterator raised `error` (an Exception). From the app: await the
        # middleware's _refused(error) instead (which answers it, or raises it); from that: it
        # is the error to raise.
        self._it = None
        if self._answering:
            raise error
        self._answering = True
        mw = self._mw
        self._it = mw._refused(error, self._scope, self._receive, self._send)


cdef int _asgi_send(object call, object value, PyObject **presult) except -1:
    # One step of an AsgiCall: 1 with the value yielded, 0 with the value returned (in
    # *presult, a new reference), or -1 with the exception raised.
    cdef AsgiCall self = <AsgiCall>call
    cdef int sent
    it = self._it
    if it is None:
        raise RuntimeError("cannot reuse already awaited coroutine")
    try:
        sent = PyIter_Send(it, value, presult)
    except Exception as error:
        self._switch(error)
        return _asgi_send(self, None, presult)
    except BaseException:
        self._it = None
        raise
    if sent != 1:
        self._it = None
        Py_XDECREF(presult[0])  # the app's return value: the middleware returns None
        Py_INCREF(None)
        presult[0] = <PyObject *>None
    return sent


apikee_asgi_install(<PyTypeObject *>AsgiCall, <apikee_send_fn>_asgi_send)


cdef _raise(typ, val, tb):
    if isinstance(typ, BaseException):
        raise typ
    if val is None:
        raise typ
    if not isinstance(val, BaseException):
        val = typ(val)
    if tb is not None:
        raise val.with_traceback(tb)
    raise val


cdef extern from *:
    """
    /* The middleware instance called with vectorcall (PEP 590): the server's
       `await app(scope, receive, send)` then builds no argument tuple. CPython reads the
       function from each instance (tp_vectorcall_offset); NULL there means tp_call. The function
       checks on every call that the type's tp_call is still AsgiEntry's (a subclass or a later
       assignment may give the class its own __call__): if not, or for any other arguments, the
       call goes to the type's tp_call, with a tuple and a dict, exactly as without vectorcall. */
    typedef PyObject *(*apikee_entry_fn)(PyObject *, PyObject *, PyObject *, PyObject *);
    static apikee_entry_fn apikee_entry_impl = NULL;
    static ternaryfunc apikee_entry_tp_call = NULL;

    static PyObject *apikee_entry_vectorcall(PyObject *self, PyObject *const *args,
                                             size_t nargsf, PyObject *kwnames) {
        Py_ssize_t nargs = PyVectorcall_NARGS(nargsf), nkw, i;
        ternaryfunc call = Py_TYPE(self)->tp_call;
        PyObject *tuple, *kwargs = NULL, *result;
        nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
        if (call == apikee_entry_tp_call && nargs == 3 && nkw == 0) {
            return apikee_entry_impl(self, args[0], args[1], args[2]);
        }
        if (call == NULL) {
            PyErr_Format(PyExc_TypeError, "'%.200s' object is not callable",
                         Py_TYPE(self)->tp_name);
            return NULL;
        }
        tuple = PyTuple_New(nargs);
        if (tuple == NULL) {
            return NULL;
        }
        for (i = 0; i < nargs; i++) {
            Py_INCREF(args[i]);
            PyTuple_SET_ITEM(tuple, i, args[i]);
        }
        if (nkw > 0) {
            kwargs = PyDict_New();
            if (kwargs == NULL) {
                Py_DECREF(tuple);
                return NULL;
            }
            for (i = 0; i < nkw; i++) {
                if (PyDict_SetItem(kwargs, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0) {
                    Py_DECREF(tuple);
                    Py_DECREF(kwargs);
                    return NULL;
                }
            }
        }
        result = call(self, tuple, kwargs);
        Py_DECREF(tuple);
        Py_XDECREF(kwargs);
        return result;
    }

    /* Set once, while the module is imported. */
    static void apikee_entry_setup(PyTypeObject *base, apikee_entry_fn impl) {
        apikee_entry_impl = impl;
        apikee_entry_tp_call = base->tp_call;
    }

    /* Give `type` (a subclass of AsgiEntry that keeps AsgiEntry's __call__) the vectorcall
       entry; `offset` is where an instance keeps the function. 0 when not given. Called when
       the class is created, before it has instances (so no thread can be calling one). */
    static int apikee_entry_enable(PyTypeObject *type, Py_ssize_t offset) {
        if (apikee_entry_tp_call == NULL || type->tp_call != apikee_entry_tp_call) {
            return 0;
        }
        type->tp_vectorcall_offset = offset;
        type->tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL;
        return 1;
    }
    """
    ctypedef PyObject *(*vectorcallfunc)(PyObject *, PyObject **, size_t, PyObject *)
    ctypedef PyObject *(*apikee_entry_fn)(
        PyObject *, PyObject *, PyObject *, PyObject *
    ) except NULL
    PyObject *apikee_entry_vectorcall(PyObject *, PyObject **, size_t, PyObject *)
    void apikee_entry_setup(PyTypeObject *base, apikee_entry_fn impl)
    int apikee_entry_enable(PyTypeObject *type, Py_ssize_t offset)


cdef PyObject *_entry_call(PyObject *self, PyObject *scope, PyObject *receive,
                           PyObject *send) except NULL:
    result = (<AsgiEntry>self)._enter(<object>scope, <object>receive, <object>send)
    Py_INCREF(result)
    return <PyObject *>result


def enable_vectorcall(cls):
    """Give ``cls`` (:class:`apikee.asgi.ApikeeMiddleware`, or a subclass, as it is created and
    before it has instances) the vectorcall entry point: its instances are then called without
    an argument tuple. True when done (False for a class with a ``__call__`` of its own)."""
    if not (isinstance(cls, type) and issubclass(cls, AsgiEntry)):
        raise TypeError("not a subclass of AsgiEntry")
    cdef AsgiEntry probe = AsgiEntry.__new__(AsgiEntry)
    cdef Py_ssize_t offset = <char *>&probe._vectorcall - <char *><PyObject *>probe
    return bool(apikee_entry_enable(<PyTypeObject *>cls, offset))


cdef class AsgiEntry:
    """The base of :class:`apikee.asgi.ApikeeMiddleware` on the native core: its ``__call__``
    in C. With a compiled gate bound (``_use_gate``) it does what ``ApikeeMiddleware._call``
    does, returning the middleware's coroutines off the success path and an :class:`AsgiCall`
    on it; without one it returns ``_call(scope, receive, send)``."""

    cdef vectorcallfunc _vectorcall  # read by CPython (see enable_vectorcall); first field
    cdef public object app
    cdef AsgiGate _native_gate

    def __cinit__(self):
        self._vectorcall = <vectorcallfunc>apikee_entry_vectorcall

    def _use_gate(self, gate):
        """Bind ``gate`` when it is the compiled AsgiGate (else the pure ``_call`` is used)."""
        self._native_gate = gate if type(gate) is AsgiGate else None

    def __call__(self, scope, receive, send):
        return self._enter(scope, receive, send)

    cdef object _enter(self, object scope, object receive, object send):
        gate = self._native_gate
        if gate is None:
            return self._call(scope, receive, send)
        try:
            found = gate._check(scope)
        except ApikeeError as error:
            return self._reject(self._response(error), scope, receive, send)
        if type(found) is not ApikeeClaims:
            if found is None:  # lifespan and future types, open paths, the metrics path
                return self._open(scope, receive, send)
            if found is False:
                return self._no_key(scope, receive, send)
            if type(found) is _Refusal:
                error = (<_Refusal>found).error
                return self._reject(self._response(error), scope, receive, send)
            if type(found) is tuple:
                send = self._with_headers(send, (<tuple>found)[1])
        try:
            it = _await_iter(self.app(scope, receive, send))
        except Exception as error:
            return self._refused(error, scope, receive, send)
        cdef AsgiCall call = AsgiCall.__new__(AsgiCall)
        call._it = it
        call._mw = self
        call._scope = scope
        call._receive = receive
        call._send = send
        return call


apikee_entry_setup(<PyTypeObject *>AsgiEntry, _entry_call)
