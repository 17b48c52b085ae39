# %% [markdown]
# # 4. An iteration head built by hand
#
# **The question.** The paper describes the iteration-head circuit in words and gives no weights. Can we write every
# weight of a 2-layer, 1-head transformer by hand so that it *is* that circuit, and does a trained model then do
# what the hand-built one does, step by step?
#
# Figure 4.1 answers it: the hand-built head (grey) and the polynomial model trained in chapter 3 (red) read the
# same sequence, and at each step of the chain of thought the bars show where each layer of each model looks.

# %%
import ihlib

SCALE = ihlib.notebook_setup()

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import torch
from ihlib.handcrafted import build_iteration_head
from ihlib.presets import compared_scale
from ihlib.results import load_or_train, plan
from ihlib.tasks import Vocabulary, polynomial_task
from ihlib.viz import cot_stepper

poly_task, vocab = polynomial_task(), Vocabulary()
print(plan("emergence", compared_scale(SCALE), runs=["polynomial_s0"]))
trained = load_or_train("emergence", "polynomial_s0", compared_scale(SCALE))
trained.model.cpu()
L = trained.config.max_len
hand_L = build_iteration_head(poly_task, L)  # built for the trained model's L_max
seq = trained.test_data.of_length(L)[0].cpu()
cot_stepper({"hand-built": hand_L, "trained": trained.model}, seq, vocab)

# %% [markdown]
# **Figure 4.1.** One test sequence of length $L = L_{max}$, step by step (press play, or drag the slider; in
# Jupyter or Colab it is a slider). The counter says which answer $y_t$ the current token (shaded orange) writes;
# the tokens not written yet are greyed. Top: layer 1, whose ideal key is EoI (outlined blue); bottom: layer 2,
# whose ideal key is $x_t$. Grey bars are the hand-built head, red bars the trained model. Look at the bottom panel
# first: at every step both models put their layer-2 attention on $x_t$. Then the top panel: the hand-built layer 1
# puts all its weight on EoI at every step after the first (at the first step the current token *is* EoI, so layer
# 1 has no target); the trained one looks at EoI most at some steps, while at others it gives EoI little and
# spreads its weight over the inputs (the panel's title names the token with the largest bar; the table below
# lists every step). Both models write every answer right.

# %% tags=["hide-input"]
from ihlib.viz import cot_steps, markdown_table

_, hand_frames = cot_steps(hand_L, seq, vocab)
step_labels, trained_frames = cot_steps(trained.model, seq, vocab)
eoi = L + 1
markdown_table(
    ["step", "layer 1 on EoI: hand-built", "trained",
     "trained layer 1 looks most at", "layer 2 on $x_t$: hand-built", "trained"],
    [[t if t <= L else "end",
      f"{h.rows[0][eoi]:.2f}", f"{r.rows[0][eoi]:.2f}",
      step_labels[int(np.argmax(r.rows[0][: r.query + 1]))],
      f"{h.rows[1][t]:.2f}" if t <= L else "–",
      f"{r.rows[1][t]:.2f}" if t <= L else "–"]
     for t, (h, r) in enumerate(zip(hand_frames, trained_frames), start=1)],
    title="Figure 4.1's attention weights, step by step",
    note="the weight each layer puts on its ideal key at each step; at the "
         "end the current token is $y_L$ and the model writes EoS")

# %% [markdown]
# **The answer, in short.** Yes: one function of `ihlib` sets the weights of a transformer that solves any
# iterative task with CoT, exactly, at every length up to $L_{max}$, and only its last MLP knows the task. A trained
# model's layer 2 attends where the hand-built one does; its layer 1 does not, and still works. The hand-built head
# needs far more width than a trained model, and it needs *its* directions: random ones of the same width fail.
#
# ## The construction
#
# The residual stream is split into blocks of one-hot coordinates, each written once and read by the next stage:
#
# | block | written by | holds |
# |---|---|---|
# | `const` | token embedding | a large constant $C = 30$: it fixes LayerNorm's scale and acts as the bias unit of the bias-free MLPs |
# | `token`, `pos` | embeddings | the token and the position |
# | `eoi_pos` | layer-1 attention | the position of EoI, $L+1$: every query after EoI attends to the EoI key (query: `const`, key: `token = EoI`) and copies its `pos` |
# | `target` | layer-1 MLP | $t$ = own position − EoI position + 1 (at the CoT token in position $L+t$: $(L+t) - (L+1) + 1$): one hidden unit per pair (own position, EoI position), a lookup table |
# | `x` | layer-2 attention | $x_t$: the query `target` $= t$ matches the key `pos` $= t$, and the value copies the key's token |
# | `out` | layer-2 MLP | $F(s_{t-1}, x_t)$: one hidden unit per (current token, $x_t$) pair; $\lvert X \rvert$ more for EoI → $y_1$, one per value of $x_1$; one that writes EoS after $y_L$ and one that keeps writing it over the padding |
#
# The blocks sit on orthonormal directions of the zero-sum subspace of $\mathbb{R}^d$, so LayerNorm only divides by
# the stream's norm, which the constant makes nearly the same at every position. It uses the textbook pre-LN block
# rather than the authors' (chapter 2): the construction needs the residual stream to be kept as it is written.

