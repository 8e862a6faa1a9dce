/* SPDX-License-Identifier: Apache-2.0
 * Core C types shared by every compiled module and by user strategies.
 * Layout changes here bump engine.__abi__ (see engine/__init__.py). */
#pragma once
#include <stdint.h>

/* ---- venues ------------------------------------------------------------ */
enum {
    ENG_VENUE_NONE = 0,
    ENG_VENUE_BINANCE_SPOT = 1,
    ENG_VENUE_BINANCE_USDM = 2,
    ENG_VENUE_BYBIT = 3,
    ENG_VENUE_OKX = 4,
    ENG_VENUE_BITGET = 5,
    ENG_VENUE_COUNT = 6
};

/* Instrument ids are small dense integers assigned by the runtime (0..ENG_MAX_INSTRUMENTS-1),
 * unique across venues within one process. */
#define ENG_MAX_INSTRUMENTS 256

/* ---- sides, order types ------------------------------------------------- */
enum { ENG_SIDE_NONE = 0, ENG_SIDE_BUY = 1, ENG_SIDE_SELL = -1 };
enum { ENG_ORD_LIMIT = 1, ENG_ORD_MARKET = 2 };
enum { ENG_TIF_GTC = 1, ENG_TIF_IOC = 2, ENG_TIF_FOK = 3, ENG_TIF_POST_ONLY = 4 };
enum { ENG_FLAG_REDUCE_ONLY = 1 };
enum { ENG_INTENT_NEW = 1, ENG_INTENT_CANCEL = 2, ENG_INTENT_AMEND = 3, ENG_INTENT_CANCEL_ALL = 4 };

/* ---- fixed point --------------------------------------------------------
 * Prices and sizes are int64 fixed point per instrument: value = units * 10^-exp, with
 * px_exp / sz_exp stored in eng_instrument. Exact, ordered, and cheap to compare. Derived
 * values (mid, notional, PnL) are doubles computed at the edge with px_scale / sz_scale. */
typedef struct eng_instrument {
    int32_t id;          /* dense instrument id */
    int32_t venue;       /* ENG_VENUE_* */
    int32_t px_exp;      /* decimals of the price fixed point (0..18) */
    int32_t sz_exp;      /* decimals of the size fixed point (0..18) */
    int64_t tick_px;     /* price tick in price units (>= 1) */
    int64_t lot_sz;      /* size step in size units (>= 1) */
    int64_t min_sz;      /* minimum order size in size units */
    double px_scale;     /* 10^-px_exp */
    double sz_scale;     /* 10^-sz_exp */
    double contract_mult;/* quote value of 1.0 size at price 1.0 (1.0 for spot/linear) */
} eng_instrument;

/* ---- market events ------------------------------------------------------ */
typedef struct eng_quote {          /* best bid/ask */
    int64_t bid_px, bid_sz;         /* price / size units */
    int64_t ask_px, ask_sz;
    int64_t update_id;              /* venue update id or 0 */
    int64_t exch_ts_ns;             /* venue event time, ns since the Unix epoch; 0 if absent */
    int64_t recv_ts_ns;             /* CLOCK_MONOTONIC ns when the frame was read */
    int32_t venue, inst;
} eng_quote;

typedef struct eng_trade {          /* public trade */
    int64_t px, sz;                 /* price / size units */
    int64_t trade_id;               /* venue trade id (numeric) or 0 */
    int64_t exch_ts_ns, recv_ts_ns;
    int32_t venue, inst;
    int32_t side;                   /* aggressor: ENG_SIDE_BUY / ENG_SIDE_SELL / ENG_SIDE_NONE */
    int32_t _pad;
} eng_trade;

typedef struct eng_level {          /* one price level as decoded */
    int64_t px, sz;                 /* units; sz == 0 deletes the level */
    uint8_t px_dec, sz_dec;         /* decimals exactly as the venue sent them (checksums) */
    uint8_t _pad[6];
} eng_level;

