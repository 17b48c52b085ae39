"""Time until an iteration head appears on 2 CPU cores: polynomial iteration, L_max = 8, two layers.

The run stops at the first evaluation (every 2 epochs, as in the recipe) where test accuracy >= 0.95 and layer-2 peakiness >= 0.9.
Prints, per seed, the epoch and the seconds it took (training time, and wall time with the evaluations), then
``made it: k of n seeds within 60 s``.  Run: ``python benchmarks/time_to_head.py [--seeds 5] [recipe options]``.
"""

from __future__ import annotations

import argparse
import time

import torch

from ihlib.presets import FAST_RECIPE
from ihlib.train import train
from dataclasses import replace


def reached(row: dict) -> bool:
    """The criterion of the benchmark: the head is there and the task is solved."""
    return row["test_accuracy"] >= 0.95 and row["peakiness_layer2"] >= 0.9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds allowed (default 60)")
    parser.add_argument("--dim", type=int, default=FAST_RECIPE.dim)
    parser.add_argument("--lr", type=float, default=FAST_RECIPE.lr)
    parser.add_argument("--warmup", type=int, default=FAST_RECIPE.warmup_steps)
    parser.add_argument("--weight-decay", type=float, default=FAST_RECIPE.weight_decay)
    parser.add_argument("--init-std", type=float, default=FAST_RECIPE.init_std)
    parser.add_argument("--batch-size", type=int, default=FAST_RECIPE.batch_size)
    parser.add_argument("--order", default=FAST_RECIPE.order)
    parser.add_argument("--padding", action="store_true", default=FAST_RECIPE.padding)
    parser.add_argument("--eval-every", type=int, default=FAST_RECIPE.eval_every)
    parser.add_argument("--max-epochs", type=int, default=200)
    args = parser.parse_args()
    cfg = replace(FAST_RECIPE, dim=args.dim, lr=args.lr, warmup_steps=args.warmup, batch_size=args.batch_size,
                  order=args.order, padding=args.padding, epochs=args.max_epochs, eval_every=args.eval_every,
                  weight_decay=args.weight_decay, init_std=args.init_std)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; recipe: {cfg}")
    made = 0
    for seed in range(args.seeds):
        start = time.perf_counter()
        run = train(replace(cfg, seed=seed), device="cpu", progress=False, until=reached)
        wall = time.perf_counter() - start
        last = run.history[-1]
        ok = reached(last) and wall <= args.budget
        made += ok
        print(f"seed {seed}: {'reached' if reached(last) else 'NOT reached'} at epoch {last['epoch']} "
              f"(step {last['step']}): train {last['seconds']:.1f} s, wall {wall:.1f} s with evaluations; "
              f"test acc {last['test_accuracy']:.3f}, peakiness L1 {last['peakiness_layer1']:.2f} "
              f"L2 {last['peakiness_layer2']:.2f}")
    print(f"made it: {made} of {args.seeds} seeds within {args.budget:.0f} s")


if __name__ == "__main__":
    main()
