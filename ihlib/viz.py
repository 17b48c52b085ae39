"""Figures: sequences, attention maps, training curves, and the attention stepper with its kernel-free twin.

The stepper is an ipywidgets slider in a live Jupyter/Colab kernel and a matplotlib animation (``to_jshtml``:
play button and frame slider, no kernel needed) in the static book; :func:`show_stepper` picks one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Sequence

import matplotlib.pyplot as plt
from IPython.display import Markdown
import numpy as np
import torch
from matplotlib import animation

from .metrics import ideal_attention, pattern_indices
from .tasks import EOI, EOS, Vocabulary

ROLE_COLOURS = {"task": "#b0b0b0", "input": "#8ecae6", "EoI": "#ffb703", "CoT": "#90be6d", "EoS": "#e5e5e5"}


def token_roles(tokens: Sequence[int], vocab: Vocabulary) -> list[str]:
    """The role of each token of one sequence: task, input, EoI, CoT (the answer) or EoS."""
    roles, seen_eoi = [], False
    for i, tok in enumerate(tokens):
        if i == 0:
            roles.append("task")
        elif tok == EOI:
            roles.append("EoI")
            seen_eoi = True
        elif tok == EOS and seen_eoi:
            roles.append("EoS")
        else:
            roles.append("CoT" if seen_eoi else "input")
    return roles


def plot_sequence(tokens: Sequence[int], vocab: Vocabulary, title: str = "", ax: plt.Axes | None = None,
                  width: int | None = None) -> plt.Axes:
    """One sequence as a strip of coloured boxes, one per token, with its position underneath.

    ``width`` (in tokens) fixes the axis length, so strips of different lengths share one box size.
    """
    tokens = [int(t) for t in tokens]
    width = max(width or 0, len(tokens))
    ax = ax or plt.subplots(figsize=(0.42 * width + 0.6, 1.0))[1]
    for i, (tok, role) in enumerate(zip(tokens, token_roles(tokens, vocab))):
        ax.add_patch(plt.Rectangle((i, 0), 0.95, 1, color=ROLE_COLOURS[role]))
        ax.text(i + 0.47, 0.5, vocab.decode(tok), ha="center", va="center", fontsize=6 if role == "task" else 8)
        ax.text(i + 0.47, -0.3, str(i), ha="center", va="center", fontsize=6, color="#555")
    ax.set_xlim(0, width)
    ax.set_ylim(-0.6, 1.05)
    ax.axis("off")
    ax.set_title(title, fontsize=9, loc="left")
    return ax


def role_legend(fig: plt.Figure) -> None:
    """A legend of the token roles used by :func:`plot_sequence`."""
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ROLE_COLOURS.values()]
    fig.legend(handles, list(ROLE_COLOURS), loc="lower center", ncol=len(ROLE_COLOURS), fontsize=8, frameon=False)


def plot_attention(attn: np.ndarray, labels: Sequence[str], title: str, ax: plt.Axes | None = None,
                   colorbar: bool = True) -> plt.Axes:
    """One attention map (queries as rows, keys as columns) with token labels and a 0..1 colour scale."""
    ax = ax or plt.subplots(figsize=(5, 4.4))[1]
    im = ax.imshow(np.asarray(attn), cmap="viridis", vmin=0, vmax=1)
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, labels, rotation=90, fontsize=6)
    ax.set_yticks(ticks, labels, fontsize=6)
    ax.set_xlabel("key (attended token)")
    ax.set_ylabel("query (current token)")
    ax.set_title(title, fontsize=9)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="attention weight")
    return ax


def sequence_labels(tokens: Sequence[int], vocab: Vocabulary) -> list[str]:
    """Axis labels ``position:token`` for the model's input ``seq[:-1]``."""
    return [f"{i}:{vocab.decode(int(t))}" for i, t in enumerate(tokens)]


