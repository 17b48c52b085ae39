# %% [markdown]
# # 2. The model: a two-layer, one-head transformer
#
# **What you will see.** The transformer the paper trains, as `ihlib` builds it; its size; how to read an
# attention map; and the two attention patterns that make an iteration head, drawn as ideal target maps that later
# chapters compare trained models against.
#
# **What it costs.** Nothing is trained: seconds on any CPU.

# %%
import ihlib

SCALE = ihlib.notebook_setup()

# %% [markdown]
# ## The architecture
#
# A decoder-only transformer with **2 layers and 1 attention head per layer**, width $d = 128$, a GELU MLP of width
# $4d$, LayerNorm without biases, no biases anywhere, learned absolute positional embeddings added to the token
# embeddings (with dropout 0.1 on the sum), a final LayerNorm and an untied unembedding. It reads `seq[:-1]` and
# predicts `seq[1:]`.
#
# The authors' block is not the textbook pre-LN block. It normalises the residual stream itself before attention:
#
# $$x \leftarrow \mathrm{ln}_1(x), \qquad x \leftarrow x + \mathrm{attn}(x), \qquad
#   x \leftarrow x + \mathrm{mlp}(\mathrm{ln}_2(x)),$$
#
# so what flows on is $\mathrm{ln}_1(x) + \mathrm{attn}(\mathrm{ln}_1(x))$, where the textbook block keeps
# $x + \mathrm{attn}(\mathrm{ln}_1(x))$. `ihlib` builds the authors' block by default
# (`ModelConfig.normalize_residual=True`) and the textbook one on request (`normalize_residual=False`,
# `python -m ihlib train --no-normalize-residual`).

# %% tags=["hide-input"]
import torch
from ihlib.model import ModelConfig, Transformer
from ihlib.tasks import Vocabulary, make_dataset, polynomial_task, sequence_length

vocab = Vocabulary()
max_len = 16
cfg = ModelConfig(vocab_size=vocab.size, n_positions=sequence_length(max_len) - 1, dim=128)
model = Transformer(cfg)
print(f"the paper's model (L_max = {max_len}: {cfg.n_positions} positions; d = {cfg.dim}):")
print(model)
print(f"trainable parameters: {model.n_params():,}")
assert 0.38e6 < model.n_params() < 0.43e6, "the paper's model has about 0.41 M parameters at d = 128"

# %% [markdown]
# ## Reading an attention map
#
# For each query token (a row) an attention head spreads a weight of 1 over the tokens it may see (the columns up
# to and including itself: the mask is causal). Every activation of the model passes a named
# *hook point* (as in TransformerLens): `model.run_with_cache(tokens)` returns the logits and a cache of them, and
# `blocks.0.attn.hook_pattern` is layer 1's map. A map is formed only when something reads it; otherwise, on a GPU,
# the model takes PyTorch's fused attention kernel, which never forms it.
#
# Each tick label is *position:token* (`7:EoI` is the end-of-input token at position 7). An untrained model attends
# almost uniformly: each row fades as the number of visible tokens grows.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from ihlib.viz import plot_ideal_maps, plot_model_attention

torch.manual_seed(0)
seq = make_dataset(polynomial_task(), max_len=6, n_per_length=1, split="test").of_length(6)[0]
fig = plot_model_attention(Transformer(ModelConfig(vocab.size, sequence_length(6) - 1, dim=128)), seq, vocab, "untrained model:")
plt.show()

# %% [markdown]
# ## The two patterns of an iteration head
#
# Take the token at position $L+t$, for $t = 1..L$: EoI when $t = 1$, the CoT token $y_{t-1}$ after that. It holds
# $s_{t-1}$ (EoI stands for $s_0$) and must predict $s_t = F(s_{t-1}, x_t)$. It needs $x_t$, at position $t$. The
# paper's circuit finds it in four steps, two of them attention:
#
# 1. **layer 1** attends from every CoT token, $y_1..y_L$, to EoI at position $L+1$ and copies its position;
# 2. the layer-1 MLP turns the pair of positions ($L+t$, $L+1$) into $t$;
# 3. **layer 2**, the iteration head, attends from $L+t$ to position $t$ and brings $x_t$;
# 4. the layer-2 MLP computes $F(s_{t-1}, x_t)$.
#
# The picture below draws the four steps at one token, with step 1 as this book's trained models do it: [Inside the
# circuit](09_circuit.ipynb) finds by intervention that their layer 1 looks at EoI from some tokens and at the inputs
# from others, and that the other three steps are as the paper describes.

# %% tags=["hide-input"]
from ihlib.viz import plot_circuit

plot_circuit()
plt.show()

