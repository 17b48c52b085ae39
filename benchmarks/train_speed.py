"""Seconds per epoch of the paper recipe (polynomial, L_max 16, d 128, batch 256) in each mode and precision.

Run: ``python benchmarks/train_speed.py [--epochs N]``.  Every setting is timed in this one process, in turn, so the
ratios compare like with like on a noisy machine.  Modes: faithful (every batch padded to 2 L_max + 3, the authors'
objective) and no-padding (each batch cut to its longest sequence); precisions: fp32 and bf16 autocast.  Prints one
line per setting, then ``faithful_speedup`` (fp32 faithful seconds over the fastest faithful setting's) and
``nopad_speedup`` (fp32 faithful seconds over the fastest no-padding setting's).  Evaluation is timed apart.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from ihlib.metrics import evaluate
from ihlib.train import PRECISIONS, TrainConfig, train


def seconds_per_epoch(cfg: TrainConfig, epochs: int) -> float:
    """Training seconds per epoch after one warm-up epoch (history 'seconds' counts training time only)."""
    warm = train(replace(cfg, epochs=1), device="cpu", progress=False).history[-1]["seconds"]
    total = train(replace(cfg, epochs=1 + epochs), device="cpu", progress=False).history[-1]["seconds"]
    return (total - warm) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per setting (after one warm-up epoch)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"bf16 matmul on CPU: {torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()}")
    timed: dict[tuple[bool, str], float] = {}
    for padding in (True, False):
        for precision in PRECISIONS:
            cfg = TrainConfig(eval_every=10_000, padding=padding, precision=precision)
            timed[padding, precision] = s = seconds_per_epoch(cfg, args.epochs)
            mode = "faithful" if padding else "no-padding"
            print(f"{mode:10s} {precision}  {s:6.2f} s/epoch")
    run = train(TrainConfig(epochs=1, eval_every=10_000), device="cpu", progress=False)
    start = time.perf_counter()
    evaluate(run.model, run.test_data)
    evaluate(run.model, run.train_data, attention=False)
    print(f"one evaluation (test with attention + train accuracy, fp32): {time.perf_counter() - start:.2f} s")
    reference = timed[True, "fp32"]
    print(f"faithful_speedup {reference / min(timed[True, p] for p in PRECISIONS):.2f}")
    print(f"nopad_speedup {reference / min(timed[False, p] for p in PRECISIONS):.2f}")


if __name__ == "__main__":
    main()
