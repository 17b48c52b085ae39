"""Named experiments of the book at three scales, and load-or-train of their results.

``cpu`` results are produced by ``python -m ihlib reproduce --scale cpu`` and shipped inside the package
(``ihlib/results/cpu``); chapters load them when their config matches and train whatever is missing (always at
``smoke``, and at ``paper`` unless a cached run exists under ``$IHLIB_RESULTS``, default ``~/.cache/ihlib``).
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from . import __version__
from .checkpoint import load_checkpoint, save_checkpoint
from .batched import train_batched
from .grid import Converged, run_grid
from .settings import get_scale, resolve_device
from .tasks import IterativeTask
from .metrics import evaluate
from .train import Run, TrainConfig, load_run, load_run_state, run_record, train

SHIPPED = Path(__file__).parent / "results"

#: The one-minute ``fast`` recipe: an iteration head within a minute on 2 cores (benchmarks/time_to_head.py), bought
#: with AdamW weight decay 1.0, lr 1e-3, a shuffled order, no padding, d 64, L_max 8 and the textbook pre-LN block.
FAST_RECIPE = TrainConfig(task="polynomial", max_len=8, dim=64, lr=1e-3, weight_decay=1.0, batch_size=256,
                          order="shuffled", padding=False, epochs=60, eval_every=2, normalize_residual=False)

#: The recipe of the shipped ``cpu`` results, until they are retrained with the paper's recipe at L_max 8.
CPU_RECIPE = FAST_RECIPE

#: The smallest runs that exercise every code path: for CI, seconds per chapter, no claims.
SMOKE = TrainConfig(task="polynomial", max_len=4, n_per_length=64, dim=32, batch_size=64, epochs=4, eval_every=2,
                    lr=1e-3, padding=False)

PAPER = TrainConfig()

#: The paper's recipe at L_max 8: minutes on a laptop instead of hours (the epoch budget with early stopping).
PAPER_L8 = replace(PAPER, max_len=8, epochs=300)


def _base(scale: str) -> TrainConfig:
    return {"smoke": SMOKE, "cpu": CPU_RECIPE, "paper": PAPER}[scale]


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


SEEDS = {"smoke": (0,), "cpu": (0, 1, 2), "paper": (0, 1, 2)}


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


def pretrained(scale: str, seed: int, cell: str = "polynomial_cot") -> str:
    """The ``ablations`` run ``cell`` (seed ``seed``) that transfer runs start from."""
    if scale == "cpu":
        return f"ihlib:cpu/ablations/{cell}_s{seed}/checkpoint.pt"
    return str(results_dir(scale) / "ablations" / f"{cell}_s{seed}" / "checkpoint.pt")


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
                            init_from=f"ihlib:paper/emergence/polynomial_s{seed}/checkpoint.pt")
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
    early_stop: bool = False  # stop each run once converged (ihlib.grid.Converged; not in batched groups on a GPU)
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


def results_dir(scale: str) -> Path:
    """Where runs of ``scale`` are trained and cached: ``$IHLIB_RESULTS/<scale>`` (default ``~/.cache/ihlib``)."""
    return Path(os.environ.get("IHLIB_RESULTS", Path.home() / ".cache" / "ihlib")) / scale


def _run_config(experiment: str, run: str, scale: str) -> TrainConfig:
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; known: {', '.join(EXPERIMENTS)}")
    runs = EXPERIMENTS[experiment].runs(scale)
    if run not in runs:
        raise ValueError(f"experiment {experiment!r} has no run {run!r}; runs: {', '.join(runs)}")
    return runs[run]


def shipped_snapshots(cfg: TrainConfig) -> tuple[int, ...]:
    """Snapshots a paper-scale run ships (the repository stays small): epoch 200 of every seed, where ``transfer``
    starts; epochs 0, 100 and 300 too for seed 0, for chapter 3's stepper."""
    return (0, 100, 200, 300) if cfg.seed == 0 else (200,)


