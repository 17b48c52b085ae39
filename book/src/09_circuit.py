# %% [markdown]
# # 4b. Inside the circuit: what each layer computes, tested by intervention
#
# **The question.** Attention maps show where a head looks, not what the model does with it. The paper's story is
# that layer 1 attends to EoI, its MLP turns that into the position $t$ of the input to read, layer 2 reads $x_t$, and
# the layer-2 MLP computes $F(s_{t-1}, x_t)$. This book's own runs put that story in doubt: layer 1's peakiness (the
# share of CoT tokens that put more than half their attention on EoI, chapter 2) stays far below layer 2's, and chapter 3's stepper shows layer 1 of a trained model looking at EoI from some CoT tokens
# and not from others. Here we stop looking and start *changing* things: we replace a layer's attention by a
# pattern of our choice, read the residual stream with linear probes, and copy activations from one sequence into
# another, on the shipped trained models, and watch what the predictions do.
#
# **What you will see.** Figure 1: what happens to the answers when one layer's attention is replaced. Figure 2:
# where layer 1 really looks. Figure 3: where in the stream the length $L$ and the step $t$ become readable.
# Figure 4: copying layer 2's output between two sequences carries $x_t$ with it. The predictions for every test
# (claims M1 to M11) were written on the [expectations page](expectations.md) before any test had run on a trained
# model; the claim table comes at the end.
#
# **What it costs.** No training: about a minute on a CPU for the ten shipped models (`cpu` scale: polynomial seeds
# 0 to 2 and parity seed 0; `paper` scale: three seeds of each task).

# %%
import ihlib

SCALE = ihlib.notebook_setup()

# %% [markdown]
# ## The tool: hook points
#
# Every activation of `ihlib`'s transformer passes a named *hook point*, as in TransformerLens. A hook function
# receives the activation and may return a replacement. This is the whole intervention machinery; everything in
# this chapter is built on these two calls:

# %%
import inspect

from ihlib.model import Transformer

print(inspect.getsource(Transformer.run_with_hooks))

# %% [markdown]
# An intervention is then a few lines. Here is the one Figure 1 uses most: in the rows that predict the answers
# $y_1..y_L$ (EoI and the CoT tokens), replace the layer's attention pattern by rows of our choice.

# %%
from ihlib import circuit

print(inspect.getsource(circuit.force_pattern))

# %% tags=["hide-input"]
from ihlib.presets import settings_of
from ihlib.results import load_or_train

MODELS = ({"smoke": ["polynomial_s0", "parity_s0"]} if SCALE == "smoke" else
          {"cpu": ["polynomial_s0", "polynomial_s1", "polynomial_s2",
                   "parity_s0"],
           "paper": ["polynomial_s0", "polynomial_s1", "polynomial_s2",
                     "parity_s0", "parity_s1", "parity_s2"]})
runs, measured = {}, {}
for scale, names in MODELS.items():
    for name in names:
        label = f"{scale} {name.replace('_', ' ')}"
        runs[label] = load_or_train("emergence", name, scale, device="cpu")
        measured[label] = circuit.measure(runs[label], label)
print(f"{len(measured)} models measured; with a head (accuracy >= 0.95 "
      f"and L2 >= 0.9 at their last evaluation): "
      f"{', '.join(m for m, v in measured.items() if v.head) or 'none'}")

# %% [markdown]
# ## 1. Is layer 2's attention to $x_t$ necessary and sufficient?
#
# We replace layer 2's attention in the answer rows three ways: all its weight on $x_t$ (the ideal iteration head),
# spread evenly over the inputs $x_1..x_L$, or all on the wrong input $x_{t+1}$ or $x_{t-1}$. Then, in the same
# figure, layer 1's attention three ways: all on EoI (the paper's story), its own mean pattern over the test
# sequences of that length, or uniform over everything it may see. *Token accuracy* is the fraction of the answers
# $y_1..y_L$ predicted right, lengths 4 to $L_{max}$, *teacher-forced*: every row sees the true earlier states, so
# one wrong answer does not feed the next. Filled markers are the models *with a head* (accuracy ≥ 0.95 and layer-2
# peakiness ≥ 0.9 at their last evaluation, as in chapter 3); the black tick marks polynomial's chance, 1/11
# (parity's is 1/2). The wrong-input one-hots are in the table after the figure.

# %% tags=["hide-input"]
from ihlib.viz import markdown_table, model_legend, model_style, plot_dots

