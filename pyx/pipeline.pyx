# SPDX-License-Identifier: Apache-2.0
"""engine.pipeline: the compiled hot path.

One inbound frame runs, in the same call and without Python objects::

    stamp -> Decoder.decode -> (depth: eng_book_apply | quote: ctx top) -> strategy hook (nogil)
          -> drain intent ring -> RiskGate.check -> OrderEncoder.encode -> WSTransport write

``Pipeline.listener(conn_id, venue, handler)`` returns the compiled picows listener that does this
for every text frame of a market-data connection; ``Pipeline.feed`` runs the same path for a frame
given as bytes (replay, resync buffers, tests). Frames the hot path does not consume go to
``handler.on_cold_frame(conn_id, payload, rc, inst, recv_ns)``. Orders written are recorded in a
preallocated C ring that the router drains with ``drain_sent()``; rejected intents go to
``drain_rejects()``; intents for a venue without an order transport are kept for the Python router
(``drain_pending()``), never dropped.

Book/top stamps and the risk check (order-rate bucket, book age) use CLOCK_MONOTONIC, or the time set by
``Pipeline.set_clock(now_ns)`` (a replay sets each frame's, timer's and fill's recorded time; 0 = live
clock again). Latency stamps always use the real clock.
"""
cimport cython
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memset
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE

from engine.types cimport *
from engine.strategy cimport Context, Strategy, intent_to_dict, intent_from_dict
from engine.risk cimport RiskGate
from engine.codec cimport Decoder
from engine.book cimport Book, eng_book, eng_book_apply, eng_book_bind_top
from engine.orders cimport OrderEncoder
from engine.latency cimport (LatencyRecorder, eng_latency, eng_latency_record, ENG_STAGE_RECV,
                             ENG_STAGE_DECODE, ENG_STAGE_BOOK,
                             ENG_STAGE_SIGNAL, ENG_STAGE_RISK, ENG_STAGE_ENCODE, ENG_STAGE_SEND,
                             ENG_STAGE_TICK_TO_TRADE)
from picows.picows cimport WSListener, WSTransport, WSFrame, WSMsgType

from engine.errors import StrategyError, rc_name
from engine.risk import reason_name
from engine import strategy as _strategy_mod

# Room for the WebSocket header picows writes in front of the payload (<= 14 bytes) and the
# largest request an encoder may produce (Binance WS order.place with signature is ~600 bytes).
cdef enum:
    _HEADROOM = 16
    _OBUF_CAP = 8192

SENT_FIELDS = ("client_id", "target_id", "venue", "inst", "kind", "side", "ord_type", "tif", "flags",
               "tag", "px", "sz", "t_recv", "t_send", "conn_id", "nbytes")


cdef inline uint32_t _pow2(uint32_t n) noexcept:
    cdef uint32_t p = 1
    while p < n:
        p <<= 1
    return p


cdef inline void _top_from_quote(eng_ctx* c, const eng_quote* q, int64_t now_ns) noexcept nogil:
    cdef eng_book_top* t = &c.top[q.inst]
    t.bid_px = q.bid_px
    t.bid_sz = q.bid_sz
    t.ask_px = q.ask_px
    t.ask_sz = q.ask_sz
    t.last_id = q.update_id
    t.update_ns = now_ns
    t.valid = 1 if (q.bid_px > 0 and q.ask_px > 0 and q.bid_px < q.ask_px) else 0


cdef inline void _set_slow(eng_ctx* c, int inst, int slot, double v, int64_t ts) noexcept nogil:
    c.slow[inst][slot] = v
    c.slow_ts_ns[inst][slot] = ts


cdef inline void _apply_mark(eng_ctx* c, const eng_mark* m, int64_t now_ns) noexcept nogil:
    cdef double pxs = c.ins[m.inst].px_scale
    if m.mask & ENG_TK_MARK_PX:
        _set_slow(c, m.inst, ENG_SIG_MARK_PX, <double>m.mark_px * pxs, now_ns)
    if m.mask & ENG_TK_INDEX_PX:
        _set_slow(c, m.inst, ENG_SIG_INDEX_PX, <double>m.index_px * pxs, now_ns)
    if m.mask & ENG_TK_FUNDING:
        _set_slow(c, m.inst, ENG_SIG_FUNDING_RATE, m.funding_rate, now_ns)


