# SPDX-License-Identifier: Apache-2.0
# engine.codec: decoders from raw venue WebSocket frames straight into the C event structs of
# include/engine/types.h (nogil, no Python object per message). Logic lives in include/engine/codec.h.
cimport cython
from libc.stdint cimport int32_t, int64_t, uint8_t
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_RawMalloc, PyMem_RawFree

from engine.types cimport *
from engine.codec cimport *

from engine.errors import rc_name
from engine.instruments import Instrument, Venue

#: event kinds returned by Decoder.decode (> 0)
EV_QUOTE = ENG_EV_QUOTE
EV_DEPTH = ENG_EV_DEPTH
EV_TRADE = ENG_EV_TRADE
EV_MARK = ENG_EV_MARK
EV_TICKER = ENG_EV_TICKER

#: ticker / mark field mask bits
TK_BID_PX = ENG_TK_BID_PX
TK_BID_SZ = ENG_TK_BID_SZ
TK_ASK_PX = ENG_TK_ASK_PX
TK_ASK_SZ = ENG_TK_ASK_SZ
TK_LAST_PX = ENG_TK_LAST_PX
TK_MARK_PX = ENG_TK_MARK_PX
TK_INDEX_PX = ENG_TK_INDEX_PX
TK_FUNDING = ENG_TK_FUNDING
TK_NEXT_FUNDING = ENG_TK_NEXT_FUNDING
TK_OPEN_INTEREST = ENG_TK_OPEN_INTEREST

MAX_FRAME = ENG_CODEC_MAX_FRAME
MAX_LEVELS = ENG_CODEC_MAX_LEVELS
MAX_TRADES = ENG_CODEC_MAX_TRADES

_TICKER_FIELDS = (
    (ENG_TK_BID_PX, "bid_px"), (ENG_TK_BID_SZ, "bid_sz"), (ENG_TK_ASK_PX, "ask_px"),
    (ENG_TK_ASK_SZ, "ask_sz"), (ENG_TK_LAST_PX, "last_px"), (ENG_TK_MARK_PX, "mark_px"),
    (ENG_TK_INDEX_PX, "index_px"), (ENG_TK_FUNDING, "funding_rate"),
    (ENG_TK_NEXT_FUNDING, "next_funding_ms"), (ENG_TK_OPEN_INTEREST, "open_interest"),
)


cdef list _levels(const eng_level* lv, int32_t n):
    return [(lv[i].px, lv[i].sz, lv[i].px_dec, lv[i].sz_dec) for i in range(n)]


cdef dict _trade_dict(const eng_trade* t):
    return {"inst": t.inst, "venue": t.venue, "px": t.px, "sz": t.sz, "side": t.side,
            "trade_id": t.trade_id, "exch_ts_ns": t.exch_ts_ns, "recv_ts_ns": t.recv_ts_ns}


