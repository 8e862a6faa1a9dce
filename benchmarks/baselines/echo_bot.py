# SPDX-License-Identifier: Apache-2.0
"""Reference floor: a bot that does no work. picows + uvloop; counts market frames and on every N-th one
writes a pre-built frame (``{"id":"e","method":"echo"}``) to the WS API connection: no parsing, no
decision, no encoding, no signing. Whatever a real bot measures above this is its own work."""
from __future__ import annotations

import argparse
import asyncio
import signal

import uvloop
from picows import WSListener, WSMsgType, ws_connect

FRAME = b'{"id":"e","method":"echo"}'


class Sink(WSListener):
    def on_ws_frame(self, transport, frame) -> None:
        pass


class Echo(WSListener):
    def __init__(self, order_tr, every: int) -> None:
        self.order_tr, self.every, self.n, self.sent = order_tr, every, 0, 0

    def on_ws_frame(self, transport, frame) -> None:
        self.n += 1
        if self.n % self.every == 0:
            self.order_tr.send(WSMsgType.TEXT, FRAME)
            self.sent += 1


def _spin(loop: asyncio.AbstractEventLoop) -> None:
    loop.call_soon(_spin, loop)


async def run(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    order_tr, _ = await ws_connect(Sink, args.ws_api_url)
    md_tr, lis = await ws_connect(lambda: Echo(order_tr, args.every), args.ws_url)
    if args.busy_poll:
        loop.call_soon(_spin, loop)
    await stop.wait()
    md_tr.disconnect()
    order_tr.disconnect()
    print(f'{{"orders": {lis.sent}}}', flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ws-url", required=True)
    p.add_argument("--ws-api-url", required=True)
    p.add_argument("--rest-url", default="", help="unused")
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--busy-poll", action="store_true")
    uvloop.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
