# %% [markdown]
# # 5. What makes an iteration head appear
#
# **What you will see.** The paper's ablations, rebuilt with its recipe at $L_{max} = 8$ and three seeds per
# setting: with and without chain-of-thought on polynomial iteration and on parity, one layer against two, and
# learned against frozen random positions; then a grid of widths × lengths and how many dimensions positions need.
# Each section states the claims we wrote down before its runs were trained ([What we expected](expectations.md))
# and whether they hold. Chapter 6 turns to the data (batch order, amount, task mixes), and chapter 8 to what weight
# decay changes in the paper's recipe (the one-minute `fast` recipe of chapter 3 uses it).
#
# *Peakiness* (chapter 2) measures the head: the fraction of CoT tokens whose attention puts more than half its
# weight where an iteration head would, on EoI in layer 1 and on $x_t$ in layer 2 (1 for a perfect head).
#
# **What it costs.** The runs ship with `ihlib` and load in seconds. To retrain them, run
# `python -m ihlib reproduce --scale cpu --experiment ablations` (and the same with `width_length` and
# `positional`); each run stops once converged. The first cell below says how many runs are shipped or cached and
# at most how long training the others would take. At the `paper` scale every run, the sweeps' too, uses the
# paper's recipe (run this chapter on a GPU).

# %%
import ihlib

SCALE = ihlib.notebook_setup()
# the claims were registered for the cpu scale's runs
CLAIMS = SCALE == "cpu"

# %% tags=["hide-input"]
from ihlib.presets import compared_scale
from ihlib.results import plan

for name in ("ablations", "width_length", "positional"):
    print(plan(name, SCALE))
print(plan("emergence", compared_scale(SCALE), cells=["polynomial", "parity"]))

# %%
from ihlib.results import results

# trains what is missing: over processes on a CPU, seeds batched on a GPU
ablations = results("ablations", SCALE)
# the runs with CoT: chapter 3's
emergence = results("emergence", compared_scale(SCALE),
                    cells=["polynomial", "parity"])
cfg = ablations.cell("polynomial_nocot")[0].config
print(f"{len(ablations)} runs, and chapter 3's {len(emergence)} with CoT: "
      f"L_max={cfg.max_len}, d={cfg.dim}, at most {cfg.epochs} epochs")

# %% [markdown]
# ## Every setting at a glance
#
# Each dot is one seed (its last evaluation); bars are means. Without CoT the model is asked for $y_L$ right after
# EoI, so its accuracy is that of a single token (the red dashes: that token guessed, 1/11 for polynomial iteration
# and 1/2 for parity), and it has no CoT token whose attention could be measured; the one-layer model has no layer 2.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from ihlib.viz import plot_final_values, plot_seeds

settings = {"polynomial, CoT": emergence.histories("polynomial"),
            "polynomial, no CoT": ablations.histories("polynomial_nocot"),
            "parity, CoT": emergence.histories("parity"), "parity, no CoT": ablations.histories("parity_nocot"),
            "polynomial, 1 layer": ablations.histories("polynomial_1layer"),
            "polynomial, frozen pos.": ablations.histories("polynomial_frozenpos")}
plot_final_values(settings, ("test_accuracy", "train_accuracy", "peakiness_layer2"),
                  f"The last evaluation of every run ($L_{{max}}$ = {cfg.max_len}, d = {cfg.dim})",
                  chance={"polynomial, no CoT": 1 / 11, "parity, no CoT": 1 / 2})
plt.show()

# %% [markdown]
# ## Without CoT
#
# Test and training accuracy of $y_L$ over training, for the runs without CoT (thin: each seed; thick: the mean).

# %% tags=["hide-input"]
plot_seeds({"polynomial, no CoT": settings["polynomial, no CoT"], "parity, no CoT": settings["parity, no CoT"]},
           ("test_accuracy", "train_accuracy"), "Without chain-of-thought")
plt.show()

# %% [markdown]
# **The claims, as registered before the runs.**

