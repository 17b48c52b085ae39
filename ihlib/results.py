"""The result store: where the runs of the book's experiments are found, trained and shipped.

A run is found by its config, never by its name alone:

* **shipped** with the package (``ihlib/results/<scale>/<experiment>/<run>``, read through ``importlib.resources``),
  used when its record holds exactly the config the catalogue asks for;
* **cached** in ``$IHLIB_RESULTS/<scale>/<experiment>/<run>-<config key>`` (default ``~/.cache/ihlib``), where
  everything missing is trained: a run whose config changes (a reader's edited task, a changed recipe) gets a new
  directory instead of clashing with the old one.

``python -m ihlib reproduce`` trains into the cache; ``python -m ihlib ship`` (or ``reproduce --ship``) exports
finished runs from a clean code revision into the package's shipped results.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from . import __version__
from .batched import group_key, train_batched
from .config import TrainConfig
from .cost import describe
from .engine import Converged
from .experiments import EXPERIMENTS
from .grid import run_grid
from .rundir import Run, RunDir
from .settings import get_scale, resolve_device, training_allowed
from .train import train


def shipped_root() -> Traversable:
    """The package's shipped results."""
    return files("ihlib").joinpath("results")


def results_dir(scale: str) -> Path:
    """Where runs of ``scale`` are trained and cached: ``$IHLIB_RESULTS/<scale>`` (default ``~/.cache/ihlib``)."""
    return Path(os.environ.get("IHLIB_RESULTS", Path.home() / ".cache" / "ihlib")) / scale


def run_config(experiment: str, run: str, scale: str) -> TrainConfig:
    """The config of one run of the catalogue, with a one-line error for an unknown scale, experiment or run."""
    scale = get_scale(scale)
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; known: {', '.join(EXPERIMENTS)}")
    runs = EXPERIMENTS[experiment].runs(scale)
    if run not in runs:
        raise ValueError(f"experiment {experiment!r} has no run {run!r} at {scale} scale; runs: {', '.join(runs)}")
    return runs[run]


def shipped_dir(experiment: str, run: str, scale: str) -> RunDir:
    return RunDir(shipped_root().joinpath(scale, experiment, run))


def cache_dir(experiment: str, run: str, cfg: TrainConfig, scale: str) -> RunDir:
    """Where ``run`` of ``experiment`` with config ``cfg`` is trained and cached."""
    return RunDir(results_dir(scale) / experiment / f"{run}-{cfg.key()}")


def finished_run(experiment: str, run: str, scale: str, cfg: TrainConfig | None = None,
                 weights: bool = False) -> RunDir | None:
    """The directory of a finished run of ``cfg`` (default: the catalogue's config of ``run``): shipped, else
    cached; None if it has not been trained.  With ``weights``, one that holds them: cached first (float32, as
    trained), else shipped (runs may ship curves only, or float16 weights)."""
    cfg = cfg or run_config(experiment, run, scale)
    shipped, cached = shipped_dir(experiment, run, scale), cache_dir(experiment, run, cfg, scale)
    candidates = (cached, shipped) if weights else (shipped, cached)
    return next((d for d in candidates if d.finished(cfg) and (not weights or d.has_weights())), None)


def cell_of(run: str) -> str:
    """A run's cell: its name without the ``_s<seed>`` suffix."""
    head, _, tail = run.rpartition("_s")
    return head if head and tail.isdigit() else run


@dataclass(frozen=True)
class Result:
    """One finished run of an experiment: its name, cell (the name without ``_s<seed>``), seed, config and
    evaluation history."""

    name: str
    config: TrainConfig
    history: list[dict]

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def cell(self) -> str:
        return cell_of(self.name)


class Results(dict):
    """An experiment's results, name -> :class:`Result`, with the seeds of each cell."""

    def cells(self) -> list[str]:
        """Cell names in catalogue order."""
        return list(dict.fromkeys(r.cell for r in self.values()))

    def cell(self, cell: str) -> list[Result]:
        """The results of one cell, by seed."""
        found = sorted((r for r in self.values() if r.cell == cell), key=lambda r: r.seed)
        if not found:
            raise KeyError(f"no cell {cell!r}; cells: {', '.join(self.cells())}")
        return found

    def histories(self, cell: str) -> list[list[dict]]:
        """The histories of one cell, by seed (what ``viz.plot_seeds`` draws)."""
        return [r.history for r in self.cell(cell)]