styles = {m: model_style(v.task, m.split()[0], v.head) for m, v in measured.items()}
shown = ["none", "layer 2: one-hot on x_t", "layer 2: uniform over the inputs",
         "layer 1: one-hot on EoI", "layer 1: its own mean pattern",
         "layer 1: uniform"]
label = lambda k: k.replace("x_t", "$x_t$")  # drawn as math
fig = plot_dots({m: {label(k): v.intervened.accuracy[k] for k in shown}
                 for m, v in measured.items()}, styles,
                "Figure 1. Token accuracy with one layer's attention replaced",
                "token accuracy (fraction of $y_1..y_L$ right)",
                marks={label("layer 2: uniform over the inputs"): 1 / 11})

# %% [markdown]
# **What to look at in Figure 1.** The second and third rows: forcing layer 2 onto $x_t$ leaves every model with a
# head at full accuracy (sufficient), and spreading it over the inputs costs most of it (largely necessary). Polynomial models keep a third to nearly half of their answers even then, well above
# chance:
# something besides layer 2's attention carries part of $x_t$, which this chapter does not pin down. The bottom
# three rows are the surprise: replacing layer 1 by *its own mean pattern* changes nothing (layer 1 does the same
# thing on every input), but forcing it onto EoI, as the paper's story has it, costs the polynomial models with a
# head a quarter (`paper` scale) to two thirds (`cpu` scale) of their answers. Layer 1 matters (uniform attention
# costs them too), but it does not work by looking at EoI alone.
#
# When layer 2 is moved onto the wrong input, does the answer become $F$ of that input? *Follows* counts the
# answers equal to $F(s_{t-1}, x_{t\pm1})$, among those where that differs from the right answer:

# %% tags=["hide-input"]
rows = [[m, f"{v.intervened.accuracy['none']:.2f}",
         f"{v.intervened.follows['one-hot on x_{t+1}']:.2f}",
         f"{v.intervened.follows['one-hot on x_{t-1}']:.2f}",
         f"{v.intervened.peakiness_layer2['layer 1: one-hot on EoI']:.2f}",
         "yes" if v.head else "no"] for m, v in measured.items()]
markdown_table(["model", "accuracy", "follows xₜ₊₁", "follows xₜ₋₁",
                "L2 with L1 on EoI", "head"], rows,
               title="Layer 2 moved onto a neighbouring input: the answer "
                     "follows it",
               note="token accuracy as the model is; follows: the share of "
                    "answers equal to F of the input layer 2 was moved to; "
                    "L2: layer-2 peakiness after layer 1 is forced onto EoI")

# %% [markdown]
# In the models with a head the answer follows the input layer 2 is pointed at almost every time: layer 2's
# attention *is* the choice of input, and whatever comes after computes $F$ of what it is given. The column "L2 with
# L1 on EoI" says why forcing layer 1 onto EoI hurts: layer 2 then no longer finds $x_t$ (its peakiness falls from
# 0.9 or more, in the models with a head, to 0.44–0.77).
#
# ## 2. What does layer 1 do, if not look at EoI?
#
# Since its mean pattern is as good as the real one, we can simply draw that mean. Figure 2 shows it for the answer
# rows of `cpu` polynomial seed 0 at $L = L_{max}$, split by where the weight goes.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import torch

from ihlib.model import attention_patterns

first = next(iter(measured))
run = runs[first]
L = run.config.max_len
with torch.no_grad():
    _, maps = attention_patterns(run.model.eval(),
                                 run.test_data.of_length(L)[:128, :-1].cpu())
mean1 = maps[0][:, 0].mean(0).numpy()[circuit.answer_rows(L).numpy()]
parts = {"task token": mean1[:, 0], "inputs $x_1..x_{L-1}$": mean1[:, 1:L].sum(1),
         "last input $x_L$": mean1[:, L], "EoI": mean1[:, L + 1],
         "CoT tokens": mean1[:, L + 2:].sum(1)}
colours = ["#b0b0b0", "#8ecae6", "#219ebc", "#ffb703", "#90be6d"]
fig, ax = plt.subplots(figsize=(6.6, 3.2), constrained_layout=True)
left = np.zeros(L)
for (name, share), colour in zip(parts.items(), colours):
    ax.barh(np.arange(1, L + 1), share, left=left, color=colour, label=name)
    left += share