# %% tags=["hide-input"]
from ihlib import claims

ablation_claims = claims.ablations(ablations)
if CLAIMS:
    claims.check(ablation_claims, misses=["A3"])
ablation_claims

# %% [markdown]
# **What the runs without CoT show** (at the `cpu` scale; the next cell checks this text against the runs). A1 and
# A2 hold, as in the paper: without CoT, polynomial iteration stays at chance on the test set (0.09 to 0.10, chance
# 0.09) while training accuracy climbs to 0.80–0.95 and is still climbing at epoch 300: the model memorises its
# training sequences instead of learning the task.
#
# **A3 misses.** Parity without CoT ends at 0.53 to 0.65, where the paper reports about 0.98. Each seed gets the
# shortest lengths right (length 1 always, up to 3 in one seed) and is near chance (0.5) at length 8. Its training
# accuracy, 0.56 to 0.68, is no better: at $L_{max} = 8$ the training and test sets hold nearly the same inputs, so
# the model does not even fit the sequences it trains on. From epoch 100 to the end its test accuracy stays within a
# band 0.05 wide. *A hypothesis, untested here:* the paper's 0.98 comes from runs of 1,000 epochs, and a counting
# circuit that solves parity without CoT may need more than our 300 epochs to appear, after a plateau like the one
# that precedes the iteration head. Chapter 3's parity runs with CoT, on the same budget, reach 0.9 in four seeds of
# five: within 300 epochs at this scale, parity is learned only with CoT.

# %% tags=["hide-input"]
if CLAIMS:
    nocot, parity = ablations.histories("polynomial_nocot"), ablations.histories("parity_nocot")

    span = claims.span
    assert span([h[-1]["test_accuracy"] for h in nocot]) == "0.09-0.10"
    assert span([h[-1]["train_accuracy"] for h in nocot]) == "0.80-0.95"
    assert all(h[-1]["train_accuracy"] > h[-2]["train_accuracy"] for h in nocot)  # still climbing
    assert span([h[-1]["test_accuracy"] for h in parity]) == "0.53-0.65"
    assert span([h[-1]["train_accuracy"] for h in parity]) == "0.56-0.68"
    for h in parity:
        assert h[-1]["test_accuracy_L1"] == 1 and abs(h[-1][f"test_accuracy_L{cfg.max_len}"] - 0.5) <= 0.05
        late = [row["test_accuracy"] for row in h if row["epoch"] >= 100]
        assert max(late) - min(late) < 0.05
    assert sorted(max(l for l in range(1, cfg.max_len + 1) if h[-1][f"test_accuracy_L{l}"] >= 0.99)
                  for h in parity) == [1, 2, 3]
    parity_cot = emergence.histories("parity")
    assert len(parity_cot) == 5 and sum(claims.epoch_to(h) < claims.NEVER for h in parity_cot) == 4

# %% [markdown]
# **At the paper's length.** Claims S11 and S12 of the [expectations page](expectations.md) ask the same of polynomial
# iteration without CoT at the paper's $L_{max} = 16$ (the paper's recipe, 300 epochs, 3 seeds). They were written
# before those runs were started; the cell below lists the runs shipped so far and, once all three are in, checks
# the two claims.

# %% tags=["hide-input"]
from IPython.display import display

from ihlib.results import finished_results
from ihlib.viz import markdown_table

nocot16 = sorted((r for r in finished_results("ablations", "paper").values()
                  if r.cell == "polynomial_nocot"), key=lambda r: r.seed)
if nocot16:
    display(markdown_table(
        ["seed", "last epoch", "test accuracy", "training accuracy"],
        [[f"s{r.seed}", r.history[-1]["epoch"], f"{r.history[-1]['test_accuracy']:.2f}",
          f"{r.history[-1]['train_accuracy']:.2f}"] for r in nocot16],
        title="Polynomial without CoT at L_max 16 (the paper scale)"))
else:
    print("polynomial without CoT at L_max 16: no run shipped yet (S11, S12 wait for 3)")