@cython.final
cdef class Decoder:
    """Frame decoder for one venue.

    Parameters
    ----------
    venue : int
        ``engine.instruments.Venue`` value (ENG_VENUE_*).
    max_levels : int
        Levels per side a depth frame may carry (more -> ``ENG_ERR_OVERSIZE``).
    max_trades : int
        Trades one frame may carry (more -> ``ENG_ERR_OVERSIZE``).
    max_frame : int
        Largest frame in bytes (larger -> ``ENG_ERR_OVERSIZE``).

    Notes
    -----
    Compiled code calls ``decode()`` (nogil) and reads ``quote`` / ``depth`` / ``trade`` +
    ``trades[:n_trades]`` / ``mark`` / ``ticker`` according to the returned kind. The structs
    and level buffers are valid only until the next ``decode()`` call. ``ENG_ERR_UNSUPPORTED``
    means the frame is not a hot shape (acks, pongs, private channels): parse it with orjson.

    Shapes and field mapping (keys may come in any order; duplicate keys are ENG_ERR_PARSE):

    * Binance spot/USD-M, raw ``/ws`` or combined ``{"stream","data"}``: ``bookTicker`` ->
      QUOTE (update_id=u, exch_ts=E, else T, else 0); ``depthUpdate`` -> DEPTH (first_id=U,
      last_id=u, prev_id=pu or -1); ``trade``/``aggTrade`` -> TRADE (id t / a, side from m:
      buyer-is-maker = SELL aggressor, ts=T); ``markPriceUpdate`` -> MARK (p, i rounded half-up
      to px_exp; r; next funding T).
    * Bybit v5: ``orderbook.N.SYM`` -> DEPTH (first_id=last_id=u, prev_id=-1, is_snapshot from
      type, ts); ``tickers.SYM`` -> TICKER with ``mask`` of the fields present (deltas);
      ``publicTrade.SYM`` -> TRADE, every trade in ``trades[:n_trades]`` (UUID ids -> 0).
    * OKX v5: ``books``/``books-l2-tbt``/``books50-l2-tbt`` (checksum) and ``books5``/``bbo-tbt``
      (always snapshots) -> DEPTH (last_id=first_id=seqId, prev_id=prevSeqId; both -1 when the
      frame has no seqId); ``tickers`` -> TICKER (empty "" sides are absent from the mask);
      ``trades``/``trades-all`` -> TRADE; ``funding-rate`` / ``mark-price`` -> MARK.
    * Bitget v2 and legacy v1 (instType SP/MC): ``books`` (checksum), ``books1/5/15`` -> DEPTH
      (last_id=seq or 0); ``ticker`` -> TICKER; ``trade`` -> TRADE (v1 array rows too). Spot and
      futures instIds are told apart by instType (see ``add_instrument``).
    """

    def __cinit__(self, int venue, int max_levels=ENG_CODEC_MAX_LEVELS, int max_trades=ENG_CODEC_MAX_TRADES,
                  size_t max_frame=ENG_CODEC_MAX_FRAME):
        self._c = NULL
        if venue < ENG_VENUE_BINANCE_SPOT or venue >= ENG_VENUE_COUNT:
            raise ValueError(f"unknown venue {venue}")
        if max_levels < 1 or max_trades < 1 or max_frame < 2:
            raise ValueError("max_levels, max_trades and max_frame must be positive")
        self._c = <eng_codec*>PyMem_RawMalloc(sizeof(eng_codec))
        if self._c == NULL:
            raise MemoryError("Decoder state")
        if eng_codec_init(self._c, venue, max_levels, max_trades, max_frame) != ENG_OK:
            eng_codec_free(self._c)
            raise MemoryError("Decoder buffers")
        self.venue = venue
        self._c.quote = &self.quote
        self._c.depth = &self.depth
        self._c.trade = &self.trade
        self._c.mark = &self.mark
        self._c.ticker = &self.ticker
        self.trades = self._c.trades
        self.n_trades = 0
        self.error_reason = b""
        self._last_rc = 0

    def __dealloc__(self):
        if self._c != NULL:
            eng_codec_free(self._c)
            PyMem_RawFree(self._c)
            self._c = NULL

    def add_instrument(self, inst: Instrument) -> None:
        """Register ``inst`` (its ``symbol`` exactly as the venue spells it).

        Binance symbols are also registered upper-cased (stream names are lower case, the payload's
        ``s`` is upper case). Bitget spot and futures may share an instId: ``inst.category``
        ("spot"/"SPOT"/"SP" vs anything else) selects the class; an empty category registers both.

        Raises
        ------
        ValueError
            Wrong venue, symbol too long / not ASCII, or the symbol is already mapped to another id.
        """
        if int(inst.venue) != self.venue:
            raise ValueError(f"{inst.symbol}: instrument venue {int(inst.venue)} != decoder venue {self.venue}")
        sym = inst.symbol
        if not sym or not sym.isascii() or len(sym) > ENG_CODEC_MAX_SYM:
            raise ValueError(f"{sym!r}: symbol must be 1..{ENG_CODEC_MAX_SYM} ASCII characters")
        names = [sym]
        if self.venue in (ENG_VENUE_BINANCE_SPOT, ENG_VENUE_BINANCE_USDM) and sym.upper() != sym:
            names.append(sym.upper())
        classes = [ENG_SYMCLS_ANY]
        if self.venue == ENG_VENUE_BITGET:
            cat = inst.category.strip().lower()
            if cat in ("spot", "sp"):
                classes = [ENG_SYMCLS_SPOT]
            elif cat:
                classes = [ENG_SYMCLS_FUT]
            else:
                classes = [ENG_SYMCLS_SPOT, ENG_SYMCLS_FUT]
        cdef bytes b
        cdef int rc
        for name in names:
            b = name.encode("ascii")
            for cls in classes:
                rc = eng_sym_add(self._c, <uint8_t>cls, PyBytes_AS_STRING(b), <size_t>PyBytes_GET_SIZE(b),
                                 inst.id, inst.px_exp, inst.sz_exp)
                if rc == ENG_ERR_CAPACITY:
                    raise ValueError("decoder symbol table is full")
                if rc != ENG_OK:
                    raise ValueError(f"{name}: already registered with another instrument id")

    cdef int decode(self, const char* buf, size_t n, int64_t recv_ns) noexcept nogil:
        """Decode one frame. Returns ENG_EV_* > 0 or ENG_ERR_* < 0 (reason in error_reason).
        ``buf`` need not be NUL-terminated; it is only read during the call."""
        cdef int rc = eng_codec_decode(self._c, buf, n, recv_ns)
        self.n_trades = self._c.n_trades if rc == ENG_EV_TRADE else 0
        self.error_reason = self._c.err
        self._last_rc = rc
        return rc

    @property
    def last_error(self) -> str:
        """``"ENG_ERR_X: reason"`` of the last failed decode, or "" after a success."""
        if self._last_rc >= 0:
            return ""
        return f"{rc_name(self._last_rc)}: {self.error_reason.decode('ascii', 'replace')}"

    def decode_py(self, data: bytes, recv_ns: int = 0) -> tuple:
        """Decode ``data`` and return ``(kind, dict)`` or ``(rc, None)`` (see ``last_error``).

        For tests and tools; the dict is a copy of the C struct of that kind (depth levels as
        ``(px_units, sz_units, px_dec, sz_dec)`` tuples, trades as a list of dicts).
        """
        cdef const char* p = PyBytes_AS_STRING(data)
        cdef size_t n = <size_t>PyBytes_GET_SIZE(data)
        cdef int64_t rns = recv_ns
        cdef int rc
        with nogil:
            rc = self.decode(p, n, rns)
        if rc < 0:
            return rc, None
        if rc == ENG_EV_QUOTE:
            q = &self.quote
            return rc, {"inst": q.inst, "venue": q.venue, "bid_px": q.bid_px, "bid_sz": q.bid_sz,
                        "ask_px": q.ask_px, "ask_sz": q.ask_sz, "update_id": q.update_id,
                        "exch_ts_ns": q.exch_ts_ns, "recv_ts_ns": q.recv_ts_ns}
        if rc == ENG_EV_DEPTH:
            d = &self.depth
            return rc, {"inst": d.inst, "venue": d.venue, "first_id": d.first_id, "last_id": d.last_id,
                        "prev_id": d.prev_id, "is_snapshot": d.is_snapshot,
                        "has_checksum": d.has_checksum, "checksum": d.checksum,
                        "exch_ts_ns": d.exch_ts_ns, "recv_ts_ns": d.recv_ts_ns,
                        "bids": _levels(d.bids, d.n_bids), "asks": _levels(d.asks, d.n_asks)}
        if rc == ENG_EV_TRADE:
            out = _trade_dict(&self.trade)
            out["trades"] = [_trade_dict(&self.trades[i]) for i in range(self.n_trades)]
            return rc, out
        if rc == ENG_EV_MARK:
            m = &self.mark
            out = {"inst": m.inst, "venue": m.venue, "mask": m.mask, "exch_ts_ns": m.exch_ts_ns,
                   "recv_ts_ns": m.recv_ts_ns}
            if m.mask & ENG_TK_MARK_PX:
                out["mark_px"] = m.mark_px
            if m.mask & ENG_TK_INDEX_PX:
                out["index_px"] = m.index_px
            if m.mask & ENG_TK_FUNDING:
                out["funding_rate"] = m.funding_rate
            if m.mask & ENG_TK_NEXT_FUNDING:
                out["next_funding_ms"] = m.next_funding_ms
            return rc, out
        if rc == ENG_EV_TICKER:
            t = &self.ticker
            vals = {"bid_px": t.bid_px, "bid_sz": t.bid_sz, "ask_px": t.ask_px, "ask_sz": t.ask_sz,
                    "last_px": t.last_px, "mark_px": t.mark_px, "index_px": t.index_px,
                    "funding_rate": t.funding_rate, "next_funding_ms": t.next_funding_ms,
                    "open_interest": t.open_interest}
            out = {"inst": t.inst, "venue": t.venue, "mask": t.mask, "is_snapshot": t.is_snapshot,
                   "exch_ts_ns": t.exch_ts_ns, "recv_ts_ns": t.recv_ts_ns}
            for bit, name in _TICKER_FIELDS:
                if t.mask & bit:
                    out[name] = vals[name]
            return rc, out
        raise AssertionError(f"decoder returned unknown kind {rc}")

    def _bench_decode(self, data: bytes, Py_ssize_t loops) -> int:
        """Decode ``data`` ``loops`` times in a C loop without the GIL (benchmarks); returns the last rc."""
        cdef const char* p = PyBytes_AS_STRING(data)
        cdef size_t n = <size_t>PyBytes_GET_SIZE(data)
        cdef int rc = 0
        cdef Py_ssize_t i
        with nogil:
            for i in range(loops):
                rc = self.decode(p, n, i)
        return rc


