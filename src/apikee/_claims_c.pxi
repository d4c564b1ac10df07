# Included by _core_c.pyx (one extension module): the claims object and the type checks of
# SPEC section 1, the twin of _claims_py.py.

# ── claims ──────────────────────────────────────────────────────────────────────────────────


cdef object _utc_timestamp(object moment):
    """Unix seconds of a datetime; a naive one is UTC (as everywhere in apikee)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_timezone.utc)
    return moment.timestamp()


cdef inline double _seconds(object value) except? -1.0:
    """A validated exp/nbf as a double: floats as they are, ints (< 2**38) exactly."""
    if type(value) is float:
        return PyFloat_AS_DOUBLE(value)
    return <double>PyLong_AsLongLong(value)


cdef object _to_datetime(object value):
    return None if value is None else _datetime.fromtimestamp(value, tz=_timezone.utc)


cdef class ApikeeClaims:
    """The verified claims of a key; read-only.

    Attributes: ``id``, ``tenant``, ``scopes`` (tuple), ``environment``, ``exp`` and ``nbf`` (the
    raw unix-seconds numbers or ``None``), ``raw_key``; properties ``expires_at`` and
    ``not_before`` (aware UTC datetimes, built only when read), ``meta`` (a read-only mapping).
    ``to_dict()`` gives every claim of the payload, unknown ones included.
    """

    cdef readonly object id
    cdef readonly object tenant
    cdef readonly object scopes
    cdef readonly object environment
    cdef readonly object exp
    cdef readonly object nbf
    cdef readonly object raw_key
    # Every claim of the payload under its wire name. verify() leaves it None on its fast path
    # and keeps the payload bytes instead: it is decoded (by the shared general decoder) only
    # when meta, to_dict(), == or pickling ask for it.
    cdef object _claims
    cdef object _payload
    # Built on first read, then kept (the object is read-only); verify() never pays for them.
    cdef object _meta_view
    cdef object _expires_view
    cdef object _starts_view

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
    ):
        # The public constructor (tests, dependency overrides); verify() builds claims itself.
        if expires_at is not None and exp is None:
            exp = _utc_timestamp(expires_at)
        if not_before is not None and nbf is None:
            nbf = _utc_timestamp(not_before)
        scopes = tuple(scopes)
        claims = {"id": id, "tid": tenant, "scp": list(scopes), "env": environment}
        if exp is not None:
            claims["exp"] = exp
        if nbf is not None:
            claims["nbf"] = nbf
        if meta:
            claims["meta"] = deep_copy(dict(meta))
        self.id = id
        self.tenant = tenant
        self.scopes = scopes
        self.environment = environment
        self.exp = exp
        self.nbf = nbf
        self.raw_key = raw_key
        self._claims = claims

    @property
    def expires_at(self):
        """Expiry as an aware UTC datetime, or ``None`` for a key that never expires."""
        if self._expires_view is None and self.exp is not None:
            self._expires_view = _to_datetime(self.exp)
        return self._expires_view

    @property
    def not_before(self):
        """Start of validity as an aware UTC datetime, or ``None``."""
        if self._starts_view is None and self.nbf is not None:
            self._starts_view = _to_datetime(self.nbf)
        return self._starts_view

    @property
    def meta(self):
        """The ``meta`` claim as a read-only mapping (nested lists as tuples)."""
        if self._meta_view is None:
            self._meta_view = freeze(self._wire().get("meta", {}))
        return self._meta_view

    cdef dict _wire(self):
        if self._claims is None:
            self._claims = _load_general(self._payload)
        return self._claims

    def has_scopes(self, *required, any_of=False):
        """Whether the key grants all (or, with ``any_of=True``, any) of the scopes.

        ``"*"`` grants every scope, ``"res:*"`` every ``"res:..."`` scope.
        """
        return scopes_satisfied(self.scopes, required, any_of=any_of)

    def to_dict(self):
        """A fresh mutable copy of every claim in the payload, under its wire name."""
        return deep_copy(self._wire())

    def __repr__(self):
        expires = "never" if self.exp is None else self.expires_at.isoformat()
        return (
            f"ApikeeClaims(id={self.id!r}, tenant={self.tenant!r}, scopes={self.scopes!r}, "
            f"environment={self.environment!r}, expires_at={expires})"
        )

    def __eq__(self, other):
        # By value, across both implementations' claims classes (same key, same claims).
        if type(other).__name__ != "ApikeeClaims" or not hasattr(other, "to_dict"):
            return NotImplemented
        return self.raw_key == other.raw_key and self._wire() == other.to_dict()

    def __hash__(self):
        return hash(self.raw_key)

    def __reduce__(self):
        return (_claims_from_dict, (self._wire(), self.raw_key))


cdef inline object _claim_error(str name, str expected):
    return ApikeeError(_code.INVALID_CLAIMS, E.MSG_CLAIM_TYPE.format(name, expected))


cdef object _timestamp_claim(object value, str name):
    if value is _MISSING:
        return None
    kind = type(value)
    if kind is int or (kind is float and _isfinite(value)):
        if 0 <= value <= MAX_TIMESTAMP:
            return value
    raise _claim_error(name, "a number of unix seconds from 0 to 253402300799")


cdef object _text_claim(object value, str name, str default):
    if value is _MISSING:
        return default
    if type(value) is not str:
        raise _claim_error(name, "a string")
    return value


def _claims_from_dict(claims, raw_key):
    """Validate a decoded payload (SPEC section 1 types) and build the claims object."""
    return _build_claims(claims, raw_key)


cdef ApikeeClaims _build_claims(object claims, object raw_key):
    """Claims from a decoded payload (the general path: any JSON/MessagePack)."""
    if type(claims) is not dict:
        raise ApikeeError(_code.INVALID_CLAIMS, E.MSG_NOT_OBJECT)
    cdef dict wire = <dict>claims
    meta = wire.get("meta", _MISSING)
    return _claims_from_values(
        wire.get("id", _MISSING), wire.get("tid", _MISSING), wire.get("scp", _MISSING),
        wire.get("env", _MISSING), wire.get("exp", _MISSING), wire.get("nbf", _MISSING),
        meta is _MISSING or type(meta) is dict, raw_key, claims, None,
    )


cdef ApikeeClaims _claims_from_values(
    object key_id, object tenant, object scopes, object environment, object exp, object nbf,
    bint meta_ok, object raw_key, object claims, object payload,
):
    """Type-check the claims in SPEC order (id, tid, scp, env, exp, nbf, meta) and build the
    object; ``_MISSING`` marks an absent claim. Exactly the pure twin's ``_claims_from_dict``."""
    key_id = _text_claim(key_id, "id", "")
    tenant = _text_claim(tenant, "tid", "")
    if scopes is _MISSING:
        scopes = ()
    elif type(scopes) is list:
        for scope in <list>scopes:
            if type(scope) is not str:
                raise _claim_error("scp", "a list of strings")
        scopes = PyList_AsTuple(scopes)
    else:
        raise _claim_error("scp", "a list of strings")
    environment = _text_claim(environment, "env", "production")
    exp = _timestamp_claim(exp, "exp")
    nbf = _timestamp_claim(nbf, "nbf")
    if not meta_ok:
        raise _claim_error("meta", "an object")
    cdef ApikeeClaims obj = ApikeeClaims.__new__(ApikeeClaims)
    obj.id = key_id
    obj.tenant = tenant
    obj.scopes = scopes
    obj.environment = environment
    obj.exp = exp
    obj.nbf = nbf
    obj.raw_key = raw_key
    obj._claims = claims
    obj._payload = payload
    return obj
