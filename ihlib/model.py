"""The paper's decoder-only transformer: LayerNorm blocks without biases, GELU MLP, learned positions.

Two blocks are offered (``ModelConfig.normalize_residual``).  The authors' block normalises the residual stream
itself before attention, ``x = ln1(x); x = x + attn(x); x = x + mlp(ln2(x))`` (notes §2); the textbook pre-LN block
keeps it, ``x = x + attn(ln1(x)); x = x + mlp(ln2(x))``.

Hook points, the TransformerLens way.  Every activation passes an identity :class:`HookPoint` named as
TransformerLens names it, so ``model.run_with_cache(tokens)`` reads any of them and ``model.run_with_hooks(tokens,
fwd_hooks=[(name, fn)])`` reads or replaces one (``fn(activation, hook)`` returns None or a tensor of the same
shape).  The names (``model.hook_names()``), for block ``l``:

=====================================  =========================================  ===================================
name                                   what passes                                shape
=====================================  =========================================  ===================================
``hook_embed``, ``hook_pos_embed``     token and positional embeddings            (B, T, d)
``blocks.l.hook_resid_pre``            the stream entering the block              (B, T, d)
``blocks.l.ln1.hook_normalized``       ``ln1``'s output: attention's input, and   (B, T, d)
                                       the stream itself in the authors' block
``blocks.l.attn.hook_q / _k / _v``     queries, keys, values                      (B, T, heads, d_head)
``blocks.l.attn.hook_attn_scores``     scaled scores, -inf above the diagonal     (B, heads, T_query, T_key)
``blocks.l.attn.hook_pattern``         the attention probabilities                (B, heads, T_query, T_key)
``blocks.l.attn.hook_z``               pattern @ values, per head                 (B, T, heads, d_head)
``blocks.l.hook_attn_out``             attention's output (after ``out``)         (B, T, d)
``blocks.l.hook_resid_mid``            the stream after attention                 (B, T, d)
``blocks.l.ln2.hook_normalized``       the MLP's input                            (B, T, d)
``blocks.l.mlp.hook_pre / hook_post``  the MLP's hidden units before / after GELU  (B, T, 4d)
``blocks.l.hook_mlp_out``              the MLP's output                           (B, T, d)
``blocks.l.hook_resid_post``           the stream leaving the block               (B, T, d)
``ln_f.hook_normalized``               the final LayerNorm's output               (B, T, d)
=====================================  =========================================  ===================================

Where they differ from TransformerLens: the final LayerNorm is ``ln_f`` (TransformerLens: ``ln_final``); a
LayerNorm's ``hook_normalized`` comes after its weight (TransformerLens: before); in the authors' block
``hook_resid_mid`` is ``ln1(resid_pre) + attn_out``, since that block replaces the stream by ``ln1(x)``.  There is
no ``hook_result`` (one head per layer in the paper) and no backward hooks.  Hook points hold no parameters, so state
dicts and checkpoints are the same as without them.

On a GPU attention takes PyTorch's fused ``scaled_dot_product_attention``, unless a hook reads or replaces the scores
or the pattern (the fused kernel never forms them) or :meth:`Transformer.set_fused_attention` turns it off (vmap
has no batching rule for it); on a CPU plain matmuls, which we measured faster at these sequence lengths
(benchmarks/README.md).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass
from typing import Callable, Iterator, Sequence

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


class HookPoint(nn.Module):
    """An identity at one activation, holding no parameters.  Hook functions added by
    :meth:`Transformer.run_with_hooks` (``fn(activation, hook) -> tensor | None``) read what passes through, or
    replace it by returning a tensor of the same shape.  With no hook it returns its input untouched."""

    def __init__(self) -> None:
        super().__init__()
        self.name = ""
        self.fns: list[Callable[[torch.Tensor, HookPoint], torch.Tensor | None]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for fn in self.fns:
            out = fn(x, self)
            if out is not None:
                if not isinstance(out, torch.Tensor) or out.shape != x.shape:
                    got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                    raise ValueError(f"hook on {self.name} returned {got}, expected a tensor of shape "
                                     f"{tuple(x.shape)}")
                x = out
        return x

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        # skips nn.Module's call machinery, so it is free when unused; hooks are added through ``fns``
        # (Transformer.hooks), and nn.Module.register_forward_hook on a hook point has no effect
        return self.forward(x) if self.fns else x


class LayerNorm(nn.LayerNorm):
    """LayerNorm without bias whose output passes ``hook_normalized`` (after the weight, where TransformerLens hooks
    before it).  Its state dict is ``nn.LayerNorm``'s."""

    def __init__(self, dim: int) -> None:
        super().__init__(dim, bias=False)
        self.hook_normalized = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.hook_normalized(super().forward(x))


