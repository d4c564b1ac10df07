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


cdef inline const unsigned char *_string_end(_Cursor *c, unsigned char *high) noexcept nogil:
    """The closing quote of the string at c.p, or NULL (escape, control character, no end).

    ORs every byte into *high, so bit 7 says whether the string is pure ASCII.
    """
    cdef const unsigned char *q = c.p + 1
    cdef unsigned char ch, seen = 0
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
# allocation and a hash computation each.
cdef str _K_ID = "id", _K_TID = "tid", _K_SCP = "scp", _K_ENV = "env", _K_EXP = "exp"
cdef str _K_NBF = "nbf", _K_IAT = "iat", _K_META = "meta"


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
        if memcmp(s, b"iat", 3) == 0:
            return _K_IAT
    elif n == 2:
        if s[0] == c'i' and s[1] == c'd':
            return _K_ID
    elif n == 4:
        if memcmp(s, b"meta", 4) == 0:
            return _K_META
    return None


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
    if high < 0x80:  # pure ASCII: copy straight into a new compact str
        text = PyUnicode_New(end - start, 127)
        memcpy(PyUnicode_DATA(text), start, end - start)
    else:
        try:
            text = PyUnicode_DecodeUTF8(<const char *>start, end - start, NULL)
        except UnicodeDecodeError:
            return _BAIL
    c.p = end + 1
    return text


cdef object _build_string_array(_Cursor *c):
    """``scp``: an array whose every element is a string, as a new list; _BAIL for any other
    array (the general decoder then reports INVALID_CLAIMS or DECODE_ERROR)."""
    cdef list result = []
    c.p += 1
    _skip_ws(c)
    if _at(c, c']'):
        c.p += 1
        return result
    while True:
        _skip_ws(c)
        if not _at(c, c'"'):
            return _BAIL
        item = _build_string(c)
        if item is _BAIL:
            return _BAIL
        PyList_Append(result, item)
        _skip_ws(c)
        if _at(c, c','):
            c.p += 1
            continue
        if _at(c, c']'):
            c.p += 1
            return result
        return _BAIL


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
        return PyLong_FromLongLong(value)
    return _BAIL


# ── the claims object ───────────────────────────────────────────────────────────────────────


cdef object _fast_claims(const unsigned char *data, Py_ssize_t n):
    """Claims from a JSON payload in one pass, or _BAIL for the general decoder."""
    cdef _Cursor c
    cdef bint meta_ok = True
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
            if name is None or name is _K_META:
                if name is _K_META:
                    meta_ok = _at(&c, c'{')
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
    return _claims_from_values(
        key_id, tenant, scopes, environment, exp, nbf, iat, meta_ok, None, None,
        PyBytes_FromStringAndSize(<const char *>data, n), True,
    )
