# %% [markdown]
# # 1. Iterative tasks and chain-of-thought
#
# **The question.** What does a model actually see when it learns one of the paper's tasks, and what does
# chain-of-thought (CoT) add to it?
#
# Nothing is trained in this chapter: every cell runs in seconds on any CPU.

# %%
import ihlib

SCALE = ihlib.notebook_setup()

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
from ihlib.tasks import (Vocabulary, copy_task, encode, parity_task,
                         polynomial_task, sequence_length)
from ihlib.viz import COLUMN_INCHES, plot_sequence, role_legend

tasks = {"copy": copy_task(), "parity": parity_task(),
         "polynomial": polynomial_task()}
vocab = Vocabulary()
rng = np.random.default_rng(0)
fig, axes = plt.subplots(6, 1, figsize=(COLUMN_INCHES, 7.2))
for row, (name, task) in enumerate(tasks.items()):
    x = rng.choice(np.array(task.inputs), size=(1, 6))
    for col, cot in enumerate((True, False)):
        plot_sequence(encode(task, vocab, x, cot)[0], vocab,
                      f"{name}, {'with CoT' if cot else 'without CoT'}",
                      axes[2 * row + col], width=sequence_length(6))
role_legend(fig)
fig.suptitle("One sequence per task, L = 6")
fig.tight_layout(rect=(0, 0.05, 1, 1))
plt.show()

# %% [markdown]
# **Figure 1.1.** One training sequence of each task, with and without CoT, for $L = 6$ inputs; the number under
# each box is its position. Look at what follows the orange EoI (end of input): with CoT, a green state for every
# blue input; without it, a single green box, the answer. The inputs are the same in both rows of a task.
#
# **The answer, in short.** A model reads one row of tokens: a task token, the inputs $x_1..x_L$, EoI, and then
# what it must predict. With CoT it writes every intermediate state $y_1..y_L$, so each new token is one step of
# the task applied to two tokens already on the page; without CoT it must produce the final state at once, from all
# $L$ inputs together.

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
# state set, the step $F$, a start state $s_0$ and, where needed, a special first step (polynomial iteration uses
# one for $y_1 = x_1$). Its method `run` is Algorithm 1: change the inputs below and run the cell again.

# %%
for name, task in tasks.items():
    x = rng.choice(np.array(task.inputs), size=(1, 8))
    y = task.run(x)
    print(f"{name:11s} x = {x[0].tolist()}  ->  y = {y[0].tolist()}")

# %% [markdown]
# ## How a task and its sequences are made
#
# This is the library's own code, the code that made every training set in this book. A task is a step function
# and its alphabets; polynomial iteration is three lines:

# %%
from ihlib.lesson import show_source
from ihlib.tasks import IterativeTask, make_dataset

show_source(polynomial_task)

# %% [markdown]
# `IterativeTask` tabulates $F$ once, for every (state, input) pair, so a step that leaves the state set is refused
# when the task is made. `run` then applies the table along the sequence, for a whole batch of inputs at once:

# %%
show_source(IterativeTask.run)

# %% [markdown]
# `encode` lays one sequence out as in Figure 1.1: the task token, the inputs, EoI, then every state (CoT) or only
# the last one, then EoS. Values are shifted past the special tokens so that a `3` among the inputs and a `3`
# among the states are the same token:

# %%
from ihlib.tasks import encode

show_source(encode)

# %% [markdown]
# ## A training set, as the model meets it
#
# A training set holds, for each length $L = 1..L_{max}$, 1024 sequences drawn uniformly ($L_{max}$ is 16 in the
# paper, 8 at this book's `cpu` scale); a test set is drawn the same way from another seed. `make_dataset`
# stores them in length order and pads each one with EoS to one width, $2L_{max}+3$ tokens with CoT:

# %%
show_source(make_dataset)

# %% tags=["hide-input"]
from matplotlib.colors import ListedColormap
from ihlib.viz import ROLE_COLOURS, token_roles

poly = tasks["polynomial"]
data = make_dataset(poly, max_len=16, n_per_length=1024)
every = 16  # one stored sequence in 16 is drawn
rows = data.tokens[::every].tolist()
roles = list(ROLE_COLOURS)
image = np.array([[roles.index(r) for r in token_roles(seq, vocab)]
                  for seq in rows])
fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 4.0), constrained_layout=True)
ax.imshow(image, cmap=ListedColormap(list(ROLE_COLOURS.values())),
          vmin=-0.5, vmax=len(roles) - 0.5, aspect="auto",
          interpolation="nearest")
per_length = 1024 // every
ax.set_yticks([per_length * (n - 0.5) for n in range(1, 17)],
              [str(n) for n in range(1, 17)])
for n in range(1, 16):
    ax.axhline(per_length * n - 0.5, color="white", lw=0.6)
ax.set(xlabel="position in the sequence",
       ylabel="input length L (stored in this order)",
       title="The polynomial training set at $L_{max}$ = 16")
role_legend(fig)
fig.get_layout_engine().set(rect=(0, 0.07, 1, 0.93))
plt.show()

# %% [markdown]
# **Figure 1.2.** The whole polynomial training set at the paper's $L_{max} = 16$, one row per stored sequence
# (one in 16 drawn), coloured by the role of each token as in Figure 1.1. Look at the staircase: the CoT (green)
# grows with $L$, and everything right of it is EoS padding (light grey), so short sequences are mostly padding.
# Read from top to bottom, this is the order of training: every epoch sees the short sequences first, and a batch
# of 256 never mixes two lengths.
#
# Two details matter later. The loss and the accuracy count only the tokens after EoI: the inputs are given, never
# predicted (chapter 2 shows the mask). And the padding is scored too: the authors' accuracy asks for every EoS up
# to the full width.