typedef struct eng_depth {          /* a decoded L2 message; levels live in decoder buffers */
    int64_t first_id;               /* Binance U; Bybit/OKX/Bitget: same as last_id */
    int64_t last_id;                /* Binance u; Bybit u; OKX seqId; Bitget seq (0 if absent) */
    int64_t prev_id;                /* Binance futures pu; OKX prevSeqId; -1 if absent */
    int64_t exch_ts_ns, recv_ts_ns;
    const eng_level* bids;          /* n_bids levels, venue order */
    const eng_level* asks;
    int32_t n_bids, n_asks;
    int32_t venue, inst;
    int32_t is_snapshot;            /* 1: replace the whole book */
    int32_t has_checksum;           /* 1: checksum holds the venue's CRC32 (signed) */
    int32_t checksum;
    int32_t _pad;
} eng_depth;

/* ---- decoded event kinds (engine.codec return values > 0) ---------------- */
enum {
    ENG_EV_NONE = 0,
    ENG_EV_QUOTE = 1,               /* eng_quote: best bid/ask (Binance bookTicker) */
    ENG_EV_DEPTH = 2,               /* eng_depth: L2 snapshot or diff */
    ENG_EV_TRADE = 3,               /* eng_trade(s): public trades */
    ENG_EV_MARK = 4,                /* eng_mark: mark/index price, funding */
    ENG_EV_TICKER = 5               /* eng_ticker: 24h ticker, only the fields in .mask are set */
};

/* eng_mark.mask / eng_ticker.mask bits: which fields the frame carried */
enum {
    ENG_TK_BID_PX = 1, ENG_TK_BID_SZ = 2, ENG_TK_ASK_PX = 4, ENG_TK_ASK_SZ = 8,
    ENG_TK_LAST_PX = 16, ENG_TK_MARK_PX = 32, ENG_TK_INDEX_PX = 64, ENG_TK_FUNDING = 128,
    ENG_TK_NEXT_FUNDING = 256, ENG_TK_OPEN_INTEREST = 512
};

typedef struct eng_mark {           /* mark price / funding (Binance markPriceUpdate, OKX funding-rate, mark-price) */
    int64_t mark_px, index_px;      /* price units, rounded half-up to px_exp (venues send more decimals) */
    int64_t next_funding_ms;        /* next funding time, ms since the Unix epoch */
    int64_t exch_ts_ns, recv_ts_ns;
    double funding_rate;            /* fraction per funding interval */
    int32_t venue, inst;
    uint32_t mask;                  /* ENG_TK_MARK_PX | ENG_TK_INDEX_PX | ENG_TK_FUNDING | ENG_TK_NEXT_FUNDING */
    int32_t _pad;
} eng_mark;

typedef struct eng_ticker {         /* Bybit tickers (deltas carry only changed fields), OKX tickers, Bitget ticker */
    int64_t bid_px, bid_sz, ask_px, ask_sz;   /* exact units */
    int64_t last_px;                /* exact units */
    int64_t mark_px, index_px;      /* price units, rounded half-up to px_exp */
    int64_t next_funding_ms;
    int64_t exch_ts_ns, recv_ts_ns;
    double funding_rate;
    double open_interest;           /* contracts / coins */
    uint32_t mask;                  /* ENG_TK_* bits of the fields present in this frame */
    int32_t venue, inst;
    int32_t is_snapshot;            /* 1: all fields the venue knows are present */
} eng_ticker;

typedef struct eng_fill {           /* our own execution */
    int64_t client_id;              /* engine client order id */
    int64_t px, sz;                 /* units */
    int64_t exch_ts_ns, recv_ts_ns;
    double fee;                     /* in quote currency; negative = rebate */
    int32_t venue, inst, side, is_maker;
} eng_fill;

