"""Figures: sequences, attention maps, training curves, and the attention stepper with its kernel-free twin.

The stepper is an ipywidgets slider in a live Jupyter/Colab kernel and, in the static book, an HTML player of PNG
frames (previous/play/next, a slider and a counter; no kernel needed); :func:`show_stepper` picks one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Callable, Sequence

import matplotlib
import matplotlib.pyplot as plt
from IPython.display import Markdown
import numpy as np
import torch
from matplotlib.lines import Line2D
from matplotlib.textpath import TextPath

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


def _label_extent(label: str, axis: str, bold: bool = False) -> float:
    """How much room one tick label takes along its axis at :data:`MIN_FONT`, in points (its width on the x axis,
    its height on the y axis; mathtext such as ``$x_{3}$`` measured as drawn), a tenth more in bold."""
    extents = TextPath((0, 0), label, size=MIN_FONT).get_extents()
    return (1.1 if bold else 1.0) * (extents.width if axis == "x" else extents.height)


def token_ticks(ax: plt.Axes, labels: Sequence[str], axis: str = "x", highlight: dict[int, str] | None = None) -> None:
    """A label at every token where the labels fit the axis at :data:`MIN_FONT`, upright.  On the x axis, labels
    too wide for one row alternate between two rows; where even two rows are too crowded (long sequences), every
    k-th token is labelled.  The positions in ``highlight`` (position -> colour) are always labelled, in bold and
    that colour."""
    highlight = highlight or {}
    fig = ax.figure
    box = ax.get_position()
    inches = box.width * fig.get_figwidth() if axis == "x" else box.height * fig.get_figheight()
    pitch = 0.95 * inches * 72 / max(1, len(labels))  # points between two neighbouring tokens (less a margin)
    sizes = [_label_extent(label, axis, i in highlight) for i, label in enumerate(labels)]
    gap = 2.0 if axis == "x" else 1.0

    def room(apart: int) -> float:  # the pitch needed when labels ``apart`` tokens apart share a row
        pairs = [(a + b) / 2 for a, b in zip(sizes, sizes[apart:])] or sizes
        return (max(pairs) + gap) / apart

    rows, step = 1, 1
    if room(1) > pitch:
        if axis == "x" and room(2) <= pitch and pitch >= MIN_FONT * 0.7:
            rows = 2
        else:
            step = int(np.ceil(room(1) / pitch))
    regular = {i for i in range(0, len(labels), step) if all(abs(i - h) >= step for h in highlight)}
    shown = sorted(regular | set(highlight))
    texts = [("\n" if rows == 2 and k % 2 else "") + labels[i] for k, i in enumerate(shown)]
    (ax.set_xticks if axis == "x" else ax.set_yticks)(shown, texts)
    ticks = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    for i, text in zip(shown, ticks):
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
    eoi = {i: EOI_LABEL_COLOUR for i, label in enumerate(labels) if label == "EoI"}  # always labelled
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
    """A short label for each token of one sequence (e.g. the model's input ``seq[:-1]``), named by its role as the
    book writes it: ``task``, the inputs ``$x_{1}$..$x_{L}$`` (mathtext), ``EoI``, the states ``$y_{1}$..`` after
    it (the one answer of a sequence without CoT is ``$y_{L}$``) and ``EoS``.  The position of ``$x_{t}$`` is t, so
    every label names its position too, without a ``position:token`` pair such as ``10:10``."""
    roles = token_roles(tokens, vocab)
    length = roles.count("input")
    answers = roles.count("CoT")
    labels, counts = [], {"input": 0, "CoT": 0}
    for role in roles:
        if role in counts:
            counts[role] += 1
            t = length if role == "CoT" and answers == 1 else counts[role]
            labels.append(f"${'x' if role == 'input' else 'y'}_{{{t}}}$")
        else:
            labels.append(role)
    return labels


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
    """Left: test accuracy per input length as a heat map (length × epoch: one row per length, so lengths learned
    one after another show as a staircase; eight overlapping lines could not be told apart). Right: test and
    training accuracy with layer-1/layer-2 peakiness, against epochs."""
    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 4.2), constrained_layout=True)
    lengths = sorted(int(k[len("test_accuracy_L"):]) for k in history[0] if k.startswith("test_accuracy_L"))
    grid = np.array([[row[f"test_accuracy_L{n}"] for row in history] for n in lengths])
    step = epochs[1] - epochs[0] if len(epochs) > 1 else 1
    image = left.imshow(grid, aspect="auto", origin="lower", cmap="viridis", vmin=0, vmax=1, interpolation="nearest",
                        extent=(epochs[0] - step / 2, epochs[-1] + step / 2, lengths[0] - 0.5, lengths[-1] + 0.5))
    left.set_yticks(lengths)
    left.set(xlabel="epoch", ylabel="input length L", title="test accuracy per length")
    fig.colorbar(image, ax=left, location="right", shrink=0.9, pad=0.02, label="test accuracy")
    below = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.2), "frameon": False, "fontsize": MIN_FONT}
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
              "test_accuracy_parity": "parity test accuracy", "mean_layer1": "L1 mean weight on EoI",
              "mean_layer2": "L2 mean weight on $x_t$"}


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
            for run in runs:
                ax.plot([r[x] for r in run], [r[key] for r in run], color=colours(i), lw=0.8, alpha=0.55)
            epochs, mean = _carried_mean(runs, key, x)
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


#: Colours for the seeds of one panel of :func:`plot_seed_panels` (Okabe-Ito: apart for the common colour
#: blindnesses, and in lightness too, so that neighbours stay apart in grey): blue, gold, green, pink, orange, one
#: hue each for the first five seeds (no two blues), then grey.
SEED_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#999999")


def _carried_mean(runs: Sequence[Sequence[dict]], key: str, x: str) -> tuple[list, list]:
    """The mean over ``runs`` of ``key`` at every ``x`` any run has, a run that stopped early keeping its last
    value (the thick line of :func:`plot_seeds` and :func:`plot_seed_panels`)."""
    xs = sorted({row[x] for run in runs for row in run})
    last = [{r[x]: r[key] for r in run} for run in runs]
    return xs, [np.mean([next((v[e] for e in sorted(v, reverse=True) if e <= at), np.nan) for v in last])
                for at in xs]


def plot_seed_panels(panels: dict[str, dict[str, Sequence[Sequence[dict]]]],
                     keys: Sequence[str] = ("test_accuracy",), title: str = "", x: str = "epoch",
                     styles: dict[str, dict] | None = None, mean_label: str = "mean of the seeds") -> plt.Figure:
    """Small multiples of seed curves: one column per panel (title -> {group label -> histories}), one row per
    history column in ``keys``, axes shared.

    A group with a style (``styles``: label -> line keywords such as ``color`` and ``ls``) is drawn as in
    :func:`plot_seeds`: its seeds thin, its mean thick, both in its style.  A group without one (one group per
    panel) has each seed in its own colour (:data:`SEED_COLOURS`, seed k alike in every panel) and its mean thick
    black, so each seed can be followed.  A run that stopped early keeps its last value in the mean."""
    styles = styles or {}
    n_rows, n_cols = len(keys), len(panels)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(COLUMN_INCHES, 0.9 + 1.9 * n_rows), sharex=True,
                             sharey=True, constrained_layout=True, squeeze=False)
    handles: dict[str, Line2D] = {}
    for col, (panel, groups) in enumerate(panels.items()):
        for row, key in enumerate(keys):
            ax = axes[row, col]
            for label, runs in groups.items():
                style = styles.get(label)
                for k, run in enumerate(runs):
                    seed_style = {**style, "lw": 0.8, "alpha": 0.5} if style else \
                        {"color": SEED_COLOURS[k % len(SEED_COLOURS)], "lw": 1.1, "alpha": 0.9}
                    line, = ax.plot([r[x] for r in run], [r[key] for r in run], **seed_style)
                    if not style:
                        handles.setdefault(f"seed {k}", line)
                xs, mean = _carried_mean(runs, key, x)
                mean_style = {**style, "lw": 2.4} if style else {"color": "k", "lw": 2.4}
                line, = ax.plot(xs, mean, **mean_style)
                handles.setdefault(_with_count(label, len(runs)) if style else mean_label, line)
            ax.set_ylim(-0.03, 1.03)
            ax.tick_params(labelsize=MIN_FONT)
            if row == 0:
                ax.set_title(panel, fontsize=10)
            if col == 0:
                ax.set_ylabel(KEY_LABELS.get(key, key.replace("_", " ")), fontsize=MIN_FONT)
            if row == n_rows - 1:
                ax.set_xlabel("optimiser step" if x == "step" else x, fontsize=MIN_FONT)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", frameon=False, fontsize=MIN_FONT,
               ncol=min(len(handles), 4 if len(handles) > 3 else 3))
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


_MATH_WORDS = (("\\times", "×"), ("\\cdot", "·"), ("\\leq", "≤"), ("\\geq", "≥"), ("\\le", "≤"), ("\\ge", "≥"),
               ("\\to", "→"), ("\\ldots", "…"), ("\\dots", "…"), ("\\lvert", "&#124;"), ("\\rvert", "&#124;"))


def math_as_html(text: str) -> str:
    """``$...$`` written as HTML: the book renders notebook outputs as GitHub markdown, which has no math, so a table
    title ``$L_{max}$ = 8`` would show its dollars; ``L<sub>max</sub> = 8`` reads the same in the book and in Colab."""
    def one(match: re.Match) -> str:
        math = match.group(1)
        for command, symbol in _MATH_WORDS:
            math = math.replace(command, symbol)
        math = re.sub(r"_\{([^}]*)\}", r"<sub>\1</sub>", math)
        math = re.sub(r"_(\w)", r"<sub>\1</sub>", math)
        math = re.sub(r"\^\{([^}]*)\}", r"<sup>\1</sup>", math)
        math = re.sub(r"\^(\w)", r"<sup>\1</sup>", math)
        return math.replace("{", "").replace("}", "")
    return re.sub(r"\$([^$]+)\$", one, text)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence], title: str = "", note: str = "") -> Markdown:
    """A table for a notebook output: a bold ``title`` above, an italic ``note`` below; cells shown with ``str``,
    their ``$...$`` as HTML (:func:`math_as_html`)."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    text = (f"**{title}**\n\n" if title else "") + "\n".join(lines) + (f"\n\n*{note}*" if note else "")
    return Markdown(math_as_html(text))


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


#: The stepper's width in inches: narrow enough that at phone width (390 px) it is shrunk little and its 10-pt text
#: stays readable; in a 1280-px window the page shows it at its own size.
STEPPER_INCHES = 4.4
#: Bars of the models a stepper compares at one step (the first, the second).
STEPPER_MODEL_COLOURS = ("#5a5a5a", "#e76f51")
#: Tokens not yet written at the current step: their labels and the band over them.
FUTURE_COLOUR, FUTURE_BAND = "#b5b5b5", "#f2f2f2"
STEPPER_FONT = 10


def step_counter(query: int, length: int) -> str:
    """Which step a query is: the row at EoI + t - 1 writes y_t ("step t of L"); the row at y_L writes EoS."""
    t = query - length
    return f"step {t} of {length}" if t <= length else f"end (after step {length}): EoS"


def _frames_by_model(frame: "StepFrame | dict[str, StepFrame]") -> dict[str, StepFrame]:
    return frame if isinstance(frame, dict) else {"": frame}


def _draw_step(axes: Sequence[plt.Axes], labels: list[str], frame: "StepFrame | dict[str, StepFrame]", length: int,
               title: str) -> None:
    """One step of the stepper: per layer, the current token's attention over the tokens it may see (bars), its
    ideal key (blue) and the tokens not yet written (greyed).  ``frame``: one model's, or ``{name: frame}`` of
    several models at the same step, drawn as grouped bars."""
    by_model = _frames_by_model(frame)
    names = list(by_model)
    query = by_model[names[0]].query
    n, k = len(labels), len(names)
    width = 0.8 / k
    for layer, ax in enumerate(axes, start=1):
        ax.clear()
        ideal = dict(zip(*pattern_indices(length, layer))) if layer <= 2 else {}
        target = ideal.get(query)
        if query + 1 < n:  # what the model has not written yet at this step
            ax.axvspan(query + 0.5, n - 0.4, color=FUTURE_BAND, lw=0)
            if n - 1 - query >= 4:
                ax.text((query + n) / 2, 0.97, "not written yet", ha="center", va="top", color="#8a8a8a",
                        fontsize=MIN_FONT)
        ax.axvspan(query - 0.5, query + 0.5, color=QUERY_COLOUR, alpha=0.25, lw=0)
        if target is not None and k > 1:
            ax.axvspan(target - 0.5, target + 0.5, fill=False, edgecolor=IDEAL_COLOUR, lw=1.8)
        picks = []
        for j, name in enumerate(names):
            row = by_model[name].rows[layer - 1][: query + 1]
            if k == 1:
                colours = ["#9a9a9a"] * len(row)
                if target is not None:
                    colours[target] = IDEAL_COLOUR
            else:
                colours = STEPPER_MODEL_COLOURS[j % len(STEPPER_MODEL_COLOURS)]
            ax.bar(np.arange(len(row)) + (j - (k - 1) / 2) * width, row, width=width, color=colours,
                   label=name or None)
            picks.append((name, labels[int(np.argmax(row))]))
        marks = {query: QUERY_COLOUR, **({target: IDEAL_COLOUR} if target is not None else {})}
        token_ticks(ax, labels, "x", marks)
        for pos, text in zip(ax.get_xticks(), ax.get_xticklabels()):
            if pos > query and int(pos) not in marks:
                text.set_color(FUTURE_COLOUR)
        ax.tick_params(axis="x", labelsize=MIN_FONT)
        ax.tick_params(axis="y", labelsize=MIN_FONT)
        ax.set_xlim(-0.6, n - 0.4)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("attention", fontsize=STEPPER_FONT)
        ideal_text = f"ideal: {labels[target]}" if target is not None else "no target here"
        if k == 1:
            ax.set_title(f"layer {layer}: looks at {picks[0][1]} ({ideal_text})", fontsize=STEPPER_FONT)
        else:
            ax.set_title(f"layer {layer} ({ideal_text}) looks at\n"
                         + " · ".join(f"{name}: {pick}" for name, pick in picks), fontsize=STEPPER_FONT)
    fig = axes[0].figure
    for legend in fig.legends:
        legend.remove()
    if k > 1:
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=k, frameon=False,
                   fontsize=STEPPER_FONT)
    first = by_model[names[0]]
    ok = lambda f: "✓" if f.prediction == f.target else "✗"
    if k == 1:
        writes = f"→ writes {first.prediction} (true {first.target}) {ok(first)}"
    else:
        writes = "writes " + " · ".join(f"{name} {f.prediction} {ok(f)}" for name, f in by_model.items()) \
            + f" (true {first.target})"
    head = title.strip().rstrip(":").strip()
    counter = f"{head + ' · ' if head else ''}{step_counter(query, length)}"
    fig.suptitle(f"{counter}\ncurrent token {labels[query]} (shaded) {writes}" if k == 1 else
                 f"{counter} · current token {labels[query]} (shaded)\n{writes}", fontsize=STEPPER_FONT)


