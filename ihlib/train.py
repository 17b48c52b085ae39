"""Training runs: a frozen config whose defaults are the paper's recipe, the loop, evaluation, checkpoints, resume.

A run directory holds ``config.json``, ``checkpoint.pt`` (config, weights, optimizer, history, RNG state, ihlib
version) and ``history.csv``; all three are rewritten atomically at every evaluation, so a killed run resumes from
its last evaluation and reproduces the history of an uninterrupted one.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import __version__
from .checkpoint import atomic_write, load_checkpoint, save_checkpoint
from .metrics import evaluate, target_mask
from .model import ModelConfig, Transformer, legacy
from .settings import code_revision, progress_enabled, resolve_device, set_seed
from .tasks import IterativeTask, SequenceSet, TaskMix, Vocabulary, make_dataset, parse_task, sequence_length


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass(frozen=True)
class TrainConfig:
    """One training run.  Defaults are the paper's recipe (notes §2): polynomial, CoT, L_max 16, d 128, Adam 3e-4,
    batch 256, 1000 epochs, evaluation every 10, per-length batches in length order, padding to 2 L_max + 3.

    ``task`` is a built-in name or a mix such as ``"copy:0.5+parity:0.5"``; a custom task is named here and defined
    in ``task_definition`` (``IterativeTask.to_dict()``), so the config alone rebuilds it.  ``order="shuffled"`` draws a new
    permutation of all sequences each epoch; ``padding=False`` cuts each batch to its longest sequence.
    ``weight_decay`` > 0 adds AdamW's decoupled decay (0, the paper's plain Adam, by default).
    ``init_from`` fine-tunes a checkpoint's weights (all of them, or only the layer-2 MLP with ``only_mlp2``); with
    ``init_epoch``, the weights of its snapshot at that epoch (the paper fine-tunes polynomial models at epoch 200).
    ``normalize_residual`` picks the authors' block (True) or the textbook pre-LN block (``ModelConfig``).
    ``precision="bf16"`` runs the training steps under bfloat16 autocast (evaluation stays in float32).
    """

    task: str = "polynomial"
    task_definition: dict | None = field(default=None, hash=False)
    cot: bool = True
    max_len: int = 16
    n_per_length: int = 1024
    dim: int = 128
    n_layers: int = 2
    n_heads: int = 1
    dropout: float = 0.1
    pos_emb: str = "learned"
    pos_dim: int | None = None
    init_std: float | None = None
    normalize_residual: bool = True
    frozen_pos_std: float | None = None
    epochs: int = 1000
    lr: float = 3e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    batch_size: int = 256
    eval_every: int = 10
    order: str = "length"
    padding: bool = True
    seed: int = 0
    init_from: str | None = None
    init_epoch: int | None = None
    only_mlp2: bool = False
    snapshot_epochs: tuple[int, ...] = ()
    precision: str = "fp32"

    def __post_init__(self) -> None:
        for name in ("max_len", "n_per_length", "dim", "n_layers", "n_heads", "epochs", "batch_size", "eval_every"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not self.lr > 0 or self.warmup_steps < 0 or self.weight_decay < 0:
            raise ValueError(f"lr must be positive, warmup_steps and weight_decay non-negative, got {self.lr}, "
                             f"{self.warmup_steps}, {self.weight_decay}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.order not in ("length", "shuffled"):
            raise ValueError(f"order must be 'length' or 'shuffled', got {self.order!r}")
        if self.task_definition is not None and self.task_definition.get("name") != self.task:
            raise ValueError(f"task_definition defines {self.task_definition.get('name')!r}, not task {self.task!r}")
        if (self.only_mlp2 or self.init_epoch is not None) and self.init_from is None:
            raise ValueError("only_mlp2 and init_epoch fine-tune a loaded model: give init_from too")
        object.__setattr__(self, "snapshot_epochs", tuple(self.snapshot_epochs))

    @property
    def seq_len(self) -> int:
        """Padded sequence length, 2 L_max + 3 with CoT (L_max + 4 without)."""
        return sequence_length(self.max_len, self.cot)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["snapshot_epochs"] = list(self.snapshot_epochs)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """A recorded config; records written before ``normalize_residual`` existed are ``model.legacy`` ones."""
        known = {f.name for f in fields(cls)}
        d = d if "normalize_residual" in d else legacy(d)
        return cls(**{k: v for k, v in d.items() if k in known})

    def model_config(self, vocab_size: int) -> ModelConfig:
        """The architecture this config trains from scratch."""
        return ModelConfig(vocab_size, self.seq_len - 1, self.dim, self.n_layers, self.n_heads, dropout=self.dropout,
                           pos_emb=self.pos_emb, pos_dim=self.pos_dim, init_std=self.init_std,
                           normalize_residual=self.normalize_residual, frozen_pos_std=self.frozen_pos_std)


#: Training precisions: float32, or bfloat16 autocast of the training steps (``autocast``).
PRECISIONS = ("fp32", "bf16")


def autocast(cfg: TrainConfig, device: torch.device) -> torch.autocast:
    """The autocast context of a training step: bfloat16 matmuls if ``cfg.precision`` is bf16, else a no-op."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16")