def export(run_dir: Path, dest: Path, weights: bool = True, half: bool = False,
           snapshots: tuple[int, ...] | None = None) -> None:
    """Copy a finished run as shippable results: history and config, and unless ``weights`` is False the weights
    and the snapshots of ``snapshots`` (default all; never the optimizer state), in float16 if ``half``.

    Half-precision weights no longer give the history's last row exactly, so their own evaluation is recorded in
    the checkpoint (``shipped_evaluation``) for the tests to check against."""
    state = load_checkpoint(run_dir / "checkpoint.pt")
    for key in ("optimizer", "rng"):
        state.pop(key, None)
    state.pop("format")
    dest.mkdir(parents=True, exist_ok=True)
    if weights:
        kept = {k: v for k, v in state["snapshots"].items() if snapshots is None or int(k) in snapshots}
        if half:
            state["model"] = {k: v.half() for k, v in state["model"].items()}
            kept = {e: {k: v.half() for k, v in w.items()} for e, w in kept.items()}
        state["snapshots"] = kept
        if half:
            run = load_run_state(state)
            state["shipped_evaluation"] = evaluate(run.model, run.test_data).summary()
        save_checkpoint(state, dest / "checkpoint.pt")
    else:
        (dest / "checkpoint.pt").unlink(missing_ok=True)  # weights of an earlier export would no longer match
    (dest / "config.json").write_text(run_record(state))
    (dest / "history.csv").write_text((run_dir / "history.csv").read_text())


def ship(experiment: str, scale: str, out: str | Path | None = None) -> list[str]:
    """Export every finished run of ``experiment`` at ``scale`` from :func:`results_dir` into ``out`` (default: the
    package's shipped results) and return their names.  Paper-scale weights ship in float16, with the snapshots
    of :func:`shipped_snapshots`.  Runs made from uncommitted code are refused: shipped results come from a clean
    revision."""
    if scale == "smoke" and out is None:
        raise ValueError("smoke runs are never shipped with the package; give an output directory")
    exp = EXPERIMENTS[experiment]
    finished = {run: cfg for run, cfg in exp.runs(scale).items()
                if _holds_finished(results_dir(scale) / experiment / run, cfg)}
    for run in finished:  # all checked before any is exported: never a half-shipped experiment
        source = results_dir(scale) / experiment / run
        revision = json.loads((source / "config.json").read_text()).get("code_revision") or "unknown"
        if revision == "unknown" or "-dirty" in revision:
            raise ValueError(f"{source} was trained from uncommitted code ({revision}); retrain it from a commit")
    for run, cfg in finished.items():
        dest = Path(out) / experiment / run if out else SHIPPED / scale / experiment / run
        paper = scale == "paper"
        export(results_dir(scale) / experiment / run, dest, weights=exp.ship_weights, half=paper,
               snapshots=shipped_snapshots(cfg) if paper else None)
    return list(finished)


def read_history(path: Path) -> list[dict]:
    """A ``history.csv`` as rows of numbers (the loss of epoch 0, never measured, is None)."""
    with open(path, newline="") as f:
        return [{k: (int(v) if k in ("epoch", "step") else float(v) if v != "" else None) for k, v in row.items()}
                for row in csv.DictReader(f)]


def _holds_finished(directory: Path, cfg: TrainConfig) -> bool:
    """Whether ``directory`` holds a finished run of exactly ``cfg``, as its ``config.json`` records."""
    path = directory / "config.json"
    if not path.exists() or not (directory / "history.csv").exists():
        return False
    recorded = json.loads(path.read_text())
    if TrainConfig.from_dict(recorded) != cfg:
        return False
    if "finished" in recorded:
        return recorded["finished"]
    checkpoint = directory / "checkpoint.pt"  # written before config.json recorded it: the checkpoint knows
    if not checkpoint.exists():
        return False
    state = load_checkpoint(checkpoint)
    return state.get("finished", state["epoch"] == cfg.epochs)  # older still: all epochs done


def histories(experiment: str, scale: str | None = None, runs: list[str] | None = None,
              configs: dict[str, TrainConfig] | None = None) -> dict[str, list[dict]]:
    """The evaluation histories of an experiment's runs (default all, or ``configs``: name -> config of runs not in
    the experiment's list, e.g. :func:`custom_transfer`): shipped or cached, the missing ones trained now (over
    processes on a CPU, seeds batched on a GPU: see ``_train_all``)."""
    scale = get_scale(scale)
    if configs is None:
        configs = {name: _run_config(experiment, name, scale) for name in (runs or EXPERIMENTS[experiment].runs(scale))}
    found = {name: d for name, cfg in configs.items() if (d := _finished_dir(experiment, name, cfg, scale))}
    missing = {name: cfg for name, cfg in configs.items() if name not in found}
    if missing:
        _train_all(missing, results_dir(scale) / experiment, EXPERIMENTS[experiment].early_stop)
        found.update({name: results_dir(scale) / experiment / name for name in missing})
    return {name: read_history(found[name] / "history.csv") for name in configs}


