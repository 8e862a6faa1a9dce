# SPDX-License-Identifier: Apache-2.0
# Public Cython API of engine.strategy: the shared engine state (Context) and the Strategy base class
# whose nogil hooks compiled strategies override. See pyx/strategy.pyx. Layout changes and any new cdef
# method bump engine.__abi__ (the vtable is ABI: new methods go on new classes).
cimport cython
from libc.stdint cimport int32_t, int64_t, uint64_t
from engine.types cimport *


cdef struct eng_strategy_state:       # all private base-class state (one field: no subclass shadowing)
    eng_intent_ring ring              # intents emitted by hooks, drained by the dispatcher
    eng_ctx* ctx                      # shared state (owned by the bound Context), NULL until bound
    int64_t next_client_id            # next client order id handed out (> 0)
    int64_t now_ns                    # CLOCK_MONOTONIC stamp of the event being dispatched
    uint64_t n_events                 # events dispatched to hooks
    uint64_t n_intents                # intents emitted
    int32_t err                       # sticky hard error (ENG_ERR_RING_FULL) until the dispatcher reads it
    int32_t last_rc                   # rc of the last failing hook (0 = none)


@cython.final
cdef class Context:
    cdef eng_ctx* c                   # owned, calloc'ed once; pointers into it stay valid for life
    cdef dict _instruments            # id -> engine.instruments.Instrument
    cdef dict _keep                   # inst -> object c.book[inst] points into (kept alive with the ctx)

    cdef int check_inst(self, int inst) except -1


cdef class Strategy:
    cdef eng_strategy_state _eng      # private: use the accessors below
    cdef Context _eng_context         # keeps the bound Context (and its eng_ctx) alive

    # ---- hooks: override with the same signature; return 0 or ENG_ERR_* (< 0 stops the batch) ----
    cdef int on_quote(self, const eng_quote* q) noexcept nogil
    cdef int on_trade(self, const eng_trade* t) noexcept nogil
    cdef int on_book(self, int inst) noexcept nogil
    cdef int on_fill(self, const eng_fill* f) noexcept nogil
    cdef int on_timer(self, int64_t now_ns) noexcept nogil

    # ---- emit helpers: return the new client id (> 0) or ENG_ERR_RING_FULL / ENG_ERR_DOMAIN ----
    cdef int64_t emit(self, eng_intent* it) noexcept nogil
    cdef int64_t buy(self, int inst, int64_t px, int64_t sz, int tif=*, int flags=*) noexcept nogil
    cdef int64_t sell(self, int inst, int64_t px, int64_t sz, int tif=*, int flags=*) noexcept nogil
    cdef int64_t market(self, int inst, int side, int64_t sz, int flags=*) noexcept nogil
    cdef int64_t cancel(self, int inst, int64_t client_id) noexcept nogil
    cdef int64_t cancel_all(self, int inst) noexcept nogil
    cdef int64_t amend(self, int inst, int64_t client_id, int64_t px, int64_t sz) noexcept nogil

    # ---- dispatch (the pipeline and benchmarks call these; the GIL is released once per call) ----
    cdef int dispatch_quotes(self, const eng_quote* qs, int n) noexcept
    cdef int dispatch_quote(self, const eng_quote* q) noexcept nogil
    cdef int dispatch_trade(self, const eng_trade* t) noexcept nogil
    cdef int dispatch_book(self, int inst) noexcept nogil
    cdef int dispatch_fill(self, const eng_fill* f) noexcept nogil
    cdef int dispatch_timer(self, int64_t now_ns) noexcept nogil
    cdef int pop_intent(self, eng_intent* out) noexcept nogil
    cdef int bind_ctx(self, Context ctx) except -1
    cdef inline int _finish(self, int rc) noexcept nogil:
        # a hook's rc, upgraded to the sticky hard error (ring full) if the hook ignored it
        if rc >= 0 and self._eng.err != 0:
            rc = self._eng.err
        if rc < 0:
            self._eng.err = 0
            self._eng.last_rc = rc
        return rc
    cdef int _check_rc(self, int rc) except -1

    # ---- inline accessors for hooks (valid after the strategy is bound to a Context) ----
    cdef inline eng_ctx* ctx(self) noexcept nogil:
        return self._eng.ctx

    cdef inline const eng_book_top* top(self, int inst) noexcept nogil:
        return &self._eng.ctx.top[inst]

    cdef inline const eng_position* position(self, int inst) noexcept nogil:
        return &self._eng.ctx.pos[inst]

    cdef inline const eng_instrument* instrument(self, int inst) noexcept nogil:
        return &self._eng.ctx.ins[inst]

    cdef inline double slow(self, int inst, int slot) noexcept nogil:
        return self._eng.ctx.slow[inst][slot]

    cdef inline int64_t slow_ts(self, int inst, int slot) noexcept nogil:
        return self._eng.ctx.slow_ts_ns[inst][slot]

    cdef inline eng_book* book(self, int inst) noexcept nogil:
        return self._eng.ctx.book[inst]

    cdef inline int64_t now_ns(self) noexcept nogil:
        return self._eng.now_ns


cdef class PyStrategy(Strategy):
    cdef object _eng_exc              # exception raised by the last failing *_py hook, or None
    cdef int _eng_py_mask             # which *_py hooks the Python subclass defines

    cdef int _py_result(self, object r) noexcept
    cdef int64_t _py_emit(self, int64_t rc) except -1


# intent <-> dict for the Python side (tests, the router's pending path)
cdef dict intent_to_dict(const eng_intent* it)
cdef int intent_from_dict(object d, eng_intent* out) except -1
