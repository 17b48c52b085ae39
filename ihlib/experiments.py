"""The catalogue of the book's experiments: each one's runs (name -> config) at each scale.

Run names are ``<cell>_s<seed>``.  What each ``cpu``-scale claim built on these runs must show, and how many
seeds must show it, was written before they were trained: ``book/expectations.md``.  Where results are kept,
found and trained is ``ihlib.results``; the recipes each scale starts from are ``ihlib.presets``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from .config import TrainConfig
from .presets import FAST_RECIPE, PAPER, PAPER_L8, PAPER_MORE_SEEDS, RATE_SEEDS, SEEDS, SMOKE, base as _base, compared_scale, settings_of
from .tasks import IterativeTask


def emergence(scale: str) -> dict[str, TrainConfig]:
    """Chapter 3: polynomial iteration and parity with CoT at the scale's recipe, every epoch budget run to its end
    (runs named ``<task>_s<seed>``).

    ``cpu``: five seeds per task (claims about rates), 300 epochs, seed 0 keeping its weights every 10 epochs for
    the training stepper (``colab``: that seed 0 alone).  ``paper``: three seeds, polynomial for 300 epochs and
    parity for 500 (the paper trains 1000; its parity curve has not settled by 500), weights kept every 20 epochs, and
    polynomial seeds 3-5 besides (:data:`~ihlib.presets.PAPER_MORE_SEEDS`).  ``smoke``: seed 0, a few snapshots.
    """
    runs = {}
    for task in ("polynomial", "parity"):
        more = PAPER_MORE_SEEDS if scale == "paper" and task == "polynomial" else ()
        for seed in RATE_SEEDS[scale] + more:
            if scale == "paper":
                epochs = 300 if task == "polynomial" else 500
                cfg = replace(PAPER, epochs=epochs, snapshot_epochs=tuple(range(0, epochs + 1, 20)))
            else:
                cfg = _base(scale)
                every = cfg.eval_every if scale == "smoke" else 10
                cfg = replace(cfg, snapshot_epochs=tuple(range(0, cfg.epochs + 1, every)) if seed == 0 else ())
            runs[f"{task}_s{seed}"] = replace(cfg, task=task, seed=seed)
    return runs


def recipes(scale: str) -> dict[str, TrainConfig]:
    """Chapters 2-3: the authors' block against the pre-LN block (the paper's recipe at L_max 8, 3 seeds), and
    bfloat16 against float32 training (that recipe, 2 seeds; the ``fast`` recipe, 5 seeds).  The same runs at every
    scale but ``smoke`` and ``colab`` (seed 0 only): they answer questions about the cpu-scale recipes."""
    paper, fast = (SMOKE, SMOKE) if scale == "smoke" else (PAPER_L8, FAST_RECIPE)
    seeds = RATE_SEEDS[scale] if scale in ("smoke", "colab") else (0, 1, 2, 3, 4)
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


def _cells(cells: dict[str, TrainConfig], scale: str) -> dict[str, TrainConfig]:
    """``<cell>_s<seed>`` runs: each cell with every seed of the scale."""
    return {f"{cell}_s{seed}": replace(cfg, seed=seed) for cell, cfg in cells.items() for seed in SEEDS[scale]}


def ablations(scale: str) -> dict[str, TrainConfig]:
    """Chapter 5: what the head needs: CoT (polynomial, parity), two layers, learned positions.  The CoT runs they
    are compared with are ``emergence``'s."""
    base = _base(scale)
    return _cells({  # at the paper's scale the no-CoT polynomial cell runs 300 epochs (S11, S12), as emergence does
        "polynomial_nocot": replace(base, cot=False, epochs=300 if scale == "paper" else base.epochs),
        "parity_nocot": replace(base, task="parity", cot=False),
        "polynomial_1layer": replace(base, n_layers=1),
        "polynomial_frozenpos": replace(base, pos_emb="frozen"),
    }, scale)


def weight_decay(scale: str) -> dict[str, TrainConfig]:
    """Chapter 8: what weight decay does.  The scale's recipe with AdamW weight decay 1.0 and nothing else changed,
    with and without CoT, and the ``fast`` recipe (weight decay 1.0 among other changes) without CoT; compared with
    ``emergence``, ``ablations`` and the ``recipes`` runs of the ``fast`` recipe."""
    base, fast = (SMOKE, SMOKE) if scale == "smoke" else (_base(scale), FAST_RECIPE)
    return _cells({
        "decay_cot": replace(base, weight_decay=1.0),
        "decay_nocot": replace(base, weight_decay=1.0, cot=False),
        "fast_nocot": replace(fast, cot=False),
    }, scale)


