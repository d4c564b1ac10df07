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

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.dict cimport PyDict_GetItem
from cpython.sequence cimport PySequence_List
from cpython.set cimport PySet_Contains
from cpython.list cimport PyList_Append, PyList_New, PyList_SET_ITEM
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_FromLongLong
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport PyUnicode_DecodeASCII, PyUnicode_DecodeLatin1, PyUnicode_DecodeUTF8
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memchr, memcmp, memcpy, memset

import time as _time
from . import _errors as E
from . import _wire
from ._claims_py import ApikeeClaims as _PublicClaims
from ._claims_shared import claims_equal, claims_repr, json_view, to_datetime
from ._claims_shared import wire_from_arguments
from ._errors import ApikeeError
from ._frozen import deep_copy
from ._asgi_gate import AsgiGate as _PureAsgiGate
from ._header import bearer_token, first_value, route_path, scan_headers as _scan_headers_py
from ._options import checked_now, checked_revocations, verifier_options
from ._revoked import issued_at, revoked_by_snapshot
from ._payload import MAX_DEPTH, load_payload as _load_general
from ._scopes import require_scopes, scopes_satisfied
from ._switch import portable_c

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object)
    void *PyUnicode_DATA(object)
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)

cdef extern from "_sha256.h":
    void apikee_sha256_select(int allow_accel)
    const char *apikee_sha256_backend_name
    void apikee_sha256(const unsigned char *data, size_t length, unsigned char *out)
    void apikee_hmac_states(const unsigned char *key, size_t key_len, uint32_t *inner,
                            uint32_t *outer)
    void apikee_hmac_sha256(const uint32_t *inner, const uint32_t *outer,
                            const unsigned char *data, size_t length, unsigned char *out) nogil
    int apikee_equal32(const unsigned char *a, const unsigned char *b) nogil
    int apikee_hmac_verify(const uint32_t *states, size_t count, const unsigned char *data,
                           size_t length, const unsigned char *signature) nogil

cdef extern from "_clock.h":
    int apikee_wall_clock(double *out) nogil

cdef extern from "_wire.h":
    const char *APIKEE_PREFIX
    long long APIKEE_MAX_TIMESTAMP
    enum:
        APIKEE_PREFIX_LEN
        APIKEE_DEFAULT_MAX_KEY_LENGTH
        APIKEE_SIGNATURE_BYTES
        APIKEE_MAX_SIGNATURE_DIGITS

cdef extern from "_b62.h":
    const char *apikee_b62_alphabet
    ctypedef unsigned long long apikee_limb
    void apikee_b62_init()
    void apikee_b62_select(int allow_simd)
    const char *apikee_b62_backend_name
    int apikee_b62_valid(const unsigned char *s, size_t n) nogil
    size_t apikee_b62_to_limbs_checked(const unsigned char *s, size_t n, apikee_limb *limbs,
                                       unsigned char *bad) nogil
    size_t apikee_b62_limbs_for(size_t digits) nogil
    size_t apikee_b62_to_limbs(const unsigned char *s, size_t n, apikee_limb *limbs) nogil
    size_t apikee_limbs_to_bytes(const apikee_limb *limbs, size_t used, unsigned char *out) nogil
    size_t apikee_b62_digits_for(size_t nbytes) nogil
    size_t apikee_b62_encode_bytes(const unsigned char *data, size_t n, char *out,
                                   uint32_t *work) nogil
    int APIKEE_LIMB_BYTES

apikee_b62_init()
# APIKEE_PORTABLE_C=1: the portable C code only (tests run the whole suite so, in .ci/run).
_portable = portable_c()
apikee_b62_select(0 if _portable else 1)
apikee_sha256_select(0 if _portable else 1)

__all__ = [
    "b62encode", "b62decode", "constant_time_compare", "has_policy_claims", "scan_headers",
    "ApikeeClaims", "Verifier", "AsgiGate",
]

