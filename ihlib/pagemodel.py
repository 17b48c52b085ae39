"""The models a reader runs in the book's pages: exported as JavaScript files that define them, and the greedy chain
of thought they must reproduce (the reference the browser test compares the page with).

A page opened from ``file://`` cannot ``fetch()`` a file, so each model is a script, ``models/<name>.js``, that sets
``window.IH_MODELS[name]``: its architecture, its task (inputs, states, the table of F), its vocabulary and its
weights as base64 float16 (the shipped weights are float16, so nothing is lost) or float32 (the hand-built head's).
``book/_ext/page_models.py`` writes them at every build from the shipped checkpoints, so a retrained run reaches the
page on the next build.  ``book/_static/ihmodel.js`` is the forward pass and the widget.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import circuit
from .metrics import eval_mode
from .model import Transformer, attention_patterns, pattern_name
from .tasks import EOI, EOS, IterativeTask, Vocabulary


def _weights(model: Transformer) -> dict[str, dict]:
    out = {}
    for name, tensor in model.state_dict().items():
        values = tensor.detach().cpu().float().numpy()
        half = values.astype(np.float16)
        exact = np.array_equal(half.astype(np.float32), values)  # float16-shipped weights come back exactly
        data = half if exact else values.astype(np.float32)
        out[name] = {"shape": list(values.shape), "dtype": "float16" if exact else "float32",
                     "data": base64.b64encode(data.astype("<f2" if exact else "<f4").tobytes()).decode()}
    return out


def export(model: Transformer, task: IterativeTask, vocab: Vocabulary, title: str) -> dict:
    """Everything the page needs to run ``model`` on ``task``: architecture, task table, token ids, weights."""
    cfg = model.cfg
    if cfg.pos_dim not in (None, cfg.dim):
        raise ValueError("the page model needs positions of the model's full width")
    return {"title": title, "dim": cfg.dim, "n_layers": cfg.n_layers, "n_heads": cfg.n_heads,
            "n_positions": cfg.n_positions, "normalize_residual": cfg.normalize_residual,
            "max_len": (cfg.n_positions - 2) // 2, "vocab_size": cfg.vocab_size,
            "task": {"name": task.name, "token": vocab.task_token(task.name), **task.to_dict()},
            "value_offset": int(vocab.value_token(0)), "eoi": EOI, "eos": EOS,
            "weights": _weights(model)}


def write_script(exported: dict, name: str, out_dir: str | Path) -> Path:
    """``out_dir/<name>.js``, which registers the model under ``name`` when loaded with a ``<script>`` tag."""
    path = Path(out_dir) / f"{name}.js"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("(window.IH_MODELS = window.IH_MODELS || {})[" + json.dumps(name) + "] = "
                    + json.dumps(exported, separators=(",", ":")) + ";\n")
    return path


#: The page's interventions on a layer's attention at the rows that predict y_1..y_L (``ihlib.circuit``'s):
#: "uniform" (layer 1 over all it may see, layer 2 over the inputs) and "ideal" (layer 1 on EoI, layer 2 on x_t).
INTERVENTIONS = ("model", "uniform", "ideal")


#: (layer, intervention) -> the mechanism chapter's name of the same replacement (``ihlib.circuit``).
CIRCUIT_NAMES = {(1, "ideal"): "one-hot on EoI", (1, "uniform"): "uniform", (2, "ideal"): "one-hot on x_t",
                 (2, "uniform"): "uniform over the inputs"}


def forced_pattern(layer: int, kind: str, length: int) -> list[tuple[str, Callable]]:
    """The hook that imposes ``kind`` on ``layer`` in the answer rows present in a (growing) sequence: the
    mechanism chapter's replacement (``ihlib.circuit``), cut to the rows and keys the sequence has so far (the rows
    of a shorter sequence put no weight beyond it)."""
    if kind not in INTERVENTIONS:
        raise ValueError(f"intervention must be one of {INTERVENTIONS}, got {kind!r}")
    if kind == "model":
        return []
    name = CIRCUIT_NAMES[layer, kind]
    rows, new = (circuit.layer2_patterns(length)[name] if layer == 2
                 else (circuit.answer_rows(length), circuit.layer1_patterns(length)[name]))

    def hook(pattern: torch.Tensor, point) -> torch.Tensor:
        width = pattern.shape[-1]
        keep = rows < width
        cut = circuit.force_pattern(layer, rows[keep], lambda p: new(p)[keep][:, :width])[1]
        return cut(pattern, point)

    return [(pattern_name(layer), hook)]


@torch.no_grad()
def greedy_cot(model: Transformer, task: IterativeTask, vocab: Vocabulary, x: list[int], layer1: str = "model",
               layer2: str = "model") -> tuple[list[int], list[np.ndarray]]:
    """What the page computes: the tokens ``[task, x.., EoI]`` extended greedily by the model until it writes EoS or
    fills its positions, and each layer's attention (head 0, rows = queries) on the model's input, the generated
    sequence without its last token (as the book draws every map); ``layer1``, ``layer2``: the page's
    interventions (:data:`INTERVENTIONS`)."""
    tokens = [vocab.task_token(task.name), *[int(vocab.value_token(v)) for v in x], EOI]
    hooks = forced_pattern(1, layer1, len(x)) + forced_pattern(2, layer2, len(x))
    device = next(model.parameters()).device
    with eval_mode(model), model.hooks(hooks):
        while tokens[-1] != EOS and len(tokens) <= model.cfg.n_positions:
            logits = model(torch.tensor([tokens], device=device))
            tokens.append(int(logits[0, -1].argmax()))
        _, maps = attention_patterns(model, torch.tensor([tokens[:-1]], device=device))
    return tokens, [m[0, 0].cpu().numpy() for m in maps]
