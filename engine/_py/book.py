# SPDX-License-Identifier: Apache-2.0
"""Pure-Python twin of engine.book: the readable specification of the L2 book and its venue sync
rules, and the oracle of the differential tests. Prices and sizes are kept as the exact strings the
venue sent (checksums are computed over them) next to their integer units."""
from __future__ import annotations

import re
import zlib
from bisect import bisect_left, insort
from decimal import Decimal

from engine.errors import RC_NAMES

_RC = {name: code for code, name in RC_NAMES.items()}
OK = 0
ERR_DOMAIN = _RC["ENG_ERR_DOMAIN"]
ERR_CAPACITY = _RC["ENG_ERR_CAPACITY"]
ERR_NUMBER = _RC["ENG_ERR_NUMBER"]
ERR_NEGATIVE = _RC["ENG_ERR_NEGATIVE"]
ERR_PRECISION = _RC["ENG_ERR_PRECISION"]
ERR_OVERFLOW = _RC["ENG_ERR_OVERFLOW"]
ERR_OVERSIZE = _RC["ENG_ERR_OVERSIZE"]
ERR_GAP = _RC["ENG_ERR_GAP"]
ERR_CHECKSUM = _RC["ENG_ERR_CHECKSUM"]
ERR_CROSSED = _RC["ENG_ERR_CROSSED"]
ERR_STALE = _RC["ENG_ERR_STALE_UPDATE"]
ERR_NOT_SYNCED = _RC["ENG_ERR_NOT_SYNCED"]

SYNCS = ("none", "binance_spot", "binance_usdm", "bybit", "okx", "bitget")
CHECKSUM_LEVELS = 25
MAX_DEC = 32
INT64_MAX = 2**63 - 1
_NUMBER = re.compile(r"[0-9]*(\.[0-9]+)?")