#: A hook: ``fn(activation, hook)`` returning None (read only) or a replacement of the same shape.
HookFn = Callable[[torch.Tensor, HookPoint], torch.Tensor | None]
#: Which hook points: one name, a list of names, or a predicate on names (as TransformerLens's ``names_filter``).
Names = str | Sequence[str] | Callable[[str], bool] | None
#: Hooks to add: ``[(name or predicate, fn), ...]``, as TransformerLens's ``fwd_hooks``.
Hooks = Sequence[tuple[str | Callable[[str], bool], HookFn]]


class Attention(nn.Module):
    """Causal multi-head self-attention scaled by 1/sqrt(head dim), no biases."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.dim, 3 * cfg.dim, bias=False)
        self.out = nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.fused = True  # may take the fused kernel (where use_fused_kernel says so and nothing hooks the pattern)
        self.hook_q, self.hook_k, self.hook_v = HookPoint(), HookPoint(), HookPoint()
        self.hook_attn_scores, self.hook_pattern, self.hook_z = HookPoint(), HookPoint(), HookPoint()

    def takes_fused(self, device: torch.device) -> bool:
        """Whether this forward pass takes the fused kernel: on a GPU, unless turned off or a hook is on the
        scores or the pattern, which the fused kernel never forms."""
        return self.fused and use_fused_kernel(device) and not (self.hook_attn_scores.fns or self.hook_pattern.fns)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, d // self.n_heads).unbind(2)
        q, k, v = (hook(z).transpose(1, 2) for hook, z in ((self.hook_q, q), (self.hook_k, k), (self.hook_v, v)))
        if self.takes_fused(x.device):
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            scores = self.hook_attn_scores(scores.masked_fill(mask, float("-inf")))
            z = self.hook_pattern(scores.softmax(-1)).to(v.dtype) @ v
        z = self.hook_z(z.transpose(1, 2))
        return self.out(z.reshape(b, t, d))


class MLP(nn.Module):
    """Two-layer GELU perceptron of hidden width ``mlp_ratio * dim``, no biases."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(cfg.dim, cfg.mlp_ratio * cfg.dim, bias=False)
        self.proj = nn.Linear(cfg.mlp_ratio * cfg.dim, cfg.dim, bias=False)
        self.hook_pre, self.hook_post = HookPoint(), HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.hook_post(F.gelu(self.hook_pre(self.fc(x)))))


