# SPDX-License-Identifier: Apache-2.0
"""Book level-update cost including the top-of-book read: compiled eng_book (batch loop inside C via
engine.book._bench_apply) against a sortedcontainers SortedDict book and the pure-Python twin,
measured in the same run on the same seeded update stream (1000 levels per side, updates
concentrated near the top as in real feeds, ~10 level updates per message)."""
from __future__ import annotations

import functools
import time

import numpy as np
import pytest
from sortedcontainers import SortedDict

import engine._py.book as pybook
from engine.book import Book, _bench_apply
from engine.instruments import Instrument, Venue

LEVELS = 1000
MID = 1_000_000
N_UPDATES = 200_000
PER_MSG = 10
INST = Instrument(0, Venue.BINANCE_SPOT, "BENCH", "1", "1", px_exp=0, sz_exp=0)
# Reference medians quoted in issue 2, measured on this machine before the project started (level
# update + top read): Hummingbot's and NautilusTrader's books. Not re-measured here (neither is
# installed); printed so the ratio to the target (>= 9x) is visible next to the in-run baselines.
REF_HUMMINGBOT_NS = 178.0
REF_NAUTILUS_NS = 190.0


@functools.lru_cache(maxsize=None)
def updates(n: int = N_UPDATES, seed: int = 7) -> np.ndarray:
    """Rows (side, px_units, sz_units): depth index ~ geometric (most updates hit the top levels),
    20 % deletes; bids stay below MID and asks above it, so the book never crosses."""
    rng = np.random.default_rng(seed)
    side = rng.choice(np.array([1, -1], dtype=np.int64), size=n)
    depth = np.minimum(rng.geometric(0.25, size=n) - 1, LEVELS - 1).astype(np.int64)
    px = np.where(side > 0, MID - 1 - depth, MID + 1 + depth)
    sz = rng.integers(1, 1000, size=n, dtype=np.int64)
    sz[rng.random(n) < 0.2] = 0
    return np.ascontiguousarray(np.stack([side, px, sz], axis=1))


def snapshot_levels():
    bids = [(str(MID - 1 - i), "500") for i in range(LEVELS)]
    asks = [(str(MID + 1 + i), "500") for i in range(LEVELS)]
    return bids, asks


def fresh_book() -> Book:
    b = Book(INST, "none", capacity=5000)
    bids, asks = snapshot_levels()
    assert b.apply(True, bids, asks) == 0
    return b


def compiled_ns(per_msg: int, repeat: int = 25) -> float:
    """Best of `repeat` short C loops (the 2 shared cores are noisy: short runs find quiet windows);
    ns per level update, top read after every message. The book keeps evolving across runs (same
    non-crossing grid), as a live book would."""
    upd = np.ascontiguousarray(updates()[:20_000])
    book = fresh_book()
    best = float("inf")
    for _ in range(repeat):
        elapsed, n, errors, _ = _bench_apply(book, upd, per_msg)
        assert errors == 0
        best = min(best, elapsed / n)
    return best


def sorted_dict_run(upd: np.ndarray, per_msg: int) -> int:
    bids: SortedDict = SortedDict()
    asks: SortedDict = SortedDict()
    for i in range(LEVELS):
        bids[MID - 1 - i] = 500
        asks[MID + 1 + i] = 500
    rows = upd.tolist()
    sink = 0
    t0 = time.perf_counter_ns()
    k = 0
    for side, px, sz in rows:
        book = bids if side > 0 else asks
        if sz:
            book[px] = sz
        else:
            book.pop(px, None)
        k += 1
        if k == per_msg:
            k = 0
            sink += bids.peekitem(-1)[0] + asks.peekitem(0)[1]
    return time.perf_counter_ns() - t0


@functools.lru_cache(maxsize=None)
def sorted_dict_ns(per_msg: int) -> float:
    upd = updates()[:50_000]
    return min(sorted_dict_run(upd, per_msg) for _ in range(3)) / len(upd)