cdef extern from "engine/codec.h" nogil:
    int eng_dec_fast(const char* s, size_t n, int32_t exp, int64_t* units, uint8_t* dec_out)
    ctypedef struct eng_jcur:
        const char* p
        const char* end
    ctypedef struct eng_jv:
        pass
    int eng_j_dec_fused(eng_jcur* c, int32_t exp, int64_t* units, uint8_t* dec_out, eng_jv* v)


def _test_parse_decimal(data: bytes, int exp, int mode) -> tuple:
    """Test shim: ``(rc, units, decimals)`` of one of the decimal parsers, which must agree:
    mode 0 = eng_parse_decimal (include/engine/decimal.h), 1 = the decoder's eng_dec_fast,
    2 = the fused in-string scanner on ``'"' + data + '"'`` (returns ``None`` when it declines and
    leaves the input to the general path)."""
    cdef int64_t units = 0
    cdef uint8_t dec = 0
    cdef int rc
    cdef eng_jcur cur
    cdef eng_jv v
    cdef bytes quoted
    if mode == 2:
        quoted = b'"' + data + b'"'
        cur.p = PyBytes_AS_STRING(quoted)
        cur.end = cur.p + PyBytes_GET_SIZE(quoted)
        if not eng_j_dec_fused(&cur, exp, &units, &dec, &v):
            return None
        assert cur.p == cur.end
        return (0, units, dec)
    if mode == 1:
        rc = eng_dec_fast(PyBytes_AS_STRING(data), <size_t>PyBytes_GET_SIZE(data), exp, &units, &dec)
    else:
        rc = eng_parse_decimal(PyBytes_AS_STRING(data), <size_t>PyBytes_GET_SIZE(data), exp, &units, &dec)
    return (rc, units, dec) if rc == 0 else (rc, None, None)
