"""K runs that differ only by seed (and by the run they fine-tune), trained as one batched model: stacked
parameters, ``torch.func.vmap``.

A tiny model leaves a GPU idle, so K runs cost about as much as one there.  On a CPU the small matmuls are bound by
memory, not by Python overhead, and batching pays little (benchmarks/grid_speed.py measures it).  The loss is the
sum of the runs' own losses and Adam works element by element, so each run follows the trajectory it would follow
alone, up to floating-point noise (dropout aside: its random draws differ).

Everything else comes from the engine that ``train`` uses (``ihlib.engine``): the batch plan, learning rate,
evaluation schedule and history row, the NaN guard, the stop rule and the snapshots.  A run whose stop rule fires is
written then, with its weights of that moment; the group trains on until every run has stopped.  The ``seconds``
column is the group's time.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig, config_task
from .engine import (Ledger, StopRule, TrainingDiverged, autocast, batch_plan, check_loss, evaluates_at, lr_at,
                     make_optimizer, mix_tokens)
from .metrics import target_mask
from .model import Transformer
from .rundir import Run, RunDir, run_state
from .settings import code_revision, resolve_device, set_seed
from .tasks import TaskMix, Vocabulary, make_dataset
from .train import _build_model, _rng_state, _set_rng_state, resolve


def group_key(cfg: TrainConfig) -> TrainConfig:
    """What runs trained in one group share: every setting but the seed and which run each fine-tunes."""
    return replace(cfg, seed=0, init_from=None if cfg.init_from is None else "*")


def _check(configs: list[TrainConfig]) -> None:
    if not configs:
        raise ValueError("give at least one config")
    if any(group_key(c) != group_key(configs[0]) for c in configs):
        raise ValueError("batched runs must share every setting but the seed (and the run each fine-tunes)")


def group_file(out: Path, names: list[str], configs: list[TrainConfig]) -> Path:
    """The resume state of a group, named after all its runs and their configs."""
    key = hashlib.sha256(json.dumps([[n, c.key()] for n, c in zip(names, configs)]).encode()).hexdigest()[:12]
    return out / ".batched" / f"{key}.pt"


def train_batched(configs: list[TrainConfig], device: str | torch.device = "auto", out: str | Path | None = None,
                  names: list[str] | None = None, until: StopRule | None = None) -> list[Run]:
    """Train the runs of ``configs`` (same settings, different seeds) together; return one Run per config.

    With ``out``, each run is written to ``out/<name>`` like a run of :func:`ihlib.train.train` once it stops
    (without optimizer state; ``names`` default: ``seed<seed>``); runs already finished there are loaded, not
    trained; the group is checkpointed at every evaluation (``out/.batched/``), so an interrupted group resumes
    where it stopped.  A run whose loss diverges drops out of the group, which trains on; ``TrainingDiverged`` is
    raised at the end, naming it.
    """
    names = names or [f"seed{cfg.seed}" for cfg in configs]
    device = resolve_device(device)
    resolved = [resolve(cfg) for cfg in configs]
    configs, sources = [cfg for cfg, _ in resolved], [src for _, src in resolved]
    _check(configs)  # after resolving: fine-tuned runs share the architecture of their sources too
    if out is None:
        return _train_group(configs, sources, device, [], None, names, until, list(range(len(configs))))
    directories = [RunDir(Path(out) / name) for name in names]
    for directory, cfg in zip(directories, configs):
        directory.check_can_hold(cfg)
    state_file = group_file(Path(out), names, configs)
    with contextlib.ExitStack() as stack:
        for directory in directories:
            stack.enter_context(directory.lock())
        members = load_checkpoint(state_file)["members"] if state_file.exists() else \
            [k for k, (d, cfg) in enumerate(zip(directories, configs)) if not d.finished(cfg)]
        pick = lambda items: [items[k] for k in members]  # noqa: E731
        trained = dict(zip(members, _train_group(pick(configs), pick(sources), device, pick(directories), state_file,
                                                 pick(names), until, members))) if members else {}
        return [trained[k] if k in trained else directories[k].load(device) for k in range(len(configs))]


def _train_group(configs: list[TrainConfig], sources: list[dict | None], device: torch.device,
                 directories: list[RunDir], state_file: Path | None, names: list[str],
                 until: StopRule | None, members: list[int]) -> list[Run]:
    cfg0 = configs[0]
    task = config_task(cfg0)
    vocab = Vocabulary.for_tasks(task.tasks if isinstance(task, TaskMix) else (task,))
    task_tokens = mix_tokens(task, vocab)
    models, train_sets, test_sets = [], [], []
    for cfg, src in zip(configs, sources):
        set_seed(cfg.seed)  # the same initialisation as train(cfg)
        models.append(_build_model(cfg, vocab, src, device))
        train_sets.append(make_dataset(task, cfg.max_len, cfg.n_per_length, cfg.seed, "train", cfg.cot, vocab).to(device))
        test_sets.append(make_dataset(task, cfg.max_len, cfg.n_per_length, cfg.seed, "test", cfg.cot, vocab).to(device))
    mcfg = models[0].cfg
    params, buffers = stack_module_state(models)
    trainable = {k: v for k, v in params.items() if v.requires_grad}
    # the explicit attention path: the fused kernel has no vmap batching rule and would run run by run
    skeleton = copy.deepcopy(models[0]).to("meta").set_fused_attention(False)

    def logits_of(p: dict, b: dict, idx: torch.Tensor) -> torch.Tensor:
        return functional_call(skeleton, (p, b), (idx,))

    batched_logits = vmap(logits_of, randomness="different")
    optimizer = make_optimizer(cfg0, list(trainable.values()))
    ledgers = [Ledger(cfg, until) for cfg in configs]
    finals: dict[int, Transformer] = {}
    diverged: dict[int, str] = {}
    lengths_cpu = [d.lengths.cpu() for d in train_sets]
    revision = code_revision()

    def unstack(k: int) -> Transformer:
        model = Transformer(mcfg).to(device)
        model.load_state_dict({name: value[k].detach() for name, value in {**params, **buffers}.items()})
        return model.eval()

    def record(epoch: int, step: int, seconds: float, losses: list[float | None]) -> None:
        for k, ledger in enumerate(ledgers):
            if k in finals or k in diverged:
                continue
            model = unstack(k)
            ledger.record(epoch, step, seconds, losses[k], model, train_sets[k], test_sets[k], task_tokens)
            if ledger.stopped:
                finals[k] = model
                if directories:
                    directories[k].write(run_state(configs[k], model, vocab, ledger.history, revision,
                                                   ledger.snapshots, seconds=seconds), finished=True)

    def checkpoint(epoch: int, step: int, seconds: float) -> None:
        if state_file is not None:
            save_checkpoint({"configs": [c.to_dict() for c in configs], "members": members, "params": params,
                             "buffers": buffers,
                             "optimizer": optimizer.state_dict(), "histories": [x.history for x in ledgers],
                             "snapshots": [x.snapshots for x in ledgers], "epoch": epoch, "step": step,
                             "seconds": seconds, "rng": _rng_state(), "diverged": diverged}, state_file)

    epoch, step, seconds = 0, 0, 0.0
    if state_file is not None and state_file.exists():
        state = load_checkpoint(state_file)
        if [TrainConfig.from_dict(c) for c in state["configs"]] != configs:
            raise ValueError(f"{state_file} holds a batch of other runs; remove it or choose another output directory")
        with torch.no_grad():
            for name, value in {**state["params"], **state["buffers"]}.items():
                {**params, **buffers}[name].copy_(value)
        optimizer.load_state_dict(state["optimizer"])
        for ledger, history, snapshots in zip(ledgers, state["histories"], state["snapshots"]):
            ledger.history, ledger.snapshots = history, snapshots
        finals.update({k: directories[k].load(device).model for k, x in enumerate(ledgers) if x.stopped})
        diverged.update(state["diverged"])
        epoch, step, seconds = state["epoch"], state["step"], state["seconds"]
        _set_rng_state(state["rng"])
    else:
        record(0, 0, 0.0, [None] * len(configs))
        checkpoint(0, 0, 0.0)
    while len(finals) + len(diverged) < len(configs):
        start = time.perf_counter()
        plans = [batch_plan(cfg, lengths_cpu[k], epoch) for k, cfg in enumerate(configs)]
        totals = torch.zeros(len(configs), device=device)
        for i in range(len(plans[0])):
            width = max(plan[i][1] for plan in plans)
            tokens = torch.stack([train_sets[k].tokens[plan[i][0].to(device), :width] for k, plan in enumerate(plans)])
            lengths = torch.stack([train_sets[k].lengths[plan[i][0].to(device)] for k, plan in enumerate(plans)])
            own = torch.tensor([plan[i][1] for plan in plans], device=device)
            with autocast(cfg0, device):
                logits = batched_logits(params, buffers, tokens[:, :, :-1]).float()
            positions = torch.arange(width - 1, device=device)
            valid = torch.stack([target_mask(lengths[k], width - 1) for k in range(len(configs))])
            valid &= positions[None, None, :] < (own[:, None, None] - 1)  # a run's own batch width, as alone
            targets = tokens[:, :, 1:].masked_fill(~valid, -100)
            per_run = F.cross_entropy(logits.flatten(1, 2).transpose(1, 2), targets.flatten(1, 2), ignore_index=-100,
                                      reduction="none").sum(1) / valid.flatten(1, 2).sum(1)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(cfg0, step)
            optimizer.zero_grad(set_to_none=True)
            per_run.sum().backward()
            optimizer.step()
            totals += per_run.detach()
            step += 1
        epoch += 1
        seconds += time.perf_counter() - start
        losses = (totals / len(plans[0])).tolist()
        for k, ledger in enumerate(ledgers):
            if k not in finals and k not in diverged:
                try:
                    check_loss(losses[k], epoch, ledger.history, name=f"{names[k]}: training")
                except TrainingDiverged as err:
                    diverged[k] = str(err)
        if evaluates_at(cfg0, epoch):
            record(epoch, step, seconds, losses)
            checkpoint(epoch, step, seconds)
    if state_file is not None:
        state_file.unlink()
    if diverged:
        raise TrainingDiverged("; ".join(diverged.values()))
    return [Run(cfg, finals[k], vocab, train_sets[k], test_sets[k], ledgers[k].history, ledgers[k].snapshots)
            for k, cfg in enumerate(configs)]
