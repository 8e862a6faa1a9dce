# SPDX-License-Identifier: Apache-2.0
# Public Cython API of engine.codec: venue frame bytes -> C event structs (include/engine/codec.h).
# Layout changes bump engine.__abi__.
cimport cython
from libc.stdint cimport int32_t, int64_t, uint8_t
from engine.types cimport eng_quote, eng_depth, eng_trade, eng_mark, eng_ticker, eng_level

cdef extern from "engine/codec.h" nogil:
    enum:
        ENG_CODEC_MAX_SYM
        ENG_CODEC_MAX_FRAME
        ENG_CODEC_MAX_LEVELS
        ENG_CODEC_MAX_TRADES
        ENG_SYMCLS_ANY
        ENG_SYMCLS_SPOT
        ENG_SYMCLS_FUT

    ctypedef struct eng_codec:
        int32_t venue
        int32_t max_levels              # levels per side per frame
        int32_t max_trades              # trades per frame
        int32_t n_syms
        size_t max_frame                # bytes
        eng_level* bids
        eng_level* asks
        eng_trade* trades
        int32_t n_trades
        eng_quote* quote
        eng_depth* depth
        eng_trade* trade
        eng_mark* mark
        eng_ticker* ticker
        const char* err

    int eng_codec_init(eng_codec* c, int32_t venue, int32_t max_levels, int32_t max_trades, size_t max_frame)
    void eng_codec_free(eng_codec* c)
    int eng_sym_add(eng_codec* c, uint8_t cls, const char* s, size_t n, int32_t inst, int32_t px_exp, int32_t sz_exp)
    int eng_codec_decode(eng_codec* c, const char* buf, size_t n, int64_t recv_ns)


@cython.final
cdef class Decoder:
    cdef eng_codec* _c
    cdef readonly int venue
    cdef eng_quote quote            # valid after decode() returned ENG_EV_QUOTE, until the next call
    cdef eng_depth depth            # ENG_EV_DEPTH; bids/asks point into decoder buffers (next call overwrites)
    cdef eng_trade trade            # ENG_EV_TRADE: the first trade of the frame
    cdef const eng_trade* trades    # ENG_EV_TRADE: n_trades trades in venue order (decoder buffer)
    cdef int32_t n_trades
    cdef eng_mark mark              # ENG_EV_MARK
    cdef eng_ticker ticker          # ENG_EV_TICKER (only fields in ticker.mask are set)
    cdef const char* error_reason   # static string naming the failing field after rc < 0
    cdef int _last_rc

    cdef int decode(self, const char* buf, size_t n, int64_t recv_ns) noexcept nogil
