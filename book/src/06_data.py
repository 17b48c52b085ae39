# %% [markdown]
# # 6. Which data makes the head appear sooner
#
# **What you will see.** The recipe of chapter 5 (polynomial iteration with CoT, three seeds) trained on different
# data, and how soon its iteration head appears:
#
# * **batch order**: the authors' loader does not shuffle, so every epoch sees all batches of length 1, then of
#   length 2, and so on; our recipe shuffles. Does the order matter?
# * **amount of data**: a quarter or half as many sequences per length, trained for as many optimiser steps (so
#   4× or 2× the epochs);
# * **a copy + parity mix**: parity with a quarter or half of each length's sequences replaced by copy sequences.
#   Copying needs the same head as parity ($x_t$ at step $t$) but nothing else, so does it teach the head faster?
#
# The runs being compared with (shuffled polynomial with the full data, pure parity) are chapter 5's.
#
# **What it costs.** At the `cpu` scale the histories of these runs ship with `ihlib` (no weights: only the curves are
# needed here); `python -m ihlib reproduce --scale cpu --experiment data` retrains the 15 runs, stopping each once
# converged (test accuracy ≥ 0.99 for three evaluations in a row), in 9 to 10 minutes on two CPU cores (two
# retrainings gave the same histories, bit for bit).

# %%
import ihlib

SCALE = ihlib.notebook_setup()

# %%
from ihlib.experiments import EXPERIMENTS
from ihlib.results import results

data = results("data", SCALE)
reference = results("ablations", SCALE, cells=["polynomial_cot", "parity_cot"])
seeds = [r.seed for r in data.cell("length_order")]


def runs_of(source, cell):
    """The histories of one cell, seed by seed."""
    return source.histories(cell)


# %% [markdown]
# ## How we say "the head appeared"
#
# A run's head has appeared at the first evaluation where test accuracy reaches 0.9. In chapter 3 accuracy and
# layer-2 peakiness rose together, so either would do; accuracy is the one every run reports (for the mixes, we use
# parity's own test accuracy). A run that never gets there within its budget is marked "not within" its last epoch.

# %% tags=["hide-input"]
from ihlib.viz import markdown_table, rise_epoch


def first_at(history, key="test_accuracy", level=0.9, axis="epoch"):
    """The ``axis`` value (epoch or step) of the first evaluation where ``key`` reaches ``level``, or None."""
    epoch = rise_epoch(history, key, level)
    return None if epoch is None else next(r[axis] for r in history if r["epoch"] == epoch)


def table(rows, unit):
    """One row per kind of data, one column per seed: (value, last) pairs, value None for "not within last"."""
    return markdown_table(["data"] + [f"seed {s}" for s in seeds],
                          [[label] + [v if v is not None else f"not within {last}" for v, last in values]
                           for label, values in rows.items()], note=unit)


# %% [markdown]
# ## Batch order: length order against shuffled
#
# One line per seed; epochs on the x-axis. Both see exactly the same sequences each epoch, in a different order.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from ihlib.viz import COLUMN_INCHES
import numpy as np

order = {"shuffled (recipe)": runs_of(reference, "polynomial_cot"),
         "length order (authors')": runs_of(data, "length_order")}
colours = {"shuffled (recipe)": "#219ebc", "length order (authors')": "#e76f51"}
fig, axes = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 3.8), constrained_layout=True)
for ax, key, title in zip(axes, ["test_accuracy", "peakiness_layer2"],
                          ["test accuracy", "layer-2 peakiness (→ x_t)"]):
    for label, runs in order.items():
        for i, h in enumerate(runs):
            ax.plot([r["epoch"] for r in h], [r[key] for r in h], color=colours[label], lw=1.5,
                    label=label if i == 0 else None)
    ax.set(xlabel="epoch", ylabel="fraction", title=title, ylim=(-0.02, 1.02))
