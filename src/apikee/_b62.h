/*
 * base62 <-> big-endian bytes in machine words, for apikee's compiled codec.
 *
 * Decoding multiplies a little-endian array of limbs by 62**k and adds k digits at a time
 * (k = 10 with 64-bit limbs where the compiler has a 128-bit type, else k = 5 with 32-bit limbs),
 * instead of one digit at a time on a big integer; on x86-64 the digits of a chunk are read with
 * SSE2. Encoding divides 32-bit limbs by 62**5, which compilers turn into a multiplication by a
 * constant. Callers bound the input length.
 */
#ifndef APIKEE_B62_H
#define APIKEE_B62_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const char apikee_b62_alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* digit value of every byte; 0xFF for bytes outside the alphabet */
static unsigned char apikee_b62_value[256];

static void apikee_b62_init(void) {
    int i;
    memset(apikee_b62_value, 0xFF, sizeof(apikee_b62_value));
    for (i = 0; i < 62; i++) apikee_b62_value[(unsigned char)apikee_b62_alphabet[i]] = (unsigned char)i;
}

/* 1 when every byte is a base62 digit. Scans the whole input (no early exit needed: not secret). */
static inline int apikee_b62_valid(const unsigned char *s, size_t n) {
    unsigned char bad = 0;
    size_t i;
    for (i = 0; i < n; i++) bad |= apikee_b62_value[s[i]];
    /* every valid value is < 64, so bit 7 is set iff some byte was invalid (0xFF) */
    return !(bad & 0x80);
}

#if defined(__SIZEOF_INT128__) && !defined(APIKEE_B62_NO_INT128) /* the macro: test the 32-bit path */
typedef uint64_t apikee_limb;
typedef unsigned __int128 apikee_dlimb;
#define APIKEE_LIMB_BITS 64
#define APIKEE_DIGITS_PER_STEP 10
#else
typedef uint32_t apikee_limb;
typedef uint64_t apikee_dlimb;
#define APIKEE_LIMB_BITS 32
#define APIKEE_DIGITS_PER_STEP 5
#endif
#define APIKEE_LIMB_BYTES (APIKEE_LIMB_BITS / 8)

/* Limbs needed for n digits: 62**n < 2**(6n) (also for invalid digits, masked to < 64). */
static inline size_t apikee_b62_limbs_for(size_t digits) {
    return (digits * 6) / APIKEE_LIMB_BITS + 2;
}

#if APIKEE_DIGITS_PER_STEP == 10
static const apikee_limb apikee_b62_pow[11] = {
    1ULL, 62ULL, 3844ULL, 238328ULL, 14776336ULL, 916132832ULL, 56800235584ULL,
    3521614606208ULL, 218340105584896ULL, 13537086546263552ULL, 839299365868340224ULL};
#else
static const apikee_limb apikee_b62_pow[6] = {1u, 62u, 3844u, 238328u, 14776336u, 916132832u};
#endif

/* Value of k <= APIKEE_DIGITS_PER_STEP digits; ORs every table entry into *bad so that any
 * byte outside the alphabet (0xFF) sets bit 7. Four independent Horner chains (joined at the
 * end) shorten the dependency chain of the multiply-adds: measured 20% faster than two. */
static inline apikee_limb apikee_b62_chunk(const unsigned char *s, size_t k, unsigned char *bad) {
    apikee_limb a = 0, b = 0, c = 0, d = 0;
    size_t q = k / 4, e1 = q, e2 = 2 * q, e3 = 3 * q, i;
    unsigned char acc = 0;
    for (i = 0; i < e1; i++) {
        unsigned char v = apikee_b62_value[s[i]];
        acc |= v;
        a = a * 62 + (v & 63); /* masked: invalid input stays below 64**k */
    }
    for (i = e1; i < e2; i++) {
        unsigned char v = apikee_b62_value[s[i]];
        acc |= v;
        b = b * 62 + (v & 63);
    }
    for (i = e2; i < e3; i++) {
        unsigned char v = apikee_b62_value[s[i]];
        acc |= v;
        c = c * 62 + (v & 63);
    }
    for (i = e3; i < k; i++) {
        unsigned char v = apikee_b62_value[s[i]];
        acc |= v;
        d = d * 62 + (v & 63);
    }
    *bad |= acc;
    return ((a * apikee_b62_pow[e2 - e1] + b) * apikee_b62_pow[e3 - e2] + c) * apikee_b62_pow[k - e3] + d;
}

