# %% [markdown]
# # 7. Transfer: a head learned on one task serves another
#
# **What you will see.** If the iteration head is task-generic, a model that learned it on polynomial iteration
# should pick up parity quickly: only the last MLP has to change (chapter 4 showed this by hand). Here we fine-tune
# the trained polynomial models of chapter 5 on parity, either all their weights or **only the layer-2 MLP** (the
# sharpest test: the attention cannot change at all), and compare with parity learned from scratch, three seeds each.
# Then the reverse direction (parity models fine-tuned on polynomial iteration), and a task **defined in this
# chapter**, which you can change.
#
# **What it costs.** At the `cpu` scale the histories of the 18 transfer runs ship with `ihlib`
# (`python -m ihlib reproduce --scale cpu --experiment transfer` retrains them in 7.5 minutes on two
# CPU cores); the pretrained and from-scratch runs of parity and polynomial iteration are chapter 5's. Every transfer
# run stops early once converged (test accuracy ≥ 0.99 for three evaluations in a row, `ihlib.engine.Converged`), so
# a curve that ends before the others is a run that was done.

# %%
import ihlib

SCALE = ihlib.notebook_setup()

# %%
from ihlib.results import results

# from scratch, and the models the transfer runs start from (trained first if missing)
scratch_runs = results("ablations", SCALE, cells=["parity_cot", "polynomial_cot"])
transfer = results("transfer", SCALE, cells=["finetune_all", "finetune_mlp2", "reverse_all"])
seeds = [r.seed for r in transfer.cell("finetune_all")]


def by_seed(source, cell):
    """One cell's histories, seed -> history."""
    return {r.seed: r.history for r in source.cell(cell)}


methods = {
    "from scratch": by_seed(scratch_runs, "parity_cot"),
    "fine-tune all weights": by_seed(transfer, "finetune_all"),
    "fine-tune layer-2 MLP only": by_seed(transfer, "finetune_mlp2"),
}

# %% [markdown]
# ## Parity, from scratch and from a polynomial model
#
# One line per seed. Epoch 0 of a fine-tuning run is the polynomial model itself, evaluated on parity.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from ihlib.viz import COLUMN_INCHES

colours = {"from scratch": "#888888", "fine-tune all weights": "#219ebc", "fine-tune layer-2 MLP only": "#fb8500"}


def plot_methods(methods, task, title):
    """Test accuracy and layer-2 peakiness against epochs on ``task``, one line per seed, one colour per method."""
    fig, axes = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 4), constrained_layout=True)
    for ax, key, name in zip(axes, ["test_accuracy", "peakiness_layer2"], [f"{task} test accuracy",
                                                                           "layer-2 peakiness (→ x_t)"]):
        for method, runs in methods.items():
            for i, h in enumerate(runs.values()):
                ax.plot([r["epoch"] for r in h], [r[key] for r in h], color=colours[method], lw=1.5,
                        label=method if i == 0 else None)
        ax.set(xlabel=f"epoch on {task}", ylabel="fraction", title=name, ylim=(-0.02, 1.02))
    axes[0].axhline(0.9, color="k", ls=":", lw=1)
    axes[0].legend(fontsize=9, loc="lower right")
    fig.suptitle(title)
    plt.show()


plot_methods(methods, "parity", "Transfer from polynomial iteration to parity (one line per seed)")

# %% tags=["hide-input"]
from ihlib.viz import markdown_table, rise_epoch


def reach_table(methods, title):
    """Epoch at which test accuracy first reaches 0.9, per method and seed, as a table (and as a dict)."""
    reach = {method: {s: rise_epoch(h, "test_accuracy", 0.9) for s, h in runs.items()}
             for method, runs in methods.items()}
    rows = [[method] + [reach[method][s] if reach[method][s] is not None else f"not within {runs[s][-1]['epoch']}"
                        for s in seeds] for method, runs in methods.items()]
    return reach, markdown_table(["method"] + [f"seed {s}" for s in seeds], rows, title=title)


reach, shown = reach_table(methods, "Epoch at which parity test accuracy first reaches 0.9")
shown

