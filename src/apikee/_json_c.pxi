# Included by _core_c.pyx (one extension module): the one-pass reader of the compact claims
# object. It accepts exactly a subset of what _payload.py (the general decoder both twins share)
# accepts, with the same results, and hands everything else to it.
#
# ── the grammar ─────────────────────────────────────────────────────────────────────────────
#
# The subset of JSON that keys are made of (RFC 8259 minus what is rare in a key):
#
#     value   = object / array / string / integer / "true" / "false" / "null"
#     object  = "{" ws [ member *( ws "," ws member ) ] ws "}"
#     member  = string ws ":" ws value
#     array   = "[" ws [ value *( ws "," ws value ) ] ws "]"
#     string  = '"' *( any byte but '"', '\' and controls < 0x20 ) '"'   (valid UTF-8)
#     integer = [ "-" ] ( "0" / digit1-9 *17digit )                        (at most 18 digits)
#     ws      = *( " " / "\t" / "\n" / "\r" )
#
# nested at most MAX_JSON_DEPTH levels (the claims object is level 1). Escapes, fractions,
# exponents, longer integers, deeper nesting and every syntax error are outside the subset: the
# reader returns _BAIL and the whole payload goes to _payload.load_payload, the pure
# implementation's own decoder, so the two twins cannot differ.
#
# _skip_value is that grammar, once: it validates a value and builds nothing (meta and unknown
# claims are decoded later, by the general decoder, only if someone reads them). The known
# claims are built by _claim_value, which knows only the shapes a valid claim has (a string, an
# integer, an array of strings); any other shape is handed to the general decoder, which then
# reports INVALID_CLAIMS (or DECODE_ERROR) exactly as the pure twin does.


cdef struct _Cursor:
    const unsigned char *p
    const unsigned char *end


cdef inline bint _at(_Cursor *c, unsigned char ch) noexcept nogil:
    """Whether the next byte is ``ch``."""
    return c.p < c.end and c.p[0] == ch


cdef inline void _skip_ws(_Cursor *c) noexcept nogil:
    while c.p < c.end and (c.p[0] == c' ' or c.p[0] == c'\n' or c.p[0] == c'\r' or c.p[0] == c'\t'):
        c.p += 1


cdef inline bint _is_digit(unsigned char ch) noexcept nogil:
    return c'0' <= ch <= c'9'


cdef inline int _literal(_Cursor *c, const char *word, Py_ssize_t n) noexcept nogil:
    """Consume ``true``/``false``/``null``: 0, or -1 if the bytes are not that word."""
    if c.end - c.p < n or memcmp(c.p, word, n) != 0:
        return -1
    c.p += n
    return 0


# ── strings and integers: the scanners every rule shares ───────────────────────────────────


cdef extern from *:
    """
    /* Bytes of a little-endian 64-bit word that end or break a string of the subset: '"', a
     * backslash, or a control character < 0x20 (bit 7 of each flagged byte set). Bytes after
     * the first flagged one may be flagged falsely (a borrow), never the ones before it: the
     * lowest flag is exact, and it is the only one used. */
    static inline uint64_t apikee_json_stops(uint64_t x) {
        const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
        uint64_t quote = x ^ (ones * 0x22), slash = x ^ (ones * 0x5C);
        uint64_t m = ((quote - ones) & ~quote) | ((slash - ones) & ~slash);
        m |= (x - ones * 0x20) & ~x;
        return m & high;
    }
    static inline int apikee_first_flag(uint64_t m) {  /* m != 0: the index of its lowest byte */
    #if defined(__GNUC__) || defined(__clang__)
        return __builtin_ctzll(m) >> 3;
    #else
        int i = 0;
        while (!((m >> (8 * i)) & 0x80)) i++;
        return i;
    #endif
    }
    static inline uint64_t apikee_le64(uint64_t x) {  /* the word as if loaded little-endian */
    #if PY_BIG_ENDIAN
        return ((x & 0xFFULL) << 56) | ((x & 0xFF00ULL) << 40) | ((x & 0xFF0000ULL) << 24)
             | ((x & 0xFF000000ULL) << 8) | ((x >> 8) & 0xFF000000ULL) | ((x >> 24) & 0xFF0000ULL)
             | ((x >> 40) & 0xFF00ULL) | (x >> 56);
    #else
        return x;
    #endif
    }
    """
    uint64_t apikee_le64(uint64_t x) noexcept nogil
    uint64_t apikee_json_stops(uint64_t x) noexcept nogil
    int apikee_first_flag(uint64_t m) noexcept nogil


