# %% [markdown]
# # 5. What makes an iteration head appear
#
# **What you will see.** The paper's ablations, rebuilt at the current scale with three seeds per setting: training
# with and without chain-of-thought on polynomial iteration and on parity, one layer against two, and learned against
# frozen random positional embeddings. For each setting, the final test accuracy and layer-2 peakiness of every seed.
#
# Then a grid of widths × lengths, like the paper's, and how many dimensions the positions need, learned or frozen,
# for polynomial iteration with CoT. Chapter 6 turns to the data (batch order, amount, task mixes).
#
# **What it costs.** At the `cpu` scale the runs ship with `ihlib`; retraining them (two processes, one per core)
# with `python -m ihlib reproduce --scale cpu --experiment ablations` took 14 to 16 minutes on two CPU cores,
# `--experiment positional` (12 runs, stopped early once converged; only their curves ship) 10 to 12 minutes and
# `--experiment width_length` (36 runs, stopped early once converged) 8.5 to 10 minutes. Each was retrained twice,
# in different sessions: the same histories (and, where they ship, weights) bit for bit. At the `paper` scale each
# run is the paper's recipe: run this chapter on a GPU.

# %%
import ihlib

SCALE = ihlib.notebook_setup()

# %%
from ihlib.results import load_or_train, results

ablations = results("ablations", SCALE)  # trains what is missing: over processes on a CPU, seeds batched on a GPU
names = list(ablations)
runs = {name: load_or_train("ablations", name, SCALE) for name in names}
cells = ablations.cells()
final = {name: run.history[-1] for name, run in runs.items()}
cfg = runs[names[0]].config
print(f"{len(runs)} runs: L_max={cfg.max_len}, d={cfg.dim}, {cfg.epochs} epochs, seeds "
      f"{sorted({run.config.seed for run in runs.values()})}")

# %% [markdown]
# ## Every setting at a glance
#
# Each dot is one seed (its last evaluation); bars are means. Without CoT the model is asked for $y_L$ right after
# EoI, so its "accuracy" is that single token; its layer-2 peakiness is not defined (there is no CoT to attend from)
# and is left out, as is that of the one-layer model, which has no layer 2.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from ihlib.viz import COLUMN_INCHES
import numpy as np

labels = {"polynomial_cot": "polynomial\nCoT", "polynomial_nocot": "polynomial\nno CoT", "parity_cot": "parity\nCoT",
          "parity_nocot": "parity\nno CoT", "polynomial_1layer": "polynomial\n1 layer",
          "polynomial_frozenpos": "polynomial\nfrozen pos."}
fig, axes = plt.subplots(1, 3, figsize=(COLUMN_INCHES, 4.4), constrained_layout=True)
for ax, key, title in zip(axes, ["test_accuracy", "train_accuracy", "peakiness_layer2"],
                          ["test accuracy", "train accuracy", "L2 peakiness"]):
    for i, cell in enumerate(cells):
        values = [final[n][key] for n in names if n.startswith(cell + "_s")]
        if key == "peakiness_layer2" and "nocot" in cell:
            continue
        ax.bar(i, np.mean(values), color="#8ecae6", width=0.6)
        ax.plot([i] * len(values), values, "ko", ms=4)
    ax.set_xticks(range(len(cells)), [labels[c].replace("\n", " ") for c in cells], fontsize=9, rotation=90)
    ax.set(ylim=(0, 1.05), title=title)
axes[0].axhline(1 / 11, color="crimson", ls="--", lw=1)
axes[0].text(len(cells) - 0.5, 1 / 11 + 0.02, "chance for 11 states", color="crimson", fontsize=9, ha="right")
fig.suptitle(f"Final metrics per setting (L_max = {cfg.max_len}, d = {cfg.dim}, one dot per seed)")
plt.show()

# %% tags=["hide-input"]
from ihlib.viz import markdown_table

keys = ["test_accuracy", "train_accuracy", "peakiness_layer1", "peakiness_layer2"]
shown = lambda v: "—" if np.isnan(v) else f"{v:.2f}"  # no pattern to measure: no CoT, or no layer 2
markdown_table(["setting", "test accuracy", "train accuracy", "peakiness layer 1", "peakiness layer 2"],
               [[labels[cell].replace("\n", " ")] + [", ".join(shown(final[n][key]) for n in names
                                                           if n.startswith(cell + "_s")) for key in keys]
                for cell in cells], note="—: not defined (no CoT token to attend from, or no layer 2)")