# %% tags=["hide-input"]
from ihlib.handcrafted import Layout, feature_directions, mlp_units
from ihlib.viz import plot_weight_blocks

L_MAX = 8
hand = build_iteration_head(poly_task, L_MAX)
lay = Layout(vocab.size, hand.cfg.n_positions)
q = feature_directions(hand.cfg.dim, lay.size, 0)
names = ["const", "token", "pos", "eoi_pos", "target", "x", "out"]
edges = [lay.block(n) for n in names] + [lay.size]
sd = {k: v.numpy() for k, v in hand.state_dict().items()}
d = hand.cfg.dim


def logical_in(w):  # a weight that reads the stream, as (out, logical features)
    return w @ q


qkv1, qkv2 = sd["blocks.0.attn.qkv.weight"], sd["blocks.1.attn.qkv.weight"]
u1, u2 = mlp_units(poly_task, L_MAX)
P = lay.n_positions
panels = [
    (sd["tok_emb.weight"] @ q, "token embedding", "token"),
    (np.vstack([logical_in(qkv1[:d])[:1], logical_in(qkv1[d:2 * d])[:1]]),
     "layer 1 query and key", "head dim 0", ["query", "key"]),
    (logical_in(sd["blocks.0.mlp.fc.weight"])[:u1],
     "layer 1 MLP in: one unit per (position, EoI position)", "unit"),
    (logical_in(qkv2[:d])[:P], "layer 2 query", "head dim"),
    (logical_in(qkv2[d:2 * d])[:P], "layer 2 key", "head dim"),
    (logical_in(sd["blocks.1.mlp.fc.weight"])[:u2],
     "layer 2 MLP in: one unit per (token, $x_t$)", "unit"),
]
plot_weight_blocks(panels, names, edges, f"Polynomial iteration, $L_{{max}}$ = {L_MAX}")
plt.show()

# %% [markdown]
# **Figure 4.2.** The hand-built weights that *read* the stream, each in the logical basis: a row is one output (a
# token, a head dimension, an MLP unit), the columns are the blocks of the table above that the matrix reads (the
# others are all zero and left out), and the colour is the weight on the shared scale of the colour bar. Look at
# the colours' strength as well as their place: the embedding writes the constant 30 times as strongly as the token;
# layer 1's query reads only `const` and its key only the EoI token, so every query meets the EoI key; layer 2's
# query reads `target` and its key `pos`, both diagonal, so target $t$ meets position $t$, and the query's weights
# are by far the largest of the figure (they make that attention sharp). The MLPs are lookup tables: each unit
# (row) adds two one-hot features (two dark-red cells) and subtracts a bias off `const` (pale blue), so it fires
# only when both features are on. The value matrices, not drawn, copy `pos` into `eoi_pos` (layer 1) and the token
# into `x` (layer 2).
#
# ## How it is computed
#
# This is the whole construction, as `ihlib` runs it: the function that sets every weight. Read it next to the
# table: each comment names the stage, and each line writes one block's directions into one matrix.

# %%
from ihlib.lesson import show_source

show_source(build_iteration_head)

# %% [markdown]
# It takes the smallest width that gives every coordinate of the table its own direction (`min_exact_width`;
# section "How wide must it be?" below) and the smallest MLP ratio that holds both lookup tables, so it is narrower
# than the trained models of chapter 3 ($d = 128$, MLPs $4d$ wide): same architecture, other sizes.

# %%
units1, units2 = mlp_units(poly_task, L_MAX)
print(f"width d = {hand.cfg.dim}, "
      f"MLP hidden units = {hand.cfg.mlp_ratio * hand.cfg.dim}")
print(f"lookup units used: layer 1 {units1}, layer 2 {units2}")