nocot16_claims = claims.paper_nocot(finished_results("ablations", "paper"))
if nocot16_claims and SCALE != "smoke":
    claims.check(nocot16_claims)
if nocot16_claims:  # an empty table would show only its header
    display(nocot16_claims)

# %% [markdown]
# **One layer, and frozen positions.** A4 holds: with one layer, CoT does not make polynomial iteration learnable at
# $L_{max} = 8$ within 300 epochs: accuracy ends at 0.18 to 0.37, though still rising (by 0.07 to 0.12 over the last
# 60 epochs). The paper finds one layer enough for $L_{max}$ of 4 to 7 and failing from about 10; 8 lies between.
# Per length (below), the one-layer models get lengths 1 and 2 right (the training set holds every one of their 10
# and 100 inputs), length 3 mostly (0.87 to 0.91), length 4 in part (0.36 to 0.50), lengths 5 to 7 rarely (at most
# 0.28), and, in two seeds of three, length 8 again. *Two hypotheses, not tested:* (1) the distance from a CoT token
# back to the input it needs grows with the length $L$, so a rule by position alone, without first finding EoI (the
# job of layer 1 in the iteration head), is right for one length only, and these models would have picked the
# longest. (2) In the authors' length order the last batches of every epoch are those of length 8, just before each
# evaluation.
#
# A5 holds: frozen random positions at full width (drawn from a standard normal, as the authors draw them) grow the
# head as learned ones do, reaching 0.9 at epochs 100 to 130, earlier than the median of chapter 3's learned
# positions (150; their range is 120 to 220). The paper's failures of frozen positions come at small positional
# dimension, which the sweep below looks at.

# %% tags=["hide-input"]
one = ablations.histories("polynomial_1layer")
fig, ax = plt.subplots(figsize=(6.4, 3.0), constrained_layout=True)
for i, h in enumerate(one):
    ax.plot(range(1, cfg.max_len + 1), [h[-1][f"test_accuracy_L{n}"] for n in range(1, cfg.max_len + 1)], "o-",
            label=f"seed {i}")
ax.set(xlabel="sequence length L", ylabel="test accuracy", ylim=(-0.02, 1.02),
       title="One layer with CoT: accuracy per length at epoch 300")
ax.legend(frameon=False, loc="lower left")
plt.show()
if CLAIMS:
    per_length = [[h[-1][f"test_accuracy_L{n}"] for n in range(1, cfg.max_len + 1)] for h in one]
    assert span([h[-1]["test_accuracy"] for h in one]) == "0.18-0.37" and all(h[-1]["epoch"] == 300 for h in one)
    assert span([claims.at(h, 300) - claims.at(h, 240) for h in one]) == "0.07-0.12"
    assert all(a[0] == a[1] == 1 for a in per_length) and span([a[2] for a in per_length]) == "0.87-0.91"
    assert span([a[3] for a in per_length]) == "0.36-0.50" and f"{max(max(a[4:7]) for a in per_length):.2f}" == "0.28"
    assert sorted(a[-1] >= 0.95 for a in per_length) == [False, True, True]
    learned_09 = [claims.epoch_to(h) for h in emergence.histories("polynomial")]
    frozen_09 = [claims.epoch_to(h) for h in ablations.histories("polynomial_frozenpos")]
    assert span(frozen_09, "g") == "100-130" and span(learned_09, "g") == "120-220"
    assert claims.median(learned_09) == 150 and max(frozen_09) < 150

# %% [markdown]
# ## How wide, for how long?
#
# Polynomial iteration with CoT for every width $d$ and maximal length $L_{max}$ of the grid, three seeds per cell
# (the mean is shown), each given the same number of optimiser steps (3,840: 120 epochs at $L_{max} = 8$, 160 at 6,
# 240 at 4) and stopped once converged (test accuracy ≥ 0.99 at three evaluations in a row). This sweep uses the
# one-minute `fast` recipe: 36 runs of the paper's recipe would not fit the retraining budget. Chapter 3's runs, the
# paper's recipe at $d = 128$ and $L_{max} = 8$, lie outside the grid; claim W5 asks the same of them. Cells outlined
# in cyan, on both panels, have a mean test accuracy of at least 0.95.

