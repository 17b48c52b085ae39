"""Accuracy and iteration-head metrics, measured as the paper's code does (notes §4).

For input length L the EoI token sits at e = L + 1 (0-indexed in the model's input ``seq[:-1]``).
Layer 1 of an iteration head attends from every CoT position e+1..2e-1 to EoI; layer 2 attends from e+k to
x_{k+1} at position 1+k.  *Peakiness* is the fraction of those weights above 0.5.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from .model import attention_patterns
from .tasks import SequenceSet, sequence_length


@dataclass(frozen=True)
class AttentionStats:
    """Peakiness (fraction of weights > 0.5), mean weight and invariance (1 - mean std across sequences)."""

    peakiness: float
    mean: float
    invariance: float


def pattern_indices(length: int, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """(query, key) positions of the iteration-head pattern of ``layer`` (1: CoT -> EoI, 2: EoI+k -> x_{k+1})."""
    e = length + 1
    if layer == 1:
        queries = np.arange(e + 1, 2 * e)
        return queries, np.full_like(queries, e)
    if layer == 2:
        k = np.arange(length)
        return e + k, 1 + k
    raise ValueError(f"the iteration-head pattern is defined for layers 1 and 2, not {layer}")


def ideal_attention(length: int, layer: int) -> np.ndarray:
    """The (2L+2) x (2L+2) attention map of a perfect iteration head, one row per query position.

    Rows outside the pattern attend to themselves, as a placeholder that any causal map satisfies.
    """
    t = 2 * length + 2
    attn = np.eye(t)
    for q, k in zip(*pattern_indices(length, layer)):
        attn[q] = 0.0
        attn[q, k] = 1.0
    return attn


def attention_stats(attn: torch.Tensor, length: int, layer: int) -> AttentionStats:
    """Statistics of one head's maps ``attn`` (B, T, T) on the pattern of ``layer`` for inputs of length L."""
    queries, keys = pattern_indices(length, layer)
    w = attn[:, torch.as_tensor(queries), torch.as_tensor(keys)].double()
    invariance = 1.0 - (w.std(dim=0, unbiased=False).mean().item() if w.shape[0] > 1 else 0.0)
    return AttentionStats(float((w > 0.5).double().mean()), float(w.mean()), float(invariance))


def reported_lengths(max_len: int) -> list[int]:
    """Lengths averaged in reported figures: 4..L_max (short lengths overlap train and test), all if L_max < 4."""
    return list(range(4, max_len + 1)) if max_len >= 4 else list(range(1, max_len + 1))


def first_epoch(history: list[dict], key: str = "test_accuracy", level: float = 0.9) -> int | None:
    """First evaluated epoch at which ``key`` reaches ``level``; None if it never does."""
    return next((r["epoch"] for r in history if r[key] >= level), None)


def head_epoch(history: list[dict], accuracy: float = 0.95, peakiness: float = 0.9) -> int | None:
    """First evaluated epoch with an iteration head: test accuracy >= ``accuracy`` and layer-2 peakiness >=
    ``peakiness`` (benchmarks/time_to_head.py's criterion); None if the run never has one."""
    return next((r["epoch"] for r in history if r["test_accuracy"] >= accuracy and r["peakiness_layer2"] >= peakiness),
                None)


def target_mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """Which predictions count: those made at EoI (position L+1) and after, i.e. every target after EoI."""
    return torch.arange(width, device=lengths.device)[None, :] >= (lengths[:, None] + 1)