cdef inline const unsigned char *_string_end(_Cursor *c, unsigned char *high) noexcept nogil:
    """The closing quote of the string at c.p, or NULL (escape, control character, no end).

    ORs every byte into *high, so bit 7 says whether the string is pure ASCII. Eight bytes at a
    time while eight remain (SWAR; the words are loaded with memcpy, no alignment assumed),
    then byte by byte: measured ~2x faster on the typical payload's strings.
    """
    cdef const unsigned char *q = c.p + 1
    cdef unsigned char ch, seen = 0
    cdef uint64_t word, stops, wide = 0
    cdef int at, i
    while c.end - q >= 8:
        memcpy(&word, q, 8)
        stops = apikee_json_stops(apikee_le64(word))
        if stops:
            at = apikee_first_flag(stops)
            for i in range(at):
                seen |= q[i]
            high[0] = seen | _fold_high(wide)
            if q[at] == c'"':
                return q + at
            return NULL  # an escape or a control character: not in the subset
        wide |= word
        q += 8
    seen = _fold_high(wide)
    while q < c.end:
        ch = q[0]
        if ch == c'"':
            high[0] = seen
            return q
        if ch == c'\\' or ch < 0x20:  # an escape or a control character: not in the subset
            return NULL
        seen |= ch
        q += 1
    return NULL


cdef inline unsigned char _fold_high(uint64_t wide) noexcept nogil:
    """0x80 if any byte of the word has bit 7 set, else 0."""
    return 0x80 if wide & <uint64_t>0x8080808080808080ULL else 0


cdef bint _valid_utf8(const unsigned char *start, Py_ssize_t length):
    try:
        PyUnicode_DecodeUTF8(<const char *>start, length, NULL)
    except UnicodeDecodeError:
        return False
    return True


cdef inline const unsigned char *_int_end(_Cursor *c, long long *value) noexcept nogil:
    """The end of the JSON integer at c.p (at most 18 digits, no fraction or exponent), or NULL;
    its value goes to *value."""
    cdef const unsigned char *q = c.p
    cdef bint negative
    cdef long long total = 0
    cdef int digits = 0
    if q >= c.end:
        return NULL
    negative = q[0] == c'-'
    if negative:
        q += 1
    if q >= c.end or not _is_digit(q[0]):
        return NULL
    if q[0] == c'0' and q + 1 < c.end and _is_digit(q[1]):
        return NULL  # leading zero: not JSON
    while q < c.end and _is_digit(q[0]):
        # The count is checked BEFORE the multiply: any 18 digits fit a long long (10**18 - 1 <
        # 2**63 - 1), a 19th may not (999999999999999999 * 10 overflows: undefined behaviour
        # wherever the compiler is not given -fwrapv), so it goes to the general decoder unread.
        if digits == 18:
            return NULL
        total = total * 10 + (q[0] - c'0')
        digits += 1
        q += 1
    if q < c.end and (q[0] == c'.' or q[0] == c'e' or q[0] == c'E'):  # a float
        return NULL
    value[0] = -total if negative else total
    return q


# ── the grammar, validating only ────────────────────────────────────────────────────────────


cdef int _skip_string(_Cursor *c) except -2:
    cdef unsigned char high = 0
    cdef const unsigned char *start = c.p + 1
    cdef const unsigned char *end = _string_end(c, &high)
    if end == NULL or (high >= 0x80 and not _valid_utf8(start, end - start)):
        return -1
    c.p = end + 1
    return 0


cdef int _skip_container(_Cursor *c, int depth, unsigned char close) except -2:
    """An object (``close`` is '}') or an array (']') at c.p, at nesting level ``depth``."""
    if depth > MAX_JSON_DEPTH:
        return -1
    c.p += 1
    _skip_ws(c)
    if _at(c, close):
        c.p += 1
        return 0
    while True:
        _skip_ws(c)
        if close == c'}':  # member = string ws ":" ws value
            if not _at(c, c'"') or _skip_string(c) < 0:
                return -1
            _skip_ws(c)
            if not _at(c, c':'):
                return -1
            c.p += 1
            _skip_ws(c)
        if _skip_value(c, depth) < 0:
            return -1
        _skip_ws(c)
        if _at(c, c','):
            c.p += 1
            continue
        if _at(c, close):
            c.p += 1
            return 0
        return -1


