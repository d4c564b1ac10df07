"""Compiled implementation of apikee's hot path (the twin of ``_core_py.py``).

Same public names, signatures, docstrings, results and exceptions as the pure module
(``tests/test_differential.py`` holds them to it); a change to one lands in the other in the same
commit. Nothing outside ``_core.py`` imports this module directly.

What runs in C here, end to end: length/prefix/structure checks on the raw characters, base62
decoding of both fields in machine words (``_b62.h``), HMAC-SHA256 from pad states absorbed
once per secret when the verifier is built (``_sha256.h``: self-contained SHA-256, SHA-NI when
the CPU has it; the reason for not linking libcrypto is written there), a constant-time
comparison of the 32 raw bytes against every secret, and a parser for the compact claims
object that hands anything unusual (escapes, floats, deep nesting, errors) to the shared general
decoder (``_payload.py``, what the pure module uses) so results never differ from it.

Public names: ``b62encode``, ``b62decode``, ``constant_time_compare``, ``ApikeeClaims``,
``Verifier``.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.dict cimport PyDict_SetItem
from cpython.list cimport PyList_Append, PyList_AsTuple
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsLongLong, PyLong_FromLongLong
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport PyUnicode_DecodeASCII, PyUnicode_DecodeLatin1, PyUnicode_DecodeUTF8
from libc.stdint cimport uint32_t
from libc.string cimport memchr, memcmp, memcpy, memset

import math as _math
import time as _time
from datetime import datetime as _datetime, timezone as _timezone

from . import _errors as E
from ._errors import ApikeeError
from ._frozen import deep_copy, freeze
from ._payload import MAX_DEPTH, load_payload as _load_general
from ._scopes import require_scopes, scopes_satisfied

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object)
    void *PyUnicode_DATA(object)
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)

cdef extern from "_sha256.h":
    void apikee_sha256_select(int allow_accel)
    const char *apikee_sha256_backend_name
    void apikee_sha256(const unsigned char *data, size_t length, unsigned char *out)
    void apikee_hmac_states(const unsigned char *key, size_t key_len, uint32_t *inner, uint32_t *outer)
    void apikee_hmac_sha256(const uint32_t *inner, const uint32_t *outer,
                            const unsigned char *data, size_t length, unsigned char *out) nogil
    int apikee_equal32(const unsigned char *a, const unsigned char *b) nogil

cdef extern from "_clock.h":
    int apikee_wall_clock(double *out) nogil

cdef extern from "_b62.h":
    ctypedef unsigned long long apikee_limb
    void apikee_b62_init()
    int apikee_b62_valid(const unsigned char *s, size_t n) nogil
    size_t apikee_b62_to_limbs_checked(const unsigned char *s, size_t n, apikee_limb *limbs,
                                       unsigned char *bad) nogil
    size_t apikee_b62_limbs_for(size_t digits) nogil
    size_t apikee_b62_to_limbs(const unsigned char *s, size_t n, apikee_limb *limbs) nogil
    size_t apikee_limbs_to_bytes(const apikee_limb *limbs, size_t used, unsigned char *out) nogil
    size_t apikee_b62_digits_for(size_t nbytes) nogil
    size_t apikee_b62_encode_bytes(const unsigned char *data, size_t n, char *out, uint32_t *work) nogil
    int APIKEE_LIMB_BYTES

apikee_b62_init()
apikee_sha256_select(1)

__all__ = ["b62encode", "b62decode", "constant_time_compare", "ApikeeClaims", "Verifier"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PREFIX = "apikee_"
MAX_TIMESTAMP = 253402300799
MAX_SIGNATURE_DIGITS = 43

cdef enum:
    STACK_LIMBS = 96      # payloads up to 768 bytes (~1030 base62 digits) decode without malloc
    MAX_JSON_DEPTH = 32   # = _payload.MAX_DEPTH; deeper documents go to the general decoder

assert MAX_DEPTH == MAX_JSON_DEPTH  # the fast parser must give up exactly where the limit is

cdef object _MISSING = object()
cdef object _BAIL = object()  # the fast JSON parser's "let the general decoder decide"
cdef object _time_time = _time.time
cdef object _isfinite = _math.isfinite
cdef object _code = E.ErrorCode


# ── base62 codec ────────────────────────────────────────────────────────────────────────────


cdef bytes _digits_to_bytes(const unsigned char *digits, size_t n):
    """Validated digits (no leading '0') -> minimal big-endian bytes."""
    cdef apikee_limb stack_limbs[STACK_LIMBS]
    cdef apikee_limb *limbs = stack_limbs
    cdef size_t needed = apikee_b62_limbs_for(n), used, size
    cdef bytes out
    if needed > STACK_LIMBS:
        limbs = <apikee_limb *>PyMem_Malloc(needed * sizeof(apikee_limb))
        if limbs == NULL:
            raise MemoryError()
    try:
        used = apikee_b62_to_limbs(digits, n, limbs)
        out = PyBytes_FromStringAndSize(NULL, used * sizeof(apikee_limb))
        size = apikee_limbs_to_bytes(limbs, used, <unsigned char *>PyBytes_AS_STRING(out))
        return out[:size]
    finally:
        if limbs != stack_limbs:
            PyMem_Free(limbs)


def b62encode(data):
    """Encode bytes as base62 (alphabet 0-9A-Za-z), most significant digit first.

    Each leading zero byte becomes a leading ``"0"`` so every byte string round-trips through
    :func:`b62decode`; for input that does not start with a zero byte this is exactly the wire
    encoding of an apikee field. ``b""`` encodes to ``""``.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"b62encode() argument must be bytes-like, not {type(data).__name__}")
    if type(data) is not bytes:
        data = bytes(data)
    cdef const unsigned char *raw = <const unsigned char *>PyBytes_AS_STRING(data)
    cdef size_t n = <size_t>PyBytes_GET_SIZE(data), zeros = 0, count
    while zeros < n and raw[zeros] == 0:
        zeros += 1
    cdef size_t capacity = zeros + apikee_b62_digits_for(n - zeros)
    cdef char *out = <char *>PyMem_Malloc(capacity + 1)
    cdef uint32_t *work = <uint32_t *>PyMem_Malloc(sizeof(uint32_t) * ((n - zeros) // 4 + 1))
    if out == NULL or work == NULL:
        PyMem_Free(out)
        PyMem_Free(work)
        raise MemoryError()
    try:
        memset(out, 48, zeros)  # '0' per leading zero byte
        count = apikee_b62_encode_bytes(raw + zeros, n - zeros, out + zeros, work)
        return PyUnicode_DecodeASCII(out, zeros + count, NULL)
    finally:
        PyMem_Free(out)
        PyMem_Free(work)


def b62decode(text):
    """Decode base62 text made by :func:`b62encode` back to bytes.

    Each leading ``"0"`` becomes a zero byte. Raises ``TypeError`` for a non-``str`` argument
    and ``ValueError`` for a character outside the alphabet (no other exception).
    """
    if not isinstance(text, str):
        raise TypeError(f"b62decode() argument must be str, not {type(text).__name__}")
    if not PyUnicode_IS_ASCII(text):
        raise ValueError("invalid base62 character")
    cdef const unsigned char *digits = <const unsigned char *>PyUnicode_DATA(text)
    cdef size_t n = <size_t>PyUnicode_GET_LENGTH(text), zeros = 0
    if not apikee_b62_valid(digits, n):
        raise ValueError("invalid base62 character")
    while zeros < n and digits[zeros] == 48:
        zeros += 1
    cdef bytes body = _digits_to_bytes(digits + zeros, n - zeros)
    if zeros == 0:
        return body
    return b"\x00" * zeros + body


def constant_time_compare(a, b):
    """Compare two byte strings in time that depends only on their length.

    Returns ``False`` for different lengths. Both arguments must be bytes-like.
    """
    if not isinstance(a, (bytes, bytearray, memoryview)) or not isinstance(
        b, (bytes, bytearray, memoryview)
    ):
        raise TypeError("constant_time_compare() arguments must be bytes-like")
    cdef Py_buffer va, vb
    cdef const unsigned char *pa
    cdef const unsigned char *pb
    cdef Py_ssize_t i
    cdef unsigned int diff = 0
    PyObject_GetBuffer(a, &va, PyBUF_SIMPLE)
    try:
        PyObject_GetBuffer(b, &vb, PyBUF_SIMPLE)
        try:
            if va.len != vb.len:
                return False
            pa = <const unsigned char *>va.buf
            pb = <const unsigned char *>vb.buf
            for i in range(va.len):
                diff |= pa[i] ^ pb[i]
            return diff == 0
        finally:
            PyBuffer_Release(&vb)
    finally:
        PyBuffer_Release(&va)


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


# ── payload parsing ─────────────────────────────────────────────────────────────────────────
#
# A parser for the subset of JSON that keys are made of: objects, arrays, strings without
# escapes, integers of up to 18 digits, true/false/null, at most MAX_JSON_DEPTH levels. Anything
# else (escapes, floats, big numbers, deep nesting, any syntax error) returns _BAIL and the whole
# payload goes to _payload.load_payload, the pure implementation's own decoder, so the two
# cannot differ.


cdef struct _Cursor:
    const unsigned char *p
    const unsigned char *end


cdef inline void _skip_ws(_Cursor *c) noexcept nogil:
    while c.p < c.end and (c.p[0] == 32 or c.p[0] == 10 or c.p[0] == 13 or c.p[0] == 9):
        c.p += 1


# The claim names, interned: most object keys in a payload are these, and reusing them saves an
# allocation and a hash computation each.
cdef str _K_ID = "id", _K_TID = "tid", _K_SCP = "scp", _K_ENV = "env", _K_EXP = "exp"
cdef str _K_NBF = "nbf", _K_META = "meta"


cdef inline object _known_name(const unsigned char *s, Py_ssize_t n):
    if n == 3:
        if memcmp(s, b"tid", 3) == 0:
            return _K_TID
        if memcmp(s, b"scp", 3) == 0:
            return _K_SCP
        if memcmp(s, b"env", 3) == 0:
            return _K_ENV
        if memcmp(s, b"exp", 3) == 0:
            return _K_EXP
        if memcmp(s, b"nbf", 3) == 0:
            return _K_NBF
    elif n == 2:
        if s[0] == 105 and s[1] == 100:
            return _K_ID
    elif n == 4:
        if memcmp(s, b"meta", 4) == 0:
            return _K_META
    return None


cdef object _parse_string(_Cursor *c, bint is_name=False):
    cdef const unsigned char *start = c.p + 1
    cdef const unsigned char *q = start
    cdef unsigned char ch, high = 0
    while q < c.end:
        ch = q[0]
        if ch == 34:  # '"'
            break
        if ch == 92 or ch < 32:  # backslash escape or control character
            return _BAIL
        high |= ch
        q += 1
    else:
        return _BAIL
    if is_name:
        text = _known_name(start, q - start)
        if text is not None:
            c.p = q + 1
            return text
    if high < 0x80:  # pure ASCII: copy straight into a new compact str
        text = PyUnicode_New(q - start, 127)
        memcpy(PyUnicode_DATA(text), start, q - start)
    else:
        try:
            text = PyUnicode_DecodeUTF8(<const char *>start, q - start, NULL)
        except UnicodeDecodeError:
            return _BAIL
    c.p = q + 1
    return text


cdef object _parse_int(_Cursor *c):
    cdef const unsigned char *q = c.p
    cdef bint negative = q[0] == 45  # '-'
    cdef long long value = 0
    cdef int digits = 0
    if negative:
        q += 1
    if q >= c.end or q[0] < 48 or q[0] > 57:
        return _BAIL
    if q[0] == 48 and q + 1 < c.end and 48 <= q[1] <= 57:
        return _BAIL  # leading zero: not JSON
    while q < c.end and 48 <= q[0] <= 57:
        value = value * 10 + (q[0] - 48)
        digits += 1
        if digits > 18:
            return _BAIL
        q += 1
    if q < c.end and (q[0] == 46 or q[0] == 101 or q[0] == 69):  # '.', 'e', 'E': a float
        return _BAIL
    c.p = q
    return PyLong_FromLongLong(-value if negative else value)


cdef object _parse_value(_Cursor *c, int depth):
    if c.p >= c.end:
        return _BAIL
    cdef unsigned char ch = c.p[0]
    if ch == 34:
        return _parse_string(c)
    if ch == 123:  # '{'
        return _parse_object(c, depth + 1)
    if ch == 91:  # '['
        return _parse_array(c, depth + 1)
    if ch == 45 or 48 <= ch <= 57:
        return _parse_int(c)
    if ch == 116 and c.end - c.p >= 4 and memcmp(c.p, b"true", 4) == 0:
        c.p += 4
        return True
    if ch == 102 and c.end - c.p >= 5 and memcmp(c.p, b"false", 5) == 0:
        c.p += 5
        return False
    if ch == 110 and c.end - c.p >= 4 and memcmp(c.p, b"null", 4) == 0:
        c.p += 4
        return None
    return _BAIL


cdef object _parse_object(_Cursor *c, int depth):
    if depth > MAX_JSON_DEPTH:
        return _BAIL
    c.p += 1
    cdef dict result = {}
    _skip_ws(c)
    if c.p < c.end and c.p[0] == 125:  # '}'
        c.p += 1
        return result
    while True:
        _skip_ws(c)
        if c.p >= c.end or c.p[0] != 34:
            return _BAIL
        name = _parse_string(c, True)
        if name is _BAIL:
            return _BAIL
        _skip_ws(c)
        if c.p >= c.end or c.p[0] != 58:  # ':'
            return _BAIL
        c.p += 1
        _skip_ws(c)
        value = _parse_value(c, depth)
        if value is _BAIL:
            return _BAIL
        PyDict_SetItem(result, name, value)
        _skip_ws(c)
        if c.p >= c.end:
            return _BAIL
        if c.p[0] == 44:  # ','
            c.p += 1
            continue
        if c.p[0] == 125:
            c.p += 1
            return result
        return _BAIL


cdef object _parse_array(_Cursor *c, int depth):
    if depth > MAX_JSON_DEPTH:
        return _BAIL
    c.p += 1
    cdef list result = []
    _skip_ws(c)
    if c.p < c.end and c.p[0] == 93:  # ']'
        c.p += 1
        return result
    while True:
        _skip_ws(c)
        value = _parse_value(c, depth)
        if value is _BAIL:
            return _BAIL
        PyList_Append(result, value)
        _skip_ws(c)
        if c.p >= c.end:
            return _BAIL
        if c.p[0] == 44:
            c.p += 1
            continue
        if c.p[0] == 93:
            c.p += 1
            return result
        return _BAIL


# The claims object itself is read in one pass straight into the claim values: known claims
# are built, everything else (meta, unknown claims) is only validated, with the same grammar and
# limits, and decoded later by the general decoder if meta/to_dict() are ever read.


cdef object _parse_name(_Cursor *c):
    """An object key: the interned claim name, None for any other valid name, _BAIL otherwise."""
    cdef const unsigned char *start = c.p + 1
    cdef const unsigned char *q = start
    cdef unsigned char ch, high = 0
    while q < c.end:
        ch = q[0]
        if ch == 34:
            break
        if ch == 92 or ch < 32:
            return _BAIL
        high |= ch
        q += 1
    else:
        return _BAIL
    c.p = q + 1
    if high >= 0x80:
        return None if _valid_utf8(start, q - start) else _BAIL
    return _known_name(start, q - start)


cdef bint _valid_utf8(const unsigned char *start, Py_ssize_t length):
    try:
        PyUnicode_DecodeUTF8(<const char *>start, length, NULL)
    except UnicodeDecodeError:
        return False
    return True


cdef int _skip_string(_Cursor *c) except -2:
    return -1 if _parse_name(c) is _BAIL else 0


cdef int _skip_int(_Cursor *c) except -2:
    cdef const unsigned char *q = c.p
    cdef int digits = 0
    if q[0] == 45:
        q += 1
    if q >= c.end or q[0] < 48 or q[0] > 57:
        return -1
    if q[0] == 48 and q + 1 < c.end and 48 <= q[1] <= 57:
        return -1
    while q < c.end and 48 <= q[0] <= 57:
        digits += 1
        if digits > 18:
            return -1
        q += 1
    if q < c.end and (q[0] == 46 or q[0] == 101 or q[0] == 69):
        return -1
    c.p = q
    return 0


cdef int _skip_container(_Cursor *c, int depth, unsigned char close, bint is_object) except -2:
    if depth > MAX_JSON_DEPTH:
        return -1
    c.p += 1
    _skip_ws(c)
    if c.p < c.end and c.p[0] == close:
        c.p += 1
        return 0
    while True:
        _skip_ws(c)
        if is_object:
            if c.p >= c.end or c.p[0] != 34 or _skip_string(c) < 0:
                return -1
            _skip_ws(c)
            if c.p >= c.end or c.p[0] != 58:
                return -1
            c.p += 1
            _skip_ws(c)
        if _skip_value(c, depth) < 0:
            return -1
        _skip_ws(c)
        if c.p >= c.end:
            return -1
        if c.p[0] == 44:
            c.p += 1
            continue
        if c.p[0] == close:
            c.p += 1
            return 0
        return -1


cdef int _skip_value(_Cursor *c, int depth) except -2:
    """Validate one value exactly as _parse_value would accept it, building nothing."""
    if c.p >= c.end:
        return -1
    cdef unsigned char ch = c.p[0]
    if ch == 34:
        return _skip_string(c)
    if ch == 123:
        return _skip_container(c, depth + 1, 125, True)
    if ch == 91:
        return _skip_container(c, depth + 1, 93, False)
    if ch == 45 or 48 <= ch <= 57:
        return _skip_int(c)
    if ch == 116 and c.end - c.p >= 4 and memcmp(c.p, b"true", 4) == 0:
        c.p += 4
        return 0
    if ch == 102 and c.end - c.p >= 5 and memcmp(c.p, b"false", 5) == 0:
        c.p += 5
        return 0
    if ch == 110 and c.end - c.p >= 4 and memcmp(c.p, b"null", 4) == 0:
        c.p += 4
        return 0
    return -1


cdef object _fast_claims(const unsigned char *data, Py_ssize_t n):
    """Claims from a JSON payload in one pass, or _BAIL for the general decoder."""
    cdef _Cursor c
    cdef bint meta_ok = True
    c.p = data
    c.end = data + n
    _skip_ws(&c)
    if c.p >= c.end or c.p[0] != 123:
        return _BAIL
    c.p += 1
    key_id = tenant = scopes = environment = exp = nbf = _MISSING
    _skip_ws(&c)
    if c.p < c.end and c.p[0] == 125:
        c.p += 1
    else:
        while True:  # duplicate names: the last one wins, as in json.loads
            _skip_ws(&c)
            if c.p >= c.end or c.p[0] != 34:
                return _BAIL
            name = _parse_name(&c)
            if name is _BAIL:
                return _BAIL
            _skip_ws(&c)
            if c.p >= c.end or c.p[0] != 58:
                return _BAIL
            c.p += 1
            _skip_ws(&c)
            if name is None or name is _K_META:
                if name is _K_META:
                    meta_ok = c.p < c.end and c.p[0] == 123
                if _skip_value(&c, 1) < 0:
                    return _BAIL
            else:
                value = _parse_value(&c, 1)
                if value is _BAIL:
                    return _BAIL
                if name is _K_ID:
                    key_id = value
                elif name is _K_TID:
                    tenant = value
                elif name is _K_SCP:
                    scopes = value
                elif name is _K_ENV:
                    environment = value
                elif name is _K_EXP:
                    exp = value
                else:
                    nbf = value
            _skip_ws(&c)
            if c.p >= c.end:
                return _BAIL
            if c.p[0] == 44:
                c.p += 1
                continue
            if c.p[0] == 125:
                c.p += 1
                break
            return _BAIL
    _skip_ws(&c)
    if c.p != c.end:
        return _BAIL
    return _claims_from_values(
        key_id, tenant, scopes, environment, exp, nbf, meta_ok, None, None,
        PyBytes_FromStringAndSize(<const char *>data, n),
    )


# ── the verifier ────────────────────────────────────────────────────────────────────────────


cdef class Verifier:
    """Signs payloads and verifies keys for a fixed list of secrets.

    ``secrets`` are the raw secret bytes, current first (it signs); every one of them is tried
    when verifying. The HMAC pads are absorbed once here, never per call. ``max_key_length``
    bounds a key before any decoding; ``leeway`` (seconds) widens the ``exp``/``nbf`` window.
    """

    cdef uint32_t *_states  # 16 words per secret: inner pad state, then outer pad state
    cdef Py_ssize_t _count
    cdef Py_ssize_t _max_key_length
    cdef object _leeway
    cdef double _leeway_value
    cdef object _too_long_message
    cdef object _environment
    cdef object _is_revoked

    def __cinit__(self, *args, **kwargs):
        self._states = NULL
        self._count = 0

    def __init__(self, secrets, max_key_length=8192, leeway=0, *, environment=None, is_revoked=None):
        secrets = list(secrets)
        if not secrets:
            raise ValueError("at least one secret is required")
        for secret in secrets:
            if type(secret) is not bytes or not secret:
                raise TypeError("secrets must be non-empty bytes")
        if type(max_key_length) is not int or max_key_length < 1:
            raise ValueError("max_key_length must be a positive int")
        if type(leeway) not in (int, float) or not (0 <= leeway < _math.inf):
            raise ValueError("leeway must be a finite number of seconds >= 0")
        if environment is not None and type(environment) is not str:
            raise TypeError("environment must be a str or None")
        if is_revoked is not None and not callable(is_revoked):
            raise TypeError("is_revoked must be a callable or None")
        cdef Py_ssize_t count = len(secrets), i
        cdef uint32_t *states = <uint32_t *>PyMem_Malloc(count * 16 * sizeof(uint32_t))
        if states == NULL:
            raise MemoryError()
        cdef bytes secret_bytes
        for i in range(count):
            secret_bytes = secrets[i]
            apikee_hmac_states(<const unsigned char *>PyBytes_AS_STRING(secret_bytes),
                               <size_t>PyBytes_GET_SIZE(secret_bytes),
                               states + 16 * i, states + 16 * i + 8)
        self._release()
        self._states = states
        self._count = count
        self._max_key_length = max_key_length
        self._too_long_message = E.MSG_TOO_LONG.format(max_key_length)
        self._leeway = leeway
        self._leeway_value = leeway
        self._environment = environment
        self._is_revoked = is_revoked

    cdef void _release(self) noexcept:
        if self._states != NULL:
            memset(self._states, 0, self._count * 16 * sizeof(uint32_t))  # leave no key material
            PyMem_Free(self._states)
            self._states = NULL

    def __dealloc__(self):
        self._release()

    @property
    def max_key_length(self):
        """Keys longer than this many characters are rejected before decoding."""
        return self._max_key_length

    @property
    def leeway(self):
        """Seconds of tolerance on ``exp`` and ``nbf``."""
        return self._leeway

    def sign(self, payload):
        """HMAC-SHA256 of ``payload`` with the first (current) secret: 32 raw bytes."""
        if self._states == NULL:
            raise ValueError("the verifier is not initialised")
        cdef Py_buffer view
        cdef unsigned char mac[32]
        PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE)
        try:
            apikee_hmac_sha256(self._states, self._states + 8,
                               <const unsigned char *>view.buf, <size_t>view.len, mac)
        finally:
            PyBuffer_Release(&view)
        return PyBytes_FromStringAndSize(<const char *>mac, 32)

    def verify(self, key, now=None, *, scopes=None, any_of=False):
        """Verify a key (``str`` or ``bytes``) and return its claims.

        Follows SPEC section 2 check by check; every failure is an :class:`ApikeeError` and no
        other exception escapes, whatever ``key`` is. ``now`` is unix seconds (default: the
        current time; anything but a finite number is a ``TypeError``). Then the later checks:
        ``is_revoked`` (``REVOKED``), ``scopes`` (all, or any with ``any_of``:
        ``INSUFFICIENT_SCOPE``), ``environment`` (``WRONG_ENVIRONMENT``).
        """
        if now is not None and (
            isinstance(now, bool) or not isinstance(now, (int, float)) or not _isfinite(now)
        ):
            raise TypeError(E.MSG_BAD_NOW)
        cdef const unsigned char *data
        cdef Py_ssize_t n
        cdef bint is_text
        # 1-2: type, emptiness, length (before anything costs more than O(1)).
        if isinstance(key, str):
            n = PyUnicode_GET_LENGTH(key)
            is_text = True
        elif isinstance(key, bytes):
            n = PyBytes_GET_SIZE(key)
            is_text = False
        elif key is None:
            raise ApikeeError(_code.MISSING_KEY, E.MSG_MISSING)
        else:
            raise ApikeeError(_code.INVALID_FORMAT, E.MSG_NOT_TEXT)
        if n == 0:
            raise ApikeeError(_code.MISSING_KEY, E.MSG_MISSING)
        if n > self._max_key_length:
            raise ApikeeError(_code.INVALID_FORMAT, self._too_long_message)
        if is_text:
            if not PyUnicode_IS_ASCII(key):
                _reject_non_ascii(str.__str__(key))
            data = <const unsigned char *>PyUnicode_DATA(key)
        else:
            data = <const unsigned char *>PyBytes_AS_STRING(key)
        claims = self._verify_ascii(data, n, now)
        if type(claims) is int:
            raise ApikeeError(*_FAILURES[<int>claims])
        # The raw key: an exact str equal to the input (bytes are read as latin-1, one char each).
        if is_text:
            raw_key = key if type(key) is str else str.__str__(key)
        else:
            raw_key = PyUnicode_DecodeLatin1(<const char *>data, n, NULL)
        (<ApikeeClaims>claims).raw_key = raw_key
        # 10: the later checks this verifier was configured or called with, in SPEC order.
        if self._is_revoked is not None and self._is_revoked(claims):
            raise ApikeeError(_code.REVOKED, E.MSG_REVOKED)
        if scopes:
            require_scopes((<ApikeeClaims>claims).scopes, scopes, any_of=any_of)
        if self._environment is not None and (<ApikeeClaims>claims).environment != self._environment:
            raise ApikeeError(
                _code.WRONG_ENVIRONMENT,
                E.MSG_WRONG_ENVIRONMENT.format((<ApikeeClaims>claims).environment, self._environment),
            )
        return claims

    cdef object _verify_ascii(self, const unsigned char *data, Py_ssize_t n, object now):
        cdef const unsigned char *body
        cdef const unsigned char *dot
        cdef const unsigned char *signature_digits
        cdef Py_ssize_t body_len, payload_len, signature_len, i
        cdef apikee_limb sig_limbs[12]  # 43 digits: at most 10 limbs of 32 bits, 6 of 64
        cdef unsigned char sig_raw[12 * 8]
        cdef unsigned char signature[32]
        cdef unsigned char mac[32]
        cdef apikee_limb stack_limbs[STACK_LIMBS]
        cdef unsigned char stack_payload[STACK_LIMBS * 8]
        cdef apikee_limb *limbs = stack_limbs
        cdef unsigned char *payload = stack_payload
        cdef size_t used, sig_used = 0, sig_size, payload_size, needed
        cdef unsigned char bad = 0
        cdef int matched = 0
        cdef double t
        # 3: prefix.
        if n < 7 or memcmp(data, b"apikee_", 7) != 0:
            return F_PREFIX
        # 4: structure: exactly one '.', both fields non-empty.
        body = data + 7
        body_len = n - 7
        dot = <const unsigned char *>memchr(body, 46, body_len)
        if dot == NULL:
            return F_STRUCTURE
        payload_len = dot - body
        signature_len = body_len - payload_len - 1
        signature_digits = dot + 1
        if payload_len == 0 or signature_len == 0 or memchr(signature_digits, 46, signature_len) != NULL:
            return F_STRUCTURE
        # 5: alphabet (bytes >= 0x80 of a bytes key are outside it too), then canonical form.
        # Both fields are decoded while they are checked (one pass); nothing is used before
        # every check of this step has passed.
        needed = apikee_b62_limbs_for(payload_len)
        if needed > STACK_LIMBS:
            limbs = <apikee_limb *>PyMem_Malloc(needed * sizeof(apikee_limb))
            payload = <unsigned char *>PyMem_Malloc(needed * sizeof(apikee_limb))
            if limbs == NULL or payload == NULL:
                PyMem_Free(limbs)
                PyMem_Free(payload)
                raise MemoryError()
        try:
            used = apikee_b62_to_limbs_checked(body, payload_len, limbs, &bad)
            if signature_len <= MAX_SIGNATURE_DIGITS:
                sig_used = apikee_b62_to_limbs_checked(signature_digits, signature_len, sig_limbs, &bad)
            elif not apikee_b62_valid(signature_digits, signature_len):
                bad = 0xFF
            if bad & 0x80:
                return F_BAD_CHAR
            if body[0] == 48 or signature_digits[0] == 48:
                return F_NON_CANONICAL
            # 6: signature, against every secret, before the payload is looked at.
            if signature_len > MAX_SIGNATURE_DIGITS:
                return F_SIG_TOO_LONG
            sig_size = apikee_limbs_to_bytes(sig_limbs, sig_used, sig_raw)
            if sig_size > 32:
                return F_SIG_TOO_LONG
            memset(signature, 0, 32 - sig_size)  # left-pad to exactly 32 bytes
            memcpy(signature + 32 - sig_size, sig_raw, sig_size)
            payload_size = apikee_limbs_to_bytes(limbs, used, payload)
            for i in range(self._count):  # no early exit: time does not tell which matched
                apikee_hmac_sha256(self._states + 16 * i, self._states + 16 * i + 8,
                                   payload, payload_size, mac)
                matched |= apikee_equal32(mac, signature)
            if not matched:
                return F_BAD_SIGNATURE
            # 7-8: parse and type-check the now authenticated payload.
            claims = _fast_claims(payload, payload_size) if payload[0] < 0x80 else _BAIL
            if claims is _BAIL:  # anything unusual: exactly what the pure implementation does
                claims = _build_claims(
                    _load_general(PyBytes_FromStringAndSize(<const char *>payload, payload_size)), None
                )
        finally:
            if limbs != stack_limbs:
                PyMem_Free(limbs)
                PyMem_Free(payload)
        # 9: time window.
        cdef ApikeeClaims result = <ApikeeClaims>claims
        if result.exp is not None or result.nbf is not None:
            if now is not None:
                t = float(now)
            elif apikee_wall_clock(&t) != 0:  # the clock time.time() reads; else ask Python
                t = _time_time()
            if result.exp is not None and t > _seconds(result.exp) + self._leeway_value:
                return F_EXPIRED
            if result.nbf is not None and t < _seconds(result.nbf) - self._leeway_value:
                return F_NOT_YET_VALID
        return result

    def __repr__(self):
        return f"Verifier(secrets={self._count}, max_key_length={self._max_key_length})"


# The common rejections are returned by _verify_ascii as an index into this table and raised
# by verify() itself: an exception raised through several C-level functions costs a traceback
# entry at each of them, and rejections are the path an attacker chooses.
cdef enum:
    F_PREFIX = 0
    F_STRUCTURE = 1
    F_BAD_CHAR = 2
    F_NON_CANONICAL = 3
    F_SIG_TOO_LONG = 4
    F_BAD_SIGNATURE = 5
    F_EXPIRED = 6
    F_NOT_YET_VALID = 7

cdef tuple _FAILURES = (
    (E.ErrorCode.INVALID_PREFIX, E.MSG_PREFIX),
    (E.ErrorCode.INVALID_FORMAT, E.MSG_STRUCTURE),
    (E.ErrorCode.DECODE_ERROR, E.MSG_BAD_CHAR),
    (E.ErrorCode.DECODE_ERROR, E.MSG_NON_CANONICAL),
    (E.ErrorCode.INVALID_SIGNATURE, E.MSG_SIG_TOO_LONG),
    (E.ErrorCode.INVALID_SIGNATURE, E.MSG_BAD_SIGNATURE),
    (E.ErrorCode.EXPIRED, E.MSG_EXPIRED),
    (E.ErrorCode.NOT_YET_VALID, E.MSG_NOT_YET_VALID),
)


cdef _reject_non_ascii(str key):
    """Checks 3-5 for a key with non-ASCII characters: the same codes as the pure path."""
    if not key.startswith(PREFIX):
        raise ApikeeError(_code.INVALID_PREFIX, E.MSG_PREFIX)
    payload_text, dot, signature_text = key[7:].partition(".")
    if not payload_text or not signature_text or "." in signature_text:
        raise ApikeeError(_code.INVALID_FORMAT, E.MSG_STRUCTURE)
    raise ApikeeError(_code.DECODE_ERROR, E.MSG_BAD_CHAR)


# ── test hooks (not part of the twin API) ──────────────────────────────────────────────────


def _sha256_for_tests(data):
    """SHA-256 digest computed by this module's C code (tests compare it with hashlib)."""
    cdef bytes raw = bytes(data)
    cdef unsigned char out[32]
    apikee_sha256(<const unsigned char *>PyBytes_AS_STRING(raw), <size_t>PyBytes_GET_SIZE(raw), out)
    return PyBytes_FromStringAndSize(<const char *>out, 32)


def _sha256_backend():
    """``"sha-ni"`` or ``"portable"``: the compression function in use."""
    return apikee_sha256_backend_name.decode("ascii")


def _select_sha256(accelerated=True):
    """Use SHA-NI when available (default) or force the portable C code (tests)."""
    apikee_sha256_select(1 if accelerated else 0)
    return _sha256_backend()