/* limbs[0..used) = limbs * mul + add; returns the new count. */
static inline size_t apikee_b62_row(apikee_limb *limbs, size_t used, apikee_limb mul, apikee_limb add) {
    size_t i;
    for (i = 0; i < used; i++) {
        apikee_dlimb t = (apikee_dlimb)limbs[i] * mul + add;
        limbs[i] = (apikee_limb)t;
        add = (apikee_limb)(t >> APIKEE_LIMB_BITS);
    }
    if (add) limbs[used++] = add;
    return used;
}

/* limbs = (limbs * mul + c1) * mul + c2 in one pass; returns the new count. Two interleaved
 * carry chains (the two products of a limb are independent of the other chain), so the limbs
 * are loaded and stored half as often as by two apikee_b62_row. Nothing wraps: the high half
 * of a product of two limbs is at most 2**bits - 2, so adding the carry out of the low half
 * (lo < c) fits, and c1 * mul + c2 < 2**(2 * bits). With 64-bit limbs the carry is written as
 * that compare: gcc then makes fewer moves around mul than for an add of __int128 (119 against
 * 124 ns at 175 digits); with 32-bit limbs the 64-bit add is native and the compare 40% slower. */
static inline size_t apikee_b62_rows2(apikee_limb *limbs, size_t used, apikee_limb mul, apikee_limb c1,
                                      apikee_limb c2) {
    apikee_dlimb u;
    size_t i;
    for (i = 0; i < used; i++) {
#if APIKEE_LIMB_BITS == 64
        apikee_dlimb w = (apikee_dlimb)limbs[i] * mul;
        apikee_limb lo = (apikee_limb)w + c1;
        c1 = (apikee_limb)(w >> APIKEE_LIMB_BITS) + (lo < c1);
        w = (apikee_dlimb)lo * mul;
        lo = (apikee_limb)w + c2;
        c2 = (apikee_limb)(w >> APIKEE_LIMB_BITS) + (lo < c2);
        limbs[i] = lo;
#else
        apikee_dlimb t = (apikee_dlimb)limbs[i] * mul + c1;
        c1 = (apikee_limb)(t >> APIKEE_LIMB_BITS);
        t = (apikee_dlimb)(apikee_limb)t * mul + c2;
        limbs[i] = (apikee_limb)t;
        c2 = (apikee_limb)(t >> APIKEE_LIMB_BITS);
#endif
    }
    u = (apikee_dlimb)c1 * mul + c2; /* the two carries: up to two more limbs */
    if (u) {
        limbs[used++] = (apikee_limb)u;
        if ((apikee_limb)(u >> APIKEE_LIMB_BITS)) limbs[used++] = (apikee_limb)(u >> APIKEE_LIMB_BITS);
    }
    return used;
}

/* Digits -> limbs, one byte at a time through apikee_b62_value: any limb width, any length.
 * Chunks aligned on the least significant end (the first one may be shorter). */
static size_t apikee_b62_to_limbs_scalar(const unsigned char *s, size_t n, apikee_limb *limbs,
                                         unsigned char *bad) {
    const apikee_limb mul = apikee_b62_pow[APIKEE_DIGITS_PER_STEP];
    size_t used = 0, pos;
    size_t first = n % APIKEE_DIGITS_PER_STEP;
    if (n == 0) return 0;
    if (first == 0) first = APIKEE_DIGITS_PER_STEP;
    used = apikee_b62_row(limbs, 0, 0, apikee_b62_chunk(s, first, bad));
    pos = first;
    while (n - pos >= 2 * APIKEE_DIGITS_PER_STEP) {
        apikee_limb c1 = apikee_b62_chunk(s + pos, APIKEE_DIGITS_PER_STEP, bad);
        apikee_limb c2 = apikee_b62_chunk(s + pos + APIKEE_DIGITS_PER_STEP, APIKEE_DIGITS_PER_STEP, bad);
        pos += 2 * APIKEE_DIGITS_PER_STEP;
        used = apikee_b62_rows2(limbs, used, mul, c1, c2);
    }
    if (pos < n) used = apikee_b62_row(limbs, used, mul, apikee_b62_chunk(s + pos, APIKEE_DIGITS_PER_STEP, bad));
    return used;
}