# %% [markdown]
# ## What the runs say, next to the paper
#
# At the `cpu` scale (checked below on the runs shown):
#
# * **Fine-tuning all weights** brings every seed to 0.9 parity test accuracy within two epochs, where parity from
#   scratch needs 12 to 52 epochs; layer-2 peakiness stays at or above 0.95. The paper reports the same picture at its
#   scale: about 0.95 within about 20 epochs after pre-training, against 0.73 after 250 epochs from scratch, with a
#   layer-2 peakiness of about 0.95.
# * **Training only the layer-2 MLP**, with both attention layers frozen, also works for two of three seeds (0.9
#   within a few epochs), which says that their heads already fetch $x_t$ for parity as they did for polynomial
#   iteration. The third seed plateaus near 0.75. Its frozen head is the least sharp on parity inputs before any
#   fine-tuning (epoch 0 of the orange curves), and a frozen head cannot become sharper. A first guess at why: parity's
#   inputs include the token 0, which polynomial iteration never uses. The custom task at the end of this chapter
#   puts that guess to a test, and it fails.

# %% tags=["hide-input"]
import numpy as np

scratch, full, mlp2 = (methods[m] for m in methods)
start_peak = {s: mlp2[s][0]["peakiness_layer2"] for s in seeds}
for s in seeds:
    print(f"seed {s}: head sharpness on parity before fine-tuning {start_peak[s]:.2f}; first epoch >= 0.9: "
          + ", ".join(f"{name} {'not within the run' if reach[method][s] is None else reach[method][s]}"
                      for name, method in [("scratch", "from scratch"), ("all weights", "fine-tune all weights"),
                                           ("layer-2 MLP only", "fine-tune layer-2 MLP only")]))
if SCALE == "cpu":
    for s in seeds:
        assert reach["fine-tune all weights"][s] is not None and reach["fine-tune all weights"][s] <= 2
        assert reach["from scratch"][s] is None or reach["from scratch"][s] > 10 * reach["fine-tune all weights"][s]
        assert full[s][-1]["peakiness_layer2"] >= 0.95
    made_it = [s for s in seeds if reach["fine-tune layer-2 MLP only"][s] is not None]
    assert len(made_it) >= 2
    stuck = [s for s in seeds if s not in made_it]
    assert all(start_peak[s] < min(start_peak[m] for m in made_it) for s in stuck)
    print("checked: the statements above hold for every seed shown")

# %% [markdown]
# ## The reverse: polynomial iteration from a parity model
#
# Parity is the weaker teacher: its heads are less sharp (chapter 3) and it can be solved by counting. Does a parity
# model still give polynomial iteration a head start? All weights are fine-tuned, for as many epochs as polynomial
# iteration from scratch (chapter 5's runs), and stopped once converged.

# %% tags=["hide-input"]
reverse = {"from scratch": by_seed(scratch_runs, "polynomial_cot"),
           "fine-tune all weights": by_seed(transfer, "reverse_all")}
plot_methods(reverse, "polynomial", "Transfer from parity to polynomial iteration (one line per seed)")
reverse_reach, shown = reach_table(reverse, "Epoch at which polynomial test accuracy first reaches 0.9")
shown

# %% [markdown]
# **What the runs say** (at the `cpu` scale; checked below): **no head start.** Fine-tuned from parity, polynomial
# iteration reaches 0.9 at epochs 28 and 36 for two seeds and not within 60 for the third (0.83), against 24 to 34
# from scratch, seed for seed later. The parity heads do not fire on polynomial inputs: their layer-2 peakiness
# there is 0.09 to 0.15 before fine-tuning (polynomial heads on parity inputs: 0.72 to 0.93), and the head then grows
# about as late as from scratch (layer-2 peakiness crosses 0.5 at epochs 22 to 30 either way). A parity head has only
# ever seen the tokens 0 and 1, so it need not know where to look when the inputs are 1 to 10. Transfer is not
# symmetric here: a head learned on ten input symbols serves a task with two, not the reverse. The paper does not
# report this direction.

# %% tags=["hide-input"]
if SCALE == "cpu":
    for s in seeds:
        scratch_at, reverse_at = reverse_reach["from scratch"][s], reverse_reach["fine-tune all weights"][s]
        assert 24 <= scratch_at <= 34 and (reverse_at is None or reverse_at > scratch_at)
        assert round(reverse["fine-tune all weights"][s][0]["peakiness_layer2"], 2) <= 0.15  # as stated, 2 decimals
        assert round(start_peak[s], 2) >= 0.72
        crossing = [rise_epoch(reverse[m][s], "peakiness_layer2", 0.5) for m in reverse]
        assert all(22 <= c <= 30 for c in crossing), crossing
    assert sorted(e is None for e in reverse_reach["fine-tune all weights"].values()) == [False, False, True]
    print("checked: the statements above hold for every seed shown")

