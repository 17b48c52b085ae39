# %% [markdown]
# # 6. Which data makes the head appear sooner
#
# **What you will see.** The paper's recipe at $L_{max} = 8$ (chapter 3's runs) trained on different data, three seeds
# per setting, and how soon its iteration head appears:
#
# * **batch order**: the authors' loader does not shuffle, so every epoch sees all batches of length 1, then of
#   length 2, and so on. Does a fresh shuffle each epoch change when the head appears?
# * **amount of data**: a quarter as many sequences per length, trained for as many optimiser steps (4× the epochs);
# * **a copy + parity mix**: parity with a quarter or half of each length's sequences replaced by copy sequences.
#   Copying needs the same head as parity ($x_t$ at step $t$) but nothing else, so does it teach the head faster?
#
# The runs compared with (length order, the full data, pure parity) are chapter 3's, five seeds each. Three seeds per
# setting is what the retraining budget allows: a difference between settings smaller than the spread of chapter
# 3's seeds cannot show here. The claims were written down before the runs ([What we expected](expectations.md)).
#
# *Peakiness* (chapter 2) measures the head: the fraction of CoT tokens whose attention puts more than half its
# weight where an iteration head would, on EoI in layer 1 and on $x_t$ in layer 2 (1 for a perfect head).
#
# **What it costs.** The histories ship with `ihlib` (no weights: only the curves are needed here);
# `python -m ihlib reproduce --scale cpu --experiment data` retrains the 12 runs, stopping each once converged (test
# accuracy ≥ 0.99 at three evaluations in a row). The first cell below says how many runs are shipped or cached, and
# how long training the others would take at most.

# %%
import ihlib

SCALE = ihlib.notebook_setup()
# the claims were registered for the cpu scale's runs
CLAIMS = SCALE == "cpu"

# %% tags=["hide-input"]
from ihlib.presets import compared_scale
from ihlib.results import plan, results

print(plan("data", SCALE))
print(plan("emergence", compared_scale(SCALE)))
data = results("data", SCALE)
emergence = results("emergence", compared_scale(SCALE))

# %% [markdown]
# ## Batch order: length order against a fresh shuffle
#
# Both see exactly the same sequences each epoch, in a different order (thin: each seed; thick: the mean). A run
# stopped once converged keeps its last value in the mean.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from ihlib.viz import plot_seeds

plot_seeds({"length order (chapter 3)": emergence.histories("polynomial"),
            "shuffled each epoch": data.histories("shuffled")},
           ("test_accuracy", "peakiness_layer2"), "Polynomial iteration with CoT: batch order")
plt.show()

# %% [markdown]
# ## Amount of data, at the same number of optimiser steps
#
# A quarter of the sequences per length, for four times the epochs: every run takes the same number of optimiser
# steps (x-axis). A model that memorises its data shows training accuracy well above test accuracy.

# %% tags=["hide-input"]
small = next(c for c in data.cells() if c.startswith("n"))
full = emergence.cell("polynomial")[0].config.n_per_length
plot_seeds({f"{full} per length (chapter 3)": emergence.histories("polynomial"),
            f"{small[1:]} per length": data.histories(small)},
           ("test_accuracy", "train_accuracy"), "Polynomial iteration: sequences per length", x="step")
plt.show()

# %% [markdown]
# ## Parity mixed with copy
#
# Each length keeps its number of sequences; a share of them are copy sequences instead of parity ones. Left:
# **parity's** test accuracy (for the mixes, on the parity sequences of the test set alone); right: layer-2 peakiness
# over the whole test set (copy and parity use the same head).

# %% tags=["hide-input"]
pure = [[{**row, "test_accuracy_parity": row["test_accuracy"]} for row in h] for h in emergence.histories("parity")]
mixes = {"pure parity (chapter 3)": pure,
         **{f"{c[4:]} % copy": data.histories(c) for c in data.cells() if c.startswith("copy")}}
plot_seeds(mixes, ("test_accuracy_parity", "peakiness_layer2"), "Parity with CoT, a share replaced by copy")
plt.show()

# %% [markdown]
# **The claims, as registered before the runs.**

# %% tags=["hide-input"]
from ihlib import claims

data_claims = claims.data(data, emergence)
if CLAIMS:
    claims.check(data_claims, misses=["D1", "D3", "D4"])
data_claims