axes[0].legend(fontsize=9)
fig.suptitle("Polynomial iteration with CoT: batch order (one line per seed)")
plt.show()
order_reach = {label: [(first_at(h), h[-1]["epoch"]) for h in runs] for label, runs in order.items()}
table(order_reach, "epoch at which test accuracy first reaches 0.9")

# %% [markdown]
# ## Amount of data, at the same number of optimiser steps
#
# Fewer sequences per length, trained for proportionally more epochs, so every run takes the same number of
# optimiser steps (x-axis). Dotted lines are training accuracy: a model that memorises its data shows training
# accuracy well above test accuracy.

# %% tags=["hide-input"]
sizes = [int(k.split("_")[0][1:]) for k in data if k.startswith("n") and k.endswith("_s0")]
full = EXPERIMENTS["ablations"].runs(SCALE)["polynomial_cot_s0"].n_per_length
amount = {full: runs_of(reference, "polynomial_cot"), **{n: runs_of(data, f"n{n}") for n in sizes}}
palette = plt.get_cmap("viridis")
fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 4), constrained_layout=True)
for j, (n, runs) in enumerate(sorted(amount.items())):
    colour = palette(j / len(amount))
    for i, h in enumerate(runs):
        ax.plot([r["step"] for r in h], [r["test_accuracy"] for r in h], color=colour, lw=1.5,
                label=f"{n} per length" if i == 0 else None)
        ax.plot([r["step"] for r in h], [r["train_accuracy"] for r in h], ":", color=colour, lw=1)
ax.set(xlabel="optimiser step", ylabel="accuracy", ylim=(-0.02, 1.02),
       title="Polynomial iteration: sequences per length (solid: test, dotted: train)")
ax.legend(fontsize=9)
plt.show()
amount_reach = {f"{n} per length": [(first_at(h, axis="step"), h[-1]["step"]) for h in runs]
                for n, runs in sorted(amount.items())}
table(amount_reach, "optimiser step at which test accuracy first reaches 0.9")

# %% [markdown]
# ## Parity mixed with copy
#
# Each length keeps its number of sequences; a share of them are copy sequences instead of parity ones. The left
# panel is **parity's** test accuracy (for the mixes, measured on the parity sequences of the test set alone); the
# right panel, layer-2 peakiness over the whole test set (copy and parity use the same head).

# %% tags=["hide-input"]
shares = [int(k.split("_")[0][4:]) for k in data if k.startswith("copy") and k.endswith("_s0")]
mixes = {0: runs_of(reference, "parity_cot"), **{p: runs_of(data, f"copy{p}") for p in shares}}
parity_key = {p: "test_accuracy" if p == 0 else "test_accuracy_parity" for p in mixes}
fig, axes = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 3.8), constrained_layout=True)
for j, (p, runs) in enumerate(sorted(mixes.items())):
    colour = plt.get_cmap("plasma")(j / len(mixes))
    for ax, key in zip(axes, [parity_key[p], "peakiness_layer2"]):
        for i, h in enumerate(runs):
            ax.plot([r["epoch"] for r in h], [r[key] for r in h], color=colour, lw=1.5,
                    label=f"{p}% copy" if i == 0 else None)
axes[0].set(xlabel="epoch", ylabel="accuracy", title="parity test accuracy", ylim=(-0.02, 1.02))
axes[1].set(xlabel="epoch", ylabel="fraction", title="layer-2 peakiness (→ x_t)", ylim=(-0.02, 1.02))
axes[0].legend(fontsize=9)
fig.suptitle("Parity with CoT, a share of its sequences replaced by copy (one line per seed)")
plt.show()
mix_reach = {f"{p}% copy": [(first_at(h, parity_key[p]), h[-1]["epoch"]) for h in runs]
             for p, runs in sorted(mixes.items())}
table(mix_reach, "epoch at which parity test accuracy first reaches 0.9")

