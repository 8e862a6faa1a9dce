/* SPDX-License-Identifier: Apache-2.0
 * Venue frame decoders: raw WebSocket text frames -> eng_quote / eng_depth / eng_trade / eng_mark /
 * eng_ticker, straight from the bytes (include/engine/json.h) into int64 fixed point
 * (include/engine/decimal.h). No allocation per frame: levels and trades go into buffers
 * allocated once by eng_codec_init. Used by engine.codec (pyx/codec.pyx).
 *
 * Contract of eng_codec_decode(): returns ENG_EV_* > 0 and fills exactly the out struct of that
 * kind, or an ENG_ERR_* < 0 with c->err naming the field; on error no out struct is written
 * (level/trade buffers may have been overwritten: only the struct of the last successful kind
 * is meaningful, and only until the next call). ENG_ERR_UNSUPPORTED means "not a hot shape"
 * (acks, pongs, private channels, klines): hand the frame to the general JSON path. */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "engine/types.h"
#include "engine/rc.h"
#include "engine/decimal.h"
#include "engine/json.h"

#define ENG_CODEC_MAX_SYM 47
#define ENG_CODEC_TAB 1024                 /* open addressing, <= half full */
#define ENG_CODEC_MAX_FRAME (1u << 20)     /* default frame size limit (1 MiB) */
#define ENG_CODEC_MAX_LEVELS 5000          /* default levels per side */
#define ENG_CODEC_MAX_TRADES 1024          /* default trades per frame */

/* symbol classes: Bitget v2 sends spot and futures with the same instId on one connection */
enum { ENG_SYMCLS_ANY = 0, ENG_SYMCLS_SPOT = 1, ENG_SYMCLS_FUT = 2 };

typedef struct eng_sym {
    char key[ENG_CODEC_MAX_SYM + 1];
    uint8_t klen, cls, used, _pad;
    int32_t inst, px_exp, sz_exp;
} eng_sym;

typedef struct eng_codec {
    int32_t venue;
    int32_t max_levels;
    int32_t max_trades;
    int32_t n_syms;
    size_t max_frame;
    eng_level* bids;               /* max_levels each */
    eng_level* asks;
    eng_trade* trades;             /* max_trades */
    int32_t n_trades;
    int32_t _pad;
    /* outputs (point into the owning Python object) */
    eng_quote* quote;
    eng_depth* depth;
    eng_trade* trade;
    eng_mark* mark;
    eng_ticker* ticker;
    const char* err;               /* reason of the last error (static string) */
    eng_sym tab[ENG_CODEC_TAB];
} eng_codec;

/* ---- symbol table -------------------------------------------------------- */
static inline uint32_t eng_sym_hash(uint8_t cls, const char* s, size_t n) {
    uint32_t h = (2166136261u ^ cls) * 16777619u;
    for (size_t i = 0; i < n; i++) { h ^= (uint8_t)s[i]; h *= 16777619u; }
    return h;
}

static inline const eng_sym* eng_sym_find(const eng_codec* c, uint8_t cls, const char* s, size_t n) {
    if (n == 0 || n > ENG_CODEC_MAX_SYM) return NULL;
    uint32_t i = eng_sym_hash(cls, s, n) & (ENG_CODEC_TAB - 1);
    for (;;) {
        const eng_sym* e = &c->tab[i];
        if (!e->used) return NULL;
        if (e->cls == cls && e->klen == n && memcmp(e->key, s, n) == 0) return e;
        i = (i + 1) & (ENG_CODEC_TAB - 1);
    }
}

/* ENG_OK, ENG_ERR_DOMAIN (bad symbol, or already mapped to another instrument), ENG_ERR_CAPACITY */
static inline int eng_sym_add(eng_codec* c, uint8_t cls, const char* s, size_t n,
                              int32_t inst, int32_t px_exp, int32_t sz_exp) {
    if (n == 0 || n > ENG_CODEC_MAX_SYM) return ENG_ERR_DOMAIN;
    uint32_t i = eng_sym_hash(cls, s, n) & (ENG_CODEC_TAB - 1);
    for (;;) {
        eng_sym* e = &c->tab[i];
        if (!e->used) break;
        if (e->cls == cls && e->klen == n && memcmp(e->key, s, n) == 0) {
            if (e->inst != inst) return ENG_ERR_DOMAIN;
            e->px_exp = px_exp;
            e->sz_exp = sz_exp;
            return ENG_OK;
        }
        i = (i + 1) & (ENG_CODEC_TAB - 1);
    }
    if (c->n_syms >= ENG_CODEC_TAB / 2) return ENG_ERR_CAPACITY;
    eng_sym* e = &c->tab[i];
    memcpy(e->key, s, n);
    e->key[n] = 0;
    e->klen = (uint8_t)n;
    e->cls = cls;
    e->used = 1;
    e->inst = inst;
    e->px_exp = px_exp;
    e->sz_exp = sz_exp;
    c->n_syms++;
    return ENG_OK;
}

/* ---- lifecycle --------------------------------------------------------- */
static inline int eng_codec_init(eng_codec* c, int32_t venue, int32_t max_levels, int32_t max_trades,
                                 size_t max_frame) {
    memset(c, 0, sizeof(*c));
    c->venue = venue;
    c->max_levels = max_levels;
    c->max_trades = max_trades;
    c->max_frame = max_frame;
    c->bids = (eng_level*)calloc((size_t)max_levels, sizeof(eng_level));
    c->asks = (eng_level*)calloc((size_t)max_levels, sizeof(eng_level));
    c->trades = (eng_trade*)calloc((size_t)max_trades, sizeof(eng_trade));
    if (!c->bids || !c->asks || !c->trades) return ENG_ERR_NOMEM;
    c->err = "";
    return ENG_OK;
}

static inline void eng_codec_free(eng_codec* c) {
    free(c->bids); free(c->asks); free(c->trades);
    c->bids = c->asks = NULL;
    c->trades = NULL;
}

/* ---- small helpers ------------------------------------------------------ */
#define ENG_KEQ(k, kn, lit) ((kn) == sizeof(lit) - 1 && memcmp((k), (lit), sizeof(lit) - 1) == 0)
#define ENG_FAIL(c, rc, why) do { (c)->err = (why); return (rc); } while (0)
#define ENG_TRY(c, expr, why) do { int _r = (expr); if (_r < 0) { (c)->err = (why); return _r; } } while (0)
/* A key allowed once per object: a repeat is a parse error, else its value is read into v. */
#define ENG_J_ONCE(c, j, v, depth, why) do {                                    \
        if ((v).t != ENG_JT_NONE) ENG_FAIL(c, ENG_ERR_PARSE, "duplicate key");    \
        int _r = eng_j_val((j), &(v), (depth));                                   \
        if (_r) ENG_FAIL(c, _r, why);                                             \
    } while (0)

typedef struct eng_jkey { const char* k; uint8_t n; } eng_jkey;
#define ENG_K(s) { s, (uint8_t)(sizeof(s) - 1) }

static inline int eng_jv_str(const eng_jv* v, const char* lit, size_t n) {
    return v->t == ENG_JT_STR && v->n == n && memcmp(v->p, lit, n) == 0;
}
#define ENG_JV_IS(v, lit) eng_jv_str((v), (lit), sizeof(lit) - 1)

/* eng_parse_decimal (decimal.h) with a fast path for inputs of <= 18 bytes, which cannot
 * overflow before scaling, and a multiply-overflow check instead of a 64-bit division.
 * Same results and return codes (tests/test_codec.py compares both on random inputs). */
static inline int eng_dec_fast(const char* s, size_t n, int32_t exp, int64_t* units, uint8_t* dec_out) {
    if (n == 0 || n > 18 || s[0] == '-' || exp < 0 || exp > 18)
        return eng_parse_decimal(s, n, exp, units, dec_out);
    const char* p = s;
    const char* e = s + n;
    int64_t v = 0;
    while (p < e && (unsigned)(*p - '0') < 10u) v = v * 10 + (*p++ - '0');
    int ndig = (int)(p - s);
    int dec = 0;
    if (p < e && *p == '.') {
        p++;
        const char* f = p;
        const char* stop = (e - f > exp) ? f + exp : e;
        while (p < stop && (unsigned)(*p - '0') < 10u) v = v * 10 + (*p++ - '0');
        if (p == stop) {
            while (p < e && *p == '0') p++;           /* zeros beyond exp are accepted */
            if (p < e && (unsigned)(*p - '0') < 10u) return ENG_ERR_PRECISION;
        }
        dec = (int)(p - f);
        if (dec == 0) return ENG_ERR_NUMBER;
        ndig += dec;
    }
    if (p != e || ndig == 0) return ENG_ERR_NUMBER;
    int scale = exp - (dec < exp ? dec : exp);
    int64_t r;
    if (__builtin_mul_overflow(v, ENG_POW10[scale], &r)) return ENG_ERR_OVERFLOW;
    *units = r;
    *dec_out = (uint8_t)dec;
    return ENG_OK;
}

/* At '"': parse a short plain decimal string ("0.35210000") in the same pass that finds its end.
 * Returns 1 (cursor past the closing quote, v = the string slice) or 0 with the cursor unchanged
 * when the string is anything else (escapes, signs, too long, too precise...): the caller then
 * takes the general path, which reports the exact error. */
