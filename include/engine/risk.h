/* SPDX-License-Identifier: Apache-2.0
 * Pre-trade risk gate: O(1), allocation-free, callable from nogil code (the pipeline and user
 * strategies). eng_risk_check() reads the shared eng_ctx (book tops, positions, daily PnL, kill
 * switch) and the gate's own limits; an accepted NEW order reserves an order-rate token and is
 * counted as open (global counter here, per-instrument open size in ctx->pos) so a burst within one
 * batch sees its own earlier orders. The router overwrites both with the venue's truth later. */
#pragma once
#include <stdint.h>
#include <math.h>
#include "engine/types.h"

/* Reject reasons (> 0). engine.risk.reason_name() names them; keep in step with REASONS there. */
enum {
    ENG_RISK_OK = 0,
    ENG_RISK_SIZE = 1,          /* order size above max_order_sz */
    ENG_RISK_NOTIONAL = 2,      /* price * size (quote) above max_notional */
    ENG_RISK_POSITION = 3,      /* |position + open same-side + order| above max_position */
    ENG_RISK_BAND = 4,          /* limit price further than band_bps from mid */
    ENG_RISK_OPEN_ORDERS = 5,   /* global open orders at max_open_orders */
    ENG_RISK_RATE = 6,          /* order-rate token bucket empty */
    ENG_RISK_LOSS = 7,          /* ctx->daily_pnl at or below -max_daily_loss */
    ENG_RISK_STALE_BOOK = 8,    /* book invalid (unsynced/gap/checksum) or older than max_book_age_ns */
    ENG_RISK_KILL = 9,          /* kill switch engaged (ctx->kill or the gate's own) */
    ENG_RISK_BAD_INTENT = 10,   /* malformed: unknown kind/side/type, size <= 0, price <= 0, lot/tick */
    ENG_RISK_NO_LIMITS = 11,    /* instrument has no limits configured: fail closed */
    ENG_RISK_COUNT = 12
};

#define ENG_RISK_UNLIMITED INT64_MAX

typedef struct eng_risk_limits {    /* per instrument; INT64_MAX / INFINITY = no limit */
    int64_t max_order_sz;           /* size units per order */
    int64_t max_position;           /* size units, absolute, open same-side orders included */
    int64_t max_book_age_ns;        /* reject when now - top.update_ns exceeds this */
    double max_notional;            /* quote currency per order */
    double band_bps;                /* max |px - mid| / mid in basis points */
    int32_t configured;             /* 0: every non-cancel intent rejected with ENG_RISK_NO_LIMITS */
    int32_t check_steps;            /* 1: size must be a multiple of lot_sz, price of tick_px */
} eng_risk_limits;

typedef struct eng_risk {
    eng_risk_limits lim[ENG_MAX_INSTRUMENTS];
    int64_t max_open_orders;        /* global, all instruments */
    int64_t open_orders;            /* global count: + on accepted NEW, set by the router */
    double rate_per_s;              /* token refill rate; INFINITY = no rate limit */
    double burst;                   /* bucket size (tokens) */
    double tokens;                  /* current tokens */
    int64_t last_refill_ns;         /* CLOCK_MONOTONIC of the last refill, 0 = never */
    double max_daily_loss;          /* quote currency, > 0; INFINITY = none */
    int32_t kill;                   /* gate-local kill switch (ctx->kill is the shared one) */
    int32_t _pad;
    uint64_t passed;                /* intents accepted */
    uint64_t rejects[ENG_RISK_COUNT];   /* per reason; [0] unused */
} eng_risk;

static inline void eng_risk_limits_unlimited(eng_risk_limits* l) {
    l->max_order_sz = ENG_RISK_UNLIMITED;
    l->max_position = ENG_RISK_UNLIMITED;
    l->max_book_age_ns = ENG_RISK_UNLIMITED;
    l->max_notional = INFINITY;
    l->band_bps = INFINITY;
    l->configured = 0;
    l->check_steps = 1;
}

