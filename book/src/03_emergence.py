# %% [markdown]
# # 3. An iteration head emerges
#
# **What you will see.** A transformer trained with chain-of-thought on polynomial iteration: its test accuracy per
# length over training, and the peakiness of its two attention layers rising with it; its attention maps next to the
# ideal ones; a stepper through the CoT positions of one sequence and through training snapshots; and parity, the
# harder case, where the head is weaker.
#
# **What it costs.** At the `cpu` scale the runs ship with `ihlib` and load in seconds (retraining both with
# `python -m ihlib reproduce --scale cpu --experiment emergence` takes about 70 s per task on two CPU cores).
# At the `paper` scale (the default on a GPU) the chapter loads the shipped paper-recipe runs where they exist
# (polynomial seeds 0 and 1 so far) and trains the others: polynomial for 300 epochs, parity for 500. That takes about 2
# and 3.3 hours on one CPU thread here (21.6 s per epoch measured). By our estimate from the arithmetic (1.4 TFLOP
# per epoch) it takes 10 to 30 minutes per task on a Colab GPU; we have not measured it.

# %%
import ihlib

SCALE = ihlib.notebook_setup()
# smoke runs are too short to show the science: they only check that everything runs. The cpu runs are the ones the
# text describes; at paper scale the thresholds are the paper's figures less their read-off tolerance.
CLAIMS = SCALE != "smoke"
MIN_ACCURACY, MIN_PEAKINESS = (0.95, 0.9) if SCALE == "cpu" else (0.9, 0.8)

# %%
from ihlib.results import load_or_train

poly = load_or_train("emergence", "polynomial_s0", SCALE)
parity = load_or_train("emergence", "parity_s0", SCALE)
cfg = poly.config
print(f"recipe: L_max={cfg.max_len}, d={cfg.dim}, {cfg.n_layers} layers, lr={cfg.lr}, batch={cfg.batch_size}, "
      f"{cfg.epochs} epochs, order={cfg.order}, padding={cfg.padding}, seed={cfg.seed}")
print(f"training time: polynomial {poly.history[-1]['seconds']:.0f} s, parity {parity.history[-1]['seconds']:.0f} s")

# %% [markdown]
# ## Accuracy and attention over training
#
# Left: test accuracy (whole CoT right) for each input length. Right: overall test accuracy (lengths 4 to
# $L_{max}$) with the **peakiness** of each layer: the fraction of the iteration-head pattern's attention weights
# above 0.5 (layer 1: CoT token → EoI; layer 2: CoT token → $x_t$). The dashed line marks the epoch where test
# accuracy first reaches 0.5, the middle of the rise.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from ihlib.viz import markdown_table, plot_training, rise_epoch

h = poly.history
rise_acc, rise_head = rise_epoch(h, "test_accuracy"), rise_epoch(h, "peakiness_layer2")
fig = plot_training(h, f"polynomial iteration with CoT (L_max = {cfg.max_len}, d = {cfg.dim})", rise_acc)
plt.show()
final = h[-1]
print(f"final: test accuracy {final['test_accuracy']:.3f}, peakiness layer 1 {final['peakiness_layer1']:.2f}, "
      f"layer 2 {final['peakiness_layer2']:.2f}; accuracy crosses 0.5 at epoch {rise_acc}, "
      f"layer-2 peakiness at epoch {rise_head}")

# %% [markdown]
# **Does the head appear together with the skill?** We call the two rises *coincident* when test accuracy and
# layer-2 peakiness first cross 0.5 within two evaluations or a tenth of training of each other, whichever is
# larger. The check runs on the run shown above.

