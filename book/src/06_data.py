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
# converged (test accuracy ≥ 0.99 for three evaluations in a row), in about 13 minutes on two CPU cores.

# %%
import ihlib

SCALE = ihlib.notebook_setup()

# %%
from ihlib.experiments import EXPERIMENTS, SEEDS, histories

seeds = SEEDS[SCALE]
data = histories("data", SCALE)
reference = histories("ablations", SCALE, runs=[f"{cell}_s{s}" for cell in ("polynomial_cot", "parity_cot")
                                               for s in seeds])


def runs_of(source, cell):
    """The histories of one cell, seed by seed."""
    return [source[f"{cell}_s{s}"] for s in seeds]


# %% [markdown]
# ## How we say "the head appeared"
#
# A run's head has appeared at the first evaluation where test accuracy reaches 0.9. In chapter 3 accuracy and
# layer-2 peakiness rose together, so either would do; accuracy is the one every run reports (for the mixes, we use
# parity's own test accuracy). A run that never gets there within its budget is marked "not within" its last epoch.

# %%
from IPython.display import Markdown
from ihlib.viz import rise_epoch


def first_at(history, key="test_accuracy", level=0.9, axis="epoch"):
    """The ``axis`` value (epoch or step) of the first evaluation where ``key`` reaches ``level``, or None."""
    epoch = rise_epoch(history, key, level)
    return None if epoch is None else next(r[axis] for r in history if r["epoch"] == epoch)


def table(rows, unit):
    head = f"| data | {' | '.join(f'seed {s}' for s in seeds)} |\n|---|" + "---|" * len(seeds) + "\n"
    return Markdown(head + "\n".join(
        f"| {label} | " + " | ".join(str(v) if v is not None else f"not within {last}" for v, last in values) + " |"
        for label, values in rows.items()) + f"\n\n*{unit}*")


# %% [markdown]
# ## Batch order: length order against shuffled
#
# One line per seed; epochs on the x-axis. Both see exactly the same sequences each epoch, in a different order.

# %%
import matplotlib.pyplot as plt

order = {"shuffled (recipe)": runs_of(reference, "polynomial_cot"), "length order (authors')": runs_of(data, "length_order")}
colours = {"shuffled (recipe)": "#219ebc", "length order (authors')": "#e76f51"}
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), constrained_layout=True)
for ax, key, title in zip(axes, ["test_accuracy", "peakiness_layer2"], ["test accuracy", "layer-2 peakiness (→ x_t)"]):
    for label, runs in order.items():
        for i, h in enumerate(runs):
            ax.plot([r["epoch"] for r in h], [r[key] for r in h], color=colours[label], lw=1.5,
                    label=label if i == 0 else None)
    ax.set(xlabel="epoch", ylabel="fraction", title=title, ylim=(-0.02, 1.02))
axes[0].legend(fontsize=8)
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

# %%
sizes = [int(k.split("_")[0][1:]) for k in data if k.startswith("n") and k.endswith("_s0")]
full = EXPERIMENTS["ablations"].runs(SCALE)["polynomial_cot_s0"].n_per_length
amount = {full: runs_of(reference, "polynomial_cot"), **{n: runs_of(data, f"n{n}") for n in sizes}}
palette = plt.get_cmap("viridis")
fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
for j, (n, runs) in enumerate(sorted(amount.items())):
    colour = palette(j / len(amount))
    for i, h in enumerate(runs):
        ax.plot([r["step"] for r in h], [r["test_accuracy"] for r in h], color=colour, lw=1.5,
                label=f"{n} per length" if i == 0 else None)
        ax.plot([r["step"] for r in h], [r["train_accuracy"] for r in h], ":", color=colour, lw=1)
ax.set(xlabel="optimiser step", ylabel="accuracy", ylim=(-0.02, 1.02),
       title="Polynomial iteration: sequences per length (solid: test, dotted: train)")
ax.legend(fontsize=8)
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

# %%
shares = [int(k.split("_")[0][4:]) for k in data if k.startswith("copy") and k.endswith("_s0")]
mixes = {0: runs_of(reference, "parity_cot"), **{p: runs_of(data, f"copy{p}") for p in shares}}
parity_key = {p: "test_accuracy" if p == 0 else "test_accuracy_parity" for p in mixes}
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), constrained_layout=True)
for j, (p, runs) in enumerate(sorted(mixes.items())):
    colour = plt.get_cmap("plasma")(j / len(mixes))
    for ax, key in zip(axes, [parity_key[p], "peakiness_layer2"]):
        for i, h in enumerate(runs):
            ax.plot([r["epoch"] for r in h], [r[key] for r in h], color=colour, lw=1.5,
                    label=f"{p}% copy" if i == 0 else None)
axes[0].set(xlabel="epoch", ylabel="accuracy", title="parity test accuracy", ylim=(-0.02, 1.02))
axes[1].set(xlabel="epoch", ylabel="fraction", title="layer-2 peakiness (→ x_t)", ylim=(-0.02, 1.02))
axes[0].legend(fontsize=8)
fig.suptitle("Parity with CoT, a share of its sequences replaced by copy (one line per seed)")
plt.show()
mix_reach = {f"{p}% copy": [(first_at(h, parity_key[p]), h[-1]["epoch"]) for h in runs]
             for p, runs in sorted(mixes.items())}
table(mix_reach, "epoch at which parity test accuracy first reaches 0.9")

# %% [markdown]
# ## What the runs say, next to the paper
#
# RESULTS_PLACEHOLDER

# %%
if SCALE == "cpu":
    pass

# %% [markdown]
# ## What we learned
#
# LEARNED_PLACEHOLDER
