# SPDX-License-Identifier: Apache-2.0
"""hotpath: a low-latency crypto trading engine whose hot path is compiled.

Compiled modules (``engine.book``, ``engine.signals``, ``engine.signing``, ``engine.codec``,
``engine.strategy``, ``engine.risk``, ``engine.latency``) are imported by name; a failed import
is an error, never a silent fallback to the pure-Python twins in ``engine._py`` (those are the
readable specification and test oracle, selected only with ``ENGINE_NO_EXTENSIONS=1``).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

__version__ = "0.1.0"

#: ABI version of the public .pxd/.h files. Bumped whenever a struct layout or a cdef method
#: table changes; strategies compiled against another value refuse to import.
__abi__ = 1

# A user strategy compiled against an older .pxd reports "engine.X size changed" as a
# RuntimeWarning and would run with overlapping fields: make that an error.
warnings.filterwarnings("error", message=r"engine\..* size changed", category=RuntimeWarning)

NO_EXTENSIONS = os.environ.get("ENGINE_NO_EXTENSIONS") == "1"


def get_include() -> str:
    """Directory to pass as ``include_dirs`` when compiling code that cimports engine.

    In a wheel the headers live in ``engine/include``; in a source checkout or an editable
    install they are in ``<repo>/include``.
    """
    here = Path(__file__).resolve().parent
    packaged = here / "include"
    if (packaged / "engine" / "types.h").exists():
        return str(packaged)
    return str(here.parent / "include")


__all__ = ["__version__", "__abi__", "get_include", "NO_EXTENSIONS"]
