#!/usr/bin/env bash
# Set up, then run everything CI checks: unit tests, every chapter at smoke scale (nbmake), the book built at cpu
# scale from the shipped results (every chapter's claims asserted) and a headless-Chromium test of its pages.
# Prints the time each part took.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
bash scripts/setup.sh
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) || echo "could not install chromium"
  else
    echo "chromium/chromedriver missing: the browser test will be skipped (apt-get install chromium chromium-driver)"
  fi
fi
t1=$(date +%s); echo "== setup: $((t1 - t0)) s"
export IHLIB_SCALE=smoke IHLIB_PROGRESS=0 IHLIB_RESULTS="$(pwd)/_build/ihlib-results"
.venv/bin/python book/make_notebooks.py --check
.venv/bin/python -m pytest -q tests
t2=$(date +%s); echo "== unit tests: $((t2 - t1)) s"
IHLIB_STATIC=1 .venv/bin/python -m pytest -q --nbmake --nbmake-timeout=600 book/
t3=$(date +%s); echo "== chapters (nbmake, smoke): $((t3 - t2)) s"
# the real book, every chapter executed at cpu scale on the shipped results (IHLIB_TRAIN=0: a missing result is an
# error, never hours of training), so every claim a chapter asserts is checked; in its own folder, never cached
rm -rf _build/ci
IHLIB_SCALE=cpu IHLIB_TRAIN=0 IHLIB_STATIC=1 .venv/bin/jupyter-book build . -W -n --keep-going --path-output _build/ci
t4=$(date +%s); echo "== book build (cpu scale, claims asserted): $((t4 - t3)) s"
BOOK_HTML=_build/ci/_build/html .venv/bin/python -m pytest -q browser_tests
t5=$(date +%s); echo "== browser test: $((t5 - t4)) s"
echo "== total: $((t5 - t0)) s"