cdef int _skip_value(_Cursor *c, int depth) except -2:
    """Validate one value of the grammar (at nesting level ``depth``), building nothing."""
    if c.p >= c.end:
        return -1
    cdef unsigned char ch = c.p[0]
    cdef long long ignored
    cdef const unsigned char *end
    if ch == c'"':
        return _skip_string(c)
    if ch == c'{':
        return _skip_container(c, depth + 1, c'}')
    if ch == c'[':
        return _skip_container(c, depth + 1, c']')
    if ch == c'-' or _is_digit(ch):
        end = _int_end(c, &ignored)
        if end == NULL:
            return -1
        c.p = end
        return 0
    if ch == c't':
        return _literal(c, "true", 4)
    if ch == c'f':
        return _literal(c, "false", 5)
    if ch == c'n':
        return _literal(c, "null", 4)
    return -1


# ── the known claims, built ─────────────────────────────────────────────────────────────────

# The claim names, interned: most object keys in a payload are these, and reusing them saves an
# allocation and a hash computation each. ``rl`` and ``ip`` (the policy claims, docs/SPEC.md
# section 8) are skipped like unknown claims, but their presence is noted: the verifier's policy
# check runs only for keys that carry one.
cdef str _K_ID = "id", _K_TID = "tid", _K_SCP = "scp", _K_ENV = "env", _K_EXP = "exp"
cdef str _K_NBF = "nbf", _K_IAT = "iat", _K_META = "meta", _K_RL = "rl", _K_IP = "ip"
cdef str _PRODUCTION = "production"


cdef inline object _known_name(const unsigned char *s, Py_ssize_t n):
    # Byte comparisons, not memcmp: a call per candidate name cost more than the whole test.
    cdef unsigned char a, b, c
    if n == 3:
        a = s[0]
        b = s[1]
        c = s[2]
        if a == c't' and b == c'i' and c == c'd':
            return _K_TID
        if a == c's' and b == c'c' and c == c'p':
            return _K_SCP
        if a == c'e':
            if b == c'n' and c == c'v':
                return _K_ENV
            if b == c'x' and c == c'p':
                return _K_EXP
        elif a == c'n' and b == c'b' and c == c'f':
            return _K_NBF
        elif a == c'i' and b == c'a' and c == c't':
            return _K_IAT
    elif n == 2:
        a = s[0]
        b = s[1]
        if a == c'i':
            if b == c'd':
                return _K_ID
            if b == c'p':
                return _K_IP
        elif a == c'r' and b == c'l':
            return _K_RL
    elif n == 4:
        if s[0] == c'm' and s[1] == c'e' and s[2] == c't' and s[3] == c'a':
            return _K_META
    return None


# ── strings of verified payloads, reused ────────────────────────────────────────────────────
#
# The same key is verified again and again (every request of a client), and its tenant, scopes,
# environment and id repeat: a small direct-mapped table of the str objects built last gives
# them back instead of allocating (and later freeing) a new str each time. Only short ASCII
# strings of payloads that already passed the signature check go in, so the table holds
# nothing an attacker chose; a collision just replaces the entry. The strs are immutable, so
# sharing one between claims objects changes nothing a caller can observe but `is`. Measured:
# a typical verify builds 5 strings; reusing them saves ~15 ns each. Without a GIL
# (free-threaded builds) the table would be shared mutable state: it is compiled out there.

cdef extern from *:
    """
    #ifdef Py_GIL_DISABLED
    #define APIKEE_STR_CACHE 0
    #else
    #define APIKEE_STR_CACHE 1
    #endif
    """
    int APIKEE_STR_CACHE

cdef enum:
    STR_CACHE_SLOTS = 256  # a power of two
    STR_CACHE_LONGEST = 48

cdef PyObject *_str_cache[STR_CACHE_SLOTS]