class Block(nn.Module):
    """Residual block: ``h = ln1(x)``, then ``x = (h if normalize_residual else x) + attn(h)`` (the authors' block
    if True, the textbook pre-LN block if False), then ``x + mlp(ln2(x))``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.normalize_residual = cfg.normalize_residual
        self.hook_resid_pre = HookPoint()
        self.ln1 = LayerNorm(cfg.dim)
        self.attn = Attention(cfg)
        self.hook_attn_out, self.hook_resid_mid = HookPoint(), HookPoint()
        self.ln2 = LayerNorm(cfg.dim)
        self.mlp = MLP(cfg)
        self.hook_mlp_out, self.hook_resid_post = HookPoint(), HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.hook_resid_pre(x)
        h = self.ln1(x)
        if self.normalize_residual:
            x = h
        x = self.hook_resid_mid(x + self.hook_attn_out(self.attn(h)))
        return self.hook_resid_post(x + self.hook_mlp_out(self.mlp(self.ln2(x))))


class Transformer(nn.Module):
    """Token + positional embedding, ``n_layers`` blocks, final LayerNorm and an untied unembedding; hook points at
    every activation (the module docstring)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.pos_emb = nn.Embedding(cfg.n_positions, cfg.pos_dim or cfg.dim)
        self.hook_embed, self.hook_pos_embed = HookPoint(), HookPoint()
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = LayerNorm(cfg.dim)
        self.unembed = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        for module in self.modules():  # init_std=None keeps PyTorch's defaults (N(0, 1) embeddings)
            if isinstance(module, (nn.Linear, nn.Embedding)) and cfg.init_std is not None:
                nn.init.normal_(module.weight, std=cfg.init_std)
        if cfg.pos_emb == "frozen":  # drawn like the learned ones (N(0, 1) unless init_std), then kept fixed
            if cfg.frozen_pos_std is not None:
                nn.init.normal_(self.pos_emb.weight, std=cfg.frozen_pos_std)
            self.pos_emb.weight.requires_grad_(False)
        for name, module in self.named_modules():
            if isinstance(module, HookPoint):
                module.name = name

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, vocab) of the next token at every position of ``idx`` (B, T)."""
        t = idx.shape[1]
        if t > self.cfg.n_positions:
            raise ValueError(f"sequence of {t} tokens exceeds the model's {self.cfg.n_positions} positions")
        pos = self.pos_emb(torch.arange(t, device=idx.device))
        if pos.shape[-1] < self.cfg.dim:
            pos = F.pad(pos, (0, self.cfg.dim - pos.shape[-1]))
        x = self.drop(self.hook_embed(self.tok_emb(idx)) + self.hook_pos_embed(pos))
        for block in self.blocks:
            x = block(x)
        return self.unembed(self.ln_f(x))

    def hook_points(self) -> dict[str, HookPoint]:
        """Every hook point by name, in the order the forward pass reaches them."""
        return {name: m for name, m in self.named_modules() if isinstance(m, HookPoint)}

    def hook_names(self) -> list[str]:
        return list(self.hook_points())

    def _select(self, names: Names) -> list[HookPoint]:
        points = self.hook_points()
        if names is None:
            return list(points.values())
        if callable(names):
            return [p for n, p in points.items() if names(n)]
        names = [names] if isinstance(names, str) else list(names)
        unknown = [n for n in names if n not in points]
        if unknown:
            raise ValueError(f"unknown hook point {unknown[0]!r}; the hook points are: {', '.join(points)}")
        return [points[n] for n in names]

    @contextlib.contextmanager
    def hooks(self, fwd_hooks: Hooks) -> Iterator["Transformer"]:
        """The model with ``fwd_hooks`` added for the block, and removed afterwards, on an exception too."""
        added: list[tuple[HookPoint, HookFn]] = []
        try:
            for names, fn in fwd_hooks:
                for point in self._select(names):
                    point.fns.append(fn)
                    added.append((point, fn))
            yield self
        finally:
            for point, fn in added:
                point.fns.remove(fn)

    def run_with_hooks(self, idx: torch.Tensor, fwd_hooks: Hooks = ()) -> torch.Tensor:
        """Logits of ``idx`` with ``fwd_hooks`` (``[(name or predicate, fn), ...]``) in place for this pass only."""
        with self.hooks(fwd_hooks):
            return self(idx)

    def run_with_cache(self, idx: torch.Tensor, names: Names = None, fwd_hooks: Hooks = ()
                       ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits and a cache ``{name: activation}`` of the hook points ``names`` (default: all), detached, as they
        pass after any ``fwd_hooks`` of the same point have acted."""
        cache: dict[str, torch.Tensor] = {}

        def store(x: torch.Tensor, hook: HookPoint) -> None:
            cache[hook.name] = x.detach()

        logits = self.run_with_hooks(idx, [*fwd_hooks, *((p.name, store) for p in self._select(names))])
        return logits, cache

    def set_fused_attention(self, allowed: bool) -> "Transformer":
        """Allow (default) or forbid the fused attention kernel, e.g. under vmap, which cannot batch it."""
        for block in self.blocks:
            block.attn.fused = allowed
        return self

    def n_params(self) -> int:
        """Trainable parameter count."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def pattern_name(layer: int) -> str:
    """The hook point of layer ``layer``'s attention pattern (layers counted from 1, as in the paper)."""
    return f"blocks.{layer - 1}.attn.hook_pattern"


def attention_patterns(model: Transformer, idx: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Logits and every layer's attention pattern (B, heads, T, T), read through the hook points."""
    names = [pattern_name(layer) for layer in range(1, len(model.blocks) + 1)]
    logits, cache = model.run_with_cache(idx, names=names)
    return logits, [cache[n] for n in names]
