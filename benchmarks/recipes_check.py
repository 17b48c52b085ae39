"""Does bf16 training change the science, and what does the authors' block change?  Read from the ``recipes`` runs.

Run: ``python benchmarks/recipes_check.py``: it reads the shipped runs, or those that ``python -m ihlib reproduce
--scale cpu --experiment recipes`` trained into ``$IHLIB_RESULTS``.  Prints, per group of runs (fast / paper recipe at L_max 8, by
precision and block), each seed's epoch to the head, final test accuracy and layer-1 / layer-2 peakiness, then a
verdict line per precision comparison: ``bf16_within_fp32_spread <recipe> yes|no``.

The rule, written before the runs were read (benchmarks/README.md):
* the head: the first evaluation with test accuracy >= 0.95 and layer-2 peakiness >= 0.9;
* bf16 is within the spread of fp32 when (a) the number of seeds that reach the head differs by at most one,
  (b) the median epoch to the head of the bf16 seeds that reach it lies within the fp32 seeds' range of it, and
  (c) the bf16 means of final test accuracy and layer-1 and layer-2 peakiness lie within the fp32 seeds' range
  widened by 0.05 on each side.
"""

from __future__ import annotations

import argparse
import statistics

from ihlib.experiments import EXPERIMENTS
from ihlib.results import finished_run
from ihlib.metrics import head_epoch

FINAL = ("test_accuracy", "peakiness_layer1", "peakiness_layer2")
GROUPS = {"fast fp32": "fast_s", "fast bf16": "fast_bf16_s", "paper_L8 fp32": "paper_L8_s",
          "paper_L8 bf16": "paper_L8_bf16_s", "paper_L8 pre-LN fp32": "paper_L8_preln_s"}


def summarise(histories: list[list[dict]]) -> dict:
    return {"head": [head_epoch(h) for h in histories], **{k: [h[-1][k] for h in histories] for k in FINAL}}


def within_spread(bf16: dict, fp32: dict) -> bool:
    """The rule of the module docstring."""
    reached = [e for e in bf16["head"] if e is not None]
    reference = [e for e in fp32["head"] if e is not None]
    if abs(len(reached) - len(reference)) > 1:
        return False
    if reached and (not reference or not min(reference) <= statistics.median(reached) <= max(reference)):
        return False
    return all(min(fp32[k]) - 0.05 <= statistics.mean(bf16[k]) <= max(fp32[k]) + 0.05 for k in FINAL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()  # finished runs are read from the result store: shipped, else $IHLIB_RESULTS
    runs = EXPERIMENTS["recipes"].runs("cpu")
    groups = {}
    for label, prefix in GROUPS.items():
        names = [n for n in runs if n.startswith(prefix) and n[len(prefix):].isdigit()]
        found = {n: d for n in names if (d := finished_run("recipes", n, "cpu")) is not None}  # finished, same config
        groups[label] = summarise([d.history() for d in found.values()])
        print(f"{label:22s} {len(found)} of {len(names)} seeds")
        for i, name in enumerate(found):
            g = groups[label]
            print(f"  {name:20s} head at epoch {g['head'][i]!s:>5}  final acc {g['test_accuracy'][i]:.3f}  "
                  f"peakiness L1 {g['peakiness_layer1'][i]:.2f}  L2 {g['peakiness_layer2'][i]:.2f}")
    for recipe in ("fast", "paper_L8"):
        bf16, fp32 = groups[f"{recipe} bf16"], groups[f"{recipe} fp32"]
        if bf16["head"] and fp32["head"]:
            print(f"bf16_within_fp32_spread {recipe} {'yes' if within_spread(bf16, fp32) else 'no'}")


if __name__ == "__main__":
    main()