# %% tags=["hide-input"]
tolerance = max(2 * cfg.eval_every, cfg.epochs // 10)
if CLAIMS:
    assert final["test_accuracy"] >= MIN_ACCURACY, final["test_accuracy"]
    assert final["peakiness_layer2"] >= MIN_PEAKINESS, final["peakiness_layer2"]
    assert rise_acc is not None and rise_head is not None and abs(rise_acc - rise_head) <= tolerance, (rise_acc, rise_head)
    print(f"checked: accuracy >= {MIN_ACCURACY}, layer-2 peakiness >= {MIN_PEAKINESS}, rises "
          f"{abs(rise_acc - rise_head)} epochs apart (tolerance {tolerance})")

# %% [markdown]
# ## The trained model's attention, next to the ideal maps

# %% tags=["hide-input"]
from ihlib.viz import plot_ideal_maps, plot_model_attention

seq = poly.test_data.of_length(cfg.max_len)[0].cpu()
plot_model_attention(poly.model, seq, poly.vocab, "trained:")
plt.show()
plot_ideal_maps(seq.tolist(), poly.vocab)
plt.show()

# %% [markdown]
# ## Step through the chain of thought
#
# Each frame is one prediction after EoI. The bars are the attention weights of the current token (orange) in each
# layer; the blue bar is where an ideal iteration head would look. The title says which token the layer picked and
# whether the prediction is right. In Jupyter or Colab this is a slider; in the book, press play or drag the slider.

# %%
from ihlib.viz import cot_stepper

cot_stepper(poly.model, seq, poly.vocab, "polynomial")

# %% [markdown]
# ## Watch the head form
#
# The same sequence, at one fixed CoT step (the fourth prediction), through the weight snapshots kept during
# training.

# %%
from ihlib.viz import training_stepper

snapshots = {epoch: poly.model_at(epoch) for epoch in sorted(poly.snapshots)}
training_stepper(snapshots, seq, poly.vocab, step=min(3, cfg.max_len - 1))

# %% [markdown]
# ## Parity: a weaker head
#
# The paper finds that parity with CoT learns more slowly and that its layer-2 peakiness plateaus near 0.6: parity
# does not *need* to fetch $x_t$ exactly, because $y_t$ is also the parity of the **count** of ones among
# $x_1..x_t$, and a head that averages over the inputs can carry that count.

# %% tags=["hide-input"]
hp = parity.history
plot_training(hp, f"parity with CoT (L_max = {cfg.max_len}, d = {cfg.dim})", rise_epoch(hp, "test_accuracy"))
plt.show()
seq_p = parity.test_data.of_length(cfg.max_len)[0].cpu()
plot_model_attention(parity.model, seq_p, parity.vocab, "parity:")
plt.show()

# %% [markdown]
# **Where does layer 2 look?** For every CoT query we split its layer-2 attention into the mass on $x_t$ (the
# iteration-head target), on the other inputs, and on everything else (task token, EoI, earlier CoT tokens).
# A distributed solution puts its mass on the inputs without singling out $x_t$.

# %% tags=["hide-input"]
import numpy as np
import torch
from ihlib.metrics import pattern_indices


@torch.no_grad()
def layer2_mass(run, length):
    seqs = run.test_data.of_length(length)
    _, maps = run.model.eval()(seqs[:, :-1], return_attention=True)
    attn = maps[1][:, 0].cpu().numpy()
    queries, keys = pattern_indices(length, 2)
    on_target = attn[:, queries, keys].mean()
    on_inputs = attn[:, queries, 1:length + 1].sum(-1).mean() - on_target
    return on_target, on_inputs, 1 - on_target - on_inputs


fig, ax = plt.subplots(figsize=(6, 3), constrained_layout=True)
parts = ["on x_t", "on other inputs", "elsewhere"]
for i, (name, run) in enumerate([("polynomial", poly), ("parity", parity)]):
    left = 0.0
    for part, value, colour in zip(parts, layer2_mass(run, cfg.max_len), ["#219ebc", "#8ecae6", "#cccccc"]):
        ax.barh(i, value, left=left, color=colour, label=part if i == 0 else None)
        ax.text(left + value / 2, i, f"{value:.2f}", ha="center", va="center", fontsize=9)
        left += value
ax.set_yticks([0, 1], ["polynomial", "parity"])
ax.set_xlabel(f"share of layer-2 attention of CoT tokens (L = {cfg.max_len}, test set)")
ax.set_title("Where the layer-2 head looks")
ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3, frameon=False)
plt.show()