# %% [markdown]
# ## What the runs say, next to the paper
#
# At the `cpu` scale (checked below on the runs shown):
#
# * **Shuffle.** In the authors' length order no seed reaches 0.9 within 60 epochs (final test accuracy 0.18 to
#   0.39), where shuffled batches get there in 24 to 34 epochs. Our reading: in length order every epoch ends with
#   many steps on the longest sequences alone and starts again on the shortest, so what one length teaches is
#   partly undone by the next; shuffled batches mix all lengths in every step. The paper's notes list this quirk of
#   the authors' loader; its effect on their runs is not reported, so this is our measurement, not a comparison.
# * **Amount of data hardly matters here.** With a quarter of the data (256 sequences per length) or half, at the same
#   number of optimiser steps, every seed still reaches full test accuracy, and the head appears after a similar
#   number of steps (704 to 1,344, against 768 to 1,088 with the full data). Less data shows in one place: before
#   the head appears, training accuracy runs ahead of test accuracy (by up to 0.12 with a quarter of the data, 0.06
#   with half, 0.02 with all of it), a brief memorisation that the head then replaces. Fewer data still would be
#   needed to see a model memorise for good instead of growing a head.
# * **Copy does not make parity come sooner.** Per epoch, parity reaches 0.9 at the same time or later when a
#   quarter or half of its sequences are copies (seed by seed: 52, 14, 12 epochs for pure parity; 54, 18, 14 with
#   25 % copy; not within 60, 18, 14 with 50 % copy), although the mixes' heads end sharper (mean layer-2
#   peakiness 0.83 with either mix, against 0.67 for pure parity) because copy sequences are solved by a clean
#   head. Counted in parity sequences seen, half copy was faster for two seeds of three (18 and 14 epochs of half
#   parity, against 14 and 12 of pure parity) and failed for the third: three seeds cannot settle it. The paper's
#   notes mention the mixes as a data-curation ablation without a figure to compare with.

# %% tags=["hide-input"]
def reached(rows, label):
    return [v for v, _ in rows[label]]


if SCALE == "cpu":
    assert all(v is None for v in reached(order_reach, "length order (authors')"))
    assert max(h[-1]["test_accuracy"] for h in order["length order (authors')"]) <= 0.4
    assert all(v is not None and 24 <= v <= 34 for v in reached(order_reach, "shuffled (recipe)"))
    for n, runs in amount.items():
        assert all(h[-1]["test_accuracy"] >= 0.99 for h in runs), n
    steps = {n: [first_at(h, axis="step") for h in runs] for n, runs in amount.items()}
    for n in sizes:  # the step ranges overlap, and no seed needs more than twice the full data's median
        assert min(steps[n]) <= max(steps[full]) and max(steps[n]) >= min(steps[full])
        assert max(steps[n]) <= 2 * np.median(steps[full])
    gap = {n: max(abs(r["train_accuracy"] - r["test_accuracy"]) for h in runs for r in h) for n, runs in amount.items()}
    assert gap[full] <= 0.02 < gap[min(sizes)] and sorted(gap, key=gap.get) == sorted(gap, reverse=True)
    assert all(abs(h[-1]["train_accuracy"] - h[-1]["test_accuracy"]) <= 0.01 for runs in amount.values() for h in runs)
    pure = reached(mix_reach, "0% copy")
    mean_peak = {p: np.mean([h[-1]["peakiness_layer2"] for h in runs]) for p, runs in mixes.items()}
    for p in shares:
        assert all(m is None or m >= q for m, q in zip(reached(mix_reach, f"{p}% copy"), pure)), p
        assert mean_peak[p] > mean_peak[0] + 0.1, p
    print("checked: the statements above hold for every seed shown")

# %% [markdown]
# ## What we learned
#
# * How the data are served matters more than how much there is: shuffling the lengths together is the difference
#   between a head within 35 epochs and none within 60, while a quarter of the data, used for as many steps, changes
#   little.
# * An easier task that needs the same head (copy) sharpens the head but did not, in our runs, teach parity sooner.
#   Our reading: parity waits less for the head than for its last MLP, or loses time to a competing counting circuit
#   (chapter 5); testing that would take probing the MLP, which this book does not do yet.
