# SPDX-License-Identifier: Apache-2.0
"""Typing stub of the compiled engine.codec (pyx/codec.pyx)."""
from typing import Any

from engine.instruments import Instrument

EV_QUOTE: int
EV_DEPTH: int
EV_TRADE: int
EV_MARK: int
EV_TICKER: int
TK_BID_PX: int
TK_BID_SZ: int
TK_ASK_PX: int
TK_ASK_SZ: int
TK_LAST_PX: int
TK_MARK_PX: int
TK_INDEX_PX: int
TK_FUNDING: int
TK_NEXT_FUNDING: int
TK_OPEN_INTEREST: int
MAX_FRAME: int
MAX_LEVELS: int
MAX_TRADES: int

class Decoder:
    venue: int
    def __init__(self, venue: int, max_levels: int = 5000, max_trades: int = 1024,
                 max_frame: int = 1048576) -> None: ...
    def add_instrument(self, inst: Instrument) -> None: ...
    @property
    def last_error(self) -> str: ...
    def decode_py(self, data: bytes, recv_ns: int = 0) -> tuple[int, dict[str, Any] | None]: ...
    def _bench_decode(self, data: bytes, loops: int) -> int: ...

def _test_parse_decimal(data: bytes, exp: int, mode: int) -> tuple[int, int | None, int | None] | None: ...
