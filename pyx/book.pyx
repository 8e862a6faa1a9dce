# SPDX-License-Identifier: Apache-2.0
"""engine.book: L2 order book per instrument on preallocated sorted C arrays (include/engine/book.h).

The pipeline calls ``Book.apply_depth`` (nogil) with decoder-owned levels; the shell and tests call
``Book.apply`` with (price_str, size_str) pairs parsed exactly. Venue sync rules are chosen at
construction; any error leaves the book invalid until the next snapshot.
"""
cimport cython
from cpython.bytes cimport PyBytes_AsStringAndSize
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from engine.types cimport (ENG_ERR_CAPACITY, ENG_ERR_DOMAIN, ENG_ERR_NOMEM, ENG_OK, ENG_SIDE_BUY,
                           ENG_SIDE_SELL, eng_book_top, eng_depth, eng_format_decimal, eng_level,
                           eng_now_ns, eng_parse_decimal)

from engine.errors import rc_name

SYNC_NAMES = {
    "none": ENG_SYNC_NONE,
    "binance_spot": ENG_SYNC_BINANCE_SPOT,
    "binance_usdm": ENG_SYNC_BINANCE_USDM,
    "bybit": ENG_SYNC_BYBIT,
    "okx": ENG_SYNC_OKX,
    "bitget": ENG_SYNC_BITGET,
}

STATE_NAMES = {ENG_BOOK_EMPTY: "empty", ENG_BOOK_FIRST: "first", ENG_BOOK_LIVE: "live"}


cdef inline int _parse(object s, int32_t exp, int64_t* units, uint8_t* dec) except? -100:
    cdef char* p
    cdef Py_ssize_t n
    if isinstance(s, str):
        s = (<str>s).encode("ascii", "replace")
    elif not isinstance(s, bytes):
        raise TypeError(f"expected a decimal string, got {type(s).__name__}")
    PyBytes_AsStringAndSize(s, &p, &n)
    return eng_parse_decimal(p, <size_t>n, exp, units, dec)


cdef inline str _fmt(int64_t units, int32_t exp, int32_t dec):
    cdef char buf[64]
    cdef int n = eng_format_decimal(units, exp, dec, buf)
    return buf[:n].decode("ascii")


cdef inline int32_t _side(object side) except 0:
    if side in ("buy", "bid", "bids", ENG_SIDE_BUY):
        return ENG_SIDE_BUY
    if side in ("sell", "ask", "asks", ENG_SIDE_SELL):
        return ENG_SIDE_SELL
    raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")