# %% [markdown]
# ## Without CoT: polynomial stays at chance, parity does not
#
# Test (solid) and training (dotted) accuracy of $y_L$ over training, for the no-CoT runs.

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 3.5), constrained_layout=True)
for ax, task in zip(axes, ["polynomial", "parity"]):
    for n in names:
        if n.startswith(f"{task}_nocot_s"):
            h = runs[n].history
            line, = ax.plot([r["epoch"] for r in h], [r["test_accuracy"] for r in h], "-", lw=1.5,
                            label=f"test, seed {runs[n].config.seed}")
            ax.plot([r["epoch"] for r in h], [r["train_accuracy"] for r in h], ":", color=line.get_color(),
                    label=f"train, seed {runs[n].config.seed}")
    ax.set(xlabel="epoch", ylabel="accuracy of y_L", title=f"{task}, no CoT", ylim=(-0.02, 1.02))
    ax.legend(fontsize=9)
plt.show()

# %% [markdown]
# ## What the runs say, next to the paper
#
# * **Polynomial iteration needs CoT.** Without it, test accuracy stays at chance ($1/11 \approx 0.09$) for every
#   seed, as in the paper; with CoT every seed reaches full accuracy with a sharp layer-2 head. The paper sees
#   training accuracy climb without CoT (memorisation); ours barely moves above chance (about 0.11): our CPU recipe's
#   weight decay of 1.0 works against memorising 8,192 sequences.
# * **Parity does not need CoT.** Without CoT it reaches about 0.98 test accuracy, the paper's figure: $y_L$ is the
#   parity of the number of ones, which a model can count with uniform attention over the inputs, no iteration head
#   required. So parity is not the task that shows why CoT matters; polynomial iteration is.
# * **One layer is not enough.** A single layer cannot first find EoI and then use it to find $x_t$; at
#   $L_{max} = 8$ all three seeds stay near chance, in line with the paper (one layer fails from $L_{max} \approx 10$;
#   it works only for short inputs, 4 to 7).
# * **Frozen random positions work at full width.** Here the paper's contrast does not appear: with the positions on
#   all 64 dimensions, a frozen random embedding already gives each position its own direction, and two of three
#   seeds reach full accuracy (the third, 0.84), with a much sharper layer 1 than learned positions. The paper's
#   finding is about capacity: frozen embeddings fail when positions get only a few dimensions (`pos_dim`); the
#   sweep below rebuilds it.
#
# The assertions below check these statements on the runs shown (at the `cpu` scale, the shipped runs).

# %% tags=["hide-input"]
def cell_values(cell, key):
    return np.array([final[n][key] for n in names if n.startswith(cell + "_s")])


if SCALE == "cpu":
    assert (cell_values("polynomial_nocot", "test_accuracy") <= 0.2).all()
    assert (cell_values("polynomial_cot", "test_accuracy") >= 0.95).all()
    assert (cell_values("polynomial_cot", "peakiness_layer2") >= 0.9).all()
    assert (cell_values("polynomial_nocot", "train_accuracy") <= 0.2).all()
    assert (cell_values("parity_nocot", "test_accuracy") >= 0.95).all()
    assert (cell_values("polynomial_1layer", "test_accuracy") <= 0.2).all()
    frozen = cell_values("polynomial_frozenpos", "test_accuracy")
    assert (frozen >= 0.95).sum() >= 2 and frozen.min() >= 0.8
    assert cell_values("polynomial_frozenpos", "peakiness_layer1").mean() > \
        cell_values("polynomial_cot", "peakiness_layer1").mean() + 0.3
    print("checked: every statement above holds for every seed shown")

# %% [markdown]
# ## How wide, for how long?
#
# Polynomial iteration with CoT for every width $d$ and maximal length $L_{max}$ of the grid, three seeds per cell
# (the mean is shown). These runs stop early once converged: at the first evaluation where test accuracy has been at
# least 0.99 for three evaluations in a row (`ihlib.engine.Converged`); the others run all their epochs. Cells outlined
# in cyan have a mean of at least 0.9.

# %%
from ihlib.viz import grid_heatmap

grid = {name: r.history[-1] for name, r in results("width_length", SCALE).items()}
grid_names = list(grid)
dims = sorted({int(n.split("_")[0][1:]) for n in grid_names})
lmaxes = sorted({int(n.split("_")[1][1:]) for n in grid_names})


def cell_mean(d, n, key):
    return float(np.mean([row[key] for name, row in grid.items() if name.startswith(f"d{d}_L{n}_s")]))


acc = np.array([[cell_mean(d, n, "test_accuracy") for n in lmaxes] for d in dims])
peak = np.array([[cell_mean(d, n, "peakiness_layer2") for n in lmaxes] for d in dims])
fig, axes = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 3.8), constrained_layout=True)
grid_heatmap(acc, dims, lmaxes, "mean test accuracy", "L_max", "width d", axes[0], boundary=0.9)
grid_heatmap(peak, dims, lmaxes, "mean layer-2 peakiness", "L_max", "width d", axes[1], boundary=0.9)
fig.suptitle("Polynomial iteration with CoT: width x length (3 seeds per cell)")
plt.show()

