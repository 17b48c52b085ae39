#!/usr/bin/env bash
# Set up, then build the book: executes every chapter at $IHLIB_SCALE (default: cpu, the shipped runs, on a GPU too;
# IHLIB_SCALE=colab retrains seed 0 of each setting).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export IHLIB_STATIC=1 IHLIB_PROGRESS=0 IHLIB_SCALE="${IHLIB_SCALE:-cpu}"
scale=$(.venv/bin/python -c "import ihlib; print(ihlib.get_scale())")
# jupyter-cache keys on the notebooks' text, not on the scale: drop outputs executed at another scale
if [ "$(cat _build/.scale 2>/dev/null)" != "$scale" ]; then rm -rf _build/html _build/.jupyter_cache _build/jupyter_execute; fi
mkdir -p _build && echo "$scale" > _build/.scale
start=$(date +%s)
.venv/bin/jupyter-book build . -W -n --keep-going
echo "book built in $(( $(date +%s) - start )) s (scale: $scale); open $(pwd)/_build/html/index.html"
