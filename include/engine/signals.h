/* SPDX-License-Identifier: Apache-2.0
 * Streaming signal kernels on small C state structs (header-only, nogil-safe, no Python.h):
 * EMA, EW mean/variance, rolling mean/std/z-score, VWAP, trade-flow imbalance, book imbalance,
 * microprice and realised volatility. Every update is O(1) (rolling sums are re-summed exactly once
 * per window of updates, so rounding drift cannot accumulate) and allocation-free.
 *
 * Error / NaN policy: a non-finite input (NaN, +-Inf) or an out-of-domain argument (price <= 0,
 * negative size, window outside 1..ENG_ROLL_MAX) returns ENG_ERR_DOMAIN and leaves the state
 * untouched. Getters return ENG_ERR_DOMAIN (and do not write *out) while the value is undefined:
 * empty window, fewer than 2 samples for a variance, zero std for a z-score, zero volume for a VWAP
 * or an imbalance. No kernel ever produces NaN; the NumPy batch wrappers write NaN exactly where
 * the kernel returned ENG_ERR_DOMAIN. */
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "engine/rc.h"
#include "engine/types.h"

#define ENG_ROLL_MAX 1024          /* largest rolling window (samples) */

static inline int eng_sig__finite(double x) { return isfinite(x); }

/* ---- EMA ------------------------------------------------------------------------------------- */
typedef struct eng_ema {
    double alpha;                   /* weight of the newest sample, 0 < alpha <= 1 */
    double value;                   /* current average (valid when n > 0) */
    int64_t n;                      /* samples seen */
} eng_ema;

/* alpha such that a sample's weight halves after half_life samples: 1 - 2^(-1/half_life). */
static inline int eng_alpha_from_half_life(double half_life, double* alpha) {
    if (!eng_sig__finite(half_life) || half_life <= 0.0) return ENG_ERR_DOMAIN;
    *alpha = 1.0 - exp2(-1.0 / half_life);
    return ENG_OK;
}

static inline int eng_ema_init(eng_ema* s, double alpha) {
    if (!eng_sig__finite(alpha) || alpha <= 0.0 || alpha > 1.0) return ENG_ERR_DOMAIN;
    s->alpha = alpha;
    s->value = 0.0;
    s->n = 0;
    return ENG_OK;
}

static inline void eng_ema_reset(eng_ema* s) { s->value = 0.0; s->n = 0; }

/* The first sample initialises the average. */
static inline int eng_ema_update(eng_ema* s, double x) {
    if (!eng_sig__finite(x)) return ENG_ERR_DOMAIN;
    if (s->n == 0) s->value = x;
    else s->value += s->alpha * (x - s->value);
    s->n++;
    return ENG_OK;
}

static inline int eng_ema_value(const eng_ema* s, double* out) {
    if (s->n == 0) return ENG_ERR_DOMAIN;
    *out = s->value;
    return ENG_OK;
}

/* ---- time-decayed EMA (irregular samples): weight halves every half_life_ns of elapsed time ---- */
typedef struct eng_tema {
    double half_life_ns;            /* > 0 */
    double value;                   /* current average (valid when n > 0) */
    int64_t last_ns;                /* timestamp of the newest sample */
    int64_t n;                      /* samples seen */
} eng_tema;

static inline int eng_tema_init(eng_tema* s, double half_life_ns) {
    if (!eng_sig__finite(half_life_ns) || half_life_ns <= 0.0) return ENG_ERR_DOMAIN;
    s->half_life_ns = half_life_ns;
    s->value = 0.0;
    s->last_ns = 0;
    s->n = 0;
    return ENG_OK;
}

static inline void eng_tema_reset(eng_tema* s) { s->value = 0.0; s->last_ns = 0; s->n = 0; }