def _equal_steps(cfg: TrainConfig, max_len: int, steps_at: int = 8) -> TrainConfig:
    """``cfg`` at ``max_len`` with as many optimiser steps as ``cfg`` has at L_max = ``steps_at`` (an epoch has
    ``max_len`` batches per 256 sequences of each length, so shorter L_max get more epochs)."""
    epochs = cfg.epochs * steps_at // max_len
    return replace(cfg, max_len=max_len, epochs=epochs)


def _sweep_base(scale: str) -> TrainConfig:
    """The recipe of chapter 5's many-run sweeps: at ``cpu`` scale the one-minute ``fast`` recipe for 120 epochs
    (the paper's would not fit the retraining budget)."""
    return {"smoke": SMOKE, "cpu": replace(FAST_RECIPE, epochs=120), "paper": PAPER}[settings_of(scale)]


def width_length(scale: str) -> dict[str, TrainConfig]:
    """Chapter 5: polynomial with CoT over widths x lengths, every L_max given the same number of optimiser steps.

    ``cpu``: the one-minute ``fast`` recipe (the paper's would not fit the retraining budget), 120 epochs at L_max 8
    (3,840 steps; twice the recipe's, so that runs have stopped moving or converged); chapter 3's runs are the
    paper recipe's cell (d 128, L_max 8)."""
    dims, lengths = {"smoke": ((8, 16), (3, 4)), "cpu": ((8, 16, 32, 64), (4, 6, 8)),
                     "paper": ((8, 16, 32, 64, 128), (8, 16, 24, 32))}[settings_of(scale)]
    base = _sweep_base(scale)
    return _cells({f"d{d}_L{n}": replace(_equal_steps(base, n, max(lengths)), dim=d) for d in dims for n in lengths},
                  scale)


def positional(scale: str) -> dict[str, TrainConfig]:
    """Chapter 5: learned or frozen random positions on only the first ``pos_dim`` coordinates (full width is in
    ``ablations``), polynomial with CoT.  ``cpu``: the ``fast`` recipe for 120 epochs (the paper's would not fit
    the retraining budget); ``ablations``' frozen run is the paper recipe's cell (full width)."""
    base = _sweep_base(scale)
    dims = {"smoke": (4,), "cpu": (4, 16), "paper": (4, 8, 16, 32, 64)}[settings_of(scale)]
    cells = {f"{kind}_p{p}": replace(base, pos_dim=p, pos_emb=kind) for kind in ("learned", "frozen") for p in dims}
    if scale != "paper":  # the paper's recipe has no weight decay: P2's second hypothesis, tested without it
        cells.update({f"{kind}_p4_nodecay": replace(base, pos_dim=4, pos_emb=kind, weight_decay=0.0)
                      for kind in ("learned", "frozen")})
    return _cells(cells, scale)


def data(scale: str) -> dict[str, TrainConfig]:
    """Chapter 6: which data makes the head appear (the length-ordered pure polynomial and parity runs they are
    compared with are ``emergence``'s).

    * ``shuffled``: a fresh shuffle of all sequences each epoch instead of the authors' length order;
    * ``n<k>``: k sequences per length instead of the recipe's, trained for as many optimiser steps;
    * ``copy<p>``: parity with p % of each length's sequences replaced by copy sequences.
    """
    base = _base(scale)
    n = base.n_per_length // 4
    cells = {"shuffled": replace(base, order="shuffled"),
             f"n{n}": replace(base, n_per_length=n, epochs=base.epochs * 4, eval_every=base.eval_every * 4)}
    for percent in (25, 50):
        cells[f"copy{percent}"] = replace(base, task=f"copy:{percent / 100:g}+parity:{1 - percent / 100:g}")
    return _cells(cells, scale)


def pretrained(scale: str, seed: int, task: str = "polynomial") -> str:
    """The reference (``init_from``) to the ``emergence`` run of ``task`` (seed ``seed``) that a transfer run
    starts from: found in the result store when training starts, wherever results are kept.  At ``colab``, the
    ``cpu`` scale's shipped model (:func:`~ihlib.presets.compared_scale`)."""
    return f"run:{compared_scale(scale)}/emergence/{task}_s{seed}"


