/* SPDX-License-Identifier: Apache-2.0
 * SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) with the key's inner/outer pad states computed
 * once, so each signature costs the message's compressions plus one outer block. Portable C; on
 * x86-64 with GCC/Clang the compression uses the SHA extensions when the CPU has them (checked
 * once at run time), else the portable rounds. Output helpers: lowercase hex and standard base64. */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct eng_sha256 {
    uint32_t h[8];
    uint64_t len;                /* bytes hashed so far */
    uint8_t buf[64];
    uint32_t nbuf;
} eng_sha256;

typedef struct eng_hmac_key {
    uint32_t istate[8];          /* SHA-256 state after (key ^ ipad) */
    uint32_t ostate[8];          /* SHA-256 state after (key ^ opad) */
} eng_hmac_key;

static const uint32_t ENG_SHA256_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static const uint32_t ENG_SHA256_IV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

#define ENG_ROTR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static inline uint32_t eng_load_be32(const uint8_t* p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void eng_store_be32(uint8_t* p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Portable compression of nblocks 64-byte blocks: fully unrolled rounds over a rolling 16-word
 * schedule (the compiler keeps the working variables in registers). */
#define ENG_S0(x) (ENG_ROTR32(x, 2) ^ ENG_ROTR32(x, 13) ^ ENG_ROTR32(x, 22))
#define ENG_S1(x) (ENG_ROTR32(x, 6) ^ ENG_ROTR32(x, 11) ^ ENG_ROTR32(x, 25))
#define ENG_s0(x) (ENG_ROTR32(x, 7) ^ ENG_ROTR32(x, 18) ^ ((x) >> 3))
#define ENG_s1(x) (ENG_ROTR32(x, 17) ^ ENG_ROTR32(x, 19) ^ ((x) >> 10))
#define ENG_CH(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define ENG_MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))
#define ENG_RND(a, b, c, d, e, f, g, h, i, wi) do {                          \
        uint32_t t1_ = h + ENG_S1(e) + ENG_CH(e, f, g) + ENG_SHA256_K[i] + (wi); \
        uint32_t t2_ = ENG_S0(a) + ENG_MAJ(a, b, c);                         \
        d += t1_; h = t1_ + t2_; } while (0)
#define ENG_W(i) (w[(i) & 15] += ENG_s1(w[((i) - 2) & 15]) + w[((i) - 7) & 15] + ENG_s0(w[((i) - 15) & 15]))
#define ENG_WD(i) (w[i])
/* eight rounds with constant indices (so the schedule lives in registers) */
#define ENG_R8(i, WF) do {                                                   \
        ENG_RND(a, b, c, d, e, f, g, h, (i) + 0, WF((i) + 0));                \
        ENG_RND(h, a, b, c, d, e, f, g, (i) + 1, WF((i) + 1));                \
        ENG_RND(g, h, a, b, c, d, e, f, (i) + 2, WF((i) + 2));                \
        ENG_RND(f, g, h, a, b, c, d, e, (i) + 3, WF((i) + 3));                \
        ENG_RND(e, f, g, h, a, b, c, d, (i) + 4, WF((i) + 4));                \
        ENG_RND(d, e, f, g, h, a, b, c, (i) + 5, WF((i) + 5));                \
        ENG_RND(c, d, e, f, g, h, a, b, (i) + 6, WF((i) + 6));                \
        ENG_RND(b, c, d, e, f, g, h, a, (i) + 7, WF((i) + 7)); } while (0)

