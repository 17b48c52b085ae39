"""Seconds per epoch and tokens per second of the paper recipe (polynomial, L_max 16, d 128, batch 256).

Run: ``python benchmarks/train_speed.py [--epochs N]``.  Prints one line per mode (faithful padding to
2 L_max + 3, and no-padding) measured in the same process, plus their ratio.  Evaluation is left out: it runs
every 10 epochs and is reported separately.
"""

from __future__ import annotations

import argparse
import time

import torch

from ihlib.metrics import evaluate
from ihlib.train import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per mode (after one warm-up epoch)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    per_epoch = {}
    for padding in (True, False):
        cfg = TrainConfig(epochs=1 + args.epochs, eval_every=10_000, padding=padding)
        run = train(cfg, device="cpu", progress=False)
        # history rows: epoch 0 (before training) and the last epoch; 'seconds' counts training time only
        warm = train(TrainConfig(epochs=1, eval_every=10_000, padding=padding), device="cpu", progress=False)
        seconds = (run.history[-1]["seconds"] - warm.history[-1]["seconds"]) / args.epochs
        widths = run.train_data.lengths * 2 + 2 if not padding else torch.full_like(run.train_data.lengths, cfg.seq_len - 1)
        tokens = int(widths.sum())
        per_epoch[padding] = seconds
        mode = "faithful (padded)" if padding else "no-padding"
        print(f"{mode:18s} {seconds:6.2f} s/epoch  {tokens / seconds:9.0f} tokens/s  ({tokens} tokens/epoch)")
    start = time.perf_counter()
    evaluate(run.model, run.test_data)
    evaluate(run.model, run.train_data, attention=False)
    print(f"one evaluation (test with attention + train accuracy): {time.perf_counter() - start:.2f} s")
    print(f"no-padding speed-up over faithful: {per_epoch[True] / per_epoch[False]:.2f}x")


if __name__ == "__main__":
    main()
