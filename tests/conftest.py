# SPDX-License-Identifier: Apache-2.0
"""Shared test fixtures: where the exchange fixtures live."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests: no per-example deadline (a shared 2-core CI box stalls at random) and, under CI,
# derandomized so a run is reproducible; locally every run explores new examples.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("HOTPATH_FIXTURES", ROOT.parent / "shared" / "fixtures"))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.fail(f"exchange fixtures not found at {FIXTURES} (set HOTPATH_FIXTURES)")
    return FIXTURES