def config_task(cfg: TrainConfig) -> IterativeTask | TaskMix:
    """The task a config trains on: its ``task_definition`` if it has one, else the built-in task or mix named."""
    return IterativeTask.from_dict(cfg.task_definition) if cfg.task_definition else parse_task(cfg.task)


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


def _batches(cfg: TrainConfig, lengths: torch.Tensor, epoch: int) -> list[tuple[torch.Tensor, int]]:
    """(indices, width) of each batch of one epoch; the shuffled order depends only on (seed, epoch)."""
    n = len(lengths)
    if cfg.order == "shuffled":
        gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        order = torch.randperm(n, generator=gen)
    else:
        order = torch.arange(n)
    out = []
    for start in range(0, n, cfg.batch_size):
        idx = order[start:start + cfg.batch_size]
        width = cfg.seq_len if cfg.padding else sequence_length(int(lengths[idx].max()), cfg.cot)
        out.append((idx, width))
    return out


def _lr_at(cfg: TrainConfig, step: int) -> float:
    """Linear warm-up over ``warmup_steps`` then constant, as Adam's learning rate."""
    return cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps else cfg.lr


def _rng_state() -> dict:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def _resolve(cfg: TrainConfig, vocab: Vocabulary) -> tuple[TrainConfig, dict | None]:
    """For fine-tuning, the architecture fields of ``cfg`` taken from ``cfg.init_from``, checked against the task."""
    if cfg.init_from is None:
        return cfg, None
    src = load_checkpoint(cfg.init_from)
    if cfg.init_epoch is not None:
        snapshots = src.get("snapshots", {})
        if str(cfg.init_epoch) not in snapshots:
            raise ValueError(f"{cfg.init_from} has no snapshot at epoch {cfg.init_epoch}; it has "
                             f"{sorted(map(int, snapshots)) or 'none'}")
        src = {**src, "model": snapshots[str(cfg.init_epoch)]}
    src = {**src, "model": {k: v.float() for k, v in src["model"].items()}}  # shipped weights may be float16
    mcfg = ModelConfig.from_dict(src["model_config"])
    if mcfg.n_positions < cfg.seq_len - 1:
        raise ValueError(f"max_len {cfg.max_len} needs {cfg.seq_len - 1} positions; the model in "
                         f"{cfg.init_from} has {mcfg.n_positions}")
    if cfg.only_mlp2 and mcfg.n_layers < 2:
        raise ValueError("only_mlp2 needs a model with at least two layers")
    cfg = replace(cfg, dim=mcfg.dim, n_layers=mcfg.n_layers, n_heads=mcfg.n_heads, pos_emb=mcfg.pos_emb,
                  pos_dim=mcfg.pos_dim, normalize_residual=mcfg.normalize_residual, frozen_pos_std=mcfg.frozen_pos_std)
    return cfg, src


def _build_model(cfg: TrainConfig, vocab: Vocabulary, src: dict | None, device: torch.device) -> Transformer:
    """A fresh model for ``cfg``, or the weights of the checkpoint ``src`` (frozen but for the layer-2 MLP if asked)."""
    if src is None:
        return Transformer(cfg.model_config(vocab.size)).to(device)
    model = Transformer(replace(ModelConfig.from_dict(src["model_config"]), vocab_size=vocab.size,
                                dropout=cfg.dropout)).to(device)
    weights = dict(src["model"])
    src_vocab = Vocabulary(tuple(src["vocab"]["task_names"]), src["vocab"]["n_values"])
    if src_vocab != vocab:  # a new task token: known tokens keep their rows, new ones keep their fresh init
        new, old = zip(*vocab.token_map(src_vocab).items())
        for key in ("tok_emb.weight", "unembed.weight"):
            rows = model.state_dict()[key].clone()
            rows[list(new)] = weights[key][list(old)].to(rows.device)
            weights[key] = rows
    model.load_state_dict(weights)
    if cfg.only_mlp2:
        for name, p in model.named_parameters():
            p.requires_grad_(name.startswith("blocks.1.mlp."))
    return model


def mix_tokens(task: IterativeTask | TaskMix, vocab: Vocabulary) -> dict[str, int] | None:
    """For a mix, each task's name -> its task token (to report each task's accuracy); None for a single task."""
    return {t.name: vocab.task_token(t.name) for t in task.tasks} if isinstance(task, TaskMix) else None


