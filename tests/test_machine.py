"""The machine record: the instruction set oneDNN runs and the OpenMP threads, as a process with DNNL_MAX_CPU_ISA
and OMP_NUM_THREADS set sees them."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CODE = "from gluon_upgrade.machine import describe_machine, onednn_isa; print(onednn_isa()); print(describe_machine())"


# oneDNN's own names for the instruction sets every x86-64 processor of this project's machines offers.
@pytest.mark.parametrize("limit,name", [("SSE41", "Intel SSE4.1"), ("AVX2", "Intel AVX2")])
def test_the_instruction_set_is_the_one_onednn_was_limited_to(limit, name):
    result = subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, DNNL_MAX_CPU_ISA=limit, OMP_NUM_THREADS="3",
                                     # an answer cached by a parent process without the limit must not be used
                                     GLUON_UPGRADE_ONEDNN_ISA="|cached without a limit"))
    assert result.returncode == 0, result.stderr
    isa, line = result.stdout.strip().splitlines()[-2:]
    assert isa == name
    assert "oneDNN ISA: {} (DNNL_MAX_CPU_ISA={})".format(name, limit) in line
    assert "OpenMP threads: 3" in line  # the thread count changes oneDNN's reductions, so it is recorded
    assert "mxnet 1.9.1" in line and "gluoncv 0.10.5.post0" in line