# The wire constants: compile-time C constants on the hot path, checked against _wire.py
# (the one definition) here, so the two can never drift apart.
if (
    APIKEE_PREFIX.decode("ascii") != _wire.PREFIX
    or APIKEE_PREFIX_LEN != len(_wire.PREFIX)
    or APIKEE_MAX_TIMESTAMP != _wire.MAX_TIMESTAMP
    or APIKEE_DEFAULT_MAX_KEY_LENGTH != _wire.DEFAULT_MAX_KEY_LENGTH
    or APIKEE_SIGNATURE_BYTES != _wire.SIGNATURE_BYTES
    or APIKEE_MAX_SIGNATURE_DIGITS != _wire.MAX_SIGNATURE_DIGITS
    or apikee_b62_alphabet[:62].decode("ascii") != _wire.ALPHABET
):
    raise ImportError("apikee._core_c was built with wire constants that differ from _wire.py")

PREFIX = _wire.PREFIX

cdef enum:
    STACK_LIMBS = 96      # payloads up to 768 bytes (~1030 base62 digits) decode without malloc
    MAX_JSON_DEPTH = 32   # = _payload.MAX_DEPTH; deeper documents go to the general decoder

assert MAX_DEPTH == MAX_JSON_DEPTH  # the fast parser must give up exactly where the limit is

cdef object _MISSING = object()
cdef object _BAIL = object()  # the fast JSON parser's "let the general decoder decide"
cdef object _time_time = _time.time
cdef object _monotonic = _time.monotonic
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


include "_claims_c.pxi"


include "_json_c.pxi"

if (_K_RL, _K_IP) != (_wire.RATE_CLAIM, _wire.IP_CLAIM):
    raise ImportError("apikee._core_c was built with policy claim names that differ from _wire.py")


include "_asgi_c.pxi"


# ── the failure codes ──────────────────────────────────────────────────────────────────────

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


# ── decoding and authenticating, without the GIL ────────────────────────────────────────────

cdef enum:
    # Keys at least this long are decoded and authenticated with the GIL released. Measured:
    # at 1024 characters (a ~730-byte payload) decode + HMAC take ~2 us, 30x the cost of
    # releasing and taking back the GIL; the typical key (226 characters) keeps it.
    NOGIL_KEY_LENGTH = 1024


cdef int _decode_and_authenticate(
    const unsigned char *body, Py_ssize_t payload_len, const unsigned char *signature_digits,
    const unsigned char *sig_raw, size_t sig_size, apikee_limb *limbs, unsigned char *payload,
    const uint32_t *states, Py_ssize_t count, size_t *payload_size,
) noexcept nogil:
    """Steps 5 (the payload's characters, canonical form) and 6 (the MAC against every secret):
    a failure index (F_*), or -1 when a secret matched (the payload bytes are then in
    ``payload``, ``*payload_size`` of them)."""
    cdef unsigned char bad = 0
    cdef unsigned char signature[APIKEE_SIGNATURE_BYTES]
    cdef size_t used = apikee_b62_to_limbs_checked(body, payload_len, limbs, &bad)
    if bad & 0x80:
        return F_BAD_CHAR
    if body[0] == 48 or signature_digits[0] == 48:
        return F_NON_CANONICAL
    # 6: signature, against every secret, before the payload is looked at.
    memset(signature, 0, APIKEE_SIGNATURE_BYTES - sig_size)  # left-pad to 32 bytes
    memcpy(signature + APIKEE_SIGNATURE_BYTES - sig_size, sig_raw, sig_size)
    payload_size[0] = apikee_limbs_to_bytes(limbs, used, payload)
    # Every secret's MAC, side by side (SHA-NI) and compared without an early exit: time does
    # not tell which matched.
    if apikee_hmac_verify(states, <size_t>count, payload, payload_size[0], signature):
        return -1
    return F_BAD_SIGNATURE


# ── the verifier ────────────────────────────────────────────────────────────────────────────