# %% [markdown]
# **What the runs show** (at the `cpu` scale; the next cell checks this text against the runs). One claim of four
# holds, and the seeds of every setting disagree with each other.
#
# * **Batch order. D1 misses, in a way we did not expect**: we expected a fresh shuffle to change little, but two of its
#   three seeds reached 0.9 at epochs 40 and 30, sooner than any of chapter 3's length-ordered seeds (120 to 220),
#   with a clean head (layer-2 peakiness 0.98 and 1.00). The third never learned the task: it fits its training
#   set (training accuracy above 0.99) while its test accuracy stays at 0.51, with no head (layer-2 peakiness 0.18).
# * **Amount of data. D2 holds**: with a quarter of the sequences, two seeds of three reach 0.99, and in fewer
#   optimiser steps than chapter 3's fastest seed (0.9 after 1,600 and 1,920 steps, against 3,840). The third
#   memorises instead: training accuracy above 0.99, test accuracy 0.11. One of the two that learned collapses at a
#   single evaluation, step 3,520 (test accuracy 0.01, training accuracy 0.03, the dip in the figure), and is back
#   at 0.98 by the next: a sudden instability of training whose cause we have not investigated.
# * **Copy + parity. D3 and D4 miss**: replacing a quarter or half of the parity sequences with copy sequences did
#   not make parity come sooner than pure parity's median of epoch 170 (with 25 % copy: epochs 80, 170 and never; with
#   50 %: 210, 190 and never). The two seeds that never reached 0.9 on parity ended at 0.58 and 0.34 on its test
#   sequences. Each mixed epoch holds fewer parity sequences than a pure one; measured in parity sequences seen, the
#   mixes would come out ahead, but we fixed epochs as the measure before the runs.
#
# *Hypotheses, not tested here:* (1) the authors' length order, which ends every epoch on the longest sequences,
# slows the rise of the head at this scale, and a shuffle speeds it up when it does not lead to memorisation; (2)
# with fewer distinct training sequences per step (a shuffle breaks the length blocks; a quarter of the data repeats
# each sequence four times as often), some seeds find memorising easier than the head. Three seeds per setting cannot
# tell how often each outcome occurs.

# %% tags=["hide-input"]
if CLAIMS:
    span = claims.span
    poly = emergence.histories("polynomial")
    assert span([claims.epoch_to(h) for h in poly], "g") == "120-220"
    by_outcome = {}
    for cell in ("shuffled", small):
        runs = data.histories(cell)
        learned = [h for h in runs if claims.epoch_to(h) < claims.NEVER]
        memorised = [h for h in runs if claims.epoch_to(h) == claims.NEVER]
        assert len(learned) == 2 and len(memorised) == 1, cell
        assert memorised[0][-1]["train_accuracy"] > 0.99, cell
        by_outcome[cell] = learned, memorised[0]
    learned, stuck = by_outcome["shuffled"]
    assert sorted(claims.epoch_to(h) for h in learned) == [30, 40]
    assert sorted(f"{h[-1]['peakiness_layer2']:.2f}" for h in learned) == ["0.98", "1.00"]
    assert f"{stuck[-1]['test_accuracy']:.2f}" == "0.51" and f"{stuck[-1]['peakiness_layer2']:.2f}" == "0.18"
    learned, stuck = by_outcome[small]

    def step_09(h):
        return next(r["step"] for r in h if r["test_accuracy"] >= 0.9)

    assert all(h[-1]["test_accuracy"] >= 0.99 for h in learned) and f"{stuck[-1]['test_accuracy']:.2f}" == "0.11"
    dips = [(r["step"], f"{r['test_accuracy']:.2f}", f"{r['train_accuracy']:.2f}", f"{h[i + 1]['test_accuracy']:.2f}")
            for h in learned for i, r in enumerate(h[:-1]) if r["step"] > step_09(h) and r["test_accuracy"] < 0.5]
    assert dips == [(3520, "0.01", "0.03", "0.98")]
    assert sorted(step_09(h) for h in learned) == [1600, 1920] and min(map(step_09, poly)) == 3840
    parity_09 = {c: [claims.epoch_to(h, key="test_accuracy_parity") for h in data.histories(c)]
                 for c in ("copy25", "copy50")}
    assert claims.median([claims.epoch_to(h) for h in emergence.histories("parity")]) == 170
    assert sorted(parity_09["copy25"]) == [80, 170, claims.NEVER]
    assert sorted(parity_09["copy50"]) == [190, 210, claims.NEVER]
    ends = sorted(f"{h[-1]['test_accuracy_parity']:.2f}" for c in ("copy25", "copy50") for h in data.histories(c)
                  if claims.epoch_to(h, key="test_accuracy_parity") == claims.NEVER)
    assert ends == ["0.34", "0.58"]
    assert sum(claims.head_epoch(h) < claims.NEVER for h in poly) == 4  # What we learned
    assert 3 * max(claims.epoch_to(h) for h in by_outcome["shuffled"][0]) <= min(claims.epoch_to(h) for h in poly)

# %% [markdown]
# ## What we learned
#
# * At the `cpu` scale, which data the model sees changes *whether* it learns the task, not only how soon: in each
#   of the shuffled and the quarter-data settings, one seed of three memorised its training set instead of growing
#   the head, where chapter 3's length-ordered full-data runs grew it in four seeds of five.
# * When a shuffled run did grow the head, it grew it three to four times sooner than any length-ordered run: the
#   order of the authors' loader, a detail of their code, matters here.
# * Copy sequences did not teach parity's head faster in these runs.