static inline int eng_j_dec_fused(eng_jcur* c, int32_t exp, int64_t* units, uint8_t* dec_out, eng_jv* v) {
    const char* s = c->p + 1;
    const char* e = c->end;
    if (e - s > 20) e = s + 20;                     /* <= 18 digits, '.', '"' */
    const char* p = s;
    uint64_t acc = 0;
    while (p < e && (unsigned)(*p - '0') < 10u) acc = acc * 10 + (uint64_t)(*p++ - '0');
    int ni = (int)(p - s);
    int dec = 0;
    if (p < e && *p == '.') {
        p++;
        const char* f = p;
        const char* stop = (e - f > exp) ? f + exp : e;
        while (p < stop && (unsigned)(*p - '0') < 10u) acc = acc * 10 + (uint64_t)(*p++ - '0');
        if (p == stop) {                                /* zeros beyond exp: Binance pads to 8 */
            uint32_t w;
            while (e - p >= 4 && (memcpy(&w, p, 4), w == 0x30303030u)) p += 4;
            while (p < e && *p == '0') p++;
        }
        dec = (int)(p - f);
        if (dec == 0) return 0;
    }
    if (p >= e || *p != '"' || ni + dec == 0 || ni + dec > 18 || exp < 0 || exp > 18) return 0;
    int used = dec < exp ? dec : exp;
    int64_t r;
    if (__builtin_mul_overflow((int64_t)acc, ENG_POW10[exp - used], &r)) return 0;
    *units = r;
    *dec_out = (uint8_t)dec;
    v->p = s;
    v->n = (uint32_t)(p - s);
    v->t = ENG_JT_STR;
    v->esc = 0;
    v->is_int = 0;
    c->p = p + 1;
    return 1;
}

static inline int eng_dec(const eng_jv* v, int32_t exp, int64_t* units, uint8_t* dec) {
    if (v->t != ENG_JT_STR) return v->t == ENG_JT_NONE ? ENG_ERR_MISSING : ENG_ERR_TYPE;
    if (v->esc) return ENG_ERR_NUMBER;
    return eng_dec_fast(v->p, v->n, exp, units, dec);
}

/* Like eng_parse_decimal but rounds half-up past exp instead of failing (mark/index prices). */
static inline int eng_dec_round(const eng_jv* v, int32_t exp, int64_t* units) {
    if (v->t != ENG_JT_STR) return v->t == ENG_JT_NONE ? ENG_ERR_MISSING : ENG_ERR_TYPE;
    if (v->esc) return ENG_ERR_NUMBER;
    const char* s = v->p;
    size_t n = v->n, i = 0;
    if (n == 0) return ENG_ERR_NUMBER;
    if (s[0] == '-') return ENG_ERR_NEGATIVE;
    uint64_t acc = 0;
    int digits = 0, dec = 0, up = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (acc > (uint64_t)INT64_MAX / 10) return ENG_ERR_OVERFLOW;
        acc = acc * 10 + (uint64_t)(s[i] - '0');
        digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            int d = s[i] - '0';
            if (dec < exp) {
                if (acc > (uint64_t)INT64_MAX / 10) return ENG_ERR_OVERFLOW;
                acc = acc * 10 + (uint64_t)d;
            } else if (dec == exp) {
                up = d >= 5;
            }
            dec++;
            digits++;
        }
        if (dec == 0) return ENG_ERR_NUMBER;
    }
    if (i != n || digits == 0) return ENG_ERR_NUMBER;
    int scale = exp - (dec < exp ? dec : exp);
    if (acc > (uint64_t)INT64_MAX / (uint64_t)ENG_POW10[scale]) return ENG_ERR_OVERFLOW;
    acc *= (uint64_t)ENG_POW10[scale];
    if (up && acc == (uint64_t)INT64_MAX) return ENG_ERR_OVERFLOW;
    *units = (int64_t)(acc + (uint64_t)up);
    return ENG_OK;
}

/* Parse the members of the object at the cursor into slots[] for the given keys (others are
 * skipped and validated). slots must be zeroed by the caller. Duplicate keys: last wins. */
static inline int eng_j_fields(eng_jcur* j, const eng_jkey* keys, int nk, eng_jv* slots, int depth) {
    int rc = eng_j_open(j, '{', '}');
    if (rc < 0) return rc;
    while (rc == 1) {
        const char* k;
        size_t kn;
        rc = eng_j_key(j, &k, &kn);
        if (rc) return rc;
        int hit = -1;
        for (int i = 0; i < nk; i++) {
            if (keys[i].n == kn && memcmp(keys[i].k, k, kn) == 0) { hit = i; break; }
        }
        if (hit >= 0 && slots[hit].t != ENG_JT_NONE) return ENG_ERR_PARSE;   /* duplicate key */
        if (hit >= 0) rc = eng_j_val(j, &slots[hit], depth + 1);
        else rc = eng_j_skip(j, depth + 1);
        if (rc) return rc;
        rc = eng_j_next(j, '}');
    }
    return rc;
}

/* end quote of a string without escapes or control bytes starting at p, or NULL */
static inline const char* eng_plain_str_end(const char* p, const char* e) {
    while (p < e && !ENG_J_STRSTOP[(unsigned char)*p]) p++;
    return (p < e && *p == '"') ? p : NULL;
}

/* Array of levels [["px","sz",...], ...] at the cursor into out[0..*n). */
static inline int eng_levels(eng_codec* c, eng_jcur* j, const eng_sym* s, eng_level* out,
                             int32_t* n_out, int depth) {
    int rc = eng_j_open(j, '[', ']');
    if (rc < 0) return rc;
    int32_t n = 0;
    while (rc == 1) {
        if (n >= c->max_levels) return ENG_ERR_OVERSIZE;
        eng_jv v;
        eng_level* L = &out[n];
        /* compact ["px","sz"] (Binance, Bybit, Bitget): fixed layout, else the general walk below */
        if (j->end - j->p > 2 && j->p[0] == '[' && j->p[1] == '"') {
            eng_jcur t = { j->p + 1, j->end };
            if (eng_j_dec_fused(&t, s->px_exp, &L->px, &L->px_dec, &v) && t.p + 1 < t.end &&
                t.p[0] == ',' && t.p[1] == '"') {
                t.p++;
                if (eng_j_dec_fused(&t, s->sz_exp, &L->sz, &L->sz_dec, &v)) {
                    /* OKX appends plain strings ("liquidated orders", "order count"): skip them */
                    while (t.end - t.p > 1 && t.p[0] == ',' && t.p[1] == '"') {
                        const char* q = eng_plain_str_end(t.p + 2, t.end);
                        if (!q) break;
                        t.p = q + 1;
                    }
                    if (t.p < t.end && *t.p == ']') {
                        j->p = t.p + 1;
                        n++;
                        rc = eng_j_next(j, ']');
                        continue;
                    }
                }
            }
        }
        int r = eng_j_open(j, '[', ']');
        if (r < 0) return r;
        if (r == 0) return ENG_ERR_MISSING;
        if (!(*j->p == '"' && eng_j_dec_fused(j, s->px_exp, &L->px, &L->px_dec, &v))) {
            if ((r = eng_j_val(j, &v, depth + 2))) return r;
            if ((r = eng_dec(&v, s->px_exp, &L->px, &L->px_dec))) return r;
        }
        r = eng_j_next(j, ']');
        if (r <= 0) return r < 0 ? r : ENG_ERR_MISSING;
        if (!(*j->p == '"' && eng_j_dec_fused(j, s->sz_exp, &L->sz, &L->sz_dec, &v))) {
            if ((r = eng_j_val(j, &v, depth + 2))) return r;
            if ((r = eng_dec(&v, s->sz_exp, &L->sz, &L->sz_dec))) return r;
        }
        while ((r = eng_j_next(j, ']')) == 1) {          /* OKX: liquidated orders, order count */
            if ((r = eng_j_skip(j, depth + 2))) return r;
        }
        if (r < 0) return r;
        n++;
        rc = eng_j_next(j, ']');
    }
    if (rc < 0) return rc;
    *n_out = n;
    return ENG_OK;
}

/* A levels field: parse in place when the instrument is already known, else record the
 * (validated) slice and parse it after the enclosing object (order-independent keys). */
typedef struct eng_lvl_field {
    eng_jv raw;
    int32_t n;
    int32_t done;
} eng_lvl_field;

static inline int eng_levels_field(eng_codec* c, eng_jcur* j, const eng_sym* s, eng_level* out,
                                   eng_lvl_field* f, int depth) {
    if (f->done || f->raw.t != ENG_JT_NONE) return ENG_ERR_PARSE;      /* duplicate key */
    if (s && j->p < j->end && *j->p == '[') {
        int rc = eng_levels(c, j, s, out, &f->n, depth);
        if (rc) return rc;
        f->done = 1;
        f->raw.t = ENG_JT_ARR;
        return ENG_OK;
    }
    f->done = 0;
    return eng_j_val(j, &f->raw, depth);
}

static inline int eng_levels_finish(eng_codec* c, const eng_sym* s, eng_level* out, eng_lvl_field* f,
                                    int depth) {
    if (f->done) return ENG_OK;
    if (f->raw.t == ENG_JT_NONE) return ENG_ERR_MISSING;
    if (f->raw.t != ENG_JT_ARR) return ENG_ERR_TYPE;
    eng_jcur sub = { f->raw.p, f->raw.p + f->raw.n };
    int rc = eng_levels(c, &sub, s, out, &f->n, depth);
    if (rc) return rc;
    f->done = 1;
    return ENG_OK;
}

/* Top level must be an object; anything else that is valid JSON is not a hot shape. */
static inline int eng_top_not_object(eng_codec* c, eng_jcur* j) {
    int rc = eng_j_skip(j, 0);
    if (rc == ENG_OK) rc = eng_j_end(j);
    if (rc < 0) ENG_FAIL(c, rc, "invalid JSON");
    ENG_FAIL(c, ENG_ERR_UNSUPPORTED, "top level is not an object");
}

static inline int eng_side_word(const eng_jv* v) {
    if (v->t != ENG_JT_STR) return 0;
    if ((v->n == 3 && (memcmp(v->p, "buy", 3) == 0 || memcmp(v->p, "Buy", 3) == 0)))
        return ENG_SIDE_BUY;
    if ((v->n == 4 && (memcmp(v->p, "sell", 4) == 0 || memcmp(v->p, "Sell", 4) == 0)))
        return ENG_SIDE_SELL;
    return 0;
}

/* numeric trade id or 0 for non-numeric ids (Bybit UUIDs) */
static inline int eng_trade_id(const eng_jv* v, int64_t* out) {
    if (v->t == ENG_JT_NONE) { *out = 0; return ENG_OK; }
    if (v->t == ENG_JT_STR) {
        int64_t x;
        if (v->n > 0 && v->n <= 18 && eng_j_int(v, &x) == ENG_OK && x >= 0) { *out = x; return ENG_OK; }
        *out = 0;
        return ENG_OK;
    }
    if (v->t == ENG_JT_NUM) return eng_j_int(v, out);
    return ENG_ERR_TYPE;
}