ax.invert_yaxis()
ax.set_yticks(range(1, L + 1), [f"$y_{{{t}}}$" for t in range(1, L + 1)])
ax.set_ylabel("row that predicts")
ax.set_xlabel("layer 1's mean attention weight")
ax.set_title(f"Figure 2. Where layer 1 looks ({first}, L = {L})",
             fontsize=10)
fig.legend(loc="outside lower center", ncol=3, fontsize=9, frameon=False)
plt.show()

# %% [markdown]
# **What to look at in Figure 2.** Layer 1 looks at EoI from some rows (yellow) and at the inputs from others (blue;
# from the last rows partly at the last input, $x_L$, dark blue), and from the later rows also at earlier CoT tokens
# (green). Where a row looks changes from row to row but not
# from input to input: the mean pattern works as well as the model's own. The value each key sends carries its
# position, so what layer 1 writes depends on where the input ended, by whatever route; forcing every row onto EoI
# feeds the layer-1 MLP a mixture it was never trained on. How that MLP reads the length out of this mixture we do
# not take apart here.
#
# If that reading is right, the length $L$ should be readable from the stream right after layer 1's attention, and
# the step $t$ (what layer 2's query needs) right after layer 1's MLP. We fit linear probes on the stream at the
# answer rows (on the training split; scored on the test split; the dashed line is the same probe fitted on
# shuffled labels):

# %% tags=["hide-input"]
sites = list(circuit.PROBE_SITES)
fig, axes = plt.subplots(1, 2, figsize=(6.6, 4.0), constrained_layout=True,
                         sharey=True)
for ax, target in zip(axes, ("L", "t")):
    for m, v in measured.items():
        st = styles[m]
        ax.plot(range(3), [v.probes[target, s].accuracy for s in sites],
                marker=st["marker"], color=st["color"],
                markerfacecolor=st["color"] if st["filled"] else "none",
                alpha=0.9 if st["filled"] else 0.5)
    base = np.mean([[v.probes[target, s].shuffled for s in sites]
                    for v in measured.values()], 0)
    ax.plot(range(3), base, ls="--", color="black", lw=1)
    ax.set_xticks(range(3), ["embedding", "after\nattention", "after\nMLP"])
    ax.set_xlabel("where in layer 1")
    ax.set_title(f"probe for {'the length L' if target == 'L' else 'the step t'}",
                 fontsize=10)
    ax.set_ylim(0, 1.02)
axes[0].set_ylabel("held-out accuracy")
fig.suptitle("Figure 3. What the stream holds at the answer rows", fontsize=10)
model_legend(fig, styles)
plt.show()

# %% [markdown]
# **What to look at in Figure 3.** At the embedding $L$ and $t$ can be read only in part: the position alone is
# $L + t$. After layer 1's attention $L$ can (left), in every model with a head: the attention brought the length
# in. The step $t$ becomes fully readable only after layer 1's MLP (right), which combines the length with the
# token's own position: this is where the position that layer 2's query needs is formed, as the paper guessed.
#
# ## 3. Does the layer-2 MLP compute $F$?
#
# Take two test sequences that differ only in one input, $x_t$. Run the donor (with $x'_t$), keep layer 2's
# attention output at the row that predicts $y_t$, and paste it into the receiver's run at the same row. If layer
# 2's output carries $x_t$ and the MLP after it computes $F$, the receiver now answers $F(s_{t-1}, x'_t)$. As a
# control, donors that differ only in an *earlier* input (so $s_{t-1}$ differs but $x_t$ does not) should leave the
# receiver's answer unchanged.

# %% tags=["hide-input"]
fig = plot_dots({m: {"follows the donor (x_t differs)":
                     v.patched["follows the donor"],
                     "unchanged (an earlier input differs)":
                     v.patched["unchanged (control)"]}
                 for m, v in measured.items()}, styles,
                "Figure 4. Patching layer 2's attention output",
                "share of patched answers")

# %% [markdown]
# **What to look at in Figure 4.** In the models with a head, the patched answer is $F$ of the donor's $x_t$ and the
# receiver's own $s_{t-1}$ nearly every time, and the control leaves the answer alone: layer 2's output carries $x_t$
# and nothing of the earlier inputs, and the rest of the network (the layer-2 MLP, reading the state from the
# current token) computes $F$. Most models without a head (hollow) do both less cleanly (`cpu` parity seed 0, just
# short of the head definition, is as clean as those with one); paper-scale parity's controls change often, so there
# layer 2's output carries more than $x_t$.

