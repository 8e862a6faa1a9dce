# SPDX-License-Identifier: Apache-2.0
"""TOML configuration of a bot: venues, instruments, endpoints (mainnet/testnet/sim presets), risk
limits, persistence, runtime tuning and background signals. Validated once at start-up; every user
mistake is a one-line :class:`engine.errors.ConfigError`.

API keys never come from the config file or the command line: only from the environment
(``HOTPATH_<VENUE>_API_KEY`` / ``_SECRET`` / ``_PASSPHRASE``) or from a key file that only its owner
can read (mode 0600 or stricter). Binance also takes an Ed25519 private key (PKCS#8 PEM) instead of the
HMAC secret: ``private_key_file`` in the key file or ``HOTPATH_<VENUE>_PRIVATE_KEY_FILE``.
"""
from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Mapping

from engine.errors import ConfigError
from engine.exchanges import config_presets
from engine.instruments import Instrument, InstrumentTable, Venue

PRESETS = ("mainnet", "testnet", "sim")
_CHANNELS = ("bbo", "trades", "depth", "mark", "oi", "liquidations")  # engine.exchanges.CHANNELS
ENDPOINT_KEYS = ("rest", "ws_public", "ws_private", "ws_trade")

#: Endpoints per preset and venue key (``{"rest", "ws_public", "ws_private", "ws_trade"}``), derived
#: from ``engine.exchanges.PRESETS`` (the one table of venue URLs; ``testnet`` is the demo environment
#: on OKX and Bitget, see ``engine.exchanges.CONFIG_ENVS``). ``sim`` has no fixed URLs: the runtime
#: starts an in-process SimExchange and takes ``ex.endpoints(venue_key)`` unless URLs are given explicitly.
ENDPOINT_PRESETS: dict[str, dict[str, dict[str, str]]] = config_presets()

_FORBIDDEN_SECRET_KEYS = {"api_key", "apikey", "key", "secret", "api_secret", "passphrase", "password", "token"}
_URL_SCHEMES = {"rest": ("http://", "https://"), "ws": ("ws://", "wss://")}


# ---------------------------------------------------------------------------------------------
# credentials


@dataclass(frozen=True)
class Credentials:
    """API credentials of one venue. ``repr``/``str`` never show the secret or the passphrase."""

    api_key: str
    secret: str = field(repr=False)
    passphrase: str = field(default="", repr=False)
    source: str = ""

    def __repr__(self) -> str:
        shown = self.api_key[:4] + "…" if len(self.api_key) > 4 else "…"
        return f"Credentials(api_key={shown!r}, source={self.source!r})"

    __str__ = __repr__


def env_prefix(venue_key: str) -> str:
    return f"HOTPATH_{venue_key.upper()}"


def _check_owner_only(path: Path, what: str) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{what} {path} is readable by group/others (mode {stat.S_IMODE(st.st_mode):04o}); run: chmod 600 {path}"
        )


def load_key_file(path: Path) -> dict[str, str]:
    """Read ``api_key``/``secret``/``passphrase`` (or ``private_key_file``/``private_key_passphrase``)
    from a TOML key file that only its owner can read."""
    _check_owner_only(path, "key file")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        # never echo the file content (it holds secrets)
        raise ConfigError(f"key file {path} is not valid TOML ({type(exc).__name__})") from None
    out = {}
    for k in ("api_key", "secret", "passphrase", "private_key_file", "private_key_passphrase"):
        v = data.get(k, "")
        if not isinstance(v, str):
            raise ConfigError(f"key file {path}: {k} must be a string")
        out[k] = v
    if out["private_key_file"]:
        # relative to the key file, like key_file is relative to the config
        pk = Path(os.path.expanduser(out["private_key_file"]))
        out["private_key_file"] = str(pk if pk.is_absolute() else path.parent / pk)
    return out


#: venues whose API takes an Ed25519 key in place of the HMAC secret
ED25519_VENUES = ("binance_spot", "binance_usdm")


