# SPDX-License-Identifier: Apache-2.0
"""Shared test fixtures: where the exchange fixtures live."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("HOTPATH_FIXTURES", ROOT.parent / "shared" / "fixtures"))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.fail(f"exchange fixtures not found at {FIXTURES} (set HOTPATH_FIXTURES)")
    return FIXTURES
