"""The catalogue of the book's experiments: each one's runs (name -> config) at each scale.

Run names are ``<cell>_s<seed>``.  Where results are kept, found and trained is ``ihlib.results``; the recipes each
scale starts from are ``ihlib.presets``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from .config import TrainConfig
from .presets import FAST_RECIPE, PAPER, PAPER_L8, SEEDS, SMOKE, base as _base
from .tasks import IterativeTask


def _snapshots(cfg: TrainConfig, n: int = 8) -> TrainConfig:
    """Keep ``n`` snapshots of the weights, spread over training, for the training stepper."""
    epochs = sorted({round(i * cfg.epochs / (n - 1) / cfg.eval_every) * cfg.eval_every for i in range(n)})
    return replace(cfg, snapshot_epochs=tuple(epochs))


def emergence(scale: str) -> dict[str, TrainConfig]:
    """Chapter 3: polynomial iteration and parity with CoT, at the scale's recipe, with weight snapshots (runs named
    ``<task>_s<seed>``; seed 0 only below ``paper`` scale).

    At ``paper`` scale: three seeds each, polynomial for 300 epochs and parity for 500 (the paper trains 1000; its
    curves have settled by then), with weights kept every 20 epochs.
    """
    if scale != "paper":
        base = _snapshots(_base(scale))
        return {"polynomial_s0": base, "parity_s0": replace(base, task="parity")}
    runs = {}
    for task, epochs in (("polynomial", 300), ("parity", 500)):
        cfg = replace(PAPER, task=task, epochs=epochs, snapshot_epochs=tuple(range(0, epochs + 1, 20)))
        runs.update({f"{task}_s{seed}": replace(cfg, seed=seed) for seed in SEEDS[scale]})
    return runs


def recipes(scale: str) -> dict[str, TrainConfig]:
    """Chapters 2-3: the authors' block against the pre-LN block (the paper's recipe at L_max 8, 3 seeds), and
    bfloat16 against float32 training (that recipe, 2 seeds; the ``fast`` recipe, 5 seeds).  The same runs at every
    scale but ``smoke``: they answer questions about the cpu-scale recipes."""
    paper, fast, seeds = (SMOKE, SMOKE, (0,)) if scale == "smoke" else (PAPER_L8, FAST_RECIPE, (0, 1, 2, 3, 4))
    runs = {}
    for seed in seeds:
        runs[f"fast_s{seed}"] = replace(fast, seed=seed)
        runs[f"fast_bf16_s{seed}"] = replace(fast, seed=seed, precision="bf16")
    for seed in seeds[:3]:
        runs[f"paper_L8_s{seed}"] = replace(paper, seed=seed)
        if seed < 2:
            runs[f"paper_L8_bf16_s{seed}"] = replace(paper, seed=seed, precision="bf16")
        runs[f"paper_L8_preln_s{seed}"] = replace(paper, seed=seed, normalize_residual=False)
    return runs


def frozen_positions(base: TrainConfig, scale: str) -> TrainConfig:
    """``base`` with frozen random positions; at ``cpu`` scale drawn as the shipped cpu runs drew them (N(0, 1/d)),
    until those are retrained with the paper's recipe."""
    cfg = replace(base, pos_emb="frozen")
    return TrainConfig.from_dict({k: v for k, v in cfg.to_dict().items() if k != "normalize_residual"}) \
        if scale == "cpu" else cfg


def ablations(scale: str) -> dict[str, TrainConfig]:
    """Chapter 5: CoT or not (polynomial, parity), one layer or two, learned or frozen positions; seeds per cell."""
    base = _base(scale)
    cells = {
        "polynomial_cot": base,
        "polynomial_nocot": replace(base, cot=False),
        "parity_cot": replace(base, task="parity"),
        "parity_nocot": replace(base, task="parity", cot=False),
        "polynomial_1layer": replace(base, n_layers=1),
        "polynomial_frozenpos": frozen_positions(base, scale),
    }
    return {f"{cell}_s{seed}": replace(cfg, seed=seed) for cell, cfg in cells.items() for seed in SEEDS[scale]}


def width_length(scale: str) -> dict[str, TrainConfig]:
    """Chapter 5: polynomial with CoT over a grid of widths and lengths, seeds per cell."""
    dims, lengths = {"smoke": ((8, 16), (3, 4)), "cpu": ((8, 16, 32, 64), (4, 6, 8)),
                     "paper": ((8, 16, 32, 64, 128), (8, 16, 24, 32))}[scale]
    base = _base(scale)
    return {f"d{d}_L{n}_s{seed}": replace(base, dim=d, max_len=n, seed=seed)
            for d in dims for n in lengths for seed in SEEDS[scale]}


def positional(scale: str) -> dict[str, TrainConfig]:
    """Chapter 5: learned or frozen random positions on only the first ``pos_dim`` coordinates (full width is in
    ``ablations``), polynomial with CoT, seeds per cell."""
    base = _base(scale)
    dims = {"smoke": (4,), "cpu": (4, 16), "paper": (4, 8, 16, 32, 64)}[scale]
    cells = {f"{kind}_p{p}": replace(base, pos_dim=p) if kind == "learned" else
             frozen_positions(replace(base, pos_dim=p), scale) for kind in ("learned", "frozen") for p in dims}
    return {f"{cell}_s{seed}": replace(cfg, seed=seed) for cell, cfg in cells.items() for seed in SEEDS[scale]}