@dataclass
class Evaluation:
    """Per-length accuracy, scored two ways, and attention statistics from one forward pass over a dataset.

    ``accuracy`` is the authors' score: every target after EoI is right, up to the dataset's padded width
    (2 L_max + 3 with CoT, L_max + 4 without: the CoT tokens and the whole EoS tail).  ``accuracy_to_eos`` stops at
    the first EoS (the CoT tokens and the closing EoS).  The first is never above the second.
    """

    accuracy: dict[int, float]
    accuracy_to_eos: dict[int, float]
    attention: dict[int, dict[int, AttentionStats]]  # layer (1 or 2) -> length -> stats

    def summary(self) -> dict[str, float]:
        """Averages over the reported lengths (4..L_max): both accuracies, and peakiness/mean/invariance per layer."""
        lengths = reported_lengths(max(self.accuracy))
        out = {"accuracy": float(np.mean([self.accuracy[n] for n in lengths])),
               "accuracy_to_eos": float(np.mean([self.accuracy_to_eos[n] for n in lengths]))}
        for layer in (1, 2):
            for stat in ("peakiness", "mean", "invariance"):
                values = [getattr(self.attention[layer][n], stat) for n in lengths] if layer in self.attention else []
                out[f"{stat}_layer{layer}"] = float(np.mean(values)) if values else float("nan")
        return out


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """``model`` in eval mode (no dropout) for the block, then back in the mode it was in, even on an error."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: SequenceSet, attention: bool = True) -> Evaluation:
    """Teacher-forced whole-sequence exact match after EoI, per length, and (if asked) the attention statistics.

    Every sequence is read at the dataset's padded width, as the authors score it; the causal mask makes the
    predictions up to the first EoS, and the attention maps there, the same as on the sequence cut to 2L+3 tokens,
    so ``accuracy_to_eos`` and the attention statistics come from the same pass.  With several
    heads in a layer, the head that best matches the pattern (highest peakiness) is reported.  Without CoT there is
    no CoT token to attend from: no attention statistics (NaN in the summary).
    """
    attention = attention and data.cot
    accuracy: dict[int, float] = {}
    to_eos: dict[int, float] = {}
    stats: dict[int, dict[int, AttentionStats]] = {}
    n_layers = min(2, len(model.blocks))
    with eval_mode(model):
        for length in range(1, data.max_len + 1):
            seq = data.tokens[data.lengths == length]
            if len(seq) == 0:
                continue
            logits, maps = attention_patterns(model, seq[:, :-1]) if attention else (model(seq[:, :-1]), [])
            lengths = torch.full((len(seq),), length, device=seq.device)
            mask = target_mask(lengths, seq.shape[1] - 1)
            correct = (logits.argmax(-1) == seq[:, 1:]) | ~mask
            accuracy[length] = float(correct.all(dim=1).double().mean())
            to_eos[length] = float(correct[:, : sequence_length(length, data.cot) - 1].all(dim=1).double().mean())
            for layer in range(1, n_layers + 1) if attention else ():
                heads = [attention_stats(maps[layer - 1][:, h].float(), length, layer)
                         for h in range(maps[layer - 1].shape[1])]
                stats.setdefault(layer, {})[length] = max(heads, key=lambda s: s.peakiness)
    return Evaluation(accuracy, to_eos, stats)


@torch.no_grad()
def attention_shares(model: torch.nn.Module, data: SequenceSet, length: int, layer: int = 2) -> dict[str, float]:
    """Where a layer's attention from the CoT queries of its pattern goes, on the sequences of one length: the share
    on the pattern's key (layer 2: x_t), on the other inputs x_1..x_L, and elsewhere (task token, EoI, earlier CoT
    tokens).  A distributed solution puts its mass on the inputs without singling out x_t.  Head 0."""
    seqs = data.tokens[data.lengths == length]
    with eval_mode(model):
        _, maps = attention_patterns(model, seqs[:, :-1])
    attn = maps[layer - 1][:, 0].double()
    queries, keys = (torch.as_tensor(i, device=attn.device) for i in pattern_indices(length, layer))
    on_key = attn[:, queries, keys].mean().item()
    on_inputs = attn[:, queries, 1:length + 1].sum(-1).mean().item() - (on_key if layer == 2 else 0.0)
    return {"on the pattern's key": on_key, "on other inputs": on_inputs, "elsewhere": 1.0 - on_key - on_inputs}