/* SSE2 (every x86-64 CPU) digit conversion for the 64-bit limbs; APIKEE_B62_NO_SIMD: the
 * portable path only (tests build it too). */
#if APIKEE_LIMB_BITS == 64 && !defined(APIKEE_B62_NO_SIMD) && defined(__SSE2__) && defined(__x86_64__)
#define APIKEE_B62_SSE2 1
#include <emmintrin.h>

/* Digit values of 16 bytes and, in *ok, 0xFF in the lanes that are base62 digits (a byte
 * outside the alphabet gets some value < 64). x + (0x80 - lo) takes [lo, lo + w) to the signed
 * bytes [-128, -128 + w) and every other byte above them. */
static inline __m128i apikee_b62_sse2_values(__m128i x, __m128i *ok) {
    __m128i d = _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - '0'))), _mm_set1_epi8(-128 + 10));
    __m128i u = _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - 'A'))), _mm_set1_epi8(-128 + 26));
    __m128i l = _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - 'a'))), _mm_set1_epi8(-128 + 26));
    /* '0' -> 0, 'A' -> 10, 'a' -> 36: subtract 48, 55 or 61 */
    __m128i off = _mm_or_si128(_mm_and_si128(d, _mm_set1_epi8(48)), _mm_and_si128(u, _mm_set1_epi8(55)));
    off = _mm_or_si128(off, _mm_and_si128(l, _mm_set1_epi8(61)));
    *ok = _mm_or_si128(_mm_or_si128(d, u), l);
    return _mm_and_si128(_mm_sub_epi8(x, off), _mm_set1_epi8(63));
}

/* Value of the 10 digits in lanes 0..9 (first digit most significant), each < 64. */
static inline apikee_limb apikee_b62_sse2_ten(__m128i v) {
    /* 16-bit lanes: pairs d[2i] * 62 + d[2i+1] < 62**2 */
    __m128i pairs = _mm_add_epi16(_mm_mullo_epi16(_mm_and_si128(v, _mm_set1_epi16(0xFF)), _mm_set1_epi16(62)),
                                  _mm_srli_epi16(v, 8));
    /* 32-bit lanes: pairs[2i] * 62**2 + pairs[2i+1] < 62**4 (pmaddwd, signed 16-bit: all < 2**15) */
    __m128i quads = _mm_madd_epi16(pairs, _mm_set1_epi32(3844 | (1 << 16)));
    /* 64-bit lanes: quads[2i] * 62**4 + quads[2i+1] < 62**8 */
    __m128i octs = _mm_add_epi64(_mm_mul_epu32(quads, _mm_set1_epi64x(14776336)), _mm_srli_epi64(quads, 32));
    return (apikee_limb)_mm_cvtsi128_si64(octs) * 3844u + (apikee_limb)_mm_extract_epi16(pairs, 4);
}

/* The 10 digits at s[pos..pos+10), n >= 16: 16 bytes from pos, or (near the end) the 16 that
 * end with them, moved down 6 lanes. Every byte loaded is in s[0..n), so all of them must be
 * digits: *ok keeps the AND of the lanes' checks. */
static inline apikee_limb apikee_b62_sse2_chunk(const unsigned char *s, size_t n, size_t pos, __m128i *ok) {
    __m128i x, good, v;
    if (n - pos >= 16) {
        memcpy(&x, s + pos, 16);
        v = apikee_b62_sse2_values(x, &good);
    } else {
        memcpy(&x, s + pos - 6, 16); /* pos >= 10 here: n >= 16 and pos is a multiple of 10 */
        v = _mm_srli_si128(apikee_b62_sse2_values(x, &good), 6);
    }
    *ok = _mm_and_si128(*ok, good);
    return apikee_b62_sse2_ten(v);
}