# %% tags=["hide-input"]
import numpy as np
from ihlib.viz import COLUMN_INCHES, grid_heatmap

grid = results("width_length", SCALE)
dims = sorted({r.config.dim for r in grid.values()})
lengths = sorted({r.config.max_len for r in grid.values()})


def grid_mean(d, n, key):
    return float(np.mean([r.history[-1][key] for r in grid.values() if (r.config.dim, r.config.max_len) == (d, n)]))


means = {key: np.array([[grid_mean(d, n, key) for n in lengths] for d in dims])
         for key in ("test_accuracy", "peakiness_layer2")}
fig, axes = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 3.6), constrained_layout=True)
for ax, key, name in zip(axes, means, ("mean test accuracy", "mean L2 peakiness")):
    grid_heatmap(means[key], dims, lengths, name, "$L_{max}$", "width d", ax,
                 outlined=means["test_accuracy"] >= 0.95)
fig.suptitle("Polynomial with CoT, the fast recipe: width x length (3 seeds per cell)", fontsize=11)
plt.show()
grid_claims = claims.width_length(grid, emergence)
if CLAIMS:
    claims.check(grid_claims, misses=["W2"])
grid_claims

# %% [markdown]
# **What the grid shows** (at the `cpu` scale; the table above is checked against this text). Four of the five
# claims hold. $d = 8$ fails at every length (W1). Where a run succeeds, its layer-2 head is sharp (W3), as the
# paper finds. But accuracy can come without the head: the two $d = 64$, $L_{max} = 6$ seeds that miss W2 end at
# accuracies of 0.85 and 0.89 with layer-1 and layer-2 peakiness both at 0.00, well above chance with no iteration
# head at all. The smallest width at which at least two of three seeds
# succeed grows with $L_{max}$ (W4: the table gives it per length), the paper's trend: longer sequences need wider
# models. **W2 misses**: at $d = 64$ one cell, $L_{max} = 6$, has only one seed of three at 0.95 or more within the
# step budget, while all seeds succeed at the lengths on either side; with three seeds we cannot tell an unlucky
# cell from a budget that is too short for it. The paper's recipe at $d = 128$ meets both W2 and W3 (W5). This
# grid uses the `fast` recipe, so its widths are not the paper's: the paper finds $d \approx 15$ enough up to
# $L_{max} \approx 7$.

# %% tags=["remove-cell"]
if CLAIMS:  # the text above: the two d 64 / L_max 6 seeds that miss have no head
    missed = sorted((r.history[-1] for r in grid.values()
                     if r.name.startswith("d64_L6") and r.history[-1]["test_accuracy"] < 0.95),
                    key=lambda h: h["test_accuracy"])
    assert [f"{h['test_accuracy']:.2f}" for h in missed] == ["0.85", "0.89"]
    assert all(h["peakiness_layer1"] < 0.005 and h["peakiness_layer2"] < 0.005 for h in missed)

# %% [markdown]
# ## How many dimensions do positions need?
#
# The paper's contrast between learned and frozen positions is one of capacity. Here the positional embedding fills
# only the first `pos_dim` of the $d = 64$ coordinates (the others carry the tokens alone), learned or frozen random,
# three seeds each, with the `fast` recipe for 120 epochs (stopped once converged). The ablations' frozen runs above
# are the paper recipe's cell at full width (claim A5).

# %% tags=["hide-input"]
positional = results("positional", SCALE)
plot_seeds({f"{kind}, {p} coordinates": positional.histories(f"{kind}_p{p}")
            for kind in ("learned", "frozen") for p in sorted({r.config.pos_dim for r in positional.values()})},
           ("test_accuracy", "peakiness_layer2"), "Polynomial with CoT, the fast recipe: positions on few coordinates")
