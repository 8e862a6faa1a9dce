# SPDX-License-Identifier: Apache-2.0
"""The benchmark suite stays runnable: every file under benchmarks/ imports (its baselines' packages are in
the test extra) and pytest collects its benchmarks. Nothing is timed here."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_suite_collects():
    r = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "--collect-only", "-q", "-p", "no:cacheprovider"],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    files = {line.split("::")[0] for line in r.stdout.splitlines() if "::" in line}
    expected = {f"benchmarks/{p.name}" for p in (ROOT / "benchmarks").glob("test_bench_*.py")}
    assert files == expected, sorted(expected - files)