def load_private_key_file(path: Path, passphrase: str = "") -> str:
    """The PEM text of an Ed25519 private key file (PKCS#8, as Binance's key generator writes it),
    checked to load (with ``passphrase`` when the PEM is encrypted) and to be Ed25519. The text is
    returned as it is in the file; the adapter loads it again (with the same passphrase). Errors
    name the file, never its content."""
    from engine.exchanges.binance.keys import load_ed25519_key

    _check_owner_only(path, "private key file")
    try:
        pem = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"private key file {path} is not readable as PEM text ({type(exc).__name__})") from None
    try:
        load_ed25519_key(pem, passphrase)
    except ValueError as exc:
        raise ConfigError(f"private key file {path} {exc}") from None
    return pem


def resolve_credentials(
    venue_key: str, key_file: Path | None = None, env: Mapping[str, str] | None = None, required: bool = True
) -> Credentials | None:
    """Credentials of ``venue_key`` from the environment, else from ``key_file``.

    Raises ConfigError (one line, never containing a secret) when ``required`` and nothing is found,
    or when only part of a key is present.
    """
    env = os.environ if env is None else env
    p = env_prefix(venue_key)
    key, secret, phrase = env.get(p + "_API_KEY", ""), env.get(p + "_SECRET", ""), env.get(p + "_PASSPHRASE", "")
    pk_file = env.get(p + "_PRIVATE_KEY_FILE", "")
    if secret and pk_file:
        raise ConfigError(f"set either {p}_SECRET (HMAC) or {p}_PRIVATE_KEY_FILE (Ed25519), not both")
    if key or secret or pk_file:
        if not (key and (secret or pk_file)):
            raise ConfigError(f"set both {p}_API_KEY and {p}_SECRET or {p}_PRIVATE_KEY_FILE (only one is set)")
        if pk_file:
            # Ed25519: the PEM text is the secret, its passphrase the passphrase (Binance has no
            # other use for one); the adapter tells a PEM from an HMAC secret
            phrase = env.get(p + "_PRIVATE_KEY_PASSPHRASE", "")
            secret = _private_key(venue_key, Path(os.path.expanduser(pk_file)), phrase)
        creds = Credentials(key, secret, phrase, source="env")
    elif key_file is not None:
        d = load_key_file(key_file)
        if d["secret"] and d["private_key_file"]:
            raise ConfigError(f"key file {key_file}: set either secret (HMAC) or private_key_file (Ed25519), not both")
        if not (d["api_key"] and (d["secret"] or d["private_key_file"])):
            raise ConfigError(f"key file {key_file} needs both api_key and secret (or private_key_file)")
        secret, phrase = d["secret"], d["passphrase"]
        if d["private_key_file"]:
            phrase = d["private_key_passphrase"]
            secret = _private_key(venue_key, Path(d["private_key_file"]), phrase)
        creds = Credentials(d["api_key"], secret, phrase, source=str(key_file))
    else:
        if required:
            raise ConfigError(f"no API key for {venue_key}: set {p}_API_KEY and {p}_SECRET or key_file in [venues.{venue_key}]")
        return None
    if venue_key in ("okx", "bitget") and not creds.passphrase:
        raise ConfigError(f"{venue_key} needs a passphrase: set {p}_PASSPHRASE or passphrase in the key file")
    return creds


def _private_key(venue_key: str, path: Path, passphrase: str) -> str:
    if venue_key not in ED25519_VENUES:
        raise ConfigError(f"{venue_key}: Ed25519 private keys are supported on {' and '.join(ED25519_VENUES)} only")
    return load_private_key_file(path, passphrase)


# ---------------------------------------------------------------------------------------------
# config sections


@dataclass
class VenueConfig:
    key: str                           # binance_usdm ...
    venue: Venue
    preset: str                        # mainnet / testnet / sim
    endpoints: dict[str, str]          # rest / ws_public / ws_private / ws_trade ("" = from the sim)
    order_transport: str = "ws"        # ws | rest
    key_file: Path | None = None
    user_data: str = ""                # binance_spot: ws_api (default) | listen_key

    def credentials(self, env: Mapping[str, str] | None = None) -> Credentials | None:
        """Live presets require a key; the sim hands out its own credentials (None here)."""
        if self.preset == "sim":
            return None
        return resolve_credentials(self.key, self.key_file, env)