def plot_ideal_maps(tokens: Sequence[int], vocab: Vocabulary) -> plt.Figure:
    """The two attention patterns of a perfect iteration head for one sequence (model input = seq[:-1]).

    Only the rows of the pattern are drawn; the other queries are left blank (white).
    """
    length = int(np.flatnonzero(np.asarray(tokens) == EOI)[0]) - 1
    labels = sequence_labels(tokens[:-1], vocab)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), constrained_layout=True)
    titles = ["ideal layer 1: CoT tokens attend to EoI", "ideal layer 2 (iteration head): $s_{t-1}$ attends to $x_t$"]
    for layer, (ax, title) in enumerate(zip(axes, titles), start=1):
        attn = ideal_attention(length, layer)
        outside = np.ones(len(attn), dtype=bool)
        outside[pattern_indices(length, layer)[0]] = False
        attn[outside] = np.nan
        plot_attention(attn, labels, title, ax, colorbar=layer == 2)
    return fig


@torch.no_grad()
def attention_maps(model: torch.nn.Module, tokens: torch.Tensor) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-layer attention of head 0 and the argmax predictions for one sequence (model input = tokens[:-1])."""
    was_training = model.training
    model.eval()
    logits, maps = model(tokens[None, :-1].to(next(model.parameters()).device), return_attention=True)
    model.train(was_training)
    return [m[0, 0].cpu().numpy() for m in maps], logits[0].argmax(-1).cpu().numpy()


def plot_model_attention(model: torch.nn.Module, tokens: torch.Tensor, vocab: Vocabulary, title: str = "") -> plt.Figure:
    """The model's layer-1 and layer-2 attention maps for one sequence, side by side."""
    maps, _ = attention_maps(model, tokens)
    labels = sequence_labels(tokens[:-1].tolist(), vocab)
    fig, axes = plt.subplots(1, len(maps), figsize=(5 * len(maps), 4.6), constrained_layout=True, squeeze=False)
    for i, attn in enumerate(maps):
        plot_attention(attn, labels, f"{title} layer {i + 1}".strip(), axes[0, i], colorbar=i == len(maps) - 1)
    return fig


def plot_training(history: Sequence[dict], title: str = "", rise_epoch: int | None = None) -> plt.Figure:
    """Test accuracy per length, and layer-1/layer-2 peakiness with test accuracy, against epochs."""
    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    lengths = sorted(int(k[len("test_accuracy_L"):]) for k in history[0] if k.startswith("test_accuracy_L"))
    cmap = plt.get_cmap("plasma", len(lengths) + 1)
    for i, n in enumerate(lengths):
        left.plot(epochs, [row[f"test_accuracy_L{n}"] for row in history], color=cmap(i), lw=1, label=f"L={n}")
    left.set(xlabel="epoch", ylabel="test accuracy (exact match)", title="test accuracy per input length", ylim=(-0.02, 1.02))
    left.legend(fontsize=6, ncol=2, title="length", title_fontsize=7)
    right.plot(epochs, [row["test_accuracy"] for row in history], "k-", lw=2, label="test accuracy")
    right.plot(epochs, [row["train_accuracy"] for row in history], "k:", lw=1, label="train accuracy")
    right.plot(epochs, [row["peakiness_layer1"] for row in history], "-", color="#fb8500", label="peakiness layer 1 (→ EoI)")
    right.plot(epochs, [row["peakiness_layer2"] for row in history], "-", color="#219ebc", label="peakiness layer 2 (→ x_t)")
    right.set(xlabel="epoch", ylabel="fraction", title="accuracy and iteration-head peakiness", ylim=(-0.02, 1.02))
    for ax in (left, right):
        if rise_epoch is not None:
            ax.axvline(rise_epoch, color="crimson", ls="--", lw=1)
            ax.text(rise_epoch, 0.02, f" rise: epoch {rise_epoch}", color="crimson", fontsize=7)
    right.legend(fontsize=7, loc="center right")
    fig.suptitle(title)
    return fig