static inline void eng_sha256_blocks_portable(uint32_t st[8], const uint8_t* p, size_t nblocks) {
    uint32_t w[16];
    while (nblocks--) {
        uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
        for (int i = 0; i < 16; i++) w[i] = eng_load_be32(p + 4 * i);
        ENG_R8(0, ENG_WD); ENG_R8(8, ENG_WD);
        ENG_R8(16, ENG_W); ENG_R8(24, ENG_W); ENG_R8(32, ENG_W);
        ENG_R8(40, ENG_W); ENG_R8(48, ENG_W); ENG_R8(56, ENG_W);
        st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e; st[5] += f; st[6] += g; st[7] += h;
        p += 64;
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(ENG_SHA256_PORTABLE_ONLY)
#define ENG_SHA256_HAVE_SHANI 1
#include <immintrin.h>

/* Intel SHA extensions (sha256rnds2/msg1/msg2), after Intel's reference code. */
#define ENG_SHANI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* Rounds over nblocks with the state kept in the ABEF/CDGH register layout. */
ENG_SHANI_TARGET __attribute__((always_inline))
static inline void eng_shani_rounds(__m128i* s0, __m128i* s1, const uint8_t* p, size_t nblocks) {
    const __m128i MASK = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i STATE0 = *s0, STATE1 = *s1, TMP;
    while (nblocks--) {
        __m128i ABEF_SAVE = STATE0, CDGH_SAVE = STATE1, MSG, MSG0, MSG1, MSG2, MSG3;
        /* rounds 0-3 */
        MSG0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i*)(p + 0)), MASK);
        MSG = _mm_add_epi32(MSG0, _mm_set_epi64x(0xE9B5DBA5B5C0FBCFULL, 0x71374491428A2F98ULL));
        STATE1 = _mm_sha256rnds2_epu32(STATE1, STATE0, MSG);
        MSG = _mm_shuffle_epi32(MSG, 0x0E);
        STATE0 = _mm_sha256rnds2_epu32(STATE0, STATE1, MSG);
        /* rounds 4-7 */
        MSG1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i*)(p + 16)), MASK);
        MSG = _mm_add_epi32(MSG1, _mm_set_epi64x(0xAB1C5ED5923F82A4ULL, 0x59F111F13956C25BULL));
        STATE1 = _mm_sha256rnds2_epu32(STATE1, STATE0, MSG);
        MSG = _mm_shuffle_epi32(MSG, 0x0E);
        STATE0 = _mm_sha256rnds2_epu32(STATE0, STATE1, MSG);
        MSG0 = _mm_sha256msg1_epu32(MSG0, MSG1);
        /* rounds 8-11 */
        MSG2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i*)(p + 32)), MASK);
        MSG = _mm_add_epi32(MSG2, _mm_set_epi64x(0x550C7DC3243185BEULL, 0x12835B01D807AA98ULL));
        STATE1 = _mm_sha256rnds2_epu32(STATE1, STATE0, MSG);
        MSG = _mm_shuffle_epi32(MSG, 0x0E);
        STATE0 = _mm_sha256rnds2_epu32(STATE0, STATE1, MSG);
        MSG1 = _mm_sha256msg1_epu32(MSG1, MSG2);
        /* rounds 12-15 */
        MSG3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i*)(p + 48)), MASK);
        MSG = _mm_add_epi32(MSG3, _mm_set_epi64x(0xC19BF1749BDC06A7ULL, 0x80DEB1FE72BE5D74ULL));
        STATE1 = _mm_sha256rnds2_epu32(STATE1, STATE0, MSG);
        TMP = _mm_alignr_epi8(MSG3, MSG2, 4);
        MSG0 = _mm_add_epi32(MSG0, TMP);
        MSG0 = _mm_sha256msg2_epu32(MSG0, MSG3);
        MSG = _mm_shuffle_epi32(MSG, 0x0E);
        STATE0 = _mm_sha256rnds2_epu32(STATE0, STATE1, MSG);
        MSG2 = _mm_sha256msg1_epu32(MSG2, MSG3);
#define ENG_SHANI_QROUND(M0, M1, M2, M3, KHI, KLO)                          \
        MSG = _mm_add_epi32(M0, _mm_set_epi64x(KHI, KLO));                   \
        STATE1 = _mm_sha256rnds2_epu32(STATE1, STATE0, MSG);                 \
        TMP = _mm_alignr_epi8(M0, M3, 4);                                    \
        M1 = _mm_add_epi32(M1, TMP);                                         \
        M1 = _mm_sha256msg2_epu32(M1, M0);                                   \
        MSG = _mm_shuffle_epi32(MSG, 0x0E);                                  \
        STATE0 = _mm_sha256rnds2_epu32(STATE0, STATE1, MSG);                 \
        M3 = _mm_sha256msg1_epu32(M3, M0);
        /* rounds 16-51: 9 quad-rounds with message schedule */
        ENG_SHANI_QROUND(MSG0, MSG1, MSG2, MSG3, 0x240CA1CC0FC19DC6ULL, 0xEFBE4786E49B69C1ULL)
        ENG_SHANI_QROUND(MSG1, MSG2, MSG3, MSG0, 0x76F988DA5CB0A9DCULL, 0x4A7484AA2DE92C6FULL)
        ENG_SHANI_QROUND(MSG2, MSG3, MSG0, MSG1, 0xBF597FC7B00327C8ULL, 0xA831C66D983E5152ULL)
        ENG_SHANI_QROUND(MSG3, MSG0, MSG1, MSG2, 0x1429296706CA6351ULL, 0xD5A79147C6E00BF3ULL)
        ENG_SHANI_QROUND(MSG0, MSG1, MSG2, MSG3, 0x53380D134D2C6DFCULL, 0x2E1B213827B70A85ULL)
        ENG_SHANI_QROUND(MSG1, MSG2, MSG3, MSG0, 0x92722C8581C2C92EULL, 0x766A0ABB650A7354ULL)
        ENG_SHANI_QROUND(MSG2, MSG3, MSG0, MSG1, 0xC76C51A3C24B8B70ULL, 0xA81A664BA2BFE8A1ULL)
        ENG_SHANI_QROUND(MSG3, MSG0, MSG1, MSG2, 0x106AA070F40E3585ULL, 0xD6990624D192E819ULL)
        ENG_SHANI_QROUND(MSG0, MSG1, MSG2, MSG3, 0x34B0BCB52748774CULL, 0x1E376C0819A4C116ULL)