cdef class Verifier:
    """Signs payloads and verifies keys for a fixed list of secrets.

    ``secrets`` are the raw secret bytes, current first (it signs); every one of them is tried
    when verifying. The HMAC pads are absorbed once here, never per call. ``max_key_length``
    bounds a key before any decoding; ``leeway`` (seconds) widens the ``exp``/``nbf`` window.
    ``policy(claims)``, if given, runs last for a key that carries an ``rl`` or ``ip`` claim
    (docs/SPEC.md section 8) and raises to refuse it; other keys never pay for it.
    """

    cdef uint32_t *_states  # 16 words per secret: inner pad state, then outer pad state
    cdef Py_ssize_t _count
    cdef Py_ssize_t _max_key_length
    cdef object _leeway
    cdef double _leeway_value
    cdef object _too_long_message
    cdef object _environment
    cdef object _is_revoked
    cdef object _policy
    # The installed revocation snapshot (set_revocations): None when empty, so a verifier
    # without a store (or with nothing revoked) pays one pointer comparison.
    cdef object _revoked_ids
    cdef object _revoked_tenants
    cdef object _fresh_until
    cdef bint _fingerprints

    def __cinit__(self, *args, **kwargs):
        self._states = NULL
        self._count = 0

    def __init__(self, secrets, max_key_length=APIKEE_DEFAULT_MAX_KEY_LENGTH, leeway=0, *,
                 environment=None, is_revoked=None, policy=None):
        if self._states != NULL:
            # Its secrets may be in use by a verify() running without the GIL (long keys).
            raise TypeError("a Verifier is initialised once; build a new one instead")
        secrets, max_key_length, leeway, environment, is_revoked, policy = verifier_options(
            secrets, max_key_length, leeway, environment, is_revoked, policy
        )
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
        self._states = states
        self._count = count
        self._max_key_length = max_key_length
        self._too_long_message = E.MSG_TOO_LONG.format(max_key_length)
        self._leeway = leeway
        self._leeway_value = leeway
        self._environment = environment
        self._is_revoked = is_revoked
        self._policy = policy
        self._revoked_ids = None
        self._revoked_tenants = None
        self._fresh_until = None
        self._fingerprints = False

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

    def set_revocations(self, ids, tenants, fresh_until=None):
        """Install a revocation snapshot (the store's refresher calls this, off the request path).

        ``ids``: revoked key ids and fingerprints; ``tenants``: tenant -> cutoff (keys issued
        before it are revoked). Both are read, never copied or mutated: pass new objects for
        each change. ``fresh_until`` (a ``time.monotonic()`` instant, or None for never): past
        it, verify() fails with ``STORE_UNAVAILABLE`` (fail closed) until the next snapshot.
        """
        ids, tenants, fresh_until, fingerprints = checked_revocations(
            ids, tenants, fresh_until, self._revoked_ids, self._fingerprints
        )
        # One snapshot, published whole: verify() reads them under the same lock (a no-op
        # where the GIL exists; see "Free-threaded Python" in README).
        with cython.critical_section(self):
            self._revoked_ids = ids
            self._revoked_tenants = tenants
            self._fresh_until = fresh_until
            self._fingerprints = fingerprints

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

        Follows docs/SPEC.md section 2 check by check; every failure is an
        :class:`ApikeeError` and no other exception escapes, whatever ``key`` is. ``now`` is
        unix seconds (default: the current time; anything but a finite number is a
        ``TypeError``). Then the later checks:
        a stale revocation snapshot with fail-closed ``fresh_until`` (``STORE_UNAVAILABLE``),
        the installed revocation snapshot and ``is_revoked`` (``REVOKED``), ``scopes`` (all, or
        any with ``any_of``: ``INSUFFICIENT_SCOPE``), ``environment`` (``WRONG_ENVIRONMENT``),
        and ``policy`` for a key with policy claims.
        """
        if now is not None:
            now = checked_now(now)
        claims = self._verified(key, now, scopes, any_of)
        if type(claims) is not ApikeeClaims:
            raise claims
        return claims

    @cython.final
    cdef object _verified(self, object key, object now, object scopes, bint any_of):
        # verify() itself, for it and for the ASGI gate: the claims, or the ApikeeError to raise
        # (returned, not raised, so that each caller raises it in its own frame: one traceback
        # entry, however many compiled functions the failure was found in). The errors of the
        # hooks (is_revoked, policy), of the scopes check and of a non-ASCII str key propagate.
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
            return ApikeeError(_code.MISSING_KEY, E.MSG_MISSING)
        else:
            return ApikeeError(_code.INVALID_FORMAT, E.MSG_NOT_TEXT)
        if n == 0:
            return ApikeeError(_code.MISSING_KEY, E.MSG_MISSING)
        if n > self._max_key_length:
            return ApikeeError(_code.INVALID_FORMAT, self._too_long_message)
        if is_text:
            if not PyUnicode_IS_ASCII(key):
                _reject_non_ascii(str.__str__(key))
            data = <const unsigned char *>PyUnicode_DATA(key)
        else:
            data = <const unsigned char *>PyBytes_AS_STRING(key)
        claims = self._verify_ascii(data, n, now, key)
        if type(claims) is int:
            return ApikeeError(*_FAILURES[<int>claims])
        # The raw key: an exact str equal to the input (bytes are read as latin-1, one char each).
        # A bytes key seen before may have it already (from the parsed-payloads table).
        if is_text:
            (<ApikeeClaims>claims).raw_key = key if type(key) is str else str.__str__(key)
        elif (<ApikeeClaims>claims).raw_key is None:
            (<ApikeeClaims>claims).raw_key = PyUnicode_DecodeLatin1(<const char *>data, n, NULL)
        # 10: the later checks this verifier was configured or called with, in docs/SPEC.md order
        # (section 2, step 10).
        with cython.critical_section(self):  # the snapshot set_revocations() installed, whole
            fresh_until = self._fresh_until
            ids = self._revoked_ids
            tenants = self._revoked_tenants
            fingerprints = self._fingerprints
        if fresh_until is not None and _monotonic() > fresh_until:
            return ApikeeError(_code.STORE_UNAVAILABLE, E.MSG_STORE_UNAVAILABLE)
        if ids is not None or tenants is not None:
            if _revoked_by_snapshot(<ApikeeClaims>claims, ids, tenants, fingerprints):
                return ApikeeError(_code.REVOKED, E.MSG_REVOKED)
        if self._is_revoked is not None and self._is_revoked(claims):
            return ApikeeError(_code.REVOKED, E.MSG_REVOKED)
        if scopes:
            require_scopes((<ApikeeClaims>claims).scopes, scopes, any_of=any_of)
        environment = (<ApikeeClaims>claims).environment
        if self._environment is not None and environment != self._environment:
            return ApikeeError(
                _code.WRONG_ENVIRONMENT,
                E.MSG_WRONG_ENVIRONMENT.format(environment, self._environment),
            )
        # 11: the key's own policy claims (docs/SPEC.md section 8), only when it has one.
        if self._policy is not None and (<ApikeeClaims>claims)._policed:
            self._policy(claims)
        return claims

    cdef object _verify_ascii(
        self, const unsigned char *data, Py_ssize_t n, object now, object key
    ):
        cdef const unsigned char *body
        cdef const unsigned char *dot
        cdef const unsigned char *signature_digits
        cdef Py_ssize_t body_len, payload_len, signature_len
        cdef apikee_limb sig_limbs[12]  # 43 digits: at most 10 limbs of 32 bits, 6 of 64
        cdef unsigned char sig_raw[12 * 8]
        cdef apikee_limb stack_limbs[STACK_LIMBS]
        cdef unsigned char stack_payload[STACK_LIMBS * 8]
        cdef apikee_limb *limbs = stack_limbs
        cdef unsigned char *payload = stack_payload
        cdef size_t sig_used = 0, sig_size, payload_size = 0, needed
        cdef unsigned char bad = 0
        cdef bint wide = True
        cdef int outcome
        cdef double t
        # 3: prefix.
        if n < APIKEE_PREFIX_LEN or memcmp(data, APIKEE_PREFIX, APIKEE_PREFIX_LEN) != 0:
            return F_PREFIX
        # 4: structure: exactly one '.', both fields non-empty.
        body = data + APIKEE_PREFIX_LEN
        body_len = n - APIKEE_PREFIX_LEN
        dot = <const unsigned char *>memchr(body, c'.', body_len)
        if dot == NULL:
            return F_STRUCTURE
        payload_len = dot - body
        signature_len = body_len - payload_len - 1
        signature_digits = dot + 1
        if payload_len == 0 or signature_len == 0 or (
            memchr(signature_digits, c'.', signature_len) != NULL
        ):
            return F_STRUCTURE
        # 5: alphabet (bytes >= 0x80 of a bytes key are outside it too), then canonical form.
        # Both fields are decoded while they are checked (one pass); nothing is used before
        # every check of this step has passed. The signature goes first: it is short (at most
        # 43 digits), and one that cannot be an HMAC-SHA256 (6) is then rejected after a linear
        # check of the payload's characters, never after decoding the payload (quadratic in
        # its length) -- the same order of work as the pure twin.
        if signature_len <= APIKEE_MAX_SIGNATURE_DIGITS:
            sig_used = apikee_b62_to_limbs_checked(signature_digits, signature_len, sig_limbs, &bad)
            if not (bad & 0x80):
                sig_size = apikee_limbs_to_bytes(sig_limbs, sig_used, sig_raw)
                wide = sig_size > APIKEE_SIGNATURE_BYTES
        elif not apikee_b62_valid(signature_digits, signature_len):
            bad = 0xFF
        if wide:  # a bad character in the signature, or wider than 32 bytes
            if bad & 0x80 or not apikee_b62_valid(body, payload_len):
                return F_BAD_CHAR
            if body[0] == 48 or signature_digits[0] == 48:
                return F_NON_CANONICAL
            return F_SIG_TOO_LONG
        needed = apikee_b62_limbs_for(payload_len)
        if needed > STACK_LIMBS:
            limbs = <apikee_limb *>PyMem_Malloc(needed * sizeof(apikee_limb))
            payload = <unsigned char *>PyMem_Malloc(needed * sizeof(apikee_limb))
            if limbs == NULL or payload == NULL:
                PyMem_Free(limbs)
                PyMem_Free(payload)
                raise MemoryError()
        try:
            # 5 (the payload's characters) and 6 (the MAC): pure C on memory this call owns or
            # holds a reference to (the key is immutable), so a long key is decoded and
            # authenticated without the GIL and other threads run meanwhile. A short one keeps
            # it: releasing and taking back the GIL costs about 60 ns uncontended, and far more
            # under contention, against 0.3 us of work for the typical key.
            if n >= NOGIL_KEY_LENGTH:
                with nogil:
                    outcome = _decode_and_authenticate(
                        body, payload_len, signature_digits, sig_raw, sig_size, limbs, payload,
                        self._states, self._count, &payload_size)
            else:
                outcome = _decode_and_authenticate(
                    body, payload_len, signature_digits, sig_raw, sig_size, limbs, payload,
                    self._states, self._count, &payload_size)
            if outcome >= 0:
                return outcome
            # 7-8: parse and type-check the now authenticated payload (or take the values it
            # gave the last time it was seen: _parsed_claims).
            claims = _parsed_claims(
                payload, payload_size, sig_raw, sig_size, data, n, type(key) is bytes)
            if claims is None:
                claims = _fast_claims(payload, payload_size) if payload[0] < 0x80 else _BAIL
                if claims is not _BAIL:
                    _remember_parsed(
                        <ApikeeClaims>claims, payload, payload_size, sig_raw, sig_size, data, n, key
                    )
            if claims is _BAIL:  # anything unusual: exactly what the pure implementation does
                claims = _build_claims(
                    _load_general(PyBytes_FromStringAndSize(<const char *>payload, payload_size)),
                    None, True,
                )
        finally:
            if limbs != stack_limbs:
                PyMem_Free(limbs)
                PyMem_Free(payload)
        # 9: time window.
        cdef ApikeeClaims result = <ApikeeClaims>claims
        if result.exp is not None or result.nbf is not None:
            if now is not None:
                t = now
            elif apikee_wall_clock(&t) != 0:  # the clock time.time() reads; else ask Python
                t = _time_time()
            if result.exp is not None and t > result._exp_seconds + self._leeway_value:
                return F_EXPIRED
            if result.nbf is not None and t < result._nbf_seconds - self._leeway_value:
                return F_NOT_YET_VALID
        return result

    def __repr__(self):
        return f"Verifier(secrets={self._count}, max_key_length={self._max_key_length})"


cdef bint _revoked_by_snapshot(
    ApikeeClaims claims, object ids, object tenants, bint fingerprints
) except -1:
    # revoked_by_snapshot (_revoked.py, the definition) with its look-ups in C: the key id in
    # the frozenset, the key's fingerprint (a SHA-256 by this module's C code, only while the
    # snapshot holds a fingerprint or for a key without an id), the tenant in the dict. A key
    # of a revoked tenant (its issue time) goes to the shared Python check.
    key_id = claims.id
    if ids is not None:
        if key_id and PySet_Contains(ids, key_id):
            return True
        if fingerprints or not key_id:
            if not PyUnicode_IS_ASCII(claims.raw_key):  # (a verified key always is)
                return revoked_by_snapshot(claims, ids, tenants, fingerprints)
            if PySet_Contains(ids, _fingerprint(claims.raw_key)):
                return True
    if tenants is not None and PyDict_GetItem(<dict>tenants, claims.tenant) != NULL:
        return revoked_by_snapshot(claims, None, tenants)
    return False


cdef str _fingerprint(str raw_key):
    """hash_key(raw_key) for an ASCII key: the lowercase hex SHA-256 of its bytes."""
    cdef unsigned char digest[32]
    cdef Py_ssize_t i
    apikee_sha256(<const unsigned char *>PyUnicode_DATA(raw_key),
                  <size_t>PyUnicode_GET_LENGTH(raw_key), digest)
    text = PyUnicode_New(64, 127)
    cdef char *out = <char *>PyUnicode_DATA(text)
    for i in range(32):
        out[2 * i] = b"0123456789abcdef"[digest[i] >> 4]
        out[2 * i + 1] = b"0123456789abcdef"[digest[i] & 15]
    return text


cdef _reject_non_ascii(str key):
    """Checks 3-5 for a key with non-ASCII characters: the same codes as the pure path."""
    if not key.startswith(PREFIX):
        raise ApikeeError(_code.INVALID_PREFIX, E.MSG_PREFIX)
    payload_text, _, signature_text = key[APIKEE_PREFIX_LEN:].partition(".")
    if not payload_text or not signature_text or "." in signature_text:
        raise ApikeeError(_code.INVALID_FORMAT, E.MSG_STRUCTURE)
    raise ApikeeError(_code.DECODE_ERROR, E.MSG_BAD_CHAR)


# ── test hooks (not part of the twin API) ──────────────────────────────────────────────────


def _wire_constants_for_tests():
    """The C compile-time wire constants (tests compare them with _wire.py)."""
    return {
        "PREFIX": APIKEE_PREFIX.decode("ascii"),
        "ALPHABET": apikee_b62_alphabet[:62].decode("ascii"),
        "MAX_TIMESTAMP": APIKEE_MAX_TIMESTAMP,
        "DEFAULT_MAX_KEY_LENGTH": APIKEE_DEFAULT_MAX_KEY_LENGTH,
        "SIGNATURE_BYTES": APIKEE_SIGNATURE_BYTES,
        "MAX_SIGNATURE_DIGITS": APIKEE_MAX_SIGNATURE_DIGITS,
    }


def _sha256_for_tests(data):
    """SHA-256 digest computed by this module's C code (tests compare it with hashlib)."""
    cdef bytes raw = bytes(data)
    cdef unsigned char out[32]
    apikee_sha256(<const unsigned char *>PyBytes_AS_STRING(raw), <size_t>PyBytes_GET_SIZE(raw), out)
    return PyBytes_FromStringAndSize(<const char *>out, 32)


def _sha256_backend():
    """``"sha-ni"`` or ``"portable"``: the compression function in use."""
    return apikee_sha256_backend_name.decode("ascii")


def _b62_backend():
    """``"sse2"`` or ``"portable"``: the base62 digit loop in use."""
    return apikee_b62_backend_name.decode("ascii")


def _select_b62(accelerated=True):
    """Use the SSE2 digit loop where compiled in (default) or the portable one (tests)."""
    apikee_b62_select(1 if accelerated else 0)
    return _b62_backend()


def _select_sha256(accelerated=True):
    """Use SHA-NI when available (default) or force the portable C code (tests)."""
    apikee_sha256_select(1 if accelerated else 0)
    return _sha256_backend()