/* value += (1 - 2^(-dt / half_life)) * (x - value); a timestamp older than the last one is rejected. */
static inline int eng_tema_update(eng_tema* s, double x, int64_t t_ns) {
    if (!eng_sig__finite(x) || (s->n && t_ns < s->last_ns)) return ENG_ERR_DOMAIN;
    if (s->n == 0) {
        s->value = x;
    } else {
        double w = 1.0 - exp2(-(double)(t_ns - s->last_ns) / s->half_life_ns);
        s->value += w * (x - s->value);
    }
    s->last_ns = t_ns;
    s->n++;
    return ENG_OK;
}

static inline int eng_tema_value(const eng_tema* s, double* out) {
    if (s->n == 0) return ENG_ERR_DOMAIN;
    *out = s->value;
    return ENG_OK;
}

/* ---- exponentially weighted mean and variance (West 1979 incremental form) ------------------- */
typedef struct eng_ewvar {
    double alpha;                   /* 0 < alpha <= 1 */
    double mean;                    /* EW mean */
    double var;                     /* EW (biased) variance, >= 0 */
    int64_t n;
} eng_ewvar;

static inline int eng_ewvar_init(eng_ewvar* s, double alpha) {
    if (!eng_sig__finite(alpha) || alpha <= 0.0 || alpha > 1.0) return ENG_ERR_DOMAIN;
    memset(s, 0, sizeof(*s));
    s->alpha = alpha;
    return ENG_OK;
}

static inline void eng_ewvar_reset(eng_ewvar* s) { s->mean = s->var = 0.0; s->n = 0; }

static inline int eng_ewvar_update(eng_ewvar* s, double x) {
    if (!eng_sig__finite(x)) return ENG_ERR_DOMAIN;
    if (s->n == 0) {
        s->mean = x;
        s->var = 0.0;
    } else {
        double d = x - s->mean;
        double inc = s->alpha * d;
        s->mean += inc;
        s->var = (1.0 - s->alpha) * (s->var + d * inc);
    }
    s->n++;
    return ENG_OK;
}

static inline int eng_ewvar_mean(const eng_ewvar* s, double* out) {
    if (s->n == 0) return ENG_ERR_DOMAIN;
    *out = s->mean;
    return ENG_OK;
}

static inline int eng_ewvar_var(const eng_ewvar* s, double* out) {
    if (s->n == 0) return ENG_ERR_DOMAIN;
    *out = s->var;
    return ENG_OK;
}

/* ---- rolling sum over the last `window` samples (ring buffer) -------------------------------- */
typedef struct eng_rsum {
    double buf[ENG_ROLL_MAX];       /* ring of the last n samples */
    double sum;                     /* running sum of buf[0..n) */
    int32_t window;                 /* 1..ENG_ROLL_MAX */
    int32_t n;                      /* samples held (<= window) */
    int32_t head;                   /* next write index */
    int32_t since;                  /* evictions since the last exact re-sum */
} eng_rsum;

static inline int eng_rsum_init(eng_rsum* s, int32_t window) {
    if (window < 1 || window > ENG_ROLL_MAX) return ENG_ERR_DOMAIN;
    s->sum = 0.0;
    s->window = window;
    s->n = s->head = s->since = 0;
    return ENG_OK;
}

static inline void eng_rsum_reset(eng_rsum* s) { s->sum = 0.0; s->n = s->head = s->since = 0; }

static inline void eng_rsum__resum(eng_rsum* s) {
    double t = 0.0;
    for (int32_t i = 0; i < s->n; i++) t += s->buf[i];
    s->sum = t;
    s->since = 0;
}

/* Caller guarantees x is finite. The running sum re-adds the window exactly every `window`
 * evictions (drift) and whenever an eviction cancels it (what remains is under 1e-6 of what left):
 * small terms absorbed next to a large one (1 + 1e-150 - 1 == 0) would otherwise be lost and a
 * VWAP or flow ratio over them undefined or wrong. Rare for real data; worst case O(window). */