@cython.final
cdef class Book:
    """L2 book of one instrument.

    Parameters
    ----------
    inst : engine.instruments.Instrument
        Supplies the dense id and the price/size exponents.
    sync : str
        Sequence rule: ``"binance_spot"``, ``"binance_usdm"``, ``"bybit"``, ``"okx"``, ``"bitget"``
        or ``"none"``.
    capacity : int
        Levels per side, allocated once. A message or snapshot that needs more is rejected with
        ENG_ERR_CAPACITY / ENG_ERR_OVERSIZE (the book becomes invalid), never truncated.
    top_ptr : int, optional
        Address of an ``eng_book_top`` to maintain instead of the book's own (e.g. a Context slot).
    """

    def __cinit__(self, inst, str sync="none", int capacity=5000, top_ptr=None):
        self.ptr = &self._book
        self._scratch = NULL
        memset(&self._book, 0, sizeof(self._book))
        if sync not in SYNC_NAMES:
            raise ValueError(f"unknown sync rule {sync!r}; expected one of {', '.join(SYNC_NAMES)}")
        cdef eng_book_top* top = NULL
        if top_ptr is not None and top_ptr != 0:
            top = <eng_book_top*><size_t>int(top_ptr)
        rc = eng_book_init(&self._book, inst.id, inst.px_exp, inst.sz_exp, capacity, SYNC_NAMES[sync], top)
        if rc == ENG_ERR_NOMEM:
            raise MemoryError(f"book of {capacity} levels per side")
        if rc != ENG_OK:
            raise ValueError(f"bad book parameters (capacity={capacity}): {rc_name(rc)}")
        self._capacity = capacity       # the Python-path scratch is allocated on first apply()
        self.inst = inst
        self.sync_name = sync

    def __dealloc__(self):
        eng_book_free(&self._book)
        free(self._scratch)
        self._scratch = NULL

    def __repr__(self):
        return (f"Book({self.inst.symbol!r}, sync={self.sync_name!r}, state={self.state!r}, "
                f"valid={self.valid}, bids={self._book.bids.n}, asks={self._book.asks.n}, "
                f"last_id={self._book.last_id})")

    # ---- compiled entry points -------------------------------------------------------------------
    cdef void bind_top(self, eng_book_top* top) noexcept:
        """Maintain ``top`` (e.g. ``&ctx.top[inst]``) from now on; NULL returns to the book's own."""
        eng_book_bind_top(&self._book, top)

    cdef int apply_depth(self, const eng_depth* d, int64_t now_ns) noexcept nogil:
        """Apply one decoded message; ``d`` and its levels are only read during this call."""
        return eng_book_apply(&self._book, d, now_ns)

    def bind_top_address(self, addr):
        """Python form of ``bind_top``: ``addr`` is the address of an eng_book_top, 0 = own top."""
        eng_book_bind_top(&self._book, <eng_book_top*><size_t>int(addr))

    @property
    def top_address(self):
        """Address of the maintained eng_book_top (for tests and Context wiring)."""
        return <size_t>self._book.top

    @property
    def address(self):
        """Address of the eng_book (for ctx.book[inst])."""
        return <size_t>self.ptr

    # ---- Python apply ------------------------------------------------------------------------------
    def apply(self, bint is_snapshot, bids, asks, int64_t first_id=0, int64_t last_id=0,
              int64_t prev_id=-1, checksum=None, now_ns=None):
        """Apply one message given as lists of (price_str, size_str) (extra fields ignored).

        Parameters
        ----------
        is_snapshot : bool
            Replace the whole book.
        bids, asks : sequence of (str, str)
            Prices and sizes exactly as the venue sent them; size "0" deletes the level.
        first_id, last_id, prev_id : int
            Binance U / u / pu; Bybit u (last_id); OKX seqId (last_id) / prevSeqId (prev_id, -1 absent).
        checksum : int, optional
            Venue CRC32 (signed or unsigned 32-bit); verified after the merge.

        Returns
        -------
        int
            ENG_OK (0), ENG_ERR_STALE_UPDATE (dropped, harmless) or an error rc (book now invalid).

        Raises
        ------
        ValueError
            A price or size is not an exact decimal for this instrument (the book is invalidated).
        """
        cdef eng_depth d
        memset(&d, 0, sizeof(d))
        _ensure_scratch(self)
        _fill(self, bids, self._scratch, &d.n_bids, "bids")
        _fill(self, asks, self._scratch + self._capacity, &d.n_asks, "asks")
        d.bids = self._scratch
        d.asks = self._scratch + self._capacity
        d.first_id = first_id if first_id else last_id
        d.last_id = last_id
        d.prev_id = prev_id
        d.is_snapshot = is_snapshot
        d.inst = self._book.inst
        if checksum is not None:
            c = int(checksum) & 0xFFFFFFFF
            d.has_checksum = 1
            d.checksum = <int32_t>(c - 0x100000000 if c >= 0x80000000 else c)
        cdef int64_t ts = eng_now_ns() if now_ns is None else now_ns
        d.recv_ts_ns = ts
        return eng_book_apply(&self._book, &d, ts)

    def apply_snapshot(self, bids, asks, int64_t last_id=0, checksum=None):
        """Replace the book (REST snapshot: ``last_id`` = Binance lastUpdateId). Returns an rc."""
        return self.apply(True, bids, asks, last_id, last_id, -1, checksum)

    def apply_levels(self, bids, asks, int64_t first_id=0, int64_t last_id=0, int64_t prev_id=-1,
                     checksum=None):
        """Apply a delta (absolute sizes, "0" deletes). Returns an rc."""
        return self.apply(False, bids, asks, first_id, last_id, prev_id, checksum)

    def reset(self):
        """Forget all levels and sequence state (next delta: ENG_ERR_NOT_SYNCED)."""
        eng_book_reset(&self._book)

    # ---- state -------------------------------------------------------------------------------------
    @property
    def valid(self):
        """True when synced and verified (mirrors top.valid)."""
        return bool(self._book.top.valid) and self._book.state != ENG_BOOK_EMPTY

    @property
    def state(self):
        return STATE_NAMES[self._book.state]

    @property
    def last_id(self):
        return self._book.last_id

    @property
    def last_rc(self):
        return self._book.last_rc

    @property
    def capacity(self):
        return self._capacity

    @property
    def stats(self):
        """dict(applied, dropped, errors)."""
        return {"applied": self._book.n_applied, "dropped": self._book.n_dropped,
                "errors": self._book.n_errors}

    def depth(self):
        """(number of bid levels, number of ask levels)."""
        return self._book.bids.n, self._book.asks.n

    def top_state(self):
        """The maintained eng_book_top as a dict (units)."""
        cdef eng_book_top* t = self._book.top
        return {"bid_px": t.bid_px, "bid_sz": t.bid_sz, "ask_px": t.ask_px, "ask_sz": t.ask_sz,
                "last_id": t.last_id, "update_ns": t.update_ns, "valid": t.valid, "inst": t.inst}

    # ---- reads ---------------------------------------------------------------------------------------
    def best_bid(self):
        """(price_str, size_str) as last sent by the venue, or None."""
        return _level_str(self, ENG_SIDE_BUY, 0)

    def best_ask(self):
        return _level_str(self, ENG_SIDE_SELL, 0)

    def top(self, int n=5):
        """(bids, asks): the best n levels per side as (price_str, size_str), best first."""
        if n < 0:
            raise ValueError("n must be >= 0")
        nb = min(n, self._book.bids.n)
        na = min(n, self._book.asks.n)
        return ([_level_str(self, ENG_SIDE_BUY, i) for i in range(nb)],
                [_level_str(self, ENG_SIDE_SELL, i) for i in range(na)])

    def top_units(self, int n=5):
        """(bids, asks): the best n levels per side as (price_units, size_units)."""
        cdef int64_t px = 0, sz = 0
        cdef int32_t i
        bids = []
        asks = []
        for i in range(min(max(n, 0), self._book.bids.n)):
            eng_book_level(&self._book, ENG_SIDE_BUY, i, &px, &sz)
            bids.append((px, sz))
        for i in range(min(max(n, 0), self._book.asks.n)):
            eng_book_level(&self._book, ENG_SIDE_SELL, i, &px, &sz)
            asks.append((px, sz))
        return bids, asks

    def size_at(self, side, px):
        """Size units resting at exactly ``px`` (decimal string) on ``side`` ('buy'/'bid' or 'sell'/'ask')."""
        cdef int64_t units
        cdef uint8_t dec
        cdef int32_t s = _side(side)
        rc = _parse(str(px), self._book.px_exp, &units, &dec)
        if rc != ENG_OK:
            raise ValueError(f"price {px!r}: {rc_name(rc)}")
        return eng_book_size_at(&self._book, s, units)

    def depth_to(self, side, px):
        """(levels, size units) from the best price through ``px`` inclusive on ``side``."""
        cdef int64_t units, total = 0
        cdef uint8_t dec
        cdef int32_t s = _side(side)
        rc = _parse(str(px), self._book.px_exp, &units, &dec)
        if rc != ENG_OK:
            raise ValueError(f"price {px!r}: {rc_name(rc)}")
        cdef int32_t n = eng_book_depth_to(&self._book, s, units, &total)
        return n, total

    def mid(self):
        """Mid price (float, real units) or None if a side is empty."""
        cdef double v
        if eng_book_mid(&self._book, &v) != ENG_OK:
            return None
        return v / <double>(10 ** self._book.px_exp)

    def spread(self):
        """Best ask - best bid (float, real units) or None."""
        cdef int64_t v
        if eng_book_spread(&self._book, &v) != ENG_OK:
            return None
        return v / <double>(10 ** self._book.px_exp)

    def spread_units(self):
        cdef int64_t v
        if eng_book_spread(&self._book, &v) != ENG_OK:
            return None
        return v

    def microprice(self):
        """Size-weighted mid (float, real units) or None."""
        cdef double v
        if eng_book_microprice(&self._book, &v) != ENG_OK:
            return None
        return v / <double>(10 ** self._book.px_exp)

    def imbalance(self, int n=1):
        """(bid vol - ask vol) / (bid vol + ask vol) over the best n levels, or None if undefined."""
        cdef double v
        if eng_book_imbalance(&self._book, n, &v) != ENG_OK:
            return None
        return v

    def cost_to_trade(self, side, sz):
        """Take ``sz`` (decimal string) now: ``side`` 'buy' walks the asks, 'sell' the bids.

        Returns
        -------
        tuple or None
            (vwap price as float in real units, filled size as int units); filled < requested when
            the book is too thin. None if the side is empty.
        """
        cdef int64_t units, filled
        cdef uint8_t dec
        cdef double vwap
        cdef int32_t s = _side(side)
        rc = _parse(str(sz), self._book.sz_exp, &units, &dec)
        if rc != ENG_OK:
            raise ValueError(f"size {sz!r}: {rc_name(rc)}")
        rc = eng_book_cost_to_trade(&self._book, s, units, &vwap, &filled)
        if rc != ENG_OK:
            return None
        return vwap / <double>(10 ** self._book.px_exp), filled

    def checksum(self):
        """OKX/Bitget CRC32 (signed int32) of the current top 25 levels, strings as sent."""
        return eng_book_checksum(&self._book)

    def checksum_string(self):
        """The string the checksum is computed over."""
        cdef char buf[ENG_BOOK_CHECKSUM_BUF + 1]
        cdef size_t n = eng_book_checksum_string(&self._book, buf)
        return buf[:n].decode("ascii")


