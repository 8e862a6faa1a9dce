# SPDX-License-Identifier: Apache-2.0
"""The README's promises: its first two lines are the two commands, and its strategy examples run."""
from __future__ import annotations

import re
from pathlib import Path

from engine.build import compile_strategy
from engine.instruments import InstrumentTable, Venue
from engine.strategy import Context

README = Path(__file__).resolve().parents[1] / "README.md"


def _block(lang: str) -> str:
    blocks = re.findall(rf"```{lang}\n(.*?)```", README.read_text(), re.S)
    assert blocks, f"no {lang} block in README"
    return blocks[0]


def _ctx():
    table = InstrumentTable()
    inst = table.add(Venue.BINANCE_USDM, "BTCUSDT", "0.10", "0.001")
    ctx = Context()
    ctx.add_instrument(inst)
    return ctx, inst


def test_first_two_lines_are_the_commands() -> None:
    first, second = README.read_text().splitlines()[:2]
    assert "pip install" in first and "hotpath demo" in first
    assert second.strip() == "bash .ci/run"


def test_python_example_emits_an_intent() -> None:
    ns: dict = {}
    exec(_block("python"), ns)
    ctx, inst = _ctx()
    strat = ns["Momentum"](ctx)
    strat.deliver_quote(inst.id, 650000, 5, 650001, 5)   # 1-tick spread -> buy
    strat.deliver_quote(inst.id, 650000, 5, 650010, 5)   # wide -> nothing
    intents = strat.drain_intents()
    assert len(intents) == 1 and intents[0]["px"] == 650001 and intents[0]["sz"] == 1000


def test_cython_example_compiles_and_emits_an_intent(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOTPATH_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "readme_momentum.pyx"
    src.write_text(_block("cython"))
    mod = compile_strategy(src)
    ctx, inst = _ctx()
    strat = mod.Momentum(ctx)
    strat.deliver_quote(inst.id, 650000, 5, 650001, 5)
    strat.deliver_quote(inst.id, 650000, 5, 650010, 5)
    intents = strat.drain_intents()
    assert len(intents) == 1 and intents[0]["px"] == 650001
