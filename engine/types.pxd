# SPDX-License-Identifier: Apache-2.0
# Public Cython API of engine.types: extern declarations of include/engine/{types,rc,clock,ring}.h.
# Layout changes bump engine.__abi__.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t

cdef extern from "engine/types.h" nogil:
    enum:
        ENG_VENUE_NONE
        ENG_VENUE_BINANCE_SPOT
        ENG_VENUE_BINANCE_USDM
        ENG_VENUE_BYBIT
        ENG_VENUE_OKX
        ENG_VENUE_BITGET
        ENG_VENUE_COUNT
        ENG_MAX_INSTRUMENTS
        ENG_SIDE_NONE
        ENG_SIDE_BUY
        ENG_SIDE_SELL
        ENG_ORD_LIMIT
        ENG_ORD_MARKET
        ENG_TIF_GTC
        ENG_TIF_IOC
        ENG_TIF_FOK
        ENG_TIF_POST_ONLY
        ENG_FLAG_REDUCE_ONLY
        ENG_INTENT_NEW
        ENG_INTENT_CANCEL
        ENG_INTENT_AMEND
        ENG_INTENT_CANCEL_ALL

    ctypedef struct eng_instrument:
        int32_t id
        int32_t venue
        int32_t px_exp
        int32_t sz_exp
        int64_t tick_px
        int64_t lot_sz
        int64_t min_sz
        double px_scale
        double sz_scale
        double contract_mult

    ctypedef struct eng_quote:
        int64_t bid_px
        int64_t bid_sz
        int64_t ask_px
        int64_t ask_sz
        int64_t update_id
        int64_t exch_ts_ns
        int64_t recv_ts_ns
        int32_t venue
        int32_t inst

    ctypedef struct eng_trade:
        int64_t px
        int64_t sz
        int64_t trade_id
        int64_t exch_ts_ns
        int64_t recv_ts_ns
        int32_t venue
        int32_t inst
        int32_t side

    ctypedef struct eng_level:
        int64_t px
        int64_t sz
        uint8_t px_dec
        uint8_t sz_dec

    ctypedef struct eng_depth:
        int64_t first_id
        int64_t last_id
        int64_t prev_id
        int64_t exch_ts_ns
        int64_t recv_ts_ns
        const eng_level* bids
        const eng_level* asks
        int32_t n_bids
        int32_t n_asks
        int32_t venue
        int32_t inst
        int32_t is_snapshot
        int32_t has_checksum
        int32_t checksum

    enum:
        ENG_EV_NONE
        ENG_EV_QUOTE
        ENG_EV_DEPTH
        ENG_EV_TRADE
        ENG_EV_MARK
        ENG_EV_TICKER
        ENG_TK_BID_PX
        ENG_TK_BID_SZ
        ENG_TK_ASK_PX
        ENG_TK_ASK_SZ
        ENG_TK_LAST_PX
        ENG_TK_MARK_PX
        ENG_TK_INDEX_PX
        ENG_TK_FUNDING
        ENG_TK_NEXT_FUNDING
        ENG_TK_OPEN_INTEREST

    ctypedef struct eng_mark:
        int64_t mark_px              # price units, rounded half-up to px_exp
        int64_t index_px             # price units, rounded half-up to px_exp
        int64_t next_funding_ms      # ms since the Unix epoch
        int64_t exch_ts_ns
        int64_t recv_ts_ns
        double funding_rate          # fraction per funding interval
        int32_t venue
        int32_t inst
        uint32_t mask                # ENG_TK_* bits present

    ctypedef struct eng_ticker:
        int64_t bid_px               # exact price units
        int64_t bid_sz
        int64_t ask_px
        int64_t ask_sz
        int64_t last_px
        int64_t mark_px              # rounded half-up to px_exp
        int64_t index_px
        int64_t next_funding_ms
        int64_t exch_ts_ns
        int64_t recv_ts_ns
        double funding_rate
        double open_interest
        uint32_t mask                # ENG_TK_* bits of the fields present in the frame
        int32_t venue
        int32_t inst
        int32_t is_snapshot

    ctypedef struct eng_fill:
        int64_t client_id
        int64_t px
        int64_t sz
        int64_t exch_ts_ns
        int64_t recv_ts_ns
        double fee
        int32_t venue
        int32_t inst
        int32_t side
        int32_t is_maker

    ctypedef struct eng_intent:
        int64_t px
        int64_t sz
        int64_t client_id
        int64_t target_id
        int64_t ts_ns
        int32_t kind
        int32_t venue
        int32_t inst
        int32_t side
        int32_t ord_type
        int32_t tif
        int32_t flags
        int32_t tag

