"""The run directory, and the one module that knows it: ``config.json``, ``history.csv`` and ``checkpoint.pt``.

* ``checkpoint.pt``: config, weights, history, weight snapshots, and what resuming needs (optimizer and RNG state);
* ``history.csv``: one row per evaluation, for people and plots;
* ``config.json``, the run's record: its config, the ihlib version and code revision that made it, and
  ``finished``, the one marker of a finished run.  It is written last, so a run is finished only once all three
  files are.

Every file is written atomically, the record first while a run trains and last once it has finished (so a killed
process never leaves a record calling other weights finished), and a process writing a run holds its lock
(``.lock``), so two processes never train into one directory.  A directory read through
``importlib.resources`` (shipped results) works as well as a path for everything but writing.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from dataclasses import dataclass
from importlib.resources import as_file
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Iterator

import torch

from . import __version__
from .checkpoint import atomic_write, load_checkpoint, save_checkpoint
from .config import TrainConfig, config_task
from .metrics import evaluate
from .model import ModelConfig, Transformer
from .settings import resolve_device
from .tasks import IterativeTask, SequenceSet, TaskMix, Vocabulary, make_dataset, sequence_length

RECORD, HISTORY, CHECKPOINT, LOCK = "config.json", "history.csv", "checkpoint.pt", ".lock"


class RunDirError(ValueError):
    """A directory that cannot hold the run asked for: not a run, another run, busy, or not writable."""


@dataclass
class Run:
    """A trained (or training) model with its config, vocabulary, data and history of evaluations."""

    config: TrainConfig
    model: Transformer
    vocab: Vocabulary
    train_data: SequenceSet
    test_data: SequenceSet
    history: list[dict]
    snapshots: dict[int, dict]

    def model_at(self, epoch: int) -> Transformer:
        """A copy of the model with the weights it had at a snapshot epoch."""
        if epoch not in self.snapshots:
            raise KeyError(f"no snapshot at epoch {epoch}; snapshots: {sorted(self.snapshots)}")
        model = Transformer(self.model.cfg).to(next(self.model.parameters()).device)
        model.load_state_dict(self.snapshots[epoch])
        return model.eval()


def history_csv(history: list[dict]) -> str:
    buf = io.StringIO()
    if history:
        writer = csv.DictWriter(buf, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    return buf.getvalue()


def parse_history(text: str) -> list[dict]:
    """``history.csv`` text as rows of numbers (the loss of epoch 0, never measured, is None)."""
    return [{k: (int(v) if k in ("epoch", "step") else float(v) if v != "" else None) for k, v in row.items()}
            for row in csv.DictReader(io.StringIO(text))]


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


class RunDir:
    """One run's directory (a path, or a ``Traversable`` of shipped results, read-only)."""

    def __init__(self, path: str | Path | Traversable) -> None:
        if isinstance(path, str):
            if not path.strip():
                raise RunDirError("a run directory needs a name; got an empty path")
            path = Path(path)
        self.path = path

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def _file(self, name: str) -> Traversable:
        return self.path.joinpath(name)

    def record(self) -> dict | None:
        """The run's ``config.json``, or None if there is none (or it is not an ihlib record)."""
        file = self._file(RECORD)
        if not file.is_file():
            return None
        try:
            record = json.loads(file.read_text())
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and "ihlib_version" in record else None

    def config(self) -> TrainConfig | None:
        record = self.record()
        return TrainConfig.from_dict(record) if record is not None else None

    def finished(self, cfg: TrainConfig | None = None) -> bool:
        """Whether this directory holds a finished run (of exactly ``cfg``, if given)."""
        record = self.record()
        return record is not None and record.get("finished") is True and (
            cfg is None or TrainConfig.from_dict(record) == cfg)

    def history(self) -> list[dict]:
        return parse_history(self._file(HISTORY).read_text())

    def has_weights(self) -> bool:
        return self._file(CHECKPOINT).is_file()

    def state(self) -> dict:
        """The checkpoint's contents (safely loaded on the CPU)."""
        with as_file(self._file(CHECKPOINT)) as path:
            return load_checkpoint(path)

    def load(self, device: str | torch.device = "cpu", task: IterativeTask | TaskMix | None = None,
             max_len: int | None = None) -> Run:
        """The run as a :class:`Run`, its test data generated afresh (on ``task`` up to ``max_len`` if given)."""
        return load_run_state(self.state(), device, task, max_len)

    def check_can_hold(self, cfg: TrainConfig) -> None:
        """Refuse a path that is a file, a folder of other things, or a run of another config (``epochs`` may
        grow: the run is then continued)."""
        path = Path(self.path)
        if path.exists() and not path.is_dir():
            raise RunDirError(f"{path} is a file, not a run directory")
        if not path.exists() or not any(p.name != LOCK for p in path.iterdir()):
            return
        recorded = self.config()
        if recorded is None:
            raise RunDirError(f"{path} exists and is not an ihlib run; choose a new or empty directory")
        if TrainConfig.from_dict({**recorded.to_dict(), "epochs": cfg.epochs}) != cfg:
            raise RunDirError(f"{path} holds a run with a different config; choose another directory")
        if cfg.epochs < recorded.epochs:
            raise RunDirError(f"{path} holds this run trained for {recorded.epochs} epochs; ask for at least "
                              f"that many, or choose another directory")

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold this directory for writing; another process that tries gets a one-line error, never a mixed run."""
        path = Path(self.path)
        try:
            path.mkdir(parents=True, exist_ok=True)
            handle = open(path / LOCK, "a")
        except OSError as err:
            raise RunDirError(f"cannot write to {path}: {err.strerror or err}") from None
        try:
            try:
                import fcntl
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except ImportError:  # no advisory locks on this platform: nothing to guard with
                pass
            except BlockingIOError:
                raise RunDirError(f"another process is training into {path}; wait for it or choose another "
                                  f"directory") from None
            yield
        finally:
            handle.close()

    def write(self, state: dict, finished: bool) -> None:
        """Write the run, each file atomically.  An unfinished run's record goes first and a finished one's last,
        so a process killed between two files never leaves a record that calls other weights finished."""
        path = Path(self.path)
        try:
            if not finished:
                _write_text(path / RECORD, record_text(state, finished))
            save_checkpoint(state, path / CHECKPOINT)
            _write_text(path / HISTORY, history_csv(state["history"]))
            if finished:
                _write_text(path / RECORD, record_text(state, finished))
        except OSError as err:
            raise RunDirError(f"cannot write to {path}: {err.strerror or err}") from None

    def export(self, dest: Path, weights: bool = True, half: bool = False,
               snapshots: tuple[int, ...] | None = None) -> None:
        """Copy this finished run as shippable results: record and history, and unless ``weights`` is False the
        weights and the snapshots of ``snapshots`` (default all; never the optimizer state), in float16 if ``half``.

        Half-precision weights no longer give the history's last row exactly, so their own evaluation is recorded
        in the checkpoint (``shipped_evaluation``) for the tests to check against."""
        record = self.record()
        if record is None or not record.get("finished"):
            raise RunDirError(f"{self.path} holds no finished run to export")
        dest.mkdir(parents=True, exist_ok=True)
        if weights:
            state = {k: v for k, v in self.state().items() if k not in ("optimizer", "rng", "format", "finished")}
            kept = {k: v for k, v in state["snapshots"].items() if snapshots is None or int(k) in snapshots}
            if half:
                state["model"] = {k: v.half() for k, v in state["model"].items()}
                kept = {e: {k: v.half() for k, v in w.items()} for e, w in kept.items()}
            state["snapshots"] = kept
            if half:
                run = load_run_state(state)
                state["shipped_evaluation"] = evaluate(run.model, run.test_data).summary()
            save_checkpoint(state, dest / CHECKPOINT)
        else:
            (dest / CHECKPOINT).unlink(missing_ok=True)  # weights of an earlier export would no longer match
        _write_text(dest / HISTORY, self._file(HISTORY).read_text())
        _write_text(dest / RECORD, json.dumps(record, indent=2))


def record_text(state: dict, finished: bool) -> str:
    """``config.json`` of a run from its checkpoint state: the config, the ihlib version and git revision that made
    it, and whether it has finished."""
    return json.dumps({**state["config"], "ihlib_version": state["version"],
                       "code_revision": state.get("code_revision"), "finished": finished}, indent=2)


def run_state(cfg: TrainConfig, model: Transformer, vocab: Vocabulary, history: list[dict], revision: str | None,
              snapshots: dict[int, dict] | None = None, epoch: int | None = None, step: int | None = None,
              seconds: float = 0.0, optimizer: dict | None = None, rng: dict | None = None) -> dict:
    """A checkpoint's contents: weights, history and snapshots, and what resuming needs when given (optimizer and
    RNG state)."""
    state = {"version": __version__, "code_revision": revision, "config": cfg.to_dict(),
             "model_config": model.cfg.to_dict(), "vocab": vocab.to_dict(),
             "model": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "history": history,
             "epoch": history[-1]["epoch"] if epoch is None else epoch,
             "step": history[-1]["step"] if step is None else step, "seconds": seconds,
             "snapshots": {str(k): v for k, v in (snapshots or {}).items()}}
    if optimizer is not None:
        state.update(optimizer=optimizer, rng=rng)
    return state


def load_run(path: str | Path, device: str | torch.device = "cpu", task: IterativeTask | TaskMix | None = None,
             max_len: int | None = None) -> Run:
    """Rebuild a Run from a checkpoint file (or a run directory), with test data generated afresh."""
    path = Path(path)
    return load_run_state(load_checkpoint(path / CHECKPOINT if path.is_dir() else path), device, task, max_len)


def load_run_state(state: dict, device: str | torch.device = "cpu", task: IterativeTask | TaskMix | None = None,
                   max_len: int | None = None) -> Run:
    """A Run from a loaded checkpoint's state (see :func:`load_run`); float16 weights are read as float32."""
    if not isinstance(state.get("model"), dict) or "model_config" not in state or "config" not in state:
        raise RunDirError("the checkpoint holds no model weights and configs (not a run's checkpoint)")
    cfg = TrainConfig.from_dict(state["config"])
    device = resolve_device(device)
    mcfg = ModelConfig.from_dict(state["model_config"])
    model = Transformer(mcfg).to(device)
    model.load_state_dict(state["model"])  # float16 weights are copied into float32 parameters
    vocab = Vocabulary(tuple(state["vocab"]["task_names"]), state["vocab"]["n_values"])
    task = task if task is not None else config_task(cfg)
    max_len = max_len or cfg.max_len
    if sequence_length(max_len, cfg.cot) - 1 > mcfg.n_positions:
        raise ValueError(f"max_len {max_len} needs {sequence_length(max_len, cfg.cot) - 1} positions; "
                         f"the model has {mcfg.n_positions}")
    train_data = make_dataset(task, cfg.max_len, cfg.n_per_length, cfg.seed, "train", cfg.cot, vocab).to(device)
    test_data = make_dataset(task, max_len, cfg.n_per_length, cfg.seed, "test", cfg.cot, vocab).to(device)
    snapshots = {int(k): {n: w.float() for n, w in v.items()} for k, v in state.get("snapshots", {}).items()}
    return Run(cfg, model.eval(), vocab, train_data, test_data, list(state["history"]), snapshots)