/* ==== Binance (spot and USD-M; raw /ws and combined {"stream","data"} frames) ============ */
enum { BN_e, BN_E, BN_T, BN_s, BN_u, BN_U, BN_pu, BN_b, BN_B, BN_a, BN_A, BN_p, BN_q, BN_t, BN_m,
       BN_i, BN_r, BN_N };
enum { BNK_NONE = 0, BNK_QUOTE, BNK_DEPTH, BNK_TRADE, BNK_AGG, BNK_MARK };

typedef struct eng_bn {
    uint32_t have;                 /* bit f: v[f] was set (v[] is not zeroed: hot path) */
    uint32_t parsed;               /* bit f: units[f]/decs[f] hold v[f] parsed exactly at the field's exp */
    int64_t units[BN_N];
    uint8_t decs[BN_N];
    int kind;
    int sym_unknown;
    const eng_sym* sym;
    eng_lvl_field lb, la;
    eng_jv v[BN_N];
} eng_bn;

static const eng_jv ENG_JV_NONE = {0, 0, 0, 0, 0, 0};

#define ENG_BN_DECIMALS ((1u << BN_b) | (1u << BN_B) | (1u << BN_a) | (1u << BN_A) | (1u << BN_p) | (1u << BN_q))
#define ENG_BN_SIZES ((1u << BN_B) | (1u << BN_A) | (1u << BN_q))
#define ENG_BN_INTS ((1u << BN_E) | (1u << BN_T) | (1u << BN_u) | (1u << BN_U) | (1u << BN_pu) | \
                     (1u << BN_t) | (1u << BN_a))

/* exact decimal of field f: the value cached by the fused scan, or parsed now */
static inline int eng_bn_dec(const eng_bn* st, int f, int32_t exp, int64_t* units) {
    if (((st->parsed >> f) & 1u) && st->v[f].t == ENG_JT_STR) { *units = st->units[f]; return ENG_OK; }
    uint8_t d;
    return eng_dec(((st->have >> f) & 1u) ? &st->v[f] : &ENG_JV_NONE, exp, units, &d);
}

/* integer field f (JSON number or numeric string): cached by the fused scan or parsed now */
static inline int eng_bn_int(const eng_bn* st, int f, int64_t* out) {
    if (((st->parsed >> f) & 1u) && st->v[f].t == ENG_JT_NUM) { *out = st->units[f]; return ENG_OK; }
    return eng_j_int(((st->have >> f) & 1u) ? &st->v[f] : &ENG_JV_NONE, out);
}

static int eng_bn_obj(eng_codec* c, eng_jcur* j, eng_bn* st, int depth) {
    int rc = eng_j_open(j, '{', '}');
    if (rc < 0) ENG_FAIL(c, rc, "expected an object");
    while (rc == 1) {
        const char* k;
        size_t kn;
        if ((rc = eng_j_key(j, &k, &kn))) ENG_FAIL(c, rc, "bad object key");
        int f = -1;
        if (kn == 1) {
            switch (k[0]) {
                case 'e': f = BN_e; break;
                case 'E': f = BN_E; break;
                case 'T': f = BN_T; break;
                case 's': f = BN_s; break;
                case 'u': f = BN_u; break;
                case 'U': f = BN_U; break;
                case 'b': f = BN_b; break;
                case 'B': f = BN_B; break;
                case 'a': f = BN_a; break;
                case 'A': f = BN_A; break;
                case 'p': f = BN_p; break;
                case 'q': f = BN_q; break;
                case 't': f = BN_t; break;
                case 'm': f = BN_m; break;
                case 'i': f = BN_i; break;
                case 'r': f = BN_r; break;
                default: break;
            }
        } else if (kn == 2 && k[0] == 'p' && k[1] == 'u') {
            f = BN_pu;
        } else if (depth == 0 && ENG_KEQ(k, kn, "data") && *j->p == '{') {
            if ((rc = eng_bn_obj(c, j, st, 1))) return rc;
            rc = eng_j_next(j, '}');
            continue;
        }
        if (f >= 0 && ((st->have >> f) & 1u)) ENG_FAIL(c, ENG_ERR_PARSE, "duplicate key");
        if ((f == BN_b || f == BN_a) && *j->p == '[') {
            eng_lvl_field* lf = (f == BN_b) ? &st->lb : &st->la;
            rc = eng_levels_field(c, j, st->sym, f == BN_b ? c->bids : c->asks, lf, depth + 1);
            if (rc) ENG_FAIL(c, rc, f == BN_b ? "b: bad bid levels" : "a: bad ask levels");
            st->v[f].t = ENG_JT_ARR;
            st->have |= 1u << f;
        } else if (f >= 0) {
            int fused = 0;
            char ch = *j->p;
            if (st->sym && ch == '"' && ((1u << f) & ENG_BN_DECIMALS)) {
                int32_t exp = ((1u << f) & ENG_BN_SIZES) ? st->sym->sz_exp : st->sym->px_exp;
                fused = eng_j_dec_fused(j, exp, &st->units[f], &st->decs[f], &st->v[f]);
            } else if ((ch == '-' || (unsigned)(ch - '0') < 10u) && ((1u << f) & ENG_BN_INTS)) {
                fused = eng_j_int_fused(j, &st->units[f], &st->v[f]);
            }
            st->parsed |= (uint32_t)fused << f;
            if (!fused && (rc = eng_j_val(j, &st->v[f], depth + 1))) ENG_FAIL(c, rc, "invalid JSON value");
            st->have |= 1u << f;
            if (f == BN_e) {
                const eng_jv* e = &st->v[BN_e];
                if (ENG_JV_IS(e, "bookTicker")) st->kind = BNK_QUOTE;
                else if (ENG_JV_IS(e, "depthUpdate")) st->kind = BNK_DEPTH;
                else if (ENG_JV_IS(e, "trade")) st->kind = BNK_TRADE;
                else if (ENG_JV_IS(e, "aggTrade")) st->kind = BNK_AGG;
                else if (ENG_JV_IS(e, "markPriceUpdate")) st->kind = BNK_MARK;
                else ENG_FAIL(c, ENG_ERR_UNSUPPORTED, "e: not a hot event type");
            } else if (f == BN_s) {
                const eng_jv* s = &st->v[BN_s];
                if (s->t != ENG_JT_STR) ENG_FAIL(c, ENG_ERR_TYPE, "s: symbol is not a string");
                st->sym = eng_sym_find(c, ENG_SYMCLS_ANY, s->p, s->n);
                st->sym_unknown = st->sym == NULL;
            }
        } else {
            if ((rc = eng_j_skip(j, depth + 1))) ENG_FAIL(c, rc, "invalid JSON value");
        }
        rc = eng_j_next(j, '}');
    }
    if (rc < 0) ENG_FAIL(c, rc, "invalid JSON object");
    return ENG_OK;
}

#define ENG_BNV(st, f) (((st)->have >> (f)) & 1u ? &(st)->v[f] : &ENG_JV_NONE)

static inline int eng_bn_exch_ts(eng_codec* c, const eng_bn* st, int prefer_T, int64_t* ts) {
    int f = prefer_T ? BN_T : BN_E;
    if (!((st->have >> f) & 1u)) f = prefer_T ? BN_E : BN_T;
    *ts = 0;
    if (!((st->have >> f) & 1u)) return ENG_OK;
    int64_t ms;
    ENG_TRY(c, eng_bn_int(st, f, &ms), "E/T: bad timestamp");
    if (ms < 0) ENG_FAIL(c, ENG_ERR_NEGATIVE, "E/T: negative timestamp");
    if (ms > INT64_MAX / 1000000) ENG_FAIL(c, ENG_ERR_OVERFLOW, "E/T: timestamp too large");
    *ts = ms * 1000000;
    return ENG_OK;
}

/* ---- Binance bookTicker template fast path ----------------------------------------------
 * Binance serialises bookTicker with a fixed key order: spot {"u","s","b","B","a","A"}, USD-M
 * {"e":"bookTicker","u","s","b","B","a","A","T","E"}, optionally wrapped in {"stream":..,"data":..}.
 * This matcher walks exactly that byte layout; on any difference (other order, whitespace, extra
 * keys, escapes, unknown symbol, anything the general path would reject) it returns 0 and the
 * general order-independent path decodes the frame, so results and error codes are identical. */
#define ENG_LIT(p, e, lit) ((size_t)((e) - (p)) >= sizeof(lit) - 1 && memcmp((p), (lit), sizeof(lit) - 1) == 0)


