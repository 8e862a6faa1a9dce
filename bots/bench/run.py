# SPDX-License-Identifier: Apache-2.0
"""The engine as a benchmark bot (benchmarks/tick_to_trade.py): Binance spot bookTicker in, WS-API order.place out.

The market-data connection is a picows connection whose listener is the compiled pipeline's
(decode -> strategy hook -> risk -> encode+sign -> send on the open WS-API connection, one call per frame);
the strategy is bots/bench (compiled ``--strategy cy`` or PyStrategy ``--strategy py``). Orders written are
drained into a counter on each order reply, as the router would (a 100 ms timer as a safety net). ``--busy-poll`` spins instead of
sleeping in epoll: by default with the compiled ``engine.pipeline.BusySpin`` (``--busy-poll-mode py``: the
Python ``call_soon`` spinner of ``engine.bot.BusyPoller``).
Point it at any Binance-compatible endpoint with ``--ws-url --ws-api-url --rest-url``; keys from
``HOTPATH_BINANCE_SPOT_API_KEY`` / ``HOTPATH_BINANCE_SPOT_SECRET``.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent.parent))  # fallback only: an installed engine on sys.path wins


async def run(args: argparse.Namespace) -> dict:
    from picows import WSListener, WSMsgType, ws_connect

    from engine.bot import BusyPoller
    from engine.codec import Decoder
    from engine.instruments import Instrument, Venue
    from engine.orders import OrderEncoder, make_session_tag
    from engine.pipeline import BusySpin, Pipeline
    from engine.risk import RiskGate
    from engine.strategy import Context

    venue = int(Venue.BINANCE_SPOT)
    inst = Instrument(0, Venue.BINANCE_SPOT, args.symbol, args.tick_size, args.lot_size)
    ctx = Context()
    ctx.add_instrument(inst)
    if args.strategy == "cy":
        from engine.build import compile_strategy

        strategy = compile_strategy(HERE / "strategy.pyx").BenchStrategy(ctx, every=args.every)
    else:
        sys.path.insert(0, str(HERE))
        from strategy_py import BenchStrategy

        strategy = BenchStrategy(ctx, every=args.every)
    risk = RiskGate()
    risk.set_limits(0, max_order_sz=inst.lot_units * 10, max_notional=1e9)
    risk.set_global(max_open_orders=None, rate_per_s=None, burst=None)
    pipe = Pipeline(ctx, strategy, risk)
    dec = Decoder(venue)
    dec.add_instrument(inst)
    pipe.add_feed(venue, dec)
    enc = OrderEncoder(venue, "ws", os.environ["HOTPATH_BINANCE_SPOT_API_KEY"],
                       os.environ["HOTPATH_BINANCE_SPOT_SECRET"], session_tag=make_session_tag(int(time.time())))
    enc.add_instrument(inst)
    pipe.set_encoder(venue, enc)

    acks = [0]
    sent = [0]

    def drain_now() -> None:  # what the router does in a full bot: take the sent records
        sent[0] += len(pipe.drain_sent())
        pipe.drain_rejects()

    class Acks(WSListener):
        def on_ws_frame(self, transport, frame) -> None:
            if frame.msg_type == WSMsgType.TEXT:
                acks[0] += 1
                drain_now()   # on the order's reply: no extra wake-up (a 5 ms timer cost ~1 µs CPU/quote)

    class Cold:
        def __init__(self) -> None:
            self.n = 0

        def on_cold_frame(self, conn_id, payload, rc, inst, recv_ns) -> None:
            self.n += 1

    cold = Cold()
    order_tr, _ = await ws_connect(Acks, args.ws_api_url)
    pipe.set_order_transport(venue, order_tr)
    md_tr, _ = await ws_connect(lambda: pipe.listener(0, venue, cold), args.ws_url)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)

    def drain() -> None:  # safety net for orders whose reply never comes (the sent ring holds 4096)
        drain_now()
        if not stop.is_set():
            loop.call_later(0.1, drain)
    warm = {"kind": "new", "inst": 0, "side": "buy", "ord_type": "limit", "tif": "ioc", "px": 1, "sz": inst.lot_units,
            "client_id": 1}

    def warm_up() -> None:  # encode+sign a dummy order (dropped) so the rarely taken order path stays cached
        t = ctx.top(0)
        if t["valid"] and t["bid_px"]:
            warm["px"] = t["bid_px"]
            enc.encode_py(warm, int(time.time() * 1000))
        if not stop.is_set():
            loop.call_later(args.warm_ms / 1000.0, warm_up)

    if args.warm_ms > 0:
        loop.call_later(args.warm_ms / 1000.0, warm_up)

    loop.call_later(0.1, drain)
    gc.collect()
    gc.freeze()
    poller = None
    if args.busy_poll and args.busy_poll_mode == "c":
        # compiled spin: poll()+recv() of the market and order sockets in C, frames run inline
        poller = BusySpin(loop, [md_tr, order_tr], budget_us=args.spin_budget_us)
        if args.spin_warm_us > 0:   # the core spins anyway: keep encode+sign cached between rounds
            from engine import strategy as st

            t = ctx.top(0)
            poller.set_warmup(enc, {"kind": st.INTENT_NEW, "venue": venue, "inst": 0, "side": st.SIDE_BUY,
                                    "ord_type": st.ORD_LIMIT, "tif": st.TIF_IOC, "px": t["bid_px"] or inst.tick_units,
                                    "sz": inst.lot_units, "client_id": 1}, every_us=args.spin_warm_us)
        poller.start()
    elif args.busy_poll:
        poller = BusyPoller(loop)   # the loop spins through a Python call_soon callback
        poller.start()
    await stop.wait()
    if poller is not None:
        poller.stop()
    sent[0] += len(pipe.drain_sent())
    rejects = pipe.drain_rejects()
    md_tr.disconnect()
    order_tr.disconnect()
    spin = poller.stats if isinstance(poller, BusySpin) else None
    return {"orders": sent[0], "acks": acks[0], "cold": cold.n, "rejects": len(rejects), "spin": spin,
            "stats": pipe.stats, "latency": {k: {"p50": v["p50"], "p99": v["p99"], "count": v["count"]}
                                             for k, v in pipe.latency.summary().items()}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ws-url", required=True, help="market stream URL (bookTicker)")
    p.add_argument("--ws-api-url", required=True, help="Binance WS API URL (order.place)")
    p.add_argument("--rest-url", default="", help="unused (orders go over the WS API), accepted for a uniform CLI")
    p.add_argument("--strategy", choices=("cy", "py"), default="cy", help="compiled (cy) or PyStrategy (py)")
    p.add_argument("--every", type=int, default=10, help="order on quotes with u %% N == 0")
    p.add_argument("--symbol", default="BTCUSDT")
    p.add_argument("--tick-size", default="0.01")
    p.add_argument("--lot-size", default="0.00001")
    p.add_argument("--busy-poll", action="store_true", help="spin instead of sleeping in epoll (burns a core)")
    p.add_argument("--busy-poll-mode", choices=("c", "py"), default="c",
                   help="c: engine.pipeline.BusySpin (poll+recv in C, frames run inline; default); "
                        "py: engine.bot.BusyPoller (a call_soon callback per spin)")
    p.add_argument("--spin-budget-us", type=float, default=100.0,
                   help="c mode: µs per spin round before yielding to the event loop (timers, other I/O)")
    p.add_argument("--spin-warm-us", type=float, default=200.0,
                   help="c mode: encode+sign a dummy order (never sent) at most every N µs between spin rounds "
                        "to keep the order path cached (0 = off)")
    p.add_argument("--no-uvloop", action="store_true")
    p.add_argument("--warm-ms", type=float, default=0.0,
                   help="encode+sign a dummy order every N ms to keep the order path cached (0 = off)")
    args = p.parse_args()
    from engine.bot import run_coro

    out = run_coro(run(args), use_uvloop=not args.no_uvloop)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