def _stepper_figure(n_layers: int, n_models: int = 1) -> tuple[plt.Figure, np.ndarray]:
    height = (2.1 if n_models == 1 else 2.4) * n_layers + (0.8 if n_models == 1 else 1.1)
    fig, axes = plt.subplots(n_layers, 1, figsize=(STEPPER_INCHES, height), constrained_layout=True)
    return fig, np.atleast_1d(axes)


Frames = Callable[[int], tuple[list[str], "StepFrame | dict[str, StepFrame]", int, str]]


def _n_models(frames_of: Frames) -> int:
    return len(_frames_by_model(frames_of(0)[1]))


#: The player: frames as images that shrink with the column (never wider than 1.3 x their own size), and buttons
#: and slider that wrap onto two lines at phone width rather than being cut off.
_PLAYER = """<div class="ih-stepper" id="ih-anim-{uid}" style="max-width:{width}px;margin:0.6em auto;
font-family:sans-serif;font-size:15px">
<img alt="attention stepper, {first}" src="{src}" style="display:block;width:100%;height:auto;margin:0">
<div style="display:flex;flex-wrap:wrap;align-items:center;justify-content:center;gap:6px;margin-top:4px">
<button type="button" data-step="-1" aria-label="previous" style="font-size:15px;padding:4px 12px">&#9664;</button>
<button type="button" data-play="1" style="font-size:15px;padding:4px 12px;min-width:5.5em">&#9654; play</button>
<button type="button" data-step="1" aria-label="next" style="font-size:15px;padding:4px 12px">&#9654;</button>
<input type="range" min="0" max="{last}" value="0" aria-label="{description}" style="flex:1 1 9em;min-width:8em">
<span data-counter="1" style="min-width:8.5em;text-align:center;font-weight:bold">{first}</span>
</div></div>
<script>(function() {{
  var root = document.getElementById("ih-anim-{uid}"), frames = {frames}, names = {names};
  var img = root.querySelector("img"), range = root.querySelector("input"),
      counter = root.querySelector("[data-counter]"), play = root.querySelector("[data-play]"), timer = null;
  function show(i) {{
    i = Math.max(0, Math.min(frames.length - 1, i)); range.value = i; img.src = frames[i];
    counter.textContent = names[i]; img.alt = "attention stepper, " + names[i];
  }}
  function stop() {{ if (timer) {{ clearInterval(timer); timer = null; }} play.innerHTML = "&#9654; play"; }}
  root.querySelectorAll("[data-step]").forEach(function(b) {{
    b.onclick = function() {{ stop(); show(+range.value + (+b.dataset.step)); }};
  }});
  range.oninput = function() {{ stop(); show(+range.value); }};
  play.onclick = function() {{
    if (timer) {{ stop(); return; }}
    if (+range.value >= frames.length - 1) show(0);
    play.innerHTML = "&#10074;&#10074; pause";
    timer = setInterval(function() {{
      if (+range.value >= frames.length - 1) stop(); else show(+range.value + 1);
    }}, 1100);
  }};
}})();</script>"""