cdef extern from "engine/rc.h" nogil:
    enum:
        ENG_OK
        ENG_ERR_DOMAIN
        ENG_ERR_CAPACITY
        ENG_ERR_RING_FULL
        ENG_ERR_NOMEM
        ENG_ERR_STRATEGY
        ENG_ERR_PARSE
        ENG_ERR_TRUNCATED
        ENG_ERR_TYPE
        ENG_ERR_MISSING
        ENG_ERR_NUMBER
        ENG_ERR_NEGATIVE
        ENG_ERR_PRECISION
        ENG_ERR_OVERFLOW
        ENG_ERR_OVERSIZE
        ENG_ERR_UNKNOWN_SYMBOL
        ENG_ERR_UNSUPPORTED
        ENG_ERR_GAP
        ENG_ERR_CHECKSUM
        ENG_ERR_CROSSED
        ENG_ERR_STALE_UPDATE
        ENG_ERR_NOT_SYNCED

cdef extern from "engine/clock.h" nogil:
    int64_t eng_now_ns()
    int64_t eng_wall_ns()

cdef extern from "engine/ring.h" nogil:
    enum:
        ENG_RING_CAP
    ctypedef struct eng_intent_ring:
        eng_intent items[64]
        uint32_t head
        uint32_t tail
    void eng_ring_clear(eng_intent_ring* r)
    uint32_t eng_ring_len(const eng_intent_ring* r)
    int eng_ring_push(eng_intent_ring* r, const eng_intent* it)
    int eng_ring_pop(eng_intent_ring* r, eng_intent* out)

    ctypedef struct eng_book_top:
        int64_t bid_px
        int64_t bid_sz
        int64_t ask_px
        int64_t ask_sz
        int64_t last_id
        int64_t update_ns
        int32_t valid
        int32_t inst

    ctypedef struct eng_position:
        int64_t sz
        int64_t open_orders
        int64_t open_buy_sz
        int64_t open_sell_sz
        double avg_px
        double realised_pnl
        double fees
        double funding

    enum:
        ENG_SIG_FUNDING_RATE
        ENG_SIG_MARK_PX
        ENG_SIG_INDEX_PX
        ENG_SIG_OPEN_INTEREST
        ENG_SIG_OI_CHANGE
        ENG_SIG_LARGE_TRADE
        ENG_SIG_EXTERNAL
        ENG_SIG_LIQUIDATION
        ENG_SIG_USER0
        ENG_MAX_SLOW_SIGNALS

    cdef struct eng_book

    ctypedef struct eng_ctx:
        eng_instrument ins[256]
        eng_book_top top[256]
        eng_position pos[256]
        eng_book* book[256]
        double slow[256][16]
        int64_t slow_ts_ns[256][16]
        double daily_pnl
        int32_t n_instruments
        int32_t kill

cdef extern from "engine/decimal.h" nogil:
    const int64_t ENG_POW10[19]
    int eng_parse_decimal(const char* s, size_t n, int32_t exp, int64_t* units_out, uint8_t* dec_out)
    int eng_format_decimal(int64_t units, int32_t exp, int32_t dec, char* out)