cdef int _ensure_scratch(Book self) except -1:
    # cold path only (shell / tests): compiled callers hand eng_depth levels to apply_depth directly
    if self._scratch == NULL:
        self._scratch = <eng_level*>malloc(2 * <size_t>self._capacity * sizeof(eng_level))
        if self._scratch == NULL:
            raise MemoryError(f"book scratch of {self._capacity} levels")
    return 0


cdef int _fill(Book self, object levels, eng_level* out, int32_t* n_out, str name) except -1:
    cdef Py_ssize_t n = len(levels), i
    cdef int rc
    cdef int64_t units
    cdef uint8_t dec
    n_out[0] = <int32_t>min(n, 0x7fffffff)
    if n > self._capacity:
        return 0                     # eng_book_apply rejects the count (ENG_ERR_OVERSIZE)
    for i in range(n):
        lv = levels[i]
        rc = _parse(lv[0], self._book.px_exp, &units, &dec)
        if rc != ENG_OK:
            _invalidate(self, rc)
            raise ValueError(f"{self.inst.symbol}: {name}[{i}] price {lv[0]!r}: {rc_name(rc)}")
        out[i].px = units
        out[i].px_dec = dec
        rc = _parse(lv[1], self._book.sz_exp, &units, &dec)
        if rc != ENG_OK:
            _invalidate(self, rc)
            raise ValueError(f"{self.inst.symbol}: {name}[{i}] size {lv[1]!r}: {rc_name(rc)}")
        out[i].sz = units
        out[i].sz_dec = dec
    return 0