static inline int eng_bn_quote_fast(eng_codec* c, const char* p, const char* e, int64_t recv_ns) {
    int combined = 0, fut = 0;
    if (ENG_LIT(p, e, "{\"stream\":\"")) {
        const char* q = eng_plain_str_end(p + 11, e);
        if (!q || q - (p + 11) < 11 || memcmp(q - 11, "@bookTicker", 11) != 0) return 0;
        p = q + 1;
        if (!ENG_LIT(p, e, ",\"data\":")) return 0;
        p += 8;
        combined = 1;
    }
    if (ENG_LIT(p, e, "{\"u\":")) {
        p += 5;
    } else if (ENG_LIT(p, e, "{\"e\":\"bookTicker\",\"u\":")) {
        p += 22;
        fut = 1;
    } else {
        return 0;
    }
    eng_jcur j = { p, e };
    eng_jv v;
    eng_quote q;
    if (j.p >= e || !eng_j_int_fused(&j, &q.update_id, &v)) return 0;
    if (!ENG_LIT(j.p, e, ",\"s\":\"")) return 0;
    const char* s0 = j.p + 6;
    const char* s1 = eng_plain_str_end(s0, e);
    if (!s1) return 0;
    const eng_sym* sym = eng_sym_find(c, ENG_SYMCLS_ANY, s0, (size_t)(s1 - s0));
    if (!sym) return 0;
    uint8_t d;
    j.p = s1 + 1;
    if (!ENG_LIT(j.p, e, ",\"b\":\"")) return 0;
    j.p += 5;
    if (!eng_j_dec_fused(&j, sym->px_exp, &q.bid_px, &d, &v)) return 0;
    if (!ENG_LIT(j.p, e, ",\"B\":\"")) return 0;
    j.p += 5;
    if (!eng_j_dec_fused(&j, sym->sz_exp, &q.bid_sz, &d, &v)) return 0;
    if (!ENG_LIT(j.p, e, ",\"a\":\"")) return 0;
    j.p += 5;
    if (!eng_j_dec_fused(&j, sym->px_exp, &q.ask_px, &d, &v)) return 0;
    if (!ENG_LIT(j.p, e, ",\"A\":\"")) return 0;
    j.p += 5;
    if (!eng_j_dec_fused(&j, sym->sz_exp, &q.ask_sz, &d, &v)) return 0;
    q.exch_ts_ns = 0;
    if (fut) {
        int64_t t_ms, e_ms;
        if (!ENG_LIT(j.p, e, ",\"T\":")) return 0;
        j.p += 5;
        if (j.p >= e || !eng_j_int_fused(&j, &t_ms, &v)) return 0;
        if (!ENG_LIT(j.p, e, ",\"E\":")) return 0;
        j.p += 5;
        if (j.p >= e || !eng_j_int_fused(&j, &e_ms, &v)) return 0;
        if (e_ms < 0 || e_ms > INT64_MAX / 1000000) return 0;
        q.exch_ts_ns = e_ms * 1000000;
    }
    p = j.p;
    if (p >= e || *p != '}') return 0;
    p++;
    if (combined) {
        if (p >= e || *p != '}') return 0;
        p++;
    }
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    if (p != e) return 0;
    q.recv_ts_ns = recv_ns;
    q.venue = c->venue;
    q.inst = sym->inst;
    *c->quote = q;
    return ENG_EV_QUOTE;
}

static int eng_decode_binance(eng_codec* c, eng_jcur* j, int64_t recv_ns) {
    if (*j->p == '{') {
        int fast = eng_bn_quote_fast(c, j->p, j->end, recv_ns);
        if (fast) return fast;
    }
    eng_bn st;
    st.have = 0;
    st.parsed = 0;
    st.kind = BNK_NONE;
    st.sym_unknown = 0;
    st.sym = NULL;
    st.lb.done = st.la.done = 0;
    st.lb.n = st.la.n = 0;
    st.lb.raw.t = st.la.raw.t = ENG_JT_NONE;
    if (*j->p != '{') return eng_top_not_object(c, j);
    int rc = eng_bn_obj(c, j, &st, 0);
    if (rc) return rc;
    if ((rc = eng_j_end(j))) ENG_FAIL(c, rc, "bytes after the JSON value");
    if (st.kind == BNK_NONE) {
        /* spot bookTicker carries no "e" */
        if (ENG_BNV(&st, BN_u)->t && ENG_BNV(&st, BN_s)->t && ENG_BNV(&st, BN_b)->t == ENG_JT_STR && ENG_BNV(&st, BN_B)->t && ENG_BNV(&st, BN_a)->t == ENG_JT_STR && ENG_BNV(&st, BN_A)->t)
            st.kind = BNK_QUOTE;
        else
            ENG_FAIL(c, ENG_ERR_UNSUPPORTED, "not a hot Binance shape");
    }
    if (ENG_BNV(&st, BN_s)->t == ENG_JT_NONE) ENG_FAIL(c, ENG_ERR_MISSING, "s: symbol missing");
    if (st.sym_unknown || !st.sym) ENG_FAIL(c, ENG_ERR_UNKNOWN_SYMBOL, "s: symbol not registered");
    const eng_sym* s = st.sym;
    switch (st.kind) {
    case BNK_QUOTE: {
        eng_quote q;
        ENG_TRY(c, eng_bn_dec(&st, BN_b, s->px_exp, &q.bid_px), "b: bid price");
        ENG_TRY(c, eng_bn_dec(&st, BN_B, s->sz_exp, &q.bid_sz), "B: bid size");
        ENG_TRY(c, eng_bn_dec(&st, BN_a, s->px_exp, &q.ask_px), "a: ask price");
        ENG_TRY(c, eng_bn_dec(&st, BN_A, s->sz_exp, &q.ask_sz), "A: ask size");
        if (ENG_BNV(&st, BN_u)->t == ENG_JT_NONE) ENG_FAIL(c, ENG_ERR_MISSING, "u: update id missing");
        ENG_TRY(c, eng_bn_int(&st, BN_u, &q.update_id), "u: update id");
        ENG_TRY(c, eng_bn_exch_ts(c, &st, 0, &q.exch_ts_ns), "E/T: bad timestamp");
        q.recv_ts_ns = recv_ns;
        q.venue = c->venue;
        q.inst = s->inst;
        *c->quote = q;
        return ENG_EV_QUOTE;
    }
    case BNK_DEPTH: {
        eng_depth dp;
        memset(&dp, 0, sizeof(dp));
        if (ENG_BNV(&st, BN_U)->t == ENG_JT_NONE || ENG_BNV(&st, BN_u)->t == ENG_JT_NONE) ENG_FAIL(c, ENG_ERR_MISSING, "U/u: update ids missing");
        ENG_TRY(c, eng_bn_int(&st, BN_U, &dp.first_id), "U: first update id");
        ENG_TRY(c, eng_bn_int(&st, BN_u, &dp.last_id), "u: last update id");
        dp.prev_id = -1;
        if (ENG_BNV(&st, BN_pu)->t != ENG_JT_NONE) ENG_TRY(c, eng_bn_int(&st, BN_pu, &dp.prev_id), "pu: previous update id");
        /* a non-array "b"/"a" was stored as a plain value: let finish report its type */
        if (!st.lb.done && st.lb.raw.t == ENG_JT_NONE) st.lb.raw = *ENG_BNV(&st, BN_b);
        if (!st.la.done && st.la.raw.t == ENG_JT_NONE) st.la.raw = *ENG_BNV(&st, BN_a);
        ENG_TRY(c, eng_levels_finish(c, s, c->bids, &st.lb, 1), "b: bad bid levels");
        ENG_TRY(c, eng_levels_finish(c, s, c->asks, &st.la, 1), "a: bad ask levels");
        ENG_TRY(c, eng_bn_exch_ts(c, &st, 0, &dp.exch_ts_ns), "E/T: bad timestamp");
        dp.recv_ts_ns = recv_ns;
        dp.bids = c->bids;
        dp.asks = c->asks;
        dp.n_bids = st.lb.n;
        dp.n_asks = st.la.n;
        dp.venue = c->venue;
        dp.inst = s->inst;
        *c->depth = dp;
        return ENG_EV_DEPTH;
    }
    case BNK_TRADE:
    case BNK_AGG: {
        eng_trade t;
        memset(&t, 0, sizeof(t));
        ENG_TRY(c, eng_bn_dec(&st, BN_p, s->px_exp, &t.px), "p: price");
        ENG_TRY(c, eng_bn_dec(&st, BN_q, s->sz_exp, &t.sz), "q: quantity");
        const eng_jv* id = st.kind == BNK_TRADE ? ENG_BNV(&st, BN_t) : ENG_BNV(&st, BN_a);
        if (id->t != ENG_JT_NUM) ENG_FAIL(c, id->t ? ENG_ERR_TYPE : ENG_ERR_MISSING, "t/a: trade id");
        ENG_TRY(c, eng_bn_int(&st, st.kind == BNK_TRADE ? BN_t : BN_a, &t.trade_id), "t/a: trade id");
        if (ENG_BNV(&st, BN_m)->t == ENG_JT_TRUE) t.side = ENG_SIDE_SELL;        /* buyer is maker: seller aggressed */
        else if (ENG_BNV(&st, BN_m)->t == ENG_JT_FALSE) t.side = ENG_SIDE_BUY;
        else ENG_FAIL(c, ENG_BNV(&st, BN_m)->t ? ENG_ERR_TYPE : ENG_ERR_MISSING, "m: buyer-is-maker flag");
        ENG_TRY(c, eng_bn_exch_ts(c, &st, 1, &t.exch_ts_ns), "E/T: bad timestamp");
        t.recv_ts_ns = recv_ns;
        t.venue = c->venue;
        t.inst = s->inst;
        c->trades[0] = t;
        c->n_trades = 1;
        *c->trade = t;
        return ENG_EV_TRADE;
    }
    case BNK_MARK: {
        eng_mark m;
        memset(&m, 0, sizeof(m));
        ENG_TRY(c, eng_dec_round(ENG_BNV(&st, BN_p), s->px_exp, &m.mark_px), "p: mark price");
        m.mask = ENG_TK_MARK_PX;
        if (ENG_BNV(&st, BN_i)->t != ENG_JT_NONE) {
            ENG_TRY(c, eng_dec_round(ENG_BNV(&st, BN_i), s->px_exp, &m.index_px), "i: index price");
            m.mask |= ENG_TK_INDEX_PX;
        }
        if (ENG_BNV(&st, BN_r)->t == ENG_JT_STR && ENG_BNV(&st, BN_r)->n > 0) {   /* "" for delivery contracts */
            ENG_TRY(c, eng_j_double(ENG_BNV(&st, BN_r), &m.funding_rate), "r: funding rate");
            m.mask |= ENG_TK_FUNDING;
        } else if (ENG_BNV(&st, BN_r)->t != ENG_JT_NONE && ENG_BNV(&st, BN_r)->t != ENG_JT_STR) {
            ENG_FAIL(c, ENG_ERR_TYPE, "r: funding rate");
        }
        if (ENG_BNV(&st, BN_T)->t != ENG_JT_NONE) {
            ENG_TRY(c, eng_bn_int(&st, BN_T, &m.next_funding_ms), "T: next funding time");
            if (m.next_funding_ms < 0) ENG_FAIL(c, ENG_ERR_NEGATIVE, "T: next funding time");
            if (m.next_funding_ms > 0) m.mask |= ENG_TK_NEXT_FUNDING;
        }
        if (ENG_BNV(&st, BN_E)->t != ENG_JT_NONE) ENG_TRY(c, eng_j_ms_to_ns(ENG_BNV(&st, BN_E), &m.exch_ts_ns), "E: event time");
        m.recv_ts_ns = recv_ns;
        m.venue = c->venue;
        m.inst = s->inst;
        *c->mark = m;
        return ENG_EV_MARK;
    }
    }
    ENG_FAIL(c, ENG_ERR_UNSUPPORTED, "not a hot Binance shape");
}