cdef inline size_t _str_slot(const unsigned char *s, Py_ssize_t n) noexcept nogil:
    cdef uint64_t head = 0, tail = 0
    cdef Py_ssize_t i
    if n >= 8:
        memcpy(&head, s, 8)
        memcpy(&tail, s + n - 8, 8)
    else:
        for i in range(n):
            head = (head << 8) | s[i]
    head ^= (tail * <uint64_t>0x9E3779B97F4A7C15ULL) ^ <uint64_t>n
    head *= <uint64_t>0xFF51AFD7ED558CCDULL
    return <size_t>(head >> 56) & (STR_CACHE_SLOTS - 1)


cdef inline bint _same_bytes(
    const unsigned char *a, const unsigned char *b, Py_ssize_t n
) noexcept nogil:
    """a[0:n] == b[0:n], in time that depends only on n (the tables compare only values of
    payloads that verified, but there is no reason to leak how much of them matched)."""
    cdef unsigned char diff = 0
    cdef Py_ssize_t i
    for i in range(n):
        diff |= a[i] ^ b[i]
    return diff == 0


cdef inline void _put(PyObject **field, object value) noexcept:
    """Replace the table reference in *field by ``value`` (the old one released after)."""
    cdef PyObject *old = field[0]
    Py_INCREF(value)
    field[0] = <PyObject *>value
    Py_XDECREF(old)


cdef inline object _ascii_str(const unsigned char *s, Py_ssize_t n):
    """A str of the ASCII bytes s[0:n], reused from the table when it holds an equal one."""
    cdef size_t slot
    cdef PyObject *found
    if APIKEE_STR_CACHE and n <= STR_CACHE_LONGEST:
        slot = _str_slot(s, n)
        found = _str_cache[slot]
        if (
            found != NULL and PyUnicode_GET_LENGTH(<object>found) == n
            and _same_bytes(<const unsigned char *>PyUnicode_DATA(<object>found), s, n)
        ):
            return <object>found
        text = PyUnicode_New(n, 127)
        memcpy(PyUnicode_DATA(text), s, n)
        _put(&_str_cache[slot], text)
        return text
    text = PyUnicode_New(n, 127)
    memcpy(PyUnicode_DATA(text), s, n)
    return text


cdef object _parse_name(_Cursor *c):
    """An object key: the interned claim name, None for any other valid name, _BAIL otherwise."""
    cdef unsigned char high = 0
    cdef const unsigned char *start = c.p + 1
    cdef const unsigned char *end = _string_end(c, &high)
    if end == NULL:
        return _BAIL
    c.p = end + 1
    if high >= 0x80:
        return None if _valid_utf8(start, end - start) else _BAIL
    return _known_name(start, end - start)


cdef object _build_string(_Cursor *c):
    cdef unsigned char high = 0
    cdef const unsigned char *start = c.p + 1
    cdef const unsigned char *end = _string_end(c, &high)
    if end == NULL:
        return _BAIL
    if high < 0x80:  # pure ASCII: a compact str, reused when the table has it
        text = _ascii_str(start, end - start)
    else:
        try:
            text = PyUnicode_DecodeUTF8(<const char *>start, end - start, NULL)
        except UnicodeDecodeError:
            return _BAIL
    c.p = end + 1
    return text


cdef enum:
    INT_CACHE_SLOTS = 64  # a power of two

cdef struct _CachedInt:
    PyObject *number
    long long value

cdef _CachedInt _int_cache[INT_CACHE_SLOTS]


cdef inline object _small_cache_int(long long value):
    """PyLong_FromLongLong, reusing the int last built for this value's slot (the exp and iat of
    a key repeat at every verification of it; ints are immutable). Compiled out without a GIL,
    as the string table."""
    cdef size_t slot
    cdef PyObject *found
    if not APIKEE_STR_CACHE:
        return PyLong_FromLongLong(value)
    slot = <size_t>((<uint64_t>value * <uint64_t>0x9E3779B97F4A7C15ULL) >> 58)
    slot &= INT_CACHE_SLOTS - 1
    found = _int_cache[slot].number
    if found != NULL and _int_cache[slot].value == value:
        return <object>found
    number = PyLong_FromLongLong(value)
    _put(&_int_cache[slot].number, number)
    _int_cache[slot].value = value
    return number


cdef enum:
    SCOPES_ON_STACK = 16  # arrays up to this long are built without a list append


