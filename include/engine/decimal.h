/* SPDX-License-Identifier: Apache-2.0
 * Exact decimal strings <-> int64 fixed point. The venues send prices and sizes as decimal
 * strings; we parse them straight into units of 10^-exp (no float round trip), remember how
 * many decimals were sent (OKX/Bitget checksums are computed over the original strings,
 * trailing zeros included) and can print them back byte for byte. */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include "engine/rc.h"

static const int64_t ENG_POW10[19] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
    1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
    100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL};

/* Parse s[0..n) (digits, optional '.', digits; no sign, no exponent) into units of 10^-exp.
 * *dec_out receives the number of decimals as written ("0.0100" -> 4).
 * Returns ENG_OK, ENG_ERR_NUMBER (empty, NaN, Inf, exponent, stray byte), ENG_ERR_NEGATIVE
 * (leading '-'), ENG_ERR_PRECISION (more decimals than exp carrying non-zero digits),
 * ENG_ERR_OVERFLOW. Trailing zeros beyond exp are accepted ("1.50000000000" with exp 2). */
static inline int eng_parse_decimal(const char* s, size_t n, int32_t exp,
                                    int64_t* units_out, uint8_t* dec_out) {
    if (n == 0) return ENG_ERR_NUMBER;
    if (s[0] == '-') return ENG_ERR_NEGATIVE;
    if (exp < 0 || exp > 18) return ENG_ERR_DOMAIN;
    size_t i = 0;
    uint64_t v = 0;
    int digits = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (uint64_t)INT64_MAX / 10) return ENG_ERR_OVERFLOW;
        v = v * 10 + (uint64_t)(s[i] - '0');
        digits++;
    }
    int dec = 0;
    if (i < n && s[i] == '.') {
        i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            int d = s[i] - '0';
            if (dec < exp) {
                if (v > (uint64_t)INT64_MAX / 10) return ENG_ERR_OVERFLOW;
                v = v * 10 + (uint64_t)d;
            } else if (d != 0) {
                return ENG_ERR_PRECISION;
            }
            dec++;
            digits++;
        }
        if (dec == 0) return ENG_ERR_NUMBER;   /* "1." */
    }
    if (i != n || digits == 0) return ENG_ERR_NUMBER;
    if (dec > 255) return ENG_ERR_NUMBER;
    int scale = exp - (dec < exp ? dec : exp);
    if (v > (uint64_t)INT64_MAX / (uint64_t)ENG_POW10[scale]) return ENG_ERR_OVERFLOW;
    *units_out = (int64_t)(v * (uint64_t)ENG_POW10[scale]);
    *dec_out = (uint8_t)dec;
    return ENG_OK;
}

/* Print units (>= 0) of 10^-exp with exactly dec decimals into out (>= 42 bytes).
 * Returns the length. dec may exceed exp (trailing zeros as the venue sent them). */
static inline int eng_format_decimal(int64_t units, int32_t exp, int32_t dec, char* out) {
    char tmp[24];
    int n = 0;
    uint64_t ip = (uint64_t)units / (uint64_t)ENG_POW10[exp];
    uint64_t fp = (uint64_t)units % (uint64_t)ENG_POW10[exp];
    do { tmp[n++] = (char)('0' + ip % 10); ip /= 10; } while (ip);
    int len = 0;
    while (n) out[len++] = tmp[--n];
    if (dec > 0) {
        out[len++] = '.';
        for (int k = 0; k < dec; k++) {
            if (k < exp) {
                uint64_t p = (uint64_t)ENG_POW10[exp - 1 - k];
                out[len++] = (char)('0' + (fp / p) % 10);
            } else {
                out[len++] = '0';
            }
        }
    }
    return len;
}