def _animation_html(frames_of: Frames, n_frames: int, n_layers: int, frame_names: Sequence[str] | None = None,
                    dpi: int = 150) -> str:
    """The kernel-free stepper for the static book: every frame drawn once as a PNG, and a small player (previous,
    play, next, a slider and the frame's name, e.g. "step 3 of 8")."""
    import base64
    import io
    import json
    import uuid

    fig, axes = _stepper_figure(n_layers, _n_models(frames_of))
    frames = []
    for i in range(n_frames):
        labels, frame, length, title = frames_of(i)
        _draw_step(axes, labels, frame, length, title)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        frames.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode())
    plt.close(fig)
    names = [str(name) for name in (frame_names or range(1, n_frames + 1))]
    return _PLAYER.format(uid=uuid.uuid4().hex[:10], width=int(fig.get_figwidth() * 100 * 1.3), src=frames[0],
                          first=names[0], last=n_frames - 1, description="frame", frames=json.dumps(frames),
                          names=json.dumps(names))


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


def show_stepper(frames_of: Frames, frame_names: Sequence[str], n_layers: int, description: str = "step",
                 counters: Sequence[str] | None = None):
    """A live ipywidgets slider in Jupyter/Colab (its value shows ``frame_names``: the CoT step, the snapshot's
    epoch), else a player with previous/play/next buttons, a slider and a counter (``counters``, default
    ``description`` and the frame's name), in HTML.

    The live stepper also carries the player as its HTML form: a front end that cannot show widgets (JupyterLab
    without the widget extension, a notebook viewer) shows the player instead of a still frame and a repr."""
    n_frames = len(frame_names)
    counters = list(counters or [f"{description} {name}" for name in frame_names])
    if not _live():
        from IPython.display import HTML
        return HTML(_animation_html(frames_of, n_frames, n_layers, counters))
    import ipywidgets as widgets
    from IPython.display import display

    class Stepper(widgets.VBox):
        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs)
            bundle["text/html"] = _animation_html(frames_of, n_frames, n_layers, counters)
            bundle["text/plain"] = f"attention stepper ({n_frames} frames): needs a front end that shows widgets"
            return bundle

    out = widgets.Output()
    slider = widgets.SelectionSlider(options=[(str(name), i) for i, name in enumerate(frame_names)], value=0,
                                     description=description)
    fig, axes = _stepper_figure(n_layers, _n_models(frames_of))
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


