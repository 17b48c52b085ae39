"""Every figure of ``ihlib.viz`` is legible at the width the book shows it (no text under 9 pt, never wider than
the column), long sequences get fewer token labels, and the steppers show what they step through."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from ihlib import viz  # noqa: E402
from ihlib.model import ModelConfig, Transformer  # noqa: E402
from ihlib.tasks import Vocabulary, encode, polynomial_task  # noqa: E402

VOCAB = Vocabulary()


def sequence(length: int) -> torch.Tensor:
    task = polynomial_task()
    x = np.random.default_rng(0).choice(np.array(task.inputs), size=(1, length))
    return torch.as_tensor(encode(task, VOCAB, x)[0])


def model(max_len: int) -> Transformer:
    torch.manual_seed(0)
    return Transformer(ModelConfig(vocab_size=VOCAB.size, n_positions=2 * max_len + 3, dim=32)).eval()


def history(epochs=(0, 10, 20), max_len=8):
    return [{"epoch": e, "test_accuracy": e / 20, "train_accuracy": e / 20, "peakiness_layer1": 0.3,
             "peakiness_layer2": e / 20, **{f"test_accuracy_L{n}": e / 20 for n in range(1, max_len + 1)}}
            for e in epochs]


def figures(max_len: int):
    seq = sequence(max_len)
    labels = viz.sequence_labels(seq[:-1].tolist(), VOCAB)
    yield "sequence", viz.plot_sequence(seq, VOCAB, "polynomial, with CoT").figure
    yield "attention", viz.plot_attention(np.eye(len(labels)), labels, "layer 1").figure
    yield "ideal maps", viz.plot_ideal_maps(seq.tolist(), VOCAB)
    yield "circuit", viz.plot_circuit()
    styles = {"a": viz.model_style("polynomial", "cpu", True), "b": viz.model_style("parity", "paper", False)}
    yield "dots", viz.plot_dots({"a": {"none": 1.0, "layer 2: one-hot on x_t": 0.5},
                                 "b": {"none": 0.9, "layer 2: one-hot on x_t": 0.2}}, styles, "title", "accuracy",
                                marks={"none": 0.1})
    yield "model attention", viz.plot_model_attention(model(max_len), seq, VOCAB, "trained:")
    yield "training", viz.plot_training(history(max_len=max_len), "polynomial iteration with CoT", rise_epoch=10)
    yield "seeds", viz.plot_seeds({"polynomial": [history(), history((0, 10))], "parity": [history()]})
    yield "seeds, three panels", viz.plot_seeds(
        {"polynomial": [history()]}, ("test_accuracy", "peakiness_layer1", "peakiness_layer2"), "emergence",
        reference={"test_accuracy": [(10, 0.4), (20, 0.9)]})
    yield "final values", viz.plot_final_values({"polynomial, CoT": [history()], "polynomial, one layer": [history()],
                                                 "parity, no CoT": [history()]},
                                                ("test_accuracy", "train_accuracy", "peakiness_layer2"), "ablations",
                                                chance={"parity, no CoT": 1 / 2})
    fig, ax = plt.subplots(figsize=(viz.COLUMN_INCHES, 3))
    grid = np.random.default_rng(0).random((4, 3))
    yield "grid", viz.grid_heatmap(grid, [8, 16, 32, 64], [4, 6, 8], "accuracy", "$L_{max}$", "d", ax,
                                   outlined=grid >= 0.5).figure
    fig, axes = viz._stepper_figure(2)
    labels, frames = viz.cot_steps(model(max_len), seq, VOCAB)
    viz._draw_step(axes, labels, frames[3], len(frames) - 1, "polynomial: ")
    yield "stepper", fig


@pytest.mark.parametrize("max_len", [8, 16])
def test_every_figure_is_legible_in_the_column(max_len):
    for name, fig in figures(max_len):
        assert viz.legibility_problems(fig) == [], name
        plt.close(fig)


def test_the_legibility_check_can_fail():
    fig, ax = plt.subplots(figsize=(10, 3))
    ax.set_title("tiny", fontsize=6)
    problems = viz.legibility_problems(fig)
    assert any("10.0 in wide" in p for p in problems) and any("'tiny' at 6.0 pt" in p for p in problems)
    plt.close(fig)


def test_long_sequences_get_fewer_token_labels_but_keep_the_marked_ones():
    fig, ax = plt.subplots(figsize=(4, 4))
    labels = [str(i) for i in range(50)]
    viz.token_ticks(ax, labels, "x", {7: viz.QUERY_COLOUR})
    shown = [t.get_text() for t in ax.get_xticklabels()]
    room = ax.get_position().width * 4 * 72 / viz.MIN_FONT  # labels one font size apart
    assert len(shown) < room and "7" in shown and "0" in shown and "1" not in shown
    marked = next(t for t in ax.get_xticklabels() if t.get_text() == "7")
    assert marked.get_fontweight() == "bold" and marked.get_color() == viz.QUERY_COLOUR
    plt.close(fig)


def test_the_stepper_marks_the_current_token_and_its_ideal_target():
    fig, axes = viz._stepper_figure(2)
    seq = sequence(6)
    labels, frames = viz.cot_steps(model(6), seq, VOCAB)
    frame = frames[2]
    viz._draw_step(axes, labels, frame, len(frames) - 1, "")
    bold = {t.get_text(): t.get_color() for t in axes[1].get_xticklabels() if t.get_fontweight() == "bold"}
    assert bold[labels[frame.query]] == viz.QUERY_COLOUR and viz.IDEAL_COLOUR in bold.values()
    assert "current token" in fig._suptitle.get_text()
    plt.close(fig)


def test_live_stepper_slider_shows_epochs_and_falls_back_to_the_animation(monkeypatch):
    monkeypatch.setattr(viz, "_live", lambda: True)
    seq = sequence(4)
    stepper = viz.training_stepper({0: model(4), 30: model(4), 100: model(4)}, seq, VOCAB, step=1)
    slider = stepper.children[0]
    assert [label for label, _ in slider.options] == ["0", "30", "100"] and slider.description == "epoch"
    slider.value = 2  # the last snapshot: the figure is redrawn for epoch 100
    bundle = stepper._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # a widget where widgets work...
    assert "<script" in bundle["text/html"] and "anim" in bundle["text/html"]  # ...the animation where not
    assert "VBox" not in bundle["text/plain"]


def test_weight_blocks_show_magnitudes_on_one_scale_and_only_the_blocks_read():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(6, 12)) * (rng.random((6, 12)) > 0.7)
    m[:, 5:] = 0.0  # the third block is never read: it is cropped away
    m[0, 0] = 1000.0  # a large constant, on the same colour scale as the rest
    tall = np.zeros((40, 12))
    tall[:, 6] = 2.0
    fig = viz.plot_weight_blocks([(m, "layer 1 query", "head dim"), (m[:2], "query and key", "dim", ["q", "k"]),
                                  (tall, "an MLP", "unit")], ["const", "token", "pos"], [0, 1, 5, 12],
                                 "a hand-built head")
    assert viz.legibility_problems(fig) == []
    image = fig.axes[0].images[0]
    kept = np.where(np.abs(m) > 1.0, m, 0.0)[:, :5]  # under 1e-3 of the largest: rounding noise, drawn as 0
    assert image.get_array().shape == (6, 5) and np.allclose(image.get_array(), kept)  # the values themselves
    assert image.norm.vmax == 1000.0 and fig.axes[2].images[0].norm is image.norm  # one scale for all panels
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["const", "token"]
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == ["q", "k"]
    assert fig.axes[2].get_subplotspec().colspan == range(0, 2)  # a tall panel takes the whole row
    plt.close(fig)


def test_the_stepper_counts_steps_greys_the_future_and_compares_two_models():
    fig, axes = viz._stepper_figure(2, n_models=2)
    seq = sequence(6)
    labels, first = viz.cot_steps(model(6), seq, VOCAB)
    _, second = viz.cot_steps(model(6), seq, VOCAB)
    frame = {"hand-built": first[2], "trained": second[2]}
    viz._draw_step(axes, labels, frame, 6, "")
    assert fig._suptitle.get_text().startswith("step 3 of 6")
    assert "hand-built" in axes[0].get_title() and "trained" in axes[0].get_title()
    future = {t.get_text(): t.get_color() for pos, t in zip(axes[0].get_xticks(), axes[0].get_xticklabels())
              if pos > first[2].query}
    assert future and set(future.values()) == {viz.FUTURE_COLOUR}
    assert [len(bars) for bars in axes[0].containers] == [first[2].query + 1] * 2  # a bar per model and token
    assert viz.legibility_problems(fig) == []
    plt.close(fig)
    html = viz._animation_html(lambda i: (labels, {"a": first[i], "b": second[i]}, 6, ""), len(first), 2,
                               [viz.step_counter(f.query, 6) for f in first])
    assert html.count("data:image/png;base64,") == len(first) + 1 and "step 1 of 6" in html
    assert "flex-wrap:wrap" in html and "width:100%" in html  # wraps and shrinks at phone width


def test_attention_shares_add_up_and_their_figure_is_legible():
    from ihlib.metrics import attention_shares
    from ihlib.tasks import make_dataset
    data = make_dataset(polynomial_task(), 6, 16, seed=1, split="test")
    shares = attention_shares(model(6), data, 6)
    assert abs(sum(shares.values()) - 1) < 1e-9 and all(v >= -1e-9 for v in shares.values())
    fig = viz.plot_attention_shares({"polynomial": shares, "parity": shares}, "Where layer 2 looks", "share")
    assert viz.legibility_problems(fig) == []
    plt.close(fig)


def test_seed_legends_count_seeds_inside_a_labels_own_parentheses():
    fig = viz.plot_seeds({"from scratch (chapter 3)": [history(), history()], "fine-tuned": [history()]})
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["from scratch (chapter 3; mean of 2)", "fine-tuned (mean of 1)"]
    plt.close(fig)


def test_chance_marks_only_the_groups_given_and_refuses_unknown_ones():
    groups = {"polynomial, CoT": [history()], "parity, no CoT": [history()]}
    fig = viz.plot_final_values(groups, ("test_accuracy", "peakiness_layer2"), chance={"parity, no CoT": 0.5})
    marks = [c for c in fig.axes[0].collections if c.get_linestyle()[0][1] is not None]
    assert len(marks) == 1 and marks[0].get_segments()[0][0][1] == 0.5 and not fig.axes[1].collections
    plt.close(fig)
    with pytest.raises(ValueError, match="not plotted"):
        viz.plot_final_values(groups, ("test_accuracy",), chance={"polynomial, no CoT": 1 / 11})


def test_the_stepper_says_when_a_layer_has_no_target_at_the_current_token():
    fig, axes = viz._stepper_figure(2)
    labels, frames = viz.cot_steps(model(6), sequence(6), VOCAB)
    viz._draw_step(axes, labels, frames[0], length := len(frames) - 1, "")  # EoI: layer 1's pattern starts after it
    assert "no target" in axes[0].get_title() and f"(ideal: {labels[1]})" in axes[1].get_title()
    viz._draw_step(axes, labels, frames[-1], length, "")  # the last CoT token: layer 2 has no input left to read
    assert f"(ideal: {labels[length + 1]})" in axes[0].get_title() and "no target" in axes[1].get_title()
    plt.close(fig)


def test_grid_outlines_the_cells_it_is_given_whatever_the_panel_shows():
    fig, ax = plt.subplots()
    values, marked = np.array([[0.2, 0.9], [0.99, 0.1]]), np.array([[True, False], [False, True]])
    viz.grid_heatmap(values, [1, 2], [3, 4], "L2", "x", "y", ax, outlined=marked)
    corners = sorted(tuple(p.get_xy()) for p in ax.patches)
    assert corners == [(-0.5, -0.5), (0.5, 0.5)]  # (column - 0.5, row - 0.5) of the two marked cells
    with pytest.raises(ValueError, match="shape"):
        viz.grid_heatmap(values, [1, 2], [3, 4], "L2", "x", "y", ax, outlined=marked[:1])
    plt.close(fig)


def test_tables_write_their_math_as_html_for_the_book_renders_outputs_without_math():
    table = viz.markdown_table(["$L_{max}$", "2 $\\times$ $d$"], [["$x_t$", 1]], title="at $L_{max} = 8$")
    assert "$" not in table.data
    assert "L<sub>max</sub> = 8" in table.data and "2 × d" in table.data and "x<sub>t</sub>" in table.data
