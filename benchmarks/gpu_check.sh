#!/usr/bin/env bash
# The GPU tier, on a machine with NVIDIA GPUs: installs MXNet's CUDA 11.2 build (the cu112 extra) into .venv-gpu,
# says what MXNet sees, runs the tests marked gpu, then the benchmarks with --ctx gpu. Results go to
# results/bench/*_gpu.md (and .json) and results/bench/gpu_check.md (what ran, what failed, how).
#
#   bash benchmarks/gpu_check.sh            # everything (about 10 minutes after the install)
#   QUICK=1 bash benchmarks/gpu_check.sh    # fewer benchmark repeats
#
# Every step runs even when an earlier one fails; the exit status is the number of failed steps.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.venv-gpu
PY=$VENV/bin/python
LOG=results/bench/gpu_check.md
REPEATS=$([ -n "${QUICK:-}" ] && echo 3 || echo 10)
mkdir -p results/bench
failed=0

step() {  # step TITLE COMMAND...: run, record its status and output's tail in the log
    local title=$1; shift
    echo "== $title: $*"
    local out; out=$(mktemp)
    "$@" 2>&1 | tee "$out"
    local status=${PIPESTATUS[0]}
    { echo "## $title"; echo; echo "\`$*\`: exit $status"; echo; echo '```'; tail -n 40 "$out"; echo '```'; echo; } >> "$LOG"
    rm -f "$out"
    [ "$status" -eq 0 ] || failed=$((failed + 1))
    return "$status"
}

{ echo "# GPU check"; echo; echo "Made by \`bash benchmarks/gpu_check.sh\` on $(date -u +%Y-%m-%d)."; echo; } > "$LOG"
step "GPUs the driver sees" nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
if [ ! -x "$PY" ]; then
    step "virtual environment" "$PYTHON" -m venv "$VENV" || exit 1
fi
step "install the cu112 extra" "$PY" -m pip install --quiet -c constraints.txt -e ".[cu112,test]" || exit "$((failed))"
step "what MXNet sees" "$PY" -c "import mxnet as mx; f = mx.runtime.Features(); \
print('mxnet', mx.__version__, 'CUDA', f.is_enabled('CUDA'), 'cuDNN', f.is_enabled('CUDNN'), \
'GPUs', mx.context.num_gpus())"
# A GPU the wheel has no kernels for (Hopper) fails every later step deep inside MXNet: record why, and stop.
if ! step "MXNet runs on gpu0" "$PY" -c "from gluon_upgrade.cli import run_main; from gluon_upgrade.runtime import \
contexts; raise SystemExit(run_main(lambda: 'gpu0 runs MXNet kernels' if contexts(['gpu0']) else None))"; then
    { echo "The GPU steps were not run: see the line above."; echo; } >> "$LOG"
    echo "== $failed step(s) failed; log: $LOG"
    exit "$failed"
fi
step "the compiled CPU operator" "$PY" scripts/build_ops.py
step "tests marked gpu" "$PY" -m pytest -m gpu -v -rs tests/test_gpu.py
step "one layer" "$PY" benchmarks/bench_dcn_layer.py --ctx gpu --repeats "$REPEATS"
step "whole networks" "$PY" benchmarks/bench_models.py --ctx gpu --repeats "$REPEATS" --no-onnx
step "the upgrade itself" "$PY" benchmarks/bench_upgrade.py --ctx gpu
echo "== $failed step(s) failed; log: $LOG"
exit "$failed"