# %% [markdown]
# ## It is perfect, for every task and length
#
# The same construction, built for each task (only the layer-2 MLP's table depends on $F$; a custom task also adds
# its task token to the vocabulary), on copy, parity, polynomial iteration and a custom task, on freshly generated
# test sets, at every length $1..L_{max}$. The table shows the worst accuracy over the lengths and both layers'
# peakiness (chapter 2): all are exactly 1.

# %%
from ihlib.metrics import evaluate
from ihlib.tasks import (IterativeTask, copy_task, make_dataset,
                         parity_task)
from ihlib.viz import markdown_table

affine = IterativeTask("affine_mod5", (1, 2, 3, 4), (0, 1, 2, 3, 4),
                       lambda s, x: (2 * s + x) % 5, initial_state=3)
results = {}
for task in [copy_task(), parity_task(), poly_task, affine]:
    v = Vocabulary.for_tasks([task])
    model = build_iteration_head(task, L_MAX, vocab=v)
    test = make_dataset(task, L_MAX, 256, seed=11, split="test", vocab=v)
    results[task.name] = evaluate(model, test)

markdown_table(
    ["task", "worst-length accuracy", "L1 peakiness", "L2 peakiness"],
    [[name, f"{min(r.accuracy.values()):.3f}",
      f"{r.summary()['peakiness_layer1']:.2f}",
      f"{r.summary()['peakiness_layer2']:.2f}"]
     for name, r in results.items()],
    title=f"The hand-built head on every task, $L_{{max}}$ = {L_MAX}")

# %% [markdown]
# ## Where the trained model differs
#
# The trained model of Figure 4.1 is the polynomial run of chapter 3 at the current scale (at the `colab` scale,
# the `cpu` scale's shipped run); it has the authors' block, the hand-built one the pre-LN block. Figure 4.3 sets
# their whole attention maps side by side, and the table after it counts, for every query of each layer's pattern
# (layer 1: the CoT tokens, which should look at EoI; layer 2: the tokens that predict $y_1..y_L$, which should
# look at $x_t$), how often the two models attend most to the same key, over the test set.

# %% tags=["hide-input"]
from ihlib.viz import attention_maps, plot_attention, sequence_labels

labels = sequence_labels(seq[:-1].tolist(), vocab)
fig, axes = plt.subplots(2, 2, figsize=(6.6, 6.8), constrained_layout=True)
for row, (name, model) in enumerate([("hand-built", hand_L),
                                     ("trained", trained.model)]):
    maps, _ = attention_maps(model, seq)
    for layer in (1, 2):
        plot_attention(maps[layer - 1], labels, f"{name}, layer {layer}",
                       axes[row, layer - 1], colorbar=layer == 2,
                       ylabel=layer == 1)
plt.show()

# %% [markdown]
# **Figure 4.3.** The attention maps of Figure 4.1's sequence: a row is a query (the current token), a column a key,
# and the colour the weight. Top, the hand-built head: layer 1's rows after EoI are one bright column (EoI), layer
# 2's rows from EoI on are one bright diagonal ($y_{t-1}$ → $x_t$). Bottom, the trained model: its layer-2 diagonal
# is the same, while in layer 1 the rows after EoI split between the EoI column and the inputs.

# %%
from ihlib.metrics import pattern_indices
from ihlib.model import attention_patterns


@torch.no_grad()
def argmax_keys(model, seqs):
    _, maps = attention_patterns(model.eval(), seqs[:, :-1])
    return [m[:, 0].argmax(-1) for m in maps]