cdef void _invalidate(Book self, int rc) noexcept:
    # an unparsable message is a lost message: the book can no longer be trusted
    self._book.state = ENG_BOOK_EMPTY
    self._book.top.valid = 0
    self._book.n_errors += 1
    self._book.last_rc = rc


cdef object _level_str(Book self, int32_t side, int32_t i):
    cdef eng_level lv
    cdef const eng_book_side* s = &self._book.bids if side == ENG_SIDE_BUY else &self._book.asks
    if i >= s.n:
        return None
    cdef const eng_book_lvl* l = &s.lv[s.n - 1 - i]
    px = l.key if side == ENG_SIDE_BUY else -l.key
    return (_fmt(px, self._book.px_exp, l.px_dec), _fmt(l.sz, self._book.sz_exp, l.sz_dec))


def crc32(data: bytes) -> int:
    """Signed CRC32 (zlib polynomial) of ``data``, the venues' convention."""
    cdef const unsigned char[::1] v = data
    cdef uint32_t c = eng_crc32(0, &v[0] if len(data) else NULL, len(data))
    return <int32_t>c


def _bench_apply(Book book, const int64_t[:, ::1] upd, int per_msg, int repeat=1):
    """Benchmark helper: apply ``upd`` rows (side, px_units, sz_units) as deltas of ``per_msg``
    levels each, reading the top after every message, ``repeat`` times, all inside C.

    Returns (elapsed_ns, level_updates, errors, sink)."""
    cdef Py_ssize_t n = upd.shape[0], i, m, k, nb, na
    if upd.shape[1] != 3 or per_msg <= 0:
        raise ValueError("upd must be (n, 3) int64 rows and per_msg > 0")
    cdef Py_ssize_t n_msgs = (n + per_msg - 1) // per_msg
    cdef eng_level* lv = <eng_level*>malloc(max(n, 1) * sizeof(eng_level))
    cdef eng_depth* ds = <eng_depth*>malloc(max(n_msgs, 1) * sizeof(eng_depth))
    if lv == NULL or ds == NULL:
        free(lv)
        free(ds)
        raise MemoryError()
    memset(ds, 0, n_msgs * sizeof(eng_depth))
    memset(lv, 0, n * sizeof(eng_level))
    # per message: bids first then asks, contiguous in lv
    cdef Py_ssize_t pos = 0, start
    for m in range(n_msgs):
        start = m * per_msg
        nb = 0
        for k in range(start, min(start + per_msg, n)):
            if upd[k, 0] > 0:
                lv[pos].px = upd[k, 1]; lv[pos].sz = upd[k, 2]; pos += 1; nb += 1
        na = 0
        for k in range(start, min(start + per_msg, n)):
            if upd[k, 0] <= 0:
                lv[pos].px = upd[k, 1]; lv[pos].sz = upd[k, 2]; pos += 1; na += 1
        ds[m].bids = &lv[pos - na - nb]
        ds[m].asks = &lv[pos - na]
        ds[m].n_bids = <int32_t>nb
        ds[m].n_asks = <int32_t>na
        ds[m].prev_id = -1
    cdef int64_t t0, t1, sink = 0
    cdef int64_t errors = 0
    cdef int r, rc
    cdef eng_book_top* top = book.ptr.top
    with nogil:
        t0 = eng_now_ns()
        for r in range(repeat):
            for m in range(n_msgs):
                rc = eng_book_apply(book.ptr, &ds[m], t0)
                errors += rc != 0
                sink += top.bid_px + top.ask_sz
        t1 = eng_now_ns()
    free(lv)
    free(ds)
    return t1 - t0, n * repeat, errors, sink