static inline void eng_risk_init(eng_risk* r) {
    for (int i = 0; i < ENG_MAX_INSTRUMENTS; i++) eng_risk_limits_unlimited(&r->lim[i]);
    r->max_open_orders = ENG_RISK_UNLIMITED;
    r->open_orders = 0;
    r->rate_per_s = INFINITY;
    r->burst = INFINITY;
    r->tokens = INFINITY;
    r->last_refill_ns = 0;
    r->max_daily_loss = INFINITY;
    r->kill = 0;
    r->passed = 0;
    for (int i = 0; i < ENG_RISK_COUNT; i++) r->rejects[i] = 0;
}

static inline int eng_risk_reject(eng_risk* r, int reason) {
    r->rejects[reason]++;
    return reason;
}

static inline void eng_risk_refill(eng_risk* r, int64_t now_ns) {
    if (r->rate_per_s == INFINITY) return;
    if (r->last_refill_ns == 0 || now_ns < r->last_refill_ns) {   /* first use or clock reset */
        r->last_refill_ns = now_ns;
        return;
    }
    double add = (double)(now_ns - r->last_refill_ns) * 1e-9 * r->rate_per_s;
    r->last_refill_ns = now_ns;
    r->tokens += add;
    if (r->tokens > r->burst) r->tokens = r->burst;
}

/* Returns ENG_RISK_OK (0) or a reason > 0. O(1): reads ctx->ins/top/pos/daily_pnl/kill of one
 * instrument. On OK for NEW: takes a token, counts the order as open (r->open_orders and the
 * instrument's ctx->pos open_orders/open_*_sz). On OK for AMEND: takes a token. Cancels pass
 * unless malformed (they must always be able to reduce risk). */
