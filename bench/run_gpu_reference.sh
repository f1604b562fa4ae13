#!/usr/bin/env bash
# The GPU reference run of the benchmarks (claim C11): the whole grid of bench/test_train_step.py
# and bench/test_inference.py, cpu and cuda in one pytest-benchmark run on one machine, then the
# speedup report and its plot. Everything it writes goes to $OUT:
#
#   gpu-reference.json   the pytest-benchmark JSON (opens in `pytest-benchmark compare`)
#   report.txt           python -m blitz.report bench gpu-reference.json
#   speedup.png          the plot: GPU/CPU speedup against width, a line per batch size
#   pytest.log           pytest's output, with pytest-benchmark's tables
#
# Run it from the repository root on a machine with an NVIDIA GPU where torch (a CUDA build),
# pytest, pytest-benchmark and matplotlib are installed; it installs nothing:
#
#   OUT=bench/results bash bench/run_gpu_reference.sh
#
# The cpu size limit is lifted (BENCH_MAX_GFLOP, default cpu=400: every configuration) so that
# the cpu baseline covers the grid; expect about 5 minutes on a 16-core host with one H100.
set -euo pipefail

: "${OUT:?set OUT to the directory that receives the results}"
PYTHON="${PYTHON:-python}"
BENCH_MAX_GFLOP="${BENCH_MAX_GFLOP:-cpu=400}"
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}."
mkdir -p "$OUT"

"$PYTHON" - <<'PY'
import sys

import torch

if not torch.cuda.is_available():
    sys.exit(f"no GPU visible to torch {torch.__version__}: the GPU reference needs one")
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}")
PY
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/pytest.log"
fi

status=0
"$PYTHON" -m pytest bench/test_train_step.py bench/test_inference.py \
    -p no:cacheprovider -q -rs \
    --bench-max-gflop "$BENCH_MAX_GFLOP" \
    --benchmark-json "$OUT/gpu-reference.json" \
    --benchmark-columns median,iqr,rounds \
    2>&1 | tee -a "$OUT/pytest.log" || status=$?

# A failed benchmark (say, one variant) still leaves the others in the JSON: report them.
"$PYTHON" -m blitz.report bench "$OUT/gpu-reference.json" --plot "$OUT/speedup.png" \
    | tee "$OUT/report.txt"
exit "$status"
