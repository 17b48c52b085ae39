"""The recipes and scales of the book: which config each scale starts from, and how many seeds it runs.

* ``paper``: the paper's recipe (``TrainConfig()``'s defaults): hours per run on a CPU.
* ``cpu``: the paper's recipe at L_max 8 in bfloat16 autocast (:data:`CPU_RECIPE`, minutes per run); two sweeps
  use the one-minute ``fast`` recipe instead (``experiments``), and say so.
* ``colab``: the ``cpu`` scale's runs with seed 0 only, and float32 (the reference bf16 was checked against; GPUs
  without bfloat16 units emulate it): what a chapter retrains on one Colab GPU, the default on a GPU.
* ``smoke``: the smallest runs that exercise every code path (CI, seconds per chapter, no claims).
"""

from __future__ import annotations

from dataclasses import replace

from .config import TrainConfig

#: The one-minute ``fast`` recipe: an iteration head within a minute on 2 cores (benchmarks/time_to_head.py), bought
#: with AdamW weight decay 1.0, lr 1e-3, a shuffled order, no padding, d 64, L_max 8 and the textbook pre-LN block.
FAST_RECIPE = TrainConfig(task="polynomial", max_len=8, dim=64, lr=1e-3, weight_decay=1.0, batch_size=256,
                          order="shuffled", padding=False, epochs=60, eval_every=2, normalize_residual=False)


SMOKE = TrainConfig(task="polynomial", max_len=4, n_per_length=64, dim=32, batch_size=64, epochs=4, eval_every=2,
                    lr=1e-3, padding=False)

PAPER = TrainConfig()

#: The paper's recipe at L_max 8: minutes on a laptop instead of hours (the epoch budget with early stopping).
PAPER_L8 = replace(PAPER, max_len=8, epochs=300)

#: The ``cpu`` scale: the paper's recipe at L_max 8 with the training steps in bfloat16 autocast, which the
#: ``recipes`` experiment found within the float32 seeds' spread by a rule written before its runs
#: (benchmarks/recipes_check.py); evaluation stays in float32.
CPU_RECIPE = replace(PAPER_L8, precision="bf16")

#: Named recipes (``python -m ihlib train --recipe NAME``).
RECIPES = {"paper": PAPER, "paper_L8": PAPER_L8, "cpu": CPU_RECIPE, "fast": FAST_RECIPE, "smoke": SMOKE}

#: Seeds per cell; claims about rates (emergence, transfer) get :data:`RATE_SEEDS`.
SEEDS = {"smoke": (0,), "colab": (0,), "cpu": (0, 1, 2), "paper": (0, 1, 2)}
RATE_SEEDS = {"smoke": (0,), "colab": (0,), "cpu": (0, 1, 2, 3, 4), "paper": (0, 1, 2)}
#: Polynomial ``emergence`` seeds added at the ``paper`` scale for a seed distribution (claims S9, S10, registered
#: before they were trained); S1-S8 stay on :data:`RATE_SEEDS`.
PAPER_MORE_SEEDS = (3, 4, 5)


def settings_of(scale: str) -> str:
    """The scale whose settings (cells, sweeps, epoch budgets) ``scale`` runs: ``colab`` runs the ``cpu`` scale's,
    with its own seeds and base recipe; every other scale its own."""
    return "cpu" if scale == "colab" else scale


def compared_scale(scale: str) -> str:
    """The scale of the runs a chapter only compares its own with or starts from (chapter 3's ``emergence`` runs,
    the ``fast`` recipe, chapter 5's runs without CoT in chapter 8): at ``colab``, the ``cpu`` scale's shipped runs,
    because each Colab notebook has a machine of its own and would otherwise retrain chapter 3 in every chapter;
    every other scale, itself.  Today the same scale as :func:`settings_of`'s, a separate name for a separate idea."""
    return settings_of(scale)


def base(scale: str) -> TrainConfig:
    """The config every run of ``scale`` starts from."""
    return {"smoke": SMOKE, "colab": PAPER_L8, "cpu": CPU_RECIPE, "paper": PAPER}[scale]