#undef ENG_SHANI_QROUND
        /* rounds 52-55 */
        MSG = _mm_add_epi32(MSG1, _mm_set_epi64x(0x682E6FF35B9CCA4FULL, 0x4ED8AA4A391C0CB3ULL));
        STATE1 = _mm_sha256rnds2_epu32(STATE1, STATE0, MSG);
        TMP = _mm_alignr_epi8(MSG1, MSG0, 4);
        MSG2 = _mm_add_epi32(MSG2, TMP);
        MSG2 = _mm_sha256msg2_epu32(MSG2, MSG1);
        MSG = _mm_shuffle_epi32(MSG, 0x0E);
        STATE0 = _mm_sha256rnds2_epu32(STATE0, STATE1, MSG);
        /* rounds 56-59 */
        MSG = _mm_add_epi32(MSG2, _mm_set_epi64x(0x8CC7020884C87814ULL, 0x78A5636F748F82EEULL));
        STATE1 = _mm_sha256rnds2_epu32(STATE1, STATE0, MSG);
        TMP = _mm_alignr_epi8(MSG2, MSG1, 4);
        MSG3 = _mm_add_epi32(MSG3, TMP);
        MSG3 = _mm_sha256msg2_epu32(MSG3, MSG2);
        MSG = _mm_shuffle_epi32(MSG, 0x0E);
        STATE0 = _mm_sha256rnds2_epu32(STATE0, STATE1, MSG);
        /* rounds 60-63 */
        MSG = _mm_add_epi32(MSG3, _mm_set_epi64x(0xC67178F2BEF9A3F7ULL, 0xA4506CEB90BEFFFAULL));
        STATE1 = _mm_sha256rnds2_epu32(STATE1, STATE0, MSG);
        MSG = _mm_shuffle_epi32(MSG, 0x0E);
        STATE0 = _mm_sha256rnds2_epu32(STATE0, STATE1, MSG);
        STATE0 = _mm_add_epi32(STATE0, ABEF_SAVE);
        STATE1 = _mm_add_epi32(STATE1, CDGH_SAVE);
        p += 64;
    }
    *s0 = STATE0;
    *s1 = STATE1;
}

/* st[8] (A..H) -> ABEF / CDGH registers */
ENG_SHANI_TARGET __attribute__((always_inline))
static inline void eng_shani_load(const uint32_t st[8], __m128i* s0, __m128i* s1) {
    __m128i TMP = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i*)&st[0]), 0xB1);   /* CDAB */
    __m128i S1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i*)&st[4]), 0x1B);    /* EFGH */
    *s0 = _mm_alignr_epi8(TMP, S1, 8);       /* ABEF */
    *s1 = _mm_blend_epi16(S1, TMP, 0xF0);    /* CDGH */
}

/* ABEF / CDGH registers -> A..D and E..H words (native order) */
ENG_SHANI_TARGET __attribute__((always_inline))
static inline void eng_shani_unload(__m128i s0, __m128i s1, __m128i* abcd, __m128i* efgh) {
    __m128i TMP = _mm_shuffle_epi32(s0, 0x1B);       /* FEBA */
    s1 = _mm_shuffle_epi32(s1, 0xB1);                /* DCHG */
    *abcd = _mm_blend_epi16(TMP, s1, 0xF0);          /* DCBA */
    *efgh = _mm_alignr_epi8(s1, TMP, 8);             /* HGFE */
}

ENG_SHANI_TARGET
static void eng_sha256_blocks_shani(uint32_t st[8], const uint8_t* p, size_t nblocks) {
    __m128i S0, S1, A, E;
    eng_shani_load(st, &S0, &S1);
    eng_shani_rounds(&S0, &S1, p, nblocks);
    eng_shani_unload(S0, S1, &A, &E);
    _mm_storeu_si128((__m128i*)&st[0], A);
    _mm_storeu_si128((__m128i*)&st[4], E);
}

/* Whole HMAC in one function: no state round trips through memory between the inner blocks,
 * the inner digest goes big-endian straight into the outer block. */
ENG_SHANI_TARGET
static void eng_hmac_sha256_shani(const uint32_t istate[8], const uint32_t ostate[8],
                                  const uint8_t* p, size_t n, uint8_t out[32]) {
    const __m128i BSWAP = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
    __m128i S0, S1, A, E;
    eng_shani_load(istate, &S0, &S1);
    size_t full = n / 64;
    if (full) eng_shani_rounds(&S0, &S1, p, full);
    size_t rem = n - full * 64;
    uint8_t tail[128];
    memcpy(tail, p + full * 64, rem);
    tail[rem] = 0x80;
    size_t tl = (rem < 56) ? 64 : 128;
    memset(tail + rem + 1, 0, tl - rem - 1 - 8);
    uint64_t bits = ((uint64_t)n + 64) * 8;
    for (int i = 0; i < 8; i++) tail[tl - 8 + i] = (uint8_t)(bits >> (56 - 8 * i));
    eng_shani_rounds(&S0, &S1, tail, tl / 64);
    eng_shani_unload(S0, S1, &A, &E);
    uint8_t blk[64];
    _mm_storeu_si128((__m128i*)blk, _mm_shuffle_epi8(A, BSWAP));
    _mm_storeu_si128((__m128i*)(blk + 16), _mm_shuffle_epi8(E, BSWAP));
    memset(blk + 32, 0, 32);
    blk[32] = 0x80;
    blk[62] = 0x03;   /* (64 + 32) * 8 = 768 bits */
    eng_shani_load(ostate, &S0, &S1);
    eng_shani_rounds(&S0, &S1, blk, 1);
    eng_shani_unload(S0, S1, &A, &E);
    _mm_storeu_si128((__m128i*)out, _mm_shuffle_epi8(A, BSWAP));
    _mm_storeu_si128((__m128i*)(out + 16), _mm_shuffle_epi8(E, BSWAP));
}

/* 0 unknown, 1 SHA-NI, 2 portable. Races are benign (every thread computes the same value). */
static int eng_sha256_impl = 0;