def _finetune(scale: str) -> TrainConfig:
    return replace(_base(scale), eval_every=1, epochs={"smoke": 2, "cpu": 30, "paper": 50}[settings_of(scale)])


#: The custom task of chapter 7 when ``reproduce`` trains it: a running sum mod 5 (parity is the running sum mod 2).
EXAMPLE_TASK = IterativeTask("sum_mod5", tuple(range(5)), tuple(range(5)), lambda s, x: (s + x) % 5)


def custom_transfer(task: IterativeTask, scale: str) -> dict[str, TrainConfig]:
    """Runs on a custom task, seeds per method: from scratch, and fine-tuned from the ``emergence`` polynomial
    models (all weights, or the layer-2 MLP only).  Run names start with the task's name."""
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
    """Chapter 7: parity fine-tuned from the ``emergence`` polynomial models (all weights or the layer-2 MLP only;
    at ``cpu`` scale from their last epoch, for 30 epochs, five seeds; at ``paper`` scale from epoch 200, as the
    paper does, for 50), the reverse (polynomial from an ``emergence`` parity model, given as many epochs as from
    scratch), and the custom task :data:`EXAMPLE_TASK`.  Parity and polynomial from scratch are ``emergence``'s.
    """
    base = replace(_finetune(scale), task="parity")
    if scale == "paper":
        base = replace(base, eval_every=2)
    runs = {}
    for seed in RATE_SEEDS[scale]:
        start = replace(base, seed=seed, init_from=pretrained(scale, seed),
                        init_epoch=200 if scale == "paper" else None)
        runs[f"finetune_all_s{seed}"] = start
        runs[f"finetune_mlp2_s{seed}"] = replace(start, only_mlp2=True)
    for seed in SEEDS[scale]:
        runs[f"reverse_all_s{seed}"] = replace(_base(scale), task="polynomial", seed=seed,  # as long as from scratch
                                               init_from=pretrained(scale, seed, "parity"))
    return {**runs, **custom_transfer(EXAMPLE_TASK, scale)}


def _emergence_weights(scale: str, cfg: TrainConfig) -> bool:
    """Weights worth their size in the repository: at ``paper`` scale the seeds of S1-S8 (hours each, and
    ``transfer`` and the mechanism chapter start from them), not the later seeds 3-5, whose curves are what S9-S10
    and the seed distribution read (the repository stays under 50 MB); below, seed 0 (the chapters' attention maps
    and steppers) and the polynomial models that chapter 7's custom task fine-tunes from (seeds :data:`SEEDS`), so
    that a reader's own task trains in minutes."""
    if scale == "paper":
        return cfg.seed in RATE_SEEDS[scale]
    return cfg.seed == 0 or (cfg.task == "polynomial" and cfg.seed in SEEDS[scale])


@dataclass(frozen=True)
class Experiment:
    """A named experiment: a description, its runs (name -> config) at each scale, whether each run stops once
    converged, and which runs ship their weights (``ship_weights(scale, cfg)``; the others ship config and history,
    enough for chapters that plot curves)."""

    name: str
    description: str
    runs: Callable[[str], dict[str, TrainConfig]]
    early_stop: bool = False  # stop each run once converged (ihlib.engine.Converged)
    ship_weights: Callable[[str, TrainConfig], bool] = lambda scale, cfg: False


EXPERIMENTS = {e.name: e for e in [
    Experiment("emergence", "an iteration head emerges: polynomial and parity with CoT", emergence,
               ship_weights=_emergence_weights),
    Experiment("recipes", "the authors' block against pre-LN, bfloat16 against float32", recipes, early_stop=True),
    Experiment("ablations", "what the head needs: CoT, two layers, learned positions", ablations, early_stop=True),
    Experiment("weight_decay", "the paper's recipe with weight decay, with and without CoT", weight_decay,
               early_stop=True),
    Experiment("transfer", "polynomial -> parity (all weights or the layer-2 MLP only), parity -> polynomial, "
                           "polynomial -> a custom task", transfer, early_stop=True),
    Experiment("width_length", "polynomial with CoT over widths x lengths, equal steps per length", width_length,
               early_stop=True),
    Experiment("positional", "learned vs frozen positions over the positional dimension", positional,
               early_stop=True),
    Experiment("data", "batch order, amount of data, copy + parity mixes", data, early_stop=True),
]}
