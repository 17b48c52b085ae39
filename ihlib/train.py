"""Training one run: build (or fine-tune) the model, train it with the engine, checkpoint it into its run
directory at every evaluation, resume it bit-exactly if interrupted, and return a finished run without reopening it.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .checkpoint import load_checkpoint
from .config import TrainConfig, config_task
from .engine import Ledger, StopRule, check_loss, evaluates_at, make_optimizer, mix_tokens, train_epoch
from .model import ModelConfig, Transformer
from .rundir import Run, RunDir, run_state
from .settings import code_revision, progress_enabled, resolve_device, set_seed
from .tasks import TaskMix, Vocabulary, make_dataset


def _rng_state() -> dict:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def init_state(reference: str) -> dict:
    """The checkpoint that ``init_from`` names: ``run:<scale>/<experiment>/<run>`` is looked up in the result store
    (shipped, else cached) when training starts; anything else is a checkpoint file (``ihlib:...`` one shipped in
    the package)."""
    if not reference.startswith("run:"):
        return load_checkpoint(reference)
    from .results import finished_run  # the store knows the experiments: imported where it is needed
    scale, _, name = reference[len("run:"):].partition("/")
    experiment, _, run = name.partition("/")
    directory = finished_run(experiment, run, scale, weights=True)
    if directory is None:
        raise ValueError(f"the pretrained run {reference[4:]} is not trained yet: run python -m ihlib reproduce "
                         f"--scale {scale} --experiment {experiment}")
    return directory.state()


def resolve(cfg: TrainConfig) -> tuple[TrainConfig, dict | None]:
    """For fine-tuning, ``cfg`` with the architecture of the model ``init_from`` names, and that checkpoint."""
    if cfg.init_from is None:
        return cfg, None
    src = init_state(cfg.init_from)
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


def resumed_revision(recorded: str | None, current: str | None) -> str | None:
    """The code revision of a resumed run: every revision that trained it, joined by ``+`` (a dirty one stays)."""
    if recorded is None or current is None:
        return None
    return recorded if recorded.split("+")[-1] == current else f"{recorded}+{current}"


def train(cfg: TrainConfig, out: str | Path | None = None, device: str | torch.device = "auto",
          progress: bool | None = None, until: StopRule | None = None) -> Run:
    """Train ``cfg`` and return the Run; with ``out``, checkpoint it there at every evaluation.

    If ``out`` holds this run finished, it is loaded and returned, never reopened; unfinished, it is resumed from
    its last evaluation; with more ``epochs`` than it was trained for, it is continued.  ``until(history)`` stops
    training early at the first evaluation where it holds (``engine.Converged``).  Raises ``TrainingDiverged`` if
    the loss turns NaN (the last checkpoint in ``out`` is kept), ``RunDirError`` if ``out`` cannot hold this run.
    """
    directory = RunDir(out) if out is not None else None
    if directory is not None and directory.finished(cfg):
        return directory.load(device=resolve_device(device))
    cfg, src = resolve(cfg)  # a fine-tuned run records the architecture it trains
    if directory is not None:
        directory.check_can_hold(cfg)
        if directory.finished(cfg):
            return directory.load(device=resolve_device(device))
    with directory.lock() if directory is not None else contextlib.nullcontext():
        if directory is not None and directory.finished(cfg):  # finished by another process while we waited
            return directory.load(device=resolve_device(device))
        return _train(cfg, src, directory, resolve_device(device, verbose=progress_enabled(progress)), progress,
                      until)


def _train(cfg: TrainConfig, src: dict | None, directory: RunDir | None, device: torch.device,
           progress: bool | None, until: StopRule | None) -> Run:
    task = config_task(cfg)
    vocab = Vocabulary.for_tasks(task.tasks if isinstance(task, TaskMix) else (task,))
    check_memory(cfg, vocab.size)
    resume = directory.state() if directory is not None and directory.has_weights() else None
    if resume is not None and "optimizer" not in resume:
        raise ValueError(f"{directory.path} holds weights without optimizer state (a batched run): it cannot be "
                         f"resumed")
    if resume is not None and (replace(TrainConfig.from_dict(resume["config"]), epochs=cfg.epochs) != cfg
                               or resume["epoch"] > cfg.epochs):
        raise ValueError(f"{directory.path} holds weights of another config, or of more epochs than asked for")

    set_seed(cfg.seed)
    model = _build_model(cfg, vocab, src, device)
    train_data = make_dataset(task, cfg.max_len, cfg.n_per_length, cfg.seed, "train", cfg.cot, vocab).to(device)
    test_data = make_dataset(task, cfg.max_len, cfg.n_per_length, cfg.seed, "test", cfg.cot, vocab).to(device)
    task_tokens = mix_tokens(task, vocab)
    optimizer = make_optimizer(cfg, [p for p in model.parameters() if p.requires_grad])
    ledger = Ledger(cfg, until)
    epoch, step, seconds = 0, 0, 0.0
    revision = code_revision()
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        ledger.history, epoch, step, seconds = list(resume["history"]), resume["epoch"], resume["step"], resume["seconds"]
        ledger.snapshots = {int(k): v for k, v in resume.get("snapshots", {}).items()}
        _set_rng_state(resume["rng"])
        revision = resumed_revision(resume.get("code_revision"), revision)

    def checkpoint(finished: bool) -> None:
        if directory is not None:
            directory.write(run_state(cfg, model, vocab, ledger.history, revision, ledger.snapshots, epoch, step,
                                      seconds, optimizer.state_dict(), _rng_state()), finished)

    if not ledger.history:
        ledger.record(0, 0, 0.0, None, model, train_data, test_data, task_tokens)
        checkpoint(False)
    bar = tqdm(total=cfg.epochs, initial=epoch, disable=not progress_enabled(progress),
               desc=f"{cfg.task}{'' if cfg.cot else ' (no CoT)'} L<={cfg.max_len} d={cfg.dim}")
    model.train()
    while not ledger.stopped:
        start = time.perf_counter()
        mean_loss, step = train_epoch(model, optimizer, cfg, train_data, epoch, step)
        check_loss(mean_loss, epoch + 1, ledger.history)
        epoch += 1
        seconds += time.perf_counter() - start
        bar.update()
        if evaluates_at(cfg, epoch):
            row = ledger.record(epoch, step, seconds, mean_loss, model, train_data, test_data, task_tokens)
            model.train()
            bar.set_postfix(loss=f"{mean_loss:.3f}", test_acc=f"{row['test_accuracy']:.3f}")
            checkpoint(ledger.stopped)
    bar.close()
    if resume is not None and resume["epoch"] == epoch:  # resumed at its last evaluation, which had stopped it
        checkpoint(True)
    return Run(cfg, model.eval(), vocab, train_data, test_data, ledger.history, ledger.snapshots)


def memory_estimate(cfg: TrainConfig, vocab_size: int) -> int:
    """Bytes a run needs, roughly: its two datasets, the weights with Adam's moments and gradients, and one
    training step's activations (logits and attention maps included)."""
    n_seq = cfg.max_len * cfg.n_per_length
    data = 2 * n_seq * cfg.seq_len * 8
    params = (vocab_size * cfg.dim * 2 + cfg.seq_len * cfg.dim + cfg.n_layers * 12 * cfg.dim ** 2) * 4 * 4
    batch = min(cfg.batch_size, n_seq)
    activations = batch * cfg.seq_len * (cfg.n_layers * (12 * cfg.dim + 3 * cfg.n_heads * cfg.seq_len)
                                         + 3 * vocab_size) * 4
    return data + params + activations


def available_memory() -> int | None:
    """Memory this process may still allocate (``MemAvailable`` of /proc/meminfo), or None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


def check_memory(cfg: TrainConfig, vocab_size: int) -> None:
    """Refuse a run whose estimated memory exceeds what is available, before allocating any of it."""
    need, have = memory_estimate(cfg, vocab_size), available_memory()
    if have is not None and need > have:
        raise ValueError(f"this run needs about {need / 2**30:.1f} GiB (L_max {cfg.max_len}, "
                         f"{cfg.n_per_length} sequences per length, d {cfg.dim}, {vocab_size} tokens); "
                         f"{have / 2**30:.1f} GiB are available")
