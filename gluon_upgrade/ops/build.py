"""Compile ``deform_sample.cc`` against the MXNet wheel's extension interface and register it with MXNet.

MXNet 1.9.1 ships ``include/mxnet/lib_api.h`` and ``src/lib_api.cc``; ``mx.library.load`` registers the
operators of a library built from them. The library is built once per source, MXNet version and compiler, into
the user cache (``paths.cache_dir("ops")``: ``~/.cache/gluon-upgrade/ops`` or under ``$MXNET_HOME``), with
``-march=native``: it is built on the machine that runs it, and the processor's model and features are part of
the build's key, so a shared checkout never loads a library built for another processor. ``GLUON_UPGRADE_CXX``
names the compiler (default ``$CXX``, else ``g++``).

``gluon-upgrade build-ops`` builds it ahead of time (``make venv`` runs it).
"""
import contextlib
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator, List, Optional

import mxnet as mx

from ..paths import cache_dir

FAST_OPERATOR = "gu_deform_sample"
"""The registered operator's name (``mx.nd.gu_deform_sample``, ``mx.sym.gu_deform_sample``)."""
SOURCE = Path(__file__).with_name("deform_sample.cc")
FLAGS = ("-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", "-std=c++17")

_state = {"loaded": False, "error": None}


def compiler() -> str:
    """The C++ compiler command: ``GLUON_UPGRADE_CXX``, else ``CXX``, else ``g++``."""
    return os.environ.get("GLUON_UPGRADE_CXX") or os.environ.get("CXX") or "g++"


def _processor() -> bytes:
    """The processor's model name and feature flags (Linux), or the machine type elsewhere."""
    try:
        with open("/proc/cpuinfo", "rb") as handle:
            return b"".join(sorted({line for line in handle if line.startswith((b"model name", b"flags"))}))
    except OSError:
        return platform.machine().encode()


def _mxnet_sources() -> List[Path]:
    root = Path(mx.__file__).parent
    return [root / "src" / "lib_api.cc", root / "include"]


def library_path() -> Path:
    """Where the library for this source, MXNet version, compiler, flags and processor is (or will be) built."""
    lib_api, _ = _mxnet_sources()
    digest = hashlib.sha1()
    for part in (SOURCE.read_bytes(), lib_api.read_bytes(), mx.__version__.encode(), compiler().encode(),
                 " ".join(FLAGS).encode(), _processor()):
        digest.update(part)
    name = "libgu_deform_sample-{}.so".format(digest.hexdigest()[:12])
    return Path(cache_dir("ops")) / name


def build() -> Path:
    """Compile the library unless it is already built; return its path.

    Raises
    ------
    RuntimeError
        No compiler, or the compilation failed (the message holds the compiler's last lines).
    """
    target = library_path()
    if target.exists():
        return target
    lib_api, include = _mxnet_sources()
    if not lib_api.exists():
        raise RuntimeError("the MXNet wheel has no {}".format(lib_api))
    command = compiler()
    if shutil.which(command) is None:
        raise RuntimeError("no C++ compiler ({!r} not found; set GLUON_UPGRADE_CXX or CXX)".format(command))
    target.parent.mkdir(parents=True, exist_ok=True)
    # Compile to a temporary name, then rename: concurrent processes never load a half-written library.
    handle, partial = tempfile.mkstemp(suffix=".so", dir=str(target.parent))
    os.close(handle)
    try:
        result = subprocess.run([command, *FLAGS, str(SOURCE), str(lib_api), "-I", str(include), "-o", partial],
                                capture_output=True, text=True)
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
            raise RuntimeError("{} failed on {}:\n{}".format(command, SOURCE.name, tail))
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    # Libraries of earlier sources or settings are never loaded again; a process that has one loaded keeps it.
    for stale in target.parent.glob("libgu_deform_sample-*.so"):
        if stale != target:
            stale.unlink(missing_ok=True)
    return target


def load_fast_operator() -> Optional[str]:
    """Build (if needed) and register ``gu_deform_sample`` with MXNet, once per process.

    Returns
    -------
    str or None
        None when the operator is registered, else why it cannot be (no compiler, a failed build, a library
        MXNet refuses).
    """
    if not _state["loaded"] and _state["error"] is None:
        try:
            with _operator_functions_kept():
                mx.library.load(str(build().resolve()), False)
            _state["loaded"] = True
        except (RuntimeError, OSError, mx.base.MXNetError) as error:
            _state["error"] = str(error).strip() or type(error).__name__
    return _state["error"]


@contextlib.contextmanager
def _operator_functions_kept() -> Iterator[None]:
    """Keep MXNet's operator functions the objects they were.

    ``mx.library.load`` generates every ``mx.nd`` / ``mx.sym`` operator function anew. Code that compares them by
    identity then breaks: GluonCV's FPN tests ``norm_layer is mx.sym.contrib.SyncBatchNorm`` against the function
    it imported, and without its ``key`` the FPN R-CNNs with SyncBatchNorm can no longer be built. Functions that
    existed before are put back; the library's new ones stay.
    """
    modules = [m for name, m in list(sys.modules.items())
               if m is not None and name.startswith(("mxnet.ndarray", "mxnet.symbol"))]
    before = [(m, {k: v for k, v in vars(m).items() if callable(v)}) for m in modules]
    try:
        yield
    finally:
        for module, functions in before:
            for name, function in functions.items():
                setattr(module, name, function)