# %% [markdown]
# ## 4. When during training does each part appear?
#
# The same tests on the weight snapshots the book ships of each scale's polynomial seed 0 (five for `cpu`, four for
# `paper`: coarse, and one seed each). Beside layer-2 peakiness we draw its *normalised entropy* at the answer rows
# (0: every row one-hot; 1: uniform over what it may see), which also registers a head that is sharpening but not yet
# above the 0.5 that peakiness counts. The thick grey line is the run's test accuracy from its history (whole
# sequences right, every 10 epochs; its dips after the rise are wobbles the snapshots do not sample); the dotted line
# marks the snapshot before it first reaches 0.9.

# %% tags=["hide-input"]
from ihlib.metrics import first_epoch

SEED0 = ([f"{s} polynomial s0" for s in MODELS if s != "smoke"]
         or ["smoke polynomial s0"])
snapshots = {m: circuit.over_training(runs[m], m) for m in SEED0}
curves = {
    "layer 2 forced onto $x_t$: token accuracy":
        lambda v: v.intervened.accuracy["layer 2: one-hot on x_t"],
    "token accuracy": lambda v: v.intervened.accuracy["none"],
    "probe for t after L1 MLP":
        lambda v: v.probes["t", "after layer-1 MLP"].accuracy,
    "probe for L after L1 attention":
        lambda v: v.probes["L", "after layer-1 attention"].accuracy,
    "patching: follows the donor":
        lambda v: v.patched["follows the donor"],
    "L2 peakiness": lambda v: v.intervened.peakiness_layer2["none"],
    "L2 normalised entropy": lambda v: v.intervened.entropy_layer2["none"]}
styles4 = dict(zip(curves, [("C0", "-", "o"), ("C0", ":", "o"),
                            ("C2", "-", "s"), ("C2", ":", "s"),
                            ("C3", "-", "D"), ("C1", "-", "^"),
                            ("C1", "--", "v")]))
fig, axes = plt.subplots(len(SEED0), 1, figsize=(6.6, 2.6 * len(SEED0) + 1.4),
                         constrained_layout=True, squeeze=False)
for ax, m in zip(axes[:, 0], SEED0):
    history = runs[m].history
    ax.plot([r["epoch"] for r in history],
            [r["test_accuracy"] for r in history], color="#bbbbbb", lw=3,
            label="test accuracy (history)" if m == SEED0[0] else None)
    epochs = sorted(snapshots[m])
    for name, f in curves.items():
        colour, ls, marker = styles4[name]
        ax.plot(epochs, [f(snapshots[m][e]) for e in epochs], color=colour,
                ls=ls, marker=marker, label=name if m == SEED0[0] else None)
    rise = first_epoch(history)
    before = max((e for e in epochs if rise is not None and e < rise),
                 default=None)
    if before is not None:
        ax.axvline(before, color="black", ls=":", lw=1)
    ax.set_title(m, fontsize=10)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("value")
axes[-1, 0].set_xlabel("epoch (snapshot)")
fig.suptitle("Figure 5. The circuit's parts over training (seed 0)",
             fontsize=10)
fig.legend(loc="outside lower center", ncol=2, fontsize=9, frameon=False)
plt.show()

# %% [markdown]
# **What to look at in Figure 5.** The solid blue line: forced onto $x_t$, each model answers (nearly) perfectly
# already at its first snapshot after initialisation, while its own answers (dotted blue) are still wrong one time in
# five; whole sequences (grey), which need all $L$ answers right, lag further. So what computes $F$ after layer 2 is
# in place early, and what the model still lacks is layer 2 finding $x_t$ by itself: its entropy (dashed orange)
# falls from snapshot to snapshot and its peakiness rises with the accuracy. The green lines (the length after layer
# 1's attention, the step $t$ after its MLP) climb alongside rather than ahead: at the snapshot before the rise
# (dotted) they stand at 0.8 to 0.9, not yet complete.
#
# We had predicted (M12, M13 below) that the position would be complete before the rise and that forcing layer 2
# would gain at least 0.1 there. Each holds in one run and misses in the other: at the `cpu` scale the model's own
# token accuracy is already 0.95 at epoch 100, which leaves forcing little to gain, and at the `paper` scale the probe
# for $t$ is at 0.8.

