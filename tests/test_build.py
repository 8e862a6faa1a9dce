# SPDX-License-Identifier: Apache-2.0
"""engine.build: compile a strategy .pyx written outside the repo against the engine, cache it by
ABI/source, import it, and refuse a build made for another ABI."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import engine
from engine import build
from engine.build import BuildError, compile_strategy
from engine.risk import RiskGate
from engine.strategy import Context

from _hotpath_util import BTC

STRATS = Path(__file__).parent / "strategies"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("HOTPATH_CACHE_DIR", str(d))
    return d


@pytest.fixture
def outside(tmp_path):
    d = tmp_path / "userbot"
    d.mkdir()
    shutil.copy(STRATS / "mean_cross.pyx", d / "mean_cross.pyx")
    return d


def _zigzag(s, n=120):
    """Mid goes up for 40 quotes, down for 40, up again: two crosses after warm-up."""
    px = 6_500_000
    for i in range(n):
        px += 100 if (i // 40) % 2 == 0 else -100
        s.deliver_quote(0, px, 1, px + 1, 1)


def test_compile_outside_repo_and_dispatch(cache, outside):
    mod = compile_strategy(outside / "mean_cross.pyx")
    assert mod.__engine_abi__ == engine.__abi__
    assert Path(mod.__file__).is_relative_to(cache / f"abi{engine.__abi__}")
    ctx = Context()
    ctx.add_instrument(BTC)
    s = mod.MeanCross(ctx, fast_alpha=0.5, slow_alpha=0.05, order_sz=100, warmup=5)
    _zigzag(s)
    intents = s.drain_intents()
    assert s.signals == len(intents) >= 2
    sides = [i["side"] for i in intents]
    assert sides[0] == -1 and sides[1] == 1            # down-cross sells at the bid, up-cross buys at the ask
    assert all(i["sz"] == 100 and i["tif"] == 2 and i["inst"] == 0 and i["venue"] == 1 for i in intents)
    # the same intents pass through the risk gate the pipeline uses
    gate = RiskGate()
    gate.set_limits(0)
    ctx.set_top(0, 6_500_000, 1, 6_500_001, 1)
    assert all(gate.check_py(ctx, {k: v for k, v in i.items() if k != "ts_ns"}) == 0 for i in intents)


def test_cache_hit_and_force(cache, outside):
    so1 = build.build_strategy(outside / "mean_cross.pyx")
    m1 = so1.stat().st_mtime_ns
    so2 = build.build_strategy(outside / "mean_cross.pyx")
    assert so1 == so2 and so2.stat().st_mtime_ns == m1           # cached: not rebuilt
    src = outside / "mean_cross.pyx"
    src.write_text(src.read_text() + "\n# edited\n")
    so3 = build.build_strategy(src)
    assert so3 != so1 and so3.exists()                             # new key for new source
    so4 = build.build_strategy(src, force=True)
    assert so4 == so3


def test_key_covers_abi_and_version(monkeypatch):
    k = build.cache_key(b"x", "m")
    monkeypatch.setattr(engine, "__abi__", engine.__abi__ + 1)
    assert build.cache_key(b"x", "m") != k
    monkeypatch.undo()
    monkeypatch.setattr(engine, "__version__", "9.9.9")
    assert build.cache_key(b"x", "m") != k


def test_abi_mismatch_is_clear_import_error(cache, outside):
    so = build.build_strategy(outside / "mean_cross.pyx")
    code = textwrap.dedent(f"""
        import importlib.util, sys
        import engine
        engine.__abi__ = {engine.__abi__} + 1
        spec = importlib.util.spec_from_file_location("mean_cross", {str(so)!r})
        m = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(m)
        except ImportError as e:
            print("IMPORTERROR", e)
            sys.exit(3)
        sys.exit(0)
    """)
    env = dict(os.environ, PYTHONPATH=str(Path(engine.__file__).resolve().parent.parent))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 3, r.stderr
    assert f"compiled against hotpath engine ABI {engine.__abi__}" in r.stdout
    assert "rebuild" in r.stdout and "build-strategy" in r.stdout


def test_main_cli(cache, outside, capsys):
    assert build.main([str(outside / "mean_cross.pyx"), "--import"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.endswith(".so") and Path(out).exists()
    assert build.main([str(outside / "missing.pyx")]) == 1
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err


def test_compile_errors_are_build_errors(cache, tmp_path):
    bad = tmp_path / "broken_strat.pyx"
    bad.write_text("from engine.strategy cimport Strategy\ncdef class B(Strategy):\n"
                   "    cdef int on_quote(self, int x) noexcept nogil:\n        return 0\n")
    with pytest.raises(BuildError, match="Cython compilation failed"):
        compile_strategy(bad)
    dashed = tmp_path / "bad-name.pyx"
    dashed.write_text("x = 1\n")
    with pytest.raises(BuildError, match="identifier"):
        compile_strategy(dashed)
    plain = tmp_path / "x.py"
    plain.write_text("x = 1\n")
    with pytest.raises(BuildError, match="expected a Cython .pyx"):
        compile_strategy(plain)


def test_python_hook_override_on_compiled_subclass_rejected(cache, outside):
    mod = compile_strategy(outside / "mean_cross.pyx")

    class Sneaky(mod.MeanCross):
        def on_quote(self, q):
            return 0

    with pytest.raises(TypeError, match="never call"):
        Sneaky(Context())


def test_messages_name_the_users_file_and_directives_apply(cache, tmp_path, capfd):
    bad = tmp_path / "typo_strat.pyx"
    bad.write_text("from engine.strategy cimport Strategy\n\ncdef class T(Strategy):\n"
                   "    cdef int on_trade(self, double t) noexcept nogil:\n        return 0\n")
    with pytest.raises(BuildError):
        compile_strategy(bad)
    err = capfd.readouterr().err
    assert f"{bad.name}:4:" in err                     # the user's file and line, not a temp copy
    good = tmp_path / "checked_strat.pyx"
    good.write_text("# cython: boundscheck=True\nfrom engine.strategy cimport Strategy\n\n"
                    "def probe(int i):\n    cdef int[3] a\n    cdef int[::1] v = a\n    return v[i]\n")
    mod = compile_strategy(good)
    with pytest.raises(IndexError):                    # the header directive reached the compiler
        mod.probe(5)


def test_user_pxi_change_rebuilds(cache, tmp_path):
    (tmp_path / "consts.pxi").write_text("DEF_ANSWER = 41\n")
    src = tmp_path / "uses_pxi.pyx"
    src.write_text('include "consts.pxi"\n\ndef answer():\n    return DEF_ANSWER\n')
    so1 = build.build_strategy(src)
    (tmp_path / "consts.pxi").write_text("DEF_ANSWER = 42\n")
    so2 = build.build_strategy(src)
    assert so1 != so2
