# SPDX-License-Identifier: Apache-2.0
# engine.orders: compiled order encoders. An eng_intent becomes the exact request bytes (JSON for
# WebSocket order APIs and the Bybit/OKX/Bitget REST bodies, a signed query string for Binance REST)
# in a caller buffer, nogil and allocation-free; per-request HMAC signatures are computed here too.
# Shapes: ../shared/docs/exchange-protocols.md and the fixtures' docs/*.json.
cimport cython
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset, strlen
from cpython.bytes cimport PyBytes_FromStringAndSize

from engine.types cimport *
from engine.signing cimport Signer
from engine.orders cimport eng_ord_inst, eng_wbuf

import re as _re
from decimal import Decimal as _Decimal

from engine.errors import rc_name as _rc_name
from engine.instruments import Instrument as _Instrument, Venue as _Venue, decimals_of as _decimals_of

cdef enum:
    SCRATCH = 4096   # signing payload buffer
    MAXP = 16        # Binance parameters per request

#: Capacity callers should give ``encode`` (the largest request is well under 1 KiB).
ORDER_BUF_SIZE = 2048

cdef extern from *:
    """
    /* days since 1970-01-01 -> civil date (H. Hinnant's algorithm) */
    static inline void eng_civil(int64_t z, int* y, int* m, int* d) {
        z += 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t yy = yoe + era * 400;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        *d = (int)(doy - (153 * mp + 2) / 5 + 1);
        *m = (int)(mp < 10 ? mp + 3 : mp - 9);
        *y = (int)(yy + (*m <= 2));
    }
    """
    void eng_civil(int64_t z, int* y, int* m, int* d) nogil

cdef extern from *:
    """
    /* short copies (keys, ids, numbers) inline; a libc call costs more than the bytes */
    static inline void eng_copy(char* d, const char* s, size_t n) {
        if (n > 32) { memcpy(d, s, n); return; }
        while (n >= 8) { uint64_t t; __builtin_memcpy(&t, s, 8); __builtin_memcpy(d, &t, 8); d += 8; s += 8; n -= 8; }
        if (n >= 4) { uint32_t t; __builtin_memcpy(&t, s, 4); __builtin_memcpy(d, &t, 4); d += 4; s += 4; n -= 4; }
        while (n--) *d++ = *s++;
    }
    """
    void eng_copy(char* d, const char* s, size_t n) nogil


class EncodeError(ValueError):
    """``encode_py`` could not encode an intent; ``rc`` is the ENG_ERR_* code."""

    def __init__(self, rc: int, what: str = "") -> None:
        self.rc = rc
        super().__init__(f"{_rc_name(rc)}: {what}" if what else _rc_name(rc))


# ---- output buffer --------------------------------------------------------------------------------
ctypedef eng_wbuf wbuf


cdef inline void w_raw(wbuf* w, const char* s, size_t n) noexcept nogil:
    if w.n + n > w.cap:
        w.err = 1
        return
    eng_copy(w.p + w.n, s, n)
    w.n += n


cdef inline void w_lit(wbuf* w, const char* s) noexcept nogil:
    w_raw(w, s, strlen(s))


cdef inline void w_ch(wbuf* w, char c) noexcept nogil:
    if w.n + 1 > w.cap:
        w.err = 1
        return
    w.p[w.n] = c
    w.n += 1


cdef inline void w_i64(wbuf* w, int64_t v) noexcept nogil:
    cdef char tmp[24]
    cdef int n = 0
    cdef uint64_t u
    if v < 0:
        w_ch(w, b'-')
        u = <uint64_t>(-(v + 1)) + 1
    else:
        u = <uint64_t>v
    while True:
        tmp[n] = <char>(48 + u % 10)
        n += 1
        u //= 10
        if u == 0:
            break
    if w.n + n > w.cap:
        w.err = 1
        return
    while n:
        n -= 1
        w.p[w.n] = tmp[n]
        w.n += 1


# not inline: called from ~20 places; inlined everywhere it made the Bybit encoder ~10% slower
cdef void w_dec(wbuf* w, int64_t units, int32_t exp, int32_t dec) noexcept nogil:
    cdef char tmp[48]
    cdef int n = eng_format_decimal(units, exp, dec, tmp)
    w_raw(w, tmp, n)


cdef inline void w_b36(wbuf* w, int64_t v) noexcept nogil:
    cdef char tmp[16]
    cdef int n = 0
    cdef uint64_t u = <uint64_t>v
    cdef int dgt
    while True:
        dgt = <int>(u % 36)
        tmp[n] = <char>(48 + dgt if dgt < 10 else 87 + dgt)
        n += 1
        u //= 36
        if u == 0:
            break
    if w.n + n > w.cap:
        w.err = 1
        return
    while n:
        n -= 1
        w.p[w.n] = tmp[n]
        w.n += 1