# %% [markdown]
# ## A task of your own
#
# Any finite $s_t = F(s_{t-1}, x_t)$ is an iterative task. Here is one the models have never seen: a **running sum
# mod 5** (parity is the running sum mod 2), over the inputs 0..4. Change `step` (or the alphabets) and run the chapter
# again: the runs below are then trained anew instead of loaded (they are 9 of the 18 runs that took 7.5 minutes
# above, so expect a few minutes at the `cpu` scale on two cores; we did not time them on their own).

# %%
from ihlib import IterativeTask, Vocabulary, make_dataset
from ihlib.viz import plot_sequence

task = IterativeTask("sum_mod5", inputs=tuple(range(5)), states=tuple(range(5)), step=lambda s, x: (s + x) % 5)
vocab = Vocabulary.for_tasks([task])
plot_sequence(make_dataset(task, 6, 1, vocab=vocab).of_length(6)[0].tolist(), vocab, "sum_mod5 with CoT (L = 6)")
plt.show()

# %% [markdown]
# The runs: from scratch with the recipe, and fine-tuned from chapter 5's polynomial models (all weights, or the
# layer-2 MLP only). A config records the task's full table (`TrainConfig.task_definition`), so a checkpoint alone
# rebuilds it; the new task token gets a fresh embedding row and every token the models know keeps its own.

# %%
from ihlib.experiments import custom_transfer

custom = results("transfer", SCALE, configs=custom_transfer(task, SCALE))
custom_methods = {method: by_seed(custom, f"{task.name}_{key}")
                  for method, key in [("from scratch", "scratch"), ("fine-tune all weights", "all"),
                                      ("fine-tune layer-2 MLP only", "mlp2")]}
plot_methods(custom_methods, task.name, f"Transfer from polynomial iteration to {task.name} (one line per seed)")
custom_reach, shown = reach_table(custom_methods, f"Epoch at which {task.name} test accuracy first reaches 0.9")
shown

# %% [markdown]
# **What the runs say** about the running sum mod 5 (at the `cpu` scale, for the task as shipped; checked below):
#
# * **Fine-tuning all weights** of a polynomial model reaches 0.9 test accuracy after one epoch, for every seed,
#   with a layer-2 peakiness of 0.97 or more.
# * **The layer-2 MLP alone** gets there too, for every seed (epochs 12, 2 and 3): the frozen polynomial heads are
#   sharp on these inputs before any training (layer-2 peakiness 0.90 to 0.98 at epoch 0).
# * **From scratch** the task is hard at this scale: one seed of three reaches 0.9 within 60 epochs (at epoch 56);
#   the others end at 0.83 and 0.39; layer-2 peakiness ends between 0.33 and 0.51 for all three.
#
# Seed 0's frozen head was sharp on this task (0.90) but not on parity (0.72, above), although both use the token 0
# that polynomial iteration never shows: so the token 0 alone does not explain seed 0's trouble with parity. What
# else parity's inputs do to it (only two symbols, so many equal neighbours) we have not tested.

# %% tags=["hide-input"]
from ihlib.experiments import EXAMPLE_TASK

# the claims are about the shipped task; figures are compared to the 2 decimals the text gives
if SCALE == "cpu" and task.to_dict() == EXAMPLE_TASK.to_dict():
    assert all(e == 1 for e in custom_reach["fine-tune all weights"].values())
    assert all(round(h[-1]["peakiness_layer2"], 2) >= 0.97 for h in custom_methods["fine-tune all weights"].values())
    assert list(custom_reach["fine-tune layer-2 MLP only"].values()) == [12, 2, 3]
    assert all(round(h[0]["peakiness_layer2"], 2) >= 0.9 for h in custom_methods["fine-tune layer-2 MLP only"].values())
    assert list(custom_reach["from scratch"].values()) == [None, None, 56]
    assert all(0.33 <= round(h[-1]["peakiness_layer2"], 2) <= 0.51 for h in custom_methods["from scratch"].values())
    assert custom_methods["fine-tune layer-2 MLP only"][0][0]["peakiness_layer2"] > start_peak[0] + 0.15
    print("checked: the statements above hold for every seed shown")

# %% [markdown]
# ## What we learned
#
# * A trained iteration head is reusable: after polynomial iteration, parity and a running sum mod 5 take one or two
#   epochs instead of tens, and the attention patterns survive the change of task.
# * Freezing the attention and retraining only the last MLP often suffices, the trained-model version of chapter
#   4's transplant; when it does not, the head itself did not yet generalise to the new task's inputs.
# * Transfer has a direction: a head that has only seen two input symbols (parity) does not fire on ten, and gives
#   polynomial iteration no head start.
# * Any finite $s_t = F(s_{t-1}, x_t)$ can be tried the same way: define it, and `custom_transfer` gives its runs.