rows = []
for length in range(max(1, L // 2), L + 1):
    seqs = trained.test_data.of_length(length).cpu()
    hand_keys = argmax_keys(hand_L, seqs)
    trained_keys = argmax_keys(trained.model, seqs)
    agree = []
    for layer, (h, t) in enumerate(zip(hand_keys, trained_keys), start=1):
        queries = torch.as_tensor(pattern_indices(length, layer)[0])
        same = h[:, queries] == t[:, queries]
        agree.append(float(same.float().mean()))
    rows.append([length, *agree])

# %% tags=["hide-input"]
summary_trained = evaluate(trained.model, trained.test_data).summary()
markdown_table(["input length L", "layer 1", "layer 2"],
               [[n, f"{a:.2f}", f"{b:.2f}"] for n, a, b in rows],
               title="How often the two models attend most to the same key",
               note=f"trained model: test accuracy "
                    f"{summary_trained['accuracy']:.3f}, layer-1 peakiness "
                    f"{summary_trained['peakiness_layer1']:.2f}, layer-2 "
                    f"peakiness {summary_trained['peakiness_layer2']:.2f}")

# %% [markdown]
# **What the comparison shows** (at the `cpu` scale, the run shipped with `ihlib`, seed 0). In layer 2 the two
# models pick the same key for at least 0.95 of the pattern's queries at every length in the table: the trained
# layer 2 attends where the hand-built iteration head does. In layer 1 they agree far less, at every length: the
# construction sends every CoT token to EoI with all its weight, while the trained model's layer-1 peakiness (in the
# table's note) says that many CoT tokens give EoI less than half their attention. Our reading, not tested here:
# the layer-1 output only has to tell the MLP where the input ended, and a partial, position-dependent blend of EoI
# and its neighbours carries that as well as a sharp copy does, so training has no reason to sharpen it.
# [Inside the circuit](09_circuit.ipynb) tests this by intervention.
#
# **On your own input**, in the HTML book (not in Colab): the hand-built head (first) and the trained model (second)
# run in the page, both opened at step 4. Give both the same sequence and move their step sliders to the same step:
# layer 2 looks at the same $x_t$; layer 1 of the hand-built head always looks at EoI, the trained one at some steps
# elsewhere (steps 1 and 4 of the input below).
#
# <div class="ih-model" data-models="hand-built,cpu-polynomial-s0" data-input="5 5 2 8 1" data-step="4"></div>
#
# <div class="ih-model" data-models="cpu-polynomial-s0,hand-built" data-input="5 5 2 8 1" data-step="4"></div>
#
# ## How wide must it be?
#
# Every feature gets its own direction: the constant, three blocks the size of the vocabulary and three the size of
# the range of positions, and one dimension more, which LayerNorm's mean removal costs. Each MLP needs one hidden
# unit per entry of its lookup table. The table below gives the formulas, and their values for polynomial
# iteration. Below the exact width the features must share directions. We test this by placing them on random,
# nearly orthogonal directions (one draw) at one dimension below the exact width, at it, and at twice and four
# times it, and measure the worst per-length accuracy (the second table).

# %% tags=["hide-input"]
from ihlib.handcrafted import accuracy_by_width, min_exact_width

units1, units2 = mlp_units(poly_task, L_MAX)
markdown_table(
    ["what", "formula", f"polynomial, $L_{{max}}$ = {L_MAX}"],
    [["tokens $V$", "the vocabulary", vocab.size],
     ["positions $P$", "$2L_{max} + 2$", lay.n_positions],
     ["exact width $d$", "$3V + 3P + 2$", min_exact_width(vocab, L_MAX)],
     ["layer-1 MLP units", "$L_{max}(L_{max}+3)/2$", units1],
     ["layer-2 MLP units", r"$\lvert S \rvert \lvert X \rvert + \lvert X \rvert + 2$", units2]],
    title="What the construction needs",
    note="$S$: the task's set of states, $X$: its input alphabet; the "
         "stream holds $1 + 3V + 3P$ features")

# %% tags=["hide-input"]
table = []
for lmax in ([4] if SCALE == "smoke" else [4, 8, 16, 32]):
    exact = min_exact_width(vocab, lmax)
    orthonormal = accuracy_by_width(poly_task, lmax, [exact], n_per_length=64)[exact]
    random = accuracy_by_width(poly_task, lmax, [exact - 1, exact, 2 * exact, 4 * exact], n_per_length=64,
                               basis="random")
    table.append((lmax, exact, orthonormal, random))
markdown_table(["$L_{max}$", "exact width $d$", "orthonormal, $d$", "random, $d - 1$", "random, $d$",
                "random, 2 × $d$", "random, 4 × $d$"],
               [[lmax, exact, f"{o:.2f}", *(f"{a:.2f}" for a in r.values())] for lmax, exact, o, r in table],
               title="Worst per-length accuracy of the construction (polynomial iteration, 64 test sequences "
                     "per length)")

# %% [markdown]
# **It is the directions, not the width.** At its exact width the construction is perfect with orthonormal
# directions and fails with random ones; one dimension below, where only shared directions exist, it fails too; and
# random directions still fail at twice the exact width (worst-length accuracy below 0.9 at every $L_{max}$ of the
# table). The lookups rely on exact thresholds, and the small overlaps between random directions add up over the
# many features a token carries. So the construction says nothing about how narrow a model can be. Trained models
# are far more economical: the paper's width × length grid finds $d \approx 25$ enough up to $L_{max} = 31$
# {cite}`cabannes2024iteration` (chapter 5 trains a smaller grid), where the construction needs
# 242 dimensions. A trained model superposes positions in fewer dimensions and reads them with smooth attention,
# where the construction spends one dimension on every position, three times over.
#
# ## The head is task-generic: swap the last MLP
#
# Replace the layer-2 MLP of the hand-built **polynomial** model by the one built for **parity**, leaving both
# attention layers untouched, and it solves parity: everything before the last MLP (finding EoI, computing $t$,
# fetching $x_t$) is the same for every task. The paper asks the same of trained models by fine-tuning a polynomial
# model on parity.

# %%
from ihlib.handcrafted import transplant_mlp2

donor = build_iteration_head(parity_task(), L_MAX,
                             mlp_ratio=hand.cfg.mlp_ratio)
swapped = transplant_mlp2(hand, donor)
parity_test = make_dataset(parity_task(), L_MAX, 256, seed=5, split="test")


def worst_accuracy(model):
    result = evaluate(model, parity_test, attention=False)
    return min(result.accuracy.values())


before, after = worst_accuracy(hand), worst_accuracy(swapped)
print(f"parity, worst-length accuracy: polynomial model {before:.2f}")
print(f"with the parity model's layer-2 MLP transplanted {after:.2f}")

# %% [markdown]
# Alone, the polynomial model gets every parity sequence of some length wrong (its worst-length accuracy is 0); with
# the parity model's layer-2 MLP transplanted it is right at every length.
#
# ## Exercises
#
# **Exercise 4.1.** *Break the head with one unit.* The layer-1 MLP is a lookup table with one hidden unit per pair
# (query position, EoI position): `build_iteration_head` above fills them in the order of its two loops, `e` from 2
# and `qpos` from `e`. Silence the unit for EoI at position 5 and the query at position 6 (set its input weights to
# zero). Predict first: which input lengths lose accuracy, and which answer $y_t$ goes wrong? Then measure the
# accuracy per length.

# %% tags=["hide-cell"] cellView="form"
# @title Solution to exercise 4.1
broken = build_iteration_head(poly_task, L_MAX)
units = [(e, qpos) for e in range(2, L_MAX + 2)
         for qpos in range(e, 2 * e)]
unit = units.index((5, 6))  # EoI at 5: inputs of length 4; query at 6
with torch.no_grad():
    broken.blocks[0].mlp.fc.weight[unit] = 0.0
test = make_dataset(poly_task, L_MAX, 128, seed=3, split="test")
print({n: round(a, 2) for n, a in evaluate(broken, test).accuracy.items()})
# Only length 4 breaks: EoI sits at position L + 1 = 5 only there.  The
# query at position 6 is y_1, whose row must compute t = 6 - 5 + 1 = 2 and
# read x_2 to write y_2.  With the unit silent its `target` block is empty,
# layer 2's query is zero, its attention spreads over every token, and no
# layer-2 MLP unit fires reliably: y_2 comes out wrong (right only where
# the spread attention happens to add up to the right input), so nearly
# every sequence of length 4 is wrong, and every other length is untouched.

# %% [markdown]
# **Exercise 4.2.** *How wide must random directions be?* The table above shows random directions failing at twice
# the exact width. At $L_{max} = 8$, at what multiple of the exact width $d$ do they first make the construction
# exact again? Predict whether 8 × $d$ is enough, then measure with `accuracy_by_width(..., basis="random")`.

# %% tags=["hide-cell"] cellView="form"
# @title Solution to exercise 4.2
lmax = 4 if SCALE == "smoke" else 8
exact = min_exact_width(vocab, lmax)
for k in (4, 6, 8, 12):
    width = k * exact
    worst = accuracy_by_width(poly_task, lmax, [width], n_per_length=32,
                              basis="random")[width]
    print(f"{k:2d} x d = {width:5d}: worst-length accuracy {worst:.2f}")
# The errors are the overlaps of nearly orthogonal directions, which shrink
# like 1/sqrt(width), summed over the features a token carries, and one
# draw of directions can be luckier than another (try seed=1): the width
# at which the thresholds hold again is many times d, where a trained model
# needs d of about 25.

# %% [markdown]
# ## What we learned
#
# * The iteration-head circuit is a small, explicit program: find EoI, subtract positions, fetch $x_t$, apply $F$.
#   Written as weights, it is exact for every length up to $L_{max}$ and every task, and only the last MLP knows the
#   task.
# * Its width comes from giving every feature its own direction; random directions of the same or twice the width
#   break its exact thresholds.
# * A trained model need not be this clean: its layer-2 attention matches the construction, while its layer-1
#   attention is spread out where the construction's is sharp, and it still answers right.
