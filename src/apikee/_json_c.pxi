# Included by _core_c.pyx (one extension module): the one-pass reader of the compact claims
# object, and the subset-of-JSON parser it uses for claim values. It accepts exactly a subset of
# what _payload.py (the general decoder both twins share) accepts, with the same results, and
# hands everything else to it.

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


cdef inline const unsigned char *_string_end(_Cursor *c, unsigned char *high) noexcept nogil:
    """The closing quote of the string at c.p, or NULL (escape, control character, no end).

    ORs every byte into *high, so bit 7 says whether the string is pure ASCII.
    """
    cdef const unsigned char *q = c.p + 1
    cdef unsigned char ch, seen = 0
    while q < c.end:
        ch = q[0]
        if ch == 34:  # '"'
            high[0] = seen
            return q
        if ch == 92 or ch < 32:  # backslash escape or control character
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


cdef object _parse_string(_Cursor *c):
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


cdef inline const unsigned char *_int_end(_Cursor *c, long long *value) noexcept nogil:
    """The end of the JSON integer at c.p (at most 18 digits, no fraction or exponent), or NULL;
    its value goes to *value."""
    cdef const unsigned char *q = c.p
    cdef bint negative
    cdef long long total = 0
    cdef int digits = 0
    if q >= c.end:
        return NULL
    negative = q[0] == 45  # '-'
    if negative:
        q += 1
    if q >= c.end or q[0] < 48 or q[0] > 57:
        return NULL
    if q[0] == 48 and q + 1 < c.end and 48 <= q[1] <= 57:
        return NULL  # leading zero: not JSON
    while q < c.end and 48 <= q[0] <= 57:
        # The count is checked BEFORE the multiply: any 18 digits fit a long long (10**18 - 1 <
        # 2**63 - 1), a 19th may not (999999999999999999 * 10 overflows: undefined behaviour
        # wherever the compiler is not given -fwrapv), so it goes to the general decoder unread.
        if digits == 18:
            return NULL
        total = total * 10 + (q[0] - 48)
        digits += 1
        q += 1
    if q < c.end and (q[0] == 46 or q[0] == 101 or q[0] == 69):  # '.', 'e', 'E': a float
        return NULL
    value[0] = -total if negative else total
    return q


cdef object _parse_int(_Cursor *c):
    cdef long long value
    cdef const unsigned char *end = _int_end(c, &value)
    if end == NULL:
        return _BAIL
    c.p = end
    return PyLong_FromLongLong(value)


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
        name = _parse_string(c)
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
    cdef unsigned char high = 0
    cdef const unsigned char *start = c.p + 1
    cdef const unsigned char *end = _string_end(c, &high)
    if end == NULL:
        return _BAIL
    c.p = end + 1
    if high >= 0x80:
        return None if _valid_utf8(start, end - start) else _BAIL
    return _known_name(start, end - start)


cdef int _skip_string(_Cursor *c) except -2:
    cdef unsigned char high = 0
    cdef const unsigned char *start = c.p + 1
    cdef const unsigned char *end = _string_end(c, &high)
    if end == NULL or (high >= 0x80 and not _valid_utf8(start, end - start)):
        return -1
    c.p = end + 1
    return 0


cdef int _skip_int(_Cursor *c) except -2:
    cdef long long value
    cdef const unsigned char *end = _int_end(c, &value)
    if end == NULL:
        return -1
    c.p = end
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
        PyBytes_FromStringAndSize(<const char *>data, n), True,
    )