# %% [markdown]
# ## Our numbers next to the paper's
#
# The paper's figures are for the full recipe ($L_{max} = 16$, $d = 128$, 1000 epochs, means over many seeds),
# read off its plots (±0.05). Ours come from the runs loaded above: one seed per task at the current scale.

# %% tags=["hide-input"]
paper = {"polynomial": (0.96, 0.9), "parity": (None, 0.6)}
rows = []
for name, run in [("polynomial", poly), ("parity", parity)]:
    last = run.history[-1]
    acc_p, peak_p = paper[name]
    rows.append([name, f"{last['test_accuracy']:.2f}", acc_p if acc_p else "slower; 0.73 after 250 epochs",
                 f"{last['peakiness_layer2']:.2f}", peak_p])
markdown_table(["task", "test accuracy (ours)", "test accuracy (paper)", "layer-2 peakiness (ours)",
                "layer-2 peakiness (paper)"], rows)

# %% tags=["hide-input"]
poly_090, parity_090 = rise_epoch(h, "test_accuracy", 0.9), rise_epoch(hp, "test_accuracy", 0.9)
print(f"test accuracy first >= 0.9: polynomial at epoch {poly_090}, parity at epoch {parity_090}")
if SCALE == "cpu":  # the statements below describe the shipped cpu runs
    assert parity_090 is None or parity_090 > poly_090, "parity should be learned more slowly"
    assert hp[-1]["peakiness_layer2"] <= h[-1]["peakiness_layer2"] - 0.2, "parity's head should be weaker"
    assert layer2_mass(parity, cfg.max_len)[0] < layer2_mass(poly, cfg.max_len)[0]

# %% [markdown]
# **Reading the table** (at the `cpu` scale: $L_{max} = 8$, $d = 64$, one seed, 60 epochs, checked by the assertions
# above).
#
# * Polynomial iteration reaches full test accuracy with a layer-2 peakiness of about 0.97, as sharp as the paper's
#   head, and the rise is sharp, as in the paper: a long plateau, then accuracy and layer-2 peakiness jump together
#   within a few epochs.
# * Our **layer-1** peakiness ends near 0.3, well below the paper's 0.7: the trained layer 1 attends to EoI only
#   in part (see the maps above and chapter 4's comparison). Two differences of recipe may explain it: our shorter
#   sequences ($L_{max} = 8$), and the weight decay of the CPU recipe, which we added because it is what makes the head
#   appear within a minute (`benchmarks/README.md`) and which favours small, blended attention weights.
# * **Parity** is learned more slowly (it reaches 0.9 test accuracy later than polynomial iteration) and its layer-2
#   peakiness stays near 0.6, the paper's plateau. Its layer-2 attention is split between $x_t$, the other inputs
#   and earlier CoT tokens: a partly distributed solution. What it computes instead we can only partly say: parity
#   needs one bit of $x_t$, and a blend in which $x_t$ has the largest weight still lets the last MLP read that bit.
# * The rise is not guaranteed. With the same recipe, 4 of 5 seeds grow the head within a minute; one (seed 4) stays
#   at 0.47 test accuracy with no head after 80 epochs (`benchmarks/time_to_head.py`). The runs shown here use the
#   default seed 0.
#
# ## What we learned
#
# * With CoT, polynomial iteration is learned together with an iteration head: the two attention patterns of
#   chapter 2 appear in the trained model, and the accuracy rises when layer 2 starts looking at $x_t$.
# * The head is a means, not an end: parity admits other solutions, and the model does not always pick the clean
#   one. Chapter 4 builds the clean one by hand.
