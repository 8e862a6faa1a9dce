# SPDX-License-Identifier: Apache-2.0
# Public Cython API of engine.orders: compiled order encoders (intent -> request bytes, signed where
# the venue signs per request). Layout changes bump engine.__abi__.
cimport cython
from libc.stdint cimport int32_t, int64_t
from engine.types cimport eng_intent
from engine.signing cimport Signer

ctypedef struct eng_ord_inst:
    int32_t used                  # 1: registered with add_instrument
    int32_t px_exp                # instrument price exponent (units = value * 10^px_exp)
    int32_t sz_exp
    int32_t px_dec                # decimals printed for prices (decimals of the tick)
    int32_t sz_dec                # decimals printed for sizes (decimals of the lot)
    int32_t is_spot               # 1: spot product (no reduce-only; venue-specific market rules)
    int64_t tick_px               # price tick in price units (prices must be multiples)
    int64_t lot_sz                # size step in size units (sizes must be multiples)
    int32_t sym_len
    int32_t cat_len
    int32_t mc_len
    char sym[48]                  # venue symbol exactly as the venue spells it
    char cat[24]                  # Bybit category / OKX tdMode / Bitget productType
    char mc[16]                   # Bitget marginCoin (futures)

ctypedef struct eng_wbuf:
    char* p                       # output buffer (not owned)
    size_t n                      # bytes written
    size_t cap                    # capacity
    int err                       # 1: an append did not fit (result is ENG_ERR_CAPACITY)


@cython.final
cdef class OrderEncoder:
    cdef readonly int venue       # ENG_VENUE_*
    cdef readonly bint rest       # 1: REST bodies/queries, 0: WebSocket requests
    cdef readonly bint logged_on  # Binance WS: session.logon done -> requests carry no apiKey/signature
    cdef readonly int64_t recv_window   # ms; Binance/Bybit (0 = omit on Binance)
    cdef Signer signer
    cdef str _passphrase
    cdef char key[128]
    cdef int key_len
    cdef char tag[20]
    cdef int tag_len
    cdef eng_ord_inst* ins        # ENG_MAX_INSTRUMENTS entries, calloc'ed once
    cdef char* scratch            # signing payload buffer (ENG_ORD_SCRATCH bytes)
    cdef char sig[64]             # REST: signature of the last encoded request (hex or base64)
    cdef int sig_len
    cdef int64_t sig_ts_ms        # REST: timestamp used by the last encode
    cdef int last_kind

    cdef int encode(self, const eng_intent* it, int64_t ts_ms, char* out, size_t cap) noexcept nogil
    cdef void _coid(self, eng_wbuf* w, int64_t cid) noexcept nogil
    cdef void _reqid(self, eng_wbuf* w, int kind, int64_t cid) noexcept nogil
    cdef int _check(self, const eng_intent* it, const eng_ord_inst* e) noexcept nogil
    cdef int _binance(self, const eng_intent* it, const eng_ord_inst* e, int64_t ts_ms, eng_wbuf* w) noexcept nogil
    cdef int _bybit(self, const eng_intent* it, const eng_ord_inst* e, int64_t ts_ms, eng_wbuf* w) noexcept nogil
    cdef int _okx(self, const eng_intent* it, const eng_ord_inst* e, int64_t ts_ms, eng_wbuf* w) noexcept nogil
    cdef int _bitget(self, const eng_intent* it, const eng_ord_inst* e, int64_t ts_ms, eng_wbuf* w) noexcept nogil
    cdef int _bitget_ws(self, const eng_intent* it, const eng_ord_inst* e, eng_wbuf* w) noexcept nogil
    cdef int64_t _units(self, object v, int32_t exp) except? -1
