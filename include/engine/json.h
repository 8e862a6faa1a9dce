/* SPDX-License-Identifier: Apache-2.0
 * A small validating JSON scanner for exchange frames: walks the exact bytes (no NUL terminator
 * needed), returns raw slices of strings/numbers without copying or unescaping, and checks the
 * grammar (strings incl. escapes and control bytes, numbers, nesting, trailing bytes).
 * UTF-8 is not validated (bytes >= 0x80 inside strings are passed through). */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include "engine/rc.h"

#define ENG_J_MAX_DEPTH 32

enum {
    ENG_JT_NONE = 0,
    ENG_JT_STR = 1,
    ENG_JT_NUM = 2,
    ENG_JT_OBJ = 3,
    ENG_JT_ARR = 4,
    ENG_JT_TRUE = 5,
    ENG_JT_FALSE = 6,
    ENG_JT_NULL = 7
};

typedef struct eng_jcur {
    const char* p;
    const char* end;
} eng_jcur;

/* A value slice: STR -> contents between the quotes (escapes kept raw, esc=1 if any);
 * NUM -> the token; OBJ/ARR -> from the opening bracket to the closing one inclusive. */
typedef struct eng_jv {
    const char* p;
    uint32_t n;
    uint8_t t;
    uint8_t esc;
    uint8_t is_int;        /* NUM without fraction/exponent */
    uint8_t _pad;
} eng_jv;

static inline void eng_j_ws(eng_jcur* c) {
    const char* p = c->p;
    const char* e = c->end;
    if (p < e && (unsigned char)*p > ' ') return;      /* compact frames: no whitespace */
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    c->p = p;
}