plt.show()
positional_claims = claims.positional(positional) if SCALE != "smoke" else claims.Claims()  # smoke: other cells
if CLAIMS:
    claims.check(positional_claims, misses=["P2", "P3"])
positional_claims

# %% [markdown]
# **What the sweep shows** (at the `cpu` scale; the next cell checks this text against the runs). With positions on
# 16 of the 64 coordinates, learned and frozen alike, every seed converges well within the budget (P1 holds). With 4
# coordinates every run is slower, and **P2 misses**: frozen positions did at least as well as learned ones. The
# three frozen seeds all end at an accuracy of 0.99 or more (one of them only in its last three evaluations), while
# only one learned seed does; the other two end at 0.53 and 0.88, their curves swinging by 0.2 or more from one
# evaluation to the next, again and again. Counting any evaluation instead of the last, two learned seeds of three
# reached 0.99 at some point, against all three frozen ones. The paper reports, at its scale, that learned positions
# succeed from about 23 of 31 positional dimensions while frozen ones mostly stay at or below 0.4 accuracy even
# after 10,000 epochs.
#
# *A hypothesis, tested in the next section:* the `fast` recipe's weight decay of 1.0 pulls learned positions toward
# zero, while frozen ones are not trained and so not decayed, and this alone could make learned positions on few
# coordinates worse and less stable. The other candidate, that the paper's contrast needs its longer sequences
# ($L_{max} = 16$ and more, where random codes for the many positions crowd together on few coordinates), would
# need the `paper` scale's `positional` experiment: about 30 runs of an hour or more each, beyond this book's CPU
# budget. We have not run it, so we drop it rather than offer it untested: at $L_{max} = 8$ the paper's contrast
# does not appear, and that is all this sweep says.