# %% [markdown]
# ## Why chain-of-thought helps
#
# Without CoT the model must output $y_L$ right after EoI: a function of **all** $L$ inputs at once, for which no
# shortcut exists for polynomial iteration (every input changes the answer, in an order-dependent way). With CoT each
# new token is **one** application of $F$ to two tokens the model can see: the previous state (the current token)
# and the input $x_t$. The hard question becomes *where is $x_t$?*, and the iteration head is the answer.
#
# The cell below counts, for $L = 4$, what the model would have to learn either way: without CoT, a sorting of
# every possible input sequence into the 11 answers; with CoT, one rule for each (state, input) pair.

# %%
from itertools import product

x4 = np.array(list(product(poly.inputs, repeat=4)))
answers = poly.run(x4)[:, -1]
pairs = len(poly.states) * len(poly.inputs)
print(f"no CoT: {len(x4)} inputs -> {len(np.unique(answers))} answers")
print(f"with CoT: {pairs} (state, input) pairs per step")

# %% [markdown]
# Without CoT the table grows tenfold with every input ($10^L$ sequences); with CoT it stays at $11 \times 10$
# pairs whatever $L$ is. The price is moved elsewhere: to apply the rule at step $t$, the model has to find $x_t$,
# and where $x_t$ sits depends on $t$ and on where the input ends.

# %% [markdown]
# ## Exercises
#
# **Exercise 1.1.** Work out by hand the CoT of polynomial iteration for the inputs $x = (3, 5, 2, 7)$: recall
# $y_1 = x_1$ and $y_t = y_{t-1} x_t + 1 \bmod 11$. Then check your four states with `poly.run`, and print the
# sequence `encode` makes of them, decoded token by token.

# %% tags=["hide-cell"] cellView="form"
# @title Solution to exercise 1.1
# By hand: y1 = 3; y2 = 3*5+1 = 16 = 5 mod 11; y3 = 5*2+1 = 11 = 0 mod 11;
# y4 = 0*7+1 = 1.
x = np.array([[3, 5, 2, 7]])
print("states:", poly.run(x)[0].tolist())
print("tokens:", [vocab.decode(t) for t in encode(poly, vocab, x)[0]])

# %% [markdown]
# **Exercise 1.2.** For $L = 5$, at which positions (counted from 0, as under Figure 1.1) are $x_3$, EoI, and the
# token $y_2$ from which the model predicts $y_3$? Write the three positions for any $L$ and $t$ (here $t = 3$),
# then check them on an encoded sequence.

# %% tags=["hide-cell"] cellView="form"
# @title Solution to exercise 1.2
# x_t sits at position t; EoI at L + 1; y_(t-1) at L + 1 + (t - 1) = L + t.
from ihlib.tasks import EOI

L, t = 5, 3
x = rng.choice(np.array(poly.inputs), size=(1, L))
seq = encode(poly, vocab, x)[0]
y = poly.run(x)[0]
assert seq[t] == vocab.value_token(x[0, t - 1])        # x_t
assert seq[L + 1] == EOI                                # EoI
assert seq[L + t] == vocab.value_token(y[t - 2])        # y_(t-1)
print(f"x_{t} at {t}, EoI at {L + 1}, y_{t - 1} at {L + t}")
# The gap between the token that writes y_t and x_t is L positions:
# it does not depend on t, only on L. Chapter 2's circuit uses that.

# %% [markdown]
# **Exercise 1.3.** Define a task of your own with `IterativeTask`: a running sum modulo 3 over the inputs
# $\{0, 1, 2\}$ that starts from $s_0 = 1$. Before you run it, write down the CoT it gives for $x = (2, 2, 0, 1)$.
# Draw one sequence of length 7 with `plot_sequence` (a new task needs its own token:
# `Vocabulary.for_tasks([task])`). What happens if the step is `s + x` without the modulo?

# %% tags=["hide-cell"] cellView="form"
# @title Solution to exercise 1.3
sum_mod3 = IterativeTask("sum_mod3", inputs=(0, 1, 2), states=(0, 1, 2),
                         step=lambda s, x: (s + x) % 3, initial_state=1)
print("CoT of (2, 2, 0, 1):", sum_mod3.run(np.array([[2, 2, 0, 1]]))[0])
# from s0 = 1: 1+2 = 0, 0+2 = 2, 2+0 = 2, 2+1 = 0 (mod 3)
vocab3 = Vocabulary.for_tasks([sum_mod3])
examples = make_dataset(sum_mod3, max_len=7, n_per_length=4, vocab=vocab3)
plot_sequence(examples.of_length(7)[0].tolist(), vocab3,
              "sum_mod3 with CoT (L = 7)")
plt.show()
try:  # s + x leaves the state set {0, 1, 2}: refused when the task is made
    IterativeTask("broken", (0, 1, 2), (0, 1, 2), lambda s, x: s + x)
except ValueError as err:
    print("refused:", err)

# %% [markdown]
# ## What we learned
#
# * An iterative task is a state machine read left to right; CoT makes the model write each state.
# * A training sequence is `[task, x_1..x_L, EoI, y_1..y_L, EoS]`, padded with EoS; a training set is stored
#   in length order, and only the tokens after EoI are predicted.
# * With CoT, predicting the next token needs one input token, $x_t$, whose position depends on $t$ and on where
#   the input ends. The next chapter looks at the model that has to find it.