/* ==== ticker field mapping shared by Bybit / OKX / Bitget ============================== */
enum { TK_BID, TK_BIDSZ, TK_ASK, TK_ASKSZ, TK_LAST, TK_MARK, TK_INDEX, TK_FUND, TK_NEXTF, TK_OI,
       TK_SYM, TK_TS, TK_N };

/* slots[TK_*] -> eng_ticker; "" values count as absent (OKX sends "" for an empty side) */
static inline int eng_ticker_fill(eng_codec* c, const eng_sym* s, const eng_jv* v, eng_ticker* t) {
    uint8_t d;
    static const uint32_t bits[TK_SYM] = {ENG_TK_BID_PX, ENG_TK_BID_SZ, ENG_TK_ASK_PX, ENG_TK_ASK_SZ,
        ENG_TK_LAST_PX, ENG_TK_MARK_PX, ENG_TK_INDEX_PX, ENG_TK_FUNDING, ENG_TK_NEXT_FUNDING,
        ENG_TK_OPEN_INTEREST};
    static const char* why[TK_SYM] = {"bid price", "bid size", "ask price", "ask size", "last price",
        "mark price", "index price", "funding rate", "next funding time", "open interest"};
    for (int f = 0; f < TK_SYM; f++) {
        const eng_jv* x = &v[f];
        if (x->t == ENG_JT_NONE) continue;
        if (x->t == ENG_JT_STR && x->n == 0) continue;
        int rc;
        switch (f) {
            case TK_BID: rc = eng_dec(x, s->px_exp, &t->bid_px, &d); break;
            case TK_BIDSZ: rc = eng_dec(x, s->sz_exp, &t->bid_sz, &d); break;
            case TK_ASK: rc = eng_dec(x, s->px_exp, &t->ask_px, &d); break;
            case TK_ASKSZ: rc = eng_dec(x, s->sz_exp, &t->ask_sz, &d); break;
            case TK_LAST: rc = eng_dec(x, s->px_exp, &t->last_px, &d); break;
            case TK_MARK: rc = eng_dec_round(x, s->px_exp, &t->mark_px); break;
            case TK_INDEX: rc = eng_dec_round(x, s->px_exp, &t->index_px); break;
            case TK_FUND: rc = eng_j_double(x, &t->funding_rate); break;
            case TK_NEXTF:
                rc = eng_j_int(x, &t->next_funding_ms);
                if (rc == ENG_OK && t->next_funding_ms < 0) rc = ENG_ERR_NEGATIVE;
                break;
            default:
                rc = eng_j_double(x, &t->open_interest);
                if (rc == ENG_OK && t->open_interest < 0) rc = ENG_ERR_NEGATIVE;
                break;
        }
        if (rc) ENG_FAIL(c, rc, why[f]);
        t->mask |= bits[f];
    }
    return ENG_OK;
}

/* Trade slots shared by Bybit / OKX / Bitget objects */
enum { TR_PX, TR_SZ, TR_SIDE, TR_ID, TR_TS, TR_SYM, TR_N };

static inline int eng_trade_fill(eng_codec* c, const eng_sym* s, const eng_jv* v, int64_t recv_ns,
                                 eng_trade* t) {
    uint8_t d;
    memset(t, 0, sizeof(*t));
    ENG_TRY(c, eng_dec(&v[TR_PX], s->px_exp, &t->px, &d), "trade price");
    ENG_TRY(c, eng_dec(&v[TR_SZ], s->sz_exp, &t->sz, &d), "trade size");
    t->side = eng_side_word(&v[TR_SIDE]);
    if (!t->side) ENG_FAIL(c, v[TR_SIDE].t ? ENG_ERR_TYPE : ENG_ERR_MISSING, "trade side");
    ENG_TRY(c, eng_trade_id(&v[TR_ID], &t->trade_id), "trade id");
    if (v[TR_TS].t == ENG_JT_NONE) ENG_FAIL(c, ENG_ERR_MISSING, "trade time");
    ENG_TRY(c, eng_j_ms_to_ns(&v[TR_TS], &t->exch_ts_ns), "trade time");
    t->recv_ts_ns = recv_ns;
    t->venue = c->venue;
    t->inst = s->inst;
    return ENG_OK;
}

/* ==== Bybit v5 ========================================================================= */
enum { BBK_NONE = 0, BBK_BOOK, BBK_TICKER, BBK_TRADE };

typedef struct eng_bb {
    int kind;
    int is_snapshot;      /* -1 unknown */
    eng_jv type, ts, data, topic;
    int data_done;
    int rc_kind;
} eng_bb;

static int eng_bb_book(eng_codec* c, eng_jcur* j, const eng_bb* st, int64_t recv_ns) {
    eng_lvl_field lb, la;
    memset(&lb, 0, sizeof(lb));
    memset(&la, 0, sizeof(la));
    eng_jv sv = {0}, uv = {0}, seqv = {0};
    const eng_sym* s = NULL;
    int rc = eng_j_open(j, '{', '}');
    if (rc < 0) ENG_FAIL(c, rc, "data: expected an object");
    while (rc == 1) {
        const char* k;
        size_t kn;
        if ((rc = eng_j_key(j, &k, &kn))) ENG_FAIL(c, rc, "bad object key");
        if (kn == 1 && (k[0] == 'b' || k[0] == 'a')) {
            int bid = k[0] == 'b';
            rc = eng_levels_field(c, j, s, bid ? c->bids : c->asks, bid ? &lb : &la, 2);
            if (rc) ENG_FAIL(c, rc, bid ? "b: bad bid levels" : "a: bad ask levels");
        } else if (kn == 1 && k[0] == 's') {
            ENG_J_ONCE(c, j, sv, 2, "s: symbol");
            if (sv.t != ENG_JT_STR) ENG_FAIL(c, ENG_ERR_TYPE, "s: symbol is not a string");
            s = eng_sym_find(c, ENG_SYMCLS_ANY, sv.p, sv.n);
            if (!s) ENG_FAIL(c, ENG_ERR_UNKNOWN_SYMBOL, "s: symbol not registered");
        } else if (kn == 1 && k[0] == 'u') {
            ENG_J_ONCE(c, j, uv, 2, "u: update id");
        } else if (ENG_KEQ(k, kn, "seq")) {
            ENG_J_ONCE(c, j, seqv, 2, "seq");
        } else {
            if ((rc = eng_j_skip(j, 2))) ENG_FAIL(c, rc, "invalid JSON value");
        }
        rc = eng_j_next(j, '}');
    }
    if (rc < 0) ENG_FAIL(c, rc, "invalid JSON object");
    if (!s) ENG_FAIL(c, ENG_ERR_MISSING, "s: symbol missing");
    ENG_TRY(c, eng_levels_finish(c, s, c->bids, &lb, 2), "b: bad bid levels");
    ENG_TRY(c, eng_levels_finish(c, s, c->asks, &la, 2), "a: bad ask levels");
    eng_depth dp;
    memset(&dp, 0, sizeof(dp));
    if (uv.t == ENG_JT_NONE) ENG_FAIL(c, ENG_ERR_MISSING, "u: update id missing");
    ENG_TRY(c, eng_j_int(&uv, &dp.last_id), "u: update id");
    if (seqv.t != ENG_JT_NONE) { int64_t sq; ENG_TRY(c, eng_j_int(&seqv, &sq), "seq"); }
    dp.first_id = dp.last_id;
    dp.prev_id = -1;
    if (st->ts.t != ENG_JT_NONE) ENG_TRY(c, eng_j_ms_to_ns(&st->ts, &dp.exch_ts_ns), "ts");
    dp.recv_ts_ns = recv_ns;
    dp.bids = c->bids;
    dp.asks = c->asks;
    dp.n_bids = lb.n;
    dp.n_asks = la.n;
    dp.venue = c->venue;
    dp.inst = s->inst;
    dp.is_snapshot = st->is_snapshot;
    *c->depth = dp;
    return ENG_EV_DEPTH;
}

static int eng_bb_ticker(eng_codec* c, eng_jcur* j, const eng_bb* st, int64_t recv_ns) {
    static const eng_jkey keys[TK_N] = {ENG_K("bid1Price"), ENG_K("bid1Size"), ENG_K("ask1Price"),
        ENG_K("ask1Size"), ENG_K("lastPrice"), ENG_K("markPrice"), ENG_K("indexPrice"),
        ENG_K("fundingRate"), ENG_K("nextFundingTime"), ENG_K("openInterest"), ENG_K("symbol"),
        ENG_K("\x01")};
    eng_jv v[TK_N];
    memset(v, 0, sizeof(v));
    int rc = eng_j_fields(j, keys, TK_N, v, 1);
    if (rc < 0) ENG_FAIL(c, rc, "data: bad ticker object");
    if (v[TK_SYM].t != ENG_JT_STR) ENG_FAIL(c, v[TK_SYM].t ? ENG_ERR_TYPE : ENG_ERR_MISSING, "symbol");
    const eng_sym* s = eng_sym_find(c, ENG_SYMCLS_ANY, v[TK_SYM].p, v[TK_SYM].n);
    if (!s) ENG_FAIL(c, ENG_ERR_UNKNOWN_SYMBOL, "symbol not registered");
    eng_ticker t;
    memset(&t, 0, sizeof(t));
    if ((rc = eng_ticker_fill(c, s, v, &t))) return rc;
    if (st->ts.t != ENG_JT_NONE) ENG_TRY(c, eng_j_ms_to_ns(&st->ts, &t.exch_ts_ns), "ts");
    t.recv_ts_ns = recv_ns;
    t.venue = c->venue;
    t.inst = s->inst;
    t.is_snapshot = st->is_snapshot;
    *c->ticker = t;
    return ENG_EV_TICKER;
}

