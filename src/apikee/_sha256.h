/*
 * SHA-256 and HMAC-SHA256 with precomputed pad states, for apikee's compiled verify path.
 *
 * Why self-contained instead of linking OpenSSL's libcrypto: the wheels must build in
 * cibuildwheel's manylinux/musllinux/macOS/Windows images with no extra system packages and
 * without bundling a second copy of libcrypto into every wheel; and calling libcrypto's EVP API
 * per verification costs more (context allocation, dispatch) than the few compression calls a
 * key needs. On x86-64 CPUs with the SHA extensions (SHA-NI) the compression function uses them
 * (chosen once at import by CPUID); elsewhere a portable, branch-free C implementation runs.
 * Both are checked against hashlib for every length 0..2048 and the NIST vectors in the tests.
 *
 * Measured (AMD EPYC, CPython 3.11, 151-byte payload, per call from Python): HMAC with SHA-NI
 * 0.29 us, portable C 0.94 us; OpenSSL through hashlib 1.69 us one-shot and 0.69 us from
 * precomputed pad states (ctx copies). SHA-NI takes a typical verify from 2.15 to 1.51 us.
 */
#ifndef APIKEE_SHA256_H
#define APIKEE_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define APIKEE_HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define APIKEE_HAVE_SHANI 0
#endif

static const uint32_t apikee_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static const uint32_t apikee_sha256_iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                             0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

#define APIKEE_ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static inline uint32_t apikee_load_be32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void apikee_store_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Portable compression: processes `blocks` 64-byte blocks into `state`. */
static void apikee_sha256_portable(uint32_t state[8], const unsigned char *data, size_t blocks) {
    uint32_t w[64];
    while (blocks--) {
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        int i;
        for (i = 0; i < 16; i++) w[i] = apikee_load_be32(data + 4 * i);
        for (i = 16; i < 64; i++) {
            uint32_t s0 = APIKEE_ROR(w[i - 15], 7) ^ APIKEE_ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = APIKEE_ROR(w[i - 2], 17) ^ APIKEE_ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        for (i = 0; i < 64; i++) {
            uint32_t s1 = APIKEE_ROR(e, 6) ^ APIKEE_ROR(e, 11) ^ APIKEE_ROR(e, 25);
            uint32_t ch = (e & f) ^ (~e & g);
            uint32_t t1 = h + s1 + ch + apikee_sha256_k[i] + w[i];
            uint32_t s0 = APIKEE_ROR(a, 2) ^ APIKEE_ROR(a, 13) ^ APIKEE_ROR(a, 22);
            uint32_t mj = (a & b) ^ (a & c) ^ (b & c);
            uint32_t t2 = s0 + mj;
            h = g; g = f; f = e; e = d + t1;
            d = c; c = b; b = a; a = t1 + t2;
        }
        state[0] += a; state[1] += b; state[2] += c; state[3] += d;
        state[4] += e; state[5] += f; state[6] += g; state[7] += h;
        data += 64;
    }
}

#if APIKEE_HAVE_SHANI
/* SHA-NI compression (Intel SHA extensions): four rounds per pair of sha256rnds2. */
__attribute__((target("sha,sse4.1,ssse3")))
static void apikee_sha256_shani(uint32_t state[8], const unsigned char *data, size_t blocks) {
    const __m128i shuffle = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i state1 = _mm_loadu_si128((const __m128i *)&state[4]);
    __m128i state0;
    tmp = _mm_shuffle_epi32(tmp, 0xB1);          /* CDAB */
    state1 = _mm_shuffle_epi32(state1, 0x1B);    /* EFGH */
    state0 = _mm_alignr_epi8(tmp, state1, 8);    /* ABEF */
    state1 = _mm_blend_epi16(state1, tmp, 0xF0); /* CDGH */

    while (blocks--) {
        __m128i abef = state0, cdgh = state1, msg;
        __m128i m[4];
        int g;
        for (g = 0; g < 4; g++)
            m[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * g)), shuffle);
#if defined(__clang__)
#pragma clang loop unroll(full)
#elif defined(__GNUC__)
#pragma GCC unroll 16
#endif
        for (g = 0; g < 16; g++) {
            msg = _mm_add_epi32(m[g & 3], _mm_loadu_si128((const __m128i *)&apikee_sha256_k[4 * g]));
            state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
            if (g >= 3 && g <= 14) {
                /* next schedule vector: W[t] from W[t-16] (msg1 already applied), W[t-7], W[t-2] */
                __m128i next = _mm_add_epi32(m[(g + 1) & 3], _mm_alignr_epi8(m[g & 3], m[(g + 3) & 3], 4));
                m[(g + 1) & 3] = _mm_sha256msg2_epu32(next, m[g & 3]);
            }
            msg = _mm_shuffle_epi32(msg, 0x0E);
            state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
            if (g >= 1 && g <= 12) m[(g + 3) & 3] = _mm_sha256msg1_epu32(m[(g + 3) & 3], m[g & 3]);
        }
        state0 = _mm_add_epi32(state0, abef);
        state1 = _mm_add_epi32(state1, cdgh);
        data += 64;
    }

    tmp = _mm_shuffle_epi32(state0, 0x1B);       /* FEBA */
    state1 = _mm_shuffle_epi32(state1, 0xB1);    /* DCHG */
    state0 = _mm_blend_epi16(tmp, state1, 0xF0); /* DCBA */
    state1 = _mm_alignr_epi8(state1, tmp, 8);    /* ABEF */
    _mm_storeu_si128((__m128i *)&state[0], state0);
    _mm_storeu_si128((__m128i *)&state[4], state1);
}