@dataclass
class InstrumentConfig:
    venue: str
    symbol: str
    tick_size: str
    lot_size: str
    min_qty: str = "0"
    min_notional: str = "0"
    contract_mult: float = 1.0
    book: str = "depth"                # depth (full L2) | quote (best bid/ask only)
    max_position: str = "0"            # absolute size limit, decimal string (0 = none)
    max_order_size: str = "0"
    channels: list[str] = field(default_factory=list)  # feed channels (bbo/trades/depth/mark/oi); [] = derived

    def feed_channels(self) -> list[str]:
        """Channels to subscribe: explicit ones, else the book kind plus mark/funding for perpetuals."""
        if self.channels:
            return list(self.channels)
        ch = ["depth" if self.book == "depth" else "bbo"]
        if self.venue == "binance_usdm" or (self.venue == "okx" and self.symbol.endswith("-SWAP")):
            ch.append("mark")
        return ch


@dataclass
class RiskConfig:
    max_order_notional: float = 0.0    # quote currency per order (0 = unlimited)
    max_position_notional: float = 0.0 # quote currency per instrument
    max_open_orders: int = 50          # per instrument
    max_orders_per_sec: int = 20       # global
    max_daily_loss: float = 0.0        # quote currency (0 = unlimited); breach engages the kill switch
    price_band_bps: float = 500.0      # limit orders further than this from mid are rejected
    max_quote_age_ms: float = 2000.0   # no new orders on a book older than this


@dataclass
class PersistenceConfig:
    backend: str = "sqlite"            # sqlite | redis | none
    path: str = "hotpath-data/state.sqlite"
    url: str = "redis://127.0.0.1:6379/0"


@dataclass
class RuntimeConfig:
    uvloop: bool = True
    cpu: int | None = None             # pin the process to this CPU
    gc_freeze: bool = True
    busy_poll: bool = False            # spin instead of sleeping in epoll (needs a dedicated core)
    cancel_on_exit: bool = True
    report_every: int = 1000           # ticks between latency log lines
    report_dir: str = "reports"
    prometheus_port: int = 0           # 0 = off; binds 127.0.0.1
    warmup_ms: int = 100               # period of the order-path warm-up encode (0 = off)
    timer_ms: int = 100                # period of the strategy's on_timer hook (0 = never called)


@dataclass
class WebhookConfig:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8787
    auth: str = "hmac"                 # hmac | bearer; secret from HOTPATH_WEBHOOK_SECRET
    max_bytes: int = 4096
    max_age_s: float = 60.0


@dataclass
class SignalsConfig:
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    ws_url: str = ""                   # external signal provider WebSocket ("" = off)
    max_age_s: float = 60.0            # external scores older than this are cleared
    oi_poll_s: float = 0.0             # open-interest REST poll period (0 = off)
    large_trade_notional: float = 0.0  # trades at least this big raise ENG_SIG_LARGE_TRADE (0 = off)


@dataclass
class BotConfig:
    path: Path | None
    name: str
    strategy: str                      # "file.py:Class", "file.pyx:Class" or "package.module:Class"
    params: dict[str, Any]
    venues: dict[str, VenueConfig]
    instruments: list[InstrumentConfig]
    risk: RiskConfig
    persistence: PersistenceConfig
    runtime: RuntimeConfig
    signals: SignalsConfig

    def instrument_table(self) -> InstrumentTable:
        table = InstrumentTable()
        for ic in self.instruments:
            table.add(
                Venue.parse(ic.venue), ic.symbol, ic.tick_size, ic.lot_size, min_qty=ic.min_qty,
                min_notional=ic.min_notional, contract_mult=ic.contract_mult,
            )
        return table

    def strategy_path(self) -> tuple[str, str]:
        """Split ``strategy`` into (file or module, class name); files resolve relative to the config."""
        target, _, cls = self.strategy.rpartition(":")
        if target.endswith((".py", ".pyx")) and self.path is not None and not os.path.isabs(target):
            target = str((self.path.parent / target).resolve())
        return target, cls


# ---------------------------------------------------------------------------------------------
# parsing helpers


def _where(path: Path | None) -> str:
    return f"{path}: " if path else ""