static int eng_bb_trades(eng_codec* c, eng_jcur* j, int64_t recv_ns) {
    static const eng_jkey keys[TR_N] = {ENG_K("p"), ENG_K("v"), ENG_K("S"), ENG_K("i"), ENG_K("T"),
                                        ENG_K("s")};
    int rc = eng_j_open(j, '[', ']');
    if (rc < 0) ENG_FAIL(c, rc, "data: expected an array of trades");
    int32_t n = 0;
    const eng_sym* s = NULL;
    while (rc == 1) {
        if (n >= c->max_trades) ENG_FAIL(c, ENG_ERR_OVERSIZE, "too many trades in one frame");
        eng_jv v[TR_N];
        memset(v, 0, sizeof(v));
        if ((rc = eng_j_fields(j, keys, TR_N, v, 2)) < 0) ENG_FAIL(c, rc, "data: bad trade object");
        if (v[TR_SYM].t != ENG_JT_STR) ENG_FAIL(c, v[TR_SYM].t ? ENG_ERR_TYPE : ENG_ERR_MISSING, "s: symbol");
        if (!s || s->klen != v[TR_SYM].n || memcmp(s->key, v[TR_SYM].p, s->klen) != 0) {
            s = eng_sym_find(c, ENG_SYMCLS_ANY, v[TR_SYM].p, v[TR_SYM].n);
            if (!s) ENG_FAIL(c, ENG_ERR_UNKNOWN_SYMBOL, "s: symbol not registered");
        }
        if ((rc = eng_trade_fill(c, s, v, recv_ns, &c->trades[n]))) return rc;
        n++;
        rc = eng_j_next(j, ']');
    }
    if (rc < 0) ENG_FAIL(c, rc, "invalid JSON array");
    if (n == 0) ENG_FAIL(c, ENG_ERR_MISSING, "data: no trades");
    c->n_trades = n;
    *c->trade = c->trades[0];
    return ENG_EV_TRADE;
}

static inline int eng_bb_data(eng_codec* c, eng_jcur* j, const eng_bb* st, int64_t recv_ns) {
    switch (st->kind) {
        case BBK_BOOK: return eng_bb_book(c, j, st, recv_ns);
        case BBK_TICKER: return eng_bb_ticker(c, j, st, recv_ns);
        default: return eng_bb_trades(c, j, recv_ns);
    }
}

static int eng_decode_bybit(eng_codec* c, eng_jcur* j, int64_t recv_ns) {
    eng_bb st;
    memset(&st, 0, sizeof(st));
    st.is_snapshot = -1;
    if (*j->p != '{') return eng_top_not_object(c, j);
    int result = 0;
    int rc = eng_j_open(j, '{', '}');
    if (rc < 0) ENG_FAIL(c, rc, "expected an object");
    while (rc == 1) {
        const char* k;
        size_t kn;
        if ((rc = eng_j_key(j, &k, &kn))) ENG_FAIL(c, rc, "bad object key");
        if (ENG_KEQ(k, kn, "topic")) {
            ENG_J_ONCE(c, j, st.topic, 1, "topic");
            const eng_jv* t = &st.topic;
            if (t->t != ENG_JT_STR) ENG_FAIL(c, ENG_ERR_TYPE, "topic is not a string");
            if (t->n > 10 && memcmp(t->p, "orderbook.", 10) == 0) st.kind = BBK_BOOK;
            else if (t->n > 8 && memcmp(t->p, "tickers.", 8) == 0) st.kind = BBK_TICKER;
            else if (t->n > 12 && memcmp(t->p, "publicTrade.", 12) == 0) st.kind = BBK_TRADE;
            else if (t->n > 6 && memcmp(t->p, "trade.", 6) == 0) st.kind = BBK_TRADE;
            else ENG_FAIL(c, ENG_ERR_UNSUPPORTED, "topic: not a hot channel");
        } else if (ENG_KEQ(k, kn, "type")) {
            ENG_J_ONCE(c, j, st.type, 1, "type");
            if (ENG_JV_IS(&st.type, "snapshot")) st.is_snapshot = 1;
            else if (ENG_JV_IS(&st.type, "delta")) st.is_snapshot = 0;
            else ENG_FAIL(c, st.type.t == ENG_JT_STR ? ENG_ERR_UNSUPPORTED : ENG_ERR_TYPE, "type: not snapshot/delta");
        } else if (ENG_KEQ(k, kn, "ts")) {
            ENG_J_ONCE(c, j, st.ts, 1, "ts");
        } else if (ENG_KEQ(k, kn, "data")) {
            if (st.data_done || st.data.t != ENG_JT_NONE) ENG_FAIL(c, ENG_ERR_PARSE, "duplicate key");
            /* ts may follow data: the book needs only kind/type here, ts is filled after */
            if (st.kind && st.is_snapshot >= 0 && st.ts.t != ENG_JT_NONE) {
                result = eng_bb_data(c, j, &st, recv_ns);
                if (result < 0) return result;
                st.data_done = 1;
            } else if ((rc = eng_j_val(j, &st.data, 1))) {
                ENG_FAIL(c, rc, "data");
            }
        } else if (ENG_KEQ(k, kn, "op") || ENG_KEQ(k, kn, "success")) {
            ENG_FAIL(c, ENG_ERR_UNSUPPORTED, "control message");
        } else {
            if ((rc = eng_j_skip(j, 1))) ENG_FAIL(c, rc, "invalid JSON value");
        }
        rc = eng_j_next(j, '}');
    }
    if (rc < 0) ENG_FAIL(c, rc, "invalid JSON object");
    if ((rc = eng_j_end(j))) ENG_FAIL(c, rc, "bytes after the JSON value");
    if (!st.kind) ENG_FAIL(c, ENG_ERR_UNSUPPORTED, "no topic");
    if (st.data_done) return result;
    if (st.is_snapshot < 0) ENG_FAIL(c, ENG_ERR_MISSING, "type missing");
    if (st.data.t == ENG_JT_NONE) ENG_FAIL(c, ENG_ERR_MISSING, "data missing");
    eng_jcur sub = { st.data.p, st.data.p + st.data.n };
    return eng_bb_data(c, &sub, &st, recv_ns);
}

/* ==== OKX v5 / Bitget (v2 and legacy v1): {"arg":{...},"action":..,"data":[...]} ============ */
enum { OXK_NONE = 0, OXK_BOOK, OXK_TICKER, OXK_TRADE, OXK_FUNDING, OXK_MARK };

typedef struct eng_ox {
    int kind;
    int is_snapshot;           /* -1: no action field */
    int has_checksum_ch;       /* channel carries a CRC32 checksum */
    uint8_t cls;
    const eng_sym* sym;
    eng_jv data, ts;           /* Bitget: top-level ts */
    int arg_seen;
} eng_ox;

static int eng_ox_arg(eng_codec* c, eng_jcur* j, eng_ox* st) {
    enum { A_CH, A_ID, A_TYPE, A_N };
    static const eng_jkey keys[A_N] = {ENG_K("channel"), ENG_K("instId"), ENG_K("instType")};
    eng_jv v[A_N];
    memset(v, 0, sizeof(v));
    int rc = eng_j_fields(j, keys, A_N, v, 1);
    if (rc < 0) ENG_FAIL(c, rc, "arg: bad object");
    const eng_jv* ch = &v[A_CH];
    if (ch->t != ENG_JT_STR) ENG_FAIL(c, ch->t ? ENG_ERR_TYPE : ENG_ERR_UNSUPPORTED, "arg.channel");
    if (c->venue == ENG_VENUE_OKX) {
        if (ENG_JV_IS(ch, "books") || ENG_JV_IS(ch, "books-l2-tbt") || ENG_JV_IS(ch, "books50-l2-tbt")) {
            st->kind = OXK_BOOK; st->has_checksum_ch = 1;
        } else if (ENG_JV_IS(ch, "books5") || ENG_JV_IS(ch, "bbo-tbt")) {
            st->kind = OXK_BOOK;
        } else if (ENG_JV_IS(ch, "tickers")) st->kind = OXK_TICKER;
        else if (ENG_JV_IS(ch, "trades") || ENG_JV_IS(ch, "trades-all")) st->kind = OXK_TRADE;
        else if (ENG_JV_IS(ch, "funding-rate")) st->kind = OXK_FUNDING;
        else if (ENG_JV_IS(ch, "mark-price")) st->kind = OXK_MARK;
        else ENG_FAIL(c, ENG_ERR_UNSUPPORTED, "arg.channel: not a hot channel");
        st->cls = ENG_SYMCLS_ANY;
    } else {
        if (ENG_JV_IS(ch, "books")) { st->kind = OXK_BOOK; st->has_checksum_ch = 1; }
        else if (ENG_JV_IS(ch, "books1") || ENG_JV_IS(ch, "books5") || ENG_JV_IS(ch, "books15")) st->kind = OXK_BOOK;
        else if (ENG_JV_IS(ch, "ticker")) st->kind = OXK_TICKER;
        else if (ENG_JV_IS(ch, "trade")) st->kind = OXK_TRADE;
        else ENG_FAIL(c, ENG_ERR_UNSUPPORTED, "arg.channel: not a hot channel");
        const eng_jv* it = &v[A_TYPE];
        if (it->t != ENG_JT_STR) ENG_FAIL(c, it->t ? ENG_ERR_TYPE : ENG_ERR_MISSING, "arg.instType");
        if (ENG_JV_IS(it, "SPOT") || ENG_JV_IS(it, "SP") || ENG_JV_IS(it, "sp") || ENG_JV_IS(it, "spot"))
            st->cls = ENG_SYMCLS_SPOT;
        else
            st->cls = ENG_SYMCLS_FUT;
    }
    const eng_jv* id = &v[A_ID];
    if (id->t != ENG_JT_STR) ENG_FAIL(c, id->t ? ENG_ERR_TYPE : ENG_ERR_MISSING, "arg.instId");
    st->sym = eng_sym_find(c, st->cls, id->p, id->n);
    if (!st->sym) ENG_FAIL(c, ENG_ERR_UNKNOWN_SYMBOL, "arg.instId not registered");
    st->arg_seen = 1;
    return ENG_OK;
}

