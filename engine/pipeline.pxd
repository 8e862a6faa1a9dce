# SPDX-License-Identifier: Apache-2.0
# Public Cython API of engine.pipeline: the compiled hot path frame -> decode -> book -> strategy -> risk ->
# encode -> send, and the picows listener that runs it. See pyx/pipeline.pyx. Layout changes bump engine.__abi__.
cimport cython
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from engine.types cimport *
from engine.strategy cimport Context, Strategy
from engine.risk cimport RiskGate
from engine.codec cimport Decoder
from engine.latency cimport LatencyRecorder
from picows.picows cimport WSListener, WSTransport, WSFrame

cdef extern from "engine/rc.h" nogil:
    enum:
        ENG_ERR_TRANSPORT


cdef struct eng_sent:                 # one order written to an order transport
    int64_t client_id                 # engine client order id of this request
    int64_t target_id                 # CANCEL/AMEND: client id of the order acted on
    int64_t px                        # price units (0 for market / cancel)
    int64_t sz                        # size units
    int64_t t_recv                    # CLOCK_MONOTONIC ns the triggering frame was received
    int64_t t_send                    # CLOCK_MONOTONIC ns after the transport write returned
    int32_t venue                     # ENG_VENUE_*
    int32_t inst                      # dense instrument id
    int32_t kind                      # ENG_INTENT_*
    int32_t side                      # ENG_SIDE_*
    int32_t ord_type                  # ENG_ORD_*
    int32_t tif                       # ENG_TIF_*
    int32_t flags                     # ENG_FLAG_*
    int32_t tag                       # strategy tag
    int32_t conn_id                   # listener connection the triggering frame came from (-1: none)
    int32_t nbytes                    # request length written


cdef struct eng_reject:               # an intent that was not sent
    eng_intent it                     # the intent as emitted (client_id assigned)
    int64_t t_recv                    # CLOCK_MONOTONIC ns of the triggering frame
    int32_t reason                    # ENG_RISK_* (> 0) or ENG_ERR_* (< 0: encode/capacity/transport)
    int32_t conn_id


cdef struct eng_pipe_stats:
    uint64_t frames                   # frames offered (listener + feed)
    uint64_t hot                      # frames consumed by the hot path (kind > 0, applied)
    uint64_t cold                     # frames handed to the handler (rc < 0)
    uint64_t stale                    # depth frames dropped as ENG_ERR_STALE_UPDATE
    uint64_t intents                  # intents drained from the strategy
    uint64_t sent                     # orders written to a transport
    uint64_t pending                  # intents kept for the Python router (no transport/encoder)
    uint64_t rejected                 # intents rejected (risk, encode, capacity, transport)
    uint64_t rejects_dropped          # rejects not recorded because the reject ring was full
    uint64_t strategy_errors          # hook rc < 0 (kill switch engaged)


@cython.final
cdef class Pipeline:
    cdef object __weakref__
    cdef readonly Context ctx
    cdef readonly Strategy strategy
    cdef readonly RiskGate risk
    cdef readonly LatencyRecorder latency
    cdef eng_ctx* c                   # == ctx.c
    cdef list _decoders               # [venue] -> Decoder or None
    cdef list _encoders               # [venue] -> OrderEncoder or None
    cdef list _transports             # [venue] -> WSTransport or None
    cdef dict _books                  # inst -> Book (keeps them alive while ctx.book[] points at them)
    cdef dict _handlers               # conn_id -> handler
    cdef list _pending                # intent dicts for the Python router
    cdef char* _obuf                  # one encode slot with headroom for the WS header
    cdef eng_sent* _sent              # sent ring (power of two)
    cdef uint32_t _sent_head, _sent_tail, _sent_cap
    cdef eng_reject* _rej             # reject ring (power of two)
    cdef uint32_t _rej_head, _rej_tail, _rej_cap
    cdef eng_pipe_stats st
    cdef object _strategy_error       # StrategyError of the last failing hook, raised by the caller
    cdef int64_t _wall_off            # CLOCK_REALTIME - CLOCK_MONOTONIC ns, refreshed every 1024 stamps
    cdef uint32_t _wall_age           # stamps since the refresh
    cdef int64_t _clock_ns            # fixed clock (set_clock, a replay's recorded time) for book/top stamps and
                                      # the risk check; 0 = CLOCK_MONOTONIC (live). Latency stamps stay real.

    cdef int process(self, int conn_id, int venue, Decoder dec, const char* buf, size_t n,
                     int64_t recv_ns, int64_t t_in, int* inst_out) except? -1000
    cdef int drain(self, int conn_id, int64_t t_recv) except -1
    cdef int _check_venue(self, int venue) except -1
    cdef int _on_hook_error(self, int hook) except -1
    cdef int _reject(self, const eng_intent* it, int reason, int64_t t_recv, int conn_id) noexcept
    cdef int _raise_pending_strategy_error(self) except -1


@cython.final
cdef class HotListener(WSListener):
    cdef readonly Pipeline pipeline
    cdef readonly int conn_id
    cdef readonly int venue
    cdef Decoder dec
    cdef readonly object handler
