"""Static checks as a test: ruff with the bug-finding rules configured in pyproject.toml ([tool.ruff])."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ["engine", "bots", "benchmarks", "tests"]


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed (pip install -e '.[test]')")
def test_ruff_finds_nothing() -> None:
    cmd = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *FOLDERS]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    # 0: clean, 1: findings; anything else is ruff failing (bad config, crash), which must fail too
    assert r.returncode == 0, f"{' '.join(cmd[2:])} -> exit {r.returncode}\n{r.stdout}{r.stderr}"
