# SPDX-License-Identifier: Apache-2.0
"""``hotpath`` command line: demo, run, sim, record, replay, bench, build-strategy.

User mistakes (bad config, missing file, missing key, bad argument) print one line ``hotpath: error: ...``
and exit 2; anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from engine import __version__
from engine.errors import ConfigError, EngineError

ROOT = Path(__file__).resolve().parent.parent
DEMO_BOTS = ("signal_py", "signal_cy", "market_maker", "spread")

EPILOG = """\
quick start:
  hotpath demo                         simulated exchange + market maker for 20 s, live view, then the report
  hotpath demo --bot signal_py --seconds 10 --no-live
  hotpath run bots/market_maker --config bots/market_maker/config.toml
  hotpath bench --quotes 20000         headline tick-to-trade benchmark against the baselines

API keys come only from the environment (HOTPATH_<VENUE>_API_KEY, _SECRET, _PASSPHRASE, e.g.
HOTPATH_BINANCE_USDM_API_KEY) or from a key_file (mode 0600) named in the config; never from the
command line or the config itself. Docs: docs/quickstart.md, docs/configuration.md, docs/operations.md.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse would print the usage block first)
        words = self.prog.split()
        sub = f"{words[1]} " if len(words) > 1 else ""
        self.exit(2, f"hotpath: error: {message} (see: hotpath {sub}--help)\n")


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def _nonneg_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _runtime_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("runtime tuning (override the config's [runtime])")
    g.add_argument("--cpu", type=int, default=None, metavar="N", help="pin the process to CPU N (os.sched_setaffinity)")
    g.add_argument("--busy-poll", action="store_true",
                   help="spin the event loop instead of sleeping in epoll (needs --cpu; burns that core)")
    g.add_argument("--no-uvloop", action="store_true", help="use the stdlib asyncio loop (for comparisons)")
    g.add_argument("--report-dir", default=None, metavar="DIR", help="where the HTML/PNG latency report goes (default reports/)")
    g.add_argument("--report-every", type=int, default=None, metavar="N", help="log a latency line every N ticks (default 1000, 0 = off)")
    g.add_argument("--prometheus-port", type=int, default=None, metavar="PORT",
                   help="serve Prometheus metrics on 127.0.0.1:PORT (default off)")
    g.add_argument("--no-report", action="store_true", help="skip the HTML/PNG report at exit")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="hotpath",
        description="hotpath: a low-latency crypto trading engine with a compiled hot path "
                    "(decode -> book -> strategy -> risk -> encode+sign -> send in one nogil call).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"hotpath {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)

    d = sub.add_parser("demo", help="run an example bot against the in-process simulated exchange",
                       description="Start the simulated exchange in this process and run an example bot against it "
                                   "for N seconds with a live terminal view of book, position, PnL and per-layer "
                                   "latency, then print the latency table and write the HTML/PNG report.",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("--seconds", type=_positive_float, default=20.0, help="how long to trade (default 20)")
    d.add_argument("--bot", choices=DEMO_BOTS, default="market_maker", help="example bot to run (default market_maker)")
    d.add_argument("--no-live", action="store_true", help="no live terminal view (plain log lines; for CI and pipes)")
    d.add_argument("--seed", type=int, default=7, help="seed of the simulated market (default 7)")
    _runtime_flags(d)

    r = sub.add_parser("run", help="run a bot from its TOML config (live, testnet or sim endpoints)",
                       description="Run BOT (a bot directory or strategy file) with the TOML config FILE. Endpoints "
                                   "come from the config preset (mainnet / testnet / sim); with 'sim' an in-process "
                                   "simulated exchange is started. Stops on SIGINT/SIGTERM: no new orders, cancel open "
                                   "ones (runtime.cancel_on_exit), flush persistence, print the report.")
    r.add_argument("bot", metavar="BOT", help="bot directory (with strategy.py / strategy.pyx) or strategy file")
    r.add_argument("--config", required=True, metavar="FILE", help="TOML config (see docs/configuration.md)")
    r.add_argument("--seconds", type=_positive_float, default=None, help="stop after N seconds (default: until signalled)")
    r.add_argument("--live", action="store_true", help="show the live terminal view")
    _runtime_flags(r)

    s = sub.add_parser("sim", help="run the simulated exchange as a process", add_help=False,
                       description="Run the simulated exchange (engine.sim) as its own process; all arguments are "
                                   "passed to engine.sim.main (try: hotpath sim --help).")
    s.add_argument("args", nargs=argparse.REMAINDER, help="arguments for engine.sim.main, e.g. --port 8900")

    rec = sub.add_parser("record", help="record raw market data frames to a file",
                         description="Connect to the venues and instruments of a config and append every raw frame "
                                     "(plus REST snapshots) to a recording for later replay.")
    rec.add_argument("--config", required=True, metavar="FILE", help="TOML config naming venues and instruments")
    rec.add_argument("--out", required=True, metavar="FILE", help="recording file to write (.hprec)")
    rec.add_argument("--seconds", type=_positive_float, default=None, help="stop after N seconds (default: until signalled)")
    rec.add_argument("--channels", default="depth,trades", help="comma list of channels (default depth,trades)")

    rp = sub.add_parser("replay", help="replay a recording through the adapters, books and strategy",
                        description="Feed a recording through the same decoders, books, strategy and risk gate as live "
                                    "trading; orders go to the simulated exchange's matching engine (queue position "
                                    "behind displayed size, trades, trade-through; engine/sim/README.md) whose book is "
                                    "the recorded book, each order arriving after a latency drawn from a fixed value "
                                    "or a saved histogram; prints fills, positions, PnL and the latency table.")
    rp.add_argument("recording", metavar="FILE", help="recording written by hotpath record, or a fixture .jsonl")
    rp.add_argument("--config", required=True, metavar="FILE", help="bot config (strategy, instruments, risk)")
    rp.add_argument("--bot", default=None, metavar="BOT", help="bot directory if not the config's own")
    rp.add_argument("--latency-us", type=_nonneg_float, default=None, metavar="US",
                    help="fixed order latency: an order reaches the matching engine this long after the frame "
                         "that triggered it, in recorded time (default 100)")
    rp.add_argument("--latency-from", default=None, metavar="REPORT.json",
                    help="draw each order's latency from the histograms a bot's report saved (the .json next to "
                         "its HTML/PNG); deterministic for --seed")
    rp.add_argument("--latency-stage", default="ack", metavar="STAGES",
                    help="stage(s) of --latency-from to draw from, comma list summed (default ack: order sent -> "
                         "venue reply; e.g. tick_to_trade,ack)")
    rp.add_argument("--seed", type=int, default=7, help="seed of the latency draws (default 7)")
    rp.add_argument("--depth", type=_positive_int, default=100, metavar="N",
                    help="recorded levels per side mirrored into the matching engine (default 100)")
    rp.add_argument("--fills", action="store_true", help="print every fill")
    rp.add_argument("--snapshot", action="append", default=[], metavar="SYMBOL=FILE",
                    help="for a fixture .jsonl recording: the REST depth snapshot of SYMBOL (repeatable); the "
                         ".jsonl is converted with engine.recorder.convert_fixture for the config's single venue")

    b = sub.add_parser("bench", help="headline tick-to-trade benchmark (engine vs. plain Python baselines)",
                       add_help=False,
                       description="Run benchmarks/tick_to_trade.py; all arguments are passed through "
                                   "(--quotes N --rate R --json --bots ... --busy-poll off|on|both).")
    b.add_argument("args", nargs=argparse.REMAINDER, help="arguments for benchmarks/tick_to_trade.py")

    bs = sub.add_parser("build-strategy", help="compile a Cython strategy (.pyx) into an importable module",
                        add_help=False,
                        description="Compile FILE.pyx against the engine's .pxd/.h (engine.build.main); arguments "
                                    "are passed through (try: hotpath build-strategy --help).")
    bs.add_argument("args", nargs=argparse.REMAINDER, help="FILE.pyx and options for engine.build.main")
    return p


def _setup_logging(verbose: int) -> None:
    import logging

    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # the per-N-ticks latency line is part of the product, not debug output
    logging.getLogger("hotpath.latency").setLevel(min(level, logging.INFO))


def _dispatch(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.cmd is None:
        parser.print_help()
        return 2
    if args.cmd == "sim":
        from engine.sim import main as sim_main

        return int(sim_main(args.args) or 0)
    if args.cmd == "bench":
        from engine.bot import project_dir

        script = project_dir("benchmarks") / "tick_to_trade.py"
        if not script.exists():
            raise ConfigError(f"{script} not found: hotpath bench runs from a project checkout")
        import runpy

        sys.argv = [str(script), *args.args]
        try:
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as exc:
            return int(exc.code or 0) if not isinstance(exc.code, str) else 1
        return 0
    if args.cmd == "build-strategy":
        from engine.build import main as build_main

        return int(build_main(args.args) or 0)
    from engine import bot

    if args.cmd == "demo":
        return bot.run_demo(args)
    if args.cmd == "run":
        return bot.run_from_cli(args)
    if args.cmd == "record":
        return bot.record_from_cli(args)
    if args.cmd == "replay":
        return bot.replay_from_cli(args)
    raise AssertionError(args.cmd)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        if args.cmd in ("sim", "bench", "build-strategy"):  # pass-through commands own their options
            args.args = [*unknown, *args.args] if unknown and unknown[0].startswith("-") else [*args.args, *unknown]
        else:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    _setup_logging(args.verbose)
    for flag in ("cpu",):
        v = getattr(args, flag, None)
        if v is not None and hasattr(os, "sched_getaffinity") and v not in os.sched_getaffinity(0):
            print(f"hotpath: error: --cpu {v} is not available (allowed: {sorted(os.sched_getaffinity(0))})",
                  file=sys.stderr)
            return 2
    if getattr(args, "busy_poll", False) and getattr(args, "cpu", None) is None:
        print("hotpath: error: --busy-poll needs --cpu N (a core to spin on)", file=sys.stderr)
        return 2
    try:
        return _dispatch(args, parser)
    except (ConfigError, EngineError) as exc:
        print(f"hotpath: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"hotpath: error: {exc.filename or exc}: no such file", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
