"""Many small runs on a CPU: one process per run (one thread each), each run written to its own run directory as
it trains, an interrupted grid resumed where it stopped (finished runs are never reopened), and optional early
stopping of converged runs (``engine.Converged``: test accuracy >= 0.99 at three evaluations in a row).
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .config import TrainConfig
from .engine import Converged
from .rundir import RunDir
from .settings import progress_enabled
from .train import train


def _init_worker() -> None:
    torch.set_num_threads(1)


def run_one(name: str, cfg: TrainConfig, out: Path, early_stop: bool = False) -> tuple[str, dict]:
    """Train one run into ``out/name`` (resuming it if interrupted); its name and last history row."""
    run = train(cfg, out=out / name, device="cpu", progress=False, until=Converged() if early_stop else None)
    return name, run.history[-1]


def run_grid(configs: dict[str, TrainConfig], out: str | Path, workers: int = 2, early_stop: bool = False,
             progress: bool | None = None) -> dict[str, dict]:
    """Train every config (name -> config) into ``out/<name>`` over ``workers`` processes; finished runs are
    skipped, so calling again after an interruption resumes the grid.  Returns name -> last history row."""
    out = Path(out)
    results = {name: RunDir(out / name).history()[-1] for name, cfg in configs.items()
               if RunDir(out / name).finished(cfg)}
    todo = {name: cfg for name, cfg in configs.items() if name not in results}
    bar = tqdm(total=len(configs), initial=len(results), desc="grid", disable=not progress_enabled(progress))
    if workers <= 1:
        for name, cfg in todo.items():
            results[name] = run_one(name, cfg, out, early_stop)[1]
            bar.update()
    else:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker) as pool:
            futures = [pool.submit(run_one, name, cfg, out, early_stop) for name, cfg in todo.items()]
            for future in as_completed(futures):
                name, row = future.result()
                results[name] = row
                bar.update()
    bar.close()
    return {name: results[name] for name in configs}
