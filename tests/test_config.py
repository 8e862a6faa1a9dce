# SPDX-License-Identifier: Apache-2.0
"""engine.config: TOML parsing, presets, validation errors (one line each), credentials only from env/key file."""
from __future__ import annotations

import os

import pytest

from engine.config import ENDPOINT_PRESETS, Credentials, load_config, parse_config, resolve_credentials
from engine.errors import ConfigError

BASE = """
[bot]
name = "t"
strategy = "strategy.py:MyStrategy"
endpoints = "testnet"
params = { size = "0.001" }

[[instruments]]
venue = "binance_usdm"
symbol = "BTCUSDT"
tick_size = "0.10"
lot_size = "0.001"
"""


def test_minimal_config_defaults():
    cfg = parse_config(BASE)
    assert cfg.name == "t"
    assert cfg.params == {"size": "0.001"}
    v = cfg.venues["binance_usdm"]
    assert v.preset == "testnet"
    assert v.endpoints == ENDPOINT_PRESETS["testnet"]["binance_usdm"]
    assert cfg.persistence.backend == "sqlite"
    assert cfg.runtime.report_every == 1000 and cfg.runtime.busy_poll is False
    table = cfg.instrument_table()
    inst = table.get(v.venue, "BTCUSDT")
    assert (inst.id, inst.px_exp, inst.sz_exp) == (0, 1, 3)
    assert cfg.instruments[0].feed_channels() == ["depth", "mark"]


def test_venue_override_and_url_check(tmp_path):
    cfg = parse_config(BASE + '\n[venues.binance_usdm]\npreset = "mainnet"\nws_trade = "ws://127.0.0.1:9/ws"\n'
                       '[risk]\nmax_order_notional = 100\n')
    v = cfg.venues["binance_usdm"]
    assert v.endpoints["ws_trade"] == "ws://127.0.0.1:9/ws"
    assert v.endpoints["rest"] == "https://fapi.binance.com"
    assert cfg.risk.max_order_notional == 100.0
    with pytest.raises(ConfigError, match="ws_trade must start with"):
        parse_config(BASE + '\n[venues.binance_usdm]\nws_trade = "http://x"\n')


def test_strategy_path_relative_to_config(tmp_path):
    f = tmp_path / "config.toml"
    f.write_text(BASE)
    cfg = load_config(f)
    target, cls = cfg.strategy_path()
    assert target == str(tmp_path / "strategy.py") and cls == "MyStrategy"


@pytest.mark.parametrize(
    "extra, message",
    [
        ('\n[risk]\nmax_daily_loss = -5\n', "risk.max_daily_loss must be >= 0"),
        ('\n[risk]\nmax_open_orders = "ten"\n', "risk.max_open_orders must be a int"),
        ('\n[persistence]\nbackend = "mysql"\n', "persistence.backend must be one of sqlite, redis, none"),
        ('\n[runtime]\nbusy_poll = true\n', "busy_poll needs runtime.cpu"),
        ('\n[runtime]\ncpu = 999\n', "runtime.cpu = 999 is not available"),
        ('\n[risk]\nmax_leverage = 3\n', "unknown key risk.max_leverage"),
        ('\n[nonsense]\nx = 1\n', "unknown section [nonsense]"),
        ('\n[venues.kraken]\n', "unknown venue 'kraken'"),
        ('\n[venues.binance_usdm]\napi_key = "abc"\n', "never read from the config"),
        ('\n[venues.binance_usdm]\nsecret = "shh"\n', "never read from the config"),
        ('\n[[instruments]]\nvenue = "okx"\nsymbol = "BTC-USDT"\ntick_size = "0.1"\n', "needs tick_size and lot_size"),
        ('\n[[instruments]]\nvenue = "okx"\nsymbol = "X"\ntick_size = "abc"\nlot_size = "1"\n', "decimal string"),
        ('\n[[instruments]]\nvenue = "okx"\nsymbol = "X"\ntick_size = "-1"\nlot_size = "1"\n', "positive decimal"),
        ('\n[[instruments]]\nvenue = "binance_usdm"\nsymbol = "BTCUSDT"\ntick_size = "1"\nlot_size = "1"\n', "listed twice"),
        ('\n[signals]\nws_url = "http://x"\n', "signals.ws_url must start with ws://"),
        ('\n[[instruments]]\nvenue = "okx"\nsymbol = "X"\ntick_size = "1"\nlot_size = "1"\nchannels = ["l3"]\n',
         "unknown channel 'l3'"),
    ],
)
def test_one_line_errors(extra, message):
    with pytest.raises(ConfigError) as ei:
        parse_config(BASE + extra)
    text = str(ei.value)
    assert message in text
    assert "\n" not in text
    assert "shh" not in text and "abc\"" not in text


