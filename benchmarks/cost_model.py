"""Check the cost model (``ihlib/cost.py``) against measured training times.

Run: ``python benchmarks/cost_model.py``.  For every shipped run whose history records its training seconds (the
``recipes`` runs at cpu scale and the paper-scale emergence runs; all trained on one thread beside a second
training process), it prints the run's measured sustained rate (training FLOPs of the epochs it ran / its training
seconds) and the estimate of ``cost.THIS_CPU`` against the measured seconds; then the median rate per precision,
per width and precision, which is what ``THIS_CPU`` should hold, and ``worst_ratio``, the largest estimate/measured (or inverse) over the runs.
It also times one evaluation of a paper-recipe model at L_max 8 (the evaluation rate).
"""

from __future__ import annotations

import statistics
import time

import torch

from ihlib.cost import THIS_CPU, evaluation_flops, run_flops
from ihlib.engine import evaluation_row
from ihlib.experiments import EXPERIMENTS
from ihlib.model import Transformer
from ihlib.presets import PAPER_L8
from ihlib.results import finished_run
from ihlib.tasks import Vocabulary, make_dataset, polynomial_task


def main() -> None:
    rates: dict[str, list[float]] = {}
    ratios = []
    for experiment, scale in (("recipes", "cpu"), ("emergence", "paper")):
        for name, cfg in EXPERIMENTS[experiment].runs(scale).items():
            directory = finished_run(experiment, name, scale, cfg)
            if directory is None:
                continue
            last = directory.history()[-1]
            train, _ = run_flops(cfg, last["epoch"])
            rate = train / last["seconds"]
            estimate = train / THIS_CPU.rate(cfg)
            rates.setdefault(f"d{cfg.dim} {cfg.precision}", []).append(rate)
            ratios.append(max(estimate / last["seconds"], last["seconds"] / estimate))
            print(f"{scale}/{experiment}/{name:18s} {cfg.precision}  {last['epoch']:4d} epochs  "
                  f"measured {last['seconds']:7.0f} s  estimated {estimate:7.0f} s  rate {rate / 1e9:5.1f} GFLOP/s")
    for group, values in rates.items():
        print(f"median_train_rate {group} {statistics.median(values) / 1e9:.1f} GFLOP/s ({len(values)} runs)")
    print(f"worst_ratio {max(ratios):.2f}")

    torch.set_num_threads(1)
    vocab = Vocabulary()
    model = Transformer(PAPER_L8.model_config(vocab.size))
    data = make_dataset(polynomial_task(), PAPER_L8.max_len, PAPER_L8.n_per_length, 0, "test", True, vocab)
    start = time.perf_counter()
    evaluation_row(model, data, data)
    seconds = time.perf_counter() - start
    print(f"eval_rate {evaluation_flops(PAPER_L8) / seconds / 1e9:.1f} GFLOP/s (one evaluation in {seconds:.1f} s; "
          f"THIS_CPU assumes {THIS_CPU.eval_rate / 1e9:.0f})")


if __name__ == "__main__":
    main()
