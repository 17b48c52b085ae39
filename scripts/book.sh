#!/usr/bin/env bash
# Set up, then build the book: executes every chapter at $IHLIB_SCALE (default: cpu, or paper on a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export IHLIB_STATIC=1 IHLIB_PROGRESS=0
start=$(date +%s)
.venv/bin/jupyter-book build . -W -n --keep-going
echo "book built in $(( $(date +%s) - start )) s (scale: ${IHLIB_SCALE:-default}); open $(pwd)/_build/html/index.html"