static inline void eng_rsum_push(eng_rsum* s, double x) {
    if (s->n == s->window) {
        double old = s->buf[s->head];
        s->buf[s->head] = x;
        double rest = s->sum - old;
        s->sum = rest + x;
        if (++s->since >= s->window || fabs(rest) < 1e-6 * fabs(old)) eng_rsum__resum(s);
    } else {
        s->buf[s->head] = x;
        s->sum += x;
        s->n++;
    }
    if (++s->head == s->window) s->head = 0;
}

/* ---- rolling mean / std / z-score -------------------------------------------------------------
 * Welford add / replace updates on samples shifted by a reference K (the window mean at the last
 * exact recompute), so prices like 1e9 +- 1e-3 keep their small deviations exact; an exact two-pass
 * recompute every `window` evictions stops rounding drift (amortised O(1)). */
typedef struct eng_roll {
    double buf[ENG_ROLL_MAX];       /* ring of the last n samples (as given) */
    double shift;                   /* reference K; mean = shift + dmean */
    double dmean;                   /* window mean minus shift */
    double m2;                      /* sum of squared deviations from the mean, >= 0 */
    double last;                    /* newest sample */
    int32_t window;                 /* 1..ENG_ROLL_MAX */
    int32_t n;                      /* samples held */
    int32_t head;                   /* next write index */
    int32_t since;                  /* evictions since the last exact two-pass recompute */
} eng_roll;

static inline int eng_roll_init(eng_roll* s, int32_t window) {
    if (window < 1 || window > ENG_ROLL_MAX) return ENG_ERR_DOMAIN;
    s->shift = s->dmean = s->m2 = s->last = 0.0;
    s->window = window;
    s->n = s->head = s->since = 0;
    return ENG_OK;
}

static inline void eng_roll_reset(eng_roll* s) {
    s->shift = s->dmean = s->m2 = s->last = 0.0;
    s->n = s->head = s->since = 0;
}

static inline void eng_roll__recompute(eng_roll* s) {
    double k = s->shift, m = 0.0, q = 0.0;
    for (int32_t i = 0; i < s->n; i++) m += s->buf[i] - k;
    m = k + m / (double)s->n;
    for (int32_t i = 0; i < s->n; i++) {
        double d = s->buf[i] - m;
        q += d * d;
    }
    s->shift = m;
    s->dmean = 0.0;
    s->m2 = q;
    s->since = 0;
}

static inline int eng_roll_update(eng_roll* s, double x) {
    if (!eng_sig__finite(x)) return ENG_ERR_DOMAIN;
    if (s->n == 0) s->shift = x;
    double xs = x - s->shift;
    if (s->n == s->window) {
        double y = s->buf[s->head];
        s->buf[s->head] = x;
        if (++s->since >= s->window) {
            eng_roll__recompute(s);
        } else {
            /* replace y by x at fixed n: M2 += (x - y) * (x - mean' + y - mean) */
            double ys = y - s->shift;
            double old = s->dmean;
            double nm = old + (xs - ys) / (double)s->n;
            double m2_before = s->m2;
            s->m2 += (xs - ys) * (xs - nm + ys - old);
            s->dmean = nm;
            /* the variance collapsed (e.g. [1,0,0] -> [0,0,0]): the update's rounding is now
             * larger than what is left, so recompute exactly (rare; O(window)) */
            if (s->m2 < 1e-6 * m2_before) eng_roll__recompute(s);
        }
    } else {
        s->buf[s->head] = x;
        s->n++;
        double d = xs - s->dmean;
        s->dmean += d / (double)s->n;
        s->m2 += d * (xs - s->dmean);
    }
    if (++s->head == s->window) s->head = 0;
    s->last = x;
    return ENG_OK;
}

static inline int eng_roll_mean(const eng_roll* s, double* out) {
    if (s->n == 0) return ENG_ERR_DOMAIN;
    *out = s->shift + s->dmean;
    return ENG_OK;
}

static inline int eng_roll_var(const eng_roll* s, double* out) {
    if (s->n < 2) return ENG_ERR_DOMAIN;
    *out = s->m2 / (double)(s->n - 1);
    return ENG_OK;
}