# %% [markdown]
# Drawn as attention maps for one sequence (only the rows of each pattern are drawn; other queries are blank):

# %% tags=["hide-input"]
fig = plot_ideal_maps(seq.tolist(), vocab)
fig.suptitle("Target attention patterns for L = 6")
plt.show()

# %% [markdown]
# ## Measuring how close a model is
#
# `ihlib.metrics` scores a model's attention on exactly these entries, as the authors do:
#
# * **peakiness**: the fraction of the pattern's entries whose weight is above 0.5 (1 for a perfect head, 0 for a
#   uniform one);
# * the **mean weight** on the pattern, and an **invariance** score, 1 minus the mean standard deviation across
#   sequences;
# * **accuracy**: the fraction of test sequences in which every target after EoI is predicted correctly, each
#   prediction made from the true previous tokens (teacher forcing). The targets are the CoT tokens, the closing EoS
#   and the EoS padding up to $2L_{max}+3$ tokens. This is the authors' score, `test_accuracy`;
#   `test_accuracy_to_eos` stops at the first EoS.
#
# Below, *layer-1* and *layer-2 peakiness* are the peakiness of each layer on its own pattern (the claims tables
# write them L1 and L2).
#
# Reported figures average lengths 4 to $L_{max}$, since short sequences appear in both training and test sets.

# %% tags=["hide-input"]
import numpy as np
from ihlib.metrics import attention_stats, ideal_attention

for layer in (1, 2):
    perfect = torch.tensor(ideal_attention(6, layer))[None]
    t = perfect.shape[-1]
    uniform = torch.tril(torch.ones(t, t))
    uniform = (uniform / uniform.sum(-1, keepdim=True))[None]
    p, u = attention_stats(perfect, 6, layer).peakiness, attention_stats(uniform, 6, layer).peakiness
    print(f"layer {layer}: peakiness of the ideal map {p:.2f}, of uniform attention {u:.2f}")
    assert p == 1.0 and u == 0.0

# %% [markdown]
# ## Which block? Measured on the paper's recipe at $L_{max} = 8$
#
# The two blocks are easy to confuse, and many reimplementations use the textbook one. To see whether the choice
# matters here, the book's `recipes` experiment trains the paper's recipe (Adam with learning rate $3\cdot10^{-4}$,
# batch 256, sequences in length order, every batch padded with EoS to $2L_{max}+3$ tokens, $d = 128$, no weight
# decay) at $L_{max} = 8$ with each block, three seeds each, for up to 300 epochs. Test accuracy is measured every 10
# epochs, and a run stops once it has been $\geq 0.99$ at three evaluations in a row. *An iteration head* here means
# test accuracy $\geq 0.95$ with layer-2 peakiness $\geq 0.9$.
#
# Our prediction, written before the pre-LN runs finished: **both blocks grow an iteration head within 300 epochs in
# at least 2 of 3 seeds**. We also fixed in advance how the `cpu` scale would choose its block: the authors' block
# (the paper's model), unless it misses this bar while the pre-LN block clears it.

# %%
from ihlib.claims import span as claims_span
from ihlib.metrics import head_epoch
from ihlib.results import plan, results
from ihlib.viz import markdown_table, plot_seeds

blocks = {"authors' block": "paper_L8", "pre-LN block": "paper_L8_preln"}
print(plan("recipes", SCALE, cells=list(blocks.values())))
found = results("recipes", SCALE, cells=list(blocks.values()))
groups = {label: found.histories(cell) for label, cell in blocks.items()}
seeds = [r.seed for r in found.cell("paper_L8")]
fig = plot_seeds(groups, title="Paper recipe, $L_{max}$ = 8: "
                 "a thin line per seed, the mean thick")
plt.show()
rows = []
for label, cell in blocks.items():
    for r in found.cell(cell):
        last = r.history[-1]
        rows.append([label, r.seed, head_epoch(r.history) or "—",
                     last["epoch"], f"{last['test_accuracy']:.3f}",
                     f"{last['peakiness_layer1']:.2f}",
                     f"{last['peakiness_layer2']:.2f}"])
markdown_table(["block", "seed", "epoch of the head", "last epoch",
                "test accuracy", "layer-1 peakiness", "layer-2 peakiness"],
               rows, title="Each seed at its last evaluation",
               note="— : no iteration head within the budget")