cdef inline void w_iso_ms(wbuf* w, int64_t ts_ms) noexcept nogil:
    """OKX REST timestamp 2020-12-08T09:08:57.715Z (ts_ms >= 0)."""
    cdef int64_t secs = ts_ms // 1000
    cdef int ms = <int>(ts_ms % 1000)
    cdef int64_t days = secs // 86400
    cdef int64_t sod = secs % 86400
    cdef int y, m, d
    eng_civil(days, &y, &m, &d)
    cdef char t[24]
    t[0] = <char>(48 + (y // 1000) % 10); t[1] = <char>(48 + (y // 100) % 10)
    t[2] = <char>(48 + (y // 10) % 10); t[3] = <char>(48 + y % 10); t[4] = b'-'
    t[5] = <char>(48 + m // 10); t[6] = <char>(48 + m % 10); t[7] = b'-'
    t[8] = <char>(48 + d // 10); t[9] = <char>(48 + d % 10); t[10] = b'T'
    cdef int hh = <int>(sod // 3600), mi = <int>((sod % 3600) // 60), ss = <int>(sod % 60)
    t[11] = <char>(48 + hh // 10); t[12] = <char>(48 + hh % 10); t[13] = b':'
    t[14] = <char>(48 + mi // 10); t[15] = <char>(48 + mi % 10); t[16] = b':'
    t[17] = <char>(48 + ss // 10); t[18] = <char>(48 + ss % 10); t[19] = b'.'
    t[20] = <char>(48 + ms // 100); t[21] = <char>(48 + (ms // 10) % 10); t[22] = <char>(48 + ms % 10)
    t[23] = b'Z'
    w_raw(w, t, 24)


cdef inline void w_init(wbuf* w, char* p, size_t cap) noexcept nogil:
    w.p = p
    w.n = 0
    w.cap = cap
    w.err = 0


# JSON string values and their closing quote. The key literal stays at the call site
# (w_lit there folds its strlen to a constant; these helpers are too big for the compiler to
# inline and const-propagate a key passed in).
cdef inline void w_px_q(wbuf* w, const eng_intent* it, const eng_ord_inst* e) noexcept nogil:
    w_dec(w, it.px, e.px_exp, e.px_dec)
    w_ch(w, b'"')


cdef inline void w_sz_q(wbuf* w, const eng_intent* it, const eng_ord_inst* e) noexcept nogil:
    w_dec(w, it.sz, e.sz_exp, e.sz_dec)
    w_ch(w, b'"')


cdef inline void w_tif_q(wbuf* w, int tif, const char* gtc, size_t gtc_n, const char* ioc, size_t ioc_n,
                         const char* fok, size_t fok_n, const char* post, size_t post_n) noexcept nogil:
    """The venue's spelling of a time in force (ENG_TIF_POST_ONLY past FOK) and the closing quote;
    lengths passed in, as the compiler does not inline this to fold strlen of the literals."""
    if tif == ENG_TIF_GTC:
        w_raw(w, gtc, gtc_n)
    elif tif == ENG_TIF_IOC:
        w_raw(w, ioc, ioc_n)
    elif tif == ENG_TIF_FOK:
        w_raw(w, fok, fok_n)
    else:
        w_raw(w, post, post_n)
    w_ch(w, b'"')


# ---- client order ids ---------------------------------------------------------------------------
# "hp" + session_tag ([a-z0-9]{0,16}) + "Z" + base36(client_id): at most 32 characters of
# [a-zA-Z0-9], which fits Binance newClientOrderId (<= 36, ^[.A-Z:/a-z0-9_-]{1,36}$), Bybit
# orderLinkId (<= 36), OKX clOrdId (alphanumeric <= 32) and Bitget clientOid. The tag is lower
# case and base36 is lower case, so the single upper-case "Z" separates them unambiguously.
# Request ids: one kind letter (n new, c cancel, a amend, x cancel-all) + tag + "Z" + base36(client_id).

_TAG_RE = _re.compile(r"[a-z0-9]{0,16}")
_COID_RE = _re.compile(r"hp([a-z0-9]{0,16})Z([0-9a-z]{1,13})")
_REQ_RE = _re.compile(r"([ncax])([a-z0-9]{0,16})Z([0-9a-z]{1,13})")
_KIND_LETTER = {ENG_INTENT_NEW: "n", ENG_INTENT_CANCEL: "c", ENG_INTENT_AMEND: "a", ENG_INTENT_CANCEL_ALL: "x"}
_LETTER_KIND = {v: k for k, v in _KIND_LETTER.items()}
_MAX_CID = (1 << 63) - 1


cdef str _b36(int64_t v):
    cdef char buf[16]
    cdef wbuf w
    w_init(&w, buf, 16)
    w_b36(&w, v)
    return buf[:w.n].decode("ascii")


def check_session_tag(str tag) -> str:
    """Validate a session tag: 0..16 characters of ``[a-z0-9]``."""
    if _TAG_RE.fullmatch(tag) is None:
        raise ValueError(f"session tag {tag!r} must be 0..16 characters of [a-z0-9]")
    return tag


def make_session_tag(int64_t wall_s) -> str:
    """A per-run tag from the wall clock in seconds (base36, 6 characters until 2038+), so client
    order ids of different runs never collide."""
    if wall_s < 0:
        raise ValueError("negative time")
    return _b36(wall_s)


def client_order_id(venue: int, str session_tag, client_id: int) -> str:
    """The client order id the encoders send for ``client_id`` (same on every venue, fits all)."""
    _Venue(venue)
    check_session_tag(session_tag)
    if not 0 <= client_id <= _MAX_CID:
        raise ValueError(f"client id {client_id} outside 0..2^63-1")
    return f"hp{session_tag}Z{_b36(client_id)}"


def parse_client_order_id(str coid):
    """Inverse of :func:`client_order_id`: ``(session_tag, client_id)`` or ``None`` if the id was
    not made by hotpath (manual orders, other bots)."""
    m = _COID_RE.fullmatch(coid)
    if m is None:
        return None
    cid = int(m.group(2), 36)
    if cid > _MAX_CID:
        return None
    return m.group(1), cid


def request_id(kind: int, str session_tag, client_id: int) -> str:
    """The request id (Binance ``id``, Bybit ``reqId``, OKX ``id``) of an intent."""
    check_session_tag(session_tag)
    if not 0 <= client_id <= _MAX_CID:
        raise ValueError(f"client id {client_id} outside 0..2^63-1")
    return f"{_KIND_LETTER[kind]}{session_tag}Z{_b36(client_id)}"


def parse_request_id(str rid):
    """Inverse of :func:`request_id`: ``(kind, session_tag, client_id)`` or ``None``."""
    m = _REQ_RE.fullmatch(rid)
    if m is None:
        return None
    cid = int(m.group(3), 36)
    if cid > _MAX_CID:
        return None
    return _LETTER_KIND[m.group(1)], m.group(2), cid


def amend_keeps_client_id(venue: int) -> bool:
    """Whether an AMEND keeps the target's client order id (True: Binance USD-M order.modify, Bybit,
    OKX) or replaces the order under the amend intent's own client id (False: Binance spot
    order.cancelReplace, Bitget modify-order with newClientOid)."""
    v = _Venue(venue)
    return v in (_Venue.BINANCE_USDM, _Venue.BYBIT, _Venue.OKX)


# ---- REST routes ---------------------------------------------------------------------------------
cdef const char* _route(int venue, int kind, bint is_spot, const char** method) noexcept nogil:
    """(method, path) of the REST endpoint; NULL when the venue has no such endpoint here."""
    method[0] = b"POST"
    if venue == ENG_VENUE_BINANCE_SPOT:
        if kind == ENG_INTENT_NEW:
            return b"/api/v3/order"
        if kind == ENG_INTENT_CANCEL:
            method[0] = b"DELETE"
            return b"/api/v3/order"
        if kind == ENG_INTENT_AMEND:
            return b"/api/v3/order/cancelReplace"
        if kind == ENG_INTENT_CANCEL_ALL:
            method[0] = b"DELETE"
            return b"/api/v3/openOrders"
    elif venue == ENG_VENUE_BINANCE_USDM:
        if kind == ENG_INTENT_NEW:
            return b"/fapi/v1/order"
        if kind == ENG_INTENT_CANCEL:
            method[0] = b"DELETE"
            return b"/fapi/v1/order"
        if kind == ENG_INTENT_AMEND:
            method[0] = b"PUT"
            return b"/fapi/v1/order"
        if kind == ENG_INTENT_CANCEL_ALL:
            method[0] = b"DELETE"
            return b"/fapi/v1/allOpenOrders"
    elif venue == ENG_VENUE_BYBIT:
        if kind == ENG_INTENT_NEW:
            return b"/v5/order/create"
        if kind == ENG_INTENT_CANCEL:
            return b"/v5/order/cancel"
        if kind == ENG_INTENT_AMEND:
            return b"/v5/order/amend"
        if kind == ENG_INTENT_CANCEL_ALL:
            return b"/v5/order/cancel-all"
    elif venue == ENG_VENUE_OKX:
        if kind == ENG_INTENT_NEW:
            return b"/api/v5/trade/order"
        if kind == ENG_INTENT_CANCEL:
            return b"/api/v5/trade/cancel-order"
        if kind == ENG_INTENT_AMEND:
            return b"/api/v5/trade/amend-order"
    elif venue == ENG_VENUE_BITGET:
        if is_spot:
            if kind == ENG_INTENT_NEW:
                return b"/api/v2/spot/trade/place-order"
            if kind == ENG_INTENT_CANCEL:
                return b"/api/v2/spot/trade/cancel-order"
            if kind == ENG_INTENT_CANCEL_ALL:
                return b"/api/v2/spot/trade/cancel-symbol-order"
        else:
            if kind == ENG_INTENT_NEW:
                return b"/api/v2/mix/order/place-order"
            if kind == ENG_INTENT_CANCEL:
                return b"/api/v2/mix/order/cancel-order"
            if kind == ENG_INTENT_AMEND:
                return b"/api/v2/mix/order/modify-order"
    return NULL


# ---- Binance parameter list (kept in name order: the WS-API signs the sorted list) -------------
ctypedef struct bparam:
    const char* k       # name=  (query form, with the '=')
    const char* jk      # "name": or "name":"  (JSON form, with the opening quote of a string value)
    const char* v
    int klen, jklen, vlen
    int quoted


cdef inline void _bp(bparam* ps, int* n, const char* k, const char* jk, const char* v, int vlen,
                     int quoted) noexcept nogil:
    # inlined with literal k/jk, so the strlen calls fold to constants
    ps[n[0]].k = k
    ps[n[0]].klen = <int>strlen(k)
    ps[n[0]].jk = jk
    ps[n[0]].jklen = <int>strlen(jk)
    ps[n[0]].v = v
    ps[n[0]].vlen = vlen
    ps[n[0]].quoted = quoted
    n[0] += 1


cdef inline void _bquery(wbuf* w, const bparam* ps, int n) noexcept nogil:
    """name=value&... (the REST query string and the WS-API signature payload)."""
    cdef int i
    for i in range(n):
        if i:
            w_ch(w, b'&')
        w_raw(w, ps[i].k, ps[i].klen)
        w_raw(w, ps[i].v, ps[i].vlen)


cdef inline bint _safe_text(str s, int maxlen):
    if not 0 < len(s) <= maxlen or not s.isascii():
        return False
    for ch in s:
        if not (ch.isalnum() or ch in "-_./:"):
            return False
    return True


_KINDS = {"new": ENG_INTENT_NEW, "cancel": ENG_INTENT_CANCEL, "amend": ENG_INTENT_AMEND,
          "cancel_all": ENG_INTENT_CANCEL_ALL}
_SIDES = {"buy": ENG_SIDE_BUY, "sell": ENG_SIDE_SELL}
_TYPES = {"limit": ENG_ORD_LIMIT, "market": ENG_ORD_MARKET}
_TIFS = {"gtc": ENG_TIF_GTC, "ioc": ENG_TIF_IOC, "fok": ENG_TIF_FOK, "post_only": ENG_TIF_POST_ONLY}


cdef int _enum(object v, dict names, str what) except? -999:
    if isinstance(v, str):
        try:
            return names[v.lower()]
        except KeyError:
            raise ValueError(f"{what} {v!r}: expected one of {', '.join(names)}") from None
    return int(v)


@cython.final
cdef class OrderEncoder:
    """Encodes intents into one venue's order requests.

    Parameters
    ----------
    venue : int
        ``engine.instruments.Venue`` / ENG_VENUE_*.
    transport : str
        ``"ws"`` (Binance WS-API, Bybit v5 trade WS, OKX WS; Bitget has no documented WS order
        entry beyond the permission-gated spot ``place-order`` channel: only spot NEW orders encode
        over ``"ws"``, everything else returns ENG_ERR_UNSUPPORTED -> use REST) or ``"rest"``.
    api_key, secret, passphrase : str
        Credentials. Only the HMAC pad states of ``secret`` are kept; nothing secret is in repr.
    session_tag : str
        ``[a-z0-9]{0,16}``, embedded in every client order id and request id.
    recv_window : int
        ms; Binance ``recvWindow`` (0 omits it) and Bybit ``X-BAPI-RECV-WINDOW``.

    Notes
    -----
    ``encode`` writes the complete request: a WS text frame payload, or for REST the body (JSON;
    Binance: the signed query string). For REST the signature headers of the last request come
    from :meth:`rest_headers` (computed in ``encode``); :meth:`rest_route` gives method and path.
    """

    def __cinit__(self, int venue, str transport, str api_key, secret, str passphrase="",
                  str session_tag="", int64_t recv_window=5000):
        self.ins = NULL
        self.scratch = NULL
        if venue <= ENG_VENUE_NONE or venue >= ENG_VENUE_COUNT:
            raise ValueError(f"unknown venue {venue}")
        if transport not in ("ws", "rest"):
            raise ValueError(f"transport must be 'ws' or 'rest', not {transport!r}")
        if not _safe_text(api_key, 120):
            raise ValueError("api_key must be 1..120 characters of [A-Za-z0-9-_./:]")
        if venue in (ENG_VENUE_OKX, ENG_VENUE_BITGET) and not passphrase:
            raise ValueError("this venue needs a passphrase")
        if not 0 <= recv_window <= 60000:
            raise ValueError("recv_window must be within 0..60000 ms")
        check_session_tag(session_tag)
        self.venue = venue
        self.rest = transport == "rest"
        self.logged_on = False
        self.recv_window = recv_window
        self.signer = Signer(secret)
        self._passphrase = passphrase
        kb = api_key.encode("ascii")
        memcpy(self.key, <const char*>kb, len(kb))
        self.key_len = len(kb)
        tb = session_tag.encode("ascii")
        if len(tb):
            memcpy(self.tag, <const char*>tb, len(tb))
        self.tag_len = len(tb)
        self.ins = <eng_ord_inst*>calloc(ENG_MAX_INSTRUMENTS, sizeof(eng_ord_inst))
        self.scratch = <char*>calloc(SCRATCH, 1)
        if self.ins == NULL or self.scratch == NULL:
            raise MemoryError()
        self.sig_len = 0
        self.sig_ts_ms = 0
        self.last_kind = 0

    def __dealloc__(self):
        free(self.ins)
        free(self.scratch)

    def __repr__(self) -> str:
        return (f"OrderEncoder(venue={_Venue(self.venue).key}, transport={'rest' if self.rest else 'ws'}, "
                f"session_tag={self.session_tag!r})")

    def __reduce__(self):
        raise TypeError("OrderEncoder holds key material and cannot be pickled or copied")

    @property
    def session_tag(self) -> str:
        return self.tag[:self.tag_len].decode("ascii")

    @property
    def api_key(self) -> str:
        return self.key[:self.key_len].decode("ascii")

    def set_logged_on(self, bint on) -> None:
        """Binance WS-API: after a successful ``session.logon`` requests omit apiKey and signature."""
        if on and not (self.venue in (ENG_VENUE_BINANCE_SPOT, ENG_VENUE_BINANCE_USDM) and not self.rest):
            raise ValueError("session logon applies to the Binance WS-API only")
        self.logged_on = on

    def add_instrument(self, inst not None) -> None:
        """Register an :class:`engine.instruments.Instrument` of this venue (symbol, tick/lot
        decimals, product category)."""
        if not isinstance(inst, _Instrument):
            raise TypeError("inst must be an engine.instruments.Instrument")
        if int(inst.venue) != self.venue:
            raise ValueError(f"{inst.symbol} is on {inst.venue.key}, this encoder is {_Venue(self.venue).key}")
        if not _safe_text(inst.symbol, 47):
            raise ValueError(f"symbol {inst.symbol!r} has characters that cannot be sent unescaped")
        cdef eng_ord_inst* e = &self.ins[inst.id]
        cat = inst.category or ""
        is_spot = False
        mc = ""
        if self.venue == ENG_VENUE_BINANCE_SPOT:
            is_spot = True
        elif self.venue == ENG_VENUE_BYBIT:
            cat = (cat or "linear").lower()
            if cat not in ("spot", "linear", "inverse"):
                raise ValueError(f"bybit category {cat!r} not supported (spot, linear, inverse)")
            is_spot = cat == "spot"
        elif self.venue == ENG_VENUE_OKX:
            c = (cat or ("SWAP" if inst.symbol.endswith("-SWAP") else "SPOT")).upper()
            if c not in ("SPOT", "SWAP", "FUTURES"):
                raise ValueError(f"okx instType {c!r} not supported (SPOT, SWAP, FUTURES)")
            is_spot = c == "SPOT"
            cat = "cash" if is_spot else "cross"
        elif self.venue == ENG_VENUE_BITGET:
            c = (cat or "USDT-FUTURES").upper()
            if c == "SPOT":
                is_spot = True
                cat = "SPOT"
            elif c in ("USDT-FUTURES", "USDC-FUTURES", "SUSDT-FUTURES", "SUSDC-FUTURES"):
                cat = c
                mc = c.split("-")[0]
            elif c in ("COIN-FUTURES", "SCOIN-FUTURES"):
                cat = c
                if not inst.symbol.endswith("USD"):
                    raise ValueError(f"bitget coin-margined symbol {inst.symbol!r} must end with USD")
                mc = inst.symbol[:len(inst.symbol) - 3]
            else:
                raise ValueError(f"bitget productType {c!r} not supported")
        if len(cat) > 23 or len(mc) > 15:
            raise ValueError("category / margin coin too long")
        memset(e, 0, sizeof(eng_ord_inst))
        e.px_exp = inst.px_exp
        e.sz_exp = inst.sz_exp
        e.px_dec = min(_decimals_of(inst.tick_size), inst.px_exp)
        e.sz_dec = min(_decimals_of(inst.lot_size), inst.sz_exp)
        e.tick_px = max(1, inst.tick_units)
        e.lot_sz = max(1, inst.lot_units)
        e.is_spot = is_spot
        sb = inst.symbol.encode("ascii")
        memcpy(e.sym, <const char*>sb, len(sb))
        e.sym_len = len(sb)
        cb = cat.encode("ascii")
        if len(cb):
            memcpy(e.cat, <const char*>cb, len(cb))
        e.cat_len = len(cb)
        mb = mc.encode("ascii")
        if len(mb):
            memcpy(e.mc, <const char*>mb, len(mb))
        e.mc_len = len(mb)
        e.used = 1

    # ---- helpers writing ids -------------------------------------------------------------------
    cdef void _coid(self, wbuf* w, int64_t cid) noexcept nogil:
        w_raw(w, b"hp", 2)
        w_raw(w, self.tag, self.tag_len)
        w_ch(w, b'Z')
        w_b36(w, cid)

    cdef void _reqid(self, wbuf* w, int kind, int64_t cid) noexcept nogil:
        if kind == ENG_INTENT_NEW:
            w_ch(w, b'n')
        elif kind == ENG_INTENT_CANCEL:
            w_ch(w, b'c')
        elif kind == ENG_INTENT_AMEND:
            w_ch(w, b'a')
        else:
            w_ch(w, b'x')
        w_raw(w, self.tag, self.tag_len)
        w_ch(w, b'Z')
        w_b36(w, cid)

    # ---- validation shared by all venues -------------------------------------------------------
    cdef int _check(self, const eng_intent* it, const eng_ord_inst* e) noexcept nogil:
        if it.client_id < 0:
            return ENG_ERR_DOMAIN
        if it.kind == ENG_INTENT_CANCEL_ALL:
            return ENG_OK
        if it.kind == ENG_INTENT_CANCEL:
            return ENG_OK if it.target_id >= 0 else ENG_ERR_DOMAIN
        if it.kind != ENG_INTENT_NEW and it.kind != ENG_INTENT_AMEND:
            return ENG_ERR_DOMAIN
        if it.kind == ENG_INTENT_AMEND and it.target_id < 0:
            return ENG_ERR_DOMAIN
        if it.side != ENG_SIDE_BUY and it.side != ENG_SIDE_SELL:
            return ENG_ERR_DOMAIN
        if it.ord_type != ENG_ORD_LIMIT and it.ord_type != ENG_ORD_MARKET:
            return ENG_ERR_DOMAIN
        if it.tif < ENG_TIF_GTC or it.tif > ENG_TIF_POST_ONLY:
            return ENG_ERR_DOMAIN
        if it.sz <= 0:
            return ENG_ERR_DOMAIN
        if it.sz % e.lot_sz != 0:
            return ENG_ERR_PRECISION
        if it.ord_type == ENG_ORD_LIMIT or it.kind == ENG_INTENT_AMEND:
            if it.px <= 0:
                return ENG_ERR_DOMAIN
            if it.px % e.tick_px != 0:
                return ENG_ERR_PRECISION
        if it.ord_type == ENG_ORD_MARKET and (it.tif == ENG_TIF_POST_ONLY or it.tif == ENG_TIF_FOK):
            return ENG_ERR_UNSUPPORTED
        if (it.flags & ENG_FLAG_REDUCE_ONLY) and e.is_spot:
            return ENG_ERR_UNSUPPORTED
        return ENG_OK

    cdef int encode(self, const eng_intent* it, int64_t ts_ms, char* out, size_t cap) noexcept nogil:
        """Write the request for ``it`` into ``out[0..cap)``; returns its length or an ENG_ERR_* rc
        (UNKNOWN_SYMBOL, DOMAIN, PRECISION, UNSUPPORTED for combinations the venue lacks, CAPACITY).
        ``ts_ms`` is the venue timestamp (wall clock ms, offset-corrected by the caller).
        Not reentrant: one encoder per thread (it reuses its signing scratch buffer)."""
        if it.inst < 0 or it.inst >= ENG_MAX_INSTRUMENTS or not self.ins[it.inst].used:
            return ENG_ERR_UNKNOWN_SYMBOL
        if it.venue != ENG_VENUE_NONE and it.venue != self.venue:
            return ENG_ERR_DOMAIN        # routed to the wrong venue's encoder
        if ts_ms < 0:
            return ENG_ERR_DOMAIN
        cdef const eng_ord_inst* e = &self.ins[it.inst]
        cdef int rc = self._check(it, e)
        if rc != ENG_OK:
            return rc
        cdef wbuf w
        w_init(&w, out, cap)
        self.sig_len = 0
        self.last_kind = it.kind
        if self.venue == ENG_VENUE_BINANCE_SPOT or self.venue == ENG_VENUE_BINANCE_USDM:
            rc = self._binance(it, e, ts_ms, &w)
        elif self.venue == ENG_VENUE_BYBIT:
            rc = self._bybit(it, e, ts_ms, &w)
        elif self.venue == ENG_VENUE_OKX:
            rc = self._okx(it, e, ts_ms, &w)
        else:
            rc = self._bitget(it, e, ts_ms, &w)
        if rc != ENG_OK:
            return rc
        if w.err:
            return ENG_ERR_CAPACITY
        return <int>w.n

    # ---- Binance (spot /ws-api/v3, USD-M /ws-fapi/v1, REST /api/v3 and /fapi/v1) ----------------
    cdef int _binance(self, const eng_intent* it, const eng_ord_inst* e, int64_t ts_ms, wbuf* w) noexcept nogil:
        cdef bint usdm = self.venue == ENG_VENUE_BINANCE_USDM
        cdef bint signed = self.rest or not self.logged_on
        cdef bparam ps[MAXP]
        cdef int n = 0
        cdef char vals[512]
        cdef wbuf a
        w_init(&a, vals, 512)
        cdef size_t o_coid, o_orig, o_px, o_sz, o_rw, o_ts, l_coid, l_orig, l_px, l_sz, l_rw, l_ts
        cdef const char* method
        cdef const char* side = b"BUY" if it.side == ENG_SIDE_BUY else b"SELL"
        cdef const char* typ = b"LIMIT"
        cdef const char* tif = NULL
        cdef int kind = it.kind
        # values first (arena offsets), then the name-ordered list pointing into the arena
        o_coid = a.n
        if kind != ENG_INTENT_CANCEL and kind != ENG_INTENT_CANCEL_ALL:
            self._coid(&a, it.client_id)
        l_coid = a.n - o_coid
        o_orig = a.n
        if kind == ENG_INTENT_CANCEL or kind == ENG_INTENT_AMEND:
            self._coid(&a, it.target_id)
        l_orig = a.n - o_orig
        o_px = a.n
        w_dec(&a, it.px, e.px_exp, e.px_dec)
        l_px = a.n - o_px
        o_sz = a.n
        w_dec(&a, it.sz, e.sz_exp, e.sz_dec)
        l_sz = a.n - o_sz
        o_rw = a.n
        w_i64(&a, self.recv_window)
        l_rw = a.n - o_rw
        o_ts = a.n
        w_i64(&a, ts_ms)
        l_ts = a.n - o_ts
        if a.err:
            return ENG_ERR_CAPACITY
        if kind == ENG_INTENT_NEW or kind == ENG_INTENT_AMEND:
            if it.ord_type == ENG_ORD_MARKET:
                typ = b"MARKET"
                if it.tif != ENG_TIF_GTC and it.tif != ENG_TIF_IOC:
                    return ENG_ERR_UNSUPPORTED
            elif it.tif == ENG_TIF_GTC:
                tif = b"GTC"
            elif it.tif == ENG_TIF_IOC:
                tif = b"IOC"
            elif it.tif == ENG_TIF_FOK:
                tif = b"FOK"
            elif usdm:
                tif = b"GTX"           # USD-M post-only
            else:
                typ = b"LIMIT_MAKER"   # spot post-only: no timeInForce
        # which parameters this request carries (the list stays in name order)
        cdef bint replace = False     # spot AMEND = order.cancelReplace (new order under client_id)
        if kind == ENG_INTENT_NEW:
            method = b"order.place"
        elif kind == ENG_INTENT_CANCEL:
            method = b"order.cancel"
        elif kind == ENG_INTENT_AMEND:
            if it.flags & ENG_FLAG_REDUCE_ONLY:
                return ENG_ERR_UNSUPPORTED
            if usdm:
                # order.modify (PUT /fapi/v1/order): limit orders only, keeps origClientOrderId
                if it.ord_type != ENG_ORD_LIMIT:
                    return ENG_ERR_UNSUPPORTED
                method = b"order.modify"
            else:
                method = b"order.cancelReplace"
                replace = True
        else:  # CANCEL_ALL
            if usdm and not self.rest:
                return ENG_ERR_UNSUPPORTED   # the USD-M WS-API has no cancel-all; REST DELETE allOpenOrders
            method = b"openOrders.cancelAll"
        cdef bint placing = kind == ENG_INTENT_NEW or replace          # new client id, type, tif
        cdef bint sized = kind == ENG_INTENT_NEW or kind == ENG_INTENT_AMEND
        if signed and not self.rest:
            _bp(ps, &n, b"apiKey=", b'"apiKey":"', self.key, self.key_len, 1)
        if replace:
            _bp(ps, &n, b"cancelOrigClientOrderId=", b'"cancelOrigClientOrderId":"', vals + o_orig, l_orig, 1)
            _bp(ps, &n, b"cancelReplaceMode=", b'"cancelReplaceMode":"', b"STOP_ON_FAILURE", 15, 1)
        if placing:
            _bp(ps, &n, b"newClientOrderId=", b'"newClientOrderId":"', vals + o_coid, l_coid, 1)
        if kind == ENG_INTENT_CANCEL or (kind == ENG_INTENT_AMEND and not replace):
            _bp(ps, &n, b"origClientOrderId=", b'"origClientOrderId":"', vals + o_orig, l_orig, 1)
        if sized:
            if it.ord_type == ENG_ORD_LIMIT:
                _bp(ps, &n, b"price=", b'"price":"', vals + o_px, l_px, 1)
            _bp(ps, &n, b"quantity=", b'"quantity":"', vals + o_sz, l_sz, 1)
        if self.recv_window:
            _bp(ps, &n, b"recvWindow=", b'"recvWindow":', vals + o_rw, l_rw, 0)
        if kind == ENG_INTENT_NEW and (it.flags & ENG_FLAG_REDUCE_ONLY):
            _bp(ps, &n, b"reduceOnly=", b'"reduceOnly":"', b"true", 4, 1)
        if sized:
            _bp(ps, &n, b"side=", b'"side":"', side, strlen(side), 1)
        _bp(ps, &n, b"symbol=", b'"symbol":"', e.sym, e.sym_len, 1)
        if placing and tif != NULL:
            _bp(ps, &n, b"timeInForce=", b'"timeInForce":"', tif, 3, 1)
        _bp(ps, &n, b"timestamp=", b'"timestamp":', vals + o_ts, l_ts, 0)
        if placing:
            _bp(ps, &n, b"type=", b'"type":"', typ, strlen(typ), 1)

        cdef int i
        cdef wbuf q
        cdef char sig[64]
        if self.rest:
            # the query string itself is the signed payload; signature appended last
            _bquery(w, ps, n)
            if w.err:
                return ENG_ERR_CAPACITY
            self.signer.sign_hex_into(w.p, w.n, sig)
            w_raw(w, b"&signature=", 11)
            w_raw(w, sig, 64)
            memcpy(self.sig, sig, 64)
            self.sig_len = 64
            self.sig_ts_ms = ts_ms
            return ENG_OK
        if signed:
            w_init(&q, self.scratch, SCRATCH)
            _bquery(&q, ps, n)
            if q.err:
                return ENG_ERR_CAPACITY
            self.signer.sign_hex_into(q.p, q.n, sig)
        w_lit(w, b'{"id":"')
        self._reqid(w, kind, it.client_id)
        w_lit(w, b'","method":"')
        w_lit(w, method)
        w_lit(w, b'","params":{')
        for i in range(n):
            if i:
                w_ch(w, b',')
            w_raw(w, ps[i].jk, ps[i].jklen)
            w_raw(w, ps[i].v, ps[i].vlen)
            if ps[i].quoted:
                w_ch(w, b'"')
        if signed:
            w_lit(w, b',"signature":"')
            w_raw(w, sig, 64)
            w_ch(w, b'"')
        w_lit(w, b'}}')
        return ENG_OK

    # ---- Bybit v5 (trade WS op / REST body) -----------------------------------------------------
    cdef int _bybit(self, const eng_intent* it, const eng_ord_inst* e, int64_t ts_ms, wbuf* w) noexcept nogil:
        cdef int kind = it.kind
        cdef const char* op
        cdef size_t body0
        if kind == ENG_INTENT_NEW:
            op = b"order.create"
        elif kind == ENG_INTENT_CANCEL:
            op = b"order.cancel"
        elif kind == ENG_INTENT_AMEND:
            op = b"order.amend"
        else:
            if not self.rest:
                return ENG_ERR_UNSUPPORTED   # the trade WS has no cancel-all; REST /v5/order/cancel-all
            op = NULL
        if not self.rest:
            w_lit(w, b'{"reqId":"')
            self._reqid(w, kind, it.client_id)
            w_lit(w, b'","header":{"X-BAPI-TIMESTAMP":"')
            w_i64(w, ts_ms)
            w_lit(w, b'","X-BAPI-RECV-WINDOW":"')
            w_i64(w, self.recv_window)
            w_lit(w, b'"},"op":"')
            w_lit(w, op)
            w_lit(w, b'","args":[')
        body0 = w.n
        w_lit(w, b'{"category":"')
        w_raw(w, e.cat, e.cat_len)
        w_lit(w, b'","symbol":"')
        w_raw(w, e.sym, e.sym_len)
        w_ch(w, b'"')
        if kind == ENG_INTENT_NEW:
            w_lit(w, b',"side":"')
            w_lit(w, b"Buy" if it.side == ENG_SIDE_BUY else b"Sell")
            if it.ord_type == ENG_ORD_MARKET:
                w_lit(w, b'","orderType":"Market","qty":"')
                w_sz_q(w, it, e)
                if e.is_spot:
                    w_lit(w, b',"marketUnit":"baseCoin"')   # spot market qty is quote by default
            else:
                w_lit(w, b'","orderType":"Limit","qty":"')
                w_sz_q(w, it, e)
                w_lit(w, b',"price":"')
                w_px_q(w, it, e)
                w_lit(w, b',"timeInForce":"')
                w_tif_q(w, it.tif, b"GTC", 3, b"IOC", 3, b"FOK", 3, b"PostOnly", 8)
            w_lit(w, b',"orderLinkId":"')
            w_coid_q(self, w, it.client_id)
            if it.flags & ENG_FLAG_REDUCE_ONLY:
                w_lit(w, b',"reduceOnly":true')
        elif kind == ENG_INTENT_CANCEL:
            w_lit(w, b',"orderLinkId":"')
            w_coid_q(self, w, it.target_id)
        elif kind == ENG_INTENT_AMEND:
            if it.ord_type != ENG_ORD_LIMIT or (it.flags & ENG_FLAG_REDUCE_ONLY):
                return ENG_ERR_UNSUPPORTED
            w_lit(w, b',"orderLinkId":"')
            w_coid_q(self, w, it.target_id)
            w_lit(w, b',"qty":"')
            w_sz_q(w, it, e)
            w_lit(w, b',"price":"')
            w_px_q(w, it, e)
        w_ch(w, b'}')
        if not self.rest:
            w_lit(w, b']}')
            return ENG_OK
        if w.err:
            return ENG_ERR_CAPACITY
        # REST: X-BAPI-SIGN = hex HMAC(timestamp + api_key + recv_window + body)
        cdef wbuf q
        w_init(&q, self.scratch, SCRATCH)
        w_i64(&q, ts_ms)
        w_raw(&q, self.key, self.key_len)
        w_i64(&q, self.recv_window)
        w_raw(&q, w.p + body0, w.n - body0)
        return _rest_sign(self, &q, ts_ms, False)

    # ---- OKX v5 (WS op / REST body) ------------------------------------------------------------
    cdef int _okx(self, const eng_intent* it, const eng_ord_inst* e, int64_t ts_ms, wbuf* w) noexcept nogil:
        cdef int kind = it.kind
        cdef const char* op
        cdef size_t body0
        if kind == ENG_INTENT_NEW:
            op = b"order"
        elif kind == ENG_INTENT_CANCEL:
            op = b"cancel-order"
        elif kind == ENG_INTENT_AMEND:
            op = b"amend-order"
        else:
            return ENG_ERR_UNSUPPORTED   # OKX mass-cancel covers options only
        if kind == ENG_INTENT_AMEND and (it.ord_type != ENG_ORD_LIMIT or (it.flags & ENG_FLAG_REDUCE_ONLY)):
            return ENG_ERR_UNSUPPORTED
        if not self.rest:
            w_lit(w, b'{"id":"')
            self._reqid(w, kind, it.client_id)
            w_lit(w, b'","op":"')
            w_lit(w, op)
            w_lit(w, b'","args":[')
        body0 = w.n
        w_lit(w, b'{"instId":"')
        w_raw(w, e.sym, e.sym_len)
        w_ch(w, b'"')
        if kind == ENG_INTENT_NEW:
            w_lit(w, b',"tdMode":"')
            w_raw(w, e.cat, e.cat_len)
            w_lit(w, b'","side":"')
            w_lit(w, b"buy" if it.side == ENG_SIDE_BUY else b"sell")
            if it.ord_type == ENG_ORD_MARKET:
                w_lit(w, b'","ordType":"market"')
            else:
                w_lit(w, b'","ordType":"')
                w_tif_q(w, it.tif, b"limit", 5, b"ioc", 3, b"fok", 3, b"post_only", 9)
            w_lit(w, b',"sz":"')
            w_sz_q(w, it, e)
            if it.ord_type == ENG_ORD_LIMIT:
                w_lit(w, b',"px":"')
                w_px_q(w, it, e)
            elif e.is_spot:
                w_lit(w, b',"tgtCcy":"base_ccy"')      # spot market sz is quote by default
            w_lit(w, b',"clOrdId":"')
            w_coid_q(self, w, it.client_id)
            if it.flags & ENG_FLAG_REDUCE_ONLY:
                w_lit(w, b',"reduceOnly":true')
        elif kind == ENG_INTENT_CANCEL:
            w_lit(w, b',"clOrdId":"')
            w_coid_q(self, w, it.target_id)
        else:
            w_lit(w, b',"clOrdId":"')
            w_coid_q(self, w, it.target_id)
            w_lit(w, b',"newSz":"')
            w_sz_q(w, it, e)
            w_lit(w, b',"newPx":"')
            w_px_q(w, it, e)
        w_ch(w, b'}')
        if not self.rest:
            w_lit(w, b']}')
            return ENG_OK
        if w.err:
            return ENG_ERR_CAPACITY
        # REST: OK-ACCESS-SIGN = base64 HMAC(iso_ts + "POST" + path + body)
        cdef const char* method
        cdef const char* path = _route(self.venue, kind, e.is_spot, &method)
        cdef wbuf q
        w_init(&q, self.scratch, SCRATCH)
        w_iso_ms(&q, ts_ms)
        w_lit(&q, method)
        w_lit(&q, path)
        w_raw(&q, w.p + body0, w.n - body0)
        return _rest_sign(self, &q, ts_ms, True)

    # ---- Bitget v2 (REST body) -----------------------------------------------------------------
    cdef int _bitget(self, const eng_intent* it, const eng_ord_inst* e, int64_t ts_ms, wbuf* w) noexcept nogil:
        cdef int kind = it.kind
        cdef const char* method
        cdef const char* path = _route(self.venue, kind, e.is_spot, &method)
        if path == NULL:
            return ENG_ERR_UNSUPPORTED   # spot amend; futures cancel-all (it cancels every symbol)
        if not self.rest:
            return self._bitget_ws(it, e, w)
        w_lit(w, b'{"symbol":"')
        w_raw(w, e.sym, e.sym_len)
        w_ch(w, b'"')
        if not e.is_spot:
            w_lit(w, b',"productType":"')
            w_raw(w, e.cat, e.cat_len)
            w_lit(w, b'","marginCoin":"')
            w_raw(w, e.mc, e.mc_len)
            w_ch(w, b'"')
        if kind == ENG_INTENT_NEW:
            if e.is_spot and it.ord_type == ENG_ORD_MARKET and it.side == ENG_SIDE_BUY:
                return ENG_ERR_UNSUPPORTED   # spot market buy size is in quote currency
            if not e.is_spot:
                w_lit(w, b',"marginMode":"crossed"')
            w_lit(w, b',"side":"')
            w_lit(w, b"buy" if it.side == ENG_SIDE_BUY else b"sell")
            if it.ord_type == ENG_ORD_MARKET:
                w_lit(w, b'","orderType":"market","size":"')
                w_sz_q(w, it, e)
            else:
                w_lit(w, b'","orderType":"limit","force":"')
                w_tif_q(w, it.tif, b"gtc", 3, b"ioc", 3, b"fok", 3, b"post_only", 9)
                w_lit(w, b',"price":"')
                w_px_q(w, it, e)
                w_lit(w, b',"size":"')
                w_sz_q(w, it, e)
            w_lit(w, b',"clientOid":"')
            w_coid_q(self, w, it.client_id)
            if it.flags & ENG_FLAG_REDUCE_ONLY:
                w_lit(w, b',"reduceOnly":"YES"')
        elif kind == ENG_INTENT_CANCEL:
            w_lit(w, b',"clientOid":"')
            w_coid_q(self, w, it.target_id)
        elif kind == ENG_INTENT_AMEND:
            if it.ord_type != ENG_ORD_LIMIT or (it.flags & ENG_FLAG_REDUCE_ONLY):
                return ENG_ERR_UNSUPPORTED
            w_lit(w, b',"clientOid":"')
            w_coid_q(self, w, it.target_id)
            w_lit(w, b',"newClientOid":"')
            w_coid_q(self, w, it.client_id)
            w_lit(w, b',"newSize":"')
            w_sz_q(w, it, e)
            w_lit(w, b',"newPrice":"')
            w_px_q(w, it, e)
        w_ch(w, b'}')
        if w.err:
            return ENG_ERR_CAPACITY
        # ACCESS-SIGN = base64 HMAC(ts_ms + "POST" + path + body)
        cdef wbuf q
        w_init(&q, self.scratch, SCRATCH)
        w_i64(&q, ts_ms)
        w_lit(&q, method)
        w_lit(&q, path)
        w_raw(&q, w.p, w.n)
        return _rest_sign(self, &q, ts_ms, True)

    cdef int _bitget_ws(self, const eng_intent* it, const eng_ord_inst* e, eng_wbuf* w) noexcept nogil:
        """Bitget v2 private WS ``trade`` op, ``place-order`` channel: documented for spot only
        (access granted per account by Bitget); no cancel/amend channel in the docs we have."""
        if it.kind != ENG_INTENT_NEW or not e.is_spot:
            return ENG_ERR_UNSUPPORTED
        if it.ord_type == ENG_ORD_MARKET and it.side == ENG_SIDE_BUY:
            return ENG_ERR_UNSUPPORTED   # market buy size is in quote currency
        w_lit(w, b'{"op":"trade","args":[{"id":"')
        self._reqid(w, it.kind, it.client_id)
        w_lit(w, b'","instType":"SPOT","instId":"')
        w_raw(w, e.sym, e.sym_len)
        w_lit(w, b'","channel":"place-order","params":{"orderType":"')
        if it.ord_type == ENG_ORD_MARKET:
            w_lit(w, b'market","side":"sell","size":"')
            w_sz_q(w, it, e)
            w_lit(w, b',"force":"gtc"')
        else:
            w_lit(w, b'limit","side":"')
            w_lit(w, b"buy" if it.side == ENG_SIDE_BUY else b"sell")
            w_lit(w, b'","size":"')
            w_sz_q(w, it, e)
            w_lit(w, b',"price":"')
            w_px_q(w, it, e)
            w_lit(w, b',"force":"')
            w_tif_q(w, it.tif, b"gtc", 3, b"ioc", 3, b"fok", 3, b"post_only", 9)
        w_lit(w, b',"clientOid":"')
        w_coid_q(self, w, it.client_id)
        w_lit(w, b'}}]}')
        return ENG_OK

    # ---- Python API ----------------------------------------------------------------------------
    def rest_route(self, kind, int inst=-1) -> tuple:
        """``(method, path)`` of the REST endpoint for an intent kind (Bitget needs ``inst`` to tell
        spot from futures). Raises EncodeError(ENG_ERR_UNSUPPORTED) where there is none."""
        cdef int k = _enum(kind, _KINDS, "kind")
        cdef bint is_spot = self.venue == ENG_VENUE_BINANCE_SPOT
        if 0 <= inst < ENG_MAX_INSTRUMENTS and self.ins[inst].used:
            is_spot = self.ins[inst].is_spot
        cdef const char* method
        cdef const char* path = _route(self.venue, k, is_spot, &method)
        if path == NULL:
            raise EncodeError(ENG_ERR_UNSUPPORTED, f"no REST endpoint for kind {k} on {_Venue(self.venue).key}")
        return (<bytes>method).decode(), (<bytes>path).decode()

    @property
    def last_signature(self) -> str:
        """REST: the signature computed by the last ``encode`` ('' for WS requests)."""
        return self.sig[:self.sig_len].decode("ascii")

    def rest_headers(self) -> dict:
        """REST: the auth headers that go with the last encoded request (Binance: only the key,
        the signature is inside the query string)."""
        if not self.rest:
            raise ValueError("rest_headers() needs a REST encoder")
        if self.sig_len == 0:
            raise ValueError("no REST request encoded yet")
        sig = self.last_signature
        key = self.api_key
        ts = self.sig_ts_ms
        if self.venue in (ENG_VENUE_BINANCE_SPOT, ENG_VENUE_BINANCE_USDM):
            return {"X-MBX-APIKEY": key}
        if self.venue == ENG_VENUE_BYBIT:
            return {"X-BAPI-API-KEY": key, "X-BAPI-TIMESTAMP": str(ts), "X-BAPI-RECV-WINDOW": str(self.recv_window),
                    "X-BAPI-SIGN": sig, "Content-Type": "application/json"}
        if self.venue == ENG_VENUE_OKX:
            iso = _iso(ts)
            return {"OK-ACCESS-KEY": key, "OK-ACCESS-SIGN": sig, "OK-ACCESS-TIMESTAMP": iso,
                    "OK-ACCESS-PASSPHRASE": self._passphrase, "Content-Type": "application/json"}
        return {"ACCESS-KEY": key, "ACCESS-SIGN": sig, "ACCESS-TIMESTAMP": str(ts),
                "ACCESS-PASSPHRASE": self._passphrase, "Content-Type": "application/json", "locale": "en-US"}

    def encode_py(self, dict intent not None, int64_t ts_ms, int cap=2048) -> bytes:
        """Encode an intent given as a dict (tests, router tools): ``kind`` (new/cancel/amend/
        cancel_all or ENG_INTENT_*), ``inst``, ``side`` (buy/sell), ``ord_type`` (limit/market,
        default limit), ``tif`` (gtc/ioc/fok/post_only, default gtc), ``px``/``sz`` (int units or
        decimal str), ``client_id``, ``target_id``, ``reduce_only``/``flags``. ``cap`` (<= 2048)
        limits the output buffer. Raises EncodeError."""
        if not 0 <= cap <= 2048:
            raise ValueError("cap must be within 0..2048")
        cdef eng_intent it
        memset(&it, 0, sizeof(eng_intent))
        it.kind = _enum(intent.get("kind", "new"), _KINDS, "kind")
        it.inst = int(intent["inst"])
        it.venue = int(intent.get("venue", self.venue))
        it.side = _enum(intent.get("side", ENG_SIDE_NONE), _SIDES, "side")
        it.ord_type = _enum(intent.get("ord_type", ENG_ORD_LIMIT), _TYPES, "ord_type")
        it.tif = _enum(intent.get("tif", ENG_TIF_GTC), _TIFS, "tif")
        it.client_id = int(intent.get("client_id", 0))
        it.target_id = int(intent.get("target_id", -1))
        it.flags = int(intent.get("flags", 0))
        if intent.get("reduce_only"):
            it.flags |= ENG_FLAG_REDUCE_ONLY
        if not 0 <= it.inst < ENG_MAX_INSTRUMENTS or not self.ins[it.inst].used:
            raise EncodeError(ENG_ERR_UNKNOWN_SYMBOL, f"instrument {it.inst} not added")
        it.px = self._units(intent.get("px", 0), self.ins[it.inst].px_exp)
        it.sz = self._units(intent.get("sz", 0), self.ins[it.inst].sz_exp)
        cdef char buf[2048]
        cdef int n = self.encode(&it, ts_ms, buf, cap)
        if n < 0:
            raise EncodeError(n, str(intent))
        return PyBytes_FromStringAndSize(buf, n)

    cdef int64_t _units(self, object v, int32_t exp) except? -1:
        if isinstance(v, str):
            d = _Decimal(v).scaleb(exp)
            if d != d.to_integral_value():
                raise EncodeError(ENG_ERR_PRECISION, f"{v} has more than {exp} decimals")
            return int(d)
        if isinstance(v, float):
            raise TypeError("prices/sizes are int units or decimal strings, never float")
        return int(v)


cdef inline void w_coid_q(OrderEncoder enc, wbuf* w, int64_t cid) noexcept nogil:
    """One of our client order ids as a JSON string value, closing quote included."""
    enc._coid(w, cid)
    w_ch(w, b'"')


cdef inline int _rest_sign(OrderEncoder enc, const wbuf* q, int64_t ts_ms, bint b64) noexcept nogil:
    """Sign the REST payload assembled in the scratch buffer ``q``: base64 (OKX, Bitget) or hex
    (Bybit) HMAC kept as the signature of this request for ``rest_headers``."""
    if q.err:
        return ENG_ERR_CAPACITY
    if b64:
        enc.signer.sign_b64_into(q.p, q.n, enc.sig)
        enc.sig_len = 44
    else:
        enc.signer.sign_hex_into(q.p, q.n, enc.sig)
        enc.sig_len = 64
    enc.sig_ts_ms = ts_ms
    return ENG_OK


cdef str _iso(int64_t ts_ms):
    cdef char buf[32]
    cdef wbuf w
    w_init(&w, buf, 32)
    w_iso_ms(&w, ts_ms)
    return buf[:w.n].decode("ascii")


def okx_iso_timestamp(int64_t ts_ms) -> str:
    """The compiled ISO-8601 ms timestamp the OKX REST encoder signs (``2020-12-08T09:08:57.715Z``)."""
    if ts_ms < 0:
        raise ValueError("negative timestamp")
    return _iso(ts_ms)


def _bench_encode(OrderEncoder enc not None, dict intent not None, int64_t ts_ms, int64_t n) -> int:
    """Benchmark kernel: encode the same intent ``n`` times in a nogil loop (client id advancing);
    returns elapsed ns. Raises EncodeError if the intent does not encode."""
    cdef eng_intent it
    enc.encode_py(intent, ts_ms)   # validates and raises on error
    memset(&it, 0, sizeof(eng_intent))
    it.kind = _enum(intent.get("kind", "new"), _KINDS, "kind")
    it.inst = int(intent["inst"])
    it.side = _enum(intent.get("side", ENG_SIDE_NONE), _SIDES, "side")
    it.ord_type = _enum(intent.get("ord_type", ENG_ORD_LIMIT), _TYPES, "ord_type")
    it.tif = _enum(intent.get("tif", ENG_TIF_GTC), _TIFS, "tif")
    it.client_id = int(intent.get("client_id", 0))
    it.target_id = int(intent.get("target_id", -1))
    it.flags = ENG_FLAG_REDUCE_ONLY if intent.get("reduce_only") else 0
    it.px = enc._units(intent.get("px", 0), enc.ins[it.inst].px_exp)
    it.sz = enc._units(intent.get("sz", 0), enc.ins[it.inst].sz_exp)
    cdef char buf[2048]
    cdef int64_t i, t0, t1
    cdef int rc = 0
    with nogil:
        t0 = eng_now_ns()
        for i in range(n):
            rc |= enc.encode(&it, ts_ms + i, buf, 2048)
            it.client_id += 1
        t1 = eng_now_ns()
    if rc < 0:
        raise EncodeError(rc, "benchmark encode failed")
    return t1 - t0
