# SPDX-License-Identifier: Apache-2.0
"""Type stubs of the compiled engine.risk (pyx/risk.pyx)."""
from typing import Any

from engine.strategy import Context

REASONS: dict[int, str]
REASON_CODES: dict[str, int]
RISK_OK: int
RISK_SIZE: int
RISK_NOTIONAL: int
RISK_POSITION: int
RISK_BAND: int
RISK_OPEN_ORDERS: int
RISK_RATE: int
RISK_LOSS: int
RISK_STALE_BOOK: int
RISK_KILL: int
RISK_BAD_INTENT: int
RISK_NO_LIMITS: int

def reason_name(code: int) -> str: ...
def _bench_check(gate: RiskGate, ctx: Context, intent: dict[str, int], n: int, now_ns: int = ...) -> tuple[int, int]: ...

class RiskGate:
    open_orders: int
    kill: bool
    @property
    def tokens(self) -> float: ...
    @property
    def passed(self) -> int: ...
    def set_limits(self, inst: int, *, max_order_sz: int | None = ..., max_notional: float | None = ...,
                   max_position: int | None = ..., band_bps: float | None = ..., max_book_age_ns: int | None = ...,
                   check_steps: bool = ...) -> None: ...
    def clear_limits(self, inst: int) -> None: ...
    def limits(self, inst: int) -> dict[str, Any] | None: ...
    def set_global(self, *, max_open_orders: int | None = ..., rate_per_s: float | None = ...,
                   burst: float | None = ..., max_daily_loss: float | None = ...) -> None: ...
    def global_limits(self) -> dict[str, Any]: ...
    def rejects(self) -> dict[str, int]: ...
    def reset_counters(self) -> None: ...
    def check_py(self, ctx: Context, intent: dict[str, int], now_ns: int | None = ...) -> int: ...
