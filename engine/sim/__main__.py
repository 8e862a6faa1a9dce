# SPDX-License-Identifier: Apache-2.0
"""Process mode: ``python -m engine.sim --port 8800 --venues binance_usdm,okx``.

Binds 127.0.0.1 unless ``--host`` is given; venue i listens on ``port + i`` (``--port 0`` picks
free ports). Prints one JSON line with the endpoints and credentials' key ids, then serves until
interrupted."""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from engine.sim.config import VENUE_KEYS, SimConfig, VenueSpec
from engine.sim.server import SimExchange


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m engine.sim",
                                description="Simulated exchange on loopback (real wire protocols).")
    p.add_argument("--port", type=int, default=8800, help="first port (0 = ephemeral)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
    p.add_argument("--venues", default="binance_usdm",
                   help=f"comma-separated venue keys ({', '.join(VENUE_KEYS)})")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=20.0, help="market events per second per symbol")
    p.add_argument("--depth", type=int, default=20, help="synthetic levels per side")
    p.add_argument("--probe", action="store_true", help="latency-probe mode (tick-to-trade)")
    p.add_argument("--replay", default=None, help="recording to replay instead of synthetic data")
    p.add_argument("--replay-speed", type=float, default=1.0, help="1 = real time, 0 = max speed")
    p.add_argument("--duration", type=float, default=0.0, help="stop after seconds (0 = forever)")
    return p


async def _serve(args: argparse.Namespace) -> int:
    keys = [k.strip() for k in args.venues.split(",") if k.strip()]
    cfg = SimConfig(venues=[VenueSpec(k) for k in keys], seed=args.seed, quote_rate=args.rate,
                    depth_levels=args.depth, host=args.host, latency_probe=args.probe,
                    replay=args.replay, replay_speed=args.replay_speed)
    ports = {k: (args.port + i if args.port else 0) for i, k in enumerate(keys)}
    async with SimExchange(cfg, ports=ports) as ex:
        info = {k: dict(ex.endpoints(k), api_key=ex.credentials(k)[0]) for k in keys}
        print(json.dumps(info), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        if args.duration > 0:
            loop.call_later(args.duration, stop.set)
        await stop.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(_serve(args))
    except (ValueError, KeyError, OSError) as e:
        print(f"engine.sim: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