# %% [markdown]
# ## Try the interventions on your own input
#
# In the HTML book (not in Colab) the models run in this page: pick "layer 1: forced onto EoI" or "layer 2: uniform
# over the inputs" and watch the chain of thought go wrong; "layer 2: forced onto x_t" leaves it right. Unlike
# Figure 1, the page writes freely: each answer is fed back, so one wrong answer can spoil the rest (amber marks an
# answer that is $F$ of the model's own wrong previous answer), and with layer 1 forced onto EoI the models often stop
# at once.
#
# <div class="ih-model" data-models="cpu-polynomial-s0,paper-polynomial-s0,hand-built" data-input="9 1 2 3 2 9"></div>
#
# ## What this changes in the story
#
# | stage | the paper's story | what the interventions show here |
# |---|---|---|
# | layer-1 attention | attends to EoI | brings in the length, looking at EoI from some rows and at inputs from others; its pattern is the same on every input |
# | layer-1 MLP | computes the position to read | yes: $t$ becomes linearly readable only after it |
# | layer-2 attention | attends to $x_t$ | yes, and that is sufficient, largely necessary, and decides which input the answer uses |
# | layer-2 MLP | computes $F$ | yes: patched in, $x'_t$ turns the answer into $F(s_{t-1}, x'_t)$ |

# %% tags=["hide-input"]
from ihlib import claims

table = claims.circuit(list(measured.values()))
heads = [v for v in measured.values() if v.head]
if SCALE != "smoke":
    assert [m for m, v in measured.items() if v.head] == [
        "cpu polynomial s0", "cpu polynomial s2", "paper polynomial s0",
        "paper polynomial s2"]
    # the text above, on the models with a head
    acc = lambda v, k: v.intervened.accuracy[k]
    assert all(acc(v, "layer 2: one-hot on x_t") >= 0.99 for v in heads)
    assert all(0.3 < acc(v, "layer 2: uniform over the inputs") < 0.5
               for v in heads)
    assert all(acc(v, "layer 1: its own mean pattern") >= 0.99 for v in heads)
    assert all(acc(v, "layer 1: one-hot on EoI") < 0.8 for v in heads)
    assert (parts["CoT tokens"][3:] > 0.09).all()  # the later rows, green
    assert all(acc(v, "layer 1: uniform") < 0.7 for v in heads)
    assert all(min(v.intervened.follows.values()) > 0.95 for v in heads)
    assert all(v.intervened.peakiness_layer2["layer 1: one-hot on EoI"]
               < v.intervened.peakiness_layer2["none"] - 0.2 for v in heads)
    share = parts["last input $x_L$"] + parts["inputs $x_1..x_{L-1}$"]
    assert (parts["EoI"] > 0.5).sum() >= 2 and (share > 0.5).sum() >= 2
    probes = lambda t, s: [v.probes[t, s].accuracy for v in heads]
    assert max(probes("L", "embedding") + probes("t", "embedding")) < 0.6
    assert min(probes("L", "after layer-1 attention")) > 0.9
    assert min(probes("t", "after layer-1 MLP")) > 0.95
    assert min(probes("t", "after layer-1 attention")) < 0.9
    assert all(v.patched["follows the donor"] > 0.95
               and v.patched["unchanged (control)"] > 0.95 for v in heads)
    cpu_parity = measured["cpu parity s0"].patched
    assert min(cpu_parity.values()) > 0.95  # hollow, but as clean
    assert sum(min(v.patched.values()) < 0.9 for v in measured.values()
               if not v.head) >= len(measured) - len(heads) - 1  # most without a head
    eoi_l2 = [v.intervened.peakiness_layer2["layer 1: one-hot on EoI"] for v in heads]
    assert f"{min(eoi_l2):.2f}-{max(eoi_l2):.2f}" == "0.44-0.77"
    assert all(v.intervened.peakiness_layer2["none"] >= 0.9 for v in heads)
    lost = {v.label: 1 - acc(v, "layer 1: one-hot on EoI") for v in heads}
    assert all(0.2 < lost[k] < 0.4 for k in lost if k.startswith("paper"))
    assert all(0.6 < lost[k] < 0.7 for k in lost if k.startswith("cpu"))
    assert all(measured[f"paper parity s{s}"].patched["unchanged (control)"]
               < 0.9 for s in (0, 1, 2))
    last = runs["cpu parity s0"].history[-1]
    assert f"{last['peakiness_layer2']:.4f}" == "0.8995"
    assert not any(v.head for v in measured.values() if v.task == "parity")
    claims.check(table, misses=[c.id for c in table])
    # the reading of the claims with the rule relaxed to polynomial, below
    passing = {c.id: c.measured.split("(")[-1].split(" pass")[0] for c in table}
    assert all(passing[i] == "4 of 4" for i in
               ("M1", "M3", "M5", "M7", "M9", "M10", "M11"))
    assert passing["M2"] == passing["M4"] == "0 of 4"
    m6 = [v.label for v in heads if acc(v, "layer 1: uniform") <= 0.5]
    m8 = [v.label for v in heads if v.probes["t", "embedding"].accuracy <= 0.5]
    assert m6 == m8 == ["paper polynomial s0", "paper polynomial s2"]
    assert all(0.6 < acc(v, "layer 1: uniform") < 0.7 for v in heads
               if v.label.startswith("cpu"))
