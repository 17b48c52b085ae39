"""Named experiments of the book at three scales, and load-or-train of their results.

``cpu`` results are produced by ``python -m ihlib reproduce --scale cpu`` and shipped inside the package
(``ihlib/results/cpu``); chapters load them when their config matches and train whatever is missing (always at
``smoke``, and at ``paper`` unless a cached run exists under ``$IHLIB_RESULTS``, default ``~/.cache/ihlib``).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from . import __version__
from .checkpoint import load_checkpoint, save_checkpoint
from .grid import run_grid
from .settings import get_scale, resolve_device
from .train import Run, TrainConfig, load_run, train

SHIPPED = Path(__file__).parent / "results"

#: The CPU recipe in which an iteration head appears within a minute on 2 cores (benchmarks/time_to_head.py).
CPU_RECIPE = TrainConfig(task="polynomial", max_len=8, dim=64, lr=1e-3, weight_decay=1.0, batch_size=256,
                         order="shuffled", padding=False, epochs=60, eval_every=2)

#: The smallest runs that exercise every code path: for CI, seconds per chapter, no claims.
SMOKE = TrainConfig(task="polynomial", max_len=4, n_per_length=64, dim=32, batch_size=64, epochs=4, eval_every=2,
                    lr=1e-3, padding=False)

PAPER = TrainConfig()


def _base(scale: str) -> TrainConfig:
    return {"smoke": SMOKE, "cpu": CPU_RECIPE, "paper": PAPER}[scale]


def _snapshots(cfg: TrainConfig, n: int = 8) -> TrainConfig:
    """Keep ``n`` snapshots of the weights, spread over training, for the training stepper."""
    epochs = sorted({round(i * cfg.epochs / (n - 1) / cfg.eval_every) * cfg.eval_every for i in range(n)})
    return replace(cfg, snapshot_epochs=tuple(epochs))


def emergence(scale: str) -> dict[str, TrainConfig]:
    """Chapter 3: polynomial iteration and parity with CoT, at the scale's recipe, with weight snapshots."""
    base = _snapshots(_base(scale))
    return {"polynomial": base, "parity": replace(base, task="parity")}


SEEDS = {"smoke": (0,), "cpu": (0, 1, 2), "paper": (0, 1, 2)}


def ablations(scale: str) -> dict[str, TrainConfig]:
    """Chapter 5: CoT or not (polynomial, parity), one layer or two, learned or frozen positions; seeds per cell."""
    base = _base(scale)
    cells = {
        "polynomial_cot": base,
        "polynomial_nocot": replace(base, cot=False),
        "parity_cot": replace(base, task="parity"),
        "parity_nocot": replace(base, task="parity", cot=False),
        "polynomial_1layer": replace(base, n_layers=1),
        "polynomial_frozenpos": replace(base, pos_emb="frozen"),
    }
    return {f"{cell}_s{seed}": replace(cfg, seed=seed) for cell, cfg in cells.items() for seed in SEEDS[scale]}


def width_length(scale: str) -> dict[str, TrainConfig]:
    """Chapter 5: polynomial with CoT over a grid of widths and lengths, seeds per cell."""
    dims, lengths = {"smoke": ((8, 16), (3, 4)), "cpu": ((8, 16, 32, 64), (4, 6, 8)),
                     "paper": ((8, 16, 32, 64, 128), (8, 16, 24, 32))}[scale]
    base = _base(scale)
    return {f"d{d}_L{n}_s{seed}": replace(base, dim=d, max_len=n, seed=seed)
            for d in dims for n in lengths for seed in SEEDS[scale]}


def pretrained(scale: str, seed: int) -> str:
    """The polynomial CoT run of the ablations (seed ``seed``) that the transfer runs start from."""
    if scale == "cpu":
        return f"ihlib:cpu/ablations/polynomial_cot_s{seed}/checkpoint.pt"
    return str(results_dir(scale) / "ablations" / f"polynomial_cot_s{seed}" / "checkpoint.pt")


def transfer(scale: str) -> dict[str, TrainConfig]:
    """Chapter 6: parity fine-tuned from a trained polynomial model, all weights or the layer-2 MLP only.

    The pretrained models are the ``ablations`` polynomial CoT runs; parity from scratch is ``ablations`` too.
    """
    base = replace(_base(scale), task="parity", eval_every=1,
                   epochs={"smoke": 2, "cpu": 20, "paper": 50}[scale])
    runs = {}
    for seed in SEEDS[scale]:
        start = replace(base, seed=seed, init_from=pretrained(scale, seed))
        runs[f"finetune_all_s{seed}"] = start
        runs[f"finetune_mlp2_s{seed}"] = replace(start, only_mlp2=True)
    return runs


@dataclass(frozen=True)
class Experiment:
    """A named experiment: a description and its runs (name -> config) at each scale."""

    name: str
    description: str
    runs: Callable[[str], dict[str, TrainConfig]]
    early_stop: bool = False  # stop runs once converged (ihlib.grid.Converged) when reproduced on a CPU


EXPERIMENTS = {e.name: e for e in [
    Experiment("emergence", "an iteration head emerges: polynomial and parity with CoT", emergence),
    Experiment("ablations", "what makes the head appear: CoT, depth, positional embedding", ablations),
    Experiment("transfer", "polynomial -> parity: fine-tuning all weights or the layer-2 MLP only", transfer),
    Experiment("width_length", "polynomial with CoT over widths x lengths", width_length, early_stop=True),
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


def export(run_dir: Path, dest: Path) -> None:
    """Copy a finished run as shippable results: weights, snapshots, history and config, no optimizer state."""
    state = load_checkpoint(run_dir / "checkpoint.pt")
    for key in ("optimizer", "rng"):
        state.pop(key, None)
    state.pop("format")
    save_checkpoint(state, dest / "checkpoint.pt")
    (dest / "config.json").write_text(json.dumps({**state["config"], "ihlib_version": state["version"],
                                                  "code_revision": state.get("code_revision")}, indent=2))
    (dest / "history.csv").write_text((run_dir / "history.csv").read_text())


def load_or_train(experiment: str, run: str, scale: str | None = None, device: str = "auto",
                  progress: bool | None = None) -> Run:
    """The result of one run of a named experiment: shipped (if its config matches) or cached, else trained now."""
    scale = get_scale(scale)
    cfg = _run_config(experiment, run, scale)
    for directory in (SHIPPED / scale / experiment / run, results_dir(scale) / experiment / run):
        path = directory / "checkpoint.pt"
        if path.exists():
            state = load_checkpoint(path)
            finished = state.get("finished", state["epoch"] == cfg.epochs)  # results made before the flag existed
            if TrainConfig.from_dict(state["config"]) == cfg and finished:
                return load_run(path, device=device)
    return train(cfg, out=results_dir(scale) / experiment / run, device=device, progress=progress)


def reproduce(scale: str, experiments: list[str] | None = None, out: str | None = None,
              device: str = "auto") -> None:
    """Train every run of ``experiments`` (default all) at ``scale``; cpu results are exported as package data."""
    names = experiments or list(EXPERIMENTS)
    unknown = [name for name in names if name not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown experiment {unknown[0]!r}; known: {', '.join(EXPERIMENTS)}")
    for name in names:
        runs = EXPERIMENTS[name].runs(scale)
        start = time.perf_counter()
        if resolve_device(device).type == "cpu" and len(runs) > 1:
            run_grid(runs, results_dir(scale) / name, workers=os.cpu_count() or 1,
                     early_stop=EXPERIMENTS[name].early_stop)
        else:
            for run, cfg in runs.items():
                train(cfg, out=results_dir(scale) / name / run, device=device)
        for run in runs:
            dest = Path(out) / name / run if out else (SHIPPED / scale / name / run if scale == "cpu" else None)
            if dest is not None:
                export(results_dir(scale) / name / run, dest)
        print(f"{name}: {len(runs)} runs in {time.perf_counter() - start:.0f} s (ihlib {__version__})")
