"""What each chapter trains at the ``colab`` scale, and what that costs on a T4 by ``ihlib/cost.py``.

Run: ``python benchmarks/colab_budget.py``.  For each chapter (the experiments and cells it trains at ``colab``,
read from the chapters' ``results`` and ``load_or_train`` calls; the runs it only compares with or starts from are
the ``cpu`` scale's shipped ones, ``presets.compared_scale``, and cost nothing) it prints the estimated T4 minutes of
its runs, with the seeds of a setting batched and the cost model's stated assumptions (5 % of peak, 3 ms per step):
at most (every run to its full epoch budget), and if each run stops at the epoch the shipped ``cpu`` run of the
same name stopped at (same config, but bf16).  ``over_target`` lists the chapters above 20 minutes by the
second, the estimate; the line also names those above it by the first, the bound.
"""

from __future__ import annotations

from ihlib.cost import GPUS
from ihlib.experiments import EXPERIMENTS
from ihlib.results import cell_of, finished_run

#: chapter -> (experiment, cells or None for all) it trains at ``colab``, as in book/src.
CHAPTERS = {
    2: [("recipes", ["paper_L8", "paper_L8_preln"])],
    3: [("emergence", None)],
    4: [],
    5: [("ablations", None), ("width_length", None), ("positional", None)],
    6: [("data", None)],
    7: [("transfer", None)],
    8: [("weight_decay", None)],
}
TARGET_MIN = 20


def minutes(loads: list[tuple[str, list[str] | None]], stopped: bool = False) -> float:
    """Estimated T4 minutes of training every colab run of ``loads``: the full epoch budget, or (``stopped``) as
    many epochs as the shipped cpu run of the same name trained before it stopped."""
    t4 = GPUS["T4"]
    total = 0.0
    for experiment, cells in loads:
        for name, cfg in EXPERIMENTS[experiment].runs("colab").items():
            if cells is not None and cell_of(name) not in cells:
                continue
            epochs = None
            if stopped and (shipped := finished_run(experiment, name, "cpu")) is not None:
                epochs = shipped.history()[-1]["epoch"]
            total += t4.batched_seconds([cfg], epochs)
    return total / 60


def main() -> None:
    print(f"colab scale, T4 ({GPUS['T4'].basis}); minutes at most (full epoch budgets), and as long as the shipped "
          f"cpu seed 0 trained")
    over, over_bound = [], []
    for chapter, loads in CHAPTERS.items():
        most, stopped = minutes(loads), minutes(loads, True)
        print(f"chapter {chapter}: at most {most:5.1f} min; as the cpu seed 0 stopped {stopped:5.1f}")
        over += [chapter] if stopped > TARGET_MIN else []
        over_bound += [chapter] if most > TARGET_MIN else []
    print(f"over_target {','.join(map(str, over)) or 'none'} (target {TARGET_MIN} min per chapter, runs stopping as "
          f"the cpu seed 0 did); over it at most: {','.join(map(str, over_bound)) or 'none'}")


if __name__ == "__main__":
    main()