def parse_decimal(text: str, exp: int) -> tuple[int, int]:
    """Exact decimal string -> (units of 10**-exp, decimals as written). Mirrors eng_parse_decimal:
    raises ValueError carrying the rc name for NaN/Inf/exponents/signs/garbage, extra non-zero
    decimals, and values beyond int64."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    if not isinstance(text, str):
        raise TypeError(f"expected a decimal string, got {type(text).__name__}")
    if text.startswith("-"):
        raise ValueError("ENG_ERR_NEGATIVE")
    if not text or not _NUMBER.fullmatch(text) or text == ".":
        raise ValueError("ENG_ERR_NUMBER")
    intpart, _, frac = text.partition(".")
    if len(frac) > 255:
        raise ValueError("ENG_ERR_NUMBER")
    if any(ch != "0" for ch in frac[exp:]):
        raise ValueError("ENG_ERR_PRECISION")
    units = int(Decimal(text).scaleb(exp))
    if units > INT64_MAX:
        raise ValueError("ENG_ERR_OVERFLOW")
    return units, len(frac)


def signed32(c: int) -> int:
    c &= 0xFFFFFFFF
    return c - 2**32 if c >= 2**31 else c


class Book:
    """L2 book of one instrument (see engine.book.Book for the contract)."""

    def __init__(self, inst, sync: str = "none", capacity: int = 5000) -> None:
        if sync not in SYNCS:
            raise ValueError(f"unknown sync rule {sync!r}")
        if capacity <= 0:
            raise ValueError("capacity must be > 0")
        self.inst = inst
        self.sync_name = sync
        self.capacity = capacity
        self.px_exp = inst.px_exp
        self.sz_exp = inst.sz_exp
        self.reset()

    # ---- state -----------------------------------------------------------------------------------
    def reset(self) -> None:
        # price units -> (size units, price string, size string); sorted price lists per side
        self._bids: dict[int, tuple[int, str, str]] = {}
        self._asks: dict[int, tuple[int, str, str]] = {}
        self._bid_px: list[int] = []      # ascending; best bid last
        self._ask_px: list[int] = []      # ascending; best ask first
        self.state = "empty"
        self.last_id = 0
        self.valid = False
        self.last_rc = ERR_NOT_SYNCED

    def _fail(self, rc: int) -> int:
        self.state = "empty"
        self.valid = False
        self.last_rc = rc
        return rc

    # ---- apply -----------------------------------------------------------------------------------
    def _parse_side(self, levels, name: str) -> list[tuple[int, int, str, str, int]]:
        """(price units, size units, price string, size string, rc) per level; rc != 0 marks a
        level the book refuses (zero price, more than MAX_DEC decimals)."""
        out = []
        for i, lv in enumerate(levels):
            px_s, sz_s = lv[0], lv[1]
            try:
                px, px_dec = parse_decimal(px_s, self.px_exp)
            except ValueError as e:
                self._fail(_RC[str(e)])
                raise ValueError(f"{self.inst.symbol}: {name}[{i}] price {px_s!r}: {e}") from None
            try:
                sz, sz_dec = parse_decimal(sz_s, self.sz_exp)
            except ValueError as e:
                self._fail(_RC[str(e)])
                raise ValueError(f"{self.inst.symbol}: {name}[{i}] size {sz_s!r}: {e}") from None
            if px == 0:
                rc = ERR_DOMAIN
            elif px_dec > MAX_DEC or sz_dec > MAX_DEC:
                rc = ERR_PRECISION
            else:
                rc = OK
            out.append((px, sz, str(px_s), str(sz_s), rc))
        return out

    def _set(self, side: str, px: int, sz: int, px_s: str, sz_s: str) -> int:
        levels = self._bids if side == "bid" else self._asks
        order = self._bid_px if side == "bid" else self._ask_px
        if px in levels:
            if sz == 0:
                del levels[px]
                order.pop(bisect_left(order, px))
            else:
                levels[px] = (sz, px_s, sz_s)
            return OK
        if sz == 0:
            return OK                     # deleting an absent level is harmless
        if len(levels) >= self.capacity:
            return ERR_CAPACITY           # never drop a level silently
        levels[px] = (sz, px_s, sz_s)
        insort(order, px)
        return OK

    def _verify(self, checksum: int | None) -> int:
        if self._bid_px and self._ask_px and self._bid_px[-1] >= self._ask_px[0]:
            return ERR_CROSSED
        if checksum is not None and self.checksum() != signed32(checksum):
            return ERR_CHECKSUM
        return OK

    def apply(self, is_snapshot, bids, asks, first_id=0, last_id=0, prev_id=-1, checksum=None,
              now_ns=None) -> int:
        """Apply one message; returns an rc (see engine.book.Book.apply)."""
        if len(bids) > self.capacity or len(asks) > self.capacity:
            return self._fail(ERR_OVERSIZE)
        pb = self._parse_side(bids, "bids")
        pa = self._parse_side(asks, "asks")
        for *_, rc in pb + pa:
            if rc:
                return self._fail(rc)
        U = first_id if first_id else last_id
        u, pu = last_id, prev_id

        if is_snapshot or (self.sync_name == "bybit" and u == 1):
            # Bybit: a delta with u == 1 means the venue restarted its book -> snapshot
            self._bids, self._asks, self._bid_px, self._ask_px = {}, {}, [], []
            for side, parsed in (("bid", pb), ("ask", pa)):
                if sum(1 for p in parsed if p[1]) > self.capacity:
                    return self._fail(ERR_CAPACITY)
                for px, sz, px_s, sz_s, _ in parsed:
                    rc = self._set(side, px, sz, px_s, sz_s)
                    if rc:
                        return self._fail(rc)
            self.last_id = u
            rc = self._verify(checksum)
            if rc:
                return self._fail(rc)
            self.state = "first" if self.sync_name in ("binance_spot", "binance_usdm") else "live"
            self.valid = True
            self.last_rc = OK
            return OK

        if self.state == "empty":
            self.valid = False
            self.last_rc = ERR_NOT_SYNCED
            return ERR_NOT_SYNCED
        last = self.last_id
        first = self.state == "first"
        sync = self.sync_name
        if sync == "binance_spot":
            # drop u <= L; the first kept needs U <= L+1 <= u; afterwards U == previous u + 1
            if u <= last:
                return self._stale()
            if (U > last + 1) if first else (U != last + 1):
                return self._fail(ERR_GAP)
        elif sync == "binance_usdm":
            # drop u < L; the first kept needs U <= L <= u; afterwards pu == previous u
            if (u < last) if first else (u <= last):
                return self._stale()
            if (U > last) if first else (pu != last):
                return self._fail(ERR_GAP)
        elif sync == "bybit":
            if u <= last:
                return self._stale()
            if u != last + 1:
                return self._fail(ERR_GAP)
        elif sync == "okx":
            # prevSeqId absent (-1): unchecked; seqId < prevSeqId: legal reset; else prevSeqId == last seqId
            if pu >= 0 and u >= pu and pu != last:
                return self._fail(ERR_GAP)

        for side, parsed in (("bid", pb), ("ask", pa)):
            for px, sz, px_s, sz_s, _ in parsed:
                rc = self._set(side, px, sz, px_s, sz_s)
                if rc:
                    return self._fail(rc)
        rc = self._verify(checksum)
        if rc:
            return self._fail(rc)
        if u != 0:
            self.last_id = u
        self.state = "live"
        self.valid = True
        self.last_rc = OK
        return OK

    def _stale(self) -> int:
        self.last_rc = ERR_STALE
        return ERR_STALE

    def apply_snapshot(self, bids, asks, last_id=0, checksum=None) -> int:
        return self.apply(True, bids, asks, last_id, last_id, -1, checksum)

    def apply_levels(self, bids, asks, first_id=0, last_id=0, prev_id=-1, checksum=None) -> int:
        return self.apply(False, bids, asks, first_id, last_id, prev_id, checksum)

    # ---- reads -----------------------------------------------------------------------------------
    def _side_levels(self, side: str, n: int):
        if side == "bid":
            prices = self._bid_px[: -n - 1: -1] if n > 0 else []   # best (highest) first
            return [(p, self._bids[p]) for p in prices]
        return [(p, self._asks[p]) for p in self._ask_px[: max(n, 0)]]

    def depth(self) -> tuple[int, int]:
        return len(self._bids), len(self._asks)

    def best_bid(self):
        lv = self._side_levels("bid", 1)
        return (lv[0][1][1], lv[0][1][2]) if lv else None

    def best_ask(self):
        lv = self._side_levels("ask", 1)
        return (lv[0][1][1], lv[0][1][2]) if lv else None

    def top(self, n: int = 5):
        return ([(v[1], v[2]) for _, v in self._side_levels("bid", n)],
                [(v[1], v[2]) for _, v in self._side_levels("ask", n)])

    def top_units(self, n: int = 5):
        return ([(p, v[0]) for p, v in self._side_levels("bid", n)],
                [(p, v[0]) for p, v in self._side_levels("ask", n)])

    def size_at(self, side: str, px) -> int:
        units, _ = parse_decimal(str(px), self.px_exp)
        levels = self._bids if side in ("buy", "bid") else self._asks
        return levels[units][0] if units in levels else 0

    def depth_to(self, side: str, px) -> tuple[int, int]:
        """(levels, size units) from the best price through px inclusive."""
        units, _ = parse_decimal(str(px), self.px_exp)
        if side in ("buy", "bid"):
            sizes = [v[0] for p, v in self._bids.items() if p >= units]
        else:
            sizes = [v[0] for p, v in self._asks.items() if p <= units]
        return len(sizes), min(sum(sizes), INT64_MAX)

    def _scale(self) -> Decimal:
        return Decimal(1).scaleb(-self.px_exp)

    def mid(self):
        if not self._bid_px or not self._ask_px:
            return None
        return float((Decimal(self._bid_px[-1]) + Decimal(self._ask_px[0])) / 2 * self._scale())

    def spread(self):
        if not self._bid_px or not self._ask_px:
            return None
        return float((self._ask_px[0] - self._bid_px[-1]) * self._scale())

    def spread_units(self):
        if not self._bid_px or not self._ask_px:
            return None
        return self._ask_px[0] - self._bid_px[-1]

    def microprice(self):
        if not self._bid_px or not self._ask_px:
            return None
        bp, ap = self._bid_px[-1], self._ask_px[0]
        bs, as_ = self._bids[bp][0], self._asks[ap][0]
        return float((Decimal(bp) * as_ + Decimal(ap) * bs) / (bs + as_) * self._scale())

    def imbalance(self, n: int = 1):
        if n <= 0:
            return None
        bv = sum(v[0] for _, v in self._side_levels("bid", n))
        av = sum(v[0] for _, v in self._side_levels("ask", n))
        if bv + av == 0:
            return None
        return (bv - av) / (bv + av)

    def cost_to_trade(self, side: str, sz):
        """(vwap price in real units, filled size units) of taking ``sz`` now, or None."""
        units, _ = parse_decimal(str(sz), self.sz_exp)
        if side not in ("buy", "sell") or units <= 0:
            return None
        levels = self._side_levels("ask" if side == "buy" else "bid", len(self._bids) + len(self._asks))
        if not levels:
            return None
        left, notional = units, 0
        for px, (lsz, _, _) in levels:
            take = min(lsz, left)
            notional += px * take
            left -= take
            if not left:
                break
        filled = units - left
        return float(Decimal(notional) / filled * self._scale()), filled

    def checksum_string(self) -> str:
        """"bidPx:bidSz:askPx:askSz:..." over the best 25 levels, a missing side skipped."""
        bids = self._side_levels("bid", CHECKSUM_LEVELS)
        asks = self._side_levels("ask", CHECKSUM_LEVELS)
        parts: list[str] = []
        for i in range(CHECKSUM_LEVELS):
            if i < len(bids):
                parts += [bids[i][1][1], bids[i][1][2]]
            if i < len(asks):
                parts += [asks[i][1][1], asks[i][1][2]]
        return ":".join(parts)

    def checksum(self) -> int:
        return signed32(zlib.crc32(self.checksum_string().encode()))
