# SPDX-License-Identifier: Apache-2.0
"""Headline benchmark: tick-to-trade of whole bot processes against a Binance-compatible quote pump.

This process plays the exchange on loopback (one port; market stream, WS API and REST on it). It sends
``bookTicker`` frames at ``--rate`` quotes/s, stamping CLOCK_MONOTONIC just before each send; every quote
has a distinct bid price, and a bot must buy (LIMIT IOC) at the bid of every quote whose ``u`` is a multiple
of 10. When an order arrives its arrival is stamped right after ``select`` returns, before parsing; its
price identifies the quote, so tick-to-trade = arrival - send of that quote (one clock, no skew). Order
signatures are verified (WS API: sorted params; REST: query+body) after the stamp; a bad one is an error.

Each configuration runs as its own bot process, one after the other in the same run:
  engine-cy     our engine, compiled strategy (bots/bench, engine.pipeline hot path)
  engine-py     our engine, PyStrategy
  engine-cy-warm  engine-cy plus an order-path warm-up (dummy encode+sign every 1 ms, never sent)
  engine-cy-pyspin  engine-cy whose --busy-poll is the Python call_soon spinner instead of BusySpin
  engine-cy-nowarm  engine-cy whose BusySpin does not warm the order path between rounds
  plain         benchmarks/baselines/plain_bot.py (websockets + json + aiohttp REST + stdlib hmac)
  fast-py       benchmarks/baselines/fast_py_bot.py (picows + orjson + uvloop + WS order.place)
  echo          benchmarks/baselines/echo_bot.py (no work: a pre-built frame on every 10th quote; the floor)
  c-floor       benchmarks/baselines/c_floor_bot.c: the echo in C, no event loop, epoll_wait on both sockets
  c-floor-recv  the same, sleeping in a blocking recv() on the market socket (the cheapest possible sleep)
and each ``+bp`` variant with ``--busy-poll``. The two c-floor rows are the machine's floor for a process that
sleeps between quotes: what the kernel (in a VM, also the hypervisor) charges for one wake-up per quote, with
no Python at all; they are compiled on first use with the C compiler Python was built with. CPU per quote is the bot's on-CPU time
(/proc/<pid>/task/*/schedstat, ns) over the measured window divided by the quotes sent; RSS is the bot's
peak resident set since it started (VmHWM, read at the end of the measured window).

    python benchmarks/tick_to_trade.py                       # table
    python benchmarks/tick_to_trade.py --json --quotes 300   # one JSON object per configuration
    python benchmarks/tick_to_trade.py --exchange sim        # the same bots against engine.sim

Exchanges. ``--exchange lite`` (default) is the select() pump above. ``--exchange sim`` runs engine.sim
(binance_spot, BTCUSDT, ``SimConfig(latency_probe=True)``) on a thread of this process: the sim sends the
bookTicker quotes with a send stamp and records, for every order it receives, arrival minus the send stamp of
the latest quote (``ex.tick_to_trade_ns``). The lite pump stays the default because it measures more cleanly:
(1) its arrival stamp is taken right after select() returns, the sim's after aiohttp has read and parsed the
request inside an asyncio loop that also runs the synthetic market, matching and the replies, so each sample
carries the sim's own loop latency; (2) it attributes each order to the exact quote (by price), the sim to
the latest quote sent; (3) the sim cannot time the no-work echo (it only stamps orders). Same machine,
16:03-16:08 UTC, load average ~0.8, 4,000-6,000 quotes, no busy-poll, p50 / p99 in µs: engine-cy lite
74.0 / 258 and 68.1 / 543, sim 86.6 / 1,111; plain lite 405 / 706, sim 442 / 1,277; fast-py lite 132 / 306,
sim 108 / 523. The echo row (the floor) exists only with lite.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import select
import shlex
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
API_KEY = "benchkey0123456789"
SECRET = "benchsecret0123456789abcdef"
SYMBOL = "BTCUSDT"
BASE_CENTS = 6_000_000  # 60000.00
PRICE_MOD = 100_000
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _engine_path() -> str:
    """sys.path entry that provides ``engine`` here (source checkout or site-packages), for the bot processes."""
    try:
        import engine

        return str(Path(engine.__file__).resolve().parent.parent)
    except ImportError:
        return str(ROOT)


def _child_env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (_engine_path(), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path, **extra)


def bot_commands() -> dict[str, list[str]]:
    b = ROOT / "benchmarks" / "baselines"
    return {
        "engine-cy": [PY, str(ROOT / "bots" / "bench" / "run.py"), "--strategy", "cy"],
        "engine-py": [PY, str(ROOT / "bots" / "bench" / "run.py"), "--strategy", "py"],
        "engine-cy-warm": [PY, str(ROOT / "bots" / "bench" / "run.py"), "--strategy", "cy", "--warm-ms", "1"],
        "engine-cy-pyspin": [PY, str(ROOT / "bots" / "bench" / "run.py"), "--strategy", "cy", "--busy-poll-mode", "py"],
        "engine-cy-nowarm": [PY, str(ROOT / "bots" / "bench" / "run.py"), "--strategy", "cy", "--spin-warm-us", "0"],
        "plain": [PY, str(b / "plain_bot.py")],
        "fast-py": [PY, str(b / "fast_py_bot.py")],
        "echo": [PY, str(b / "echo_bot.py")],
        "c-floor": [str(C_FLOOR_BIN), "--wait", "epoll"],
        "c-floor-recv": [str(C_FLOOR_BIN), "--wait", "recv"],
    }


C_FLOOR_SRC = ROOT / "benchmarks" / "baselines" / "c_floor_bot.c"
C_FLOOR_BIN = Path(tempfile.gettempdir()) / "hotpath-bench" / "c_floor_bot"


def build_c_floor() -> None:
    """Compile c_floor_bot.c (with the C compiler Python was built with) unless the binary is newer."""
    if C_FLOOR_BIN.exists() and C_FLOOR_BIN.stat().st_mtime >= C_FLOOR_SRC.stat().st_mtime:
        return
    C_FLOOR_BIN.parent.mkdir(parents=True, exist_ok=True)
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
    r = subprocess.run(cc + ["-O2", "-o", str(C_FLOOR_BIN), str(C_FLOOR_SRC)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"c-floor: cannot compile {C_FLOOR_SRC.name}: {r.stderr.strip()[-300:]}")


# ------------------------------------------------------------------------------------ minimal WS/HTTP server


def ws_frame(payload: bytes, opcode: int = 1) -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big")
    return head + payload


@dataclass
class Conn:
    sock: socket.socket
    kind: str = "http"          # http (pre-upgrade or REST) | market | wsapi
    buf: bytearray = field(default_factory=bytearray)


class Exchange:
    """A select()-driven loopback exchange: quote pump + order sink (single thread, µs-resolution timeouts)."""

    def __init__(self) -> None:
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.conns: dict[int, Conn] = {}
        self.trigger_send: dict[int, int] = {}   # price cents mod -> send ns of a trigger quote
        self.samples: list[int] = []
        self.bad_sig = 0
        self.unmatched = 0
        self.orders = 0
        self.counting = False

    # -- connection handling
    def market(self) -> Conn | None:
        return next((c for c in self.conns.values() if c.kind == "market"), None)

    def order_channel_ready(self, needs_wsapi: bool) -> bool:
        return not needs_wsapi or any(c.kind == "wsapi" for c in self.conns.values())

    def _close(self, c: Conn) -> None:
        self.conns.pop(c.sock.fileno(), None)
        c.sock.close()

    def _on_readable(self, c: Conn, t_arr: int) -> None:
        try:
            data = c.sock.recv(1 << 16)
        except ConnectionError:
            data = b""
        if not data:
            self._close(c)
            return
        c.buf += data
        if c.kind == "http":
            self._http(c, t_arr)
        else:
            self._ws(c, t_arr)

    def _http(self, c: Conn, t_arr: int) -> None:
        while True:
            end = c.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(c.buf[:end]).decode("latin-1")
            lines = head.split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            hdrs = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
            if hdrs.get("upgrade", "").lower() == "websocket":
                accept = base64.b64encode(hashlib.sha1(hdrs["sec-websocket-key"].encode() + GUID).digest())
                c.sock.sendall(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
                )
                del c.buf[: end + 4]
                c.kind = "wsapi" if path.startswith("/ws-api") or "ws-fapi" in path else "market"
                if c.buf:
                    self._ws(c, t_arr)
                return
            clen = int(hdrs.get("content-length", "0"))
            if len(c.buf) < end + 4 + clen:
                return
            body = bytes(c.buf[end + 4 : end + 4 + clen]).decode()
            del c.buf[: end + 4 + clen]
            query = path.partition("?")[2]
            if method == "POST" and path.startswith("/api/v3/order"):
                self._order_rest(query, body, hdrs, t_arr)
                out = b'{"symbol":"BTCUSDT","orderId":1,"status":"EXPIRED"}'
                c.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                               + str(len(out)).encode() + b"\r\n\r\n" + out)
            else:
                out = b'{"code":-1,"msg":"not found"}'
                c.sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: " + str(len(out)).encode() + b"\r\n\r\n" + out)

    def _ws(self, c: Conn, t_arr: int) -> None:
        buf = c.buf
        while len(buf) >= 2:
            op = buf[0] & 0x0F
            n = buf[1] & 0x7F
            i = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, i = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, i = int.from_bytes(buf[2:10], "big"), 10
            masked = buf[1] & 0x80
            if len(buf) < i + (4 if masked else 0) + n:
                return
            payload = bytes(buf[i + 4 : i + 4 + n]) if masked else bytes(buf[i : i + n])
            if masked:
                mask = (bytes(buf[i : i + 4]) * (n // 4 + 1))[:n]
                payload = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")
            del buf[: i + (4 if masked else 0) + n]
            if op == 0x8:
                try:
                    c.sock.sendall(ws_frame(b"\x03\xe8", 0x8))
                except OSError:
                    pass
                self._close(c)
                return
            if op == 0x9:
                c.sock.sendall(ws_frame(payload, 0xA))
            elif op == 0x1 and c.kind == "wsapi":
                self._order_ws(c, payload, t_arr)
            elif op == 0x1 and c.kind == "market":
                try:  # SUBSCRIBE and other control requests get the standard empty result
                    req = json.loads(payload)
                    c.sock.sendall(ws_frame(json.dumps({"result": None, "id": req.get("id")}).encode()))
                except (ValueError, AttributeError):
                    pass

    # -- orders
    def _match(self, price: str, t_arr: int) -> None:
        self.orders += 1
        cents = int(Decimal(price) * 100)
        t_send = self.trigger_send.pop(cents % PRICE_MOD, None)
        if t_send is None:
            self.unmatched += 1
        elif self.counting:
            self.samples.append(t_arr - t_send)

    def _match_latest(self, t_arr: int) -> None:
        self.orders += 1
        if not self.trigger_send:
            self.unmatched += 1
            return
        key = max(self.trigger_send, key=self.trigger_send.__getitem__)
        t_send = self.trigger_send.pop(key)
        if self.counting:
            self.samples.append(t_arr - t_send)

    def _order_ws(self, c: Conn, payload: bytes, t_arr: int) -> None:
        req = json.loads(payload)
        params = dict(req.get("params") or {})
        rid = req.get("id")
        if req.get("method") == "echo":  # the no-work reference bot: attributed to the latest trigger quote
            self._match_latest(t_arr)
            return
        if req.get("method") == "session.logon" or req.get("method") == "userDataStream.subscribe":
            c.sock.sendall(ws_frame(json.dumps({"id": rid, "status": 200, "result": {}}).encode()))
            return
        sig = params.pop("signature", "")
        text = "&".join(f"{k}={_plain(v)}" for k, v in sorted(params.items()))
        good = hmac.compare_digest(hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest(), str(sig))
        if not good:
            self.bad_sig += 1
        if req.get("method") == "order.place":
            self._match(str(params.get("price", "0")), t_arr)
            res = {"symbol": params.get("symbol"), "orderId": self.orders, "clientOrderId": params.get("newClientOrderId"),
                   "status": "EXPIRED", "executedQty": "0.00000000", "transactTime": int(time.time() * 1000)}
        else:
            res = {}
        status = 200 if good else 400
        out = {"id": rid, "status": status, "result": res} if good else {
            "id": rid, "status": 400, "error": {"code": -1022, "msg": "Signature for this request is not valid."}}
        c.sock.sendall(ws_frame(json.dumps(out).encode()))

    def _order_rest(self, query: str, body: str, hdrs: dict[str, str], t_arr: int) -> None:
        payload = query + body
        base, _, sig = payload.rpartition("&signature=")
        good = hdrs.get("x-mbx-apikey") == API_KEY and hmac.compare_digest(
            hmac.new(SECRET.encode(), base.encode(), hashlib.sha256).hexdigest(), sig)
        if not good:
            self.bad_sig += 1
        params = dict(parse_qsl(base))
        self._match(params.get("price", "0"), t_arr)

    # -- the run
    spin = False  # busy-poll the exchange side while an order is awaited (see --exchange-busy-poll)
    last_trigger_ns = 0
    SPIN_WINDOW_NS = 2_000_000

    def poll(self, timeout: float) -> None:
        # spin only while an order is due (a trigger quote sent < 2 ms ago and not yet answered): the
        # exchange's own wake-up leaves the sample, and the shared cores stay free the other ~99 % of the time
        if self.spin and self.trigger_send and time.monotonic_ns() - self.last_trigger_ns < self.SPIN_WINDOW_NS:
            timeout = 0.0
        socks = [self.lsock] + [c.sock for c in self.conns.values()]
        r, _, _ = select.select(socks, [], [], timeout)
        t_arr = time.monotonic_ns()
        for s in r:
            if s is self.lsock:
                cs, _ = self.lsock.accept()
                cs.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.conns[cs.fileno()] = Conn(cs)
            else:
                c = self.conns.get(s.fileno())
                if c is not None and c.sock is s:
                    self._on_readable(c, t_arr)

    def pump(self, quotes: int, rate: float, every: int, start_u: int, counting: bool, cpu_probe=None) -> None:
        period = int(1e9 / rate)
        md = self.market()
        if md is None:
            raise RuntimeError("bot disconnected from the market stream")
        self.counting = counting
        t_next = time.monotonic_ns()
        for k in range(quotes):
            u = start_u + k
            cents = BASE_CENTS + (u % PRICE_MOD)
            px = f"{cents // 100}.{cents % 100:02d}"
            frame = ws_frame(
                f'{{"u":{u},"s":"{SYMBOL}","b":"{px}","B":"1.50000000","a":"{cents // 100 + 1}.{cents % 100:02d}",'
                f'"A":"2.00000000"}}'.encode()
            )
            while True:
                now = time.monotonic_ns()
                if now >= t_next:
                    break
                self.poll((t_next - now) / 1e9)
            t_send = time.monotonic_ns()
            if u % every == 0:
                self.trigger_send[cents % PRICE_MOD] = t_send
                self.last_trigger_ns = t_send
            try:
                md.sock.sendall(frame)
            except OSError:
                raise RuntimeError("bot disconnected from the market stream") from None
            t_next += period
        deadline = time.monotonic_ns() + 300_000_000
        while time.monotonic_ns() < deadline:
            self.poll(0.01)

    def close(self) -> None:
        for c in list(self.conns.values()):
            self._close(c)
        self.lsock.close()


def _plain(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _cpu_ns(pid: int) -> int:
    total = 0
    for t in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((t / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def _rss_mb(pid: int, field: str = "VmRSS") -> float | None:
    """VmRSS (now) or VmHWM (peak since exec) of a process, MB. Not ru_maxrss: a child forked from this
    process starts with this process's resident pages counted, which swamps a small bot's own."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    return None


