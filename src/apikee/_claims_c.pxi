# Included by _core_c.pyx (one extension module): the claims object and the type checks of
# docs/SPEC.md section 1, the twin of _claims_py.py.

# ── claims ──────────────────────────────────────────────────────────────────────────────────


@cython.freelist(16)  # verify() makes one per call; Cython compiles this out without a GIL
cdef class ApikeeClaims:
    """The claims of a key, as plain Python data; read-only.

    Attributes: ``id``, ``tenant``, ``scopes`` (a list of str), ``environment``, ``exp``,
    ``nbf`` and ``iat`` (the raw unix-seconds numbers or ``None``), ``raw_key``, ``verified``
    (False for :func:`~apikee.decode_unverified` results and hand-built objects); properties
    ``expires_at``, ``not_before`` and ``issued_at`` (aware UTC datetimes, built only when read)
    and ``meta`` (a dict, decoded on first read). Lists and dicts are fresh per claims object:
    mutating them affects nothing else. ``to_dict()`` gives every claim of the payload under its
    wire name, unknown ones included; ``to_json_dict()`` the JSON-ready view under the attribute
    names.
    """

    cdef readonly object id
    cdef readonly object tenant
    cdef readonly object scopes
    cdef readonly object environment
    cdef readonly object exp
    cdef readonly object nbf
    cdef readonly object iat
    cdef readonly object raw_key
    cdef readonly bint verified
    # Every claim of the payload under its wire name. verify() leaves it None on its fast path
    # (_from_key): the payload is decoded again from raw_key (by the shared general decoder)
    # only when meta, to_dict(), == or pickling ask for it.
    cdef object _claims
    cdef bint _from_key
    # Whether the payload has an ``rl`` or ``ip`` claim: the verifier's policy check runs then.
    cdef bint _policed
    # exp and nbf as doubles (set with them by the verifier's builder): the window check of
    # step 9 reads these, not the Python numbers.
    cdef double _exp_seconds
    cdef double _nbf_seconds
    # Built on first read, then kept (the object is read-only); verify() never pays for them.
    # Each is computed, then published only if still unset, and read back, under the object's
    # critical section: with the GIL nothing else runs between that check and the store (the
    # section compiles to nothing); on a free-threaded build it is the object's lock, so a
    # value is never replaced once published (a reader can hold it) and threads racing on a
    # fresh object all get the object that was published first.
    cdef object _meta_view
    cdef object _expires_view
    cdef object _starts_view
    cdef object _issued_view

    def __init__(
        self,
        id="",
        tenant="",
        scopes=(),
        expires_at=None,
        not_before=None,
        environment="production",
        meta=None,
        raw_key="",
        *,
        exp=None,
        nbf=None,
        iat=None,
        verified=False,
    ):
        # The public constructor (tests, dependency overrides); verify() builds claims itself.
        if self._claims is not None or self._from_key:
            raise AttributeError("ApikeeClaims is read-only")
        wire = wire_from_arguments(
            id, tenant, scopes, expires_at, not_before, environment, meta, exp, nbf, iat
        )
        if type(raw_key) is not str:
            raise TypeError("raw_key must be a str")
        self.id = wire["id"]
        self.tenant = wire["tid"]
        self.scopes = list(wire["scp"])
        self.environment = wire["env"]
        self.exp = wire.get("exp")
        self.nbf = wire.get("nbf")
        self.iat = wire.get("iat")
        self.raw_key = raw_key
        self.verified = bool(verified)
        self._claims = wire

    @property
    def expires_at(self):
        """Expiry as an aware UTC datetime, or ``None`` for a key that never expires."""
        if self._expires_view is None and self.exp is not None:
            value = to_datetime(self.exp)
            with cython.critical_section(self):
                if self._expires_view is None:
                    self._expires_view = value
        with cython.critical_section(self):
            value = self._expires_view
        return value

    @property
    def not_before(self):
        """Start of validity as an aware UTC datetime, or ``None``."""
        if self._starts_view is None and self.nbf is not None:
            value = to_datetime(self.nbf)
            with cython.critical_section(self):
                if self._starts_view is None:
                    self._starts_view = value
        with cython.critical_section(self):
            value = self._starts_view
        return value

    @property
    def issued_at(self):
        """When the key was issued, as an aware UTC datetime: its ``iat`` claim if it has one,
        else the instant its time-ordered id carries (every key this library issues), else
        ``None`` (keys of 0.1.x)."""
        if self._issued_view is None:
            value = to_datetime(issued_at(self))
            with cython.critical_section(self):
                if self._issued_view is None:
                    self._issued_view = value
        with cython.critical_section(self):
            value = self._issued_view
        return value

    @property
    def meta(self):
        """The ``meta`` claim as a dict of plain JSON data (decoded on first read, then kept)."""
        if self._meta_view is None:
            value = deep_copy(self._wire().get("meta", {}))
            with cython.critical_section(self):
                if self._meta_view is None:
                    self._meta_view = value
        with cython.critical_section(self):
            value = self._meta_view
        return value

    cdef dict _wire(self):
        if self._claims is None:
            if not self._from_key:
                raise TypeError("this ApikeeClaims object was never initialised")
            value = _load_general(_payload_of(self.raw_key))
            with cython.critical_section(self):
                if self._claims is None:
                    self._claims = value
        with cython.critical_section(self):
            value = self._claims
        return value

    def has_scopes(self, *required, any_of=False):
        """Whether the key grants all (or, with ``any_of=True``, any) of the scopes.

        ``"*"`` grants every scope, ``"res:*"`` every ``"res:..."`` scope.
        """
        return scopes_satisfied(self.scopes, required, any_of=any_of)

    def to_dict(self):
        """A fresh mutable copy of every claim in the payload, under its wire name."""
        return deep_copy(self._wire())

    def to_json_dict(self):
        """A fresh JSON-ready dict under the attribute names: ``id, tenant, scopes, environment,
        expires_at, exp, not_before, nbf, issued_at, iat, meta`` (datetimes as ISO 8601 UTC
        strings or None)."""
        return json_view(self)

    def __repr__(self):
        return claims_repr(self)

    def __eq__(self, other):
        return claims_equal(self, other, _PublicClaims)

    def __hash__(self):
        return hash(self.raw_key)

    def __reduce__(self):
        return (_PublicClaims._restore, (self._wire(), self.raw_key, self.verified))