cdef inline int _apply_ticker(eng_ctx* c, const eng_ticker* k, int64_t now_ns, eng_quote* q) noexcept nogil:
    """Slow fields into ctx.slow; for a top-only instrument the bid/ask fields into ctx.top.
    Returns 1 (and fills ``q``) when the top changed and should be dispatched as a quote."""
    cdef int inst = k.inst
    cdef double pxs = c.ins[inst].px_scale
    cdef eng_book_top* t = &c.top[inst]
    if k.mask & ENG_TK_MARK_PX:
        _set_slow(c, inst, ENG_SIG_MARK_PX, <double>k.mark_px * pxs, now_ns)
    if k.mask & ENG_TK_INDEX_PX:
        _set_slow(c, inst, ENG_SIG_INDEX_PX, <double>k.index_px * pxs, now_ns)
    if k.mask & ENG_TK_FUNDING:
        _set_slow(c, inst, ENG_SIG_FUNDING_RATE, k.funding_rate, now_ns)
    if k.mask & ENG_TK_OPEN_INTEREST:
        _set_slow(c, inst, ENG_SIG_OPEN_INTEREST, k.open_interest, now_ns)
    if c.book[inst] != NULL or not (k.mask & (ENG_TK_BID_PX | ENG_TK_ASK_PX | ENG_TK_BID_SZ | ENG_TK_ASK_SZ)):
        return 0
    if k.mask & ENG_TK_BID_PX:
        t.bid_px = k.bid_px
    if k.mask & ENG_TK_BID_SZ:
        t.bid_sz = k.bid_sz
    if k.mask & ENG_TK_ASK_PX:
        t.ask_px = k.ask_px
    if k.mask & ENG_TK_ASK_SZ:
        t.ask_sz = k.ask_sz
    t.update_ns = now_ns
    t.valid = 1 if (t.bid_px > 0 and t.ask_px > 0 and t.bid_px < t.ask_px) else 0
    q.bid_px = t.bid_px
    q.bid_sz = t.bid_sz
    q.ask_px = t.ask_px
    q.ask_sz = t.ask_sz
    q.update_id = 0
    q.exch_ts_ns = k.exch_ts_ns
    q.recv_ts_ns = k.recv_ts_ns
    q.venue = k.venue
    q.inst = inst
    return 1