static inline int eng_j_hex(char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* bytes that end the fast run of a string: '"', '\\' and control bytes */
static const uint8_t ENG_J_STRSTOP[256] = {
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,
};

/* At '"'. Sets *s and *n to the raw contents, *esc to 1 if it contains an escape. */
static inline int eng_j_str(eng_jcur* c, const char** s, size_t* n, int* esc) {
    const char* p = c->p + 1;
    const char* e = c->end;
    const char* start = p;
    int has_esc = 0;
    while (p < e) {
        while (e - p >= 4 && !(ENG_J_STRSTOP[(unsigned char)p[0]] | ENG_J_STRSTOP[(unsigned char)p[1]] |
                               ENG_J_STRSTOP[(unsigned char)p[2]] | ENG_J_STRSTOP[(unsigned char)p[3]]))
            p += 4;
        while (p < e && !ENG_J_STRSTOP[(unsigned char)*p]) p++;
        if (p >= e) break;
        unsigned char ch = (unsigned char)*p;
        if (ch == '"') {
            *s = start;
            *n = (size_t)(p - start);
            *esc = has_esc;
            c->p = p + 1;
            return ENG_OK;
        }
        if (ch == '\\') {
            has_esc = 1;
            p++;
            if (p >= e) return ENG_ERR_TRUNCATED;
            switch (*p) {
                case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                    p++;
                    break;
                case 'u':
                    if (e - p < 5) return ENG_ERR_TRUNCATED;
                    if (!eng_j_hex(p[1]) || !eng_j_hex(p[2]) || !eng_j_hex(p[3]) || !eng_j_hex(p[4]))
                        return ENG_ERR_PARSE;
                    p += 5;
                    break;
                default:
                    return ENG_ERR_PARSE;
            }
            continue;
        }
        if (ch < 0x20) return ENG_ERR_PARSE;
        p++;
    }
    return ENG_ERR_TRUNCATED;
}

/* At the first byte of a number. JSON grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static inline int eng_j_num(eng_jcur* c, const char** s, size_t* n, int* is_int) {
    const char* p = c->p;
    const char* e = c->end;
    const char* start = p;
    int integer = 1;
    if (p < e && *p == '-') p++;
    if (p >= e) return ENG_ERR_TRUNCATED;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < e && *p >= '0' && *p <= '9') p++;
    } else {
        return ENG_ERR_PARSE;
    }
    if (p < e && *p == '.') {
        integer = 0;
        p++;
        if (p >= e) return ENG_ERR_TRUNCATED;
        if (!(*p >= '0' && *p <= '9')) return ENG_ERR_PARSE;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        integer = 0;
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e) return ENG_ERR_TRUNCATED;
        if (!(*p >= '0' && *p <= '9')) return ENG_ERR_PARSE;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    /* a number must be followed by a structural byte, whitespace or the end of the frame */
    if (p < e) {
        char ch = *p;
        if (!(ch == ',' || ch == '}' || ch == ']' || ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t'))
            return ENG_ERR_PARSE;
    }
    *s = start;
    *n = (size_t)(p - start);
    *is_int = integer;
    c->p = p;
    return ENG_OK;
}

static inline int eng_j_lit(eng_jcur* c, const char* lit, size_t n) {
    size_t avail = (size_t)(c->end - c->p);
    if (avail < n) {
        return memcmp(c->p, lit, avail) == 0 ? ENG_ERR_TRUNCATED : ENG_ERR_PARSE;
    }
    if (memcmp(c->p, lit, n) != 0) return ENG_ERR_PARSE;
    c->p += n;
    return ENG_OK;
}

static int eng_j_skip(eng_jcur* c, int depth);

/* Read any value at the cursor (whitespace already skipped) into v. */
static inline int eng_j_val(eng_jcur* c, eng_jv* v, int depth) {
    if (c->p >= c->end) return ENG_ERR_TRUNCATED;
    const char* s;
    size_t n;
    int flag, rc;
    v->esc = 0;
    v->is_int = 0;
    switch (*c->p) {
        case '"':
            rc = eng_j_str(c, &s, &n, &flag);
            if (rc) return rc;
            v->p = s; v->n = (uint32_t)n; v->t = ENG_JT_STR; v->esc = (uint8_t)flag;
            return ENG_OK;
        case '{': case '[':
            s = c->p;
            rc = eng_j_skip(c, depth);
            if (rc) return rc;
            v->p = s; v->n = (uint32_t)(c->p - s); v->t = (*s == '{') ? ENG_JT_OBJ : ENG_JT_ARR;
            return ENG_OK;
        case 't':
            v->t = ENG_JT_TRUE; v->p = c->p; v->n = 4;
            return eng_j_lit(c, "true", 4);
        case 'f':
            v->t = ENG_JT_FALSE; v->p = c->p; v->n = 5;
            return eng_j_lit(c, "false", 5);
        case 'n':
            v->t = ENG_JT_NULL; v->p = c->p; v->n = 4;
            return eng_j_lit(c, "null", 4);
        default:
            rc = eng_j_num(c, &s, &n, &flag);
            if (rc) return rc;
            v->p = s; v->n = (uint32_t)n; v->t = ENG_JT_NUM; v->is_int = (uint8_t)flag;
            return ENG_OK;
    }
}

/* ---- object / array iteration -------------------------------------------
 * open: at '{' / '['; returns 1 when the container has members (cursor on the first member,
 * whitespace skipped), 0 when it is empty (closing bracket consumed), < 0 on error.
 * next: after a member value; returns 1 on ',' (cursor on the next member), 0 on the closing
 * bracket (consumed), < 0 on error. */
static inline int eng_j_open(eng_jcur* c, char open, char close) {
    if (c->p >= c->end) return ENG_ERR_TRUNCATED;
    if (*c->p != open) return ENG_ERR_TYPE;
    c->p++;
    eng_j_ws(c);
    if (c->p >= c->end) return ENG_ERR_TRUNCATED;
    if (*c->p == close) { c->p++; return 0; }
    return 1;
}

static inline int eng_j_next(eng_jcur* c, char close) {
    eng_j_ws(c);
    if (c->p >= c->end) return ENG_ERR_TRUNCATED;
    char ch = *c->p;
    if (ch == ',') {
        c->p++;
        eng_j_ws(c);
        if (c->p >= c->end) return ENG_ERR_TRUNCATED;
        return 1;
    }
    if (ch == close) { c->p++; return 0; }
    return ENG_ERR_PARSE;
}

/* At a member key: reads it, the ':' and the whitespace after it (cursor on the value). */
static inline int eng_j_key(eng_jcur* c, const char** k, size_t* kn) {
    int esc;
    if (c->p >= c->end) return ENG_ERR_TRUNCATED;
    if (*c->p != '"') return ENG_ERR_PARSE;
    /* fast path for one-byte keys followed directly by ':' (Binance: "b":, "u":) */
    if (c->end - c->p > 4 && c->p[2] == '"' && c->p[3] == ':' && !ENG_J_STRSTOP[(unsigned char)c->p[1]]) {
        *k = c->p + 1;
        *kn = 1;
        c->p += 4;
        eng_j_ws(c);
        return c->p < c->end ? ENG_OK : ENG_ERR_TRUNCATED;
    }
    int rc = eng_j_str(c, k, kn, &esc);
    if (rc) return rc;
    eng_j_ws(c);
    if (c->p >= c->end) return ENG_ERR_TRUNCATED;
    if (*c->p != ':') return ENG_ERR_PARSE;
    c->p++;
    eng_j_ws(c);
    if (c->p >= c->end) return ENG_ERR_TRUNCATED;
    return ENG_OK;
}

/* Skip (and validate) any value. */
static int eng_j_skip(eng_jcur* c, int depth) {
    if (c->p >= c->end) return ENG_ERR_TRUNCATED;
    const char* s;
    size_t n;
    int flag, rc;
    char ch = *c->p;
    if (ch == '"') return eng_j_str(c, &s, &n, &flag);
    if (ch == '{' || ch == '[') {
        if (depth >= ENG_J_MAX_DEPTH) return ENG_ERR_OVERSIZE;
        char close = (ch == '{') ? '}' : ']';
        rc = eng_j_open(c, ch, close);
        if (rc <= 0) return rc;
        for (;;) {
            if (close == '}') {
                rc = eng_j_key(c, &s, &n);
                if (rc) return rc;
            }
            rc = eng_j_skip(c, depth + 1);
            if (rc) return rc;
            rc = eng_j_next(c, close);
            if (rc <= 0) return rc;
        }
    }
    eng_jv v;
    return eng_j_val(c, &v, depth);
}

/* Only whitespace may follow the top-level value. */
static inline int eng_j_end(eng_jcur* c) {
    eng_j_ws(c);
    return c->p == c->end ? ENG_OK : ENG_ERR_PARSE;
}

/* ---- scalar helpers ---------------------------------------------------- */

/* Signed decimal integer from a NUM token or a numeric string ("1597026383085"). */
static inline int eng_j_int(const eng_jv* v, int64_t* out) {
    if (v->t != ENG_JT_NUM && v->t != ENG_JT_STR) return ENG_ERR_TYPE;
    if (v->t == ENG_JT_NUM && !v->is_int) return ENG_ERR_NUMBER;
    const char* p = v->p;
    const char* e = v->p + v->n;
    int neg = 0;
    if (p < e && *p == '-') { neg = 1; p++; }
    if (p >= e) return ENG_ERR_NUMBER;
    uint64_t acc = 0;
    for (; p < e; p++) {
        if (*p < '0' || *p > '9') return ENG_ERR_NUMBER;
        if (acc > ((uint64_t)INT64_MAX - 9) / 10) return ENG_ERR_OVERFLOW;
        acc = acc * 10 + (uint64_t)(*p - '0');
    }
    *out = neg ? -(int64_t)acc : (int64_t)acc;
    return ENG_OK;
}

/* At the first byte of a number: a plain JSON integer of <= 18 digits parsed in one pass.
 * Returns 1 (cursor after it, v = the token) or 0 with the cursor unchanged for anything else
 * (fraction, exponent, leading zero, longer): the caller then takes eng_j_val + eng_j_int. */
static inline int eng_j_int_fused(eng_jcur* c, int64_t* out, eng_jv* v) {
    const char* p = c->p;
    const char* e = c->end;
    int neg = 0;
    if (p < e && *p == '-') { neg = 1; p++; }
    const char* d0 = p;
    const char* lim = (e - d0 > 19) ? d0 + 19 : e;
    uint64_t acc = 0;
    while (p < lim && (unsigned)(*p - '0') < 10u) acc = acc * 10 + (uint64_t)(*p++ - '0');
    long nd = p - d0;
    if (nd == 0 || nd > 18 || (*d0 == '0' && nd > 1)) return 0;
    if (p < e) {
        char ch = *p;
        if (!(ch == ',' || ch == '}' || ch == ']' || ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t'))
            return 0;
    }
    *out = neg ? -(int64_t)acc : (int64_t)acc;
    v->p = c->p;
    v->n = (uint32_t)(p - c->p);
    v->t = ENG_JT_NUM;
    v->esc = 0;
    v->is_int = 1;
    c->p = p;
    return 1;
}

/* Non-negative millisecond timestamp -> ns. */
static inline int eng_j_ms_to_ns(const eng_jv* v, int64_t* out_ns) {
    int64_t ms;
    int rc = eng_j_int(v, &ms);
    if (rc) return rc;
    if (ms < 0) return ENG_ERR_NEGATIVE;
    if (ms > INT64_MAX / 1000000) return ENG_ERR_OVERFLOW;
    *out_ns = ms * 1000000;
    return ENG_OK;
}

/* Decimal string (optional '-', digits, optional '.' digits; no exponent, no NaN/Inf) -> double.
 * Exactly the correctly rounded value when the digits fit 19 significant digits and <= 22 decimals. */
static inline int eng_j_double(const eng_jv* v, double* out) {
    static const double P10[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    if (v->t != ENG_JT_STR && v->t != ENG_JT_NUM) return ENG_ERR_TYPE;
    const char* p = v->p;
    const char* e = v->p + v->n;
    int neg = 0;
    if (p < e && *p == '-') { neg = 1; p++; }
    uint64_t m = 0;
    int sig = 0, frac = 0, digits = 0, dropped_int = 0;
    for (; p < e && *p >= '0' && *p <= '9'; p++) {
        digits++;
        if (sig < 19) { m = m * 10 + (uint64_t)(*p - '0'); if (m) sig++; }
        else dropped_int++;
    }
    if (p < e && *p == '.') {
        p++;
        int fd = 0;
        for (; p < e && *p >= '0' && *p <= '9'; p++) {
            fd++;
            digits++;
            if (sig < 19) { m = m * 10 + (uint64_t)(*p - '0'); frac++; if (m) sig++; }
        }
        if (fd == 0) return ENG_ERR_NUMBER;
    }
    if (p != e || digits == 0) return ENG_ERR_NUMBER;
    double d = (double)m;
    if (dropped_int) {
        if (dropped_int > 22) return ENG_ERR_OVERFLOW;
        d *= P10[dropped_int];
    } else if (frac) {
        if (frac > 22) return ENG_ERR_NUMBER;
        d /= P10[frac];
    }
    *out = neg ? -d : d;
    return ENG_OK;
}