static int apikee_cpu_has_shani(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 9)) || !(c & (1u << 19))) return 0; /* SSSE3, SSE4.1 */
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 29) & 1; /* SHA */
}
#endif

typedef void (*apikee_compress_fn)(uint32_t state[8], const unsigned char *data, size_t blocks);
static apikee_compress_fn apikee_sha256_compress = apikee_sha256_portable;
static const char *apikee_sha256_backend_name = "portable";

/* Choose the compression function once; `allow_accel` = 0 forces the portable one (tests). */
static void apikee_sha256_select(int allow_accel) {
    apikee_sha256_compress = apikee_sha256_portable;
    apikee_sha256_backend_name = "portable";
#if APIKEE_HAVE_SHANI
    if (allow_accel && apikee_cpu_has_shani()) {
        apikee_sha256_compress = apikee_sha256_shani;
        apikee_sha256_backend_name = "sha-ni";
    }
#else
    (void)allow_accel;
#endif
}

/* Finish a hash whose state has absorbed `prefix_len` bytes already (a multiple of 64) and
 * now absorbs `data`; writes the 32-byte digest. */
static void apikee_sha256_finish(const uint32_t start[8], uint64_t prefix_len,
                                 const unsigned char *data, size_t len, unsigned char out[32]) {
    uint32_t state[8];
    unsigned char tail[128];
    size_t full = len / 64, rest = len % 64, tail_len;
    uint64_t bits = (prefix_len + (uint64_t)len) * 8;
    int i;
    memcpy(state, start, sizeof(state));
    if (full) apikee_sha256_compress(state, data, full);
    memset(tail, 0, sizeof(tail));
    if (rest) memcpy(tail, data + 64 * full, rest);
    tail[rest] = 0x80;
    tail_len = (rest < 56) ? 64 : 128;
    for (i = 0; i < 8; i++) tail[tail_len - 1 - i] = (unsigned char)(bits >> (8 * i));
    apikee_sha256_compress(state, tail, tail_len / 64);
    for (i = 0; i < 8; i++) apikee_store_be32(out + 4 * i, state[i]);
}

static void apikee_sha256(const unsigned char *data, size_t len, unsigned char out[32]) {
    apikee_sha256_finish(apikee_sha256_iv, 0, data, len, out);
}

/* HMAC key schedule (RFC 2104): the states after absorbing key^ipad and key^opad. */
static void apikee_hmac_states(const unsigned char *key, size_t key_len,
                               uint32_t inner[8], uint32_t outer[8]) {
    unsigned char block[64], pad[64];
    int i;
    memset(block, 0, sizeof(block));
    if (key_len > 64) {
        apikee_sha256(key, key_len, block);
    } else if (key_len) {
        memcpy(block, key, key_len);
    }
    memcpy(inner, apikee_sha256_iv, 32);
    memcpy(outer, apikee_sha256_iv, 32);
    for (i = 0; i < 64; i++) pad[i] = block[i] ^ 0x36;
    apikee_sha256_compress(inner, pad, 1);
    for (i = 0; i < 64; i++) pad[i] = block[i] ^ 0x5c;
    apikee_sha256_compress(outer, pad, 1);
}

/* HMAC-SHA256 of `data` from precomputed pad states. */
static void apikee_hmac_sha256(const uint32_t inner[8], const uint32_t outer[8],
                               const unsigned char *data, size_t len, unsigned char out[32]) {
    unsigned char inner_digest[32];
    apikee_sha256_finish(inner, 64, data, len, inner_digest);
    apikee_sha256_finish(outer, 64, inner_digest, 32, out);
}

/* 1 when the 32-byte strings are equal, else 0; no data-dependent branch or early exit. */
static inline int apikee_equal32(const unsigned char *a, const unsigned char *b) {
    unsigned int diff = 0;
    int i;
    for (i = 0; i < 32; i++) diff |= (unsigned int)(a[i] ^ b[i]);
    return (int)(((diff - 1u) >> 8) & 1u);
}

#endif /* APIKEE_SHA256_H */