# isinstance(claims, apikee.ApikeeClaims) holds for these too (the public class is the pure one).
_PublicClaims.register(ApikeeClaims)


# The plain attributes as member descriptors (what __slots__ gives the pure class), in place of
# the getset descriptors Cython makes for ``cdef readonly``: CPython specialises reading a member
# descriptor (LOAD_ATTR_SLOT) and not a getset one, so ``claims.tenant`` costs a few ns instead
# of a C function call. Same values, same read-only errors; installed while the module is
# imported, before any object exists.
cdef extern from *:
    """
    #include <structmember.h>
    #define APIKEE_CLAIMS_MEMBERS 8
    static const char *const apikee_claims_member_names[APIKEE_CLAIMS_MEMBERS] = {
        "id", "tenant", "scopes", "environment", "exp", "nbf", "iat", "raw_key"};
    static PyMemberDef apikee_claims_members[APIKEE_CLAIMS_MEMBERS + 1];

    static int apikee_claims_use_members(PyTypeObject *type, const Py_ssize_t *offsets) {
        PyObject *dict, *descr;
        int i;
    #if PY_VERSION_HEX >= 0x030C0000
        dict = PyType_GetDict(type);
    #else
        dict = type->tp_dict;
        Py_XINCREF(dict);
    #endif
        if (dict == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_SystemError, "ApikeeClaims has no type dict");
            }
            return -1;
        }
        for (i = 0; i < APIKEE_CLAIMS_MEMBERS; i++) {
            PyMemberDef *def = &apikee_claims_members[i];
            def->name = apikee_claims_member_names[i];
            def->type = T_OBJECT_EX;
            def->offset = offsets[i];
            def->flags = READONLY;
            def->doc = NULL;
            descr = PyDescr_NewMember(type, def);
            if (descr == NULL || PyDict_SetItemString(dict, def->name, descr) < 0) {
                Py_XDECREF(descr);
                Py_DECREF(dict);
                return -1;
            }
            Py_DECREF(descr);
        }
        Py_DECREF(dict);
        PyType_Modified(type);
        return 0;
    }
    """
    int apikee_claims_use_members(PyTypeObject *type, const Py_ssize_t *offsets) except -1


cdef _use_member_descriptors():
    # Each attribute's offset in the object: found by storing a distinct marker object in it and
    # looking for that pointer among the object's words (Cython takes no address of an object
    # attribute, and its struct's C name is its own business).
    cdef ApikeeClaims probe = ApikeeClaims.__new__(ApikeeClaims)
    markers = [object() for _ in range(8)]
    probe.id, probe.tenant, probe.scopes, probe.environment = markers[:4]
    probe.exp, probe.nbf, probe.iat, probe.raw_key = markers[4:]
    cdef PyObject **words = <PyObject **><PyObject *>probe
    cdef Py_ssize_t count = ApikeeClaims.__basicsize__ // sizeof(PyObject *), i, j
    cdef Py_ssize_t offsets[8]
    for i in range(8):
        offsets[i] = -1
        for j in range(count):
            if words[j] == <PyObject *>markers[i]:
                offsets[i] = j * <Py_ssize_t>sizeof(PyObject *)
                break
        if offsets[i] < 0:
            raise SystemError("ApikeeClaims: an attribute was not found in its object")
    apikee_claims_use_members(<PyTypeObject *>ApikeeClaims, offsets)


