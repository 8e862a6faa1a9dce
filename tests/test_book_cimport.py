# SPDX-License-Identifier: Apache-2.0
"""The public Cython API of engine.book / engine.signals works from a user module compiled outside
the repo (engine.build.compile_strategy): nogil eng_book_apply through Book.ptr and a ctx slot,
Book.bind_top / apply_depth, a user-owned eng_book, and signal structs embedded in user code."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

from engine import signals as sig
from engine.book import Book
from engine.build import compile_strategy

from _book_util import inst

USER_PYX = textwrap.dedent('''
    from libc.stdint cimport int64_t
    from libc.string cimport memset
    from engine.types cimport eng_depth, eng_level, eng_ctx
    from engine.book cimport (Book, eng_book, eng_book_apply, eng_book_level, eng_book_checksum,
                              eng_book_init, eng_book_free, eng_book_mid, ENG_SYNC_BYBIT)
    from engine.signals cimport (eng_ema, eng_ema_init, eng_ema_update, eng_roll, eng_roll_init,
                                 eng_roll_update, eng_roll_std, eng_sig_microprice)

    cdef eng_ctx CTX

    def via_book(Book b):
        cdef eng_level bids[2]
        cdef eng_level asks[1]
        cdef eng_depth d
        memset(bids, 0, sizeof(bids))
        memset(asks, 0, sizeof(asks))
        memset(&d, 0, sizeof(d))
        bids[0].px = 10010; bids[0].sz = 7
        bids[1].px = 9990; bids[1].sz = 0
        asks[0].px = 10030; asks[0].sz = 2
        d.bids = bids; d.asks = asks; d.n_bids = 2; d.n_asks = 1
        d.first_id = 11; d.last_id = 11; d.prev_id = -1
        cdef int rc, rc2
        cdef int64_t px = 0, sz = 0
        CTX.book[0] = b.ptr
        b.bind_top(&CTX.top[0])
        with nogil:
            rc = b.apply_depth(&d, 77)
            d.first_id = 13; d.last_id = 13
            rc2 = eng_book_apply(CTX.book[0], &d, 78)       # gap: u jumps
            eng_book_level(CTX.book[0], -1, 0, &px, &sz)   # ENG_SIDE_SELL: best ask
        return rc, rc2, px, sz, CTX.top[0].bid_px, CTX.top[0].ask_px, CTX.top[0].update_ns, CTX.top[0].valid

    def own_book():
        cdef eng_book bk
        cdef eng_level lv[2]
        cdef eng_depth d
        cdef double mid = 0
        memset(lv, 0, sizeof(lv))
        memset(&d, 0, sizeof(d))
        if eng_book_init(&bk, 3, 1, 0, 16, ENG_SYNC_BYBIT, NULL) != 0:
            raise MemoryError()
        lv[0].px = 1000; lv[0].sz = 5; lv[0].px_dec = 1
        lv[1].px = 1010; lv[1].sz = 6; lv[1].px_dec = 1
        d.bids = lv; d.asks = &lv[1]; d.n_bids = 1; d.n_asks = 1; d.is_snapshot = 1; d.last_id = 4
        with nogil:
            rc = eng_book_apply(&bk, &d, 1)
            eng_book_mid(&bk, &mid)
            cs = eng_book_checksum(&bk)
        valid = bk.top.valid
        eng_book_free(&bk)
        return rc, mid, cs, valid

    def signals(const double[::1] xs):
        cdef eng_roll r
        cdef eng_ema e
        cdef double sd = -1, mp = -1
        cdef Py_ssize_t i
        eng_roll_init(&r, 10)
        eng_ema_init(&e, 0.25)
        with nogil:
            for i in range(xs.shape[0]):
                eng_roll_update(&r, xs[i])
                eng_ema_update(&e, xs[i])
            eng_roll_std(&r, &sd)
            eng_sig_microprice(100, 1, 102, 3, &mp)
        return e.value, sd, mp
''')


@pytest.mark.slow
def test_user_module_uses_book_and_signals_api(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTPATH_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "user_book_api.pyx"
    src.write_text(USER_PYX)
    mod = compile_strategy(src)

    b = Book(inst(px_exp=2, sz_exp=0), "bybit", capacity=16)
    assert b.apply(True, [("100.00", "1"), ("99.90", "4")], [("100.40", "3")], 10, 10) == 0
    rc, rc2, px, sz, top_bid, top_ask, ts, valid = mod.via_book(b)
    assert (rc, px, sz) == (0, 10030, 2)
    assert (top_bid, top_ask, ts) == (10010, 10030, 77)
    assert rc2 == -30 and valid == 0 and not b.valid      # the gap invalidated the bound ctx slot
    assert b.top_address != 0

    rc, mid, cs, valid = mod.own_book()
    assert rc == 0 and mid == 1005.0 and valid == 1
    ref = Book(inst(px_exp=1, sz_exp=0), "bitget")
    ref.apply(True, [("100.0", "5")], [("101.0", "6")])
    assert cs == ref.checksum() and ref.checksum_string() == "100.0:5:101.0:6"

    xs = np.linspace(1.0, 3.0, 37)
    e, sd, mp = mod.signals(xs)
    assert e == sig.ema_batch(xs, alpha=0.25)[-1]
    assert sd == sig.rolling_std_batch(xs, 10)[-1]
    assert mp == sig.microprice(100, 1, 102, 3)