def cot_stepper(model: "torch.nn.Module | dict[str, torch.nn.Module]", tokens: torch.Tensor, vocab: Vocabulary,
                title: str = ""):
    """Step through the CoT positions of one sequence: attention rows of each layer, picked token, prediction.
    ``model``: one model, or ``{name: model}`` of two (or more) drawn side by side at the same step, as grouped
    bars in one frame."""
    models = model if isinstance(model, dict) else {"": model}
    steps = {name: cot_steps(m, tokens, vocab) for name, m in models.items()}
    labels, first = steps[next(iter(models))]
    length = len(first) - 1
    frames = [{name: steps[name][1][i] for name in models} if isinstance(model, dict) else first[i]
              for i in range(len(first))]
    names = [f"{t} of {length}" for t in range(1, length + 1)] + ["end"]
    counters = [step_counter(f.query, length).split(":")[0] for f in first]
    return show_stepper(lambda i: (labels, frames[i], length, title), names, len(first[0].rows), "step", counters)


def training_stepper(models: dict[int, torch.nn.Module], tokens: torch.Tensor, vocab: Vocabulary, step: int):
    """Step through training snapshots (epoch -> model) at one CoT step ``step`` (0: the row at EoI, which writes
    y_1): watch the head form over epochs."""
    epochs = sorted(models)
    per_epoch = {e: cot_steps(models[e], tokens, vocab) for e in epochs}
    length = len(per_epoch[epochs[0]][1]) - 1

    def frame(i: int):
        labels, frames = per_epoch[epochs[i]]
        return labels, frames[step], length, f"epoch {epochs[i]}"

    counters = [f"epoch {e} ({i + 1} of {len(epochs)})" for i, e in enumerate(epochs)]
    return show_stepper(frame, epochs, len(per_epoch[epochs[0]][1][0].rows), "epoch", counters)


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