def messages(upd: np.ndarray, per_msg: int):
    out = []
    rows = upd.tolist()
    for m in range(0, len(rows), per_msg):
        chunk = rows[m:m + per_msg]
        out.append(([(str(p), str(s)) for side, p, s in chunk if side > 0],
                    [(str(p), str(s)) for side, p, s in chunk if side <= 0]))
    return out


def twin_run(msgs) -> int:
    b = pybook.Book(INST, "none", capacity=5000)
    bids, asks = snapshot_levels()
    b.apply(True, bids, asks)
    t0 = time.perf_counter_ns()
    for bl, al in msgs:
        assert b.apply(False, bl, al) == 0
        b.best_bid()
        b.best_ask()
    return time.perf_counter_ns() - t0


@functools.lru_cache(maxsize=None)
def twin_ns(per_msg: int) -> float:
    upd = updates()[:20_000]
    msgs = messages(upd, per_msg)
    return min(twin_run(msgs) for _ in range(2)) / len(upd)


def python_api_ns(per_msg: int) -> float:
    upd = updates()[:50_000]
    msgs = messages(upd, per_msg)
    best = float("inf")
    for _ in range(2):
        b = fresh_book()
        t0 = time.perf_counter_ns()
        for bl, al in msgs:
            b.apply(False, bl, al)
            b.top_state()
        best = min(best, (time.perf_counter_ns() - t0) / len(upd))
    return best


def report(benchmark, label: str, **info) -> None:
    benchmark.extra_info.update({k: (round(v, 2) if isinstance(v, float) else v) for k, v in info.items()})
    print(f"\n[book] {label}: " + ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                                           for k, v in info.items()))


@pytest.mark.benchmark(group="book-level-update")
@pytest.mark.parametrize("per_msg", [PER_MSG, 1], ids=["10_levels_per_msg", "top_read_every_level"])
def test_compiled_book(benchmark, per_msg):
    upd = updates()
    benchmark.pedantic(lambda b: _bench_apply(b, upd, per_msg), setup=lambda: ((fresh_book(),), {}),
                       rounds=5, iterations=1)
    ns = compiled_ns(per_msg)
    sd = sorted_dict_ns(per_msg)
    tw = twin_ns(per_msg)
    report(benchmark, f"eng_book_apply, C loop, {per_msg} level(s)/msg, top read per msg",
           ns_per_level_update=ns, sorted_dict_ns=sd, py_twin_ns=tw, ratio_vs_sorted_dict=sd / ns,
           ratio_vs_py_twin=tw / ns, target_ns=20.0,
           ratio_vs_issue_ref_hummingbot_178ns=REF_HUMMINGBOT_NS / ns,
           ratio_vs_issue_ref_nautilus_190ns=REF_NAUTILUS_NS / ns)


@pytest.mark.benchmark(group="book-level-update")
def test_sorted_dict_book_baseline(benchmark):
    upd = updates()[:50_000]
    benchmark.pedantic(sorted_dict_run, args=(upd, PER_MSG), rounds=3, iterations=1)
    report(benchmark, "SortedDict book (baseline)", ns_per_level_update=sorted_dict_ns(PER_MSG))


@pytest.mark.benchmark(group="book-level-update")
def test_py_twin_baseline(benchmark):
    msgs = messages(updates()[:20_000], PER_MSG)
    benchmark.pedantic(twin_run, args=(msgs,), rounds=2, iterations=1)
    report(benchmark, "engine._py.book twin (baseline)", ns_per_level_update=twin_ns(PER_MSG))


