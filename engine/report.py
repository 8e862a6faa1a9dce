# SPDX-License-Identifier: Apache-2.0
"""Latency as a feature: periodic per-stage log lines, the exit table, an HTML + PNG report with plots, and an
optional Prometheus text endpoint on 127.0.0.1. Everything here reads the pipeline's
:class:`engine.latency.LatencyRecorder` from the event loop between batches; nothing touches the hot path.

Tick-to-trade over time is derived without per-event samples: every report interval the reporter diffs the
bucket counts of the cumulative histogram against the previous snapshot, which gives the exact histogram
of that window (to the bucket resolution, 1/64) and hence its p50/p99.
"""
from __future__ import annotations

import base64
import html
import io
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

log = logging.getLogger("hotpath.latency")

#: Stages in ENG_STAGE_* order (include/engine/hist.h), repeated here so the report works on summaries alone.
STAGES = ("recv", "decode", "book", "signal", "risk", "encode", "send", "ack", "tick_to_trade")
COLS = ("p50", "p90", "p99", "p999", "max")


def format_table(summary: dict[str, dict[str, float]], title: str = "") -> str:
    """``{stage: {count, p50, p90, p99, p999, max}}`` (ns) -> fixed-width table in µs."""
    rows = [title] if title else []
    rows.append(f"{'stage':<14}{'count':>10}{'p50 us':>10}{'p90 us':>10}{'p99 us':>10}{'p99.9 us':>10}{'max us':>10}")
    for name in _ordered(summary):
        d = summary[name]
        rows.append(f"{name:<14}{int(d['count']):>10}" + "".join(f"{d[k] / 1000.0:>10.2f}" for k in COLS))
    return "\n".join(rows)


def _ordered(summary: dict[str, Any]) -> list[str]:
    known = [s for s in STAGES if s in summary]
    return known + sorted(set(summary) - set(known))


def percentile_of_buckets(buckets: Iterable[tuple[int, int, int]], p: float) -> float:
    """Percentile (ns, bucket upper bound) of ``[(lo, hi, count)]`` sorted by ``lo``; nan when empty."""
    b = [x for x in buckets if x[2] > 0]
    total = sum(c for _, _, c in b)
    if total == 0:
        return float("nan")
    rank = max(1, int(p / 100.0 * total + 0.999999))
    seen = 0
    for _lo, hi, c in b:
        seen += c
        if seen >= rank:
            return float(hi)
    return float(b[-1][1])


@dataclass
class WindowPoint:
    t_s: float          # seconds since the reporter started
    count: int          # samples in this window
    p50_ns: float
    p99_ns: float
    max_ns: float       # upper bound of the highest non-empty bucket in the window


@dataclass
class LatencyReporter:
    """Periodic latency reporting for one recorder.

    ``recorder`` needs ``summary()`` and ``histogram(stage).buckets()`` (engine.latency.LatencyRecorder).
    Call :meth:`on_ticks` with the number of processed market events from the loop (e.g. after each batch):
    every ``every`` ticks it logs one line. Call :meth:`window` at a fixed period for the tick-to-trade
    timeline (per-window percentiles from bucket-count differences).
    """

    recorder: Any
    every: int = 1000
    stage: str = "tick_to_trade"
    logger: logging.Logger = field(default=log)
    timeline: list[WindowPoint] = field(default_factory=list)
    _ticks: int = 0
    _next: int = 0
    _prev: dict[tuple[int, int], int] = field(default_factory=dict)
    _t0: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.every < 0:
            raise ValueError("every must be >= 0")
        self._next = self.every

    def on_ticks(self, total_ticks: int) -> bool:
        """``total_ticks`` = events processed so far; returns True when a report was made."""
        self._ticks = total_ticks
        if self.every == 0 or total_ticks < self._next:
            return False
        self._next = total_ticks - total_ticks % self.every + self.every
        self.logger.info("%s", self.log_line())
        return True

    def window(self) -> WindowPoint | None:
        """Close the current timeline window (call it at a fixed period, e.g. every second): appends the
        window's tick-to-trade p50/p99/max to ``timeline`` (nothing when the window had no samples)."""
        now = time.monotonic() - self._t0
        try:
            buckets = self.recorder.histogram(self.stage).buckets()
        except ValueError:
            buckets = []
        window = []
        cur = {}
        for lo, hi, c in buckets:
            cur[(lo, hi)] = c
            d = c - self._prev.get((lo, hi), 0)
            if d > 0:
                window.append((lo, hi, d))
        self._prev = cur
        point = None
        n = sum(c for _, _, c in window)
        if n:
            point = WindowPoint(now, n, percentile_of_buckets(window, 50), percentile_of_buckets(window, 99),
                                float(window[-1][1]))
            self.timeline.append(point)
        return point

    def log_line(self) -> str:
        s = self.recorder.summary()
        parts = [f"ticks={self._ticks}"]
        for name in _ordered(s):
            d = s[name]
            parts.append(f"{name}={d['p50'] / 1000:.1f}/{d['p99'] / 1000:.1f}us(n={d['count']})")
        return "latency p50/p99 " + " ".join(parts)

    def table(self) -> str:
        return format_table(self.recorder.summary(), "per-stage latency (µs)")


