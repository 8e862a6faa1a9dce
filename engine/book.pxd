# SPDX-License-Identifier: Apache-2.0
# Public Cython API of engine.book — see docs/cython-api.md; layout changes bump engine.__abi__.
# L2 book on preallocated sorted arrays (include/engine/book.h): every function is static inline C,
# callable from nogil user code; Book wraps one eng_book for the shell and the pipeline.
cimport cython
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from engine.types cimport eng_level, eng_depth, eng_book_top, eng_instrument

cdef extern from "engine/book.h" nogil:
    enum:
        ENG_SYNC_NONE             # apply everything, no sequence checks
        ENG_SYNC_BINANCE_SPOT     # snapshot L; drop u <= L; first U <= L+1 <= u; then U == prev u + 1
        ENG_SYNC_BINANCE_USDM     # snapshot L; drop u < L; first U <= L <= u; then pu == prev u
        ENG_SYNC_BYBIT            # snapshot (or u == 1) resets; delta u == prev u + 1
        ENG_SYNC_OKX              # prevSeqId == prev seqId (seqId < prevSeqId = reset) + CRC32
        ENG_SYNC_BITGET           # CRC32 after every merge
        ENG_SYNC_COUNT
        ENG_BOOK_EMPTY            # no snapshot / invalidated: deltas -> ENG_ERR_NOT_SYNCED
        ENG_BOOK_FIRST            # snapshot applied, waiting for the bridging delta (Binance)
        ENG_BOOK_LIVE             # in sequence
        ENG_BOOK_CHECKSUM_LEVELS  # 25
        ENG_BOOK_CHECKSUM_BUF     # bytes needed by eng_book_checksum_string
        ENG_BOOK_MAX_CAP          # largest capacity per side
        ENG_BOOK_MAX_DEC          # largest decimals per field accepted

    ctypedef struct eng_book_lvl:
        int64_t key               # price units (bids) / negated price units (asks); ascending, best last
        int64_t sz                # size units, > 0
        uint8_t px_dec            # decimals as sent (checksum strings)
        uint8_t sz_dec

    ctypedef struct eng_book_side:
        eng_book_lvl* lv          # lv[0] worst .. lv[n-1] best
        int32_t n                 # levels in use
        int32_t cap               # fixed capacity

    ctypedef struct eng_book_cs_entry:
        int64_t key               # memo of one level's "px:sz:" checksum text
        int64_t sz
        uint8_t px_dec
        uint8_t sz_dec
        uint8_t len               # 0 = empty slot
        char text[120]

    cdef struct eng_book:
        eng_book_side bids
        eng_book_side asks
        eng_book_cs_entry* cs_memo  # OKX/Bitget checksum text memo (2 x 64 slots) or NULL
        eng_book_top* top         # maintained top (own_top unless bound, e.g. &ctx.top[inst])
        int64_t last_id           # last applied sequence id
        int64_t snap_id           # sequence id of the last snapshot
        uint64_t n_applied        # successful applies
        uint64_t n_dropped        # stale drops
        uint64_t n_errors         # applies that invalidated the book
        int32_t sync              # ENG_SYNC_*
        int32_t state             # ENG_BOOK_*
        int32_t inst              # dense instrument id
        int32_t px_exp            # price fixed point exponent
        int32_t sz_exp            # size fixed point exponent
        int32_t last_rc           # rc of the last apply
        int32_t last_checksum     # checksum computed at the last verified apply
        eng_book_top own_top

    uint32_t eng_crc32(uint32_t crc, const void* data, size_t n)
    int eng_book_init(eng_book* b, int32_t inst, int32_t px_exp, int32_t sz_exp, int32_t capacity,
                      int32_t sync, eng_book_top* top)
    void eng_book_free(eng_book* b)
    void eng_book_reset(eng_book* b)
    void eng_book_bind_top(eng_book* b, eng_book_top* top)
    int eng_book_apply(eng_book* b, const eng_depth* d, int64_t now_ns)
    int32_t eng_book_depth(const eng_book* b, int32_t side)
    int eng_book_level(const eng_book* b, int32_t side, int32_t i, int64_t* px, int64_t* sz)
    int eng_book_best_bid(const eng_book* b, int64_t* px, int64_t* sz)
    int eng_book_best_ask(const eng_book* b, int64_t* px, int64_t* sz)
    int32_t eng_book_copy_levels(const eng_book* b, int32_t side, int32_t n, eng_level* out)
    int64_t eng_book_size_at(const eng_book* b, int32_t side, int64_t px)     # 0 if no level
    int32_t eng_book_depth_to(const eng_book* b, int32_t side, int64_t px_limit, int64_t* sz_out)
    int eng_book_mid(const eng_book* b, double* out)                 # price units
    int eng_book_spread(const eng_book* b, int64_t* out)             # price units
    int eng_book_microprice(const eng_book* b, double* out)          # price units
    int eng_book_imbalance(const eng_book* b, int32_t n, double* out)  # [-1, 1]
    int eng_book_cost_to_trade(const eng_book* b, int32_t side, int64_t sz, double* vwap_px, int64_t* filled)
    size_t eng_book_checksum_string(const eng_book* b, char* buf)
    int32_t eng_book_checksum(const eng_book* b)


@cython.final
cdef class Book:
    cdef eng_book _book             # the C book (levels malloc'd once at init)
    cdef eng_book* ptr              # == &_book, for compiled code (pipeline, strategies)
    cdef readonly object inst       # engine.instruments.Instrument
    cdef readonly str sync_name     # "binance_spot" | "binance_usdm" | "bybit" | "okx" | "bitget" | "none"
    cdef eng_level* _scratch        # 2 * capacity levels for the Python apply() (lazy, cold path)
    cdef int32_t _capacity          # levels per side
    cdef void bind_top(self, eng_book_top* top) noexcept
    cdef int apply_depth(self, const eng_depth* d, int64_t now_ns) noexcept nogil