class _Section:
    """Typed access to one TOML table with unknown-key detection."""

    def __init__(self, data: Any, name: str, where: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}[{name}] must be a table")
        self.data, self.name, self.where, self.used = data, name, where, set()

    def get(self, key: str, typ: type | tuple[type, ...], default: Any) -> Any:
        self.used.add(key)
        if key not in self.data:
            return default
        v = self.data[key]
        if typ is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if isinstance(v, bool) and typ in (int, float):
            raise ConfigError(f"{self.where}{self.name}.{key} must be a {typ.__name__}, got a boolean")
        if not isinstance(v, typ):
            tn = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
            raise ConfigError(f"{self.where}{self.name}.{key} must be a {tn}, got {type(v).__name__} {v!r}")
        return v

    def nonneg(self, key: str, typ: type, default: Any) -> Any:
        v = self.get(key, typ, default)
        if v is not None and v < 0:
            raise ConfigError(f"{self.where}{self.name}.{key} must be >= 0, got {v}")
        return v

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        v = self.get(key, str, default)
        if v not in choices:
            raise ConfigError(f"{self.where}{self.name}.{key} must be one of {', '.join(choices)}; got {v!r}")
        return v

    def done(self) -> None:
        extra = set(self.data) - self.used
        for k in sorted(extra):
            if k.lower() in _FORBIDDEN_SECRET_KEYS:
                raise ConfigError(
                    f"{self.where}{self.name}.{k}: API keys and secrets are never read from the config; "
                    f"use HOTPATH_<VENUE>_API_KEY/_SECRET/_PASSPHRASE or key_file"
                )
        if extra:
            raise ConfigError(f"{self.where}unknown key {self.name}.{sorted(extra)[0]}")


def _decimal(s: _Section, key: str, default: str, positive: bool = False) -> str:
    v = s.get(key, (str, int), default)
    if isinstance(v, int):
        v = str(v)
    try:
        d = Decimal(v)
    except InvalidOperation:
        raise ConfigError(f"{s.where}{s.name}.{key} must be a decimal string like \"0.01\", got {v!r}") from None
    if not d.is_finite() or d < 0 or (positive and d == 0):
        raise ConfigError(f"{s.where}{s.name}.{key} must be a {'positive' if positive else 'non-negative'} decimal, got {v!r}")
    return v


def _check_url(where: str, name: str, kind: str, url: str) -> None:
    schemes = _URL_SCHEMES["rest" if kind == "rest" else "ws"]
    if not url.startswith(schemes):
        raise ConfigError(f"{where}{name}.{kind} must start with {' or '.join(schemes)}, got {url!r}")


def _scan_for_secrets(data: Any, where: str, trail: str = "") -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            name = f"{trail}.{k}" if trail else str(k)
            if str(k).lower() in _FORBIDDEN_SECRET_KEYS and not trail.startswith("bot.params"):
                raise ConfigError(
                    f"{where}{name}: API keys and secrets are never read from the config; "
                    f"use HOTPATH_<VENUE>_API_KEY/_SECRET/_PASSPHRASE or key_file"
                )
            _scan_for_secrets(v, where, name)


# ---------------------------------------------------------------------------------------------
# entry points


def load_config(path: str | os.PathLike[str]) -> BotConfig:
    """Read and validate a TOML bot config; raises ConfigError with one line on any mistake."""
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config path {p} is a directory; pass the .toml file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc.strerror}") from None
    return parse_config(text, p)


def parse_config(text: str, path: Path | None = None) -> BotConfig:
    where = _where(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}invalid TOML: {exc}") from None
    return config_from_dict(data, path)