# ---------------------------------------------------------------------------------------------- HTML + PNG


def write_report(
    recorder: Any,
    out_dir: str | Path = "reports",
    timeline: list[WindowPoint] | None = None,
    meta: dict[str, Any] | None = None,
    name: str = "latency",
) -> tuple[Path, Path]:
    """Write ``<out_dir>/<name>-<UTC time>.html`` and ``.png`` (per-stage distributions and tick-to-trade over
    time, matplotlib Agg backend), plus ``.json`` with every stage's histogram buckets
    (:func:`write_histograms_json`; ``hotpath replay --latency-from`` samples order latencies from it).
    Returns (html_path, png_path)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = out / f"{name}-{stamp}"
    summary = recorder.summary()
    stages = [s for s in _ordered(summary) if summary[s]["count"]]
    timeline = timeline or []

    n_dist = max(1, len(stages))
    cols = 3
    rows = (n_dist + cols - 1) // cols + 1
    fig = plt.figure(figsize=(13, 3.0 * rows), dpi=90)
    for i, st in enumerate(stages):
        ax = fig.add_subplot(rows, cols, i + 1)
        b = recorder.histogram(st).buckets()
        xs = [(lo + hi) / 2 / 1000.0 for lo, hi, _ in b]
        ws = [max((hi - lo) / 1000.0, 1e-3) for lo, hi, _ in b]
        ax.bar(xs, [c for _, _, c in b], width=ws, color="#3a7bd5", edgecolor="none")
        d = summary[st]
        for k, colr in (("p50", "green"), ("p99", "orange"), ("p999", "red")):
            ax.axvline(d[k] / 1000.0, color=colr, lw=1, label=f"{k} {d[k] / 1000.0:.2f} µs")
        ax.set_xscale("log")
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{st} (n={d['count']})", fontsize=9)
        ax.set_xlabel("µs", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    ax = fig.add_subplot(rows, 1, rows)
    if timeline:
        ts = [p.t_s for p in timeline]
        ax.plot(ts, [p.p50_ns / 1000 for p in timeline], label="p50", color="green")
        ax.plot(ts, [p.p99_ns / 1000 for p in timeline], label="p99", color="orange")
        ax.plot(ts, [p.max_ns / 1000 for p in timeline], label="max", color="red", lw=0.7)
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no tick-to-trade windows recorded", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("tick-to-trade over time (per report window)", fontsize=9)
    ax.set_xlabel("s since start", fontsize=8)
    ax.set_ylabel("µs", fontsize=8)
    fig.tight_layout()
    png = base.with_suffix(".png")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    png.write_bytes(buf.getvalue())

    meta_rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in (meta or {}).items()
    )
    table_rows = "".join(
        f"<tr><td>{html.escape(s)}</td><td>{summary[s]['count']}</td>"
        + "".join(f"<td>{summary[s][k] / 1000.0:.2f}</td>" for k in COLS)
        + "</tr>"
        for s in _ordered(summary)
    )
    img = base64.b64encode(buf.getvalue()).decode()
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>hotpath latency report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;
padding:3px 8px;text-align:right}}th{{background:#f4f4f4}}</style></head><body>
<h1>hotpath latency report</h1><p>{html.escape(stamp)}</p>
<table>{meta_rows}</table>
<h2>Per-stage latency (µs)</h2>
<table><tr><th>stage</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>{table_rows}</table>
<h2>Distributions and tick-to-trade over time</h2>
<img alt="latency plots" src="data:image/png;base64,{img}">
</body></html>
"""
    html_path = base.with_suffix(".html")
    html_path.write_text(doc)
    write_histograms_json(recorder, base.with_suffix(".json"), meta)
    return html_path, png