def results(experiment: str, scale: str | None = None, cells: list[str] | None = None, runs: list[str] | None = None,
            configs: dict[str, TrainConfig] | None = None, device: str = "auto", workers: int | None = None) -> Results:
    """The finished runs of an experiment (default all; or those of ``cells``, every seed; or ``runs`` by name; or
    ``configs``: name -> config of runs not in the catalogue, e.g. ``experiments.custom_transfer``): shipped or
    cached, the missing ones trained now (over processes on a CPU, seeds batched on a GPU)."""
    scale = get_scale(scale)
    configs = configs if configs is not None else _select(experiment, scale, cells, runs)
    found = _finished(experiment, configs, scale)
    missing = {name: cfg for name, cfg in configs.items() if name not in found}
    if missing:
        _check_may_train(experiment, list(missing), scale)
        # every run not shipped, finished ones included: a batched group keeps its members (and its resume state)
        train_all(experiment, {name: cfg for name, cfg in configs.items()
                               if not shipped_dir(experiment, name, scale).finished(cfg)}, scale, device, workers=workers)
        found.update({name: cache_dir(experiment, name, cfg, scale) for name, cfg in missing.items()})
    return Results({name: Result(name, cfg, found[name].history()) for name, cfg in configs.items()})


def _select(experiment: str, scale: str, cells: list[str] | None, runs: list[str] | None) -> dict[str, TrainConfig]:
    """Name -> config of the catalogue's runs of ``experiment`` (all, those of ``cells``, or ``runs`` by name)."""
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; known: {', '.join(EXPERIMENTS)}")
    catalogue = EXPERIMENTS[experiment].runs(scale)
    if cells is not None:
        runs = [name for name in catalogue if cell_of(name) in cells]
        if unknown := set(cells) - {cell_of(name) for name in catalogue}:
            raise ValueError(f"experiment {experiment!r} has no cell {sorted(unknown)[0]!r}")
    return {name: run_config(experiment, name, scale) for name in (runs or catalogue)}


def plan(experiment: str, scale: str | None = None, cells: list[str] | None = None,
         runs: list[str] | None = None) -> str:
    """One line a chapter prints before it asks for runs (arguments as :func:`results`): how many are shipped or
    cached, and how many would be trained now, at what estimated cost (``ihlib.cost``)."""
    scale = get_scale(scale)
    configs = _select(experiment, scale, cells, runs)
    found = _finished(experiment, configs, scale)
    todo = [cfg for name, cfg in configs.items() if name not in found]
    head = f"{scale}/{experiment}: {len(found)} of {len(configs)} runs shipped or cached"
    return f"{head}; {describe(todo)}" if todo else f"{head}: nothing to train"


def finished_results(experiment: str, scale: str) -> Results:
    """The runs of ``experiment`` at ``scale`` that are finished (shipped or cached), training none: what a chapter
    can show of an experiment whose runs are still training (the paper-scale runs take hours each)."""
    scale = get_scale(scale)
    configs = EXPERIMENTS[experiment].runs(scale)
    found = _finished(experiment, configs, scale)
    return Results({name: Result(name, configs[name], d.history()) for name, d in found.items()})


def _finished(experiment: str, configs: dict[str, TrainConfig], scale: str) -> dict[str, RunDir]:
    """The run directories (shipped, else cached) of those of ``configs`` that are finished."""
    return {name: d for name, cfg in configs.items() if (d := finished_run(experiment, name, scale, cfg))}


def _check_may_train(experiment: str, runs: list[str], scale: str) -> None:
    if not training_allowed():
        raise ValueError(f"{scale}/{experiment}: {len(runs)} runs are neither shipped nor cached ({', '.join(runs[:3])}"
                         f"{', ...' if len(runs) > 3 else ''}) and IHLIB_TRAIN=0 forbids training them")


def train_all(experiment: str, configs: dict[str, TrainConfig], scale: str, device: str = "auto",
              batched: bool | None = None, workers: int | None = None) -> None:
    """Train the unfinished runs of ``configs`` (name -> config) of ``experiment`` into the cache, with the
    experiment's stop rule.  On a CPU (unless ``batched``): a process grid.  On a GPU (or with ``batched``): the runs
    that differ only by seed (and by the run each fine-tunes) as one batched model per group, a group's finished
    runs loaded rather than trained."""
    until = Converged() if EXPERIMENTS[experiment].early_stop else None
    dirs = {name: cache_dir(experiment, name, cfg, scale) for name, cfg in configs.items()}
    todo = {name: cfg for name, cfg in configs.items() if not dirs[name].finished(cfg)}
    if todo:
        print(f"{scale}/{experiment}: {describe(list(todo.values()))}")
    root = results_dir(scale) / experiment
    if resolve_device(device).type == "cpu" and not batched:
        by_dir = {Path(dirs[name].path).name: cfg for name, cfg in todo.items()}
        if len(by_dir) > 1:
            run_grid(by_dir, root, workers=workers or os.cpu_count() or 1, early_stop=until is not None)
        for name, cfg in by_dir.items() if len(by_dir) == 1 else ():  # one run: in this process, with its bar
            train(cfg, out=root / name, device=device, until=until)
        return
    groups: dict[TrainConfig, list[str]] = {}
    for name, cfg in configs.items():
        groups.setdefault(group_key(cfg), []).append(name)
    for names in groups.values():
        if any(name in todo for name in names):
            train_batched([configs[n] for n in names], device=device, out=root,
                          names=[Path(dirs[n].path).name for n in names], until=until)


