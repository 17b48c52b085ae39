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
# **What it costs.** The histories ship with `ihlib` (no weights: only the curves are needed here);
# `python -m ihlib reproduce --scale cpu --experiment data` retrains the 12 runs, stopping each once converged (test
# accuracy ≥ 0.99 at three evaluations in a row), in at most the time printed below.

# %%
import ihlib

SCALE = ihlib.notebook_setup()
CLAIMS = SCALE == "cpu"  # the claims were registered for the cpu scale's runs

# %% tags=["hide-input"]
from ihlib.cost import describe
from ihlib.experiments import EXPERIMENTS
from ihlib.results import results

print(f"data: {describe(list(EXPERIMENTS['data'].runs(SCALE).values()))}")
data = results("data", SCALE)
emergence = results("emergence", SCALE)

# %% [markdown]
# ## Batch order: length order against a fresh shuffle
#
# Both see exactly the same sequences each epoch, in a different order (thin: each seed; thick: the mean). A run
# stopped once converged keeps its last value in the mean.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from ihlib.viz import plot_seeds

plot_seeds({"length order (the authors', chapter 3)": emergence.histories("polynomial"),
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
    claims.check(data_claims, misses=())
data_claims

# %% [markdown]
# ## What we learned
#
# *Written once the retrained runs are in: the claims above say what they show.*
