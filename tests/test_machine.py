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


# Compute capabilities of real parts: Maxwell 5.2, Pascal 6.1, Volta 7.0, Turing 7.5, A100 8.0, RTX 30 8.6,
# Ada 8.9, Kepler 3.7, Hopper 9.0 (H100, H200), Blackwell 10.0.
@pytest.mark.parametrize("capability,runs", [(52, True), (61, True), (70, True), (75, True), (80, True), (86, True),
                                             (89, True), (37, False), (90, False), (100, False)])
def test_a_gpu_the_cuda_wheels_have_no_kernels_for_is_named_at_start_up(capability, runs):
    """mxnet-cu112 1.9.1 carries sm_50/60/70/80/86 kernels and no PTX: a part runs them if it has one of its
    major version at or below its minor (so 8.9 runs sm_86), and Hopper runs none."""
    from gluon_upgrade.runtime import unsupported_gpu
    message = unsupported_gpu("gpu1", capability)
    if runs:
        assert message is None
    else:
        assert message.startswith("gpu1 has compute capability {}.{}, and MXNet 1.9.1's CUDA wheels carry kernels "
                                  "for 5.0, 6.0, 7.0, 8.0, 8.6 only (no PTX): build MXNet from source for {}.{}"
                                  .format(capability // 10, capability % 10, capability // 10, capability % 10))