def plot_weight_blocks(panels: Sequence[tuple], blocks: Sequence[str], edges: Sequence[int], title: str,
                       crop: bool = True) -> plt.Figure:
    """Weight matrices read in a logical basis, one panel per ``(matrix, title, what its rows are[, row labels])``,
    their columns grouped into the named ``blocks`` (``edges``: each block's first column, then the end).

    Colour is the weight's value on one symmetric-log scale shared by every panel (the colour bar), so a large
    constant does not wash out the unit weights and magnitudes compare across panels; weights below 1e-3 of a
    panel's largest (the rounding noise of an orthonormal basis) are drawn as 0.  ``crop``: each panel shows only
    the blocks it reads, so its cells are large.  Panels of more than 30 rows take a row of the figure each, the
    others sit two to a row."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import SymLogNorm

    shown = []
    for panel in panels:
        m, panel_title, what = panel[:3]
        big = np.abs(m) > 1e-3 * np.abs(m).max()
        keep = [(name, a, b) for name, a, b in zip(blocks, edges, edges[1:]) if not crop or big[:, a:b].any()]
        columns = np.concatenate([np.arange(a, b) for _, a, b in keep])
        local = np.cumsum([0] + [b - a for _, a, b in keep])
        shown.append((np.where(big, m, 0.0)[:, columns], panel_title, what, panel[3] if len(panel) > 3 else None,
                      [name for name, _, _ in keep], local))
    layout, pending = [], []
    for i, (m, *_) in enumerate(shown):
        if m.shape[0] > 30:
            layout += [pending] if pending else []
            layout.append([i])
            pending = []
        else:
            pending.append(i)
            if len(pending) == 2:
                layout.append(pending)
                pending = []
    layout += [pending] if pending else []
    heights = [min(3.4, 1.3 + 0.016 * max(shown[i][0].shape[0] for i in r)) if len(r) == 1 else 1.9
               for r in layout]
    fig = plt.figure(figsize=(COLUMN_INCHES, sum(heights) + 1.1), constrained_layout=True)
    grid = fig.add_gridspec(len(layout), 2, height_ratios=heights)
    vmax = max(np.abs(m).max() for m, *_ in shown)
    norm = SymLogNorm(linthresh=0.5, vmin=-vmax, vmax=vmax, base=10)
    axes = []
    for r, row in enumerate(layout):
        for c, i in enumerate(row):
            m, panel_title, what, row_labels, names, local = shown[i]
            ax = fig.add_subplot(grid[r, :] if len(row) == 1 else grid[r, c])
            axes.append(ax)
            ax.imshow(m, cmap="RdBu_r", norm=norm, aspect="auto", interpolation="nearest")
            ax.set_title(panel_title, fontsize=10)
            ax.set_xticks([(a + b) / 2 - 0.5 for a, b in zip(local, local[1:])], names, fontsize=MIN_FONT)
            for e in local[1:-1]:
                ax.axvline(e - 0.5, color="k", lw=0.6)
            if row_labels is not None:
                ax.set_yticks(range(len(row_labels)), row_labels, fontsize=MIN_FONT)
            else:
                ax.set_yticks([])
            ax.set_ylabel(what)
    ticks = [0.0] + [s * 10.0 ** k for k in range(int(np.floor(np.log10(vmax))) + 1) for s in (-1, 1)]
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap="RdBu_r"), ax=axes, orientation="horizontal", location="bottom",
                       shrink=0.8, aspect=40, ticks=sorted(ticks))
    bar.ax.set_xticklabels([f"{t:g}".replace("-", "−") for t in sorted(ticks)])
    bar.set_label("weight (symmetric log scale: 0, then ±1, ±10, ±100 evenly spaced)")
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