def pct(sorted_vals: list[int], p: float) -> float:
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k] / 1000.0


def run_config(name: str, cmd: list[str], quotes: int, rate: float, every: int, warmup: int,
               busy_poll: bool, cpu: int | None, timeout: float = 60.0, exchange_spin: bool = False) -> dict:
    ex = Exchange()
    ex.spin = exchange_spin
    url = f"127.0.0.1:{ex.port}"
    argv = cmd + ["--ws-url", f"ws://{url}/ws/{SYMBOL.lower()}@bookTicker", "--ws-api-url", f"ws://{url}/ws-api/v3",
                  "--rest-url", f"http://{url}", "--every", str(every)]
    if busy_poll:
        argv.append("--busy-poll")
    env = _child_env(HOTPATH_BINANCE_SPOT_API_KEY=API_KEY, HOTPATH_BINANCE_SPOT_SECRET=SECRET)
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu)] + argv
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(ROOT))
    try:
        needs_wsapi = not name.startswith("plain")
        t0 = time.monotonic()
        while ex.market() is None or not ex.order_channel_ready(needs_wsapi):
            if proc.poll() is not None or time.monotonic() - t0 > timeout:
                err = proc.stderr.read().decode(errors="replace").strip().splitlines()
                raise RuntimeError(f"{name}: bot did not connect: {err[-1] if err else 'exit ' + str(proc.returncode)}")
            ex.poll(0.05)
        settle = time.monotonic() + 0.3
        while time.monotonic() < settle:
            ex.poll(0.01)
        ex.pump(warmup, rate, every, 1, counting=False)
        ex.samples.clear()
        ex.unmatched = 0
        cpu0 = _cpu_ns(proc.pid)
        rss0 = _rss_mb(proc.pid)
        orders0 = ex.orders
        ex.pump(quotes, rate, every, 1 + warmup, counting=True)
        cpu1 = _cpu_ns(proc.pid)
        rss1 = _rss_mb(proc.pid)
        peak = _rss_mb(proc.pid, "VmHWM")
        orders = ex.orders - orders0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            ex.poll(0.02)
        if proc.poll() is None:
            proc.kill()
            while proc.poll() is None:
                time.sleep(0.01)
        ex.close()
    out, err = proc.communicate()
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"{name}: bot exited with {proc.returncode}: {tail[-1] if tail else ''}")
    rss_mb = peak
    internal = {}
    for line in reversed(out.decode(errors="replace").splitlines()):
        if line.startswith("{"):
            stages = json.loads(line).get("latency", {})
            lat = stages.get("tick_to_trade")
            if lat:  # the engine's own stamp: frame read -> order bytes written, inside the bot
                internal = {"in_bot_p50_us": round(lat["p50"] / 1000, 1), "in_bot_p99_us": round(lat["p99"] / 1000, 1),
                            "in_bot_stage_p50_us": {k: round(v["p50"] / 1000, 2) for k, v in stages.items()
                                                    if v.get("count")}}
            break
    s = sorted(ex.samples)
    expected = quotes // every
    if ex.bad_sig:
        raise RuntimeError(f"{name}: {ex.bad_sig} orders with a bad signature")
    return {
        "name": name + ("+bp" if busy_poll else ""),
        "orders": orders,
        "expected": expected,
        "unmatched": ex.unmatched,
        "p50_us": round(pct(s, 50), 1),
        "p90_us": round(pct(s, 90), 1),
        "p99_us": round(pct(s, 99), 1),
        "p999_us": round(pct(s, 99.9), 1),
        "max_us": round(s[-1] / 1000, 1) if s else float("nan"),
        "cpu_us_per_quote": round((cpu1 - cpu0) / 1000.0 / quotes, 2),
        "rss_mb": round(rss_mb, 1) if rss_mb else None,
        "rss_start_mb": rss0,      # VmRSS when the measured window began / ended: growth = leak
        "rss_end_mb": rss1,
        "quotes": quotes,
        "rate": rate,
        **internal,
    }


