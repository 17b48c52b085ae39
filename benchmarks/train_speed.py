"""Seconds per epoch of the paper recipe (polynomial, L_max 16, d 128, batch 256) in each mode and precision.

Run: ``python benchmarks/train_speed.py [--rounds N]``.  Modes: faithful (every batch padded to 2 L_max + 3, the
authors' objective) and no-padding (each batch cut to its longest sequence); precisions: fp32 and bf16 autocast.
Every setting trains through ``ihlib.engine.train_epoch`` (the loop ``train`` runs), one epoch per setting in turn,
for N rounds after one warm-up epoch each; the minimum over rounds is reported, so a machine busy with other work
slows every setting alike and the ratios stay fair.  Prints one line per setting, then ``faithful_speedup`` (fp32
faithful seconds over the fastest faithful setting's; target >= 1.5) and ``nopad_speedup`` (fp32 faithful over the
fastest no-padding setting; target >= 2.5).  Evaluation is timed apart.
"""

from __future__ import annotations

import argparse
import time

import torch

from ihlib.metrics import evaluate
from ihlib.model import Transformer
from ihlib.settings import set_seed
from ihlib.tasks import Vocabulary, make_dataset, polynomial_task
from ihlib.config import PRECISIONS, TrainConfig
from ihlib.engine import make_optimizer, train_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="timed epochs per setting, taken in turn")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"bf16 matmul on CPU: {torch.ops.mkldnn._is_mkldnn_bf16_supported()}")
    vocab = Vocabulary.for_tasks([polynomial_task()])
    data = make_dataset(polynomial_task(), 16, 1024, 0, "train", True, vocab)
    settings = {}
    for padding in (True, False):
        for precision in PRECISIONS:
            cfg = TrainConfig(padding=padding, precision=precision)
            set_seed(0)
            model = Transformer(cfg.model_config(vocab.size)).train()
            settings[padding, precision] = [cfg, model, make_optimizer(cfg, list(model.parameters())), []]
    for epoch in range(1 + args.rounds):
        for cfg, model, optimizer, times in settings.values():
            start = time.perf_counter()
            train_epoch(model, optimizer, cfg, data, epoch, epoch * 64)
            if epoch:  # the first epoch of each setting is a warm-up
                times.append(time.perf_counter() - start)
    best = {key: min(times) for key, (_, _, _, times) in settings.items()}
    for (padding, precision), seconds in best.items():
        mode = "faithful" if padding else "no-padding"
        print(f"{mode:10s} {precision}  {seconds:6.2f} s/epoch (min of {args.rounds})")
    model = settings[True, "fp32"][1]
    start = time.perf_counter()
    evaluate(model, make_dataset(polynomial_task(), 16, 1024, 0, "test", True, vocab))
    evaluate(model, data, attention=False)
    print(f"one evaluation (test with attention + train accuracy, fp32): {time.perf_counter() - start:.2f} s")
    reference = best[True, "fp32"]
    print(f"faithful_speedup {reference / min(best[True, p] for p in PRECISIONS):.2f}")
    print(f"nopad_speedup {reference / min(best[False, p] for p in PRECISIONS):.2f}")


if __name__ == "__main__":
    main()