/* ---- order intents (strategy -> dispatcher) ----------------------------- */
typedef struct eng_intent {
    int64_t px, sz;                 /* units; px ignored for market orders */
    int64_t client_id;              /* assigned by Strategy when emitted; unique per process run */
    int64_t target_id;              /* CANCEL/AMEND: client_id of the order acted on */
    int64_t ts_ns;                  /* CLOCK_MONOTONIC ns at emit */
    int32_t kind;                   /* ENG_INTENT_* */
    int32_t venue, inst;
    int32_t side;                   /* ENG_SIDE_BUY / ENG_SIDE_SELL */
    int32_t ord_type;               /* ENG_ORD_* */
    int32_t tif;                    /* ENG_TIF_* */
    int32_t flags;                  /* ENG_FLAG_* */
    int32_t tag;                    /* free for the strategy */
} eng_intent;

/* ---- shared engine state (read by strategies and the risk gate, nogil) ----
 * One eng_ctx per process, owned by the runtime (engine.strategy.Context). The shell writes
 * it between batches (books after each apply, positions after fills, slow signals from
 * background tasks); hooks and the risk gate only read it. */
typedef struct eng_book_top {       /* maintained by the book on every successful apply */
    int64_t bid_px, bid_sz;         /* 0/0 when the side is empty */
    int64_t ask_px, ask_sz;
    int64_t last_id;                /* last applied venue sequence id */
    int64_t update_ns;              /* CLOCK_MONOTONIC ns of the last successful apply */
    int32_t valid;                  /* 1: synced and verified; 0: unsynced / gap / bad checksum */
    int32_t inst;
} eng_book_top;

typedef struct eng_position {       /* net position per instrument, updated from fills */
    int64_t sz;                     /* signed size units (+ long, - short) */
    int64_t open_orders;            /* live orders on the venue (incl. pending-new) */
    int64_t open_buy_sz;            /* size units of live buy orders */
    int64_t open_sell_sz;           /* size units of live sell orders */
    double avg_px;                  /* average entry price (real units, not ticks) */
    double realised_pnl;            /* quote currency, after fees */
    double fees;                    /* quote currency paid (negative = rebates) */
    double funding;                 /* quote currency received (+) or paid (-) */
} eng_position;

/* Slow signals: slot indices into eng_ctx.slow[inst][*]. Values are doubles in natural units;
 * slow_ts_ns says when each was written (CLOCK_MONOTONIC), 0 = never. */
enum {
    ENG_SIG_FUNDING_RATE = 0,       /* current/predicted funding rate (fraction per interval) */
    ENG_SIG_MARK_PX = 1,            /* mark price (real units) */
    ENG_SIG_INDEX_PX = 2,
    ENG_SIG_OPEN_INTEREST = 3,      /* contracts/coins */
    ENG_SIG_OI_CHANGE = 4,          /* relative change of OI over the last interval */
    ENG_SIG_LARGE_TRADE = 5,        /* signed notional of the last large trade */
    ENG_SIG_EXTERNAL = 6,           /* external score, -1..1 */
    ENG_SIG_LIQUIDATION = 7,        /* signed quote notional of the last liquidation: + shorts liquidated
                                     * (forced buy), - longs liquidated (forced sell) */
    ENG_SIG_USER0 = 8,              /* 8..15 free for users */
    ENG_MAX_SLOW_SIGNALS = 16
};

struct eng_book;                    /* include/engine/book.h */

typedef struct eng_ctx {
    eng_instrument ins[ENG_MAX_INSTRUMENTS];
    eng_book_top top[ENG_MAX_INSTRUMENTS];
    eng_position pos[ENG_MAX_INSTRUMENTS];
    struct eng_book* book[ENG_MAX_INSTRUMENTS];   /* full L2 book or NULL (top-only instrument) */
    double slow[ENG_MAX_INSTRUMENTS][ENG_MAX_SLOW_SIGNALS];
    int64_t slow_ts_ns[ENG_MAX_INSTRUMENTS][ENG_MAX_SLOW_SIGNALS];
    double daily_pnl;               /* realised + unrealised since the trading day began */
    int32_t n_instruments;
    int32_t kill;                   /* 1: kill switch engaged, no new orders */
} eng_ctx;
