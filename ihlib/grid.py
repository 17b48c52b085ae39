"""Many small runs on a CPU: one process per run (one thread each), results written as each run finishes, an
interrupted grid resumed where it stopped, and optional early stopping of converged runs.

Early-stopping rule (:class:`Converged`): a run stops at the first evaluation where test accuracy has stayed at or
above ``level`` (0.99) for ``patience`` (3) evaluations in a row; its last row is then its result.
"""

from __future__ import annotations

import json
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .checkpoint import atomic_write
from .settings import progress_enabled
from .train import TrainConfig, train


@dataclass
class Converged:
    """``until`` rule: test accuracy >= ``level`` for ``patience`` consecutive evaluations."""

    level: float = 0.99
    patience: int = 3
    streak: int = field(default=0, init=False)

    def __call__(self, row: dict) -> bool:
        self.streak = self.streak + 1 if row["test_accuracy"] >= self.level else 0
        return self.streak >= self.patience


def _init_worker() -> None:
    torch.set_num_threads(1)


def run_one(name: str, cfg: TrainConfig, out: Path, early_stop: bool = False) -> dict:
    """Train one run into ``out/name`` (resuming if interrupted) and write ``out/name/result.json``."""
    run = train(cfg, out=out / name, device="cpu", progress=False, until=Converged() if early_stop else None)
    last = run.history[-1]
    result = {"name": name, "config": cfg.to_dict(), "stopped_early": last["epoch"] < cfg.epochs, **last}
    atomic_write(out / name / "result.json", lambda tmp: Path(tmp).write_text(json.dumps(result, indent=1)))
    return result


def load_result(out: Path, name: str, cfg: TrainConfig) -> dict | None:
    """The finished result of ``name`` if it exists and was made with ``cfg``."""
    path = out / name / "result.json"
    if not path.exists():
        return None
    result = json.loads(path.read_text())
    return result if TrainConfig.from_dict(result["config"]) == cfg else None


def run_grid(configs: dict[str, TrainConfig], out: str | Path, workers: int = 2, early_stop: bool = False,
             progress: bool | None = None) -> dict[str, dict]:
    """Train every config (name -> config) over ``workers`` processes; finished runs are skipped, so calling again
    after an interruption resumes the grid.  Returns name -> final history row (plus config and early-stop flag)."""
    out = Path(out)
    results = {name: r for name, cfg in configs.items() if (r := load_result(out, name, cfg)) is not None}
    todo = {name: cfg for name, cfg in configs.items() if name not in results}
    bar = tqdm(total=len(configs), initial=len(results), desc="grid", disable=not progress_enabled(progress))
    if workers <= 1:
        for name, cfg in todo.items():
            results[name] = run_one(name, cfg, out, early_stop)
            bar.update()
    else:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker) as pool:
            futures = [pool.submit(run_one, name, cfg, out, early_stop) for name, cfg in todo.items()]
            for future in as_completed(futures):
                result = future.result()
                results[result["name"]] = result
                bar.update()
    bar.close()
    return {name: results[name] for name in configs}