# %% tags=["hide-input"]
reached = {label: sum(head_epoch(h) is not None for h in runs) for label, runs in groups.items()}
print(", ".join(f"{label}: a head in {n} of {len(seeds)} seeds" for label, n in reached.items()))
if SCALE == "cpu":  # the expectation stated above, on the shipped recipes runs, and what the text below says of it
    assert reached["authors' block"] >= 2 and reached["pre-LN block"] < 2, reached
    worst = min(found.cell("paper_L8_preln"), key=lambda r: r.history[-1]["test_accuracy"]).history[-1]
    assert worst["epoch"] == 300 and f"{worst['test_accuracy']:.2f}" == "0.47"
    just_under = [r for r in found.values() if r.history[-1]["test_accuracy"] >= 0.95
                  and 0.85 <= r.history[-1]["peakiness_layer2"] < 0.9]
    assert sorted(r.config.normalize_residual for r in just_under) == [False, True]  # one run of each block
    accurate = [r.history[-1] for r in found.values() if r.history[-1]["test_accuracy"] >= 0.99]
    assert len(accurate) == 5 and claims_span([h["peakiness_layer1"] for h in accurate]) == "0.33-0.52"  # below
    assert claims_span([h["peakiness_layer2"] for h in accurate]) == "0.86-0.99"

# %% [markdown]
# At the `cpu` scale (three seeds per block, checked above), the authors' block meets the expectation and the
# pre-LN block does not: one pre-LN seed reaches only 0.47 test accuracy in 300 epochs. Two accurate runs, one per
# block, stop with layer-2 peakiness just under 0.9, so these counts depend on when a run stops; the table gives
# every seed. By the rule stated before the runs, the book's `cpu` scale
# uses the authors' block: from chapter 3 on, every `cpu` run is the paper's recipe at $L_{max} = 8$ unless its
# chapter says otherwise.
#
# **Layer-1 peakiness stays low** even in the accurate runs: 0.33 to 0.52 in the five runs with test accuracy
# $\geq 0.99$, against 0.86 to 0.99 for layer 2. So in layer 1 many CoT tokens put less than half of their attention
# on EoI. What layer 1 does instead is tested by intervention in [Inside the circuit](09_circuit.ipynb): it looks at
# EoI from some CoT tokens and at inputs from others, the length $L$ is readable from the stream right after it, and
# forcing it onto EoI everywhere costs the models a quarter to two thirds of their answers. The paper's own layer-1
# peakiness for polynomial iteration ends near 0.7 after 1000 epochs (chapter 3).

# %% [markdown]
# ## How this book's runs differ from the authors'
#
# Everything the book trains at `paper` scale uses the authors' model, data, loss and metric. Where a chapter runs
# something else, it says so; the list is here once:
#
# | what | the authors | this book | why, and what it changes |
# |---|---|---|---|
# | block | normalises the residual stream before attention | the same (`paper` and `cpu` scales); the textbook pre-LN block in the one-minute `fast` recipe (last row) and chapter 4's hand-built head | the `fast` recipe was tuned on the pre-LN block; the hand-built head (chapter 4) needs the residual stream to be kept. Measured at L_max 8: the `recipes` experiment, three seeds of each block |
# | accuracy | exact match of every target after EoI, the whole EoS tail of the padded batch included | the same (`test_accuracy`); `test_accuracy_to_eos` stops at the first EoS | |
# | L_max | 16 | 16 (`paper` scale); 8 (`cpu` scale) | an epoch at L_max 8 holds about a quarter of the tokens of one at 16 (half the lengths, each about half as long): minutes per run on a CPU |
# | epochs | 1000 | `paper` emergence: polynomial 300, parity 500; `cpu`: 300, most experiments stopped once converged | hours on a CPU; the paper's polynomial curve has risen by then, its parity curve and grids have not all settled |
# | attention kernel | PyTorch's fused kernel | the same on a GPU; plain matmuls on a CPU | the same function, faster on a CPU at these lengths; float rounding differs |
# | precision | float32 | float32 (`paper` scale); the training steps in bf16 autocast at `cpu` scale, evaluation in float32 | bf16 training stayed within the spread of the float32 seeds on the paper's recipe at L_max 8, by a rule written before those runs (`benchmarks/recipes_check.py`) |
# | the `fast` recipe (chapter 5's width × length and positional-dimension sweeps, and the automated tests) | Adam 3e-4, no weight decay, length order, padding, d 128 | AdamW lr 1e-3, weight decay 1.0, shuffled, no padding, d 64 | a head within a minute on 2 cores; used for the two sweeps whose many runs would take too long to retrain on a CPU with the paper's recipe, and named wherever it is used |
#
# ## What we learned
#
# * The model is small (0.4 M parameters) but has just enough depth for the two-step circuit: one layer to find
#   EoI, one to fetch $x_t$.
# * We now have the targets, and a way to measure how close a trained model's attention gets to them. Next chapter:
#   train one and watch.