/* data: [ { asks, bids, ts, checksum, seqId, prevSeqId | seq } ] */
static int eng_ox_book(eng_codec* c, eng_jcur* j, const eng_ox* st, int64_t recv_ns) {
    const eng_sym* s = st->sym;
    eng_lvl_field lb, la;
    memset(&lb, 0, sizeof(lb));
    memset(&la, 0, sizeof(la));
    eng_jv ts = {0}, cs = {0}, seq = {0}, prev = {0};
    int rc = eng_j_open(j, '[', ']');
    if (rc < 0) ENG_FAIL(c, rc, "data: expected an array");
    if (rc == 0) ENG_FAIL(c, ENG_ERR_MISSING, "data: empty");
    rc = eng_j_open(j, '{', '}');
    if (rc < 0) ENG_FAIL(c, rc, "data[0]: expected an object");
    while (rc == 1) {
        const char* k;
        size_t kn;
        if ((rc = eng_j_key(j, &k, &kn))) ENG_FAIL(c, rc, "bad object key");
        if (ENG_KEQ(k, kn, "asks")) {
            if ((rc = eng_levels_field(c, j, s, c->asks, &la, 3))) ENG_FAIL(c, rc, "asks: bad levels");
        } else if (ENG_KEQ(k, kn, "bids")) {
            if ((rc = eng_levels_field(c, j, s, c->bids, &lb, 3))) ENG_FAIL(c, rc, "bids: bad levels");
        } else if (ENG_KEQ(k, kn, "ts")) {
            ENG_J_ONCE(c, j, ts, 3, "ts");
        } else if (ENG_KEQ(k, kn, "checksum")) {
            ENG_J_ONCE(c, j, cs, 3, "checksum");
        } else if (ENG_KEQ(k, kn, "seqId") || ENG_KEQ(k, kn, "seq")) {
            ENG_J_ONCE(c, j, seq, 3, "seqId");
        } else if (ENG_KEQ(k, kn, "prevSeqId")) {
            ENG_J_ONCE(c, j, prev, 3, "prevSeqId");
        } else {
            if ((rc = eng_j_skip(j, 3))) ENG_FAIL(c, rc, "invalid JSON value");
        }
        rc = eng_j_next(j, '}');
    }
    if (rc < 0) ENG_FAIL(c, rc, "invalid JSON object");
    rc = eng_j_next(j, ']');
    if (rc < 0) ENG_FAIL(c, rc, "invalid JSON array");
    if (rc == 1) ENG_FAIL(c, ENG_ERR_TYPE, "data: more than one book");
    ENG_TRY(c, eng_levels_finish(c, s, c->bids, &lb, 3), "bids: bad levels");
    ENG_TRY(c, eng_levels_finish(c, s, c->asks, &la, 3), "asks: bad levels");
    eng_depth dp;
    memset(&dp, 0, sizeof(dp));
    /* OKX without seqId (pre-2022 recordings, books5): -1 markers; Bitget without seq: 0 */
    int64_t none = c->venue == ENG_VENUE_OKX ? -1 : 0;
    dp.last_id = none;
    dp.prev_id = -1;
    if (seq.t != ENG_JT_NONE) ENG_TRY(c, eng_j_int(&seq, &dp.last_id), "seqId");
    if (prev.t != ENG_JT_NONE) ENG_TRY(c, eng_j_int(&prev, &dp.prev_id), "prevSeqId");
    dp.first_id = dp.last_id;
    if (cs.t != ENG_JT_NONE && st->has_checksum_ch) {
        int64_t x;
        ENG_TRY(c, eng_j_int(&cs, &x), "checksum");
        if (x < INT32_MIN || x > (int64_t)UINT32_MAX) ENG_FAIL(c, ENG_ERR_OVERFLOW, "checksum");
        dp.checksum = (int32_t)(uint32_t)(x & 0xffffffff);
        dp.has_checksum = 1;
    }
    if (ts.t != ENG_JT_NONE) ENG_TRY(c, eng_j_ms_to_ns(&ts, &dp.exch_ts_ns), "ts");
    dp.recv_ts_ns = recv_ns;
    dp.bids = c->bids;
    dp.asks = c->asks;
    dp.n_bids = lb.n;
    dp.n_asks = la.n;
    dp.venue = c->venue;
    dp.inst = s->inst;
    dp.is_snapshot = st->is_snapshot != 0;   /* books5 / bbo-tbt / books1: every push is a snapshot */
    *c->depth = dp;
    return ENG_EV_DEPTH;
}

static int eng_ox_ticker(eng_codec* c, eng_jcur* j, const eng_ox* st, int64_t recv_ns) {
    /* OKX tickers, Bitget v2 ticker, Bitget v1 ticker (bestBid/bestAsk, capitalRate, nextSettleTime, holding) */
    static const eng_jkey okx[TK_N] = {ENG_K("bidPx"), ENG_K("bidSz"), ENG_K("askPx"), ENG_K("askSz"),
        ENG_K("last"), ENG_K("\x01"), ENG_K("\x02"), ENG_K("\x03"), ENG_K("\x04"), ENG_K("\x05"),
        ENG_K("instId"), ENG_K("ts")};
    static const eng_jkey bg2[TK_N] = {ENG_K("bidPr"), ENG_K("bidSz"), ENG_K("askPr"), ENG_K("askSz"),
        ENG_K("lastPr"), ENG_K("markPrice"), ENG_K("indexPrice"), ENG_K("fundingRate"),
        ENG_K("nextFundingTime"), ENG_K("holdingAmount"), ENG_K("instId"), ENG_K("ts")};
    static const eng_jkey bg1[TK_N] = {ENG_K("bestBid"), ENG_K("bidSz"), ENG_K("bestAsk"), ENG_K("askSz"),
        ENG_K("last"), ENG_K("markPrice"), ENG_K("indexPrice"), ENG_K("capitalRate"),
        ENG_K("nextSettleTime"), ENG_K("holding"), ENG_K("instId"), ENG_K("ts")};
    static const eng_jkey bg1_alt[2] = {ENG_K("systemTime"), ENG_K("lastPr")};
    int rc = eng_j_open(j, '[', ']');
    if (rc < 0) ENG_FAIL(c, rc, "data: expected an array");
    if (rc == 0) ENG_FAIL(c, ENG_ERR_MISSING, "data: empty");
    eng_jv v[TK_N];
    memset(v, 0, sizeof(v));
    const eng_jkey* keys = okx;
    if (c->venue == ENG_VENUE_BITGET) {
        /* v1 and v2 differ in names; scan once with the v2 table and once more if v1 names appear */
        const char* save = j->p;
        if ((rc = eng_j_fields(j, bg2, TK_N, v, 2)) < 0) ENG_FAIL(c, rc, "data[0]: bad ticker object");
        if (v[TK_LAST].t == ENG_JT_NONE && v[TK_BID].t == ENG_JT_NONE && v[TK_ASK].t == ENG_JT_NONE) {
            eng_jcur again = { save, j->end };
            memset(v, 0, sizeof(v));
            if ((rc = eng_j_fields(&again, bg1, TK_N, v, 2)) < 0) ENG_FAIL(c, rc, "data[0]: bad ticker object");
            if (v[TK_TS].t == ENG_JT_NONE) {
                eng_jv alt[2];
                memset(alt, 0, sizeof(alt));
                eng_jcur third = { save, j->end };
                if ((rc = eng_j_fields(&third, bg1_alt, 2, alt, 2)) < 0) ENG_FAIL(c, rc, "data[0]: bad ticker object");
                v[TK_TS] = alt[0];
            }
        }
        (void)keys;
    } else {
        if ((rc = eng_j_fields(j, keys, TK_N, v, 2)) < 0) ENG_FAIL(c, rc, "data[0]: bad ticker object");
    }
    rc = eng_j_next(j, ']');
    if (rc < 0) ENG_FAIL(c, rc, "invalid JSON array");
    if (rc == 1) ENG_FAIL(c, ENG_ERR_TYPE, "data: more than one ticker");
    if (v[TK_SYM].t != ENG_JT_NONE && v[TK_SYM].t != ENG_JT_STR) ENG_FAIL(c, ENG_ERR_TYPE, "instId");
    if (v[TK_SYM].t == ENG_JT_STR &&
        (v[TK_SYM].n != st->sym->klen || memcmp(v[TK_SYM].p, st->sym->key, st->sym->klen) != 0))
        ENG_FAIL(c, ENG_ERR_TYPE, "data[0].instId differs from arg.instId");
    eng_ticker t;
    memset(&t, 0, sizeof(t));
    if ((rc = eng_ticker_fill(c, st->sym, v, &t))) return rc;
    const eng_jv* ts = v[TK_TS].t != ENG_JT_NONE ? &v[TK_TS] : &st->ts;
    if (ts->t != ENG_JT_NONE) ENG_TRY(c, eng_j_ms_to_ns(ts, &t.exch_ts_ns), "ts");
    t.recv_ts_ns = recv_ns;
    t.venue = c->venue;
    t.inst = st->sym->inst;
    t.is_snapshot = 1;
    *c->ticker = t;
    return ENG_EV_TICKER;
}

