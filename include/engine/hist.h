/* SPDX-License-Identifier: Apache-2.0
 * Log-linear (HDR-style) latency histogram in nanoseconds, allocation-free O(1) record, and the
 * pipeline stage ids. Values 0..63 ns have exact buckets; above that every power of two is split
 * into 64 linear sub-buckets, so a bucket is at most 1/64 (1.6 %) of its value wide. The range
 * ends at 2^37 ns (~137 s); larger values go to the last bucket (max stays exact, `clamped` counts them). */
#pragma once
#include <stdint.h>
#include <string.h>

/* ---- pipeline stages ---------------------------------------------------- */
enum {
    ENG_STAGE_RECV = 0,          /* socket read -> frame in hand (kernel/user-space receive) */
    ENG_STAGE_DECODE = 1,        /* frame bytes -> C struct */
    ENG_STAGE_BOOK = 2,          /* book apply */
    ENG_STAGE_SIGNAL = 3,        /* strategy hook (signals + decision) */
    ENG_STAGE_RISK = 4,          /* pre-trade risk gate */
    ENG_STAGE_ENCODE = 5,        /* intent -> signed request bytes */
    ENG_STAGE_SEND = 6,          /* transport write */
    ENG_STAGE_ACK = 7,           /* send -> venue ack (round trip) */
    ENG_STAGE_TICK_TO_TRADE = 8, /* frame received -> order bytes written */
    ENG_STAGE_COUNT = 9
};

#define ENG_HIST_SUB_BITS 6
#define ENG_HIST_SUB 64                       /* linear sub-buckets per power of two */
#define ENG_HIST_MAX_MSB 36                   /* highest msb with its own buckets: 2^37 - 1 ns */
#define ENG_HIST_BUCKETS (ENG_HIST_SUB + (ENG_HIST_MAX_MSB - ENG_HIST_SUB_BITS + 1) * ENG_HIST_SUB) /* 2048 */

typedef struct eng_hist {
    uint64_t counts[ENG_HIST_BUCKETS];
    uint64_t count;              /* samples recorded */
    uint64_t clamped;            /* samples < 0 (recorded as 0) or beyond the range (last bucket) */
    int64_t min, max;            /* exact, ns; min = INT64_MAX / max = 0 when empty */
    double sum;                  /* for the mean */
} eng_hist;

static inline void eng_hist_reset(eng_hist* h) {
    memset(h->counts, 0, sizeof(h->counts));
    h->count = 0;
    h->clamped = 0;
    h->min = INT64_MAX;
    h->max = 0;
    h->sum = 0.0;
}

static inline int eng_hist_index(uint64_t v) {
    if (v < ENG_HIST_SUB) return (int)v;
    int msb = 63 - __builtin_clzll(v);
    if (msb > ENG_HIST_MAX_MSB) return ENG_HIST_BUCKETS - 1;
    int shift = msb - ENG_HIST_SUB_BITS;                       /* >= 0 */
    int sub = (int)((v >> shift) - ENG_HIST_SUB);              /* 0..63 */
    return ENG_HIST_SUB + shift * ENG_HIST_SUB + sub;
}

/* Smallest value that maps to bucket i. */
static inline int64_t eng_hist_lo(int i) {
    if (i < ENG_HIST_SUB) return i;
    int shift = (i - ENG_HIST_SUB) / ENG_HIST_SUB;
    int sub = (i - ENG_HIST_SUB) % ENG_HIST_SUB;
    return (int64_t)((uint64_t)(ENG_HIST_SUB + sub) << shift);
}

/* Largest value that maps to bucket i. */
static inline int64_t eng_hist_hi(int i) {
    if (i < ENG_HIST_SUB) return i;
    int shift = (i - ENG_HIST_SUB) / ENG_HIST_SUB;
    return eng_hist_lo(i) + ((int64_t)1 << shift) - 1;
}

static inline void eng_hist_record(eng_hist* h, int64_t ns) {
    uint64_t v;
    if (ns < 0) { v = 0; h->clamped++; }
    else v = (uint64_t)ns;
    int i = eng_hist_index(v);
    if (i == ENG_HIST_BUCKETS - 1 && v > (uint64_t)eng_hist_hi(i)) h->clamped++;
    h->counts[i]++;
    h->count++;
    h->sum += (double)v;
    if ((int64_t)v < h->min) h->min = (int64_t)v;
    if ((int64_t)v > h->max) h->max = (int64_t)v;
}

/* Nearest-rank percentile (p in 0..100): the highest value of the bucket holding the sample of
 * rank ceil(p/100 * count), clamped to [min, max]. 0 when empty. */
static inline int64_t eng_hist_percentile(const eng_hist* h, double p) {
    if (h->count == 0) return 0;
    if (!(p > 0.0)) return h->min;                 /* also NaN */
    if (p >= 100.0) return h->max;
    double r = p / 100.0 * (double)h->count;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r) rank++;
    if (rank < 1) rank = 1;
    uint64_t acc = 0;
    for (int i = 0; i < ENG_HIST_BUCKETS; i++) {
        acc += h->counts[i];
        if (acc >= rank) {
            int64_t v = eng_hist_hi(i);
            if (v > h->max) v = h->max;
            if (v < h->min) v = h->min;
            return v;
        }
    }
    return h->max;
}

static inline double eng_hist_mean(const eng_hist* h) {
    return h->count ? h->sum / (double)h->count : 0.0;
}

static inline void eng_hist_merge(eng_hist* into, const eng_hist* from) {
    for (int i = 0; i < ENG_HIST_BUCKETS; i++) into->counts[i] += from->counts[i];
    into->count += from->count;
    into->clamped += from->clamped;
    into->sum += from->sum;
    if (from->count) {
        if (from->min < into->min) into->min = from->min;
        if (from->max > into->max) into->max = from->max;
    }
}

/* One histogram per stage. */
typedef struct eng_latency {
    eng_hist stage[ENG_STAGE_COUNT];
} eng_latency;

static inline void eng_latency_reset(eng_latency* l) {
    for (int s = 0; s < ENG_STAGE_COUNT; s++) eng_hist_reset(&l->stage[s]);
}

/* Out-of-range stage ids are ignored (returns -1) rather than corrupting memory. */
static inline int eng_latency_record(eng_latency* l, int stage, int64_t ns) {
    if ((unsigned)stage >= (unsigned)ENG_STAGE_COUNT) return -1;
    eng_hist_record(&l->stage[stage], ns);
    return 0;
}