/* The last r (1..9) digits, n >= 16: the last 16 bytes, lanes before 16 - r zeroed, moved
 * down 6 lanes (leading zero digits). */
static inline apikee_limb apikee_b62_sse2_tail(const unsigned char *s, size_t n, size_t r, __m128i *ok) {
    const __m128i lane = _mm_set_epi8(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    __m128i x, good, v;
    memcpy(&x, s + n - 16, 16);
    v = apikee_b62_sse2_values(x, &good);
    *ok = _mm_and_si128(*ok, good);
    v = _mm_and_si128(v, _mm_cmpgt_epi8(lane, _mm_set1_epi8((char)(15 - r))));
    return apikee_b62_sse2_ten(_mm_srli_si128(v, 6));
}

/* n >= 16 digits -> limbs. Chunks aligned on the most significant end: full chunks from s[0],
 * then the last n % 10 digits times 62**(n % 10). The digit checks are ANDed in a register and
 * read once at the end (no early exit). */
static size_t apikee_b62_to_limbs_sse2(const unsigned char *s, size_t n, apikee_limb *limbs,
                                       unsigned char *bad) {
    const apikee_limb mul = apikee_b62_pow[10];
    size_t r = n % 10, full = n - r, pos, used;
    __m128i ok = _mm_set1_epi8(-1);
    used = apikee_b62_row(limbs, 0, 0, apikee_b62_sse2_chunk(s, n, 0, &ok));
    for (pos = 10; full - pos >= 20; pos += 20) {
        apikee_limb c1 = apikee_b62_sse2_chunk(s, n, pos, &ok);
        apikee_limb c2 = apikee_b62_sse2_chunk(s, n, pos + 10, &ok);
        used = apikee_b62_rows2(limbs, used, mul, c1, c2);
    }
    if (pos < full) used = apikee_b62_row(limbs, used, mul, apikee_b62_sse2_chunk(s, n, pos, &ok));
    if (r) used = apikee_b62_row(limbs, used, apikee_b62_pow[r], apikee_b62_sse2_tail(s, n, r, &ok));
    if (_mm_movemask_epi8(ok) != 0xFFFF) *bad |= 0x80;
    return used;
}
#endif

/* Digits -> little-endian limbs; returns the number of limbs used (the top one non-zero).
 * Sets bit 7 of *bad when a byte is outside the alphabet (the result is then meaningless, but
 * every digit is still taken < 64, so it fits). `limbs` has room for apikee_b62_limbs_for(n)
 * limbs.
 *
 * Schoolbook Horner in 10-digit chunks (62**10 < 2**64), two rows per sweep
 * (apikee_b62_rows2). With SSE2 (x86-64) and n >= 16 the chunks come from 16 bytes at a time:
 * range checks and digit values in vector lanes, then pairs, quads and 8 digits by pmullw,
 * pmaddwd and pmuludq (apikee_b62_sse2_*); a table lookup and a multiply-add per byte cost
 * about as much as the whole bignum sweep. Measured on a 2-core AMD EPYC VM (family 25,
 * AVX-512), gcc 12 -O3, min of 400 interleaved runs, per call: 175 digits (the typical payload)
 * 160 -> 114 ns; 43 (a signature) 29 -> 20 ns; 2000: 10.8 -> 9.8 us. Through Python: b62decode
 * of 175 digits 317 -> 265 ns, Verifier.verify of the typical 226-character key 990 -> 915 ns.
 * What is left is mostly the sweep (~90 ns at 175 digits), bound by the multiplier's
 * throughput (~0.5 ns per 64x64->128 product and its add), not by the carry chains: product
 * scanning (column sums over precomputed 62**(10j), every product independent of the others)
 * measured slower, 103 against 90 ns on the same chunks, since it needs more products (161
 * against 145 for 175 digits) and cannot issue them faster. */
/* 1: the SSE2 digit loop where it is compiled in; 0 (apikee_b62_select, the APIKEE_PORTABLE_C
 * switch and the tests): the portable loop. Written only at import or by the test hook. */
static int apikee_b62_simd = 1;
static const char *apikee_b62_backend_name = "portable";

static void apikee_b62_select(int allow_simd) {
#ifdef APIKEE_B62_SSE2
    apikee_b62_simd = allow_simd ? 1 : 0;
    apikee_b62_backend_name = allow_simd ? "sse2" : "portable";
#else
    (void)allow_simd;
    apikee_b62_simd = 0;
#endif
}

static size_t apikee_b62_to_limbs_checked(const unsigned char *s, size_t n, apikee_limb *limbs,
                                          unsigned char *bad) {
#ifdef APIKEE_B62_SSE2
    if (apikee_b62_simd && n >= 16) return apikee_b62_to_limbs_sse2(s, n, limbs, bad);
#endif
    return apikee_b62_to_limbs_scalar(s, n, limbs, bad);
}

/* Digits already validated -> little-endian limbs. */
static size_t apikee_b62_to_limbs(const unsigned char *s, size_t n, apikee_limb *limbs) {
    unsigned char bad = 0;
    return apikee_b62_to_limbs_checked(s, n, limbs, &bad);
}

/* Limbs -> minimal big-endian bytes (no leading zero byte); returns the byte count. */
static size_t apikee_limbs_to_bytes(const apikee_limb *limbs, size_t used, unsigned char *out) {
    size_t skip = 0, i, b, top_bytes;
    apikee_limb top;
    if (used == 0) return 0;
    top = limbs[used - 1];
    while (skip < APIKEE_LIMB_BYTES && ((top >> (APIKEE_LIMB_BITS - 8 * (skip + 1))) & 0xFF) == 0) skip++;
    top_bytes = APIKEE_LIMB_BYTES - skip;
    for (b = 0; b < top_bytes; b++) out[b] = (unsigned char)(top >> (8 * (top_bytes - 1 - b)));
    out += top_bytes;
    for (i = used - 1; i-- > 0;) {
        apikee_limb v = limbs[i];
        for (b = 0; b < APIKEE_LIMB_BYTES; b++) out[b] = (unsigned char)(v >> (8 * (APIKEE_LIMB_BYTES - 1 - b)));
        out += APIKEE_LIMB_BYTES;
    }
    return used * APIKEE_LIMB_BYTES - skip;
}

/* Big-endian bytes (no leading zero byte) -> base62 digits into `out` (room for
 * apikee_b62_digits_for(n) chars); `work` holds n/4+1 uint32 limbs. Returns the digit count. */
static inline size_t apikee_b62_digits_for(size_t nbytes) {
    /* log(256)/log(62) = 1.34362...: 1.344 digits per byte is an upper bound */
    return (nbytes * 1344) / 1000 + 2;
}

static size_t apikee_b62_encode_bytes(const unsigned char *in, size_t n, char *out, uint32_t *work) {
    size_t used = 0, i, count = 0;
    const uint32_t chunk = 916132832u; /* 62**5 */
    /* big-endian bytes -> little-endian 32-bit limbs */
    used = (n + 3) / 4;
    memset(work, 0, sizeof(uint32_t) * (n / 4 + 1));
    for (i = 0; i < n; i++) {
        size_t k = n - 1 - i;
        work[k / 4] |= (uint32_t)in[i] << (8 * (k % 4));
    }
    while (used && work[used - 1] == 0) used--;
    /* digits come out least significant first; reversed at the end */
    while (used) {
        uint64_t rem = 0;
        size_t j;
        for (j = used; j-- > 0;) {
            uint64_t cur = (rem << 32) | work[j];
            work[j] = (uint32_t)(cur / chunk);
            rem = cur % chunk;
        }
        while (used && work[used - 1] == 0) used--;
        for (j = 0; j < 5; j++) {
            out[count++] = apikee_b62_alphabet[rem % 62];
            rem /= 62;
            if (!used && !rem) break; /* no leading zero digits on the most significant chunk */
        }
    }
    /* reverse in place */
    for (i = 0; i < count / 2; i++) {
        char t = out[i];
        out[i] = out[count - 1 - i];
        out[count - 1 - i] = t;
    }
    return count;
}

#endif /* APIKEE_B62_H */