def data(scale: str) -> dict[str, TrainConfig]:
    """Chapter 6: which data makes the head appear, seeds per cell (the shuffled polynomial and pure parity runs
    they are compared with are in ``ablations``).

    * ``length_order``: the authors' batch order (all batches of length 1, then 2, ...) instead of shuffled;
    * ``n<k>``: k sequences per length instead of the recipe's, trained for as many optimiser steps;
    * ``copy<p>``: parity with p % of each length's sequences replaced by copy sequences.
    """
    base = _base(scale)
    cells = {"length_order": replace(base, order="length")}
    for fraction in (4, 2):
        n = base.n_per_length // fraction
        cells[f"n{n}"] = replace(base, n_per_length=n, epochs=base.epochs * fraction,
                                 eval_every=base.eval_every * fraction)
    for percent in (25, 50):
        cells[f"copy{percent}"] = replace(base, task=f"copy:{percent / 100:g}+parity:{1 - percent / 100:g}")
    return {f"{cell}_s{seed}": replace(cfg, seed=seed) for cell, cfg in cells.items() for seed in SEEDS[scale]}


def pretrained(scale: str, seed: int, cell: str = "polynomial_cot", experiment: str = "ablations") -> str:
    """The reference (``init_from``) to the run ``cell`` (seed ``seed``) of ``experiment`` that a transfer run
    starts from: found in the result store when training starts, wherever results are kept."""
    return f"run:{scale}/{experiment}/{cell}_s{seed}"


def _finetune(scale: str) -> TrainConfig:
    return replace(_base(scale), eval_every=1, epochs={"smoke": 2, "cpu": 20, "paper": 50}[scale])


#: The custom task of chapter 7 when ``reproduce`` trains it: a running sum mod 5 (parity is the running sum mod 2).
EXAMPLE_TASK = IterativeTask("sum_mod5", tuple(range(5)), tuple(range(5)), lambda s, x: (s + x) % 5)


def custom_transfer(task: IterativeTask, scale: str) -> dict[str, TrainConfig]:
    """Runs on a custom task, seeds per method: from scratch, and fine-tuned from the ``ablations`` polynomial models
    (all weights, or the layer-2 MLP only).  Run names start with the task's name."""
    definition = task.to_dict()
    scratch = replace(_base(scale), task=task.name, task_definition=definition)
    finetune = replace(_finetune(scale), task=task.name, task_definition=definition)
    runs = {}
    for seed in SEEDS[scale]:
        runs[f"{task.name}_scratch_s{seed}"] = replace(scratch, seed=seed)
        start = replace(finetune, seed=seed, init_from=pretrained(scale, seed))
        runs[f"{task.name}_all_s{seed}"] = start
        runs[f"{task.name}_mlp2_s{seed}"] = replace(start, only_mlp2=True)
    return runs


def transfer(scale: str) -> dict[str, TrainConfig]:
    """Chapter 7: parity fine-tuned from a trained polynomial model (all weights or the layer-2 MLP only), the
    reverse (polynomial from a parity model, given as many epochs as from scratch), and the custom task
    :data:`EXAMPLE_TASK`.

    The pretrained models are ``ablations`` runs, as are parity and polynomial from scratch.  At ``paper`` scale,
    as the paper does it: the ``emergence`` polynomial models at epoch 200 fine-tuned on parity for 50 epochs
    (evaluated every 2; from the shipped float16 weights), against the ``emergence`` parity runs from scratch.
    The reverse and custom-task runs stay as at the other scales.
    """
    base = replace(_finetune(scale), task="parity")
    runs = {}
    for seed in SEEDS[scale]:
        if scale == "paper":
            start = replace(PAPER, task="parity", epochs=50, eval_every=2, seed=seed, init_epoch=200,
                            init_from=pretrained(scale, seed, "polynomial", "emergence"))
        else:
            start = replace(base, seed=seed, init_from=pretrained(scale, seed))
        runs[f"finetune_all_s{seed}"] = start
        runs[f"finetune_mlp2_s{seed}"] = replace(start, only_mlp2=True)
        runs[f"reverse_all_s{seed}"] = replace(_base(scale), task="polynomial", seed=seed,  # as long as from scratch
                                               init_from=pretrained(scale, seed, "parity_cot"))
    return {**runs, **custom_transfer(EXAMPLE_TASK, scale)}


@dataclass(frozen=True)
class Experiment:
    """A named experiment: a description and its runs (name -> config) at each scale."""

    name: str
    description: str
    runs: Callable[[str], dict[str, TrainConfig]]
    early_stop: bool = False  # stop each run once converged (ihlib.engine.Converged)
    ship_weights: bool = True  # False: only config and history are shipped (sweeps whose chapters plot curves)


EXPERIMENTS = {e.name: e for e in [
    Experiment("emergence", "an iteration head emerges: polynomial and parity with CoT", emergence),
    Experiment("recipes", "the authors' block against pre-LN, bfloat16 against float32", recipes, early_stop=True,
               ship_weights=False),
    Experiment("ablations", "what makes the head appear: CoT, depth, positional embedding", ablations),
    Experiment("transfer", "polynomial -> parity (all weights or the layer-2 MLP only), parity -> polynomial, "
                           "polynomial -> a custom task", transfer, early_stop=True, ship_weights=False),
    Experiment("width_length", "polynomial with CoT over widths x lengths", width_length, early_stop=True),
    Experiment("positional", "learned vs frozen positions over the positional dimension", positional,
               early_stop=True, ship_weights=False),
    Experiment("data", "batch order, amount of data, copy + parity mixes", data, early_stop=True, ship_weights=False),
]}


