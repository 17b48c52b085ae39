"""Throughput of many small runs on this machine's CPU cores.

1. A 16-run grid (d = 32, L_max = 8, fixed epochs) through ``ihlib.grid.run_grid`` (one process per run, one
   thread each) against the same runs one after another in one process: prints ``speedup <number>``.  Also one run
   on 1 thread and on all threads, in the same run of this script: a process grid gains only what a single run's
   extra threads leave unused, so ``ceiling`` = workers × t(all threads) / t(1 thread) bounds its speedup (reached
   if runs in parallel processes run as fast as one alone).
2. The same 16 runs as one batched model (``ihlib.batched``, vmap over stacked parameters): on a CPU this is
   expected to pay little; printed for the record, ``batched_speedup <number>``.
3. What early stopping (``ihlib.grid.Converged``) saves on a grid trained until convergence (--es-epochs).

Run: ``python benchmarks/grid_speed.py [--epochs 10] [--es-epochs 60]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace

import torch

from ihlib.batched import train_batched
from ihlib.presets import FAST_RECIPE
from ihlib.grid import run_grid
from ihlib.train import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--es-epochs", type=int, default=60)
    parser.add_argument("--runs", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    base = replace(FAST_RECIPE, dim=32, epochs=args.epochs, eval_every=args.epochs)
    configs = {f"seed{s}": replace(base, seed=s) for s in range(args.runs)}
    print(f"{args.runs} runs of {base.epochs} epochs, d={base.dim}, L_max={base.max_len}; {args.workers} workers; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads in this process")

    train(replace(base, epochs=1), device="cpu", progress=False)  # warm-up: first calls build kernels
    threads = torch.get_num_threads()
    one = {}
    for n in (1, threads):
        torch.set_num_threads(n)
        start = time.perf_counter()
        train(base, device="cpu", progress=False)
        one[n] = time.perf_counter() - start
    torch.set_num_threads(threads)
    print(f"one run: {one[1]:.2f} s on 1 thread, {one[threads]:.2f} s on {threads}")
    print(f"ceiling {args.workers * one[threads] / one[1]:.2f}")

    start = time.perf_counter()
    for cfg in configs.values():
        train(cfg, device="cpu", progress=False)
    sequential = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        run_grid(configs, out, workers=args.workers, progress=False)
        grid = time.perf_counter() - start
    start = time.perf_counter()
    train_batched(list(configs.values()), device="cpu")
    batched = time.perf_counter() - start
    print(f"sequential {sequential:.1f} s, grid {grid:.1f} s, batched {batched:.1f} s")
    print(f"speedup {sequential / grid:.2f}")
    print(f"batched_speedup {sequential / batched:.2f}")

    es = {name: replace(cfg, epochs=args.es_epochs, eval_every=2) for name, cfg in configs.items()}
    timings = {}
    for early in (False, True):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            results = run_grid(es, out, workers=args.workers, early_stop=early, progress=False)
            timings[early] = time.perf_counter() - start
        epochs = sum(r["epoch"] for r in results.values())
        accuracy = sum(r["test_accuracy"] for r in results.values()) / len(results)
        print(f"{'early stopping' if early else 'full epochs   '}: {timings[early]:.1f} s, {epochs} epochs in all, "
              f"mean final test accuracy {accuracy:.3f}")
    print(f"early_stopping_saves {1 - timings[True] / timings[False]:.0%} of the time")


if __name__ == "__main__":
    main()
