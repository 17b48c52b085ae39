"""Reproduce on a cluster: every cell of an experiment (its runs that differ only by seed) as one job, submitted with
submitit (Slurm, the scheduler the authors' grids ran on, or local processes, which is how the tests run it).

Jobs train into the shared result store (``$IHLIB_RESULTS``, runs keyed by config: ``ihlib.results``), so a job that
fails or is preempted resumes where its runs stopped when submitted again, a finished run is never retrained, and a
run another job is training is refused by its lock.  On a GPU a job trains its cell's seeds as one batched model.
Experiments are submitted one after another: ``transfer`` starts from ``emergence``'s models.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .experiments import EXPERIMENTS
from .results import cache_dir, cell_of, results_dir, run_config, shipped_dir, train_all
from .settings import get_scale


@dataclass(frozen=True)
class ClusterOptions:
    """What a Slurm user sets: the partition, GPUs and CPUs per job, a job's time limit, and how many jobs of an
    array run at once; ``logs``: where submitit keeps each job's script, output and result."""

    partition: str | None = None
    gpus_per_job: int = 1
    cpus_per_job: int = 4
    timeout_min: int = 240
    array_parallelism: int = 32
    logs: str = "submitit-logs"


def cells(experiment: str, scale: str, only: list[str] | None = None) -> list[list[str]]:
    """The runs of ``experiment`` grouped by cell (one job each), those not yet shipped (or all in ``only``)."""
    groups: dict[str, list[str]] = {}
    for name, cfg in EXPERIMENTS[experiment].runs(scale).items():
        if (only and name not in only) or shipped_dir(experiment, name, scale).finished(cfg):
            continue
        groups.setdefault(cell_of(name), []).append(name)
    return list(groups.values())


def train_cell(experiment: str, names: list[str], scale: str, results_root: str, device: str = "auto") -> list[str]:
    """One job: train the runs ``names`` of ``experiment`` into ``results_root`` (resuming, skipping finished
    runs); return those that are finished."""
    os.environ["IHLIB_RESULTS"] = results_root
    configs = {name: run_config(experiment, name, scale) for name in names}
    train_all(experiment, configs, scale, device, workers=1)
    return [name for name, cfg in configs.items() if cache_dir(experiment, name, cfg, scale).finished(cfg)]


def submit(scale: str, experiments: list[str] | None = None, executor: str = "slurm",
           options: ClusterOptions | None = None, device: str = "auto", only: list[str] | None = None) -> dict:
    """Train ``experiments`` (default all) at ``scale`` as jobs on ``executor`` (``"slurm"`` or ``"local"``), one
    experiment after another; wait for each and return experiment -> finished runs.  A failed job raises its error
    (its log is in ``options.logs``)."""
    try:
        import submitit
    except ImportError as e:
        raise RuntimeError("the cluster executors need submitit: pip install submitit") from e
    if executor not in ("slurm", "local"):
        raise ValueError(f"executor must be 'slurm' or 'local', got {executor!r}")
    scale, options = get_scale(scale), options or ClusterOptions()
    names = experiments or list(EXPERIMENTS)
    if unknown := [name for name in names if name not in EXPERIMENTS]:
        raise ValueError(f"unknown experiment {unknown[0]!r}; known: {', '.join(EXPERIMENTS)}")
    pool = submitit.AutoExecutor(folder=options.logs, cluster=executor)
    pool.update_parameters(timeout_min=options.timeout_min, cpus_per_task=options.cpus_per_job,
                           gpus_per_node=options.gpus_per_job if executor == "slurm" else 0,
                           slurm_array_parallelism=options.array_parallelism, name="ihlib",
                           **({"slurm_partition": options.partition} if options.partition else {}))
    root = str(Path(results_dir(scale)).parent.resolve())
    done = {}
    for name in names:
        groups = cells(name, scale, only)
        jobs = pool.map_array(train_cell, [name] * len(groups), groups, [scale] * len(groups),
                              [root] * len(groups), [device] * len(groups))
        print(f"{scale}/{name}: {len(jobs)} jobs submitted ({sum(map(len, groups))} runs); logs in {options.logs}")
        done[name] = [run for job in jobs for run in job.result()]
    return done