def evaluation_row(model: Transformer, train_data: SequenceSet, test_data: SequenceSet,
                   task_tokens: dict[str, int] | None = None) -> dict:
    """One history row's metrics: training and test accuracy (the authors' score, and to the first EoS: see
    ``metrics.Evaluation``), attention statistics, per-length accuracy,
    and for a mix of tasks (``task_tokens``: name -> task token) the test accuracy of each task on its own."""
    test = evaluate(model, test_data)
    train_summary = evaluate(model, train_data, attention=False).summary()
    row = {"train_accuracy": train_summary["accuracy"], "train_accuracy_to_eos": train_summary["accuracy_to_eos"]}
    summary = test.summary()
    row["test_accuracy"] = summary.pop("accuracy")
    row["test_accuracy_to_eos"] = summary.pop("accuracy_to_eos")
    row.update(summary)
    row.update({f"test_accuracy_L{n}": a for n, a in test.accuracy.items()})
    for name, token in (task_tokens or {}).items():
        subset = test_data.select(test_data.tokens[:, 0] == token)
        row[f"test_accuracy_{name}"] = evaluate(model, subset, attention=False).summary()["accuracy"]
    return row


def _history_csv(history: list[dict]) -> str:
    buf = io.StringIO()
    if history:
        writer = csv.DictWriter(buf, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    return buf.getvalue()


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def run_record(state: dict) -> str:
    """``config.json`` of a run from its checkpoint state: the config, the ihlib version and git revision that made
    it, and whether it has finished."""
    return json.dumps({**state["config"], "ihlib_version": state["version"],
                       "code_revision": state.get("code_revision"), "finished": state.get("finished", True)}, indent=2)


def resumed_revision(recorded: str | None, current: str | None) -> str | None:
    """The code revision of a resumed run: every revision that trained it, joined by ``+`` (a dirty one stays)."""
    if recorded is None or current is None:
        return None
    return recorded if recorded.split("+")[-1] == current else f"{recorded}+{current}"


def write_run(out: Path, cfg: TrainConfig, model: Transformer, vocab: Vocabulary, history: list[dict], finished: bool,
              revision: str | None, optimizer: dict | None = None, rng: dict | None = None,
              snapshots: dict[int, dict] | None = None, epoch: int | None = None, step: int | None = None,
              seconds: float = 0.0) -> None:
    """Write a run directory atomically: ``checkpoint.pt`` (weights, history, and what resuming needs when given:
    optimizer and RNG state), ``config.json`` and ``history.csv``."""
    state = {"version": __version__, "code_revision": revision, "config": cfg.to_dict(),
             "model_config": model.cfg.to_dict(), "vocab": vocab.to_dict(), "model": model.state_dict(),
             "history": history, "epoch": history[-1]["epoch"] if epoch is None else epoch,
             "step": history[-1]["step"] if step is None else step, "seconds": seconds, "finished": finished,
             "snapshots": {str(k): v for k, v in (snapshots or {}).items()}}
    if optimizer is not None:
        state.update(optimizer=optimizer, rng=rng)
    save_checkpoint(state, out / "checkpoint.pt")
    _write_text(out / "config.json", run_record(state))
    _write_text(out / "history.csv", _history_csv(history))


def load_run(path: str | Path, device: str | torch.device = "cpu", task: IterativeTask | TaskMix | None = None,
             max_len: int | None = None) -> Run:
    """Rebuild a Run from a checkpoint file (or a run directory), with test data generated afresh."""
    path = Path(path)
    return load_run_state(load_checkpoint(path / "checkpoint.pt" if path.is_dir() else path), device, task, max_len)


def load_run_state(state: dict, device: str | torch.device = "cpu", task: IterativeTask | TaskMix | None = None,
                   max_len: int | None = None) -> Run:
    """A Run from a loaded checkpoint's state (see :func:`load_run`); float16 weights are read as float32."""
    cfg = TrainConfig.from_dict(state["config"])
    device = resolve_device(device)
    mcfg = ModelConfig.from_dict(state["model_config"])
    model = Transformer(mcfg).to(device)
    model.load_state_dict(state["model"])
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


def make_optimizer(cfg: TrainConfig, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    """Adam with the config's learning rate (AdamW's decoupled decay if ``weight_decay`` > 0)."""
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def train_epoch(model: Transformer, optimizer: torch.optim.Optimizer, cfg: TrainConfig, train_data: SequenceSet,
                epoch: int, step: int) -> tuple[float, int]:
    """One epoch of optimiser steps (epoch ``epoch``, counted from 0; ``step`` steps done before it): the mean
    training loss over its batches and the step count after it."""
    device = train_data.tokens.device
    total = torch.zeros((), device=device)
    batches = _batches(cfg, train_data.lengths.cpu(), epoch)
    for idx, width in batches:
        idx = idx.to(device)
        tokens, lengths = train_data.tokens[idx, :width], train_data.lengths[idx]
        with autocast(cfg, device):
            logits, _ = model(tokens[:, :-1])
        targets = tokens[:, 1:].masked_fill(~target_mask(lengths, width - 1), -100)
        loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=-100)
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(cfg, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach()
        step += 1
    return float(total) / len(batches), step


def train(cfg: TrainConfig, out: str | Path | None = None, device: str | torch.device = "auto",
          progress: bool | None = None, task: IterativeTask | TaskMix | None = None,
          until: Callable[[dict], bool] | None = None) -> Run:
    """Train (or resume, if ``out`` holds a checkpoint of the same config, possibly with more epochs) and return the Run.

    ``task`` overrides ``cfg.task`` with a custom task object of the same name.  ``until(row)`` stops training
    early at the first evaluation whose history row satisfies it (the last row's epoch is then below
    ``cfg.epochs``).  Raises ``TrainingDiverged`` if the loss turns NaN; the last checkpoint on disk is then kept.
    """
    device = resolve_device(device, verbose=progress_enabled(progress))
    task = task if task is not None else config_task(cfg)
    if task.name != cfg.task:
        raise ValueError(f"task object {task.name!r} does not match cfg.task {cfg.task!r}")
    vocab = Vocabulary.for_tasks(task.tasks if isinstance(task, TaskMix) else (task,))
    out = Path(out) if out is not None else None
    cfg, src = _resolve(cfg, vocab)
    resume = load_checkpoint(out / "checkpoint.pt") if out is not None and (out / "checkpoint.pt").exists() else None
    if resume is not None and replace(TrainConfig.from_dict(resume["config"]), epochs=cfg.epochs) != cfg:
        raise ValueError(f"{out} holds a run with a different config; choose another output directory")
    if resume is not None and "optimizer" not in resume:
        raise ValueError(f"{out} holds weights without optimizer state (a batched run): it cannot be resumed")

    set_seed(cfg.seed)
    model = _build_model(cfg, vocab, src, device)
    train_data = make_dataset(task, cfg.max_len, cfg.n_per_length, cfg.seed, "train", cfg.cot, vocab).to(device)
    test_data = make_dataset(task, cfg.max_len, cfg.n_per_length, cfg.seed, "test", cfg.cot, vocab).to(device)
    task_tokens = mix_tokens(task, vocab)
    optimizer = make_optimizer(cfg, [p for p in model.parameters() if p.requires_grad])
    history: list[dict] = []
    snapshots: dict[int, dict] = {}
    epoch, step, seconds, finished = 0, 0, 0.0, False
    revision = code_revision()
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        history, epoch, step, seconds = list(resume["history"]), resume["epoch"], resume["step"], resume["seconds"]
        snapshots = {int(k): v for k, v in resume.get("snapshots", {}).items()}
        _set_rng_state(resume["rng"])
        revision = resumed_revision(resume.get("code_revision"), revision)

    def checkpoint() -> None:
        if out is not None:
            write_run(out, cfg, model, vocab, history, finished, revision, optimizer=optimizer.state_dict(),
                      rng=_rng_state(), snapshots=snapshots, epoch=epoch, step=step, seconds=seconds)

    def record(loss: float | None) -> None:
        history.append({"epoch": epoch, "step": step, "seconds": round(seconds, 3), "loss": loss,
                        "lr": _lr_at(cfg, step), **evaluation_row(model, train_data, test_data, task_tokens)})
        if epoch in cfg.snapshot_epochs:
            snapshots[epoch] = {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}
        checkpoint()

    if epoch == 0 and not history:
        record(None)
    bar = tqdm(range(epoch, cfg.epochs), initial=epoch, total=cfg.epochs, disable=not progress_enabled(progress),
               desc=f"{cfg.task}{'' if cfg.cot else ' (no CoT)'} L<={cfg.max_len} d={cfg.dim}")
    model.train()
    for _ in bar:
        start = time.perf_counter()
        mean_loss, step = train_epoch(model, optimizer, cfg, train_data, epoch, step)
        if not math.isfinite(mean_loss):
            raise TrainingDiverged(f"training loss became {mean_loss} at epoch {epoch + 1}; the last checkpoint "
                                   f"(epoch {history[-1]['epoch']}) is kept")
        epoch += 1
        seconds += time.perf_counter() - start
        if epoch % cfg.eval_every == 0 or epoch == cfg.epochs or epoch in cfg.snapshot_epochs:
            record(mean_loss)
            bar.set_postfix(loss=f"{mean_loss:.3f}", test_acc=f"{history[-1]['test_accuracy']:.3f}")
            if until is not None and until(history[-1]):
                break
    bar.close()
    finished = True
    checkpoint()  # marks the run finished, also when ``until`` stopped it early
    return Run(cfg, model.eval(), vocab, train_data, test_data, history, snapshots)
