# SPDX-License-Identifier: Apache-2.0
"""hotpath CLI: complete --help for every command, one-line errors for user mistakes (exit 2, no traceback)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from engine.cli import build_parser, main

COMMANDS = ("demo", "run", "sim", "record", "replay", "bench", "build-strategy")


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as ei:
        main(["--help"])
    assert ei.value.code == 0
    out = capsys.readouterr().out
    for cmd in COMMANDS:
        assert cmd in out
    assert "HOTPATH_<VENUE>_API_KEY" in out and "never from the" in out


@pytest.mark.parametrize("cmd", ["demo", "run", "record", "replay"])
def test_subcommand_help_documents_every_option(cmd, capsys):
    with pytest.raises(SystemExit) as ei:
        main([cmd, "--help"])
    assert ei.value.code == 0
    out = capsys.readouterr().out
    sub = next(a for a in build_parser()._subparsers._group_actions[0].choices.items() if a[0] == cmd)[1]
    for action in sub._actions:
        for opt in action.option_strings:
            assert opt in out
        if action.option_strings and action.help is not argparse_suppress():
            assert action.help, f"{cmd} {action.option_strings} has no help text"


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["demo", "--seconds", "-1"], "expected a positive number"),
        (["demo", "--seconds", "abc"], "expected a number"),
        (["demo", "--bot", "nosuch"], "invalid choice"),
        (["run", "bots/x"], "required: --config"),
        (["frobnicate"], "invalid choice"),
        (["demo", "--busy-poll"], "--busy-poll needs --cpu"),
        (["demo", "--cpu", "4096"], "--cpu 4096 is not available"),
        (["run", "bots/x", "--config", "/nonexistent/config.toml"], "does not exist"),
    ],
)
def test_one_line_errors(argv, needle, capsys):
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert needle in err
    assert len(err.splitlines()) == 1 and err.startswith("hotpath: error:")
    assert "Traceback" not in err


def test_bad_config_is_one_line(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[bot]\nstrategy = "s.py:S"\n[[instruments]]\nvenue = "okx"\nsymbol = "X"\ntick_size = "0.1"\n'
                   'lot_size = "1"\n[risk]\nmax_daily_loss = -1\n')
    assert main(["run", str(tmp_path), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hotpath: error:") and "max_daily_loss must be >= 0" in err and "\n" not in err


def test_console_script_entry_point_runs():
    r = subprocess.run([sys.executable, "-m", "engine.cli", "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("hotpath ")


def test_passthrough_commands_reach_their_tools(capsys):
    """sim / bench / build-strategy hand their arguments to engine.sim.main, tick_to_trade.py and engine.build."""
    for argv, needle in ((["sim", "--help"], "Simulated exchange"), (["bench", "--help"], "--quotes"),
                         (["build-strategy", "--help"], "Compile a Cython strategy")):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code
        assert rc == 0
        assert needle in capsys.readouterr().out


def test_build_strategy_error_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.pyx"
    bad.write_text("cdef class X(:\n")
    rc = main(["build-strategy", str(bad)])
    assert rc == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("hotpath build-strategy:")


def test_live_preset_without_keys_is_one_line(tmp_path, capsys, monkeypatch):
    """A testnet/mainnet config without keys stops before any connection, naming the env variables."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for k in ("HOTPATH_BINANCE_USDM_API_KEY", "HOTPATH_BINANCE_USDM_SECRET"):
        monkeypatch.delenv(k, raising=False)
    cfg = tmp_path / "c.toml"
    cfg.write_text((root / "bots" / "market_maker" / "config.toml").read_text()
                   .replace('endpoints = "sim"', 'endpoints = "testnet"'))
    assert main(["run", str(root / "bots" / "market_maker"), "--config", str(cfg), "--seconds", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("hotpath: error: no API key for binance_usdm: set HOTPATH_BINANCE_USDM_API_KEY and "
                   "HOTPATH_BINANCE_USDM_SECRET or key_file in [venues.binance_usdm]")


def test_webhook_without_secret_is_one_line_before_start(tmp_path, capsys, monkeypatch):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    monkeypatch.delenv("HOTPATH_WEBHOOK_SECRET", raising=False)
    cfg = tmp_path / "c.toml"
    cfg.write_text((root / "bots" / "signal_cy" / "config.toml").read_text().replace("enabled = false", "enabled = true"))
    assert main(["run", str(root / "bots" / "signal_cy"), "--config", str(cfg), "--seconds", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == ("hotpath: error: signals.webhook is enabled: set HOTPATH_WEBHOOK_SECRET "
                                    "(at least 16 characters)")
    assert "stopped" not in captured.out          # nothing started, so no final report
