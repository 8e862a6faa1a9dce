# SPDX-License-Identifier: Apache-2.0
"""Compile a user's strategy ``.pyx`` against the installed engine and import it.

``compile_strategy("mybot.pyx")`` cythonizes the file with the engine's ``.pxd`` files on the
include path (``from engine.strategy cimport Strategy`` resolves against the installed wheel or the
source checkout), compiles it with ``engine.get_include()`` for the C headers, caches the extension
under ``~/.cache/hotpath/abi<N>/<key>/`` and imports it. The key covers the source, the engine's
ABI and version, the Python version and the engine's public ``.pxd``/``.h`` files, so editing any of
them rebuilds. The built module records the ABI it was built against (``__engine_abi__``) and
refuses to import under another one with an ImportError that says how to rebuild.

``hotpath build-strategy FILE.pyx`` is :func:`main`.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.machinery
import importlib.util
import os
import re
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path
from types import ModuleType

import engine
from engine.errors import EngineError

__all__ = ["BuildError", "cache_root", "cache_key", "compile_strategy", "main"]

# Same directive set as the engine itself (setup.py); user files may not override with headers
# they do not need, but a `# cython:` header in the user file still wins for that file.
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "initializedcheck": False,
    "nonecheck": False,
    "cdivision": True,
    "embedsignature": True,
    "profile": False,
}
CFLAGS = ["-O3", "-std=gnu11", "-Wno-unused-function", "-Wno-unreachable-code"]

_PRELUDE_MARK = "# ---- appended by engine.build: ABI guard ----"


class BuildError(EngineError):
    """The strategy could not be compiled (Cython or C compiler error); the message says why."""


def cache_root() -> Path:
    """``$HOTPATH_CACHE_DIR`` or ``$XDG_CACHE_HOME/hotpath`` or ``~/.cache/hotpath``."""
    env = os.environ.get("HOTPATH_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "hotpath"


def _engine_fingerprint() -> bytes:
    """Hash of every public .pxd and header the strategy may compile against."""
    h = hashlib.sha256()
    pkg = Path(engine.__file__).resolve().parent
    files = sorted(pkg.glob("*.pxd")) + sorted((Path(engine.get_include()) / "engine").glob("*.h"))
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.digest()


def cache_key(source: bytes, name: str) -> str:
    """Build cache key: source, module name, engine ABI + version, Python version/ABI, pxd/h files."""
    h = hashlib.sha256()
    for part in (name.encode(), source, str(engine.__abi__).encode(), engine.__version__.encode(),
                 sys.version.encode(), (sysconfig.get_config_var("EXT_SUFFIX") or "").encode(),
                 _engine_fingerprint()):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()[:24]


def _module_name(path: Path) -> str:
    name = path.name[: -len(".pyx")] if path.name.endswith(".pyx") else path.stem
    if not name.isidentifier():
        raise BuildError(f"{path.name}: the file name must be a Python identifier to be a module name")
    return name


def _abi_guard(abi: int) -> str:
    """Module-level code after the user's source: records the ABI and checks it at import.

    It runs during import; a layout change of a base class already fails earlier through Cython's
    size check (turned into an error by engine/__init__.py).
    """
    return (
        f"\n\n{_PRELUDE_MARK}\n"
        f"__engine_abi__ = {abi}\n"
        "import engine as _hp_engine\n"
        "if _hp_engine.__abi__ != __engine_abi__:\n"
        "    raise ImportError(\n"
        "        f\"{__name__} was compiled against hotpath engine ABI {__engine_abi__} but the installed \"\n"
        "        f\"engine {_hp_engine.__version__} has ABI {_hp_engine.__abi__}: rebuild it with \"\n"
        "        f\"'hotpath build-strategy --force <file>.pyx' (or compile_strategy(path, force=True))\")\n"
        "del _hp_engine\n"
    )


def _wrapper(src_pyx: Path) -> str:
    """The module source Cython compiles: the user's ``# cython:`` header lines (directives only work
    in the main file), an ``include`` of the user's file by absolute path (so messages and
    tracebacks name the user's file and lines) and the ABI guard."""
    text = src_pyx.read_text(encoding="utf-8")
    header = []
    for line in text.splitlines():
        if re.match(r"\s*#\s*cython\s*:", line):
            header.append(line.strip())
        elif line.strip() and not line.lstrip().startswith("#"):
            break
    path = str(src_pyx.resolve())
    if '"' in path or "\n" in path:
        raise BuildError(f"{path}: unsupported character in the path")
    return "\n".join(header + [f'include "{path}"']) + _abi_guard(engine.__abi__)