@cython.final
cdef class Pipeline:
    """The hot path of one process: shared Context, one Strategy, one RiskGate.

    Parameters
    ----------
    ctx, strategy, risk : the shared state, the strategy (bound to ``ctx`` here) and the risk gate
    latency : per-stage recorder (a new one by default)
    sent_capacity, reject_capacity : sizes of the C rings drained by the router; a full sent ring
        rejects further orders with ENG_ERR_CAPACITY (never overwrites or drops a sent record)
    """

    def __cinit__(self, Context ctx not None, Strategy strategy not None, RiskGate risk not None,
                  LatencyRecorder latency=None, int sent_capacity=4096, int reject_capacity=1024):
        if sent_capacity < 1 or reject_capacity < 1:
            raise ValueError("ring capacities must be >= 1")
        self.ctx = ctx
        self.c = ctx.c
        self.strategy = strategy
        self.risk = risk
        self.latency = latency if latency is not None else LatencyRecorder()
        strategy.bind_ctx(ctx)
        _strategy_mod._flushers[id(strategy)] = self   # deliver_fill/deliver_timer send at once
        self._decoders = [None] * ENG_VENUE_COUNT
        self._encoders = [None] * ENG_VENUE_COUNT
        self._transports = [None] * ENG_VENUE_COUNT
        self._books = {}
        self._handlers = {}
        self._pending = []
        self._strategy_error = None
        memset(&self.st, 0, sizeof(eng_pipe_stats))
        self._sent_cap = _pow2(<uint32_t>sent_capacity)
        self._rej_cap = _pow2(<uint32_t>reject_capacity)
        self._sent_head = self._sent_tail = 0
        self._rej_head = self._rej_tail = 0
        self._obuf = <char*>malloc(_HEADROOM + _OBUF_CAP)
        self._sent = <eng_sent*>calloc(self._sent_cap, sizeof(eng_sent))
        self._rej = <eng_reject*>calloc(self._rej_cap, sizeof(eng_reject))
        if self._obuf == NULL or self._sent == NULL or self._rej == NULL:
            raise MemoryError("pipeline buffers")

    def __dealloc__(self):
        # ctx.book[] stays valid: the Context itself keeps the bound books alive (ctx._keep)
        free(self._obuf)
        free(self._sent)
        free(self._rej)

    # ---- wiring (cold) ---------------------------------------------------------------------------
    cdef int _check_venue(self, int venue) except -1:
        if venue <= ENG_VENUE_NONE or venue >= ENG_VENUE_COUNT:
            raise ValueError(f"unknown venue {venue}")
        return 0

    def add_feed(self, int venue, Decoder decoder not None):
        """Use ``decoder`` for market-data frames of ``venue`` (listener and feed)."""
        self._check_venue(venue)
        if decoder.venue != venue:
            raise ValueError(f"decoder is for venue {decoder.venue}, not {venue}")
        self._decoders[venue] = decoder

    def decoder(self, int venue):
        self._check_venue(venue)
        return self._decoders[venue]

    def add_book(self, Book book not None):
        """Bind ``book`` to its instrument: it maintains ``ctx.top[inst]`` and ``ctx.book[inst]``
        points at it (hooks read it with ``self.book(inst)``); depth frames of that instrument are
        applied to it."""
        cdef int inst = book.inst.id
        self.ctx.check_inst(inst)
        if inst in self._books and self._books[inst] is not book:
            raise ValueError(f"instrument {inst} already has a book")
        book.bind_top(&self.c.top[inst])
        self.ctx._keep[inst] = book          # ctx.book[inst] must never dangle, whoever dies first
        self.c.book[inst] = book.ptr
        self._books[inst] = book

    def book(self, int inst):
        return self._books.get(inst)

    def set_encoder(self, int venue, OrderEncoder encoder):
        """Encode orders for ``venue`` with ``encoder`` (None removes it: intents go to pending)."""
        self._check_venue(venue)
        if encoder is not None and encoder.venue != venue:
            raise ValueError(f"encoder is for venue {encoder.venue}, not {venue}")
        self._encoders[venue] = encoder

    def set_order_transport(self, int venue, WSTransport transport):
        """The open order WebSocket of ``venue`` (picows WSTransport), or None: intents that pass
        risk are then kept in ``drain_pending()`` for the Python router."""
        self._check_venue(venue)
        self._transports[venue] = transport

    def order_transport(self, int venue):
        self._check_venue(venue)
        return self._transports[venue]

    # ---- the hot path ------------------------------------------------------------------------------
    cdef int process(self, int conn_id, int venue, Decoder dec, const char* buf, size_t n,
                     int64_t recv_ns, int64_t t_in, int* inst_out) except? -1000:
        """Run one frame. Returns the event kind (> 0) or rc < 0 (cold: the caller hands the frame
        to the handler). A failing hook engages the kill switch and leaves the StrategyError in
        ``self._strategy_error`` for the caller to raise after the cold handling."""
        cdef int kind, rc, hook = 0, inst = -1, i, ran = 0
        cdef int64_t t1, t2, t3
        cdef eng_ctx* c = self.c
        cdef Strategy s = self.strategy
        cdef eng_latency* L = self.latency.lat     # header-inline recording, no cross-module call
        cdef eng_quote q
        self.st.frames += 1
        cdef int64_t exch = 0
        with nogil:
            kind = dec.decode(buf, n, recv_ns)
            t1 = eng_now_ns()
            eng_latency_record(L, ENG_STAGE_DECODE, t1 - t_in)
            # RECV: venue event time -> our receive, for frames read just now (a replayed or
            # buffered frame carries an older recv_ns). Wall clock = monotonic + a cached offset, so
            # no extra clock read per frame; includes our clock's offset from the venue's.
            if recv_ns == t_in and kind > 0:
                if kind == ENG_EV_QUOTE:
                    exch = dec.quote.exch_ts_ns
                elif kind == ENG_EV_DEPTH:
                    exch = dec.depth.exch_ts_ns
                elif kind == ENG_EV_TRADE:
                    exch = dec.trade.exch_ts_ns
                elif kind == ENG_EV_TICKER:
                    exch = dec.ticker.exch_ts_ns
                elif kind == ENG_EV_MARK:
                    exch = dec.mark.exch_ts_ns
                if exch > 0:
                    if (self._wall_age & 1023) == 0:
                        self._wall_off = eng_wall_ns() - eng_now_ns()
                    self._wall_age += 1
                    if recv_ns + self._wall_off > exch:
                        eng_latency_record(L, ENG_STAGE_RECV, recv_ns + self._wall_off - exch)
            t2 = t1
            rc = kind
            # book/top stamps: t1, or the set clock in a replay (one select at the stamp, not a hoisted
            # variable: that cost ~12 instructions/frame of register shuffling in process())
            if kind == ENG_EV_QUOTE:
                inst = dec.quote.inst
                if c.book[inst] == NULL:
                    _top_from_quote(c, &dec.quote, t1 if self._clock_ns == 0 else self._clock_ns)
                hook = s.dispatch_quote(&dec.quote)
                ran = 1
            elif kind == ENG_EV_DEPTH:
                inst = dec.depth.inst
                if c.book[inst] == NULL:
                    rc = ENG_ERR_NOT_SYNCED          # no book bound for this instrument
                else:
                    rc = eng_book_apply(c.book[inst], &dec.depth, t1 if self._clock_ns == 0 else self._clock_ns)
                    t2 = eng_now_ns()
                    eng_latency_record(L, ENG_STAGE_BOOK, t2 - t1)
                    if rc == ENG_OK:
                        rc = kind
                        hook = s.dispatch_book(inst)
                        ran = 1
            elif kind == ENG_EV_TRADE:
                inst = dec.trade.inst
                for i in range(dec.n_trades):
                    hook = s.dispatch_trade(&dec.trades[i])
                    ran = 1
                    if hook < 0:
                        break
            elif kind == ENG_EV_MARK:
                inst = dec.mark.inst
                _apply_mark(c, &dec.mark, t1 if self._clock_ns == 0 else self._clock_ns)
            elif kind == ENG_EV_TICKER:
                inst = dec.ticker.inst
                if _apply_ticker(c, &dec.ticker, t1 if self._clock_ns == 0 else self._clock_ns, &q):
                    hook = s.dispatch_quote(&q)
                    ran = 1
            if ran:
                t3 = eng_now_ns()
                eng_latency_record(L, ENG_STAGE_SIGNAL, t3 - t2)
        inst_out[0] = inst
        if hook < 0:
            self._on_hook_error(hook)
        if rc > 0:
            self.st.hot += 1
        elif rc == ENG_ERR_STALE_UPDATE:
            self.st.stale += 1
        if eng_ring_len(&s._eng.ring) != 0:
            self.drain(conn_id, recv_ns)
        return rc

    cdef int _on_hook_error(self, int hook) except -1:
        self.st.strategy_errors += 1
        self.c.kill = 1
        try:
            self.strategy.raise_for_rc(hook)
        except StrategyError as e:
            self._strategy_error = e
        return 0

    cdef int _reject(self, const eng_intent* it, int reason, int64_t t_recv, int conn_id) noexcept:
        cdef eng_reject* r
        self.st.rejected += 1
        if self._rej_tail - self._rej_head >= self._rej_cap:
            self.st.rejects_dropped += 1
            return 0
        r = &self._rej[self._rej_tail & (self._rej_cap - 1)]
        r.it = it[0]
        r.reason = reason
        r.t_recv = t_recv
        r.conn_id = conn_id
        self._rej_tail += 1
        return 0

    cdef int drain(self, int conn_id, int64_t t_recv) except -1:
        """Risk-check, encode and send every intent in the strategy's ring (GIL held: the write
        needs it; risk and encode are nogil C)."""
        cdef eng_intent it
        cdef int r, v
        cdef Py_ssize_t nb
        cdef int64_t t0, t1, t2, t3
        cdef OrderEncoder enc
        cdef WSTransport tr
        cdef eng_sent* sr
        cdef eng_latency* L = self.latency.lat
        cdef Strategy s = self.strategy
        cdef char* out = self._obuf + _HEADROOM
        cdef int64_t fixed = self._clock_ns       # risk runs on the set clock in a replay, else on t0
        while s.pop_intent(&it):
            self.st.intents += 1
            t0 = eng_now_ns()
            r = self.risk.check(self.c, &it, t0 if fixed == 0 else fixed)
            t1 = eng_now_ns()
            eng_latency_record(L, ENG_STAGE_RISK, t1 - t0)
            if r != 0:
                self._reject(&it, r, t_recv, conn_id)
                continue
            v = it.venue                        # risk guarantees a registered instrument/venue
            tr = <WSTransport>self._transports[v]
            enc = <OrderEncoder>self._encoders[v]
            if tr is None or enc is None or tr.is_disconnected or tr.is_close_frame_sent:
                d = intent_to_dict(&it)
                d["t_recv"] = t_recv
                d["conn_id"] = conn_id
                self._pending.append(d)
                self.st.pending += 1
                continue
            if self._sent_tail - self._sent_head >= self._sent_cap:
                self.risk.release(self.c, &it)
                self._reject(&it, ENG_ERR_CAPACITY, t_recv, conn_id)
                continue
            nb = enc.encode(&it, eng_wall_ns() // 1000000, out, _OBUF_CAP)
            t2 = eng_now_ns()
            eng_latency_record(L, ENG_STAGE_ENCODE, t2 - t1)
            if nb < 0:
                self.risk.release(self.c, &it)
                self._reject(&it, <int>nb, t_recv, conn_id)
                continue
            try:
                tr.send_reuse_external_buffer(WSMsgType.TEXT, out, nb)
            except Exception:
                self.risk.release(self.c, &it)
                self._reject(&it, ENG_ERR_TRANSPORT, t_recv, conn_id)
                continue
            t3 = eng_now_ns()
            eng_latency_record(L, ENG_STAGE_SEND, t3 - t2)
            if t_recv > 0 and t_recv <= t3:
                eng_latency_record(L, ENG_STAGE_TICK_TO_TRADE, t3 - t_recv)
            sr = &self._sent[self._sent_tail & (self._sent_cap - 1)]
            sr.client_id = it.client_id
            sr.target_id = it.target_id
            sr.px = it.px
            sr.sz = it.sz
            sr.t_recv = t_recv
            sr.t_send = t3
            sr.venue = it.venue
            sr.inst = it.inst
            sr.kind = it.kind
            sr.side = it.side
            sr.ord_type = it.ord_type
            sr.tif = it.tif
            sr.flags = it.flags
            sr.tag = it.tag
            sr.conn_id = conn_id
            sr.nbytes = <int32_t>nb
            self._sent_tail += 1
            self.st.sent += 1
        return 0

    cdef int _raise_pending_strategy_error(self) except -1:
        e = self._strategy_error
        if e is not None:
            self._strategy_error = None
            raise e
        return 0

    def feed(self, int conn_id, int venue, bytes frame not None, int64_t recv_ns=0):
        """Run ``frame`` through the hot path as if it arrived on listener ``conn_id``.

        Returns the event kind (> 0) or rc < 0; a frame with rc < 0 is also handed to the
        handler registered for ``conn_id`` (if any). ``recv_ns`` is CLOCK_MONOTONIC (0 = now).
        Raises StrategyError (kill switch engaged) when a hook failed.
        """
        self._check_venue(venue)
        cdef Decoder dec = <Decoder>self._decoders[venue]
        if dec is None:
            raise KeyError(f"no decoder for venue {venue}: call add_feed first")
        cdef int64_t t_in = eng_now_ns()
        cdef int inst = -1
        cdef int rc = self.process(conn_id, venue, dec, PyBytes_AS_STRING(frame),
                                   <size_t>PyBytes_GET_SIZE(frame), recv_ns if recv_ns else t_in, t_in, &inst)
        if rc < 0:
            self.st.cold += 1
            h = self._handlers.get(conn_id)
            if h is not None:
                h.on_cold_frame(conn_id, frame, rc, inst, recv_ns if recv_ns else t_in)
        self._raise_pending_strategy_error()
        return rc

    def set_clock(self, int64_t now_ns):
        """Run on a fixed clock: from now on book/top stamps of fed frames and every risk check (order-rate
        bucket, book age) use ``now_ns`` until the next call; ``set_clock(0)`` goes back to the live
        CLOCK_MONOTONIC. A replay sets the recorded time of each frame, fill and timer here, so the risk gate
        judges rates and quote age in recorded time. Latency stamps always stay on the real clock."""
        if now_ns < 0:
            raise ValueError(f"clock must be >= 0 ns (0 = live clock), got {now_ns}")
        self._clock_ns = now_ns

    @property
    def clock_ns(self):
        """The fixed clock set by ``set_clock`` (ns), 0 when the pipeline runs on the live clock."""
        return self._clock_ns

    def timer(self, now_ns=None):
        """Call the strategy's ``on_timer`` and send what it emitted. Raises StrategyError.
        ``now_ns`` defaults to the fixed clock if one is set, else to now.
        (``strategy.deliver_timer`` / ``deliver_fill`` on an attached strategy send at once too.)"""
        cdef int64_t t = (self._clock_ns or eng_now_ns()) if now_ns is None else int(now_ns)
        cdef int rc
        with nogil:
            rc = self.strategy.dispatch_timer(t)
        if rc < 0:
            self._on_hook_error(rc)
        self.drain(-1, t)
        self._raise_pending_strategy_error()
        return rc

    def fill(self, int inst, int side, int64_t px, int64_t sz, double fee=0.0, int64_t client_id=0,
             bint is_maker=False, bint apply=True, int64_t recv_ns=0):
        """One of our fills (from the router): update the Context position (``apply``), call the
        strategy's ``on_fill`` and send what it emitted. Raises StrategyError."""
        cdef int rc
        try:
            rc = self.strategy.deliver_fill(inst, side, px, sz, fee, client_id, is_maker, apply, recv_ns)
        except StrategyError:
            self.st.strategy_errors += 1
            self.drain(-1, eng_now_ns())
            raise
        self.drain(-1, recv_ns if recv_ns else eng_now_ns())
        return rc

    def flush(self):
        """Drain intents emitted outside a frame (e.g. a PyStrategy called from the shell)."""
        self.drain(-1, eng_now_ns())

    # ---- router side ------------------------------------------------------------------------------
    def drain_sent(self):
        """Orders written since the last call, oldest first, as dicts with ``SENT_FIELDS``."""
        cdef eng_sent* s
        out = []
        while self._sent_head != self._sent_tail:
            s = &self._sent[self._sent_head & (self._sent_cap - 1)]
            out.append({"client_id": s.client_id, "target_id": s.target_id, "venue": s.venue,
                        "inst": s.inst, "kind": s.kind, "side": s.side, "ord_type": s.ord_type,
                        "tif": s.tif, "flags": s.flags, "tag": s.tag, "px": s.px, "sz": s.sz,
                        "t_recv": s.t_recv, "t_send": s.t_send, "conn_id": s.conn_id,
                        "nbytes": s.nbytes})
            self._sent_head += 1
        return out

    def drain_rejects(self):
        """Rejected intents since the last call: the intent dict plus ``reason`` (ENG_RISK_* > 0 or
        ENG_ERR_* < 0), ``reason_name``, ``t_recv`` and ``conn_id``."""
        cdef eng_reject* r
        out = []
        while self._rej_head != self._rej_tail:
            r = &self._rej[self._rej_head & (self._rej_cap - 1)]
            d = intent_to_dict(&r.it)
            d["reason"] = r.reason
            d["reason_name"] = reason_name(r.reason) if r.reason > 0 else rc_name(r.reason)
            d["t_recv"] = r.t_recv
            d["conn_id"] = r.conn_id
            out.append(d)
            self._rej_head += 1
        return out

    def drain_pending(self):
        """Intents that passed risk for a venue with no order transport/encoder (the router sends
        them); each dict also carries ``t_recv`` and ``conn_id``."""
        out, self._pending = self._pending, []
        return out

    @property
    def stats(self):
        return {"frames": self.st.frames, "hot": self.st.hot, "cold": self.st.cold,
                "stale": self.st.stale, "intents": self.st.intents, "sent": self.st.sent,
                "pending": self.st.pending, "rejected": self.st.rejected,
                "rejects_dropped": self.st.rejects_dropped, "strategy_errors": self.st.strategy_errors}

    # ---- connections -------------------------------------------------------------------------------
    def listener(self, int conn_id, int venue, handler not None):
        """A compiled picows listener for market-data connection ``conn_id`` of ``venue``.

        ``handler`` receives ``on_cold_frame(conn_id, payload: bytes, rc, inst, recv_ns)`` for every
        frame the hot path did not consume and, if it defines them, ``on_ws_connected(conn_id,
        transport)``, ``on_ws_disconnected(conn_id)`` and ``on_strategy_error(conn_id, exc)`` (without
        it a StrategyError propagates to picows, which closes the connection; the kill switch is
        already engaged either way). Use it as the listener factory of ``picows.ws_connect``.
        """
        self._check_venue(venue)
        cdef Decoder dec = <Decoder>self._decoders[venue]
        if dec is None:
            raise KeyError(f"no decoder for venue {venue}: call add_feed first")
        if not hasattr(handler, "on_cold_frame"):
            raise TypeError("handler must define on_cold_frame(conn_id, payload, rc, inst, recv_ns)")
        self._handlers[conn_id] = handler
        cdef HotListener l = HotListener.__new__(HotListener)
        l.pipeline = self
        l.conn_id = conn_id
        l.venue = venue
        l.dec = dec
        l.handler = handler
        return l

    def bench_feed(self, int conn_id, int venue, list frames not None, int loops=1):
        """Benchmark helper: run ``frames`` (bytes) ``loops`` times through the hot path from C
        (no Python call per frame); returns elapsed ns. Cold frames are not handed to a handler."""
        self._check_venue(venue)
        cdef Decoder dec = <Decoder>self._decoders[venue]
        if dec is None:
            raise KeyError(f"no decoder for venue {venue}")
        cdef Py_ssize_t i, k, nf = len(frames)
        cdef int inst
        cdef bytes f
        cdef int64_t t0 = eng_now_ns(), t
        for k in range(loops):
            for i in range(nf):
                f = <bytes>frames[i]
                t = eng_now_ns()
                self.process(conn_id, venue, dec, PyBytes_AS_STRING(f), <size_t>PyBytes_GET_SIZE(f), t, t, &inst)
                self._raise_pending_strategy_error()
        return eng_now_ns() - t0


@cython.final
cdef class HotListener(WSListener):
    """picows listener of one market-data connection: every complete text/binary frame runs the
    hot path in ``on_ws_frame`` straight from picows's read buffer (no bytes object unless the frame
    is cold). PINGs are answered by picows (``enable_auto_pong``, its default)."""

    cpdef on_ws_connected(self, WSTransport transport):
        h = getattr(self.handler, "on_ws_connected", None)
        if h is not None:
            h(self.conn_id, transport)

    cpdef on_ws_disconnected(self, WSTransport transport):
        h = getattr(self.handler, "on_ws_disconnected", None)
        if h is not None:
            h(self.conn_id)

    cpdef on_ws_frame(self, WSTransport transport, WSFrame frame):
        cdef int64_t t_in = eng_now_ns()
        cdef int inst = -1
        cdef int rc
        cdef WSMsgType mt = frame.msg_type
        cdef Pipeline p = self.pipeline
        if (mt == WSMsgType.TEXT or mt == WSMsgType.BINARY) and frame.fin:
            rc = p.process(self.conn_id, self.venue, self.dec, frame.payload_ptr,
                           <size_t>frame.payload_size, t_in, t_in, &inst)
            if rc < 0:
                p.st.cold += 1
                self.handler.on_cold_frame(self.conn_id, frame.get_payload_as_bytes(), rc, inst, t_in)
            if p._strategy_error is not None:
                e = p._strategy_error
                p._strategy_error = None
                h = getattr(self.handler, "on_strategy_error", None)
                if h is None:
                    raise e
                h(self.conn_id, e)
        elif mt == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
        elif mt == WSMsgType.PING:                  # only when auto-pong was disabled
            transport.send_pong(frame.get_payload_as_bytes())
        elif mt == WSMsgType.PONG:
            return
        else:                                       # fragments: venues do not fragment market data
            p.st.frames += 1
            p.st.cold += 1
            self.handler.on_cold_frame(self.conn_id, frame.get_payload_as_bytes(), ENG_ERR_UNSUPPORTED, -1, t_in)


# ---- compiled busy-poll ----------------------------------------------------------------------------

cdef extern from "<poll.h>" nogil:
    struct pollfd:
        int fd
        short events
        short revents
    int poll(pollfd* fds, unsigned long nfds, int timeout)
    enum:
        POLLIN
        POLLERR
        POLLHUP
        POLLNVAL

cdef extern from "<sys/socket.h>" nogil:
    ssize_t recv(int fd, void* buf, size_t n, int flags)
    enum:
        MSG_DONTWAIT

from libc.errno cimport errno, EAGAIN, EINTR
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_WRITABLE, PyBUF_SIMPLE

cdef enum:
    _SPIN_MAX_CONNS = 16


@cython.final
cdef class BusySpin:
    """Opt-in compiled busy-poll of hot connections: the event loop never sleeps in epoll, and
    frames are read and run without a loop iteration per spin.

    One round (a ``loop.call_soon`` callback) spins in C for up to ``budget_us``: ``poll()`` with a
    zero timeout on the sockets of ``transports`` (picows WSTransports); when a plain-TCP socket is
    readable it ``recv(MSG_DONTWAIT)``s straight into picows's read buffer and calls the protocol's
    ``buffer_updated``, so the listener (e.g. the compiled ``HotListener``) runs the frame and writes
    the order inside that same call, with no epoll wake-up and no Python callback per spin. After
    the budget (or at once when a TLS socket is readable, or on EOF/error, which uvloop then reads
    itself) the round ends and re-schedules itself with ``call_soon``: timers, other connections
    and TLS reads run in between, each round costs one zero-timeout epoll of the loop.

    Costs one core at 100 %: use it only on a pinned, dedicated core (docs/operations.md). Stop it
    with ``stop()``; closed transports are dropped from the poll set by themselves.
    """
    cdef object loop
    cdef object _run_cb
    cdef list _trs                    # WSTransport per slot
    cdef list _protos                 # picows protocol per slot (direct reads), None for TLS
    cdef pollfd _fds[_SPIN_MAX_CONNS]
    cdef int _n
    cdef bint _on
    cdef readonly int64_t budget_ns
    cdef readonly uint64_t rounds     # loop callbacks run
    cdef readonly uint64_t polls      # poll() calls
    cdef readonly uint64_t reads      # recv() calls that returned data
    cdef readonly uint64_t handoffs   # rounds ended early to let the loop read (TLS, EOF, error)
    cdef readonly uint64_t warmups    # warm-up encodes done between rounds
    cdef OrderEncoder _warm_enc       # set_warmup: encode+sign a dummy order (never sent) ...
    cdef eng_intent _warm_it
    cdef char* _warm_buf
    cdef int64_t _warm_every_ns       # ... at most this often, while spinning
    cdef int64_t _warm_next

    def __cinit__(self, loop, transports=(), double budget_us=100.0):
        if budget_us <= 0:
            raise ValueError("budget_us must be > 0")
        self.loop = loop
        self.budget_ns = <int64_t>(budget_us * 1000.0)
        self._trs = []
        self._protos = []
        self._n = 0
        self.set_transports(transports)
        self._run_cb = self._round
        self._warm_buf = <char*>malloc(_OBUF_CAP)
        if self._warm_buf == NULL:
            raise MemoryError("warm-up buffer")

    def __dealloc__(self):
        free(self._warm_buf)

    def set_warmup(self, OrderEncoder encoder, dict intent=None, double every_us=200.0):
        """Keep the rarely taken order path cached while spinning: every ``every_us`` (between
        rounds) encode and sign ``intent`` (an intent dict as for ``OrderEncoder.encode_py``) with
        ``encoder`` into a scratch buffer. Nothing is sent and no risk state changes; the core is
        spinning anyway, so this costs no wake-up. ``encoder=None`` turns it off. WebSocket
        encoders only (a REST encoder keeps the last signature for the request being built)."""
        if encoder is None:
            self._warm_enc = None
            return
        if encoder.rest:
            raise ValueError("warm-up is for WebSocket order encoders only")
        if intent is None or every_us <= 0:
            raise ValueError("set_warmup needs an intent dict and every_us > 0")
        intent_from_dict(intent, &self._warm_it)
        if encoder.encode(&self._warm_it, eng_wall_ns() // 1000000, self._warm_buf, _OBUF_CAP) < 0:
            raise ValueError("the warm-up intent does not encode with this encoder")
        self._warm_enc = encoder
        self._warm_every_ns = <int64_t>(every_us * 1000.0)
        self._warm_next = 0

    def set_transports(self, transports):
        """Poll these picows WSTransports from now on (e.g. after a reconnect). An empty list still
        keeps the loop from sleeping. Disconnected transports are skipped."""
        cdef WSTransport tr
        cdef int n = 0
        trs = [t for t in transports if t is not None]
        if len(trs) > _SPIN_MAX_CONNS:
            raise ValueError(f"at most {_SPIN_MAX_CONNS} transports")
        protos = []
        for t in trs:
            if not isinstance(t, WSTransport):
                raise TypeError("transports must be picows WSTransport objects")
            tr = <WSTransport>t
            proto = None
            if not tr.is_secure:              # TLS: only readiness is polled, the loop decrypts
                proto = tr.underlying_transport.get_protocol()
                if not (hasattr(proto, "get_buffer") and hasattr(proto, "buffer_updated")):
                    raise TypeError("transport's protocol is not a buffered picows protocol")
            protos.append(proto)
        for t in trs:
            tr = <WSTransport>t
            self._fds[n].fd = tr._socket if (tr._socket >= 0 and not tr.is_disconnected) else -1
            self._fds[n].events = POLLIN
            self._fds[n].revents = 0
            n += 1
        self._trs = trs
        self._protos = protos
        self._n = n

    def start(self):
        if not self._on:
            self._on = True
            self.loop.call_soon(self._run_cb)

    def stop(self):
        self._on = False

    @property
    def running(self):
        return self._on

    @property
    def stats(self):
        return {"rounds": self.rounds, "polls": self.polls, "reads": self.reads, "handoffs": self.handoffs,
                "warmups": self.warmups}

    cdef int _read(self, int i) except -1:
        """One non-blocking read of slot ``i`` into picows's buffer. Returns 1 data, 0 nothing,
        -2 hand the socket to the loop (EOF/error: uvloop sees the same condition and closes)."""
        cdef Py_buffer view
        cdef ssize_t r
        cdef int err
        proto = self._protos[i]
        mv = proto.get_buffer(-1)
        PyObject_GetBuffer(mv, &view, PyBUF_WRITABLE)
        try:
            with nogil:
                r = recv(self._fds[i].fd, view.buf, <size_t>view.len, MSG_DONTWAIT)
                err = errno
        finally:
            PyBuffer_Release(&view)
        if r > 0:
            self.reads += 1
            try:
                proto.buffer_updated(r)
            except Exception as exc:          # what uvloop does on a failing protocol: report, close
                self._fds[i].fd = -1
                self.loop.call_exception_handler({"message": "BusySpin: protocol.buffer_updated failed",
                                                  "exception": exc, "protocol": proto})
                (<WSTransport>self._trs[i]).underlying_transport.abort()
                return -2
            return 1
        if r < 0 and (err == EAGAIN or err == EINTR):   # EWOULDBLOCK == EAGAIN on Linux
            return 0
        self._fds[i].fd = -1                  # EOF or error: the loop's own read handles it
        return -2

    def _round(self):
        cdef int64_t deadline
        cdef int i
        cdef WSTransport tr
        if not self._on:
            return
        self.rounds += 1
        for i in range(self._n):              # drop closing/closed connections (before uvloop frees the fd)
            tr = <WSTransport>self._trs[i]
            if self._fds[i].fd >= 0 and (tr.is_disconnected or tr.underlying_transport.is_closing()):
                self._fds[i].fd = -1
        deadline = eng_now_ns() + self.budget_ns
        try:
            self._spin(deadline)
        finally:                              # an error is reported by the loop; the spin goes on
            if self._on:
                self.loop.call_soon(self._run_cb)

    cdef int _spin(self, int64_t deadline) except -1:
        cdef int i, r, k
        cdef bint handoff = False
        while self._on and not handoff:
            with nogil:
                r = poll(self._fds, <unsigned long>self._n, 0)
            self.polls += 1
            if r > 0:
                for i in range(self._n):
                    if self._fds[i].fd < 0 or self._fds[i].revents == 0:
                        continue
                    if self._protos[i] is None or (self._fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)):
                        handoff = True        # TLS or a closing socket: let the loop read it now
                        continue
                    k = self._read(i)
                    if k == -2:
                        handoff = True
            if eng_now_ns() >= deadline:
                break
        if handoff:
            self.handoffs += 1
        elif self._warm_enc is not None and eng_now_ns() >= self._warm_next:
            self._warm()
        return 0

    cdef void _warm(self) noexcept:
        cdef OrderEncoder enc = self._warm_enc
        with nogil:
            enc.encode(&self._warm_it, eng_wall_ns() // 1000000, self._warm_buf, _OBUF_CAP)
            self._warm_next = eng_now_ns() + self._warm_every_ns
        self.warmups += 1
