"""What a run costs, in one place: its arithmetic from its config, and the time that takes on a device.

The arithmetic counts the matrix products (2 FLOPs per multiply-add): per token and layer the attention
projections (4 d^2), the MLP (8 d^2) and the attention itself (2 W d for a batch width W), plus the unembedding
(d x vocabulary).  A training step costs three forward passes (forward, and backward twice as much); an evaluation
is a forward pass over the training and test sets.  Padded runs pay for every position up to 2 L_max + 3;
unpadded ones for each batch's own width.

Time is arithmetic divided by a device's sustained rate.  For this project's CPUs the rates are measured
(:data:`THIS_CPU`, from the ``seconds`` column of shipped runs: ``benchmarks/cost_model.py`` recomputes them and
prints each reference run's estimate against its measured time).  For GPUs there is no measurement here (this
project has none): the rates are a named fraction of the card's peak, plus a fixed cost per optimiser step for
the hundred-odd kernel launches that dominate models this small.  Both assumptions are stated in
:data:`GPUS` and printed with every estimate.  On a GPU the runs that differ only by seed train as one batched
model (``ihlib.batched``): the group pays for every seed's arithmetic but for one set of kernel launches per step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .batched import group_key
from .config import TrainConfig
from .engine import evaluates_at
from .tasks import sequence_length

#: Size of the built-in tasks' vocabulary (EoS, EoI, task tokens, values): ``tasks.Vocabulary().size``.
VOCAB = 16


def forward_flops_per_token(cfg: TrainConfig, width: int) -> float:
    """FLOPs of one token's forward pass in a batch of ``width`` positions."""
    per_layer = 2 * (12 * cfg.dim ** 2 + 2 * width * cfg.dim)
    return cfg.n_layers * per_layer + 2 * cfg.dim * VOCAB


def epoch_tokens(cfg: TrainConfig) -> list[tuple[int, int]]:
    """(tokens, width) of each length's batches in one epoch: ``n_per_length`` sequences per length, each fed as
    its padded width (or its length's own) less one position, the last token being only a target."""
    out = []
    for length in range(1, cfg.max_len + 1):
        width = (cfg.seq_len if cfg.padding else sequence_length(length, cfg.cot)) - 1
        out.append((cfg.n_per_length * width, width))
    return out


def train_epoch_flops(cfg: TrainConfig) -> float:
    """FLOPs of one training epoch (forward and backward).  With a shuffled order and no padding, batches mix
    lengths and are as wide as their longest sequence; counted here at each length's own width (a lower bound)."""
    return sum(3 * tokens * forward_flops_per_token(cfg, width) for tokens, width in epoch_tokens(cfg))


def evaluation_flops(cfg: TrainConfig) -> float:
    """FLOPs of one evaluation: a forward pass over the training and test sets at the padded width."""
    tokens = cfg.max_len * cfg.n_per_length * (cfg.seq_len - 1)
    return 2 * tokens * forward_flops_per_token(cfg, cfg.seq_len - 1)


def run_flops(cfg: TrainConfig, epochs: int | None = None) -> tuple[float, float]:
    """(training, evaluation) FLOPs of ``epochs`` epochs of a run (default all)."""
    epochs = cfg.epochs if epochs is None else epochs
    evaluations = 1 + sum(evaluates_at(cfg, e) for e in range(1, epochs + 1))
    return epochs * train_epoch_flops(cfg), evaluations * evaluation_flops(cfg)


def steps(cfg: TrainConfig, epochs: int | None = None) -> int:
    """Optimiser steps of ``epochs`` epochs (default all)."""
    per_epoch = -(-cfg.max_len * cfg.n_per_length // cfg.batch_size)
    return per_epoch * (cfg.epochs if epochs is None else epochs)


@dataclass(frozen=True)
class Device:
    """A device's sustained training rates (FLOP/s) by model width and precision (the nearest measured width is
    used: small matmuls run far below peak), its evaluation rate, a fixed cost per optimiser step, and where the
    numbers come from."""

    name: str
    train_rate: dict[int, dict[str, float]]
    eval_rate: float
    step_overhead: float
    basis: str

    def rate(self, cfg: TrainConfig) -> float:
        width = min(self.train_rate, key=lambda d: abs(math.log2(d / cfg.dim)))
        return self.train_rate[width][cfg.precision]

    def seconds(self, cfg: TrainConfig, epochs: int | None = None) -> float:
        """Estimated seconds of ``epochs`` epochs of ``cfg`` (default all), evaluations included."""
        return self.batched_seconds([cfg], epochs)

    def batched_seconds(self, configs: list[TrainConfig], epochs: int | None = None) -> float:
        """Estimated seconds of ``configs`` (runs of one batched group) trained as one model: every run's
        arithmetic, one step overhead per step."""
        train, evaluation = (sum(f) for f in zip(*(run_flops(cfg, epochs) for cfg in configs)))
        return (train / self.rate(configs[0]) + evaluation / self.eval_rate
                + steps(configs[0], epochs) * self.step_overhead)

    def grouped_seconds(self, configs: list[TrainConfig]) -> float:
        """Estimated seconds of ``configs`` trained as ``ihlib.results`` trains them on a GPU: the runs that
        differ only by seed as one batched group each."""
        groups: dict[TrainConfig, list[TrainConfig]] = {}
        for cfg in configs:
            groups.setdefault(group_key(cfg), []).append(cfg)
        return sum(self.batched_seconds(group) for group in groups.values())


#: This project's machines (2-core AMD EPYC with AVX512-BF16), one PyTorch thread beside a second training
#: process: medians of the rates ``benchmarks/cost_model.py`` measured on the shipped runs (2026-12-01; the
#: runs' own rates spread by up to 2x with what else the machine ran).
THIS_CPU = Device("this CPU (1 thread, beside a second training)",
                  {64: {"fp32": 25e9, "bf16": 29e9}, 128: {"fp32": 61e9, "bf16": 127e9}}, 36e9, 0.0,
                  "measured on shipped runs (benchmarks/cost_model.py)")

#: GPUs, not measured: sustained rate assumed at 5 % of the card's dense peak (tiny matmuls, d = 128), plus
#: 3 ms per optimiser step for kernel launches (about 300 kernels of about 10 us).  The T4 and the V100 have no
#: bfloat16 tensor cores (PyTorch emulates bf16 there), so their bf16 rate is taken as their fp32 rate.
GPUS = {name: Device(name, {128: {"fp32": 0.05 * fp32, "bf16": 0.05 * bf16}}, 0.05 * fp32, 3e-3,
                     "assumed: 5 % of peak, 3 ms per step")
        for name, fp32, bf16 in (("T4", 8.1e12, 8.1e12), ("V100", 15.7e12, 15.7e12), ("A100", 19.5e12, 312e12))}


def describe(configs: list[TrainConfig]) -> str:
    """One line for a reader about to train ``configs``: how many runs, and what they cost by this model (the
    full epoch budget: runs that stop once converged cost less).  On the GPU the seeds of a setting train as one
    batched model, as they would there."""
    cpu = sum(THIS_CPU.seconds(cfg) for cfg in configs)
    t4 = GPUS["T4"].grouped_seconds(configs)
    return (f"training {len(configs)} runs: at most about {cpu / 60:.0f} min on one thread of this project's CPUs "
            f"(measured rates), {t4 / 60:.0f} min on a T4 GPU with seeds batched ({GPUS['T4'].basis}); early "
            f"stopping can cut both (on a GPU once every seed of a group has stopped)")