_use_member_descriptors()


cdef inline object _claim_error(str name, str expected):
    return ApikeeError(_code.INVALID_CLAIMS, E.MSG_CLAIM_TYPE.format(name, expected))


cdef object _timestamp_claim(object value, str name, double *seconds):
    # The range check in C (no Python comparison, no global look-up): an int must fit a long
    # long and lie in range; a float must lie in range, which NaN and the infinities do not.
    # *seconds gets the value as a double (ints < 2**38 exactly).
    cdef int overflow = 0
    cdef long long whole
    if value is _MISSING:
        return None
    if type(value) is int:
        whole = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow == 0 and 0 <= whole <= APIKEE_MAX_TIMESTAMP:
            seconds[0] = <double>whole
            return value
    elif type(value) is float:
        seconds[0] = PyFloat_AS_DOUBLE(value)
        if 0.0 <= seconds[0] <= <double>APIKEE_MAX_TIMESTAMP:
            return value
    raise _claim_error(name, _wire.TIMESTAMP_RANGE)


cdef object _text_claim(object value, str name, str default):
    if value is _MISSING:
        return default
    if type(value) is not str:
        raise _claim_error(name, "a string")
    return value


def _claims_from_dict(claims, raw_key, verified=True):
    """Validate a decoded payload (docs/SPEC.md section 1 types) and build the claims object."""
    return _build_claims(claims, raw_key, verified)


cdef bytes _payload_of(str raw_key):
    """The payload bytes of a key that verified (its raw key, whatever its type was, is ASCII)."""
    cdef const unsigned char *data = <const unsigned char *>PyUnicode_DATA(raw_key)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(raw_key)
    cdef const unsigned char *dot = <const unsigned char *>memchr(data, c'.', n)
    return _digits_to_bytes(data + APIKEE_PREFIX_LEN, dot - data - APIKEE_PREFIX_LEN)


cdef ApikeeClaims _build_claims(object claims, object raw_key, bint verified):
    """Claims from a decoded payload (the general path: any JSON/MessagePack)."""
    if type(claims) is not dict:
        raise ApikeeError(_code.INVALID_CLAIMS, E.MSG_NOT_OBJECT)
    cdef dict wire = <dict>claims
    meta = wire.get("meta", _MISSING)
    return _claims_from_values(
        wire.get("id", _MISSING), wire.get("tid", _MISSING), wire.get("scp", _MISSING),
        wire.get("env", _MISSING), wire.get("exp", _MISSING), wire.get("nbf", _MISSING),
        wire.get("iat", _MISSING), meta is _MISSING or type(meta) is dict, raw_key, claims, False,
        verified, _K_RL in wire or _K_IP in wire,
    )


cdef ApikeeClaims _claims_from_values(
    object key_id, object tenant, object scopes, object environment, object exp, object nbf,
    object iat, bint meta_ok, object raw_key, object claims, bint from_key, bint verified,
    bint policed,
):
    """Type-check the claims in docs/SPEC.md order (id, tid, scp, env, exp, nbf, iat, meta) and
    build the object; ``_MISSING`` marks an absent claim. Exactly the pure twin's
    ``_claims_from_dict``."""
    key_id = _text_claim(key_id, "id", "")
    tenant = _text_claim(tenant, "tid", "")
    if scopes is _MISSING:
        scopes = []
    elif type(scopes) is list:
        for scope in <list>scopes:
            if type(scope) is not str:
                raise _claim_error("scp", "a list of strings")
        if claims is not None:  # the decoded dict keeps its own: to_dict() stays what the key says
            scopes = list(<list>scopes)
    else:
        raise _claim_error("scp", "a list of strings")
    environment = _text_claim(environment, "env", _PRODUCTION)
    cdef double exp_seconds = 0.0, nbf_seconds = 0.0, iat_seconds = 0.0
    exp = _timestamp_claim(exp, "exp", &exp_seconds)
    nbf = _timestamp_claim(nbf, "nbf", &nbf_seconds)
    iat = _timestamp_claim(iat, "iat", &iat_seconds)
    if not meta_ok:
        raise _claim_error("meta", "an object")
    cdef ApikeeClaims obj = ApikeeClaims.__new__(ApikeeClaims)
    obj.id = key_id
    obj.tenant = tenant
    obj.scopes = scopes
    obj.environment = environment
    obj.exp = exp
    obj.nbf = nbf
    obj.iat = iat
    obj.raw_key = raw_key
    obj._claims = claims
    obj._exp_seconds = exp_seconds
    obj._nbf_seconds = nbf_seconds
    obj._from_key = from_key
    obj._policed = policed
    obj.verified = verified
    return obj