def _test_apply_raw(Book book, bint is_snapshot, bids, asks, n_bids=None, n_asks=None,
                    int64_t last_id=0, int64_t prev_id=-1, first_id=None, checksum=None):
    """Test shim: apply levels given as (px_units, sz_units, px_dec, sz_dec) ints, bypassing the
    string parser (negative units, huge decimals), optionally with a bogus level count that must be
    rejected before any level is read (only counts < 0 or > capacity are allowed here)."""
    cdef eng_depth d
    cdef Py_ssize_t i
    cdef eng_level* out
    memset(&d, 0, sizeof(d))
    _ensure_scratch(book)
    if len(bids) > book._capacity or len(asks) > book._capacity:
        raise ValueError("more levels than the scratch buffer")
    cdef int k
    for k in range(2):
        levels = bids if k == 0 else asks
        out = book._scratch + (0 if k == 0 else book._capacity)
        for i in range(len(levels)):
            px, sz, pd, sd = levels[i]
            out[i].px = px
            out[i].sz = sz
            out[i].px_dec = pd
            out[i].sz_dec = sd
    for n in (n_bids, n_asks):
        if n is not None and 0 <= n <= book._capacity:
            raise ValueError("count overrides must be < 0 or > capacity")
    d.n_bids = len(bids) if n_bids is None else n_bids
    d.n_asks = len(asks) if n_asks is None else n_asks
    d.bids = book._scratch
    d.asks = book._scratch + book._capacity
    d.last_id = last_id
    d.first_id = last_id if first_id is None else first_id
    d.prev_id = prev_id
    d.is_snapshot = is_snapshot
    if checksum is not None:
        d.has_checksum = 1
        d.checksum = checksum
    return book.apply_depth(&d, eng_now_ns())


