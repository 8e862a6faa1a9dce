# SPDX-License-Identifier: Apache-2.0
"""The C decoders (include/engine/codec.h) under AddressSanitizer + UBSan: every fixture frame,
random truncations and byte mutations of each, and random bytes, each copied into a buffer of
exactly its length (an over-read by one byte aborts), through a generous and a tight decoder."""
from __future__ import annotations

import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from engine import get_include

from _codec_util import jkorf_frames, recording_frames

DRIVER = r"""
#include "engine/codec.h"
#include <stdio.h>
#include <stdlib.h>
static const char* SYMS[] = {"NKNUSDT", "AKROUSDT", "SUSHIUSDT", "BTCUSDT", "BNBUSDT", "ETHUSDT", "BNBBTC",
    "XRPUSDT", "BTC-USDT", "BTC-USD", "BTC-USDT-SWAP", "EOSUSDT", "SUNUSDT", "CULTUSDT", "DASHUSDT", 0};
int main(int argc, char** argv) {
    static eng_codec cs[2][6];
    eng_quote q; eng_depth d; eng_trade t; eng_mark m; eng_ticker tk;
    for (int k = 0; k < 2; k++) for (int v = 1; v <= 5; v++) {
        eng_codec* c = &cs[k][v];
        if (eng_codec_init(c, v, k ? 3 : 5000, k ? 2 : 1024, 1 << 20)) return 2;
        c->quote = &q; c->depth = &d; c->trade = &t; c->mark = &m; c->ticker = &tk;
        for (int i = 0; SYMS[i]; i++) for (int cls = 0; cls < 3; cls++)
            eng_sym_add(c, (uint8_t)cls, SYMS[i], strlen(SYMS[i]), i, k ? 2 : 9, k ? 1 : 9);
    }
    FILE* f = fopen(argv[1], "rb");
    if (!f) return 5;
    long ok = 0, err = 0;
    for (;;) {
        uint32_t n; uint8_t v;
        if (fread(&n, 4, 1, f) != 1 || fread(&v, 1, 1, f) != 1) break;
        char* b = malloc(n ? n : 1);
        if (n && fread(b, 1, n, f) != n) return 3;
        for (int k = 0; k < 2; k++) {
            int rc = eng_codec_decode(&cs[k][v], b, n, 1);
            if (rc > 0) {
                ok++;
                if (rc == ENG_EV_DEPTH) {
                    for (int i = 0; i < d.n_bids; i++) if (d.bids[i].sz < 0) return 6;
                    for (int i = 0; i < d.n_asks; i++) if (d.asks[i].sz < 0) return 6;
                }
            } else {
                err++;
                if (!cs[k][v].err || !cs[k][v].err[0]) return 4;   /* every error names a reason */
            }
        }
        free(b);
    }
    fclose(f);
    for (int k = 0; k < 2; k++) for (int v = 1; v <= 5; v++) eng_codec_free(&cs[k][v]);
    printf("ok=%ld err=%ld\n", ok, err);
    return 0;
}
"""

TOKENS = [b'"', b",", b"-", b"0", b".", b"e5", b"\\u0041", b"]", b"}", b" ", b"[", b"{", b":", b"\\", b"\x00", b"\xff"]


def _frames(fx: Path) -> dict[int, list[bytes]]:
    def rec(pattern: str) -> list[bytes]:
        return [f for p in sorted(fx.glob(pattern)) for f in recording_frames(p)]

    def whole(pattern: str) -> list[bytes]:
        return [p.read_bytes() for p in sorted(fx.glob(pattern))]

    return {
        1: rec("binance/spot/*.jsonl") + whole("binance/nautilus/ws_messages/*.json"),
        2: rec("binance/usdm_futures/*.jsonl") + whole("binance/nautilus/futures/market_data_json/*.json"),
        3: rec("bybit/recorded_2024/*.jsonl") + whole("bybit/nautilus/ws_*.json"),
        4: rec("okx/recorded_2022/*.jsonl") + whole("okx/nautilus/ws_*.json"),
        5: rec("bitget/recorded_2022_v1_*/*.jsonl")
        + [f for p in sorted(fx.glob("bitget/jkorf_v2/Subscriptions__*.txt")) for f in jkorf_frames(p)],
    }


def _corpus(fx: Path, seed: int) -> bytes:
    rnd = random.Random(seed)
    out = bytearray()

    def emit(venue: int, b: bytes) -> None:
        out.extend(struct.pack("<IB", len(b), venue))
        out.extend(b)

    for venue, frames in _frames(fx).items():
        assert frames
        for f in frames:
            emit(venue, f)
            for cut in {rnd.randrange(len(f)) for _ in range(4)}:
                emit(venue, f[:cut])
            for _ in range(12 if len(f) < 3000 else 2):
                b = bytearray(f)
                for _ in range(rnd.randint(1, 5)):
                    i = rnd.randrange(max(1, len(b)))
                    op = rnd.randrange(5)
                    if op == 0 and b:
                        b[i] ^= 1 << rnd.randrange(8)
                    elif op == 1 and b:
                        b[i] = rnd.choice(b'"\\{}[],:-.0123456789eE \x00\xff')
                    elif op == 2:
                        b[i:i] = rnd.choice(TOKENS)
                    elif op == 3 and b:
                        del b[i:i + rnd.randint(1, 8)]
                    elif b:
                        j = min(len(b), i + rnd.randint(1, 40))
                        b[j:j] = b[i:j]
                emit(venue, bytes(b))
        for _ in range(500):
            emit(venue, bytes(rnd.randrange(256) for _ in range(rnd.randrange(64))))
    return bytes(out)


@pytest.mark.slow
def test_decoders_clean_under_asan_ubsan(tmp_path: Path, fixtures_dir: Path) -> None:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler on PATH")
    src = tmp_path / "drv.c"
    src.write_text(DRIVER)
    exe = tmp_path / "drv"
    build = subprocess.run([cc, "-O1", "-g", "-std=gnu11", "-fsanitize=address,undefined",
                            "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-I", get_include(),
                            str(src), "-o", str(exe)], capture_output=True, text=True)
    if build.returncode != 0 and "sanitize" in build.stderr:
        pytest.skip(f"compiler lacks ASan/UBSan: {build.stderr[:200]}")
    assert build.returncode == 0, build.stderr
    corpus = tmp_path / "frames.bin"
    corpus.write_bytes(_corpus(Path(fixtures_dir), seed=20261125))
    run = subprocess.run([str(exe), str(corpus)], capture_output=True, text=True, timeout=300,
                         env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0", "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, (run.returncode, run.stdout[-2000:], run.stderr[-4000:])
    ok, err = (int(x.split("=")[1]) for x in run.stdout.split())
    assert ok > 2000 and err > 4000   # both the decode and the error paths were exercised
