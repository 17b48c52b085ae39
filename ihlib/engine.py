"""The training engine that the single-run trainer (``train``) and the batched one (``batched``) share: the batch
plan and learning rate of each step, the precision, the evaluation schedule and its history row, the NaN guard, the
stop rule and the weight snapshots.  One history schema: both trainers write the same columns.

Stop rules look at the history only (never at state of their own), so a resumed run stops where an uninterrupted
one would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from .config import TrainConfig
from .metrics import evaluate, target_mask
from .model import Transformer
from .tasks import IterativeTask, SequenceSet, TaskMix, Vocabulary, sequence_length

#: A stop rule: given the history so far (its last row just recorded), whether the run has converged.
StopRule = Callable[[list[dict]], bool]


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass(frozen=True)
class Converged:
    """Stop rule: test accuracy >= ``level`` at each of the last ``patience`` evaluations (epoch 0 excluded)."""

    level: float = 0.99
    patience: int = 3

    def __call__(self, history: list[dict]) -> bool:
        last = [row for row in history if row["epoch"] > 0][-self.patience:]
        return len(last) == self.patience and all(row["test_accuracy"] >= self.level for row in last)


def autocast(cfg: TrainConfig, device: torch.device) -> torch.autocast:
    """The autocast context of a training step: bfloat16 matmuls if ``cfg.precision`` is bf16, else a no-op."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16")


def make_optimizer(cfg: TrainConfig, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    """Adam with the config's learning rate (AdamW's decoupled decay if ``weight_decay`` > 0)."""
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def batch_plan(cfg: TrainConfig, lengths: torch.Tensor, epoch: int) -> list[tuple[torch.Tensor, int]]:
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


def lr_at(cfg: TrainConfig, step: int) -> float:
    """Linear warm-up over ``warmup_steps`` then constant, as Adam's learning rate."""
    return cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps else cfg.lr


def train_epoch(model: Transformer, optimizer: torch.optim.Optimizer, cfg: TrainConfig, train_data: SequenceSet,
                epoch: int, step: int) -> tuple[float, int]:
    """One epoch of optimiser steps (epoch ``epoch``, counted from 0; ``step`` steps done before it): the mean
    training loss over its batches and the step count after it."""
    device = train_data.tokens.device
    total = torch.zeros((), device=device)
    batches = batch_plan(cfg, train_data.lengths.cpu(), epoch)
    for idx, width in batches:
        idx = idx.to(device)
        tokens, lengths = train_data.tokens[idx, :width], train_data.lengths[idx]
        with autocast(cfg, device):
            logits = model(tokens[:, :-1])
        targets = tokens[:, 1:].masked_fill(~target_mask(lengths, width - 1), -100)
        loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=-100)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(cfg, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach()
        step += 1
    return float(total) / len(batches), step


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


def evaluates_at(cfg: TrainConfig, epoch: int) -> bool:
    """Whether a run evaluates (and checkpoints) after ``epoch`` epochs: every ``eval_every``, at the end, and at
    every snapshot epoch."""
    return epoch % cfg.eval_every == 0 or epoch == cfg.epochs or epoch in cfg.snapshot_epochs


def check_loss(loss: float, epoch: int, history: list[dict], name: str = "training") -> None:
    """The NaN guard: raise :class:`TrainingDiverged` if an epoch's mean loss is not finite."""
    if not math.isfinite(loss):
        kept = f"; the last checkpoint (epoch {history[-1]['epoch']}) is kept" if history else ""
        raise TrainingDiverged(f"{name} loss became {loss} at epoch {epoch}{kept}")


@dataclass
class Ledger:
    """One run's evaluations as it trains: history rows (one schema for every trainer), weight snapshots, and
    whether its stop rule has fired."""

    cfg: TrainConfig
    until: StopRule | None = None
    history: list[dict] = field(default_factory=list)
    snapshots: dict[int, dict] = field(default_factory=dict)

    def record(self, epoch: int, step: int, seconds: float, loss: float | None, model: Transformer,
               train_data: SequenceSet, test_data: SequenceSet, task_tokens: dict[str, int] | None) -> dict:
        """Evaluate ``model`` after ``epoch`` epochs and append the row (and a snapshot at a snapshot epoch)."""
        row = {"epoch": epoch, "step": step, "seconds": round(seconds, 3), "loss": loss, "lr": lr_at(self.cfg, step),
               **evaluation_row(model, train_data, test_data, task_tokens)}
        self.history.append(row)
        if epoch in self.cfg.snapshot_epochs:
            self.snapshots[epoch] = {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}
        return row

    @property
    def stopped(self) -> bool:
        """Whether the run stops here: its stop rule fired (never at epoch 0) or all its epochs are done."""
        last = self.history[-1]["epoch"] if self.history else 0
        return last >= self.cfg.epochs or (last > 0 and self.until is not None and self.until(self.history))
