"""Causal tests of the iteration head through the model's hook points: forced attention patterns, linear probes of
the residual stream, and activation patching (the mechanism chapter; claims M1-M11 of ``book/expectations.md``).

Every test reads a trained model, on the CPU, on sequences of one input length L, teacher-forced.  The *answer rows* are the L
positions that predict y_1..y_L: EoI (position e = L + 1) and the CoT tokens y_1..y_{L-1} (e + 1 .. 2L); the row
e + t - 1 predicts y_t.  An intervention replaces a layer's attention pattern in those rows only, through
``blocks.<l>.attn.hook_pattern``; every other activation is the model's own.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .metrics import attention_stats, eval_mode, reported_lengths
from .model import HookPoint, Transformer, pattern_name
from .tasks import IterativeTask, SequenceSet, Vocabulary, encode

#: Sequences per length that every measure reads (the registered measures use at most 128).
N_PER_LENGTH = 128

#: The residual-stream sites the probes read: the embedding, after layer 1's attention, after layer 1's MLP.
PROBE_SITES = {"embedding": "blocks.0.hook_resid_pre", "after layer-1 attention": "blocks.0.hook_resid_mid",
               "after layer-1 MLP": "blocks.0.hook_resid_post"}


def answer_rows(length: int) -> torch.Tensor:
    """The positions e .. 2L that predict y_1 .. y_L (row e + t - 1 predicts y_t)."""
    return torch.arange(length + 1, 2 * length + 1)


@dataclass(frozen=True)
class Sequences:
    """Teacher-forced sequences of one input length: tokens (N, 2L+3), their inputs x and states y (N, L)."""

    tokens: torch.Tensor
    x: np.ndarray
    y: np.ndarray

    @property
    def length(self) -> int:
        return self.x.shape[1]

    @classmethod
    def of(cls, data: SequenceSet, length: int, vocab: Vocabulary, n: int = N_PER_LENGTH) -> "Sequences":
        tokens = data.of_length(length)[:n].cpu()
        values = tokens.numpy() - vocab.value_token(0)
        return cls(tokens, values[:, 1:length + 1], values[:, length + 2:2 * length + 2])

    @classmethod
    def encode(cls, task: IterativeTask, vocab: Vocabulary, x: np.ndarray) -> "Sequences":
        return cls(torch.from_numpy(encode(task, vocab, x)), x, task.run(x))


# ---- forced attention patterns --------------------------------------------------------------------------------

PatternFn = Callable[[torch.Tensor], torch.Tensor]


def one_hot_rows(keys: torch.Tensor, width: int) -> torch.Tensor:
    """Attention rows (n_rows, width) with all their weight on ``keys`` (n_rows,)."""
    return torch.nn.functional.one_hot(keys, width).double()


def force_pattern(layer: int, rows: torch.Tensor, new_rows: PatternFn) -> tuple[str, Callable]:
    """A hook that replaces layer ``layer``'s pattern in ``rows`` by ``new_rows(pattern)`` (rows x keys, or
    batch x rows x keys), in every head."""

    def hook(pattern: torch.Tensor, hook: HookPoint) -> torch.Tensor:
        new = new_rows(pattern).to(device=pattern.device, dtype=pattern.dtype)
        out = pattern.clone()
        index = rows.to(pattern.device)
        out[:, :, index] = new.unsqueeze(1) if new.dim() == 3 else new  # broadcast over heads (and the batch)
        return out

    return pattern_name(layer), hook


def layer2_patterns(length: int) -> dict[str, tuple[torch.Tensor, PatternFn]]:
    """Question 1's replacements of layer 2 at the answer rows: name -> (rows it changes, their new rows).  Shifted
    one-hots only where the shifted input exists (x_{t+1}: t < L; x_{t-1}: t > 1)."""
    rows, width = answer_rows(length), 2 * length + 2
    t = torch.arange(1, length + 1)  # the row for y_t reads x_t at position t
    uniform = torch.zeros(length, width, dtype=torch.double)
    uniform[:, 1:length + 1] = 1.0 / length
    return {"one-hot on x_t": (rows, lambda p: one_hot_rows(t, width)),
            "uniform over the inputs": (rows, lambda p: uniform),
            "one-hot on x_{t+1}": (rows[:-1], lambda p: one_hot_rows(t[:-1] + 1, width)),
            "one-hot on x_{t-1}": (rows[1:], lambda p: one_hot_rows(t[1:] - 1, width))}


#: Layer 2's shifted one-hots: by how many inputs each moves the row for y_t.
SHIFTS = {"one-hot on x_{t+1}": 1, "one-hot on x_{t-1}": -1}


def layer1_patterns(length: int) -> dict[str, PatternFn]:
    """Question 2's replacements of layer 1 at the answer rows: one-hot on EoI, the model's own mean pattern over the
    batch (head 0's: the paper's models have one head), uniform over the tokens each row may see."""
    rows, width = answer_rows(length), 2 * length + 2
    causal = torch.tril(torch.ones(width, width, dtype=torch.double))[rows]
    return {"one-hot on EoI": lambda p: one_hot_rows(torch.full((length,), length + 1), width),
            "its own mean pattern": lambda p: p[:, 0, rows].double().mean(0),
            "uniform": lambda p: causal / causal.sum(-1, keepdim=True)}


# ---- what the model predicts ----------------------------------------------------------------------------------

@torch.no_grad()
def predictions(model: Transformer, seqs: Sequences, fwd_hooks=()) -> tuple[np.ndarray, dict[str, torch.Tensor]]:
    """Argmax tokens (N, L) at the answer rows (:func:`value_of` turns them into values) and the layer-2 pattern,
    under ``fwd_hooks``."""
    with eval_mode(model):
        logits, cache = model.run_with_cache(seqs.tokens[:, :-1], names=[pattern_name(2)], fwd_hooks=fwd_hooks)
    return logits[:, answer_rows(seqs.length)].argmax(-1).numpy(), cache


def normalised_entropy(pattern: torch.Tensor, length: int) -> float:
    """Mean entropy of head 0's rows at the answer rows, each divided by the log of the number of keys it may see:
    0 for one-hot rows, 1 for uniform ones (as Wen et al. 2024 measure sparse attention)."""
    rows = answer_rows(length)
    p = pattern[:, 0, rows].double()
    h = -(p * p.clamp_min(1e-300).log()).sum(-1)
    return float((h / torch.log((rows + 1).double())).mean())


def value_of(tokens: np.ndarray, vocab: Vocabulary) -> np.ndarray:
    return tokens - vocab.value_token(0)


def step_with(task: IterativeTask, seqs: Sequences, t: int | np.ndarray, x_new: np.ndarray) -> np.ndarray:
    """F(s_{t-1}, x_new) for each sequence (t counted from 1, one per sequence or for all): the state at t of the
    inputs with x_t replaced by x_new."""
    rows, t = np.arange(len(seqs.x)), np.broadcast_to(t, (len(seqs.x),))
    x = seqs.x.copy()
    x[rows, t - 1] = x_new
    return task.run(x)[rows, t - 1]


@dataclass(frozen=True)
class Intervened:
    """Token accuracy of one model under each replacement, mean over the reported lengths; for layer 2's shifted
    one-hots the *follows* rate; the layer-2 peakiness and normalised entropy that remain under each."""

    accuracy: dict[str, float]
    follows: dict[str, float]
    peakiness_layer2: dict[str, float]
    entropy_layer2: dict[str, float]


def intervene(model: Transformer, task: IterativeTask, data: SequenceSet, vocab: Vocabulary,
              n: int = N_PER_LENGTH) -> Intervened:
    """Questions 1 and 2: the model as it is, then with layer 2 or layer 1 replaced at the answer rows."""
    acc: dict[str, list[float]] = {}
    follows: dict[str, list[float]] = {}
    peaky: dict[str, list[float]] = {}
    entropy: dict[str, list[float]] = {}
    for length in reported_lengths(data.max_len):
        seqs = Sequences.of(data, length, vocab, n)

        def score(name: str, hooks) -> np.ndarray:
            pred, cache = predictions(model, seqs, hooks)
            pred = value_of(pred, vocab)
            acc.setdefault(name, []).append(float((pred == seqs.y).mean()))
            peaky.setdefault(name, []).append(attention_stats(cache[pattern_name(2)][:, 0], length, 2).peakiness)
            entropy.setdefault(name, []).append(normalised_entropy(cache[pattern_name(2)], length))
            return pred

        score("none", ())
        for name, (rows, new) in layer2_patterns(length).items():
            pred = score(f"layer 2: {name}", [force_pattern(2, rows, new)])
            shift = SHIFTS.get(name)
            t = np.arange(max(1, 1 - shift), min(length, length - shift) + 1) if shift else np.arange(0)
            if len(t):  # the rows for y_t that now read x_{t+shift}: do they predict F(s_{t-1}, x_{t+shift})?
                wrong = np.stack([step_with(task, seqs, ti, seqs.x[:, ti + shift - 1]) for ti in t], axis=1)
                differs = wrong != seqs.y[:, t - 1]
                follows.setdefault(name, []).append(float((pred[:, t - 1] == wrong)[differs].mean())
                                                    if differs.any() else float("nan"))
        for name, new in layer1_patterns(length).items():
            score(f"layer 1: {name}", [force_pattern(1, answer_rows(length), new)])
    mean = lambda d: {k: float(np.nanmean(v)) for k, v in d.items()}
    return Intervened(mean(acc), mean(follows), mean(peaky), mean(entropy))


# ---- linear probes ---------------------------------------------------------------------------------------------

@torch.no_grad()
def stream_at_answers(model: Transformer, data: SequenceSet, vocab: Vocabulary, lengths: list[int],
                      n: int = N_PER_LENGTH) -> tuple[dict[str, torch.Tensor], dict[str, np.ndarray]]:
    """The residual stream at the answer rows at each probe site (rows = sequences x answer rows, d), with the
    labels t and L of each row."""
    feats: dict[str, list[torch.Tensor]] = {site: [] for site in PROBE_SITES}
    labels: dict[str, list[np.ndarray]] = {"t": [], "L": []}
    with eval_mode(model):
        for length in lengths:
            tokens = data.of_length(length)[:n].cpu()
            _, cache = model.run_with_cache(tokens[:, :-1], names=list(PROBE_SITES.values()))
            for site, name in PROBE_SITES.items():
                feats[site].append(cache[name][:, answer_rows(length)].flatten(0, 1).double())
            labels["t"].append(np.tile(np.arange(1, length + 1), len(tokens)))
            labels["L"].append(np.full(len(tokens) * length, length))
    return {k: torch.cat(v) for k, v in feats.items()}, {k: np.concatenate(v) for k, v in labels.items()}


def fit_probe(x: torch.Tensor, labels: np.ndarray, ridge: float = 1e-3) -> Callable[[torch.Tensor], np.ndarray]:
    """A linear least-squares classifier (one-hot targets, a bias, a small ridge), returning a predictor."""
    classes = np.unique(labels)
    y = torch.from_numpy((labels[:, None] == classes[None, :]).astype(np.float64))
    mean, std = x.mean(0), x.std(0) + 1e-8
    z = torch.cat([(x - mean) / std, torch.ones(len(x), 1, dtype=x.dtype)], 1)
    w = torch.linalg.solve(z.T @ z + ridge * len(z) * torch.eye(z.shape[1], dtype=z.dtype), z.T @ y)

    def predict(x_new: torch.Tensor) -> np.ndarray:
        z_new = torch.cat([(x_new - mean) / std, torch.ones(len(x_new), 1, dtype=x_new.dtype)], 1)
        return classes[(z_new @ w).argmax(1).numpy()]

    return predict


@dataclass(frozen=True)
class ProbeScore:
    accuracy: float
    shuffled: float


def probe(model: Transformer, train: SequenceSet, test: SequenceSet, vocab: Vocabulary, n: int = N_PER_LENGTH,
          seed: int = 0) -> dict[tuple[str, str], ProbeScore]:
    """Question 2's probes: (target, site) -> held-out accuracy of a probe fitted on the training split (lengths
    1..L_max) and scored on the test split (the reported lengths), and of the same probe fitted on shuffled labels."""
    x_tr, y_tr = stream_at_answers(model, train, vocab, list(range(1, train.max_len + 1)), n)
    x_te, y_te = stream_at_answers(model, test, vocab, reported_lengths(test.max_len), n)
    rng = np.random.default_rng(seed)
    out = {}
    for target in ("t", "L"):
        for site in PROBE_SITES:
            real = fit_probe(x_tr[site], y_tr[target])(x_te[site])
            shuffled = fit_probe(x_tr[site], rng.permutation(y_tr[target]))(x_te[site])
            out[target, site] = ProbeScore(float((real == y_te[target]).mean()),
                                           float((shuffled == y_te[target]).mean()))
    return out


# ---- activation patching ---------------------------------------------------------------------------------------

#: The activation question 3 patches: layer 2's attention output.
PATCHED = "blocks.1.hook_attn_out"


@torch.no_grad()
def patch(model: Transformer, task: IterativeTask, data: SequenceSet, vocab: Vocabulary, n: int = N_PER_LENGTH,
          seed: int = 0) -> dict[str, float]:
    """Question 3: copy layer 2's attention output at the row for y_t from a donor sequence into a receiver.

    ``follows the donor``: donors differ only in x_t; the fraction of patched predictions equal to F(s_{t-1}, x'_t),
    over pairs where that differs from the receiver's y_t.  ``unchanged (control)``: donors differ only in an earlier
    input x_j (j < t, L >= 2); the fraction still predicting the receiver's y_t.  Mean over the reported lengths."""
    rng = np.random.default_rng(seed)
    inputs = np.asarray(task.inputs)
    scores: dict[str, list[float]] = {"follows the donor": [], "unchanged (control)": []}
    with eval_mode(model):
        for length in reported_lengths(data.max_len):
            receiver = Sequences.of(data, length, vocab, n)
            m, rows = len(receiver.x), np.arange(len(receiver.x))
            for kind in scores:
                if kind.startswith("unchanged") and length < 2:
                    continue  # no earlier input to change
                t = rng.integers(2 if kind.startswith("unchanged") else 1, length + 1, m)
                j = t if kind.startswith("follows") else rng.integers(1, t)  # the input that differs
                x = receiver.x.copy()
                old = x[rows, j - 1]
                x[rows, j - 1] = np.array([rng.choice(inputs[inputs != v]) for v in old])
                donor = Sequences.encode(task, vocab, x)
                _, cache = model.run_with_cache(donor.tokens[:, :-1], names=[PATCHED])
                q = torch.from_numpy(length + t)  # the row that predicts y_t: e + t - 1 = L + t
                given = cache[PATCHED][torch.from_numpy(rows), q]

                def put(act: torch.Tensor, hook: HookPoint) -> torch.Tensor:
                    act = act.clone()
                    act[torch.from_numpy(rows), q] = given
                    return act

                logits = model.run_with_hooks(receiver.tokens[:, :-1], fwd_hooks=[(PATCHED, put)])
                pred = value_of(logits[torch.from_numpy(rows), q].argmax(-1).numpy(), vocab)
                if kind.startswith("follows"):
                    target = donor.y[rows, t - 1]
                    differs = target != receiver.y[rows, t - 1]
                    scores[kind].append(float((pred == target)[differs].mean()) if differs.any() else float("nan"))
                else:
                    scores[kind].append(float((pred == receiver.y[rows, t - 1]).mean()))
    return {k: float(np.nanmean(v)) for k, v in scores.items()}


# ---- one model, every test ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Measured:
    """Every causal test on one trained model (``label``: scale, task and seed), and whether it has a head (accuracy
    >= 0.95 and layer-2 peakiness >= 0.9 at its last evaluation), which decides whether the claims count it."""

    label: str
    task: str
    chance: float
    head: bool
    intervened: Intervened
    probes: dict[tuple[str, str], ProbeScore]
    patched: dict[str, float]


def measure(run, label: str, n: int = N_PER_LENGTH, epoch: int | None = None) -> Measured:
    """Questions 1-3 on a run (``ihlib.rundir.Run``) at its last epoch (or at the snapshot of ``epoch``), on its own
    training and test splits, on the CPU (a copy of the model, if it is elsewhere); ``head`` is read off the history
    at that epoch."""
    from .config import config_task

    model = run.model if epoch is None else run.model_at(epoch)
    if next(model.parameters()).device.type != "cpu":
        model = copy.deepcopy(model).cpu()
    task, model = config_task(run.config), model.float().eval()
    train, test = run.train_data.to("cpu"), run.test_data.to("cpu")
    rows = [r for r in run.history if epoch is None or r["epoch"] == epoch]
    if not rows:
        raise ValueError(f"{label}: epoch {epoch} has no evaluation in the run's history")
    last = rows[-1]
    return Measured(label, task.name, 1 / len(task.states),
                    last["test_accuracy"] >= 0.95 and last["peakiness_layer2"] >= 0.9,
                    intervene(model, task, test, run.vocab, n), probe(model, train, test, run.vocab, n),
                    patch(model, task, test, run.vocab, n))


def over_training(run, label: str, n: int = N_PER_LENGTH) -> dict[int, Measured]:
    """Question 4: every test at each weight snapshot the run keeps (epoch -> measurements)."""
    return {epoch: measure(run, f"{label} @ {epoch}", n, epoch) for epoch in sorted(run.snapshots)}
