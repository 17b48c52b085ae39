#!/usr/bin/env bash
# The GPU check (scripts/gpu_runs.py), for the device machine, whose python3 holds PyTorch with CUDA: every step's
# results in $OUT/summary.json, the seeds' curves in $OUT/curves.tar.gz, the log in $OUT/log.txt.
# One command of at most 8 minutes: BUDGET (seconds, default 470) sizes the number of seeds to what is left.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
python3 scripts/gpu_runs.py --out "$OUT" --budget "${BUDGET:-470}" 2>&1 | tee "$OUT/log.txt"