def test_secret_value_never_in_error():
    with pytest.raises(ConfigError) as ei:
        parse_config(BASE + '\n[venues.binance_usdm]\nsecret = "TOPSECRET123"\n')
    assert "TOPSECRET123" not in str(ei.value)


def test_toml_syntax_error_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="invalid TOML"):
        parse_config("[bot\n")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="missing \\[bot\\]"):
        parse_config('[[instruments]]\nvenue="okx"\nsymbol="X"\ntick_size="1"\nlot_size="1"\n')
    with pytest.raises(ConfigError, match="bot.strategy must look like"):
        parse_config(BASE.replace("strategy.py:MyStrategy", "strategy.py"))


def test_mainnet_requires_order_notional_limit():
    with pytest.raises(ConfigError, match="max_order_notional must be set"):
        parse_config(BASE.replace('"testnet"', '"mainnet"'))


def test_credentials_from_env_never_in_repr():
    env = {"HOTPATH_BINANCE_USDM_API_KEY": "KEY123456", "HOTPATH_BINANCE_USDM_SECRET": "S3CR3T"}
    c = resolve_credentials("binance_usdm", None, env)
    assert c.api_key == "KEY123456" and c.secret == "S3CR3T" and c.source == "env"
    assert "S3CR3T" not in repr(c) and "S3CR3T" not in str(c) and "KEY123456" not in repr(c)
    with pytest.raises(ConfigError, match="only one is set"):
        resolve_credentials("binance_usdm", None, {"HOTPATH_BINANCE_USDM_API_KEY": "k"})
    with pytest.raises(ConfigError, match="no API key for bybit"):
        resolve_credentials("bybit", None, {})
    assert resolve_credentials("bybit", None, {}, required=False) is None
    with pytest.raises(ConfigError, match="needs a passphrase"):
        resolve_credentials("okx", None, {"HOTPATH_OKX_API_KEY": "k", "HOTPATH_OKX_SECRET": "s"})


def test_key_file_mode_checked(tmp_path):
    kf = tmp_path / "keys.toml"
    kf.write_text('api_key = "FILEKEY"\nsecret = "FILESECRET"\npassphrase = "pp"\n')
    os.chmod(kf, 0o644)
    with pytest.raises(ConfigError, match="chmod 600") as ei:
        resolve_credentials("okx", kf, {})
    assert "FILESECRET" not in str(ei.value)
    os.chmod(kf, 0o600)
    c = resolve_credentials("okx", kf, {})
    assert isinstance(c, Credentials) and c.secret == "FILESECRET" and c.passphrase == "pp"
    kf.write_text('api_key = "FILEKEY"\nsecret = "FILE SECRET broken\n')
    with pytest.raises(ConfigError, match="not valid TOML") as ei:
        resolve_credentials("okx", kf, {})
    assert "FILE SECRET" not in str(ei.value)


def test_venue_key_file_relative_and_sim_needs_no_key(tmp_path):
    f = tmp_path / "config.toml"
    f.write_text(BASE.replace('"testnet"', '"sim"') + '\n[venues.binance_usdm]\nkey_file = "k.toml"\n')
    cfg = load_config(f)
    v = cfg.venues["binance_usdm"]
    assert v.key_file == tmp_path / "k.toml"
    assert v.preset == "sim" and v.credentials({}) is None


@pytest.mark.parametrize("preset", ["mainnet", "testnet"])
def test_usdm_preset_user_stream_url_is_the_raw_listen_key_stream(preset):
    """Binance USD-M user data is ``<stream host>/ws/<listenKey>``: a preset whose ws_private lacks ``/ws``
    would open ``<host>/<listenKey>``, which the venue does not serve."""
    from engine.clock_sync import ClockSync
    from engine.exchanges import Endpoints
    from engine.router import adapter_class
    from engine.instruments import Venue

    eps = Endpoints(**ENDPOINT_PRESETS[preset]["binance_usdm"])
    ad = adapter_class(Venue.BINANCE_USDM)(eps, "k", "s", "", [], ClockSync())
    host = ENDPOINT_PRESETS[preset]["binance_usdm"]["ws_public"]
    assert ad.user_url("LISTENKEY") == f"{host}/ws/LISTENKEY"