static inline int eng_roll_std(const eng_roll* s, double* out) {
    double v;
    if (eng_roll_var(s, &v)) return ENG_ERR_DOMAIN;
    *out = sqrt(v);
    return ENG_OK;
}

/* z-score of x against the window: (x - mean) / std. ENG_ERR_DOMAIN if std is 0 or undefined. */
static inline int eng_roll_zscore_of(const eng_roll* s, double x, double* out) {
    double sd;
    if (!eng_sig__finite(x) || eng_roll_std(s, &sd) || !(sd > 0.0)) return ENG_ERR_DOMAIN;
    *out = ((x - s->shift) - s->dmean) / sd;
    return ENG_OK;
}

/* z-score of the newest sample. */
static inline int eng_roll_zscore(const eng_roll* s, double* out) {
    return eng_roll_zscore_of(s, s->last, out);
}

/* ---- VWAP ---------------------------------------------------------------------------------------
 * window == 0: cumulative since init/reset; window > 0: the last `window` trades. Prices and sizes
 * in any consistent unit (e.g. price units and size units as doubles); the VWAP is in price units. */
typedef struct eng_vwap {
    eng_rsum pv;                    /* rolling sum of px * sz (window > 0) */
    eng_rsum v;                     /* rolling sum of sz */
    double cum_pv, cum_v;           /* cumulative sums (window == 0) */
    int32_t window;
    int32_t _pad;
} eng_vwap;

static inline int eng_vwap_init(eng_vwap* s, int32_t window) {
    if (window < 0 || window > ENG_ROLL_MAX) return ENG_ERR_DOMAIN;
    s->window = window;
    s->cum_pv = s->cum_v = 0.0;
    eng_rsum_init(&s->pv, window ? window : 1);
    eng_rsum_init(&s->v, window ? window : 1);
    return ENG_OK;
}

static inline void eng_vwap_reset(eng_vwap* s) {
    s->cum_pv = s->cum_v = 0.0;
    eng_rsum_reset(&s->pv);
    eng_rsum_reset(&s->v);
}

static inline int eng_vwap_update(eng_vwap* s, double px, double sz) {
    if (!eng_sig__finite(px) || !eng_sig__finite(sz) || px <= 0.0 || sz < 0.0) return ENG_ERR_DOMAIN;
    if (s->window == 0) {
        s->cum_pv += px * sz;
        s->cum_v += sz;
    } else {
        eng_rsum_push(&s->pv, px * sz);
        eng_rsum_push(&s->v, sz);
    }
    return ENG_OK;
}

static inline int eng_vwap_value(const eng_vwap* s, double* out) {
    double pv = s->window ? s->pv.sum : s->cum_pv;
    double v = s->window ? s->v.sum : s->cum_v;
    if (!(v > 0.0)) return ENG_ERR_DOMAIN;
    *out = pv / v;
    return ENG_OK;
}

/* ---- trade-flow imbalance over the last `window` trades ------------------------------------- */
typedef struct eng_flow {
    eng_rsum buy;                   /* aggressive buy volume per trade (0 for sells) */
    eng_rsum sell;                  /* aggressive sell volume per trade (0 for buys) */
} eng_flow;

static inline int eng_flow_init(eng_flow* s, int32_t window) {
    if (eng_rsum_init(&s->buy, window)) return ENG_ERR_DOMAIN;
    return eng_rsum_init(&s->sell, window);
}

static inline void eng_flow_reset(eng_flow* s) { eng_rsum_reset(&s->buy); eng_rsum_reset(&s->sell); }

/* side: ENG_SIDE_BUY (1) aggressor buy, ENG_SIDE_SELL (-1) aggressor sell. */
static inline int eng_flow_update(eng_flow* s, double sz, int32_t side) {
    if (!eng_sig__finite(sz) || sz < 0.0 || (side != 1 && side != -1)) return ENG_ERR_DOMAIN;
    eng_rsum_push(&s->buy, side == 1 ? sz : 0.0);
    eng_rsum_push(&s->sell, side == 1 ? 0.0 : sz);
    return ENG_OK;
}

