# SPDX-License-Identifier: Apache-2.0
"""Names for the compiled core's return codes (include/engine/rc.h) and engine exceptions."""
from __future__ import annotations

import re
from pathlib import Path

from engine import get_include


def _load_codes() -> dict[int, str]:
    text = (Path(get_include()) / "engine" / "rc.h").read_text()
    codes: dict[int, str] = {}
    for name, value, _comment in re.findall(r"#define\s+(ENG_\w+)\s+(-?\d+)\s*(?:/\*(.*?)\*/)?", text):
        codes[int(value)] = name
    return codes


RC_NAMES: dict[int, str] = _load_codes()


def rc_name(rc: int) -> str:
    """``-31`` -> ``"ENG_ERR_CHECKSUM"``; unknown codes are returned as ``"rc=<n>"``."""
    return RC_NAMES.get(rc, f"rc={rc}")


class EngineError(Exception):
    """Base class of hotpath errors."""


class DecodeError(EngineError):
    """A frame could not be decoded; ``rc`` is the return code, ``reason`` says why."""

    def __init__(self, rc: int, reason: str = "") -> None:
        self.rc = rc
        self.reason = reason
        super().__init__(f"{rc_name(rc)}: {reason}" if reason else rc_name(rc))


class StrategyError(EngineError):
    """A strategy hook returned an error code; the runtime applies the kill switch."""

    def __init__(self, rc: int, strategy: object) -> None:
        self.rc = rc
        self.strategy = strategy
        super().__init__(f"strategy {type(strategy).__name__} returned {rc_name(rc)}")


class ConfigError(EngineError):
    """A user configuration mistake; the CLI prints it as one line."""