training = claims.circuit_training(snapshots,
                                   {m: runs[m].history for m in SEED0})
if SCALE != "smoke":
    claims.check(training, misses=["M12", "M13"])
    for m in SEED0:  # the text of Figure 5
        first_after = snapshots[m][sorted(snapshots[m])[1]].intervened.accuracy
        assert first_after["layer 2: one-hot on x_t"] >= 0.99
        assert 0.7 < first_after["none"] < 0.85
        entropy = [snapshots[m][e].intervened.entropy_layer2["none"]
                   for e in sorted(snapshots[m])]
        assert all(a > b for a, b in zip(entropy, entropy[1:]))
        rise = first_epoch(runs[m].history)
        before = snapshots[m][max(e for e in snapshots[m] if e < rise)]
        assert 0.75 < before.probes["t", "after layer-1 MLP"].accuracy < 0.95
        assert 0.75 < before.probes["L", "after layer-1 attention"].accuracy < 0.95
    own = snapshots["cpu polynomial s0"][100].intervened.accuracy["none"]
    assert f"{own:.2f}" == "0.95"

# %% [markdown]
# ## The claims, as registered
#
# The claims counted every model with a head and needed at least one per task. None of the shipped parity models
# has a head by the book's definition (`cpu` parity seed 0 ends with layer-2 peakiness 0.8995, just under 0.9), so
# as registered **every claim misses**, whatever the polynomial models show. The table gives the measured values of
# the models that count; read with the rule relaxed to polynomial only, M1, M3, M5, M7, M9, M10 and M11 would hold,
# M2 and M4 would miss (the uniform layer 2 keeps a third to nearly half of the answers; layer 1 forced onto EoI
# keeps a third to three quarters), and M6 and M8 would hold at the `paper` scale only (at $L_{max} = 8$ uniform
# layer 1 keeps two thirds of the answers, and the embedding alone fixes $t$ more often). That reading is ours, after the results; it is not a claim.

# %% tags=["hide-input"]
table

# %% [markdown]
# The two claims about the snapshots (one seed per scale):

# %% tags=["hide-input"]
training

# %% [markdown]
# ## Exercises
#
# 1. *Break one row.* Force layer 1 onto EoI in one answer row only (pass a single row to `circuit.force_pattern`)
#    and find the rows of `cpu polynomial s0` whose change costs the most accuracy. Are they the rows of Figure 2
#    that look at the inputs?
# 2. *The hand-built head.* Run `circuit.intervene` on chapter 4's `build_iteration_head(polynomial_task(), 8)`. Which
#    rows of Figure 1 does it pass that the trained models fail, and why?
#
# ```{admonition} Solutions
# :class: dropdown
# 1. For row $k$ (0 predicts $y_1$), `rows = circuit.answer_rows(8)[[k]]` and
#    `hook = circuit.force_pattern(1, rows, lambda p: circuit.one_hot_rows(torch.tensor([9]), 18))` (EoI sits at
#    position 9 when $L = 8$; a row has 18 keys); score `model.run_with_hooks(tokens[:, :-1], fwd_hooks=[hook])`
#    with `circuit.predictions`. The answer is yours to find: compare it with Figure 2.
# 2. It keeps full accuracy with layer 1 forced onto EoI, since its layer 1 *is* that pattern, and with layer 2
#    spread over the inputs it falls close to chance (below chance + 0.25), since nothing else carries $x_t$ in a
#    circuit written by hand: `tests/test_circuit.py` checks both.
# ```
