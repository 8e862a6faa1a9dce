# SPDX-License-Identifier: Apache-2.0
"""Live terminal view (rich) of a running bot: book, position, PnL, orders and per-layer latency.

:class:`LiveView` renders :class:`Snapshot` objects the bot builds on the loop a few times per second; it
never reads engine state itself. ``plain_line(snapshot)`` is the same information as one log line for
non-TTY output (``--no-live``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STAGE_ORDER = ("recv", "decode", "book", "signal", "risk", "encode", "send", "ack", "tick_to_trade")


@dataclass
class InstView:
    symbol: str
    venue: str
    bids: list[tuple[str, str]] = field(default_factory=list)    # best first, decimal strings
    asks: list[tuple[str, str]] = field(default_factory=list)
    valid: bool = False
    position: str = "0"
    avg_px: float = 0.0
    open_orders: int = 0
    realised: float = 0.0
    unrealised: float = 0.0
    fees: float = 0.0


@dataclass
class Snapshot:
    bot: str
    elapsed_s: float
    ticks: int
    orders_sent: int
    fills: int
    rejects: int
    pnl: float
    instruments: list[InstView]
    latency: dict[str, dict[str, float]]   # stage -> {count, p50, p90, p99, p999, max} ns
    status: str = "running"
    extra: dict[str, Any] = field(default_factory=dict)


def plain_line(s: Snapshot) -> str:
    t2t = s.latency.get("tick_to_trade", {})
    lat = f" t2t p50/p99 {t2t['p50'] / 1000:.1f}/{t2t['p99'] / 1000:.1f} us" if t2t.get("count") else ""
    pos = " ".join(f"{i.symbol}@{i.venue}={i.position}" for i in s.instruments)
    return (f"[{s.elapsed_s:6.1f}s] ticks={s.ticks} orders={s.orders_sent} fills={s.fills} rejects={s.rejects} "
            f"pnl={s.pnl:+.2f} pos {pos}{lat}")


class LiveView:
    """``with LiveView() as v: v.update(snapshot)`` redraws in place (rich.live) when called; no render thread.

    Rendering runs on the event loop (a few ms per redraw): the live view costs latency for frames that
    arrive during a redraw, so production runs and measurements use ``--no-live``."""

    def __init__(self, refresh_per_second: float = 4.0, console: Any = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = console or Console()
        # auto_refresh=False: rich would otherwise render from its own thread and take the GIL away from the
        # event loop at random moments; the bot calls update() from the loop between frames instead
        self._live = Live(console=self.console, auto_refresh=False, transient=False)

    def __enter__(self) -> "LiveView":
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(*exc)

    def update(self, snap: Snapshot) -> None:
        self._live.update(render(snap), refresh=True)


def render(s: Snapshot) -> Any:
    """A rich renderable for one snapshot (also used by tests with a recording Console)."""
    from rich.columns import Columns
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    head = Text.assemble(
        (f" {s.bot} ", "bold white on blue"), "  ",
        (f"{s.status}", "bold green" if s.status == "running" else "bold yellow"),
        f"  {s.elapsed_s:6.1f} s   ticks {s.ticks:,}   orders {s.orders_sent:,}   fills {s.fills:,}   "
        f"rejects {s.rejects:,}   ",
        ("PnL ", "bold"), (f"{s.pnl:+,.2f}", "bold green" if s.pnl >= 0 else "bold red"),
    )
    books = []
    for iv in s.instruments:
        t = Table(title=f"{iv.symbol} @ {iv.venue}" + ("" if iv.valid else " (unsynced)"), expand=False,
                  show_edge=False, pad_edge=False)
        t.add_column("bid size", justify="right", style="green")
        t.add_column("bid", justify="right", style="bold green")
        t.add_column("ask", justify="right", style="bold red")
        t.add_column("ask size", justify="right", style="red")
        for k in range(max(len(iv.bids), len(iv.asks), 1)):
            b = iv.bids[k] if k < len(iv.bids) else ("", "")
            a = iv.asks[k] if k < len(iv.asks) else ("", "")
            t.add_row(b[1], b[0], a[0], a[1])
        pos = Table.grid(padding=(0, 1))
        pos.add_row("position", iv.position)
        pos.add_row("avg px", f"{iv.avg_px:,.2f}" if iv.avg_px else "-")
        pos.add_row("open orders", str(iv.open_orders))
        pos.add_row("realised", f"{iv.realised:+,.2f}")
        pos.add_row("unrealised", f"{iv.unrealised:+,.2f}")
        pos.add_row("fees", f"{iv.fees:,.4f}")
        books.append(Panel(Group(t, Text(""), pos), expand=False))
    lat = Table(title="per-layer latency (µs)", show_edge=False)
    for col in ("stage", "count", "p50", "p90", "p99", "p99.9", "max"):
        lat.add_column(col, justify="right" if col != "stage" else "left")
    for st in [x for x in STAGE_ORDER if x in s.latency] + sorted(set(s.latency) - set(STAGE_ORDER)):
        d = s.latency[st]
        if not d.get("count"):
            continue
        lat.add_row(st, f"{int(d['count']):,}", *(f"{d[k] / 1000:.2f}" for k in ("p50", "p90", "p99", "p999", "max")),
                    style="bold" if st == "tick_to_trade" else None)
    return Group(head, Columns(books), lat)