@pytest.mark.benchmark(group="book-level-update")
def test_compiled_book_python_api(benchmark):
    """Book.apply from Python with (price_str, size_str) lists: the shell/test path, not the hot path."""
    msgs = messages(updates()[:50_000], PER_MSG)

    def run(b):
        for bl, al in msgs:
            b.apply(False, bl, al)

    benchmark.pedantic(run, setup=lambda: ((fresh_book(),), {}), rounds=3, iterations=1)
    ns = python_api_ns(PER_MSG)
    report(benchmark, "Book.apply from Python (strings parsed in C)", ns_per_level_update=ns,
           ratio_vs_sorted_dict=sorted_dict_ns(PER_MSG) / ns)


def _checksum_ns(book, n=20_000) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            book.checksum()
        best = min(best, (time.perf_counter_ns() - t0) / n)
    return best


@pytest.mark.benchmark(group="book-checksum")
def test_checksum_compiled_vs_twin(benchmark):
    """OKX/Bitget CRC32 over the top 25 levels (string build + CRC), one Python call each: an OKX
    book (memoised level text, the steady state) and a plain book (every field printed), vs the twin."""
    bids, asks = snapshot_levels()
    memo = Book(INST, "okx", capacity=5000)
    assert memo.apply(True, bids, asks) == 0
    plain = fresh_book()
    p = pybook.Book(INST, "none", capacity=5000)
    p.apply(True, bids, asks)
    assert memo.checksum() == plain.checksum() == p.checksum()
    benchmark(memo.checksum)
    m_ns, c_ns = _checksum_ns(memo), _checksum_ns(plain)
    t0 = time.perf_counter_ns()
    for _ in range(2000):
        p.checksum()
    p_ns = (time.perf_counter_ns() - t0) / 2000
    report(benchmark, "checksum (one Python call each)", memo_ns=m_ns, no_memo_ns=c_ns, py_twin_ns=p_ns,
           ratio_vs_py_twin=p_ns / m_ns)


def _decoded(fixtures_dir, venue, symbol, path):
    import orjson

    from engine import codec
    inst = Instrument(0, venue, symbol, "0.00000001", "0.00000001")
    dec = codec.Decoder(int(venue))
    dec.add_instrument(inst)
    msgs = []
    with open(fixtures_dir / path, "rb") as f:
        for line in f:
            kind, d = dec.decode_py(orjson.dumps(orjson.loads(line)["msg"]))
            if kind == 2:
                msgs.append(d)
    return inst, msgs


@pytest.mark.benchmark(group="book-replay")
@pytest.mark.parametrize("venue,symbol,path,sync", [
    (Venue.OKX, "BTC-USDT", "okx/recorded_2022/ws_books_BTC-USDT.jsonl", "okx"),
    (Venue.BITGET, "DASHUSDT", "bitget/recorded_2022_v1_mix/ws_books_DASHUSDT.jsonl", "bitget"),
], ids=["okx_btc_usdt", "bitget_dashusdt"])
def test_recorded_replay_with_checksums(benchmark, fixtures_dir, venue, symbol, path, sync):
    """Real recordings (snapshot + updates, CRC32 verified after every merge) replayed in one C loop:
    ns per message including the checksum (string build of 2 x 25 levels + CRC32)."""
    from engine.book import _bench_messages
    inst, msgs = _decoded(fixtures_dir, venue, symbol, path)
    book = Book(inst, sync, capacity=1000)
    benchmark.pedantic(_bench_messages, args=(book, msgs, 5), rounds=3, iterations=1)
    best_msg = best_lvl = float("inf")
    deltas = [m for m in msgs if not m["is_snapshot"]]
    for _ in range(10):
        # snapshot once (untimed), then the updates: the steady-state per-message cost
        _bench_messages(book, msgs[:1], 1)
        elapsed, n, levels, errors = _bench_messages(book, deltas, 1)
        assert errors == 0
        best_msg = min(best_msg, elapsed / n)
        best_lvl = min(best_lvl, elapsed / levels)
    report(benchmark, f"{symbol} recorded updates incl. checksum", ns_per_message=best_msg,
           ns_per_level_incl_checksum=best_lvl, messages=len(deltas))