# %% tags=["hide-input"]
if CLAIMS:
    ends = {cell: [h[-1]["test_accuracy"] for h in positional.histories(cell)] for cell in positional.cells()}
    budget = positional.cell("learned_p16")[0].config.epochs
    every = positional.cell("frozen_p4")[0].config.eval_every
    assert all(h[-1]["epoch"] < budget for c in ("learned_p16", "frozen_p16") for h in positional.histories(c))
    for kind in ("learned", "frozen"):  # 4 coordinates: every run later to 0.9 than any run with 16
        p4, p16 = ([claims.epoch_to(h) for h in positional.histories(f"{kind}_p{p}")] for p in (4, 16))
        assert min(p4) > max(p16), kind
    assert all(a >= 0.99 for a in ends["frozen_p4"]) and sum(a >= 0.99 for a in ends["learned_p4"]) == 1
    assert sorted(f"{a:.2f}" for a in ends["learned_p4"] if a < 0.99) == ["0.53", "0.88"]
    assert max(claims.epoch_to(h, 0.99) for h in positional.histories("frozen_p4")) >= budget - 2 * every
    for h in positional.histories("learned_p4"):  # the unconverged seeds swing: >= 5 jumps of 0.2 in the second half
        acc = [row["test_accuracy"] for row in h[len(h) // 2:]]
        assert acc[-1] >= 0.99 or sum(abs(a - b) >= 0.2 for a, b in zip(acc, acc[1:])) >= 5
    ever = {cell: sum(claims.epoch_to(h, 0.99) < claims.NEVER for h in positional.histories(cell))
            for cell in ("learned_p4", "frozen_p4")}
    assert ever == {"learned_p4": 2, "frozen_p4": 3}

# %% [markdown]
# ## Does weight decay hurt learned positions? (P3, P4)
#
# The weight-decay hypothesis makes a prediction we wrote down before testing it (claims P3 and P4 on the
# [expectations page](expectations.md)): without weight decay, learned positions on 4 coordinates should do better
# than with it, and better than frozen ones. The same 4-coordinate cells, three seeds each, with the `fast` recipe's
# weight decay set to 0 and nothing else changed (chapter 8 asks what weight decay does to the paper's recipe
# itself):

# %% tags=["hide-input"]
plot_seeds({f"{kind}, {label}": positional.histories(f"{kind}_p4{suffix}")
            for kind in ("learned", "frozen") for label, suffix in (("decay 1", ""), ("no decay", "_nodecay"))},
           ("test_accuracy", "peakiness_layer2"), "Positions on 4 coordinates, with and without weight decay")
plt.show()
to_09 = {cell: [claims.epoch_to(h) for h in positional.histories(cell)] for cell in positional.cells()}
for kind in ("learned", "frozen"):
    for label, suffix in (("decay 1", ""), ("no decay", "_nodecay")):
        epochs = ", ".join("none" if e == claims.NEVER else f"{e:g}" for e in to_09[f"{kind}_p4{suffix}"])
        print(f"{kind} positions on 4 coordinates, {label}: epoch to 0.9 {epochs}")

# %% [markdown]
# **P4 holds, P3 misses** (the claims table above; the text is checked below). Without weight decay every learned
# seed converges, and each reaches 0.9 sooner than any learned seed did with weight decay: on 4 coordinates, weight
# decay is what made learned positions worse and unstable, as the hypothesis above says. But frozen positions
# converge without weight decay too, so P2's contrast does not appear either way at this scale: learned positions
# get to 0.9 sooner than frozen ones, yet both end at 0.99 or more.

# %% tags=["hide-input"]
if CLAIMS:
    for cell in ("learned_p4_nodecay", "frozen_p4_nodecay"):
        assert all(h[-1]["test_accuracy"] >= 0.99 for h in positional.histories(cell)), cell
    assert max(to_09["learned_p4_nodecay"]) < min(to_09["learned_p4"])
    assert max(to_09["learned_p4_nodecay"]) < min(to_09["frozen_p4_nodecay"])

# %% [markdown]
# ```{tip}
# **Retraining these sweeps yourself.** `python -m ihlib reproduce --scale cpu --experiment ablations` (or any
# other experiment of this chapter) trains the runs that are not cached, spread over processes on a CPU and with the
# seeds of a setting batched into one model on a GPU; an interrupted sweep resumes where it stopped, and
# `--executor slurm` sends one job per setting to a cluster. The README says how, and `benchmarks/README.md` what
# each of these ways was measured to gain.
# ```

# %% [markdown]
# ## What we learned
#
# At the `cpu` scale (three seeds per setting; the ablations with the paper's recipe at $L_{max} = 8$, the two sweeps
# with the `fast` recipe), 10 of this chapter's 14 claims hold and four miss: A3, W2, and P2 and P3 of the sweep of
# positions on few coordinates.
#
# * **CoT is what makes polynomial iteration learnable**: without it the model memorises its training set and
#   stays at chance on new inputs, as in the paper. Parity without CoT is not learned either within 300 epochs,
#   where the paper's longer runs reach about 0.98: a difference from the paper we have not explained.
# * **Two layers are needed**: within 300 epochs, one layer with CoT does not learn the task at $L_{max} = 8$
#   (its accuracy still rising slowly), except, in two seeds of three, at the longest length.
# * **Positions need not be learned** at full width: frozen random ones grow the same head, as fast or faster. On
#   4 of 64 coordinates (the `fast` recipe) we did not find the paper's advantage for learned positions; weight
#   decay was what made learned ones worse there.
# * **Longer sequences need wider models**: the narrowest width at which two seeds of three succeed is 16 at
#   $L_{max} = 4$, 32 at 6 and 64 at 8 (W4), and $d = 8$ fails at every length (W1).

# %% tags=["hide-input"]
if CLAIMS:
    chapter = [c for table in (ablation_claims, grid_claims, positional_claims) for c in table]
    assert len(chapter) == 14 and [c.id for c in chapter if not c.holds] == ["A3", "W2", "P2", "P3"]
    assert grid_claims["W4"].measured == "L 4: d 16, L 6: d 32, L 8: d 64"