cdef object _build_string_array(_Cursor *c):
    """``scp``: an array whose every element is a string, as a new list; _BAIL for any other
    array (the general decoder then reports INVALID_CLAIMS or DECODE_ERROR). The first
    SCOPES_ON_STACK items are held in a C array and the list is made at its final size."""
    cdef PyObject *held[SCOPES_ON_STACK]
    cdef Py_ssize_t count = 0, i
    cdef list result
    cdef list more = None
    c.p += 1
    _skip_ws(c)
    if _at(c, c']'):
        c.p += 1
        return []
    try:
        while True:
            _skip_ws(c)
            if not _at(c, c'"'):
                return _BAIL
            item = _build_string(c)
            if item is _BAIL:
                return _BAIL
            if count < SCOPES_ON_STACK:
                Py_INCREF(item)
                held[count] = <PyObject *>item
                count += 1
            else:
                if more is None:
                    more = []
                PyList_Append(more, item)
            _skip_ws(c)
            if _at(c, c','):
                c.p += 1
                continue
            if _at(c, c']'):
                c.p += 1
                break
            return _BAIL
        result = PyList_New(count)
        for i in range(count):  # the list takes over the references held
            PyList_SET_ITEM(result, i, <object>held[i])
        count = 0
        if more is not None:
            result.extend(more)
        return result
    finally:
        for i in range(count):  # only on the _BAIL paths (count is 0 once the list owns them)
            Py_XDECREF(held[i])


cdef object _claim_value(_Cursor *c):
    """The value of a known claim in the shapes a valid claim has (a string, an integer, an
    array of strings), or _BAIL for anything else."""
    cdef long long value
    cdef const unsigned char *end
    if c.p >= c.end:
        return _BAIL
    cdef unsigned char ch = c.p[0]
    if ch == c'"':
        return _build_string(c)
    if ch == c'[':
        return _build_string_array(c)
    if ch == c'-' or _is_digit(ch):
        end = _int_end(c, &value)
        if end == NULL:
            return _BAIL
        c.p = end
        return _small_cache_int(value)
    return _BAIL


# ── the claims object ───────────────────────────────────────────────────────────────────────


cdef object _fast_claims(const unsigned char *data, Py_ssize_t n):
    """Claims from a JSON payload in one pass, or _BAIL for the general decoder."""
    cdef _Cursor c
    cdef bint meta_ok = True
    cdef bint policed = False
    c.p = data
    c.end = data + n
    _skip_ws(&c)
    if not _at(&c, c'{'):
        return _BAIL
    c.p += 1
    key_id = tenant = scopes = environment = exp = nbf = iat = _MISSING
    _skip_ws(&c)
    if _at(&c, c'}'):
        c.p += 1
    else:
        while True:  # duplicate names: the last one wins, as in json.loads
            _skip_ws(&c)
            if not _at(&c, c'"'):
                return _BAIL
            name = _parse_name(&c)
            if name is _BAIL:
                return _BAIL
            _skip_ws(&c)
            if not _at(&c, c':'):
                return _BAIL
            c.p += 1
            _skip_ws(&c)
            if name is None or name is _K_META or name is _K_RL or name is _K_IP:
                if name is _K_META:
                    meta_ok = _at(&c, c'{')
                elif name is not None:
                    policed = True
                if _skip_value(&c, 1) < 0:
                    return _BAIL
            else:
                value = _claim_value(&c)
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
                elif name is _K_NBF:
                    nbf = value
                else:
                    iat = value
            _skip_ws(&c)
            if _at(&c, c','):
                c.p += 1
                continue
            if _at(&c, c'}'):
                c.p += 1
                break
            return _BAIL
    _skip_ws(&c)
    if c.p != c.end:
        return _BAIL
    # No copy of the payload is kept: the claims object decodes it again from its raw key if
    # meta, to_dict(), == or pickling ever need the whole document.
    return _claims_from_values(
        key_id, tenant, scopes, environment, exp, nbf, iat, meta_ok, None, None, True, True,
        policed,
    )