def _bench_messages(Book book, list msgs, int repeat=1):
    """Benchmark helper: replay ``msgs`` (dicts shaped like ``engine.codec.Decoder.decode_py`` depth
    output: is_snapshot, bids/asks as (px, sz, px_dec, sz_dec), first_id, last_id, prev_id,
    has_checksum, checksum) ``repeat`` times inside one nogil C loop (checksums verified as live).

    Returns (elapsed_ns, messages_applied, level_updates, errors)."""
    cdef Py_ssize_t nm = len(msgs), total = 0, m, k, pos = 0
    for d in msgs:
        total += len(d["bids"]) + len(d["asks"])
    cdef eng_level* lv = <eng_level*>malloc(max(total, 1) * sizeof(eng_level))
    cdef eng_depth* ds = <eng_depth*>malloc(max(nm, 1) * sizeof(eng_depth))
    if lv == NULL or ds == NULL:
        free(lv)
        free(ds)
        raise MemoryError()
    memset(ds, 0, max(nm, 1) * sizeof(eng_depth))
    memset(lv, 0, max(total, 1) * sizeof(eng_level))
    for m in range(nm):
        d = msgs[m]
        ds[m].is_snapshot = d["is_snapshot"]
        ds[m].first_id = d["first_id"]
        ds[m].last_id = d["last_id"]
        ds[m].prev_id = d["prev_id"]
        ds[m].has_checksum = d["has_checksum"]
        ds[m].checksum = d["checksum"]
        for side in range(2):
            levels = d["bids"] if side == 0 else d["asks"]
            if side == 0:
                ds[m].bids = &lv[pos]
                ds[m].n_bids = len(levels)
            else:
                ds[m].asks = &lv[pos]
                ds[m].n_asks = len(levels)
            for px, sz, pd, sd in levels:
                lv[pos].px = px
                lv[pos].sz = sz
                lv[pos].px_dec = pd
                lv[pos].sz_dec = sd
                pos += 1
    cdef int64_t t0, t1, errors = 0
    cdef int r
    with nogil:
        t0 = eng_now_ns()
        for r in range(repeat):
            for m in range(nm):
                errors += eng_book_apply(book.ptr, &ds[m], t0) != 0
        t1 = eng_now_ns()
    free(lv)
    free(ds)
    return t1 - t0, nm * repeat, total * repeat, errors