def plot_seeds(groups: dict[str, Sequence[Sequence[dict]]], keys: Sequence[str] = ("test_accuracy", "peakiness_layer2"),
               title: str = "") -> plt.Figure:
    """One panel per history column in ``keys``: a thin line per seed and a thick line for the mean, one colour per
    group (label -> histories).  Seeds that stopped early keep their last value in the mean."""
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), constrained_layout=True, squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, key in zip(axes[0], keys):
        for i, (label, runs) in enumerate(groups.items()):
            epochs = sorted({row["epoch"] for run in runs for row in run})
            for run in runs:
                ax.plot([r["epoch"] for r in run], [r[key] for r in run], color=colours(i), lw=0.8, alpha=0.5)
            last = [{r["epoch"]: r[key] for r in run} for run in runs]
            mean = [np.mean([next((v[e] for e in sorted(v, reverse=True) if e <= epoch), np.nan) for v in last])
                    for epoch in epochs]
            ax.plot(epochs, mean, color=colours(i), lw=2.2, label=f"{label} (mean of {len(runs)})")
        ax.set(xlabel="epoch", ylabel=key.replace("_", " "), ylim=(-0.02, 1.02))
        ax.legend(fontsize=9, loc="lower right")
    fig.suptitle(title)
    return fig


def markdown_table(header: Sequence[str], rows: Sequence[Sequence], title: str = "", note: str = "") -> Markdown:
    """A table for a notebook output: a bold ``title`` above, an italic ``note`` below; cells shown with ``str``."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return Markdown((f"**{title}**\n\n" if title else "") + "\n".join(lines) + (f"\n\n*{note}*" if note else ""))


def rise_epoch(history: Sequence[dict], key: str, level: float = 0.5) -> int | None:
    """First evaluated epoch at which ``key`` reaches ``level`` (the middle of a sharp rise), or None."""
    return next((row["epoch"] for row in history if row[key] >= level), None)


@dataclass
class StepFrame:
    """What the stepper shows for one CoT step: both attention rows, picked tokens and the prediction."""

    query: int
    rows: list[np.ndarray]
    prediction: str
    target: str


def cot_steps(model: torch.nn.Module, tokens: torch.Tensor, vocab: Vocabulary) -> tuple[list[str], list[StepFrame]]:
    """One frame per prediction after EoI: the query at e + k predicts token e + k + 1."""
    maps, pred = attention_maps(model, tokens)
    length = int(np.flatnonzero(tokens.numpy() == EOI)[0]) - 1
    labels = sequence_labels(tokens[:-1].tolist(), vocab)
    frames = [StepFrame(q, [m[q] for m in maps], vocab.decode(int(pred[q])), vocab.decode(int(tokens[q + 1])))
              for q in range(length + 1, 2 * length + 2)]
    return labels, frames


def _draw_step(axes: Sequence[plt.Axes], labels: list[str], frame: StepFrame, length: int, title: str) -> None:
    for layer, (ax, row) in enumerate(zip(axes, frame.rows), start=1):
        ax.clear()
        ideal = dict(zip(*pattern_indices(length, layer))) if layer <= 2 else {}
        colours = ["#bbbbbb"] * len(labels)
        if frame.query in ideal:
            colours[ideal[frame.query]] = "#219ebc"
        colours[frame.query] = "#fb8500"
        ax.bar(np.arange(frame.query + 1), row[: frame.query + 1], color=colours[: frame.query + 1])
        ax.set_xticks(np.arange(len(labels)), labels, rotation=90, fontsize=6)
        ax.set_xlim(-0.6, len(labels) - 0.4)
        ax.set_ylim(0, 1.05)
        picked = labels[int(np.argmax(row[: frame.query + 1]))]
        ax.set_ylabel("attention weight")
        ax.set_title(f"layer {layer}: picks {picked}" + (f" (ideal: {labels[ideal[frame.query]]})"
                                                          if frame.query in ideal else ""), fontsize=8)
    ok = "✓" if frame.prediction == frame.target else "✗"
    axes[0].figure.suptitle(f"{title}query {labels[frame.query]} → predicts {frame.prediction} "
                            f"(true {frame.target}) {ok}", fontsize=9)


def stepper_animation(frames_of: Callable[[int], tuple[list[str], StepFrame, int, str]], n_frames: int,
                      n_layers: int) -> animation.FuncAnimation:
    """A matplotlib animation of the stepper: the static, kernel-free twin of the widget."""
    fig, axes = plt.subplots(n_layers, 1, figsize=(8, 2.4 * n_layers + 0.6), constrained_layout=True)
    axes = np.atleast_1d(axes)

    def draw(i: int) -> list:
        labels, frame, length, title = frames_of(i)
        _draw_step(axes, labels, frame, length, title)
        return list(axes)

    anim = animation.FuncAnimation(fig, draw, frames=n_frames, interval=900, blit=False)
    plt.close(fig)
    return anim


def _live() -> bool:
    """True in a live Jupyter/Colab kernel, False when building the static book (``IHLIB_STATIC=1``) or in a script."""
    if os.environ.get("IHLIB_STATIC", "") not in ("", "0"):
        return False
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:
        return False
    return shell is not None and type(shell).__name__ != "TerminalInteractiveShell"


def show_stepper(frames_of: Callable[[int], tuple[list[str], StepFrame, int, str]], n_frames: int, n_layers: int,
                 description: str = "step"):
    """A live ipywidgets slider in Jupyter/Colab, else an animation with play button and frame slider (HTML)."""
    if _live():
        import ipywidgets as widgets
        out = widgets.Output()
        slider = widgets.IntSlider(0, 0, n_frames - 1, description=description)
        fig, axes = plt.subplots(n_layers, 1, figsize=(8, 2.4 * n_layers + 0.6), constrained_layout=True)
        axes = np.atleast_1d(axes)
        plt.close(fig)

        def update(change: dict | None = None) -> None:
            labels, frame, length, title = frames_of(slider.value)
            _draw_step(axes, labels, frame, length, title)
            with out:
                out.clear_output(wait=True)
                from IPython.display import display
                display(fig)

        slider.observe(update, names="value")
        update()
        return widgets.VBox([slider, out])
    from IPython.display import HTML
    return HTML(stepper_animation(frames_of, n_frames, n_layers).to_jshtml(default_mode="once"))


def cot_stepper(model: torch.nn.Module, tokens: torch.Tensor, vocab: Vocabulary, title: str = ""):
    """Step through the CoT positions of one sequence: attention rows of each layer, picked token, prediction."""
    labels, frames = cot_steps(model, tokens, vocab)
    length = len(frames) - 1
    prefix = f"{title}: " if title else ""
    return show_stepper(lambda i: (labels, frames[i], length, prefix), len(frames), len(frames[0].rows), "CoT step")


def training_stepper(models: dict[int, torch.nn.Module], tokens: torch.Tensor, vocab: Vocabulary, step: int):
    """Step through training snapshots at one CoT step ``step``: watch the head form over epochs."""
    epochs = sorted(models)
    per_epoch = {e: cot_steps(models[e], tokens, vocab) for e in epochs}
    length = len(per_epoch[epochs[0]][1]) - 1

    def frame(i: int):
        labels, frames = per_epoch[epochs[i]]
        return labels, frames[step], length, f"epoch {epochs[i]}: "

    return show_stepper(frame, len(epochs), len(per_epoch[epochs[0]][1][0].rows), "snapshot")


def grid_heatmap(values: np.ndarray, rows: Sequence, cols: Sequence, title: str, xlabel: str, ylabel: str,
                 ax: plt.Axes, boundary: float | None = None) -> plt.Axes:
    """A heat map of a grid of results (rows x cols, e.g. width x L_max) with the values written in the cells and,
    if asked, the cells at or above ``boundary`` outlined."""
    im = ax.imshow(values, cmap="magma", vmin=0, vmax=1, origin="lower", aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8, color="w" if v < 0.6 else "k")
    for (i, j), v in np.ndenumerate(values):
        if boundary is not None and v >= boundary:
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="cyan", linewidth=2.5))
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax
