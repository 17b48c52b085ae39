"""Figures: sequences, attention maps, training curves, and the attention stepper with its kernel-free twin.

The stepper is an ipywidgets slider in a live Jupyter/Colab kernel and a matplotlib animation (``to_jshtml``:
play button and frame slider, no kernel needed) in the static book; :func:`show_stepper` picks one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Sequence

import matplotlib
import matplotlib.pyplot as plt
from IPython.display import Markdown
import numpy as np
import torch
from matplotlib import animation
from matplotlib.lines import Line2D

from .metrics import eval_mode, ideal_attention, pattern_indices
from .model import attention_patterns
from .tasks import EOI, EOS, Vocabulary

#: The widest a figure is drawn, in inches at matplotlib's 100 dpi: the book's output column is 676 px wide (in a
#: 1280 px window), so no figure is scaled down and its text keeps its size.
COLUMN_INCHES = 6.6
#: The smallest text in any figure, in points (``tests/test_viz.py`` checks every figure of this module).
MIN_FONT = 9
QUERY_COLOUR, IDEAL_COLOUR, EOI_LABEL_COLOUR = "#fb8500", "#219ebc", "#9c5d00"

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


def legibility_problems(fig: plt.Figure) -> list[str]:
    """What would make ``fig`` hard to read in the book: wider than :data:`COLUMN_INCHES`, or visible text smaller
    than :data:`MIN_FONT` points (tick labels included).  Empty if none."""
    fig.canvas.draw()
    problems = []
    width = max(fig.get_figwidth(), fig.get_tightbbox(fig.canvas.get_renderer()).width)
    if width > COLUMN_INCHES + 0.05:
        problems.append(f"{width:.1f} in wide (the column is {COLUMN_INCHES} in)")
    for text in fig.findobj(matplotlib.text.Text):
        if text.get_visible() and text.get_text().strip() and text.get_fontsize() < MIN_FONT:
            problems.append(f"{text.get_text()!r} at {text.get_fontsize():.1f} pt")
    return problems


def token_ticks(ax: plt.Axes, labels: Sequence[str], axis: str = "x", highlight: dict[int, str] | None = None) -> None:
    """Token labels on an axis, as many as fit its length at :data:`MIN_FONT` (every k-th token when fewer fit),
    with the positions in ``highlight`` (position -> colour) always labelled, in bold and that colour."""
    highlight = highlight or {}
    fig = ax.figure
    box = ax.get_position()
    inches = box.width * fig.get_figwidth() if axis == "x" else box.height * fig.get_figheight()
    fit = max(2, int(inches * 72 / (MIN_FONT * 1.4)))
    step = -(-len(labels) // fit)
    regular = {i for i in range(0, len(labels), step) if all(abs(i - h) >= step for h in highlight)}
    shown = sorted(regular | set(highlight))
    setter = ax.set_xticks if axis == "x" else ax.set_yticks
    setter(shown, [labels[i] for i in shown], **({"rotation": 90} if axis == "x" else {}))
    texts = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    for i, text in zip(shown, texts):
        if i in highlight:
            text.set(color=highlight[i], fontweight="bold")


def plot_sequence(tokens: Sequence[int], vocab: Vocabulary, title: str = "", ax: plt.Axes | None = None,
                  width: int | None = None) -> plt.Axes:
    """One sequence as a strip of coloured boxes, one per token, with its position underneath (the task token is
    written "task": the title names the task).

    ``width`` (in tokens) fixes the axis length, so strips of different lengths share one box size.
    """
    tokens = [int(t) for t in tokens]
    width = max(width or 0, len(tokens))
    ax = ax or plt.subplots(figsize=(min(COLUMN_INCHES, 0.42 * width + 0.3), 1.2))[1]
    narrow = ax.get_position().width * ax.figure.get_figwidth() / width < 0.34  # boxes too narrow for 3 letters
    for i, (tok, role) in enumerate(zip(tokens, token_roles(tokens, vocab))):
        # a white edge of fixed line width: a gap in data units can round to no pixel at all in a narrow strip
        ax.add_patch(plt.Rectangle((i, 0), 1, 1, facecolor=ROLE_COLOURS[role], edgecolor="white", linewidth=1.5))
        label = "task" if role == "task" else vocab.decode(tok)
        ax.text(i + 0.5, 0.5, label, ha="center", va="center", fontsize=MIN_FONT,
                rotation=90 if narrow and len(label) > 1 else 0)
        if not narrow or i % 5 == 0:
            ax.text(i + 0.5, -0.35, str(i), ha="center", va="center", fontsize=MIN_FONT, color="#555")
    ax.set_xlim(0, width)
    ax.set_ylim(-0.7, 1.05)
    ax.axis("off")
    ax.set_title(title, fontsize=10, loc="left")
    return ax


def role_legend(fig: plt.Figure) -> None:
    """A legend of the token roles used by :func:`plot_sequence`."""
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ROLE_COLOURS.values()]
    fig.legend(handles, list(ROLE_COLOURS), loc="lower center", ncol=len(ROLE_COLOURS), frameon=False)


def plot_attention(attn: np.ndarray, labels: Sequence[str], title: str, ax: plt.Axes | None = None,
                   colorbar: bool = True, ylabel: bool = True) -> plt.Axes:
    """One attention map (queries as rows, keys as columns) with token labels (EoI's always, in bold) and a 0..1
    colour scale."""
    ax = ax or plt.subplots(figsize=(3.9, 3.6), constrained_layout=True)[1]
    im = ax.imshow(np.asarray(attn), cmap="viridis", vmin=0, vmax=1)
    eoi = {i: EOI_LABEL_COLOUR for i, label in enumerate(labels) if label.endswith(":EoI")}  # always labelled
    token_ticks(ax, labels, "x", eoi)
    token_ticks(ax, labels, "y", eoi)
    ax.tick_params(labelsize=MIN_FONT)
    ax.set_xlabel("key (attended token)")
    if ylabel:
        ax.set_ylabel("query (current token)")
    ax.set_title(title, fontsize=10)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="attention weight")
    return ax


def sequence_labels(tokens: Sequence[int], vocab: Vocabulary) -> list[str]:
    """Axis labels ``position:token`` for the model's input ``seq[:-1]`` (the task token is ``0:task``)."""
    return [f"{i}:{'task' if i == 0 else vocab.decode(int(t))}" for i, t in enumerate(tokens)]


def plot_ideal_maps(tokens: Sequence[int], vocab: Vocabulary) -> plt.Figure:
    """The two attention patterns of a perfect iteration head for one sequence (model input = seq[:-1]).

    Only the rows of the pattern are drawn; the other queries are left blank (white).
    """
    length = int(np.flatnonzero(np.asarray(tokens) == EOI)[0]) - 1
    labels = sequence_labels(tokens[:-1], vocab)
    fig, axes = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 3.6), constrained_layout=True)
    titles = ["ideal layer 1: CoT → EoI", "ideal layer 2: $y_{t-1}$ → $x_t$"]
    for layer, (ax, title) in enumerate(zip(axes, titles), start=1):
        attn = ideal_attention(length, layer)
        outside = np.ones(len(attn), dtype=bool)
        outside[pattern_indices(length, layer)[0]] = False
        attn[outside] = np.nan
        plot_attention(attn, labels, title, ax, colorbar=layer == 2, ylabel=layer == 1)
    return fig


@torch.no_grad()
def attention_maps(model: torch.nn.Module, tokens: torch.Tensor) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-layer attention of head 0 and the argmax predictions for one sequence (model input = tokens[:-1])."""
    with eval_mode(model):
        logits, maps = attention_patterns(model, tokens[None, :-1].to(next(model.parameters()).device))
    return [m[0, 0].cpu().numpy() for m in maps], logits[0].argmax(-1).cpu().numpy()


def plot_model_attention(model: torch.nn.Module, tokens: torch.Tensor, vocab: Vocabulary, title: str = "") -> plt.Figure:
    """The model's layer-1 and layer-2 attention maps for one sequence, side by side."""
    maps, _ = attention_maps(model, tokens)
    labels = sequence_labels(tokens[:-1].tolist(), vocab)
    fig, axes = plt.subplots(1, len(maps), figsize=(min(COLUMN_INCHES, 3.6 * len(maps)), 3.6), constrained_layout=True,
                             squeeze=False)
    for i, attn in enumerate(maps):
        plot_attention(attn, labels, f"{title} layer {i + 1}".strip(), axes[0, i], colorbar=i == len(maps) - 1,
                       ylabel=i == 0)
    return fig


def plot_training(history: Sequence[dict], title: str = "", rise_epoch: int | None = None) -> plt.Figure:
    """Test accuracy per length, and layer-1/layer-2 peakiness with test accuracy, against epochs."""
    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 4.2), constrained_layout=True)
    lengths = sorted(int(k[len("test_accuracy_L"):]) for k in history[0] if k.startswith("test_accuracy_L"))
    cmap = plt.get_cmap("plasma", len(lengths) + 1)
    for i, n in enumerate(lengths):
        left.plot(epochs, [row[f"test_accuracy_L{n}"] for row in history], color=cmap(i), lw=1, label=f"L={n}")
    left.set(xlabel="epoch", ylabel="test accuracy", title="per input length L", ylim=(-0.02, 1.02))
    below = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.2), "frameon": False, "fontsize": MIN_FONT}
    left.legend(ncol=4, columnspacing=0.8, handlelength=1.2, **below)
    right.plot(epochs, [row["test_accuracy"] for row in history], "k-", lw=2, label="test accuracy")
    right.plot(epochs, [row["train_accuracy"] for row in history], "k:", lw=1, label="train accuracy")
    right.plot(epochs, [row["peakiness_layer1"] for row in history], "-", color=QUERY_COLOUR,
               label="peakiness layer 1 (→ EoI)")
    right.plot(epochs, [row["peakiness_layer2"] for row in history], "-", color=IDEAL_COLOUR,
               label="peakiness layer 2 (→ $x_t$)")
    right.set(xlabel="epoch", ylabel="fraction", title="accuracy and peakiness", ylim=(-0.02, 1.02))
    for ax in (left, right):
        if rise_epoch is not None:
            ax.axvline(rise_epoch, color="crimson", ls="--", lw=1)
    if rise_epoch is not None:
        # at the foot of the line, on a white ground: after the rise the accuracy curves are high, so it is clear
        right.text(rise_epoch, 0.02, f" epoch {rise_epoch}", color="crimson", fontsize=MIN_FONT, va="bottom",
                   bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    right.legend(ncol=1, **below)
    fig.suptitle(title, fontsize=11)
    return fig


#: How the book names the history columns it plots.
KEY_LABELS = {"test_accuracy": "test accuracy", "train_accuracy": "training accuracy",
              "peakiness_layer1": "L1 peakiness (→ EoI)", "peakiness_layer2": "L2 peakiness (→ $x_t$)",
              "test_accuracy_parity": "parity test accuracy"}


def _with_count(label: str, n: int) -> str:
    """``label`` with how many seeds its mean line averages, inside the label's own closing parenthesis if it has
    one (``"scratch (ch. 3)"`` -> ``"scratch (ch. 3; mean of 3)"``)."""
    return f"{label[:-1]}; mean of {n})" if label.endswith(")") else f"{label} (mean of {n})"


def plot_seeds(groups: dict[str, Sequence[Sequence[dict]]], keys: Sequence[str] = ("test_accuracy", "peakiness_layer2"),
               title: str = "", reference: dict[str, Sequence[tuple[float, float]]] | None = None,
               reference_label: str = "the paper (read off its plots, ±0.05)", x: str = "epoch",
               xlim: tuple[float, float] | None = None) -> plt.Figure:
    """One panel per history column in ``keys``: a thin line per seed and a thick line for the mean, one colour per
    group (label -> histories), against ``x`` (``"epoch"`` or ``"step"``, the optimiser step).  Seeds that stopped
    early keep their last value in the mean.  ``reference``: points (x, value) per key drawn as black error bars of
    ±0.05, e.g. the paper's numbers."""
    fig, axes = plt.subplots(1, len(keys), figsize=(min(COLUMN_INCHES, 3.4 * len(keys)), 3.2),
                             constrained_layout=True, squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, key in zip(axes[0], keys):
        for i, (label, runs) in enumerate(groups.items()):
            epochs = sorted({row[x] for run in runs for row in run})
            for run in runs:
                ax.plot([r[x] for r in run], [r[key] for r in run], color=colours(i), lw=0.8, alpha=0.55)
            last = [{r[x]: r[key] for r in run} for run in runs]
            mean = [np.mean([next((v[e] for e in sorted(v, reverse=True) if e <= epoch), np.nan) for v in last])
                    for epoch in epochs]
            ax.plot(epochs, mean, color=colours(i), lw=2.2, label=_with_count(label, len(runs)))
        for epoch, value in (reference or {}).get(key, ()):
            ax.errorbar([epoch], [value], yerr=0.05, fmt="o", color="k", ms=4, capsize=3, label=reference_label)
        ax.set(xlabel="optimiser step" if x == "step" else x, ylim=(-0.02, 1.02),
               title=KEY_LABELS.get(key, key.replace("_", " ")))
        if xlim is not None:
            ax.set_xlim(*xlim)
    handles, labels = [], []
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncol=min(2, len(labels)), frameon=False)
    fig.suptitle(title, fontsize=11)
    return fig


def markdown_table(header: Sequence[str], rows: Sequence[Sequence], title: str = "", note: str = "") -> Markdown:
    """A table for a notebook output: a bold ``title`` above, an italic ``note`` below; cells shown with ``str``."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return Markdown((f"**{title}**\n\n" if title else "") + "\n".join(lines) + (f"\n\n*{note}*" if note else ""))


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
        marks = {frame.query: QUERY_COLOUR}
        if frame.query in ideal:
            colours[ideal[frame.query]] = IDEAL_COLOUR
            marks[ideal[frame.query]] = IDEAL_COLOUR
        ax.axvspan(frame.query - 0.5, frame.query + 0.5, color=QUERY_COLOUR, alpha=0.25, lw=0)
        ax.bar(np.arange(frame.query + 1), row[: frame.query + 1], color=colours[: frame.query + 1])
        token_ticks(ax, labels, "x", marks)
        ax.tick_params(labelsize=MIN_FONT)
        ax.set_xlim(-0.6, len(labels) - 0.4)
        ax.set_ylim(0, 1.05)
        picked = labels[int(np.argmax(row[: frame.query + 1]))]
        ax.set_ylabel("attention")
        target = (f" (ideal: {labels[ideal[frame.query]]})" if frame.query in ideal
                  else " (the head has no target at this token)" if layer <= 2 else "")
        ax.set_title(f"layer {layer}: looks at {picked}{target}", fontsize=10)
    ok = "✓" if frame.prediction == frame.target else "✗"
    axes[0].figure.suptitle(f"{title}current token {labels[frame.query]} (shaded) → predicts {frame.prediction} "
                            f"(true {frame.target}) {ok}", fontsize=10)


def _stepper_figure(n_layers: int) -> tuple[plt.Figure, np.ndarray]:
    fig, axes = plt.subplots(n_layers, 1, figsize=(COLUMN_INCHES, 2.1 * n_layers + 0.7), constrained_layout=True)
    return fig, np.atleast_1d(axes)


def stepper_animation(frames_of: Callable[[int], tuple[list[str], StepFrame, int, str]], n_frames: int,
                      n_layers: int) -> animation.FuncAnimation:
    """A matplotlib animation of the stepper: the static, kernel-free twin of the widget."""
    fig, axes = _stepper_figure(n_layers)

    def draw(i: int) -> list:
        labels, frame, length, title = frames_of(i)
        _draw_step(axes, labels, frame, length, title)
        return list(axes)

    anim = animation.FuncAnimation(fig, draw, frames=n_frames, interval=900, blit=False)
    plt.close(fig)
    return anim


def _animation_html(frames_of: Callable[[int], tuple[list[str], StepFrame, int, str]], n_frames: int,
                    n_layers: int) -> str:
    return stepper_animation(frames_of, n_frames, n_layers).to_jshtml(default_mode="once")


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


def show_stepper(frames_of: Callable[[int], tuple[list[str], StepFrame, int, str]], frame_names: Sequence[str],
                 n_layers: int, description: str = "step"):
    """A live ipywidgets slider in Jupyter/Colab (its value shows ``frame_names``: the CoT step, the snapshot's
    epoch), else an animation with play button and frame slider (HTML).

    The live stepper also carries the animation as its HTML form: a front end that cannot show widgets (JupyterLab
    without the widget extension, a notebook viewer) shows the animation instead of a still frame and a repr."""
    n_frames = len(frame_names)
    if not _live():
        from IPython.display import HTML
        return HTML(_animation_html(frames_of, n_frames, n_layers))
    import ipywidgets as widgets
    from IPython.display import display

    class Stepper(widgets.VBox):
        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs)
            bundle["text/html"] = _animation_html(frames_of, n_frames, n_layers)
            bundle["text/plain"] = f"attention stepper ({n_frames} frames): needs a front end that shows widgets"
            return bundle

    out = widgets.Output()
    slider = widgets.SelectionSlider(options=[(str(name), i) for i, name in enumerate(frame_names)], value=0,
                                     description=description)
    fig, axes = _stepper_figure(n_layers)
    plt.close(fig)

    def update(change: dict | None = None) -> None:
        labels, frame, length, title = frames_of(slider.value)
        _draw_step(axes, labels, frame, length, title)
        with out:
            out.clear_output(wait=True)
            display(fig)

    slider.observe(update, names="value")
    update()
    return Stepper([slider, out])


def cot_stepper(model: torch.nn.Module, tokens: torch.Tensor, vocab: Vocabulary, title: str = ""):
    """Step through the CoT positions of one sequence: attention rows of each layer, picked token, prediction."""
    labels, frames = cot_steps(model, tokens, vocab)
    length = len(frames) - 1
    prefix = f"{title}: " if title else ""
    return show_stepper(lambda i: (labels, frames[i], length, prefix), [labels[f.query] for f in frames],
                        len(frames[0].rows), "token")


def training_stepper(models: dict[int, torch.nn.Module], tokens: torch.Tensor, vocab: Vocabulary, step: int):
    """Step through training snapshots (epoch -> model) at one CoT step ``step``: watch the head form over epochs."""
    epochs = sorted(models)
    per_epoch = {e: cot_steps(models[e], tokens, vocab) for e in epochs}
    length = len(per_epoch[epochs[0]][1]) - 1

    def frame(i: int):
        labels, frames = per_epoch[epochs[i]]
        return labels, frames[step], length, f"epoch {epochs[i]}: "

    return show_stepper(frame, epochs, len(per_epoch[epochs[0]][1][0].rows), "epoch")


def grid_heatmap(values: np.ndarray, rows: Sequence, cols: Sequence, title: str, xlabel: str, ylabel: str,
                 ax: plt.Axes, outlined: np.ndarray | None = None) -> plt.Axes:
    """A heat map of a grid of results (rows x cols, e.g. width x L_max) with the values written in the cells and,
    if asked, the cells where the boolean grid ``outlined`` is true outlined (the same cells on every panel of one
    figure, whatever each panel shows)."""
    if outlined is not None and np.shape(outlined) != values.shape:
        raise ValueError(f"outlined has shape {np.shape(outlined)}, the values {values.shape}")
    im = ax.imshow(values, cmap="magma", vmin=0, vmax=1, origin="lower", aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=MIN_FONT, color="w" if v < 0.6 else "k")
    for i, j in np.argwhere(outlined) if outlined is not None else ():
        ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="cyan", linewidth=2.5))
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax


def plot_weight_blocks(panels: Sequence[tuple[np.ndarray, str, str]], blocks: Sequence[str], edges: Sequence[int],
                       title: str) -> plt.Figure:
    """Weight matrices read in a logical basis, one panel per ``(matrix, title, what its rows are)``, their columns
    grouped into the named ``blocks`` (``edges``: each block's first column, then the end).

    Colour is the sign of a weight, saturated at the smallest weight that matters in its panel (above 1e-3 of the
    largest; below that is the rounding noise of an orthonormal basis), so a large constant does not wash out the
    rest."""
    rows = -(-len(panels) // 2)
    fig, axes = plt.subplots(rows, 2, figsize=(COLUMN_INCHES, 2.3 * rows + 0.6), constrained_layout=True,
                             squeeze=False)
    for ax, (m, panel_title, what) in zip(axes.flat, panels):
        big = np.abs(m) > 1e-3 * np.abs(m).max()
        lim = np.abs(m[big]).min()
        im = ax.imshow(np.clip(m / lim, -1, 1), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
        ax.set_title(panel_title, fontsize=10)
        ax.set_xticks([(a + b) / 2 - 0.5 for a, b in zip(edges, edges[1:])], blocks, rotation=90, fontsize=MIN_FONT)
        for e in edges[1:-1]:
            ax.axvline(e - 0.5, color="k", lw=0.4)
        ax.set_yticks([])
        ax.set_ylabel(what)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    bar = fig.colorbar(im, ax=axes, shrink=0.5, ticks=[-1, 0, 1])
    bar.ax.set_yticklabels(["< 0", "0", "> 0"])
    bar.set_label("sign of the weight (saturated)")
    fig.suptitle(title, fontsize=11)
    return fig


def plot_attention_shares(shares: dict[str, dict[str, float]], title: str, xlabel: str) -> plt.Figure:
    """Stacked bars, one per label, of where a layer's attention goes (``metrics.attention_shares``)."""
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 0.7 * len(shares) + 1.6), constrained_layout=True)
    colours = [IDEAL_COLOUR, "#8ecae6", "#cccccc"]
    for i, (label, parts) in enumerate(shares.items()):
        left = 0.0
        for (part, value), colour in zip(parts.items(), colours):
            ax.barh(i, value, left=left, color=colour, label=part if i == 0 else None)
            if value >= 0.06:
                ax.text(left + value / 2, i, f"{value:.2f}", ha="center", va="center", fontsize=MIN_FONT)
            left += value
    ax.set_yticks(range(len(shares)), list(shares))
    ax.set(xlim=(0, 1), xlabel=xlabel, title=title)
    fig.legend(loc="outside lower center", ncol=3, frameon=False)
    return fig


def plot_final_values(groups: dict[str, Sequence[Sequence[dict]]], keys: Sequence[str], title: str = "",
                      chance: dict[str, float] | None = None) -> plt.Figure:
    """The last evaluation of every run, one panel per history column in ``keys``: a dot per seed and a bar for
    the mean, one bar per group (label -> histories).  NaN values (no CoT: no attention pattern) are left out.
    ``chance``: group label -> the accuracy of guessing its one answer token, drawn as a dashed mark across that
    group's bar on the accuracy panels (a whole CoT sequence's chance is far lower, so CoT groups get none)."""
    unknown = set(chance or {}) - set(groups)
    if unknown:
        raise ValueError(f"chance levels for groups not plotted: {sorted(unknown)}")
    fig, axes = plt.subplots(1, len(keys), figsize=(COLUMN_INCHES, 2.2 + 0.09 * max(map(len, groups))),
                             constrained_layout=True, squeeze=False)
    for ax, key in zip(axes[0], keys):
        for i, (name, runs) in enumerate(groups.items()):
            values = np.array([run[-1][key] for run in runs], dtype=float)
            values = values[~np.isnan(values)]
            if len(values):
                ax.bar(i, values.mean(), color="#8ecae6", width=0.6)
                ax.plot([i] * len(values), values, "ko", ms=4)
            if "accuracy" in key and name in (chance or {}):
                ax.hlines(chance[name], i - 0.4, i + 0.4, color="crimson", ls="--", lw=1.5)
        ax.set_xticks(range(len(groups)), list(groups), rotation=90)
        label = KEY_LABELS.get(key, key.replace("_", " "))
        ax.set(ylim=(0, 1.05), title=label.replace(" (", "\n(") if len(keys) > 3 else label)  # narrow panels
    if chance:
        fig.legend([Line2D([], [], color="crimson", ls="--", lw=1.5)], ["chance: the one answer token guessed"],
                   loc="outside lower center", frameon=False)
    fig.suptitle(title, fontsize=11)
    return fig



def model_style(task: str, scale: str, head: bool) -> dict:
    """How the mechanism chapter draws one model: colour by task, marker by scale, filled if it has a head."""
    colour = {"polynomial": "#1f77b4", "parity": "#ff7f0e"}.get(task, "#555555")
    return {"color": colour, "marker": "o" if scale == "cpu" else "s", "filled": head}


def plot_dots(values: dict[str, dict[str, float]], styles: dict[str, dict], title: str, xlabel: str,
              marks: dict[str, float] | None = None) -> plt.Figure:
    """One row per measure, one dot per model (``values``: model -> measure -> value in 0..1), drawn as
    ``styles[model]`` says (:func:`model_style`); ``marks``: a short black tick per measure (e.g. chance)."""
    measures = list(next(iter(values.values())))
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 0.45 * len(measures) + 1.6), constrained_layout=True)
    for k, (model, row) in enumerate(values.items()):
        st = styles[model]
        y = np.arange(len(measures)) + (k - (len(values) - 1) / 2) * 0.05
        ax.scatter([row[m] for m in measures], y, marker=st["marker"], s=40, zorder=3, linewidths=1.3,
                   facecolors=st["color"] if st["filled"] else "none", edgecolors=st["color"])
    for i, m in enumerate(measures):
        if marks and m in marks:
            ax.plot([marks[m]] * 2, [i - 0.35, i + 0.35], color="black", lw=1.5)
    ax.set_yticks(range(len(measures)), measures, fontsize=MIN_FONT + 1)
    ax.invert_yaxis()
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=10)
    model_legend(fig, styles)
    return fig


def model_legend(fig: plt.Figure, styles: dict[str, dict]) -> None:
    """A legend under ``fig`` of the :func:`model_style` kinds that ``styles`` uses (task, scale, head or not)."""
    seen = {(st["color"], st["marker"], st["filled"]) for st in styles.values()}
    names = {"#1f77b4": "polynomial", "#ff7f0e": "parity", "o": "cpu", "s": "paper"}
    handles = [Line2D([], [], ls="", marker=m, color=c, markerfacecolor=c if f else "none", markersize=7,
                      label=f"{names.get(c, '')}, {names.get(m, '')} scale{', head' if f else ''}")
               for c, m, f in sorted(seen)]
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=MIN_FONT, frameon=False)


def plot_circuit(length: int = 4, t: int = 3) -> plt.Figure:
    """The iteration-head circuit on one sequence, as the mechanism chapter measured it in the trained models: the
    token that writes y_t (it holds y_{t-1}) reads where the input ends in layer 1 (EoI from some tokens, the inputs
    from others), layer 1's MLP forms t, layer 2 reads x_t, and layer 2's MLP writes F(y_{t-1}, x_t)."""
    labels = ["task", *[f"$x_{i}$" for i in range(1, length + 1)], "EoI", *[f"$y_{i}$" for i in range(1, length + 1)]]
    roles = ["task", *["input"] * length, "EoI", *["CoT"] * length]
    e, q = length + 1, length + t  # EoI's position; the token that writes y_t
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 3.3), constrained_layout=True)
    for i, (label, role) in enumerate(zip(labels, roles)):
        faded = i > q + 1
        ax.add_patch(plt.Rectangle((i, 0), 1, 1, facecolor=ROLE_COLOURS[role], edgecolor="white", linewidth=1.5,
                                   alpha=0.35 if faded else 1.0))
        ax.text(i + 0.5, 0.5, label, ha="center", va="center", fontsize=11, alpha=0.4 if faded else 1.0)
    ax.add_patch(plt.Rectangle((q, 0), 1, 1, fill=False, edgecolor=QUERY_COLOUR, linewidth=3))
    ax.add_patch(plt.Rectangle((q + 1, 0), 1, 1, fill=False, edgecolor=QUERY_COLOUR, linewidth=1.5, linestyle="--"))

    def arc(src: int, dst: int, above: bool, colour: str, style: str = "-", rad: float = 0.45) -> None:
        y = 1.0 if above else 0.0
        ax.annotate("", xy=(dst + 0.5, y), xytext=(src + 0.5, y),
                    arrowprops=dict(arrowstyle="-|>", color=colour, lw=2, linestyle=style,
                                    connectionstyle=f"arc3,rad={rad if above else -rad}"))

    arc(q, e, True, "#9c5d00")
    arc(q, length, True, "#9c5d00", "--", rad=0.35)
    ax.text(e + 0.2, 2.25, "1. layer 1: where the input ends\n(EoI from some tokens, the inputs from others)",
            ha="center", va="bottom", fontsize=MIN_FONT, color="#9c5d00")
    arc(q, t, False, IDEAL_COLOUR, rad=0.3)
    ax.text(t + 1.6, -1.15, "3. layer 2, the iteration head: reads $x_t$", ha="center", va="top", fontsize=MIN_FONT,
            color=IDEAL_COLOUR)
    ax.text(len(labels) + 0.1, 1.55, f"2. MLP 1: $t$ = position $-\\ L$\n   here {q} $-$ {length} = {t}",
            ha="right", va="bottom", fontsize=MIN_FONT)
    ax.text(len(labels) + 0.1, -0.35, f"4. MLP 2: $y_{t}$ = F($y_{t - 1}$, $x_{t}$)\n   written as the next token",
            ha="right", va="top", fontsize=MIN_FONT)
    ax.set_xlim(-0.1, len(labels) + 0.2)
    ax.set_ylim(-1.8, 3.2)
    ax.axis("off")
    ax.set_title(f"The circuit at one step: the token that holds $y_{{{t - 1}}}$ (orange) writes $y_{t}$",
                 fontsize=10)
    return fig
