# %% [markdown]
# # 6. Transfer: a head learned on one task serves another
#
# **What you will see.** If the iteration head is task-generic, a model that learned it on polynomial iteration
# should pick up parity quickly: only the last MLP has to change (chapter 4 showed this by hand). Here we fine-tune
# the trained polynomial models of chapter 5 on parity, either all their weights or **only the layer-2 MLP** (the
# sharpest test: the attention cannot change at all), and compare with parity learned from scratch, three seeds each.
#
# **Not yet here.** The reverse direction (parity to polynomial) and transfer to a custom task are not rebuilt in
# this version; `python -m ihlib train --init-from ... [--only-mlp2]` does either.
#
# **What it costs.** At the `cpu` scale the six fine-tuning runs ship with `ihlib`
# (`python -m ihlib reproduce --scale cpu --experiment transfer` retrains them in about 4 minutes on two CPU cores); the
# pretrained and from-scratch runs are chapter 5's.

# %%
import ihlib

SCALE = ihlib.notebook_setup()

# %%
from ihlib.experiments import EXPERIMENTS, load_or_train

seeds = sorted({cfg.seed for cfg in EXPERIMENTS["transfer"].runs(SCALE).values()})
for s in seeds:  # the pretrained polynomial models must exist before fine-tuning from them
    load_or_train("ablations", f"polynomial_cot_s{s}", SCALE)
methods = {
    "from scratch": {s: load_or_train("ablations", f"parity_cot_s{s}", SCALE) for s in seeds},
    "fine-tune all weights": {s: load_or_train("transfer", f"finetune_all_s{s}", SCALE) for s in seeds},
    "fine-tune layer-2 MLP only": {s: load_or_train("transfer", f"finetune_mlp2_s{s}", SCALE) for s in seeds},
}
colours = {"from scratch": "#888888", "fine-tune all weights": "#219ebc", "fine-tune layer-2 MLP only": "#fb8500"}

# %% [markdown]
# ## Parity, from scratch and from a polynomial model
#
# One line per seed. Epoch 0 of a fine-tuning run is the polynomial model itself, evaluated on parity.

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(12, 4), constrained_layout=True)
for ax, key, title in zip(axes, ["test_accuracy", "peakiness_layer2"], ["parity test accuracy",
                                                                      "layer-2 peakiness (→ x_t)"]):
    for method, runs in methods.items():
        for i, (s, run) in enumerate(runs.items()):
            h = run.history
            ax.plot([r["epoch"] for r in h], [r[key] for r in h], color=colours[method], lw=1.5,
                    label=method if i == 0 else None)
    ax.set(xlabel="epoch on parity", ylabel="fraction", title=title, ylim=(-0.02, 1.02))
axes[0].axhline(0.9, color="k", ls=":", lw=1)
axes[0].legend(fontsize=8, loc="lower right")
fig.suptitle("Transfer from polynomial iteration to parity (one line per seed)")
plt.show()

# %%
from IPython.display import Markdown
from ihlib.viz import rise_epoch

reach = {method: {s: rise_epoch(run.history, "test_accuracy", 0.9) for s, run in runs.items()}
         for method, runs in methods.items()}
lines = [f"| {method} | " + " | ".join(str(reach[method][s]) if reach[method][s] is not None
                                        else f"not within {runs[s].history[-1]['epoch']}" for s in seeds) + " |"
         for method, runs in methods.items()]
Markdown("**Epoch at which parity test accuracy first reaches 0.9**\n\n| method | "
         + " | ".join(f"seed {s}" for s in seeds) + " |\n|---|" + "---|" * len(seeds) + "\n" + "\n".join(lines))

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
#   fine-tuning (epoch 0 of the orange curves): parity's inputs include the token 0, which polynomial iteration never
#   uses, so a head trained only on the tokens 1..10 need not attend to a 0 correctly, and a frozen head cannot learn
#   to. That is our reading of this one case, consistent with the numbers below, not a tested explanation.

# %%
import numpy as np

scratch, full, mlp2 = (methods[m] for m in methods)
start_peak = {s: mlp2[s].history[0]["peakiness_layer2"] for s in seeds}
for s in seeds:
    print(f"seed {s}: head sharpness on parity before fine-tuning {start_peak[s]:.2f}; first epoch >= 0.9: "
          f"scratch {reach['from scratch'][s]}, all weights {reach['fine-tune all weights'][s]}, "
          f"layer-2 MLP only {reach['fine-tune layer-2 MLP only'][s]}")
if SCALE == "cpu":
    for s in seeds:
        assert reach["fine-tune all weights"][s] is not None and reach["fine-tune all weights"][s] <= 2
        assert reach["from scratch"][s] is None or reach["from scratch"][s] > 10 * reach["fine-tune all weights"][s]
        assert full[s].history[-1]["peakiness_layer2"] >= 0.95
    made_it = [s for s in seeds if reach["fine-tune layer-2 MLP only"][s] is not None]
    assert len(made_it) >= 2
    stuck = [s for s in seeds if s not in made_it]
    assert all(start_peak[s] < min(start_peak[m] for m in made_it) for s in stuck)
    print("checked: the statements above hold for every seed shown")

# %% [markdown]
# ## What we learned
#
# * A trained iteration head is reusable: after polynomial iteration, parity takes one or two epochs instead of
#   tens, and the attention patterns survive the change of task.
# * Freezing the attention and retraining only the last MLP often suffices, the trained-model version of chapter
#   4's transplant; when it does not, the head itself did not yet generalise to the new task's inputs.
