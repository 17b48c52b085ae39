"""K runs that differ only by seed, trained as one batched model: stacked parameters, ``torch.func.vmap``.

A tiny model leaves a GPU idle, so K runs cost about as much as one there.  On a CPU the small matmuls are bound by
memory, not by Python overhead, and batching pays little (benchmarks/grid_speed.py measures it).  The loss is the
sum of the runs' own losses and Adam works element by element, so each run follows the trajectory it would follow
alone, up to floating-point noise (dropout aside: its random draws differ).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from .metrics import target_mask
from .model import Transformer
from .checkpoint import load_checkpoint, save_checkpoint
from .settings import code_revision, resolve_device, set_seed
from .tasks import TaskMix, Vocabulary, make_dataset
from .train import (Run, TrainConfig, _batches, _lr_at, _rng_state, _set_rng_state, autocast, config_task,
                    evaluation_row, make_optimizer, mix_tokens, write_run)


def _check(configs: list[TrainConfig]) -> None:
    if not configs:
        raise ValueError("give at least one config")
    base = replace(configs[0], seed=0)
    if any(replace(c, seed=0) != base for c in configs):
        raise ValueError("batched runs must share every setting but the seed")
    if base.init_from is not None:
        raise ValueError("batched runs train from scratch (no init_from)")
    if base.snapshot_epochs:
        raise ValueError("batched runs keep no weight snapshots; train runs with snapshot_epochs one by one")


def train_batched(configs: list[TrainConfig], device: str | torch.device = "auto", out: str | Path | None = None,
                  names: list[str] | None = None) -> list[Run]:
    """Train the runs of ``configs`` (same settings, different seeds) together; return one Run per config.

    With ``out``, the group is checkpointed at every evaluation (``out/.batched/<first name>+<K>.pt``, so an
    interrupted group resumes where it stopped) and each finished run is written to ``out/<name>`` like a run of
    :func:`ihlib.train.train`, without optimizer state (``names`` default: ``seed<seed>``).
    """
    _check(configs)
    names = names or [f"seed{cfg.seed}" for cfg in configs]
    group_file = Path(out) / ".batched" / f"{names[0]}+{len(names)}.pt" if out is not None else None
    device = resolve_device(device)
    cfg0 = configs[0]
    task = config_task(cfg0)
    vocab = Vocabulary.for_tasks(task.tasks if isinstance(task, TaskMix) else (task,))
    mcfg = cfg0.model_config(vocab.size)
    models, train_sets, test_sets = [], [], []
    for cfg in configs:
        set_seed(cfg.seed)  # the same initialisation as train(cfg)
        models.append(Transformer(mcfg).to(device))
        train_sets.append(make_dataset(task, cfg.max_len, cfg.n_per_length, cfg.seed, "train", cfg.cot, vocab).to(device))
        test_sets.append(make_dataset(task, cfg.max_len, cfg.n_per_length, cfg.seed, "test", cfg.cot, vocab).to(device))
    params, buffers = stack_module_state(models)
    trainable = {k: v for k, v in params.items() if v.requires_grad}
    skeleton = copy.deepcopy(models[0]).to("meta")

    def logits_of(p: dict, b: dict, idx: torch.Tensor) -> torch.Tensor:
        # the explicit attention path: the fused kernel has no vmap batching rule and would run run by run
        return functional_call(skeleton, (p, b), (idx, True))[0]

    batched_logits = vmap(logits_of, randomness="different")
    optimizer = make_optimizer(cfg0, list(trainable.values()))
    histories: list[list[dict]] = [[] for _ in configs]
    lengths_cpu = [d.lengths.cpu() for d in train_sets]

    def record(epoch: int, step: int, losses: list[float | None]) -> None:
        for k, cfg in enumerate(configs):
            histories[k].append({"epoch": epoch, "step": step, "loss": losses[k], "lr": _lr_at(cfg, step),
                                 **evaluation_row(unstack(k), train_sets[k], test_sets[k], mix_tokens(task, vocab))})

    def unstack(k: int) -> Transformer:
        model = Transformer(mcfg).to(device)
        model.load_state_dict({name: value[k].detach() for name, value in {**params, **buffers}.items()})
        return model.eval()

    def checkpoint(epoch: int, step: int) -> None:
        if group_file is not None:
            save_checkpoint({"configs": [c.to_dict() for c in configs], "params": params, "buffers": buffers,
                             "optimizer": optimizer.state_dict(), "histories": histories, "epoch": epoch,
                             "step": step, "rng": _rng_state()}, group_file)

    start_epoch, step = 0, 0
    if group_file is not None and group_file.exists():
        state = load_checkpoint(group_file)
        if [TrainConfig.from_dict(c) for c in state["configs"]] != configs:
            raise ValueError(f"{group_file} holds a batch of other runs; remove it or choose another output directory")
        with torch.no_grad():
            for name, value in {**state["params"], **state["buffers"]}.items():
                {**params, **buffers}[name].copy_(value)
        optimizer.load_state_dict(state["optimizer"])
        histories[:], start_epoch, step = state["histories"], state["epoch"], state["step"]
        _set_rng_state(state["rng"])
    else:
        record(0, 0, [None] * len(configs))
        checkpoint(0, 0)
    for epoch in range(start_epoch + 1, cfg0.epochs + 1):
        plans = [_batches(cfg, lengths_cpu[k], epoch - 1) for k, cfg in enumerate(configs)]
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
                group["lr"] = _lr_at(cfg0, step)
            optimizer.zero_grad(set_to_none=True)
            per_run.sum().backward()
            optimizer.step()
            totals += per_run.detach()
            step += 1
        if epoch % cfg0.eval_every == 0 or epoch == cfg0.epochs:
            record(epoch, step, (totals / len(plans[0])).tolist())
            checkpoint(epoch, step)
    runs = [Run(cfg, unstack(k), vocab, train_sets[k], test_sets[k], histories[k], {}) for k, cfg in enumerate(configs)]
    if group_file is not None:
        revision = code_revision()
        for name, run in zip(names, runs):
            write_run(Path(out) / name, run.config, run.model, vocab, run.history, True, revision)
        group_file.unlink()
    return runs