static inline int eng_sha256_detect(void) {
    __builtin_cpu_init();
    eng_sha256_impl = (__builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1")) ? 1 : 2;
    return eng_sha256_impl;
}
#endif

/* Select the compression: 0 = auto-detect, 1 = SHA extensions (only if the CPU has them),
 * 2 = portable. Returns the implementation now active (1 or 2). Tests use it to cover both. */
static inline int eng_sha256_set_impl(int impl) {
#ifdef ENG_SHA256_HAVE_SHANI
    int best = eng_sha256_detect();
    eng_sha256_impl = (impl == 2) ? 2 : best;
    return eng_sha256_impl;
#else
    (void)impl;
    return 2;
#endif
}

static inline int eng_sha256_get_impl(void) {
#ifdef ENG_SHA256_HAVE_SHANI
    return eng_sha256_impl ? eng_sha256_impl : eng_sha256_detect();
#else
    return 2;
#endif
}

static inline void eng_sha256_blocks(uint32_t st[8], const uint8_t* p, size_t nblocks) {
#ifdef ENG_SHA256_HAVE_SHANI
    int impl = eng_sha256_impl;
    if (__builtin_expect(impl == 0, 0)) impl = eng_sha256_detect();
    if (impl == 1) { eng_sha256_blocks_shani(st, p, nblocks); return; }
#endif
    eng_sha256_blocks_portable(st, p, nblocks);
}

/* ---- incremental hash --------------------------------------------------- */
static inline void eng_sha256_init(eng_sha256* c) {
    memcpy(c->h, ENG_SHA256_IV, sizeof(c->h));
    c->len = 0;
    c->nbuf = 0;
}

static inline void eng_sha256_init_state(eng_sha256* c, const uint32_t st[8], uint64_t len) {
    memcpy(c->h, st, sizeof(c->h));
    c->len = len;
    c->nbuf = 0;
}

static inline void eng_sha256_update(eng_sha256* c, const void* data, size_t n) {
    const uint8_t* p = (const uint8_t*)data;
    c->len += n;
    if (c->nbuf) {
        size_t take = 64 - c->nbuf;
        if (take > n) take = n;
        memcpy(c->buf + c->nbuf, p, take);
        c->nbuf += (uint32_t)take;
        p += take;
        n -= take;
        if (c->nbuf < 64) return;
        eng_sha256_blocks(c->h, c->buf, 1);
        c->nbuf = 0;
    }
    if (n >= 64) {
        size_t nb = n / 64;
        eng_sha256_blocks(c->h, p, nb);
        p += nb * 64;
        n -= nb * 64;
    }
    if (n) {
        memcpy(c->buf, p, n);
        c->nbuf = (uint32_t)n;
    }
}

static inline void eng_sha256_final(eng_sha256* c, uint8_t out[32]) {
    uint64_t bits = c->len * 8;
    uint32_t nb = c->nbuf;
    c->buf[nb++] = 0x80;
    if (nb > 56) {
        memset(c->buf + nb, 0, 64 - nb);
        eng_sha256_blocks(c->h, c->buf, 1);
        nb = 0;
    }
    memset(c->buf + nb, 0, 56 - nb);
    for (int i = 0; i < 8; i++) c->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    eng_sha256_blocks(c->h, c->buf, 1);
    for (int i = 0; i < 8; i++) eng_store_be32(out + 4 * i, c->h[i]);
}

static inline void eng_sha256_digest(const void* data, size_t n, uint8_t out[32]) {
    eng_sha256 c;
    eng_sha256_init(&c);
    eng_sha256_update(&c, data, n);
    eng_sha256_final(&c, out);
}

/* ---- HMAC --------------------------------------------------------------- */
/* Derive the pad states from a key of any length; the caller should wipe its key copy after. */
static inline void eng_hmac_key_init(eng_hmac_key* k, const void* key, size_t n) {
    uint8_t kb[64];
    uint8_t pad[64];
    memset(kb, 0, 64);
    if (n > 64) eng_sha256_digest(key, n, kb);
    else if (n) memcpy(kb, key, n);
    for (int i = 0; i < 64; i++) pad[i] = kb[i] ^ 0x36;
    memcpy(k->istate, ENG_SHA256_IV, 32);
    eng_sha256_blocks(k->istate, pad, 1);
    for (int i = 0; i < 64; i++) pad[i] = kb[i] ^ 0x5c;
    memcpy(k->ostate, ENG_SHA256_IV, 32);
    eng_sha256_blocks(k->ostate, pad, 1);
    /* wipe key material from the stack; volatile stores so the compiler keeps them */
    volatile uint8_t* vk = kb;
    volatile uint8_t* vp = pad;
    for (int i = 0; i < 64; i++) { vk[i] = 0; vp[i] = 0; }
}

/* Incremental HMAC: start, update (any number of pieces), finish. */
static inline void eng_hmac_start(const eng_hmac_key* k, eng_sha256* c) {
    eng_sha256_init_state(c, k->istate, 64);
}

static inline void eng_hmac_finish(const eng_hmac_key* k, eng_sha256* c, uint8_t out[32]) {
    uint8_t inner[32];
    eng_sha256_final(c, inner);
    /* outer: ostate over inner digest (32 bytes) + padding, total length 64 + 32 bytes: one block */
    uint8_t blk[64];
    memcpy(blk, inner, 32);
    blk[32] = 0x80;
    memset(blk + 33, 0, 64 - 33 - 2);
    blk[62] = 0x03;  /* (64 + 32) * 8 = 768 = 0x0300 bits */
    blk[63] = 0x00;
    uint32_t st[8];
    memcpy(st, k->ostate, 32);
    eng_sha256_blocks(st, blk, 1);
    for (int i = 0; i < 8; i++) eng_store_be32(out + 4 * i, st[i]);
}

/* One-shot HMAC: full blocks straight from msg, the padded tail (1 or 2 blocks) in one call,
 * the inner digest written big-endian straight into the outer block. */
static inline void eng_hmac_sha256(const eng_hmac_key* k, const void* msg, size_t n, uint8_t out[32]) {
    const uint8_t* p = (const uint8_t*)msg;
#ifdef ENG_SHA256_HAVE_SHANI
    int impl = eng_sha256_impl;
    if (__builtin_expect(impl == 0, 0)) impl = eng_sha256_detect();
    if (impl == 1) { eng_hmac_sha256_shani(k->istate, k->ostate, p, n, out); return; }
#endif
    uint32_t st[8];
    memcpy(st, k->istate, 32);
    size_t full = n / 64;
    if (full) eng_sha256_blocks(st, p, full);
    size_t rem = n - full * 64;
    uint8_t tail[128];
    memcpy(tail, p + full * 64, rem);
    tail[rem] = 0x80;
    size_t tl = (rem < 56) ? 64 : 128;
    memset(tail + rem + 1, 0, tl - rem - 1 - 8);
    uint64_t bits = ((uint64_t)n + 64) * 8;   /* the key block counts */
    for (int i = 0; i < 8; i++) tail[tl - 8 + i] = (uint8_t)(bits >> (56 - 8 * i));
    eng_sha256_blocks(st, tail, tl / 64);
    uint8_t blk[64];
    for (int i = 0; i < 8; i++) eng_store_be32(blk + 4 * i, st[i]);
    blk[32] = 0x80;
    memset(blk + 33, 0, 64 - 33 - 2);
    blk[62] = 0x03;  /* (64 + 32) * 8 = 768 bits */
    blk[63] = 0x00;
    memcpy(st, k->ostate, 32);
    eng_sha256_blocks(st, blk, 1);
    for (int i = 0; i < 8; i++) eng_store_be32(out + 4 * i, st[i]);
}

/* ---- encodings ---------------------------------------------------------- */
static inline void eng_hex32(const uint8_t in[32], char out[64]) {
#if defined(__SSE2__)
    /* nibbles -> '0'..'9' / 'a'..'f' 16 bytes at a time (SSE2 is baseline on x86-64) */
    const __m128i lo_mask = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9);
    const __m128i zero_ch = _mm_set1_epi8('0'), gap = _mm_set1_epi8('a' - '0' - 10);
    for (int h = 0; h < 2; h++) {
        __m128i v = _mm_loadu_si128((const __m128i*)(in + 16 * h));
        __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), lo_mask);
        __m128i lo = _mm_and_si128(v, lo_mask);
        hi = _mm_add_epi8(_mm_add_epi8(hi, zero_ch), _mm_and_si128(_mm_cmpgt_epi8(hi, nine), gap));
        lo = _mm_add_epi8(_mm_add_epi8(lo, zero_ch), _mm_and_si128(_mm_cmpgt_epi8(lo, nine), gap));
        _mm_storeu_si128((__m128i*)(out + 32 * h), _mm_unpacklo_epi8(hi, lo));
        _mm_storeu_si128((__m128i*)(out + 32 * h + 16), _mm_unpackhi_epi8(hi, lo));
    }