# %% [markdown]
# **What the grid says** (at the `cpu` scale; checked below, run by run):
#
# * **Peakiness tracks success**, as in the paper: every run either has a head (layer-2 peakiness at least 0.8,
#   test accuracy at least 0.8) or has none (peakiness at most 0.3, accuracy at most 0.6); nothing in between.
#   The paper reports about 1 against about 0.1.
# * **Width matters**: $d = 8$ and $d = 16$ fail at every length (mean accuracy at most 0.1); $d = 32$ and $d = 64$
#   grow a head for some seeds at every length, but not for all: seeds matter as much as width here (at $d = 64$,
#   $L_{max} = 6$, two of three seeds found no head within 60 epochs).
# * **Differences from the paper.** The paper finds $d \approx 15$ enough up to $L_{max} \approx 7$–13; our
#   $d = 16$ fails even at $L_{max} = 4$, and our larger widths fail for some seeds. We suspect the CPU recipe: its
#   weight decay of 1.0 and its 60 epochs make the head appear fast when it appears, but give a run little time to
#   escape a bad start, and may be too strong for narrow models (untested). Nor does the needed width grow
#   monotonically with length in our small grid, and three seeds are too few to draw the paper's boundary.

# %% tags=["hide-input"]
if SCALE == "cpu":
    for name, row in grid.items():
        headed = row["peakiness_layer2"] >= 0.8 and row["test_accuracy"] >= 0.8
        headless = row["peakiness_layer2"] <= 0.3 and row["test_accuracy"] <= 0.6
        assert headed or headless, name
    assert (acc[dims.index(8)] <= 0.1).all() and (acc[dims.index(16)] <= 0.1).all()
    for d in (32, 64):
        for n in lmaxes:
            assert max(row["test_accuracy"] for name, row in grid.items() if name.startswith(f"d{d}_L{n}_s")) >= 0.9
    print("checked: the statements above hold for every run of the grid")

# %% [markdown]
# ## How many dimensions do positions need?
#
# The paper's contrast between learned and frozen positions is one of capacity. Here the positional embedding fills
# only the first `pos_dim` of the $d$ coordinates (the others carry the tokens alone), learned or frozen random,
# three seeds each; the full-width runs are those of the ablations above. These runs stop early once converged
# (same rule as the grid below).

# %%
from ihlib.viz import rise_epoch

positional = {name: r.history for name, r in results("positional", SCALE).items()}
positional.update({f"{kind}_p{cfg.dim}_s{r.seed}": r.history
                   for kind, cell in [("learned", "polynomial_cot"), ("frozen", "polynomial_frozenpos")]
                   for r in ablations.cell(cell)})
pos_dims = sorted({int(n.split("_")[1][1:]) for n in positional})
kinds = {"learned": "#219ebc", "frozen": "#e76f51"}


def pos_cell(kind, p):
    """The histories of one (kind, pos_dim) cell, seed by seed."""
    return [h for n, h in sorted(positional.items()) if n.startswith(f"{kind}_p{p}_s")]


fig, axes = plt.subplots(1, 3, figsize=(COLUMN_INCHES, 3.6), constrained_layout=True)
for ax, key, title in zip(axes, ["test_accuracy", "peakiness_layer1", "peakiness_layer2"],
                          ["test accuracy", "L1 peakiness", "L2 peakiness"]):
    for j, (kind, colour) in enumerate(kinds.items()):
        means = []
        for p in pos_dims:
            values = [h[-1][key] for h in pos_cell(kind, p)]
            ax.plot([p * (1.06 if j else 0.94)] * len(values), values, "o", color=colour, ms=4)
            means.append(np.mean(values))
        ax.plot(pos_dims, means, "-", color=colour, label=f"{kind} (mean)")
    ax.set_xscale("log", base=2)
    ax.minorticks_off()
    ax.set(xticks=pos_dims, xticklabels=pos_dims, xlabel="pos_dim", ylim=(-0.03, 1.03), title=title)
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
fig.suptitle(f"Polynomial with CoT, d = {cfg.dim}: positions on pos_dim coordinates\n(one dot per seed)",
             fontsize=11)
plt.show()

pos_reach = {(kind, p): [rise_epoch(h, "test_accuracy", 0.9) for h in pos_cell(kind, p)] for kind in kinds
             for p in pos_dims}
markdown_table(["positions"] + [f"pos_dim {p}" for p in pos_dims],
               [[kind] + [", ".join("—" if e is None else str(e) for e in pos_reach[kind, p]) for p in pos_dims]
                for kind in kinds],
               title="Epoch at which test accuracy first reaches 0.9", note="—: not within the run")