# ---------------------------------------------------------------------------------------------- saved histograms

HIST_FORMAT = "hotpath-latency-histograms/1"


def write_histograms_json(recorder: Any, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Save every non-empty stage of ``recorder`` (an engine.latency.LatencyRecorder) as JSON:
    ``{"format", "meta", "stages": {stage: {"summary": {...ns}, "buckets": [[lo_ns, hi_ns, count], ...]}}}``.
    Buckets are the histogram's own (log-linear, <= 1/64 wide), so the distribution is kept exactly to
    bucket resolution."""
    import orjson

    summary = recorder.summary()
    stages = {}
    for st in _ordered(summary):
        if not summary[st]["count"]:
            continue
        stages[st] = {"summary": summary[st],
                      "buckets": [[int(lo), int(hi), int(c)] for lo, hi, c in recorder.histogram(st).buckets()]}
    doc = {"format": HIST_FORMAT, "meta": {str(k): str(v) for k, v in (meta or {}).items()}, "stages": stages}
    out = Path(path)
    out.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    return out


def load_histograms_json(path: str | Path) -> dict[str, list[tuple[int, int, int]]]:
    """Stage -> buckets ``[(lo_ns, hi_ns, count)]`` from :func:`write_histograms_json` output. Raises
    ValueError with a one-line reason for anything else (wrong format, negative or inverted buckets)."""
    import orjson

    try:
        doc = orjson.loads(Path(path).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a latency histogram file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != HIST_FORMAT or not isinstance(doc.get("stages"), dict):
        raise ValueError(f"{path}: not a latency histogram file (expected format {HIST_FORMAT!r})")
    out: dict[str, list[tuple[int, int, int]]] = {}
    for st, d in doc["stages"].items():
        try:
            b = [(int(lo), int(hi), int(c)) for lo, hi, c in d["buckets"]]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}: stage {st!r} has malformed buckets") from None
        if any(lo < 0 or hi < lo or c < 0 for lo, hi, c in b):
            raise ValueError(f"{path}: stage {st!r} has negative or inverted buckets")
        out[st] = sorted(b)
    return out


# ---------------------------------------------------------------------------------------------- Prometheus


def prometheus_text(recorder: Any, counters: dict[str, float] | None = None) -> str:
    """Prometheus text exposition: a summary per stage (seconds) plus the given gauges/counters."""
    lines = ["# HELP hotpath_stage_latency_seconds Per-stage latency of the hot path.",
             "# TYPE hotpath_stage_latency_seconds summary"]
    for st, d in recorder.summary().items():
        for q, k in (("0.5", "p50"), ("0.9", "p90"), ("0.99", "p99"), ("0.999", "p999")):
            lines.append(f'hotpath_stage_latency_seconds{{stage="{st}",quantile="{q}"}} {d[k] / 1e9:.9f}')
        lines.append(f'hotpath_stage_latency_seconds_sum{{stage="{st}"}} {d["mean"] * d["count"] / 1e9:.9f}')
        lines.append(f'hotpath_stage_latency_seconds_count{{stage="{st}"}} {d["count"]}')
    for k, v in (counters or {}).items():
        lines.append(f"# TYPE hotpath_{k} gauge")
        lines.append(f"hotpath_{k} {float(v)}")
    return "\n".join(lines) + "\n"


async def start_prometheus(recorder: Any, port: int, counters: Callable[[], dict[str, float]] | None = None,
                           host: str = "127.0.0.1"):
    """Serve ``GET /metrics`` on ``host:port`` (loopback by default). Returns the aiohttp AppRunner (cleanup())."""
    from aiohttp import web

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(text=prometheus_text(recorder, counters() if counters else None),
                            content_type="text/plain", charset="utf-8")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner
