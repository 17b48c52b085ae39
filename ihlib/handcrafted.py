"""An iteration head built by hand: explicit weights for the paper's 2-layer, 1-head transformer (notes §3).

The residual stream is laid out in named blocks of one-hot coordinates (:class:`Layout`):

* ``const``: a large constant C carried by every token embedding.  It fixes the LayerNorm scale (the stream's
  norm is C up to a fraction of a percent) and serves as the bias unit that the bias-free MLPs need;
* ``token``, ``pos``: the token and position embeddings;
* ``eoi_pos``: written by layer-1 attention, which sends every query after EoI to the EoI token and copies its
  position p_{L+1};
* ``target``: written by the layer-1 MLP, a lookup table (q, e) -> t = q - e + 1 over position pairs;
* ``x``: written by layer-2 attention (the iteration head), which matches ``target`` with the keys' positions and
  copies the token found there, x_t;
* ``out``: written by the layer-2 MLP, a lookup table (s_{t-1}, x_t) -> F(s_{t-1}, x_t), read by the unembedding.

The logical blocks live in a zero-sum subspace of R^d (so LayerNorm's mean subtraction is a no-op): exactly, with
orthonormal directions, when d is large enough, or squeezed into a smaller d along random directions, which is how
:func:`accuracy_by_width` measures what the construction really needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .metrics import evaluate
from .model import ModelConfig, Transformer
from .tasks import EOI, EOS, IterativeTask, Vocabulary, make_dataset, sequence_length

C = 30.0       # the constant coordinate: LayerNorm divides by ~C everywhere
BETA = 20.0    # attention logit of the selected key (e^-20 leaks to the others)
ALPHA = 20.0   # MLP unit gain: GELU(+10) ~ 10 when a unit's two features are on, GELU(-10) ~ 0 otherwise
ZETA = 10.0    # logit of the correct token


@dataclass(frozen=True)
class Layout:
    """Logical coordinates of the residual stream: blocks of one-hot features (see the module docstring)."""

    vocab_size: int
    n_positions: int

    def block(self, name: str) -> int:
        """First logical coordinate of a block."""
        v, p = self.vocab_size, self.n_positions
        starts = {"const": 0, "token": 1, "pos": 1 + v, "eoi_pos": 1 + v + p, "target": 1 + v + 2 * p,
                  "x": 1 + v + 3 * p, "out": 1 + 2 * v + 3 * p}
        return starts[name]

    @property
    def size(self) -> int:
        return 1 + 3 * self.vocab_size + 3 * self.n_positions

    def index(self, name: str, i: int = 0) -> int:
        return self.block(name) + i


def mlp_units(task: IterativeTask, max_len: int) -> tuple[int, int]:
    """Hidden units the two lookup tables need: (layer 1: position pairs, layer 2: (state, input) pairs + |X| + 2)."""
    return max_len * (max_len + 3) // 2, len(task.states) * len(task.inputs) + len(task.inputs) + 2


def min_exact_width(vocab: Vocabulary, max_len: int) -> int:
    """Width at which every logical feature gets its own orthogonal direction (one more for the zero-sum)."""
    return Layout(vocab.size, sequence_length(max_len) - 1).size + 1


def feature_directions(d: int, m: int, seed: int, basis: str = "auto") -> np.ndarray:
    """``m`` unit vectors in the zero-sum subspace of R^d (LayerNorm removes the mean): ``"orthonormal"`` (needs
    d > m), ``"random"`` (nearly orthogonal: the only choice when d <= m), or ``"auto"``: orthonormal where they fit.

    The first one (the large constant) is always kept orthogonal to the others: its leak would be C times larger.
    """
    if basis not in ("auto", "orthonormal", "random"):
        raise ValueError(f"basis must be 'auto', 'orthonormal' or 'random', got {basis!r}")
    if basis == "orthonormal" and d <= m:
        raise ValueError(f"{m} orthonormal directions need a zero-sum subspace of at least {m} dimensions: d > {m}")
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((d, m))
    raw -= raw.mean(axis=0, keepdims=True)
    if d > m and basis != "random":
        return np.linalg.qr(raw)[0][:, :m]
    const = raw[:, 0] / np.linalg.norm(raw[:, 0])
    rest = raw[:, 1:] - np.outer(const, const @ raw[:, 1:])
    return np.concatenate([const[:, None], rest / np.linalg.norm(rest, axis=0, keepdims=True)], axis=1)


def build_iteration_head(task: IterativeTask, max_len: int, dim: int | None = None,
                         vocab: Vocabulary | None = None, seed: int = 0, mlp_ratio: int | None = None,
                         basis: str = "auto") -> Transformer:
    """A 2-layer, 1-head transformer whose weights implement the iteration head for ``task`` up to ``max_len``.

    ``dim`` defaults to :func:`min_exact_width`, the smallest width at which every feature gets its own orthonormal
    direction; smaller widths squeeze the features into random directions (``basis``: see
    :func:`feature_directions`) and may fail, which :func:`accuracy_by_width` measures.  The MLP ratio defaults to
    the smallest that holds both lookup tables.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    vocab = vocab or Vocabulary.for_tasks([task])
    vocab.check(task)
    n_pos = sequence_length(max_len) - 1
    lay = Layout(vocab.size, n_pos)
    dim = dim or min_exact_width(vocab, max_len)
    if dim < max(n_pos, vocab.size) + 1:
        raise ValueError(f"width {dim} is too small: the heads need at least {max(n_pos, vocab.size) + 1} dimensions "
                         f"for {n_pos} positions and {vocab.size} tokens")
    units1, units2 = mlp_units(task, max_len)
    needed = math.ceil(max(units1, units2) / dim)
    if mlp_ratio is not None and mlp_ratio < needed:
        raise ValueError(f"mlp_ratio {mlp_ratio} is too small: the lookup tables need {max(units1, units2)} units")
    mlp_ratio = mlp_ratio or needed
    model = Transformer(ModelConfig(vocab.size, n_pos, dim, n_layers=2, n_heads=1, mlp_ratio=mlp_ratio, dropout=0.0,
                                    normalize_residual=False))
    q = feature_directions(dim, lay.size, seed, basis)                 # (d, m): logical feature -> residual direction
    s = math.sqrt(dim) / C                                     # LayerNorm output ~ s * z for logical content z
    read = lambda name, i=0: q[:, lay.index(name, i)] / s      # reads feature (name, i) off LayerNorm's output
    bias = q[:, lay.index("const")] / (s * C)                  # reads 1 off LayerNorm's output

    w = {k: np.zeros(tuple(v.shape)) for k, v in model.state_dict().items()}
    for k in w:
        if k.startswith("ln") or ".ln" in k:
            w[k][:] = 1.0
    for t in range(vocab.size):
        w["tok_emb.weight"][t] = q[:, lay.index("token", t)] + C * q[:, lay.index("const")]
    for p in range(n_pos):
        w["pos_emb.weight"][p] = q[:, lay.index("pos", p)]

    lam = BETA * math.sqrt(dim)
    # layer 1 attention: every query -> the EoI key; the value is the key's position, written to eoi_pos
    qkv, out = w["blocks.0.attn.qkv.weight"], w["blocks.0.attn.out.weight"]
    qkv[0] = lam * bias
    qkv[dim + 0] = read("token", EOI)
    for p in range(n_pos):
        qkv[2 * dim + p] = read("pos", p)
        out[:, p] = q[:, lay.index("eoi_pos", p)]
    # layer 1 MLP: unit (query position, EoI position) -> target position t = query - EoI + 1
    fc, proj = w["blocks.0.mlp.fc.weight"], w["blocks.0.mlp.proj.weight"]
    unit = 0
    for e in range(2, max_len + 2):
        for qpos in range(e, 2 * e):
            fc[unit] = ALPHA * (read("pos", qpos) + read("eoi_pos", e) - 1.5 * bias)
            proj[:, unit] = q[:, lay.index("target", qpos - e + 1)] / (0.5 * ALPHA)
            unit += 1
    # layer 2 attention, the iteration head: query target t matches key position t; the value is the key's token
    qkv, out = w["blocks.1.attn.qkv.weight"], w["blocks.1.attn.out.weight"]
    for p in range(n_pos):
        qkv[p] = lam * read("target", p)
        qkv[dim + p] = read("pos", p)
    for t in range(vocab.size):
        qkv[2 * dim + t] = read("token", t)
        out[:, t] = q[:, lay.index("x", t)]
    # layer 2 MLP: unit (s_{t-1}, x_t) -> F(s_{t-1}, x_t); (EoI, x_1) -> y_1; x = EoI (past the last input) -> EoS;
    # token EoS -> EoS
    fc, proj = w["blocks.1.mlp.fc.weight"], w["blocks.1.mlp.proj.weight"]
    rules = [(vocab.value_token(s), vocab.value_token(x), vocab.value_token(int(task._table[s, x])))
             for s in task.states for x in task.inputs]
    rules += [(EOI, vocab.value_token(x), vocab.value_token(int(task._first[x]))) for x in task.inputs]
    for unit, (tok, x, y) in enumerate(rules):
        fc[unit] = ALPHA * (read("token", tok) + read("x", x) - 1.5 * bias)
        proj[:, unit] = q[:, lay.index("out", y)] / (0.5 * ALPHA)
    fc[len(rules)] = ALPHA * (read("x", EOI) - 0.5 * bias)
    proj[:, len(rules)] = q[:, lay.index("out", EOS)] / (0.5 * ALPHA)
    fc[len(rules) + 1] = ALPHA * (read("token", EOS) - 0.5 * bias)  # the EoS padding of a batch: EoS again
    proj[:, len(rules) + 1] = q[:, lay.index("out", EOS)] / (0.5 * ALPHA)
    for t in range(vocab.size):
        w["unembed.weight"][t] = ZETA * read("out", t)
    model.load_state_dict({k: torch.tensor(v, dtype=torch.float32) for k, v in w.items()})
    return model.eval()


def transplant_mlp2(model: Transformer, donor: Transformer) -> Transformer:
    """A copy of ``model`` whose layer-2 MLP is ``donor``'s: the attention (the iteration head) is left untouched."""
    if model.cfg != donor.cfg:
        raise ValueError("the donor must have the same architecture (width, MLP size, vocabulary)")
    new = Transformer(model.cfg)
    new.load_state_dict(model.state_dict())
    new.blocks[1].mlp.load_state_dict(donor.blocks[1].mlp.state_dict())
    return new.eval()


def accuracy_by_width(task: IterativeTask, max_len: int, widths: list[int], n_per_length: int = 256,
                      seed: int = 0, basis: str = "auto") -> dict[int, float]:
    """Worst per-length test accuracy of the construction at each width, its features on ``basis`` directions
    (``"auto"``: orthonormal where they fit, i.e. from :func:`min_exact_width` up; random below)."""
    data = make_dataset(task, max_len, n_per_length, seed=seed, split="test", vocab=Vocabulary.for_tasks([task]))
    return {d: min(evaluate(build_iteration_head(task, max_len, d, seed=seed, basis=basis), data,
                            attention=False).accuracy.values()) for d in widths}
