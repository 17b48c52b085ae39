# %% [markdown]
# # 1. Iterative tasks and chain-of-thought
#
# **What you will see.** The family of problems the paper studies, *iterative schemes*, the three tasks it trains
# on, and exactly how one training sequence is laid out, with and without chain-of-thought (CoT). At the end you
# define a task of your own in a few lines.
#
# **What it costs.** Nothing is trained here: a few seconds on any CPU.

# %%
import ihlib

SCALE = ihlib.notebook_setup()

# %% [markdown]
# ## Algorithm 1: iterative schemes
#
# Given inputs $x_1, \dots, x_L$ and a start state $s_0$, compute $s_t = F(s_{t-1}, x_t)$ for $t = 1, \dots, L$ and
# answer $s_L$. Three choices of $F$ make the paper's tasks:
#
# | task | inputs $x_t$ | states $y_t = s_t$ |
# |---|---|---|
# | binary copy | bits | $y_t = x_t$ |
# | parity | bits | $y_t = x_1 + \dots + x_t \bmod 2$ |
# | polynomial iteration | $1..10$ | $y_1 = x_1$, $y_t = y_{t-1} x_t + 1 \bmod 11$ |
#
# We write $y_t$ for the token that records $s_t$. In `ihlib` a task is an `IterativeTask`: an input alphabet, a
# state set, $F$, a start state $s_0$ and, where needed, a special first step (polynomial iteration uses one for
# $y_1 = x_1$). Its method `run` is Algorithm 1.

# %%
import numpy as np
from ihlib.tasks import (Vocabulary, copy_task, encode, parity_task,
                         polynomial_task)

tasks = {"copy": copy_task(), "parity": parity_task(),
         "polynomial": polynomial_task()}
rng = np.random.default_rng(0)
for name, task in tasks.items():
    x = rng.choice(np.array(task.inputs), size=(1, 8))
    y = task.run(x)
    print(f"{name:11s} x = {x[0].tolist()}  ->  y = {y[0].tolist()}")

# %% [markdown]
# The recurrences hold on a large random sample: every state is $F$ of the previous state and the current input.

# %% tags=["hide-input"]
poly = tasks["polynomial"]
x = rng.choice(np.array(poly.inputs), size=(2000, 16))
y = poly.run(x)
assert (y[:, 0] == x[:, 0]).all() and (y[:, 1:] == (y[:, :-1] * x[:, 1:] + 1) % 11).all()
par = tasks["parity"].run(bits := rng.integers(0, 2, size=(2000, 16)))
assert (par == np.cumsum(bits, axis=1) % 2).all()
print("recurrences verified on 2000 sequences of length 16")

# %% [markdown]
# ## How a sequence is laid out
#
# A model sees one sequence of tokens per example (0-indexed positions):
#
# * position 0: a **task token** (one per task, so data mixing tasks says which task each sequence is);
# * positions $1..L$: the inputs $x_1..x_L$ ($L$ ranges from 1 to a maximum $L_{max}$: 16 in the paper, 8 at this
#   book's default scale);
# * position $L+1$: **EoI**, the end of input;
# * with CoT, positions $L+2 .. 2L+1$ hold every state $y_1..y_L$; without CoT only the answer $y_L$ follows;
# * then **EoS**, and EoS padding up to the batch width ($2L_{max}+3$ with CoT).
#
# The loss and the accuracy only count the tokens after EoI: inputs are given, never predicted.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from ihlib.tasks import sequence_length
from ihlib.viz import COLUMN_INCHES, plot_sequence, role_legend

vocab = Vocabulary()
fig, axes = plt.subplots(6, 1, figsize=(COLUMN_INCHES, 7.4))
for row, (name, task) in enumerate(tasks.items()):
    x = rng.choice(np.array(task.inputs), size=(1, 6))
    for col, cot in enumerate((True, False)):
        plot_sequence(encode(task, vocab, x, cot)[0], vocab, f"{name}, {'with CoT' if cot else 'without CoT'}",
                      axes[2 * row + col], width=sequence_length(6))
role_legend(fig)
fig.suptitle("One sequence per task (L = 6):\nthe CoT version writes every intermediate state")
fig.tight_layout(rect=(0, 0.05, 1, 1))
plt.show()

# %% [markdown]
# A training set holds, for each length $L = 1..L_{max}$ (below at the paper's $L_{max} = 16$), 1024 sequences drawn
# uniformly (a test set is drawn the
# same way from another seed). The authors store them in length order and never shuffle: every epoch sees the short
# sequences first.

# %% tags=["hide-input"]
from ihlib.tasks import make_dataset

data = make_dataset(poly, max_len=16, n_per_length=1024)
print("tokens:", tuple(data.tokens.shape), " lengths stored in order:", data.lengths[::1024].tolist())
assert data.tokens.shape == (16 * 1024, sequence_length(16))

# %% [markdown]
# ## Why chain-of-thought helps
#
# Without CoT the model must output $y_L$ right after EoI: a function of **all** $L$ inputs at once, for which no
# shortcut exists for polynomial iteration (every input changes the answer, in an order-dependent way). With CoT each
# new token is **one** application of $F$ to two tokens the model can see: the previous state (the current token) and
# the input $x_t$. The hard question becomes *where is $x_t$?*, and the iteration head is the answer.
#
# The line below counts how many input sequences map to each answer for $L = 4$: without CoT, a model must sort all
# $10^4$ inputs into 11 classes; with CoT each step sees only (state, input) pairs, $11 \times 10$ of them.

# %%
from itertools import product

x4 = np.array(list(product(poly.inputs, repeat=4)))
answers = poly.run(x4)[:, -1]
pairs = len(poly.states) * len(poly.inputs)
print(f"no CoT: {len(x4)} inputs -> {len(np.unique(answers))} answers")
print(f"with CoT: {pairs} (state, input) pairs per step")

# %% [markdown]
# ## A task of your own
#
# Any finite $F$ works. Here, a running sum modulo 3 over inputs $\{0, 1, 2\}$ that starts from $s_0 = 1$. A map that
# leaves its state set is refused when the task is created, and the vocabulary grows a token for the new task, so
# models can still be fine-tuned between tasks.

# %%
import matplotlib.pyplot as plt
from ihlib.tasks import IterativeTask, make_dataset
from ihlib.viz import plot_sequence

sum_mod3 = IterativeTask("sum_mod3", inputs=(0, 1, 2), states=(0, 1, 2),
                         step=lambda s, x: (s + x) % 3, initial_state=1)
vocab3 = Vocabulary.for_tasks([sum_mod3])
examples = make_dataset(sum_mod3, max_len=7, n_per_length=4, vocab=vocab3)
seq = examples.of_length(7)[0]
plot_sequence(seq.tolist(), vocab3, "sum_mod3 with CoT (L = 7)")
plt.show()
try:
    IterativeTask("broken", (0, 1), (0, 1), lambda s, x: s + x)
except ValueError as err:
    print("refused:", err)

# %% [markdown]
# ## What we learned
#
# * An iterative task is a state machine read left to right; CoT makes the model write each state.
# * With CoT, predicting the next token needs one input token, $x_t$, whose position depends on $t$ and on where
#   the input ends. The next chapter looks at the model that has to find it.
