"""The paper's decoder-only transformer: LayerNorm blocks without biases, GELU MLP, learned positions.

Two blocks are offered (``ModelConfig.normalize_residual``).  The authors' block normalises the residual stream
itself before attention, ``x = ln1(x); x = x + attn(x); x = x + mlp(ln2(x))`` (notes §2); the textbook pre-LN block
keeps it, ``x = x + attn(ln1(x)); x = x + mlp(ln2(x))``.

Attention maps are computed only when asked for (``return_attention=True``).  On a GPU training takes PyTorch's fused
``scaled_dot_product_attention``; on a CPU plain matmuls, which we measured faster at these sequence lengths
(benchmarks/README.md).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one model.  Defaults are the paper's: 2 layers, 1 head, d = 128, learned positions, the
    authors' block (``normalize_residual=True``; False gives the textbook pre-LN block).

    Frozen positions are drawn like learned ones, from N(0, 1) (PyTorch's ``nn.Embedding`` default, as the authors
    do), and never trained; ``frozen_pos_std`` draws them from N(0, frozen_pos_std^2) instead (an earlier version of
    this book drew them at 1/sqrt(d), 8x smaller at d = 64).

    ``init_std=None`` keeps PyTorch's default initialisation (N(0, 1) embeddings, uniform linear layers); a number
    draws every weight matrix and embedding from N(0, init_std^2) instead (GPT-2 uses 0.02).  We measured the head
    to appear far later with 0.02 (benchmarks/README.md), so the default is PyTorch's.
    """

    vocab_size: int
    n_positions: int
    dim: int = 128
    n_layers: int = 2
    n_heads: int = 1
    mlp_ratio: int = 4
    dropout: float = 0.1
    pos_emb: str = "learned"
    pos_dim: int | None = None
    init_std: float | None = None
    normalize_residual: bool = True
    frozen_pos_std: float | None = None

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_positions", "dim", "n_layers", "n_heads", "mlp_ratio"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.dim % self.n_heads:
            raise ValueError(f"dim {self.dim} is not divisible by n_heads {self.n_heads}")
        if self.pos_emb not in ("learned", "frozen"):
            raise ValueError(f"pos_emb must be 'learned' or 'frozen', got {self.pos_emb!r}")
        if self.pos_dim is not None and not 0 < self.pos_dim <= self.dim:
            raise ValueError(f"pos_dim must be in 1..dim, got {self.pos_dim}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        """A recorded config (:func:`check_recorded_block`)."""
        check_recorded_block(d)
        return cls(**d)


def use_fused_kernel(device: torch.device) -> bool:
    """Whether training attention takes the fused kernel: on a GPU, not on a CPU (slower there at these lengths)."""
    return device.type != "cpu"


def check_recorded_block(d: dict) -> None:
    """Refuse a config recorded before ihlib recorded its block (``normalize_residual``, ihlib 0.1 of November
    2026): such runs used the pre-LN block and frozen positions of another scale, which the current defaults would
    silently misread.  Retrain them."""
    if "normalize_residual" not in d:
        raise ValueError("this run was recorded before ihlib recorded its block (normalize_residual) and cannot be "
                         "read faithfully; retrain it")


class Attention(nn.Module):
    """Causal multi-head self-attention scaled by 1/sqrt(head dim), no biases."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.dim, 3 * cfg.dim, bias=False)
        self.out = nn.Linear(cfg.dim, cfg.dim, bias=False)

    def forward(self, x: torch.Tensor, return_attention: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        if return_attention or not use_fused_kernel(x.device):
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            attn = scores.masked_fill(mask, float("-inf")).softmax(-1)
            y = attn.to(v.dtype) @ v
            attn = attn if return_attention else None
        else:
            attn = None
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(b, t, d)), attn


class MLP(nn.Module):
    """Two-layer GELU perceptron of hidden width ``mlp_ratio * dim``, no biases."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(cfg.dim, cfg.mlp_ratio * cfg.dim, bias=False)
        self.proj = nn.Linear(cfg.mlp_ratio * cfg.dim, cfg.dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.gelu(self.fc(x)))


class Block(nn.Module):
    """Residual block: ``h = ln1(x)``, then ``x = (h if normalize_residual else x) + attn(h)`` (the authors' block
    if True, the textbook pre-LN block if False), then ``x + mlp(ln2(x))``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.normalize_residual = cfg.normalize_residual
        self.ln1 = nn.LayerNorm(cfg.dim, bias=False)
        self.attn = Attention(cfg)
        self.ln2 = nn.LayerNorm(cfg.dim, bias=False)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, return_attention: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.ln1(x)
        if self.normalize_residual:
            x = h
        a, attn = self.attn(h, return_attention)
        x = x + a
        return x + self.mlp(self.ln2(x)), attn


class Transformer(nn.Module):
    """Token + positional embedding, ``n_layers`` blocks, final LayerNorm and an untied unembedding."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.pos_emb = nn.Embedding(cfg.n_positions, cfg.pos_dim or cfg.dim)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.dim, bias=False)
        self.unembed = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        for module in self.modules():  # init_std=None keeps PyTorch's defaults (N(0, 1) embeddings)
            if isinstance(module, (nn.Linear, nn.Embedding)) and cfg.init_std is not None:
                nn.init.normal_(module.weight, std=cfg.init_std)
        if cfg.pos_emb == "frozen":  # drawn like the learned ones (N(0, 1) unless init_std), then kept fixed
            if cfg.frozen_pos_std is not None:
                nn.init.normal_(self.pos_emb.weight, std=cfg.frozen_pos_std)
            self.pos_emb.weight.requires_grad_(False)

    def forward(self, idx: torch.Tensor, return_attention: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits (B, T, vocab) and, if asked, one attention map (B, heads, T, T) per layer."""
        t = idx.shape[1]
        if t > self.cfg.n_positions:
            raise ValueError(f"sequence of {t} tokens exceeds the model's {self.cfg.n_positions} positions")
        pos = self.pos_emb(torch.arange(t, device=idx.device))
        if pos.shape[-1] < self.cfg.dim:
            pos = F.pad(pos, (0, self.cfg.dim - pos.shape[-1]))
        x = self.drop(self.tok_emb(idx) + pos)
        maps = []
        for block in self.blocks:
            x, attn = block(x, return_attention)
            if attn is not None:
                maps.append(attn)
        return self.unembed(self.ln_f(x)), maps

    def n_params(self) -> int:
        """Trainable parameter count."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