# the TOML presets are a view of engine.exchanges.PRESETS; which environment each config preset means
# per venue is spelled out here so a change to that mapping has to change this test too
_CONFIG_ENV = {
    "mainnet": {"binance_spot": "mainnet", "binance_usdm": "mainnet", "bybit": "mainnet", "okx": "mainnet",
                "bitget": "mainnet"},
    "testnet": {"binance_spot": "testnet", "binance_usdm": "testnet", "bybit": "testnet", "okx": "demo",
                "bitget": "demo"},
}


def test_config_presets_are_the_exchanges_table():
    """One source of truth: every config preset entry equals the engine.exchanges.PRESETS entry of its
    environment, for every venue, and the config offers exactly the live presets plus sim."""
    import dataclasses

    from engine.config import ENDPOINT_KEYS, PRESETS as CONFIG_PRESETS
    from engine.exchanges import PRESETS
    from engine.instruments import Venue

    assert set(ENDPOINT_PRESETS) == set(CONFIG_PRESETS) - {"sim"} == set(_CONFIG_ENV)
    for preset, envs in _CONFIG_ENV.items():
        assert set(ENDPOINT_PRESETS[preset]) == {v.key for v in Venue}
        for v in Venue:
            row = ENDPOINT_PRESETS[preset][v.key]
            assert tuple(row) == ENDPOINT_KEYS
            assert row == dataclasses.asdict(PRESETS[v][envs[v.key]]), (preset, v.key)
    cfg = parse_config(BASE.replace('"testnet"', '"mainnet"') + '\n[venues.okx]\npreset = "testnet"\n'
                       '[risk]\nmax_order_notional = 100\n')
    assert cfg.venues["okx"].endpoints == dataclasses.asdict(PRESETS[Venue.OKX]["demo"])
    assert cfg.venues["binance_usdm"].endpoints == dataclasses.asdict(PRESETS[Venue.BINANCE_USDM]["mainnet"])


def test_every_preset_url_is_tls_and_ws_trade_matches_the_order_api():
    """Every live URL is https:// / wss://, every environment has a private stream, and ws_trade is
    set exactly where the venue's trading adapter sends orders over WebSocket (in mainnet at least;
    demo environments may lack it: Bybit demo has no WS Trade)."""
    from engine.exchanges import PRESETS
    from engine.instruments import Venue
    from engine.router import adapter_class

    for v in Venue:
        ws_orders = adapter_class(v).has_ws_trade
        assert bool(PRESETS[v]["mainnet"].ws_trade) == ws_orders, v.key
        for env, eps in PRESETS[v].items():
            assert eps.rest.startswith("https://"), (v.key, env)
            for url in (eps.ws_public, eps.ws_private, eps.ws_trade):
                assert url == "" or url.startswith("wss://"), (v.key, env, url)
            assert eps.ws_public and eps.ws_private, (v.key, env)
            assert ws_orders or not eps.ws_trade, (v.key, env)


def test_preset_private_and_trade_urls_follow_the_protocol_notes():
    """exchange-protocols.md: Binance spot user data comes over the WS API; USD-M user data is the
    listenKey stream on the market-stream host; OKX places WS orders on its private socket."""
    from engine.exchanges import PRESETS
    from engine.instruments import Venue

    for env, eps in PRESETS[Venue.BINANCE_SPOT].items():
        assert eps.ws_private == eps.ws_trade and eps.ws_trade.endswith("/ws-api/v3"), env
    for env, eps in PRESETS[Venue.BINANCE_USDM].items():
        assert eps.ws_private == eps.ws_public + "/ws" and eps.ws_trade.endswith("/ws-fapi/v1"), env
    for env, eps in PRESETS[Venue.OKX].items():
        assert eps.ws_trade == eps.ws_private, env


@pytest.mark.parametrize("preset", ["mainnet", "testnet"])
def test_spot_preset_user_data_urls(preset):
    """Binance spot on a preset: WS API user data connects to the WS API; a listenKey stream (ws_private
    is the WS API) falls back to ``<stream host>/ws/<listenKey>``."""
    from engine.clock_sync import ClockSync
    from engine.exchanges import Endpoints
    from engine.instruments import Venue
    from engine.router import adapter_class

    row = ENDPOINT_PRESETS[preset]["binance_spot"]
    ad = adapter_class(Venue.BINANCE_SPOT)(Endpoints(**row), "k", "s", "", [], ClockSync())
    assert ad.user_data == "ws_api" and ad.user_url("") == row["ws_trade"]
    ad.user_data = "listen_key"
    assert ad.user_url("LISTENKEY") == f"{row['ws_public']}/ws/LISTENKEY"