class _SimThread:
    """engine.sim (binance_spot, BTCUSDT only, ``latency_probe=True``) on its own event loop thread."""

    def __init__(self, rate: float) -> None:
        import asyncio
        import threading

        if _engine_path() == str(ROOT) and str(ROOT) not in sys.path:  # source checkout, not installed
            sys.path.append(str(ROOT))
        from engine.sim import SimConfig, SimExchange, VenueSpec
        from engine.sim.config import DEFAULT_SYMBOLS, SymbolSpec

        btc = [SymbolSpec(**vars(s)) for s in DEFAULT_SYMBOLS["binance_spot"] if s.symbol == SYMBOL]
        self.ex = SimExchange(SimConfig(venues=[VenueSpec("binance_spot", symbols=btc)], quote_rate=rate,
                                        latency_probe=True))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sim", daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.ex.start(), self.loop).result(30)
        self.tick_size = btc[0].tick_size
        self.lot_size = btc[0].lot_size

    def close(self) -> None:
        import asyncio

        try:
            asyncio.run_coroutine_threadsafe(self.ex.stop(), self.loop).result(30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


def run_config_sim(name: str, cmd: list[str], quotes: int, rate: float, every: int, warmup: int,
                   busy_poll: bool, cpu: int | None, timeout: float = 60.0) -> dict:
    """The same bot against engine.sim in latency-probe mode: the sim sends the quotes (send stamp on each
    best-price frame) and stamps each order's arrival minus the latest quote's send (``ex.tick_to_trade_ns``).
    The run lasts ``(warmup + quotes) / rate`` seconds of sim time; ``quotes`` in the row is the number of
    market events the sim generated in the measured window."""
    if name.startswith(("echo", "c-floor")):
        raise RuntimeError(f"{name}: the echo bots send no order, and the sim stamps orders only")
    sim = _SimThread(rate)
    ex, key = sim.ex, "binance_spot"
    ep = ex.endpoints(key)
    api_key, secret, _ = ex.credentials(key)
    argv = cmd + ["--ws-url", f"{ep['ws_public']}/ws/{SYMBOL.lower()}@bookTicker", "--ws-api-url", ep["ws_trade"],
                  "--rest-url", ep["rest"], "--every", str(every)]
    if name.startswith("engine"):
        argv += ["--tick-size", sim.tick_size, "--lot-size", sim.lot_size]
    if busy_poll:
        argv.append("--busy-poll")
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu)] + argv
    env = _child_env(HOTPATH_BINANCE_SPOT_API_KEY=api_key, HOTPATH_BINANCE_SPOT_SECRET=secret)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(ROOT))
    try:
        t0 = time.monotonic()
        while not ex.tick_to_trade_ns(key):           # the first order arrived: the bot is up
            if proc.poll() is not None or time.monotonic() - t0 > timeout:
                err = proc.stderr.read().decode(errors="replace").strip().splitlines()
                raise RuntimeError(f"{name}: no order reached the sim: {err[-1] if err else 'exit ' + str(proc.returncode)}")
            time.sleep(0.05)
        time.sleep(warmup / rate)
        n0, ev0 = len(ex.tick_to_trade_ns(key)), ex.stats(key)["events"]
        cpu0, rss0 = _cpu_ns(proc.pid), _rss_mb(proc.pid)
        time.sleep(quotes / rate)
        cpu1, rss1, peak = _cpu_ns(proc.pid), _rss_mb(proc.pid), _rss_mb(proc.pid, "VmHWM")
        samples, ev1 = ex.tick_to_trade_ns(key), ex.stats(key)["events"]
        skipped = ex.stats(key)["overload_skipped"]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is None:
            proc.kill()
            while proc.poll() is None:
                time.sleep(0.01)
        sim.close()
    _out, err = proc.communicate()
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"{name}: bot exited with {proc.returncode}: {tail[-1] if tail else ''}")
    s = sorted(samples[n0:])
    nq = max(1, ev1 - ev0)
    rss_mb = peak
    return {
        "name": name + ("+bp" if busy_poll else ""), "exchange": "sim", "orders": len(s), "expected": nq // every,
        "p50_us": round(pct(s, 50), 1), "p90_us": round(pct(s, 90), 1), "p99_us": round(pct(s, 99), 1),
        "p999_us": round(pct(s, 99.9), 1), "max_us": round(s[-1] / 1000, 1) if s else float("nan"),
        "cpu_us_per_quote": round((cpu1 - cpu0) / 1000.0 / nq, 2), "rss_mb": round(rss_mb, 1) if rss_mb else None,
        "rss_start_mb": rss0, "rss_end_mb": rss1, "quotes": nq, "rate": rate, "sim_overload_skipped": skipped,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="tick-to-trade of whole bot processes (see module docstring)")
    p.add_argument("--quotes", type=int, default=20_000, help="measured quotes per configuration (default 20000)")
    p.add_argument("--rate", type=float, default=2000.0, help="quotes per second (default 2000)")
    p.add_argument("--every", type=int, default=10, help="bots order on every N-th quote (default 10)")
    p.add_argument("--warmup", type=int, default=1000, help="unmeasured quotes before the measured run")
    p.add_argument("--bots", default="engine-cy,engine-py,plain,fast-py,echo,c-floor",
                   help="comma list of configurations (engine-cy, engine-py, engine-cy-warm, plain, fast-py, echo, c-floor, "
                        "c-floor-recv)")
    p.add_argument("--busy-poll", choices=("off", "on", "both"), default="both",
                   help="run each bot without and/or with --busy-poll (plain never busy-polls)")
    p.add_argument("--cpu", type=int, default=None, help="pin each bot to this CPU (taskset)")
    p.add_argument("--exchange-cpu", type=int, default=None,
                   help="pin this process (the exchange side) to this CPU (os.sched_setaffinity)")
    p.add_argument("--exchange-busy-poll", action="store_true",
                   help="the exchange side spins in select(0) while an order is due (from a trigger quote until its "
                        "order, at most 2 ms): removes the exchange's own wake-up from every sample")
    p.add_argument("--exchange", choices=("lite", "sim"), default="lite",
                   help="lite: this file's select() quote pump (default, see the docstring); "
                        "sim: engine.sim in latency-probe mode (binance_spot)")
    p.add_argument("--json", action="store_true", help="one JSON object per line per configuration")
    args = p.parse_args(argv)
    cmds = bot_commands()
    names = [n.strip() for n in args.bots.split(",") if n.strip()]
    for n in names:
        if n not in cmds:
            p.error(f"unknown bot {n!r}; choose from {', '.join(cmds)}")
    if args.exchange_cpu is not None:
        try:
            os.sched_setaffinity(0, {args.exchange_cpu})
        except (OSError, ValueError) as exc:
            p.error(f"--exchange-cpu {args.exchange_cpu}: {exc}")
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.busy_poll]
    if args.exchange == "sim" and args.exchange_busy_poll:
        p.error("--exchange-busy-poll applies to the lite exchange only")
    if any(n.startswith("engine-cy") for n in names):  # compile (or find cached) before timing, so the bot's RSS/CPU exclude the compiler
        subprocess.run([PY, "-m", "engine.cli", "build-strategy", str(ROOT / "bots" / "bench" / "strategy.pyx")],
                       check=True, cwd=str(ROOT), stdout=subprocess.DEVNULL, env=_child_env())
    rows = []
    failed = 0
    if any(n.startswith("c-floor") for n in names):
        try:
            build_c_floor()
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            names = [n for n in names if not n.startswith("c-floor")]
            failed += 1
    for n in names:
        for bp in modes:
            if bp and n in ("plain", "c-floor-recv"):  # plain never spins; c-floor-recv+bp would be c-floor+bp
                continue
            try:
                if args.exchange == "sim":
                    row = run_config_sim(n, cmds[n], args.quotes, args.rate, args.every, args.warmup, bp, args.cpu)
                else:
                    row = run_config(n, cmds[n], args.quotes, args.rate, args.every, args.warmup, bp, args.cpu,
                                     exchange_spin=args.exchange_busy_poll)
            except RuntimeError as exc:
                failed += 1
                print(f"error: {exc}", file=sys.stderr)
                continue
            rows.append(row)
            if args.json:
                print(json.dumps(row), flush=True)
    if not args.json:
        print(f"tick-to-trade, {args.quotes} quotes at {args.rate:.0f}/s, order every {args.every}th (µs), "
              f"exchange {args.exchange}")
        print(f"{'config':<14}{'orders':>8}{'p50':>9}{'p90':>9}{'p99':>9}{'p99.9':>9}{'max':>9}{'cpu/q':>8}"
              f"{'rss MB':>8}{'in-bot p50/p99':>16}")
        for r in rows:
            inb = f"{r['in_bot_p50_us']}/{r['in_bot_p99_us']}" if "in_bot_p50_us" in r else "-"
            print(f"{r['name']:<14}{r['orders']:>8}{r['p50_us']:>9}{r['p90_us']:>9}{r['p99_us']:>9}"
                  f"{r['p999_us']:>9}{r['max_us']:>9}{r['cpu_us_per_quote']:>8}{r['rss_mb'] or '-':>8}{inb:>16}")
        print("p50..max: quote sent by the exchange -> order arrived at the exchange (loopback, one clock); "
              "cpu/q: bot on-CPU time per quote; in-bot: the engine's own frame-read -> order-written stamp")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