def load_or_train(experiment: str, run: str, scale: str | None = None, device: str = "auto",
                  progress: bool | None = None) -> Run:
    """One run of a named experiment with its weights: shipped or cached (loaded once), else trained now with the
    experiment's stop rule."""
    scale = get_scale(scale)
    cfg = run_config(experiment, run, scale)
    directory = finished_run(experiment, run, scale, cfg, weights=True)
    if directory is not None:
        return directory.load(device=device)
    _check_may_train(experiment, [run], scale)
    print(f"{scale}/{experiment}/{run}: {describe([cfg])}")
    return train(cfg, out=cache_dir(experiment, run, cfg, scale).path, device=device, progress=progress,
                 until=Converged() if EXPERIMENTS[experiment].early_stop else None)


def shipped_snapshots(cfg: TrainConfig, history: list[dict], scale: str) -> tuple[int, ...]:
    """Snapshots a run ships (the repository stays small).  ``paper``: epoch 200 of every seed, where ``transfer``
    starts, and epochs 0, 100 and 300 too for seed 0.  ``cpu``: around the rise the run measured (epoch 0, the
    snapshot before test accuracy first reaches 0.3, the first ones at 0.6 and 0.9, and the last), for the
    training stepper."""
    if scale == "paper":
        return (0, 100, 200, 300) if cfg.seed == 0 else (200,)
    kept = set(cfg.snapshot_epochs)
    rows = [row for row in history if row["epoch"] in kept]
    if not rows:
        return ()
    chosen = {rows[0]["epoch"], rows[-1]["epoch"]}
    for level in (0.3, 0.6, 0.9):
        reached = [i for i, row in enumerate(rows) if row["test_accuracy"] >= level]
        if reached:
            chosen.add(rows[reached[0] - 1 if level == 0.3 and reached[0] else reached[0]]["epoch"])
    return tuple(sorted(chosen))


def ship(experiment: str, scale: str, out: str | Path | None = None) -> list[str]:
    """Export every finished cached run of ``experiment`` at ``scale`` into ``out`` (default: the package's shipped
    results) and return their names.  Weights (of the runs the experiment ships weights of) ship in float16, with
    the snapshots of :func:`shipped_snapshots`.  Runs made from uncommitted code are refused, all checked before
    any is exported."""
    if scale == "smoke" and out is None:
        raise ValueError("smoke runs are never shipped with the package; give an output directory")
    exp = EXPERIMENTS[experiment]
    finished = {run: (cfg, d) for run, cfg in exp.runs(scale).items()
                if (d := cache_dir(experiment, run, cfg, scale)).finished(cfg)}
    for run, (cfg, directory) in finished.items():
        revision = directory.record().get("code_revision") or "unknown"
        if revision == "unknown" or "-dirty" in revision:
            raise ValueError(f"{directory.path} was trained from uncommitted code ({revision}); retrain it from a "
                             f"commit")
    root = Path(out) if out is not None else Path(str(shipped_root()))  # writing needs a real directory
    for run, (cfg, directory) in finished.items():
        directory.export(root / scale / experiment / run if out is None else root / experiment / run,
                         weights=exp.ship_weights(scale, cfg), half=True,
                         snapshots=shipped_snapshots(cfg, directory.history(), scale))
    return list(finished)


def reproduce(scale: str, experiments: list[str] | None = None, ship_to: str | Path | None = None,
              ship_into_package: bool = False, device: str = "auto", workers: int | None = None,
              only: list[str] | None = None) -> None:
    """Train every run of ``experiments`` (default all; or only the runs named in ``only``) at ``scale`` into the
    cache (on a CPU over ``workers`` processes, default one per core), then export the finished ones to
    ``ship_to`` or, if asked, into the package's shipped results (:func:`ship`).

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
        train_all(name, runs, scale, device, workers=workers)
        if ship_to is not None or ship_into_package:
            ship(name, scale, ship_to)
        print(f"{name}: {len(runs)} runs in {time.perf_counter() - start:.0f} s (ihlib {__version__}); results in "
              f"{results_dir(scale) / name}")