def _finished_dir(experiment: str, run: str, cfg: TrainConfig, scale: str) -> Path | None:
    """Where a finished run of ``cfg`` lies: shipped with the package, else cached in :func:`results_dir`."""
    return next((d for d in (SHIPPED / scale / experiment / run, results_dir(scale) / experiment / run)
                 if _holds_finished(d, cfg)), None)


def _train_all(configs: dict[str, TrainConfig], out: Path, early_stop: bool, device: str = "auto",
               batched: bool | None = None, workers: int | None = None) -> None:
    """Train ``configs`` into ``out``.  On a CPU: a process grid.  On a GPU (or with ``batched``): the runs that differ
    only by seed train together as one batched model (all their epochs: no early stopping), the others one by one."""
    on_cpu = resolve_device(device).type == "cpu"
    if on_cpu and not batched:
        if len(configs) > 1:
            run_grid(configs, out, workers=workers or os.cpu_count() or 1, early_stop=early_stop)
        else:
            for run, cfg in configs.items():
                train(cfg, out=out / run, device=device, until=Converged() if early_stop else None)
        return
    todo = {name: cfg for name, cfg in configs.items() if not _holds_finished(out / name, cfg)}
    groups: dict[TrainConfig, list[str]] = {}
    for name, cfg in todo.items():
        alone = cfg.init_from is not None or bool(cfg.snapshot_epochs)  # what the batched trainer does not do
        groups.setdefault(cfg if alone else replace(cfg, seed=0), []).append(name)
    for names in groups.values():
        if len(names) > 1:
            train_batched([todo[n] for n in names], device=device, out=out, names=names)
        else:
            train(todo[names[0]], out=out / names[0], device=device, until=Converged() if early_stop else None)


def load_or_train(experiment: str, run: str, scale: str | None = None, device: str = "auto",
                  progress: bool | None = None) -> Run:
    """The result of one run of a named experiment: shipped (if its config matches) or cached, else trained now."""
    scale = get_scale(scale)
    cfg = _run_config(experiment, run, scale)
    for directory in (SHIPPED / scale / experiment / run, results_dir(scale) / experiment / run):
        if (directory / "checkpoint.pt").exists() and _holds_finished(directory, cfg):
            return load_run(directory, device=device)
    return train(cfg, out=results_dir(scale) / experiment / run, device=device, progress=progress)


def reproduce(scale: str, experiments: list[str] | None = None, out: str | None = None,
              device: str = "auto", workers: int | None = None, only: list[str] | None = None) -> None:
    """Train every run of ``experiments`` (default all; or only the runs named in ``only``) at ``scale`` (on a CPU
    over ``workers`` processes, default one per core) and :func:`ship` the finished ones (into ``out``, default the
    package's shipped results; smoke runs only with ``out``).

    ``only`` lets two processes share one experiment's runs without ever training the same run."""
    names = experiments or list(EXPERIMENTS)
    unknown = [name for name in names if name not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown experiment {unknown[0]!r}; known: {', '.join(EXPERIMENTS)}")
    if only:
        known = {run for name in names for run in EXPERIMENTS[name].runs(scale)}
        if missing := [run for run in only if run not in known]:
            raise ValueError(f"no run {missing[0]!r} in {', '.join(names)} at {scale} scale")
    for name in names:
        runs = {run: cfg for run, cfg in EXPERIMENTS[name].runs(scale).items() if not only or run in only}
        if not runs:
            continue
        start = time.perf_counter()
        _train_all(runs, results_dir(scale) / name, EXPERIMENTS[name].early_stop, device, workers=workers)
        if scale != "smoke" or out:
            ship(name, scale, out)
        print(f"{name}: {len(runs)} runs in {time.perf_counter() - start:.0f} s (ihlib {__version__})")