static inline int eng_risk_check(eng_risk* r, eng_ctx* ctx, const eng_intent* it, int64_t now_ns) {
    int32_t inst = it->inst;
    if (inst < 0 || inst >= ENG_MAX_INSTRUMENTS || inst >= ctx->n_instruments ||
        ctx->ins[inst].venue == ENG_VENUE_NONE)
        return eng_risk_reject(r, ENG_RISK_BAD_INTENT);
    if (it->kind == ENG_INTENT_CANCEL) {
        if (it->target_id <= 0) return eng_risk_reject(r, ENG_RISK_BAD_INTENT);
        r->passed++;
        return ENG_RISK_OK;
    }
    if (it->kind == ENG_INTENT_CANCEL_ALL) { r->passed++; return ENG_RISK_OK; }
    if (it->kind != ENG_INTENT_NEW && it->kind != ENG_INTENT_AMEND)
        return eng_risk_reject(r, ENG_RISK_BAD_INTENT);
    if (it->kind == ENG_INTENT_AMEND && it->target_id <= 0)
        return eng_risk_reject(r, ENG_RISK_BAD_INTENT);

    const eng_instrument* ins = &ctx->ins[inst];
    const eng_risk_limits* lim = &r->lim[inst];
    int is_market = it->ord_type == ENG_ORD_MARKET;
    if (it->side != ENG_SIDE_BUY && it->side != ENG_SIDE_SELL) return eng_risk_reject(r, ENG_RISK_BAD_INTENT);
    if (it->ord_type != ENG_ORD_LIMIT && !is_market) return eng_risk_reject(r, ENG_RISK_BAD_INTENT);
    if (it->tif < ENG_TIF_GTC || it->tif > ENG_TIF_POST_ONLY) return eng_risk_reject(r, ENG_RISK_BAD_INTENT);
    if (it->sz <= 0 || (!is_market && it->px <= 0)) return eng_risk_reject(r, ENG_RISK_BAD_INTENT);
    if (lim->check_steps) {
        if (ins->lot_sz > 1 && it->sz % ins->lot_sz != 0) return eng_risk_reject(r, ENG_RISK_BAD_INTENT);
        if (!is_market && ins->tick_px > 1 && it->px % ins->tick_px != 0)
            return eng_risk_reject(r, ENG_RISK_BAD_INTENT);
    }

    if (ctx->kill || r->kill) return eng_risk_reject(r, ENG_RISK_KILL);
    if (!lim->configured) return eng_risk_reject(r, ENG_RISK_NO_LIMITS);

    const eng_position* pos = &ctx->pos[inst];
    int reduce_only = (it->flags & ENG_FLAG_REDUCE_ONLY) != 0;
    /* A reduce-only order that really reduces the position stays allowed after the loss limit. */
    int reducing = reduce_only &&
        ((it->side == ENG_SIDE_SELL && pos->sz > 0 && it->sz <= pos->sz) ||
         (it->side == ENG_SIDE_BUY && pos->sz < 0 && it->sz <= -pos->sz));
    if (ctx->daily_pnl <= -r->max_daily_loss && !reducing) return eng_risk_reject(r, ENG_RISK_LOSS);

    const eng_book_top* top = &ctx->top[inst];
    if (!top->valid) return eng_risk_reject(r, ENG_RISK_STALE_BOOK);
    if (lim->max_book_age_ns != ENG_RISK_UNLIMITED && now_ns - top->update_ns > lim->max_book_age_ns)
        return eng_risk_reject(r, ENG_RISK_STALE_BOOK);

    if (it->sz > lim->max_order_sz) return eng_risk_reject(r, ENG_RISK_SIZE);

    /* reference price: the limit price, or for a market order the side it would take */
    int64_t ref_px = is_market ? (it->side == ENG_SIDE_BUY ? top->ask_px : top->bid_px) : it->px;
    if (is_market && ref_px <= 0) return eng_risk_reject(r, ENG_RISK_STALE_BOOK);  /* empty side */
    double notional = (double)ref_px * ins->px_scale * (double)it->sz * ins->sz_scale * ins->contract_mult;
    if (!(notional <= lim->max_notional)) return eng_risk_reject(r, ENG_RISK_NOTIONAL);

    if (!is_market && lim->band_bps != INFINITY) {
        if (top->bid_px <= 0 || top->ask_px <= 0) return eng_risk_reject(r, ENG_RISK_STALE_BOOK);
        double mid2 = (double)top->bid_px + (double)top->ask_px;       /* 2 * mid, price units */
        /* |px - mid| / mid * 1e4 > band_bps, without the division */
        if (fabs(2.0 * (double)it->px - mid2) * 1e4 > lim->band_bps * mid2)
            return eng_risk_reject(r, ENG_RISK_BAND);
    }

    if (!reducing && lim->max_position != ENG_RISK_UNLIMITED) {
        /* worst case: every open order on this side fills, then this one */
        __int128 proj = it->side == ENG_SIDE_BUY
            ? (__int128)pos->sz + pos->open_buy_sz + it->sz
            : (__int128)pos->sz - pos->open_sell_sz - it->sz;
        if (proj < 0) proj = -proj;
        if (proj > lim->max_position) return eng_risk_reject(r, ENG_RISK_POSITION);
    }

    if (it->kind == ENG_INTENT_NEW && r->open_orders >= r->max_open_orders)
        return eng_risk_reject(r, ENG_RISK_OPEN_ORDERS);

    eng_risk_refill(r, now_ns);
    if (r->rate_per_s != INFINITY) {
        if (r->tokens < 1.0) return eng_risk_reject(r, ENG_RISK_RATE);
        r->tokens -= 1.0;
    }

    if (it->kind == ENG_INTENT_NEW) {
        eng_position* wpos = &ctx->pos[inst];
        r->open_orders++;
        wpos->open_orders++;
        if (it->side == ENG_SIDE_BUY) wpos->open_buy_sz += it->sz;
        else wpos->open_sell_sz += it->sz;
    }
    r->passed++;
    return ENG_RISK_OK;
}

/* Undo the reservation of an accepted NEW intent that was not sent after all (encode error, no
 * capacity, transport down): the open-order counters go back; the rate token is not refunded. */
static inline void eng_risk_release(eng_risk* r, eng_ctx* ctx, const eng_intent* it) {
    if (it->kind != ENG_INTENT_NEW || it->inst < 0 || it->inst >= ENG_MAX_INSTRUMENTS) return;
    eng_position* p = &ctx->pos[it->inst];
    if (r->open_orders > 0) r->open_orders--;
    if (p->open_orders > 0) p->open_orders--;
    if (it->side == ENG_SIDE_BUY) p->open_buy_sz = p->open_buy_sz > it->sz ? p->open_buy_sz - it->sz : 0;
    else p->open_sell_sz = p->open_sell_sz > it->sz ? p->open_sell_sz - it->sz : 0;
}