# %% [markdown]
# **What the sweep says** (at the `cpu` scale, $d = 64$, $L_{max} = 8$; checked below):
#
# * **Learned positions find the head sooner** at every positional dimension where both succeed: with 16 or 64
#   dimensions, every learned seed reaches 0.9 test accuracy before any frozen one (epochs 24–34 against 42–52;
#   one frozen seed at full width never gets there in 60 epochs).
# * **With 4 dimensions both become unreliable**: one learned seed of three reaches 0.9 within 60 epochs, no frozen
#   one does. Four coordinates are too few to give the 18 positions of a sequence directions that attention can
#   tell apart, unless training arranges them (learned) — and even then not always.
# * **Next to the paper.** The paper's contrast is much sharper: learned positions succeed from about 23 of 31
#   dimensions while frozen ones mostly stay at or below 0.4 even after 10,000 epochs. Here frozen positions with 16
#   dimensions always work. We think the difference is length: the paper's $L_{max} = 16$ has 34 positions to
#   separate, ours 18, and random directions in few dimensions collide more as their number grows (untested here:
#   it would need the sweep at $L_{max} = 16$).
# * Layer-1 peakiness varies from 0 to 0.98 among runs that all succeed: many runs do not route "where is EoI?"
#   through a sharp layer-1 attention to EoI: the head has more than one implementation.

# %% tags=["hide-input"]
if SCALE == "cpu":
    for kind in kinds:
        assert all(h[-1]["test_accuracy"] >= 0.99 for h in pos_cell(kind, 16))
    for p in (16, cfg.dim):
        learned_at = pos_reach["learned", p]
        assert None not in learned_at
        assert max(learned_at) < min(e if e is not None else float("inf") for e in pos_reach["frozen", p])
    reached = {kind: sum(e is not None for e in pos_reach[kind, 4]) for kind in kinds}
    assert reached == {"learned": 1, "frozen": 0}, reached
    assert 24 <= min(min(pos_reach["learned", p]) for p in (16, cfg.dim)) and \
        max(max(pos_reach["learned", p]) for p in (16, cfg.dim)) <= 34
    assert min(e for p in (16, cfg.dim) for e in pos_reach["frozen", p] if e is not None) >= 42
    layer1 = [h[-1]["peakiness_layer1"] for kind in kinds for p in pos_dims for h in pos_cell(kind, p)
              if h[-1]["test_accuracy"] >= 0.99]  # among the runs that succeed
    assert min(layer1) <= 0.05 and max(layer1) >= 0.95
    print("checked: the statements above hold for every seed shown")

# %% [markdown]
# ## Many runs, cheaply
#
# Grids like these are many tiny models. On a CPU, `python -m ihlib reproduce` spreads runs over processes (one
# thread each) with `ihlib.grid.run_grid`, which writes each result as it finishes and resumes an interrupted grid;
# `benchmarks/grid_speed.py` measured 1.15× to 1.47× over the same 16 runs one after another:
# a single run already gains 1.1× to 1.3× from its second thread, which a process grid cannot gain again, and two
# processes slow each other by about 8%. Early stopping saved 1% to 7% on a d = 32 grid where most runs never
# converge. With both, all 101 runs behind this book's `cpu` scale (`python -m ihlib reproduce --scale cpu`) retrain
# in 52 to 57 minutes on two cores, summing the times measured experiment by experiment (chapters 3 and 5 to 7).
#
# On a GPU the better move is `ihlib.batched.train_batched`: K seeds as one model with stacked parameters (vmap), equal
# to K separate runs up to floating-point noise (tested on CPU). On a GPU, `reproduce` and these chapters train the
# runs that differ only by seed this way (checkpointed at every evaluation, so an interrupted group resumes; each
# run stops by the same rule as alone). On CPU it gains little (1.08× and 1.16× measured). On a GPU we
# *estimate* (not measured: no GPU here) that a step of one $d = 64$, $L_{max} = 8$ run is about 3 GFLOP, well under
# a millisecond of arithmetic, while its hundred-odd kernel launches cost about a millisecond: batching K runs adds
# arithmetic but no launches, so up to roughly 3–10 seeds should cost about as much as one, less for the paper's
# larger model.

# %% [markdown]
# ## What we learned
#
# * Chain-of-thought is what makes polynomial iteration learnable, and the iteration head is how the model uses it:
#   without CoT, or without a second layer to build the head, the model stays at chance.
# * Not every iterative task needs it: parity has a shortcut, so the paper's argument rests on tasks like polynomial
#   iteration whose answer depends on every input in order.
# * Positions need room: with 4 of 64 coordinates most runs miss the head; with 16, learned or frozen, all find it,
#   learned ones sooner. How wide the model must be, and how lucky its seed, matter as much at this scale.
