"""A training run's config: one frozen dataclass whose defaults are the paper's recipe, and its validation.

Each field carries its one-line help (``field(metadata={"help": ...})``): the command line is generated from these
fields (``ihlib.__main__``), so options, defaults and checks have one source.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, fields

from .model import ModelConfig, check_recorded_block
from .tasks import IterativeTask, TaskMix, parse_task, sequence_length

#: Training precisions: float32, or bfloat16 autocast of the training steps (``engine.autocast``).
PRECISIONS = ("fp32", "bf16")
ORDERS = ("length", "shuffled")
POSITIONS = ("learned", "frozen")


def _help(text: str, default=None, **extra) -> object:
    return field(default=default, metadata={"help": text, **extra})


@dataclass(frozen=True)
class TrainConfig:
    """One training run.  Defaults are the paper's recipe (notes §2): polynomial, CoT, L_max 16, d 128, Adam 3e-4,
    batch 256, 1000 epochs, evaluation every 10, per-length batches in length order, padding to 2 L_max + 3.

    ``task`` is a built-in name or a mix such as ``"copy:0.5+parity:0.5"``; a custom task is named here and defined
    in ``task_definition`` (``IterativeTask.to_dict()``), so the config alone rebuilds it.  ``init_from`` names the
    run to fine-tune: ``run:<scale>/<experiment>/<run>`` (found in the result store when training starts) or a
    checkpoint file.
    """

    task: str = _help("copy, parity, polynomial, or a mix like copy:0.5+parity:0.5", "polynomial")
    task_definition: dict | None = field(default=None, hash=False, metadata={
        "help": "a custom task: IterativeTask.to_dict() (on the command line: a JSON file; its name replaces --task)"})
    cot: bool = _help("train with chain-of-thought (all of y_1..y_L after EoI) or without (only y_L)", True)
    max_len: int = _help("L_max, the longest input", 16)
    n_per_length: int = _help("training and test sequences per length", 1024)
    dim: int = _help("width d", 128)
    n_layers: int = _help("layers", 2)
    n_heads: int = _help("attention heads per layer", 1)
    dropout: float = _help("embedding dropout", 0.1)
    pos_emb: str = _help("positional embedding: learned, or frozen random", "learned", choices=POSITIONS)
    pos_dim: int | None = _help("put positions on the first POS_DIM coordinates only (default: all)")
    init_std: float | None = _help("initialise weights from N(0, INIT_STD^2) instead of PyTorch's defaults")
    normalize_residual: bool = _help("the authors' block, which normalises the residual stream before attention "
                                     "(--no-normalize-residual: the textbook pre-LN block x + attn(ln1(x)))", True)
    frozen_pos_std: float | None = _help("draw frozen positions from N(0, FROZEN_POS_STD^2) (default N(0, 1))")
    epochs: int = _help("epochs", 1000)
    lr: float = _help("Adam learning rate", 3e-4)
    weight_decay: float = _help("AdamW decoupled weight decay (0: the paper's plain Adam)", 0.0)
    warmup_steps: int = _help("linear warm-up steps", 0)
    batch_size: int = _help("batch size", 256)
    eval_every: int = _help("epochs between evaluations", 10)
    order: str = _help("batch order: the authors' length order, or a fresh shuffle each epoch", "length",
                       choices=ORDERS)
    padding: bool = _help("pad every batch to 2 L_max + 3 as the authors do (--no-padding: cut each batch to its "
                          "longest sequence, faster)", True)
    seed: int = _help("seed of data, initialisation and order", 0)
    init_from: str | None = _help("fine-tune this run's weights: run:SCALE/EXPERIMENT/RUN or a checkpoint file")
    init_epoch: int | None = _help("with --init-from: start from its weight snapshot at this epoch")
    only_mlp2: bool = _help("with --init-from: train only the layer-2 MLP", False)
    snapshot_epochs: tuple[int, ...] = field(default=(), metadata={"help": "keep the weights at these epochs"})
    precision: str = _help("fp32, or bf16 autocast of the training steps", "fp32", choices=PRECISIONS)

    def __post_init__(self) -> None:
        for name in ("max_len", "n_per_length", "dim", "n_layers", "n_heads", "epochs", "batch_size", "eval_every"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not (math.isfinite(self.lr) and self.lr > 0) or self.warmup_steps < 0 or \
                not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"lr must be positive and finite, warmup_steps and weight_decay non-negative, got "
                             f"{self.lr}, {self.warmup_steps}, {self.weight_decay}")
        for name in ("init_std", "frozen_pos_std"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive and finite, got {value}")
        for name, allowed in (("precision", PRECISIONS), ("order", ORDERS), ("pos_emb", POSITIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.pos_dim is not None and not 0 < self.pos_dim <= self.dim:
            raise ValueError(f"pos_dim must be in 1..dim ({self.dim}), got {self.pos_dim}")
        if self.task_definition is not None and self.task_definition.get("name") != self.task:
            raise ValueError(f"task_definition defines {self.task_definition.get('name')!r}, not task {self.task!r}")
        if (self.only_mlp2 or self.init_epoch is not None) and self.init_from is None:
            raise ValueError("only_mlp2 and init_epoch fine-tune a loaded model: give init_from too")
        object.__setattr__(self, "snapshot_epochs", tuple(self.snapshot_epochs))
        for name in ("lr", "weight_decay", "dropout", "init_std", "frozen_pos_std"):  # 1 and 1.0: one config, one key
            if getattr(self, name) is not None:
                object.__setattr__(self, name, float(getattr(self, name)))

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
        """A recorded config (extra keys, such as a record's ``finished``, are ignored; records older than the
        recorded block are refused: ``model.check_recorded_block``)."""
        known = {f.name for f in fields(cls)}
        check_recorded_block(d)
        return cls(**{k: v for k, v in d.items() if k in known})

    def key(self) -> str:
        """A short name of this config's identity: a hash of its fields that differ from the defaults (a field
        added later, at its default, keeps every earlier key)."""
        default = TrainConfig().to_dict()
        changed = {k: v for k, v in self.to_dict().items() if v != default[k]}
        return hashlib.sha256(json.dumps(changed, sort_keys=True).encode()).hexdigest()[:10]

    def model_config(self, vocab_size: int) -> ModelConfig:
        """The architecture this config trains from scratch."""
        return ModelConfig(vocab_size, self.seq_len - 1, self.dim, self.n_layers, self.n_heads, dropout=self.dropout,
                           pos_emb=self.pos_emb, pos_dim=self.pos_dim, init_std=self.init_std,
                           normalize_residual=self.normalize_residual, frozen_pos_std=self.frozen_pos_std)


def config_task(cfg: TrainConfig) -> IterativeTask | TaskMix:
    """The task a config trains on: its ``task_definition`` if it has one, else the built-in task or mix named."""
    return IterativeTask.from_dict(cfg.task_definition) if cfg.task_definition else parse_task(cfg.task)