def _compile(src_pyx: Path, name: str, out_dir: Path, quiet: bool) -> Path:
    """Cythonize + compile ``src_pyx`` as module ``name`` into ``out_dir``; returns the .so path."""
    from Cython.Build import cythonize
    from Cython.Compiler.Errors import CompileError
    from setuptools import Distribution, Extension

    work = Path(tempfile.mkdtemp(prefix=f"hotpath-build-{name}-"))
    try:
        pyx = work / f"{name}.pyx"
        pyx.write_text(_wrapper(src_pyx), encoding="utf-8")
        pxd_root = str(Path(engine.__file__).resolve().parent.parent)
        user_dir = str(src_pyx.resolve().parent)   # the user's own .pxd/.h next to the .pyx
        ext = Extension(name, [str(pyx)], include_dirs=[engine.get_include(), user_dir],
                        extra_compile_args=list(CFLAGS))
        try:
            exts = cythonize([ext], compiler_directives=DIRECTIVES, include_path=[pxd_root, user_dir],
                             build_dir=str(work / "c"), force=True, quiet=quiet)
        except CompileError:
            raise BuildError(f"{src_pyx}: Cython compilation failed; see the messages above") from None
        dist = Distribution({"name": name, "ext_modules": exts})
        cmd = dist.get_command_obj("build_ext")
        cmd.build_lib = str(work / "lib")
        cmd.build_temp = str(work / "tmp")
        cmd.inplace = False
        cmd.force = True
        try:
            dist.run_command("build_ext")
        except Exception as e:  # distutils CompileError / LinkError / SystemExit-free errors
            raise BuildError(f"{src_pyx}: C compilation failed: {e}") from None
        built = list((work / "lib").glob(f"{name}*{sysconfig.get_config_var('EXT_SUFFIX')}"))
        if len(built) != 1:
            raise BuildError(f"{src_pyx}: build produced {len(built)} extension files, expected 1")
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / built[0].name
        tmp_target = out_dir / (built[0].name + f".tmp{os.getpid()}")
        shutil.copy2(built[0], tmp_target)
        os.replace(tmp_target, target)    # atomic: a concurrent builder never sees half a file
        (out_dir / "SOURCE").write_text(str(src_pyx.resolve()) + "\n")
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _load(name: str, so_path: Path) -> ModuleType:
    existing = sys.modules.get(name)
    if existing is not None:
        if getattr(existing, "__file__", None) == str(so_path):
            return existing
        # another build of the same module name: give the new one a distinct sys.modules entry
    loader = importlib.machinery.ExtensionFileLoader(name, str(so_path))
    spec = importlib.util.spec_from_file_location(name, str(so_path), loader=loader)
    if spec is None:
        raise ImportError(f"cannot load {so_path}")
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    if existing is None:
        sys.modules[name] = module
    return module


def build_strategy(path: str | os.PathLike, *, force: bool = False, quiet: bool = True) -> Path:
    """Compile (or find in the cache) the extension for ``path``; returns the .so path."""
    src = Path(path).expanduser()
    if not src.is_file():
        raise BuildError(f"{src}: no such file")
    if src.suffix != ".pyx":
        raise BuildError(f"{src}: expected a Cython .pyx file")
    name = _module_name(src)
    source = src.read_bytes()
    # the user's own .pxd/.pxi/.h next to the .pyx are part of what gets compiled
    for dep in sorted(p for ext in ("*.pxd", "*.pxi", "*.h") for p in src.resolve().parent.glob(ext)):
        source += b"\0" + dep.name.encode() + b"\0" + dep.read_bytes()
    key = cache_key(source, name)
    out_dir = cache_root() / f"abi{engine.__abi__}" / key
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    so_path = out_dir / f"{name}{suffix}"
    if force or not so_path.exists():
        so_path = _compile(src, name, out_dir, quiet)
    return so_path


def compile_strategy(path: str | os.PathLike, *, force: bool = False, quiet: bool = True) -> ModuleType:
    """Compile a strategy ``.pyx`` against the installed engine (cached) and import it.

    Parameters
    ----------
    path : the .pyx file; its stem is the module name (``mean_cross.pyx`` -> ``mean_cross``)
    force : rebuild even when the cache has a build for this key
    quiet : suppress Cython's progress output

    Returns
    -------
    module
        The imported extension module (``module.__engine_abi__`` is the ABI it was built against).

    Raises
    ------
    BuildError
        Cython or the C compiler rejected the file.
    ImportError
        The module was built against another engine ABI.
    """
    return _load(_module_name(Path(path)), build_strategy(path, force=force, quiet=quiet))


def main(argv: list[str] | None = None) -> int:
    """``hotpath build-strategy FILE.pyx [--force] [--import]``: compile into the cache, print the path."""
    p = argparse.ArgumentParser(prog="hotpath build-strategy",
                                description="Compile a Cython strategy against the installed hotpath engine.")
    p.add_argument("file", help="strategy .pyx (cimports engine.strategy)")
    p.add_argument("--force", action="store_true", help="rebuild even if a cached build exists")
    p.add_argument("--import", dest="do_import", action="store_true",
                   help="also import the built module (checks its ABI guard)")
    p.add_argument("--verbose", action="store_true", help="show Cython's progress output")
    args = p.parse_args(argv)
    try:
        so = build_strategy(args.file, force=args.force, quiet=not args.verbose)
        if args.do_import:
            _load(_module_name(Path(args.file)), so)
    except (BuildError, ImportError) as e:
        print(f"hotpath build-strategy: {e}", file=sys.stderr)
        return 1
    print(so)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