def config_from_dict(data: dict[str, Any], path: Path | None = None) -> BotConfig:
    where = _where(path)
    _scan_for_secrets(data, where)
    for k in data:
        if k not in ("bot", "venues", "instruments", "risk", "persistence", "runtime", "signals"):
            raise ConfigError(f"{where}unknown section [{k}]")

    if "bot" not in data:
        raise ConfigError(f"{where}missing [bot] section (needs at least strategy = \"file.py:Class\")")
    bot = _Section(data["bot"], "bot", where)
    name = bot.get("name", str, path.parent.name if path else "bot")
    strategy = bot.get("strategy", str, "")
    if ":" not in strategy or not strategy.rpartition(":")[2].isidentifier():
        raise ConfigError(f"{where}bot.strategy must look like \"strategy.py:MyStrategy\", got {strategy!r}")
    params = bot.get("params", dict, {})
    default_preset = bot.choice("endpoints", PRESETS, "sim")
    bot.done()

    # venues
    vdata = data.get("venues", {})
    if not isinstance(vdata, dict):
        raise ConfigError(f"{where}[venues] must be a table of [venues.<venue>] tables")
    venues: dict[str, VenueConfig] = {}
    for vkey, vtab in vdata.items():
        try:
            venue = Venue.parse(vkey)
        except ValueError as exc:
            raise ConfigError(f"{where}[venues.{vkey}]: {exc}") from None
        s = _Section(vtab, f"venues.{vkey}", where)
        preset = s.choice("preset", PRESETS, default_preset)
        eps = dict(ENDPOINT_PRESETS.get(preset, {}).get(venue.key, {k: "" for k in ENDPOINT_KEYS}))
        for k in ENDPOINT_KEYS:
            url = s.get(k, str, None)
            if url is not None:
                _check_url(where, s.name, k, url)
                eps[k] = url
        transport = s.choice("order_transport", ("ws", "rest"), "ws")
        user_data = ""
        if "user_data" in vtab:
            if venue.key != "binance_spot":
                raise ConfigError(f"{where}venues.{vkey}.user_data: only binance_spot has a choice "
                                  f"of user-data stream")
            user_data = s.choice("user_data", ("ws_api", "listen_key"), "ws_api")
        kf = s.get("key_file", str, None)
        key_file = None
        if kf is not None:
            key_file = Path(os.path.expanduser(kf))
            if not key_file.is_absolute() and path is not None:
                key_file = path.parent / key_file
        s.done()
        venues[venue.key] = VenueConfig(venue.key, venue, preset, eps, transport, key_file, user_data)

    # instruments
    idata = data.get("instruments", [])
    if not isinstance(idata, list) or not idata:
        raise ConfigError(f"{where}at least one [[instruments]] entry is required (venue, symbol, tick_size, lot_size)")
    instruments: list[InstrumentConfig] = []
    seen = set()
    for i, itab in enumerate(idata):
        s = _Section(itab, f"instruments[{i}]", where)
        vkey = s.get("venue", str, "")
        try:
            venue = Venue.parse(vkey)
        except ValueError as exc:
            raise ConfigError(f"{where}instruments[{i}].venue: {exc}") from None
        symbol = s.get("symbol", str, "")
        if not symbol:
            raise ConfigError(f"{where}instruments[{i}].symbol is required")
        if (venue.key, symbol) in seen:
            raise ConfigError(f"{where}instruments[{i}]: {symbol} on {venue.key} is listed twice")
        seen.add((venue.key, symbol))
        if "tick_size" not in itab or "lot_size" not in itab:
            raise ConfigError(f"{where}instruments[{i}] ({symbol}) needs tick_size and lot_size")
        ic = InstrumentConfig(
            venue=venue.key,
            symbol=symbol,
            tick_size=_decimal(s, "tick_size", "0", positive=True),
            lot_size=_decimal(s, "lot_size", "0", positive=True),
            min_qty=_decimal(s, "min_qty", "0"),
            min_notional=_decimal(s, "min_notional", "0"),
            contract_mult=s.nonneg("contract_mult", float, 1.0),
            book=s.choice("book", ("depth", "quote"), "depth"),
            max_position=_decimal(s, "max_position", "0"),
            max_order_size=_decimal(s, "max_order_size", "0"),
            channels=s.get("channels", list, []),
        )
        for ch in ic.channels:
            if ch not in _CHANNELS:
                raise ConfigError(f"{where}instruments[{i}].channels: unknown channel {ch!r}; "
                                  f"expected some of {', '.join(_CHANNELS)}")
        s.done()
        if venue.key not in venues:  # an instrument implies its venue with the default preset
            venues[venue.key] = VenueConfig(
                venue.key, venue, default_preset,
                dict(ENDPOINT_PRESETS.get(default_preset, {}).get(venue.key, {k: "" for k in ENDPOINT_KEYS})),
            )
        instruments.append(ic)
    if len(instruments) > 256:
        raise ConfigError(f"{where}at most 256 instruments per process, got {len(instruments)}")
    for ic in instruments:  # exponents must be representable
        try:
            Instrument(0, Venue.parse(ic.venue), ic.symbol, ic.tick_size, ic.lot_size)
        except ValueError as exc:
            raise ConfigError(f"{where}{ic.symbol}: {exc}") from None

    s = _Section(data.get("risk", {}), "risk", where)
    risk = RiskConfig(
        max_order_notional=s.nonneg("max_order_notional", float, 0.0),
        max_position_notional=s.nonneg("max_position_notional", float, 0.0),
        max_open_orders=s.nonneg("max_open_orders", int, 50),
        max_orders_per_sec=s.nonneg("max_orders_per_sec", int, 20),
        max_daily_loss=s.nonneg("max_daily_loss", float, 0.0),
        price_band_bps=s.nonneg("price_band_bps", float, 500.0),
        max_quote_age_ms=s.nonneg("max_quote_age_ms", float, 2000.0),
    )
    s.done()
    live = [v.key for v in venues.values() if v.preset == "mainnet"]
    if live and risk.max_order_notional == 0:
        raise ConfigError(f"{where}risk.max_order_notional must be set (> 0) when trading on mainnet ({live[0]})")

    s = _Section(data.get("persistence", {}), "persistence", where)
    pers = PersistenceConfig(
        backend=s.choice("backend", ("sqlite", "redis", "none"), "sqlite"),
        path=s.get("path", str, "hotpath-data/state.sqlite"),
        url=s.get("url", str, "redis://127.0.0.1:6379/0"),
    )
    if pers.backend == "redis" and not pers.url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"{where}persistence.url must be a redis:// URL, got {pers.url!r}")
    s.done()

    s = _Section(data.get("runtime", {}), "runtime", where)
    rt = RuntimeConfig(
        uvloop=s.get("uvloop", bool, True),
        cpu=s.nonneg("cpu", int, None),
        gc_freeze=s.get("gc_freeze", bool, True),
        busy_poll=s.get("busy_poll", bool, False),
        cancel_on_exit=s.get("cancel_on_exit", bool, True),
        report_every=s.nonneg("report_every", int, 1000),
        report_dir=s.get("report_dir", str, "reports"),
        prometheus_port=s.nonneg("prometheus_port", int, 0),
        warmup_ms=s.nonneg("warmup_ms", int, 100),
        timer_ms=s.nonneg("timer_ms", int, 100),
    )
    s.done()
    if rt.cpu is not None and hasattr(os, "sched_getaffinity") and rt.cpu not in os.sched_getaffinity(0):
        raise ConfigError(f"{where}runtime.cpu = {rt.cpu} is not available (allowed: {sorted(os.sched_getaffinity(0))})")
    if rt.busy_poll and rt.cpu is None:
        raise ConfigError(f"{where}runtime.busy_poll needs runtime.cpu (a dedicated core to spin on)")
    if rt.prometheus_port > 65535:
        raise ConfigError(f"{where}runtime.prometheus_port must be <= 65535")

    s = _Section(data.get("signals", {}), "signals", where)
    wh = _Section(s.get("webhook", dict, {}), "signals.webhook", where)
    webhook = WebhookConfig(
        enabled=wh.get("enabled", bool, False),
        host=wh.get("host", str, "127.0.0.1"),
        port=wh.nonneg("port", int, 8787),
        auth=wh.choice("auth", ("hmac", "bearer"), "hmac"),
        max_bytes=wh.nonneg("max_bytes", int, 4096),
        max_age_s=wh.nonneg("max_age_s", float, 60.0),
    )
    wh.done()
    signals = SignalsConfig(
        webhook=webhook,
        ws_url=s.get("ws_url", str, ""),
        max_age_s=s.nonneg("max_age_s", float, 60.0),
        oi_poll_s=s.nonneg("oi_poll_s", float, 0.0),
        large_trade_notional=s.nonneg("large_trade_notional", float, 0.0),
    )
    if signals.ws_url:
        _check_url(where, "signals", "ws_url", signals.ws_url)
    s.done()

    return BotConfig(path, name, strategy, params, venues, instruments, risk, pers, rt, signals)
