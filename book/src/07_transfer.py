# %% [markdown]
# # 7. Transfer: a head learned on one task serves another
#
# **What you will see.** If the iteration head is task-generic, a model that learned it on polynomial iteration
# should pick up parity quickly: only the last MLP has to change (chapter 4 showed this by hand). Here we fine-tune
# chapter 3's polynomial models (the paper's recipe at $L_{max} = 8$, five seeds, at their last epoch) on parity,
# either all their weights or **only the layer-2 MLP** (the sharpest test: the attention cannot change at all), and
# compare with parity learned from scratch (chapter 3's parity runs). Then the reverse direction (parity models
# fine-tuned on polynomial iteration, three seeds), and a task **defined in this chapter**, which you can change.
# The claims were written down before the runs ([What we expected](expectations.md)).
#
# **What it costs.** The histories ship with `ihlib`; `python -m ihlib reproduce --scale cpu --experiment transfer`
# retrains them in at most the time printed below. Every transfer run stops once converged (test accuracy ≥ 0.99
# at three evaluations in a row), so a curve that ends before the others is a run that was done.

# %%
import ihlib

SCALE = ihlib.notebook_setup()
CLAIMS = SCALE == "cpu"  # the claims were registered for the cpu scale's runs

# %% tags=["hide-input"]
from ihlib.cost import describe
from ihlib.experiments import EXPERIMENTS
from ihlib.results import results

print(f"transfer: {describe(list(EXPERIMENTS['transfer'].runs(SCALE).values()))}")
emergence = results("emergence", SCALE)  # from scratch, and the models the transfer runs start from
transfer = results("transfer", SCALE)

# %% [markdown]
# ## Parity, from scratch and from a polynomial model
#
# Thin: each seed; thick: the mean. Epoch 0 of a fine-tuning run is the polynomial model itself, evaluated on
# parity. The x-axis stops at 60 epochs; the runs from scratch go on to 300 (chapter 3).

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from ihlib.viz import plot_seeds

plot_seeds({"from scratch (chapter 3)": emergence.histories("parity"),
            "fine-tune all weights": transfer.histories("finetune_all"),
            "fine-tune the layer-2 MLP only": transfer.histories("finetune_mlp2")},
           ("test_accuracy", "peakiness_layer2"), "Parity: from scratch and from a polynomial model", xlim=(0, 60))
plt.show()

# %% [markdown]
# ## The reverse: polynomial iteration from a parity model
#
# Chapter 3's parity models (seeds 0 to 2) fine-tuned on polynomial iteration, all weights, for as many epochs as
# from scratch.

# %% tags=["hide-input"]
plot_seeds({"from scratch (chapter 3)": emergence.histories("polynomial"),
            "from a parity model": transfer.histories("reverse_all")},
           ("test_accuracy", "peakiness_layer2"), "Polynomial iteration: from scratch and from a parity model")
plt.show()

# %% [markdown]
# **The claims, as registered before the runs** (T6 is about the task of the next section as shipped, the running
# sum mod 5).

# %% tags=["hide-input"]
from ihlib import claims

transfer_claims = claims.transfer(transfer, emergence)
if CLAIMS:
    claims.check(transfer_claims, misses=())
transfer_claims

# %% [markdown]
# ## A task of your own
#
# Any finite $s_t = F(s_{t-1}, x_t)$ is an iterative task. Here is one the models have never seen: a **running sum
# mod 5** (parity is the running sum mod 2), over the inputs 0..4. Change `step` (or the alphabets) and run the
# chapter again: the runs below are then trained anew instead of loaded (three seeds of each method; the time is
# printed when they start).

# %%
from ihlib import IterativeTask, Vocabulary, make_dataset
from ihlib.viz import plot_sequence

task = IterativeTask("sum_mod5", inputs=tuple(range(5)), states=tuple(range(5)), step=lambda s, x: (s + x) % 5)
vocab = Vocabulary.for_tasks([task])
plot_sequence(make_dataset(task, 6, 1, vocab=vocab).of_length(6)[0].tolist(), vocab, "sum_mod5 with CoT (L = 6)")
plt.show()

# %% [markdown]
# The runs: from scratch with the recipe, and fine-tuned from chapter 3's polynomial models (all weights, or the
# layer-2 MLP only). A config records the task's full table (`TrainConfig.task_definition`), so a checkpoint alone
# rebuilds it; the new task token gets a fresh embedding row and every token the models know keeps its own.

# %%
from ihlib.experiments import custom_transfer

custom = results("transfer", SCALE, configs=custom_transfer(task, SCALE))
plot_seeds({method: custom.histories(f"{task.name}_{key}") for method, key in
            [("from scratch", "scratch"), ("fine-tune all weights", "all"), ("fine-tune the layer-2 MLP only", "mlp2")]},
           ("test_accuracy", "peakiness_layer2"), f"{task.name}: from scratch and from a polynomial model")
plt.show()

# %% [markdown]
# ## What we learned
#
# *Written once the retrained runs are in: the claims above say what they show.*