# ── payloads parsed before ──────────────────────────────────────────────────────────────────
#
# A client sends the same key with every request, so the same authenticated payload is parsed
# again and again to the same values. A small direct-mapped table keeps, per payload (up to
# PARSED_LONGEST bytes), a copy of its bytes and the claim values the reader built from them;
# when the next authenticated payload is byte for byte the same, the claims object is made from
# those values (a fresh scopes list, as always) without parsing. The decoding and the MAC are
# never skipped: only payloads that already passed the signature check are looked up or
# stored, so an attacker can neither probe nor fill the table, and a hit gives exactly what
# parsing gives (same bytes, same deterministic reader). The slot is chosen by the signature's
# low bytes (the MAC: uniformly spread, not chosen by a client without the secret). Compiled
# out without a GIL, as the string table.

cdef enum:
    PARSED_SLOTS = 64  # a power of two
    PARSED_LONGEST = 192

cdef struct _Parsed:
    Py_ssize_t size  # 0: an empty slot
    PyObject *key_id
    PyObject *tenant
    PyObject *scopes  # a tuple
    PyObject *environment
    PyObject *exp
    PyObject *nbf
    PyObject *iat
    double exp_seconds
    double nbf_seconds
    bint policed
    PyObject *raw_key  # an exact str of the whole key these values came from
    unsigned char payload[PARSED_LONGEST]

cdef _Parsed _parsed[PARSED_SLOTS]


cdef inline size_t _parsed_slot(const unsigned char *sig, size_t sig_size) noexcept nogil:
    return <size_t>sig[sig_size - 1] & (PARSED_SLOTS - 1)


cdef void _remember_parsed(
    ApikeeClaims claims, const unsigned char *payload, Py_ssize_t size,
    const unsigned char *sig, size_t sig_size, const unsigned char *data, Py_ssize_t n, object key,
) except *:
    if not APIKEE_STR_CACHE or size > PARSED_LONGEST:
        return
    cdef _Parsed *entry = &_parsed[_parsed_slot(sig, sig_size)]
    scopes = tuple(claims.scopes)
    entry.size = 0  # (nothing below runs Python code, but stay consistent if it did)
    _put(&entry.key_id, claims.id)
    _put(&entry.tenant, claims.tenant)
    _put(&entry.scopes, scopes)
    _put(&entry.environment, claims.environment)
    _put(&entry.exp, claims.exp)
    _put(&entry.nbf, claims.nbf)
    _put(&entry.iat, claims.iat)
    entry.exp_seconds = claims._exp_seconds
    entry.nbf_seconds = claims._nbf_seconds
    entry.policed = claims._policed
    # The key as a str, so that the next verification of the same key given as bytes (what the
    # ASGI middleware passes) need not decode it again.
    _put(&entry.raw_key, key if type(key) is str else PyUnicode_DecodeLatin1(
        <const char *>data, n, NULL))
    memcpy(entry.payload, payload, size)
    entry.size = size


cdef object _parsed_claims(
    const unsigned char *payload, Py_ssize_t size, const unsigned char *sig, size_t sig_size,
    const unsigned char *data, Py_ssize_t n, bint bytes_key,
):
    """The claims of an authenticated payload parsed before, or None; for a bytes key also its
    str (a str key is its own raw_key: verify() sets it)."""
    if not APIKEE_STR_CACHE:
        return None
    cdef _Parsed *entry = &_parsed[_parsed_slot(sig, sig_size)]
    if entry.size != size or memcmp(entry.payload, payload, size) != 0:
        return None
    cdef ApikeeClaims obj = ApikeeClaims.__new__(ApikeeClaims)
    obj.id = <object>entry.key_id
    obj.tenant = <object>entry.tenant
    obj.scopes = PySequence_List(<object>entry.scopes)
    obj.environment = <object>entry.environment
    obj.exp = <object>entry.exp
    obj.nbf = <object>entry.nbf
    obj.iat = <object>entry.iat
    obj._exp_seconds = entry.exp_seconds
    obj._nbf_seconds = entry.nbf_seconds
    obj._policed = entry.policed
    obj._from_key = True
    obj.verified = True
    # The same payload with the same signature is the same key (the encoding is canonical);
    # its str is reused only when every character is equal.
    cdef PyObject *raw = entry.raw_key
    if (
        bytes_key and raw != NULL and PyUnicode_GET_LENGTH(<object>raw) == n
        and _same_bytes(<const unsigned char *>PyUnicode_DATA(<object>raw), data, n)
    ):
        obj.raw_key = <object>raw
    return obj
