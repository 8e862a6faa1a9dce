# SPDX-License-Identifier: Apache-2.0
"""The package contract end to end: the wheel ships every public .pxd and header (and no .c/.pyx),
installs into a fresh venv, and a strategy written outside the repository compiles against it with
``hotpath build-strategy`` and emits intents from its nogil ``on_quote``."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

STRATEGY = textwrap.dedent(
    """
    # A user's strategy, compiled against the installed wheel.
    from engine.strategy cimport Strategy
    from engine.types cimport eng_quote, ENG_TIF_IOC

    cdef class Crosser(Strategy):
        cdef readonly long long seen

        cdef int on_quote(self, const eng_quote* q) noexcept nogil:
            self.seen += 1
            if self.seen % 3 == 0:
                return <int>self.buy(q.inst, q.ask_px, 7, ENG_TIF_IOC)
            return 0
    """
)

DRIVER = textwrap.dedent(
    """
    import sys
    import engine, engine.build
    from engine.instruments import InstrumentTable, Venue
    from engine.strategy import Context

    assert "site-packages" in engine.__file__, engine.__file__
    mod = engine.build.compile_strategy(sys.argv[1])
    table = InstrumentTable()
    inst = table.add(Venue.BINANCE_USDM, "BTCUSDT", "0.10", "0.001")
    ctx = Context()
    ctx.add_instrument(inst)
    strat = mod.Crosser(ctx)
    for i in range(9):
        strat.deliver_quote(inst.id, 650000 + i, 1000, 650010 + i, 1000)
    intents = strat.drain_intents()
    print("seen", strat.seen, "intents", len(intents))
    assert strat.seen == 9 and len(intents) == 3, intents
    assert all(it["sz"] == 7 and it["inst"] == inst.id for it in intents), intents
    print("OK")
    """
)


def _run(cmd: list[str], cwd: Path, env: dict | None = None, timeout: int = 600) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def test_wheel_contents_and_user_strategy(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
          "-w", str(dist), str(ROOT)], cwd=tmp_path)
    wheel = next(dist.glob("hotpath-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for pxd in (ROOT / "engine").glob("*.pxd"):
        assert f"engine/{pxd.name}" in names, f"{pxd.name} missing from the wheel"
    for header in (ROOT / "include" / "engine").glob("*.h"):
        assert f"engine/include/engine/{header.name}" in names, f"{header.name} missing"
    assert not [n for n in names if n.endswith((".c", ".pyx"))], "sources leaked into the wheel"
    assert any(n.startswith("engine/strategy.") and n.endswith(".so") for n in names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    py = venv / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "-q", str(wheel)], cwd=tmp_path)

    user = tmp_path / "user"          # outside the repository
    user.mkdir()
    (user / "crosser.pyx").write_text(STRATEGY)
    (user / "driver.py").write_text(DRIVER)
    env = {**os.environ, "HOTPATH_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("PYTHONPATH", None)
    out = _run([str(venv / "bin" / "hotpath"), "build-strategy", "crosser.pyx"], cwd=user, env=env)
    assert "crosser" in out.lower() or out == "" or "built" in out.lower()
    out = _run([str(py), "driver.py", "crosser.pyx"], cwd=user, env=env)
    assert "OK" in out