/* (buy - sell) / (buy + sell) in [-1, 1]. */
static inline int eng_flow_imbalance(const eng_flow* s, double* out) {
    double b = s->buy.sum, a = s->sell.sum;
    if (b < 0.0) b = 0.0;
    if (a < 0.0) a = 0.0;
    if (!(b + a > 0.0)) return ENG_ERR_DOMAIN;
    *out = (b - a) / (b + a);
    return ENG_OK;
}

/* ---- realised volatility: sum of squared log returns over the last `window` returns ---------- */
typedef struct eng_rvol {
    eng_rsum r2;                    /* squared log returns */
    double last_px;                 /* previous price (0 = none yet) */
} eng_rvol;

static inline int eng_rvol_init(eng_rvol* s, int32_t window) {
    s->last_px = 0.0;
    return eng_rsum_init(&s->r2, window);
}

static inline void eng_rvol_reset(eng_rvol* s) { s->last_px = 0.0; eng_rsum_reset(&s->r2); }

static inline int eng_rvol_update(eng_rvol* s, double px) {
    if (!eng_sig__finite(px) || px <= 0.0) return ENG_ERR_DOMAIN;
    if (s->last_px > 0.0) {
        double r = log(px / s->last_px);
        eng_rsum_push(&s->r2, r * r);
    }
    s->last_px = px;
    return ENG_OK;
}

/* Realised variance (sum of r^2 over the window); ENG_ERR_DOMAIN before the first return. */
static inline int eng_rvol_variance(const eng_rvol* s, double* out) {
    if (s->r2.n == 0) return ENG_ERR_DOMAIN;
    *out = s->r2.sum > 0.0 ? s->r2.sum : 0.0;
    return ENG_OK;
}

static inline int eng_rvol_value(const eng_rvol* s, double* out) {
    double v;
    if (eng_rvol_variance(s, &v)) return ENG_ERR_DOMAIN;
    *out = sqrt(v);
    return ENG_OK;
}

/* ---- stateless book signals (price/size units) --------------------------------------------- */

/* (bid_sz - ask_sz) / (bid_sz + ask_sz) in [-1, 1]. */
static inline int eng_sig_book_imbalance(int64_t bid_sz, int64_t ask_sz, double* out) {
    if (bid_sz < 0 || ask_sz < 0 || (bid_sz == 0 && ask_sz == 0)) return ENG_ERR_DOMAIN;
    double b = (double)bid_sz, a = (double)ask_sz;
    *out = (b - a) / (b + a);
    return ENG_OK;
}

/* (bid_px * ask_sz + ask_px * bid_sz) / (bid_sz + ask_sz), in price units. */
static inline int eng_sig_microprice(int64_t bid_px, int64_t bid_sz, int64_t ask_px, int64_t ask_sz,
                                     double* out) {
    if (bid_sz < 0 || ask_sz < 0 || (bid_sz == 0 && ask_sz == 0) || bid_px <= 0 || ask_px <= 0)
        return ENG_ERR_DOMAIN;
    double bs = (double)bid_sz, as = (double)ask_sz;
    *out = ((double)bid_px * as + (double)ask_px * bs) / (bs + as);
    return ENG_OK;
}

/* The same two from a maintained top (e.g. &ctx->top[inst]); ENG_ERR_NOT_SYNCED if it is not valid. */
static inline int eng_sig_top_imbalance(const eng_book_top* t, double* out) {
    if (!t->valid) return ENG_ERR_NOT_SYNCED;
    return eng_sig_book_imbalance(t->bid_sz, t->ask_sz, out);
}

static inline int eng_sig_top_microprice(const eng_book_top* t, double* out) {
    if (!t->valid) return ENG_ERR_NOT_SYNCED;
    return eng_sig_microprice(t->bid_px, t->bid_sz, t->ask_px, t->ask_sz, out);
}