static int eng_ox_trades(eng_codec* c, eng_jcur* j, const eng_ox* st, int64_t recv_ns) {
    static const eng_jkey okx[TR_N] = {ENG_K("px"), ENG_K("sz"), ENG_K("side"), ENG_K("tradeId"),
                                       ENG_K("ts"), ENG_K("instId")};
    static const eng_jkey bg2[TR_N] = {ENG_K("price"), ENG_K("size"), ENG_K("side"), ENG_K("tradeId"),
                                       ENG_K("ts"), ENG_K("\x01")};
    const eng_jkey* keys = c->venue == ENG_VENUE_OKX ? okx : bg2;
    int rc = eng_j_open(j, '[', ']');
    if (rc < 0) ENG_FAIL(c, rc, "data: expected an array");
    int32_t n = 0;
    while (rc == 1) {
        if (n >= c->max_trades) ENG_FAIL(c, ENG_ERR_OVERSIZE, "too many trades in one frame");
        eng_jv v[TR_N];
        memset(v, 0, sizeof(v));
        if (c->venue == ENG_VENUE_BITGET && j->p < j->end && *j->p == '[') {
            /* Bitget v1: ["ts","px","sz","side"] */
            int r = eng_j_open(j, '[', ']');
            static const int order[4] = {TR_TS, TR_PX, TR_SZ, TR_SIDE};
            int i = 0;
            while (r == 1) {
                eng_jv x;
                if ((r = eng_j_val(j, &x, 3))) ENG_FAIL(c, r, "data: bad trade array");
                if (i < 4) v[order[i]] = x;
                i++;
                r = eng_j_next(j, ']');
            }
            if (r < 0) ENG_FAIL(c, r, "data: bad trade array");
            if (i < 4) ENG_FAIL(c, ENG_ERR_MISSING, "data: trade array shorter than 4");
        } else {
            if ((rc = eng_j_fields(j, keys, TR_N, v, 2)) < 0) ENG_FAIL(c, rc, "data: bad trade object");
        }
        if (v[TR_SYM].t != ENG_JT_NONE &&
            (v[TR_SYM].t != ENG_JT_STR || v[TR_SYM].n != st->sym->klen ||
             memcmp(v[TR_SYM].p, st->sym->key, st->sym->klen) != 0))
            ENG_FAIL(c, ENG_ERR_TYPE, "instId differs from arg.instId");
        if ((rc = eng_trade_fill(c, st->sym, v, recv_ns, &c->trades[n]))) return rc;
        n++;
        rc = eng_j_next(j, ']');
    }
    if (rc < 0) ENG_FAIL(c, rc, "invalid JSON array");
    if (n == 0) ENG_FAIL(c, ENG_ERR_MISSING, "data: no trades");
    c->n_trades = n;
    *c->trade = c->trades[0];
    return ENG_EV_TRADE;
}

static int eng_ox_mark(eng_codec* c, eng_jcur* j, const eng_ox* st, int64_t recv_ns) {
    enum { M_MARK, M_FUND, M_NEXT, M_TS, M_ID, M_N };
    static const eng_jkey keys[M_N] = {ENG_K("markPx"), ENG_K("fundingRate"), ENG_K("fundingTime"),
                                       ENG_K("ts"), ENG_K("instId")};
    int rc = eng_j_open(j, '[', ']');
    if (rc < 0) ENG_FAIL(c, rc, "data: expected an array");
    if (rc == 0) ENG_FAIL(c, ENG_ERR_MISSING, "data: empty");
    eng_jv v[M_N];
    memset(v, 0, sizeof(v));
    if ((rc = eng_j_fields(j, keys, M_N, v, 2)) < 0) ENG_FAIL(c, rc, "data[0]: bad object");
    rc = eng_j_next(j, ']');
    if (rc < 0) ENG_FAIL(c, rc, "invalid JSON array");
    if (rc == 1) ENG_FAIL(c, ENG_ERR_TYPE, "data: more than one element");
    if (v[M_ID].t != ENG_JT_NONE &&
        (v[M_ID].t != ENG_JT_STR || v[M_ID].n != st->sym->klen ||
         memcmp(v[M_ID].p, st->sym->key, st->sym->klen) != 0))
        ENG_FAIL(c, ENG_ERR_TYPE, "instId differs from arg.instId");
    eng_mark m;
    memset(&m, 0, sizeof(m));
    if (st->kind == OXK_MARK) {
        ENG_TRY(c, eng_dec_round(&v[M_MARK], st->sym->px_exp, &m.mark_px), "markPx");
        m.mask = ENG_TK_MARK_PX;
    } else {
        if (v[M_FUND].t == ENG_JT_NONE) ENG_FAIL(c, ENG_ERR_MISSING, "fundingRate");
        ENG_TRY(c, eng_j_double(&v[M_FUND], &m.funding_rate), "fundingRate");
        m.mask = ENG_TK_FUNDING;
        if (v[M_NEXT].t != ENG_JT_NONE) {
            ENG_TRY(c, eng_j_int(&v[M_NEXT], &m.next_funding_ms), "fundingTime");
            if (m.next_funding_ms < 0) ENG_FAIL(c, ENG_ERR_NEGATIVE, "fundingTime");
            m.mask |= ENG_TK_NEXT_FUNDING;
        }
    }
    if (v[M_TS].t != ENG_JT_NONE) ENG_TRY(c, eng_j_ms_to_ns(&v[M_TS], &m.exch_ts_ns), "ts");
    m.recv_ts_ns = recv_ns;
    m.venue = c->venue;
    m.inst = st->sym->inst;
    *c->mark = m;
    return ENG_EV_MARK;
}

static inline int eng_ox_data(eng_codec* c, eng_jcur* j, const eng_ox* st, int64_t recv_ns) {
    switch (st->kind) {
        case OXK_BOOK: return eng_ox_book(c, j, st, recv_ns);
        case OXK_TICKER: return eng_ox_ticker(c, j, st, recv_ns);
        case OXK_TRADE: return eng_ox_trades(c, j, st, recv_ns);
        default: return eng_ox_mark(c, j, st, recv_ns);
    }
}

static int eng_decode_okx_bitget(eng_codec* c, eng_jcur* j, int64_t recv_ns) {
    eng_ox st;
    memset(&st, 0, sizeof(st));
    st.is_snapshot = -1;
    if (*j->p != '{') return eng_top_not_object(c, j);
    int result = 0, data_done = 0;
    eng_jv action = {0};
    int rc = eng_j_open(j, '{', '}');
    if (rc < 0) ENG_FAIL(c, rc, "expected an object");
    while (rc == 1) {
        const char* k;
        size_t kn;
        if ((rc = eng_j_key(j, &k, &kn))) ENG_FAIL(c, rc, "bad object key");
        if (ENG_KEQ(k, kn, "arg")) {
            if (st.arg_seen) ENG_FAIL(c, ENG_ERR_PARSE, "duplicate key");
            if (*j->p != '{') ENG_FAIL(c, ENG_ERR_TYPE, "arg is not an object");
            if ((rc = eng_ox_arg(c, j, &st))) return rc;
        } else if (ENG_KEQ(k, kn, "action")) {
            ENG_J_ONCE(c, j, action, 1, "action");
            if (ENG_JV_IS(&action, "snapshot")) st.is_snapshot = 1;
            else if (ENG_JV_IS(&action, "update")) st.is_snapshot = 0;
            else ENG_FAIL(c, action.t == ENG_JT_STR ? ENG_ERR_UNSUPPORTED : ENG_ERR_TYPE, "action: not snapshot/update");
        } else if (ENG_KEQ(k, kn, "data")) {
            if (data_done || st.data.t != ENG_JT_NONE) ENG_FAIL(c, ENG_ERR_PARSE, "duplicate key");
            /* in place when arg (and, for books, the action) came first; Bitget books always carry action */
            int need_action = st.kind == OXK_BOOK && (st.has_checksum_ch || c->venue == ENG_VENUE_BITGET);
            if (st.arg_seen && (!need_action || st.is_snapshot >= 0)) {
                result = eng_ox_data(c, j, &st, recv_ns);
                if (result < 0) return result;
                data_done = 1;
            } else if ((rc = eng_j_val(j, &st.data, 1))) {
                ENG_FAIL(c, rc, "data");
            }
        } else if (ENG_KEQ(k, kn, "ts")) {
            ENG_J_ONCE(c, j, st.ts, 1, "ts");
        } else if (ENG_KEQ(k, kn, "event") || ENG_KEQ(k, kn, "op") || ENG_KEQ(k, kn, "id") ||
                   ENG_KEQ(k, kn, "code")) {
            ENG_FAIL(c, ENG_ERR_UNSUPPORTED, "control or order message");
        } else {
            if ((rc = eng_j_skip(j, 1))) ENG_FAIL(c, rc, "invalid JSON value");
        }
        rc = eng_j_next(j, '}');
    }
    if (rc < 0) ENG_FAIL(c, rc, "invalid JSON object");
    if ((rc = eng_j_end(j))) ENG_FAIL(c, rc, "bytes after the JSON value");
    if (!st.arg_seen) ENG_FAIL(c, ENG_ERR_UNSUPPORTED, "no arg");
    if (data_done) {
        if (st.kind == OXK_TICKER && st.ts.t != ENG_JT_NONE && !(c->ticker->exch_ts_ns)) {
            ENG_TRY(c, eng_j_ms_to_ns(&st.ts, &c->ticker->exch_ts_ns), "ts");
        }
        return result;
    }
    if (st.data.t == ENG_JT_NONE) ENG_FAIL(c, ENG_ERR_MISSING, "data missing");
    if (st.kind == OXK_BOOK && st.is_snapshot < 0 && (st.has_checksum_ch || c->venue == ENG_VENUE_BITGET))
        ENG_FAIL(c, ENG_ERR_MISSING, "action missing");
    eng_jcur sub = { st.data.p, st.data.p + st.data.n };
    return eng_ox_data(c, &sub, &st, recv_ns);
}

/* ==== entry point ====================================================================== */
static inline int eng_codec_decode(eng_codec* c, const char* buf, size_t n, int64_t recv_ns) {
    if (n > c->max_frame) ENG_FAIL(c, ENG_ERR_OVERSIZE, "frame larger than max_frame");
    eng_jcur j = { buf, buf + n };
    eng_j_ws(&j);
    if (j.p >= j.end) ENG_FAIL(c, ENG_ERR_TRUNCATED, "empty frame");
    c->err = "";
    switch (c->venue) {
        case ENG_VENUE_BINANCE_SPOT:
        case ENG_VENUE_BINANCE_USDM:
            return eng_decode_binance(c, &j, recv_ns);
        case ENG_VENUE_BYBIT:
            return eng_decode_bybit(c, &j, recv_ns);
        case ENG_VENUE_OKX:
        case ENG_VENUE_BITGET:
            return eng_decode_okx_bitget(c, &j, recv_ns);
        default:
            ENG_FAIL(c, ENG_ERR_DOMAIN, "decoder has no venue");
    }
}
