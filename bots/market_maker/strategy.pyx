# SPDX-License-Identifier: Apache-2.0
# Market maker, compiled: quotes a bid and an ask around the microprice of the L2 book, skewed against the
# inventory so a long position quotes lower (sells more readily) and a short one higher. Post-only limit
# orders; requotes when the target moved by at least `requote_ticks` or an order was filled.
from libc.stdint cimport int64_t
from libc.math cimport floor, ceil
from libc.stdlib cimport llabs
from engine.types cimport *
from engine.strategy cimport Strategy


cdef class MarketMaker(Strategy):
    cdef public int inst                # instrument id to quote (-1: the first one that ticks)
    cdef public double half_spread_ticks
    cdef public double skew_ticks       # price shift per full max_position of inventory
    cdef public double size             # per quote, real units
    cdef public double max_position     # real units; at the limit only the reducing side is quoted
    cdef public int64_t requote_ticks
    cdef public int64_t min_requote_ns
    cdef int64_t _bid_id, _ask_id, _bid_px, _ask_px, _last_ns
    cdef public int64_t quotes_sent

    def __init__(self, ctx=None, inst=-1, half_spread_ticks=2.0, skew_ticks=4.0, size="0.01",
                 max_position="0.05", requote_ticks=1, min_requote_ms=20):
        super().__init__(ctx)
        self.inst = int(inst)
        self.half_spread_ticks = float(half_spread_ticks)
        self.skew_ticks = float(skew_ticks)
        self.size = float(size)
        self.max_position = float(max_position)
        self.requote_ticks = int(requote_ticks)
        self.min_requote_ns = int(min_requote_ms) * 1_000_000
        if self.half_spread_ticks < 0.5 or self.size <= 0 or self.max_position < self.size:
            raise ValueError("need half_spread_ticks >= 0.5, size > 0, max_position >= size")

    cdef int on_book(self, int inst) noexcept nogil:
        return self._quote(inst)

    cdef int on_quote(self, const eng_quote* q) noexcept nogil:
        return self._quote(q.inst)

    cdef int on_fill(self, const eng_fill* f) noexcept nogil:
        # the filled side must be requoted at once (the next book event does it)
        if f.client_id == self._bid_id:
            self._bid_id = 0
        elif f.client_id == self._ask_id:
            self._ask_id = 0
        self._last_ns = 0
        return 0

    cdef int _quote(self, int inst) noexcept nogil:
        if self.inst < 0:
            self.inst = inst
        if inst != self.inst:
            return 0
        cdef const eng_book_top* t = self.top(inst)
        if not t.valid or t.bid_px <= 0 or t.ask_px <= t.bid_px or t.bid_sz <= 0 or t.ask_sz <= 0:
            return 0
        cdef int64_t now = self.now_ns()
        if now - self._last_ns < self.min_requote_ns:
            return 0
        cdef const eng_instrument* ins = self.instrument(inst)
        cdef double tick = <double>ins.tick_px
        # microprice: the mid weighted towards the side with less size (where the price is likelier to go)
        cdef double micro = (<double>t.bid_px * <double>t.ask_sz + <double>t.ask_px * <double>t.bid_sz) / \
            (<double>t.bid_sz + <double>t.ask_sz)
        cdef double inv = <double>self.position(inst).sz * ins.sz_scale / self.max_position
        if inv > 1.0:
            inv = 1.0
        elif inv < -1.0:
            inv = -1.0
        cdef double center = micro - inv * self.skew_ticks * tick
        cdef int64_t bid = <int64_t>floor((center - self.half_spread_ticks * tick) / tick) * ins.tick_px
        cdef int64_t ask = <int64_t>ceil((center + self.half_spread_ticks * tick) / tick) * ins.tick_px
        if bid >= t.ask_px:              # never cross (post-only would be rejected anyway)
            bid = t.ask_px - ins.tick_px
        if ask <= t.bid_px:
            ask = t.bid_px + ins.tick_px
        cdef int64_t lots = <int64_t>(self.size / ins.sz_scale / ins.lot_sz)
        cdef int64_t sz = (lots if lots > 0 else 1) * ins.lot_sz
        cdef int64_t move = self.requote_ticks * ins.tick_px
        cdef int64_t rc
        cdef bint want_bid = inv < 1.0
        cdef bint want_ask = inv > -1.0
        if self._bid_id == 0 or llabs(bid - self._bid_px) >= move or not want_bid:
            if self._bid_id > 0:
                rc = self.cancel(inst, self._bid_id)
                if rc < 0:
                    return <int>rc
                self._bid_id = 0
            if want_bid:
                rc = self.buy(inst, bid, sz, ENG_TIF_POST_ONLY)
                if rc < 0:
                    return <int>rc
                self._bid_id, self._bid_px = rc, bid
                self.quotes_sent += 1
        if self._ask_id == 0 or llabs(ask - self._ask_px) >= move or not want_ask:
            if self._ask_id > 0:
                rc = self.cancel(inst, self._ask_id)
                if rc < 0:
                    return <int>rc
                self._ask_id = 0
            if want_ask:
                rc = self.sell(inst, ask, sz, ENG_TIF_POST_ONLY)
                if rc < 0:
                    return <int>rc
                self._ask_id, self._ask_px = rc, ask
                self.quotes_sent += 1
        self._last_ns = now
        return 0