#else
    static const char HEX[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = HEX[in[i] >> 4];
        out[2 * i + 1] = HEX[in[i] & 15];
    }
#endif
}

/* Standard base64 (RFC 4648, with padding) of n bytes into out (4 * ceil(n / 3) bytes); returns length. */
static inline size_t eng_base64(const uint8_t* in, size_t n, char* out) {
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = B64[(v >> 18) & 63]; out[o++] = B64[(v >> 12) & 63];
        out[o++] = B64[(v >> 6) & 63];  out[o++] = B64[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = B64[(v >> 18) & 63]; out[o++] = B64[(v >> 12) & 63];
        out[o++] = '='; out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
        out[o++] = B64[(v >> 18) & 63]; out[o++] = B64[(v >> 12) & 63];
        out[o++] = B64[(v >> 6) & 63];  out[o++] = '=';
    }
    return o;
}

static inline void eng_hmac_sha256_hex(const eng_hmac_key* k, const void* msg, size_t n, char out64[64]) {
    uint8_t d[32];
    eng_hmac_sha256(k, msg, n, d);
    eng_hex32(d, out64);
}

static inline void eng_hmac_sha256_b64(const eng_hmac_key* k, const void* msg, size_t n, char out44[44]) {
    uint8_t d[32];
    eng_hmac_sha256(k, msg, n, d);
    eng_base64(d, 32, out44);
}
