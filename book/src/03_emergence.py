# %% [markdown]
# # 3. An iteration head emerges
#
# **The question.** Train the paper's two-layer transformer on polynomial iteration with chain-of-thought, and
# nothing else: does it grow an iteration head, and when?

# %% tags=["hide-input"]
import ihlib
import matplotlib.pyplot as plt
from IPython.display import display

from ihlib.metrics import first_epoch
from ihlib.results import load_or_train
from ihlib.viz import plot_training

SCALE = ihlib.notebook_setup()
poly = load_or_train("emergence", "polynomial_s0", SCALE)
cfg, h = poly.config, poly.history
plot_training(h, f"polynomial iteration with CoT, $L_{{max}}$ = {cfg.max_len}, seed 0",
              first_epoch(h, "test_accuracy", 0.5))
plt.show()

# %% [markdown]
# **Figure 3.1.** One run of the paper's recipe at $L_{max} = 8$ (seed 0). Left: test accuracy for each input
# length, one row per length, yellow when right. Right: overall test accuracy (black) with the *peakiness* of each
# layer, the share of CoT tokens whose attention puts more than half its weight where an iteration head would look
# (blue, layer 2 on $x_t$; orange, layer 1 on EoI). The dashed line marks the epoch where test accuracy first
# reaches 0.5. Look at the blue line: it leaves zero before the black one and climbs with it.
#
# **The answer, in short.** Yes, in most seeds, and the head comes with the skill: accuracy rises when layer 2
# learns to look at $x_t$. In this run layer-2 peakiness passes 0.5 at epoch 70 and test accuracy at epoch 80. Layer
# 1 stays looser than the paper's story (the orange line): [Inside the circuit](09_circuit.ipynb) shows what it
# does instead. *When* the rise comes differs from seed to seed, at the paper's scale as here, and parity
# finds other solutions.
#
# **What it costs.** Everything below loads the shipped runs in seconds. Retraining the `cpu` scale's ten runs
# (`python -m ihlib reproduce --scale cpu --experiment emergence`) takes about 18 minutes per run on one CPU thread
# (300 epochs each). At the `paper` scale (`IHLIB_SCALE=paper`) the chapter trains the runs that are not shipped:
# about 2 hours (polynomial) and 3 hours (parity) per run on one CPU thread here.

# %% [markdown]
# ## Watch it form
#
# Figure 3.2 shows where the trained model of Figure 3.1 looks on one test sequence of the longest length, and
# Figure 3.3 where an ideal iteration head would. Each row is a token asking (the query), each column a token it may
# look at; brighter is more weight.

# %% tags=["hide-input"]
from ihlib.viz import plot_ideal_maps, plot_model_attention

seq = poly.test_data.of_length(cfg.max_len)[0].cpu()
plot_model_attention(poly.model, seq, poly.vocab, "trained:")
plt.show()

# %% [markdown]
# **Figure 3.2.** The trained model's attention (seed 0, epoch 300). In layer 2 (right) look below EoI: the CoT
# tokens form a bright diagonal band, each looking at the input it needs next, as in Figure 3.3. In layer 1 (left)
# the EoI column is bright in some CoT rows and dim in others, whose token looks at inputs instead.

# %% tags=["hide-input"]
plot_ideal_maps(seq.tolist(), poly.vocab)
plt.show()

# %% [markdown]
# **Figure 3.3.** The ideal maps for the same sequence: layer 1 puts every CoT token on EoI, layer 2 puts the token
# that holds $s_{t-1}$ on $x_t$.
#
# ### Step through the chain of thought
#
# Each frame is one prediction after EoI: the counter says which step of the chain it is, the bars are the attention
# weights of the current token (shaded orange) in each layer, and the blue bar is where an ideal iteration head would
# look. In Jupyter or Colab this is a slider; in the book, press play or drag the slider. Watch layer 2 land on the
# blue bar at every step. Watch layer 1 too: at some steps it looks at EoI, at others at inputs; forced onto EoI
# everywhere, the model loses many of its answers ([Inside the circuit](09_circuit.ipynb) measures how many).

# %%
from ihlib.viz import cot_stepper

cot_stepper(poly.model, seq, poly.vocab, "polynomial")

# %% [markdown]
# **Your own input.** In the HTML book (not in Colab) the same models run in the page, no kernel: type a sequence,
# pick the model, and step through its chain of thought. A model at the paper's scale takes up to 16 inputs. The
# iteration head's target is blue, as in the stepper above, and the token that writes the step is outlined orange.
#
# <div class="ih-model" data-models="cpu-polynomial-s0,paper-polynomial-s0,cpu-parity-s0" data-input="7 2 9 4 4 1"></div>

# %% [markdown]
# ### Through training
#
# The same sequence at one fixed CoT step (the fourth prediction), through the weights kept during training (the
# book ships five snapshots, around the rise; a run retrained here keeps one every 10 epochs): layer 2's attention
# moves onto $x_t$ as test accuracy rises.

# %%
from ihlib.viz import training_stepper

snapshots = {e: poly.model_at(e) for e in sorted(poly.snapshots)}
training_stepper(snapshots, seq, poly.vocab, step=min(3, cfg.max_len - 1))

# %% [markdown]
# **On your own input**, in the HTML book: the shipped snapshots of the same run, in the page. Drag the training
# slider (epochs 0, 60, 100, 120 and the last, 300) and watch the chain of thought turn green as layer 2 finds
# $x_t$.
#
# <div class="ih-model" data-scrub="epochs" data-models="cpu-polynomial-s0-epoch0,cpu-polynomial-s0-epoch60,cpu-polynomial-s0-epoch100,cpu-polynomial-s0-epoch120,cpu-polynomial-s0" data-labels="epoch 0,epoch 60,epoch 100,epoch 120,epoch 300" data-input="6 3 8 2 9"></div>

# %% [markdown]
# ## How it is measured
#
# The training loop evaluates the model every 10 epochs on the test set and records, besides accuracy, the
# peakiness of each layer. Here is the code that does it: `pattern_indices` names the (query, key) pairs of the
# iteration-head pattern for inputs of length $L$ (EoI sits at position $e = L + 1$), and `attention_stats` reads
# those weights out of a layer's attention maps. Peakiness is the share of them above 0.5.

# %%
from ihlib import metrics
from ihlib.lesson import show_source

show_source(metrics.pattern_indices, metrics.attention_stats)

# %% [markdown]
# A run *has an iteration head* at the first evaluation where test accuracy is at least 0.95 and layer-2 peakiness
# at least 0.9 (`metrics.head_epoch`). Accuracy is averaged over lengths 4 to $L_{max}$, as the paper reports it:
# shorter inputs have so few possible sequences that most test inputs are also training inputs.

# %% [markdown]
# ## Five seeds at $L_{max} = 8$
#
# One run is an anecdote. The `cpu` scale trains the same recipe with five seeds per task (bfloat16 training steps:
# chapter 2's `recipes` check found them within the float32 seeds' spread).

# %% tags=["hide-input"]
from ihlib.claims import epoch_text, head_epoch
from ihlib.presets import compared_scale
from ihlib.results import finished_results, plan, results
from ihlib.viz import markdown_table, plot_seeds

KEYS = ("test_accuracy", "peakiness_layer1", "peakiness_layer2")
print(plan("emergence", SCALE))
emergence = results("emergence", SCALE)
max_len = emergence.cell("polynomial")[0].config.max_len
plot_seeds({task: emergence.histories(task) for task in emergence.cells()}, KEYS,
           f"$L_{{max}}$ = {max_len}: every seed and their mean")
plt.show()


def when(history, key, level=0.5):
    return epoch_text(first_epoch(history, key, level))


def end(history, key):
    return f"{history[-1][key]:.2f}"


display(markdown_table(
    ["run", "L2 peakiness ≥ 0.5", "accuracy ≥ 0.5", "accuracy ≥ 0.9", "head", "accuracy", "L1", "L2"],
    [[f"{r.cell} s{r.seed}", when(r.history, "peakiness_layer2"), when(r.history, "test_accuracy"),
      when(r.history, "test_accuracy", 0.9), epoch_text(head_epoch(r.history)), end(r.history, "test_accuracy"),
      end(r.history, "peakiness_layer1"), end(r.history, "peakiness_layer2")] for r in emergence.values()],
    title=f"Each seed at $L_{{max}}$ = {max_len}: the first epoch at each level, and the last evaluation",
    note="head: accuracy ≥ 0.95 and layer-2 peakiness ≥ 0.9 at one evaluation; none: never within the budget"
         + "".join(f"; {r.cell} s{r.seed} ends at layer-2 peakiness {r.history[-1]['peakiness_layer2']:.4f}, "
                   "shown as 0.90 but under the head's 0.9"
                   for r in emergence.values() if head_epoch(r.history) == float("inf")
                   and f"{r.history[-1]['peakiness_layer2']:.2f}" == "0.90")))

# %% [markdown]
# **Figure 3.4.** Every seed (thin) and the mean of the five (thick) for each task at $L_{max} = 8$: test accuracy,
# then the peakiness of layer 1 and of layer 2. Look at how far apart the thin lines rise: the mean is a smooth
# ramp no seed follows. The table gives each seed's epochs.
#
# What to see in the table:
#
# * **The head comes first.** In every polynomial seed layer-2 peakiness passes 0.5 before test accuracy does, by 10
#   to 20 epochs, and so it does in the four parity seeds that pass both. The model starts to fetch $x_t$, then
#   learns what to do with it.
# * **Seeds disagree on when.** Polynomial seeds reach 0.9 accuracy between epochs 120 and 220. Some lose accuracy
#   for a few evaluations after their head has formed and regain it (the dips in Figure 3.4).
# * **Layer 1 is loose.** Its peakiness ends between 0.43 and 0.58 in the polynomial seeds, where the paper's story
#   would have it near 1.
# * **Parity is another matter**: its seeds end anywhere between a clean head and none (its section below).

# %% [markdown]
# ## At the paper's scale
#
# The paper's own setting is the recipe of chapter 2 at $L_{max} = 16$ (Adam, no weight decay, batches in length
# order, $d = 128$, the authors' block). This book has trained the runs below on CPUs, hours each; the last rows of
# the table are the paper's mean curves, read off its plots (±0.05).

# %% tags=["hide-input"]
from ihlib.claims import at as value_at
from ihlib.claims import epoch_to
from ihlib.experiments import EXPERIMENTS

PAPER_CURVES = {"polynomial": {"test_accuracy": [(100, 0.4), (200, 0.9)], "peakiness_layer1": [(300, 0.7)],
                               "peakiness_layer2": [(300, 0.9)]},
                "parity": {"test_accuracy": [(100, 0.35), (250, 0.73)], "peakiness_layer2": [(500, 0.6)]}}
paper = results("emergence", "paper") if SCALE == "paper" else finished_results("emergence", "paper")
for task in ("polynomial", "parity"):
    runs = [r for r in paper.values() if r.cell == task]
    groups = {f"{task}, seeds 0-2": [r.history for r in runs if r.seed < 3],
              f"{task}, seeds 3-5": [r.history for r in runs if r.seed >= 3]}
    if runs:
        plot_seeds({k: v for k, v in groups.items() if v}, KEYS, f"{task}, $L_{{max}}$ = 16",
                   reference=PAPER_CURVES[task])
        plt.show()


def cell(value):
    return "-" if value is None else f"{value:.2f}"


def at(history, epoch):
    rows = [r for r in history if r["epoch"] <= epoch]
    return rows[-1]["test_accuracy"] if rows and history[-1]["epoch"] >= epoch else None


rows = [[f"{r.cell} s{r.seed}", cell(at(r.history, 100)), cell(at(r.history, 200)), cell(at(r.history, 250)),
         epoch_text(epoch_to(r.history)), r.history[-1]["epoch"], cell(r.history[-1]["test_accuracy"]),
         cell(r.history[-1]["peakiness_layer1"]), cell(r.history[-1]["peakiness_layer2"])] for r in paper.values()]
rows += [["paper, polynomial (mean)", "0.4", "0.9", "", "", "1000", "", "0.7", "0.9"],
         ["paper, parity (mean)", "0.35", "", "0.73", "", "1000", "", "", "0.6"]]
display(markdown_table(
    ["run", "acc. @100", "@200", "@250", "first ≥ 0.9", "last epoch", "acc.", "L1", "L2"], rows,
    title="Our paper-scale runs and the paper: test accuracy, and the last evaluation",
    note=f"{len(paper)} of the {len(EXPERIMENTS['emergence'].runs('paper'))} runs of this scale (polynomial seeds "
         "3-5, for claims S9 and S10, arrive as they finish); polynomial trained for 300 epochs, parity for 500"))

# %% [markdown]
# **Figure 3.5.** Polynomial (top) and parity (bottom) at the paper's scale: every seed (thin), the mean of seeds
# 0-2 (thick; seeds 3-5 in their own colour), and the paper's values (black, ±0.05; its peakiness is the value after
# its 1000 epochs, drawn at our last epoch). Look at the polynomial seeds: most jump from near zero to full accuracy
# within a few evaluations, and one (seed 1) never does.
#
# **Two polynomial seeds of three rise, one never does.** Seeds 0 and 2 reach full accuracy with a sharp layer 2
# (the table); seed 1 stays below 0.2 to its last epoch, with no head. Because every seed is still low at epoch 100
# and one never rises, the mean of our three seeds stays below the paper's (the table under Figure 3.6). Parity is
# slower still and its seeds spread further: by epoch 300 only seed 0 has reached 0.9.

# %% [markdown]
# ### How the paper averages, and the authors' own code on this hardware
#
# The paper's curve is a mean over 100 runs per task, computed by the authors' analysis code with two rules of its
# own: an evaluation a run does not have counts as 0.5, and a run whose curve is constant is dropped (the band is
# one standard deviation). Figure 3.6 draws our mean both ways, and beside it a measurement made outside this
# project: the authors' own training code, run unmodified at the paper's recipe on a machine like ours, with two
# seeds (how it was run: `ihlib/results/external/README.md`).

# %% tags=["hide-input"]
import csv
import io

import numpy as np

from ihlib.claims import seed_mean
from ihlib.results import shipped_root

external = shipped_root().joinpath("external", "authors_code_polynomial_L16.csv")
theirs = [{k: float(v) for k, v in row.items()}
          for row in csv.DictReader(io.StringIO(external.read_text()))]
their_epochs = [int(r["epoch"]) for r in theirs]
their_runs = {s: [r[f"seed{s}_test_accuracy"] for r in theirs] for s in (0, 1)}
poly_paper = sorted((r for r in paper.values() if r.cell == "polynomial" and r.seed < 3), key=lambda r: r.seed)
if poly_paper:
    epochs = sorted({row["epoch"] for r in poly_paper for row in r.history})
    plain, _, _ = seed_mean([r.history for r in poly_paper], epochs)
    rule, band, n_rule = seed_mean([r.history for r in poly_paper], epochs, authors=True)
    fig, ax = plt.subplots(figsize=(6.6, 3.4), constrained_layout=True)
    for r in poly_paper:
        ax.plot([row["epoch"] for row in r.history], [row["test_accuracy"] for row in r.history],
                color="#1f77b4", lw=0.8, alpha=0.5)
    ax.plot(epochs, plain, color="#1f77b4", lw=2.5, label=f"ihlib, mean of {len(poly_paper)} seeds")
    ax.fill_between(epochs, rule - band, rule + band, color="#ff7f0e", alpha=0.15)
    ax.plot(epochs, rule, color="#ff7f0e", ls="--", lw=1.8, label="ihlib, authors' averaging (± 1 sd)")
    for s, values in their_runs.items():
        ax.plot(their_epochs, values, color="#2ca02c", lw=0.8, ls=":")
    ax.plot(their_epochs, np.mean(list(their_runs.values()), 0), color="#2ca02c", lw=2.5,
            label="authors' code here, 2 seeds (external)")
    ax.plot([100, 200], [0.4, 0.9], "ko", label="paper (mean of 100 runs)")
    ax.set(xlabel="epoch", ylabel="test accuracy (lengths 4-16)", ylim=(-0.02, 1.02))
    ax.set_title("Polynomial, $L_{max}$ = 16: ihlib, the authors' code, the paper", fontsize=10)
    fig.legend(loc="outside lower center", ncol=2, fontsize=9, frameon=False)
    plt.show()
    pick = lambda values, e: values[epochs.index(e)]
    their_mean = {e: np.mean([v[their_epochs.index(e)] for v in their_runs.values()]) for e in (100, 150, 200)}
    display(markdown_table(
        ["epoch", "ihlib (plain mean)", "ihlib (authors' averaging)", "authors' code here (2 seeds)", "paper"],
        [[e, f"{pick(plain, e):.2f}", f"{pick(rule, e):.2f}", f"{their_mean[e]:.2f}", paper_value]
         for e, paper_value in ((100, "0.4"), (150, ""), (200, "≥ 0.9"))],
        title="Mean test accuracy of polynomial iteration at the paper's scale",
        note="the authors' code's seeds first reached 0.9 at epochs " + " and ".join(
            str(next(e for e, v in zip(their_epochs, values) if v >= 0.9)) for values in their_runs.values())))

# %% [markdown]
# **Figure 3.6.** Polynomial at $L_{max} = 16$: our seeds 0-2 (thin blue) and their mean (thick blue), the same mean
# by the authors' rules (dashed orange, with its band), the authors' code run here (green; dotted: each seed) and
# the paper (black). Look at epoch 100: the blue and green means sit together, well below the paper's point.
#
# **What Figure 3.6 shows.** On our three seeds the authors' averaging changes nothing (every run has every
# evaluation and none is constant), so the two ihlib means lie on each other. The authors' code on this hardware is
# behind the paper at epoch 100 as ours is, and its mean there is the same as ours (the table). What this settles: `ihlib`'s training behaves like the authors' code on
# this hardware, as far as two and three seeds can tell. What it does not settle: why the paper's mean is higher at
# epoch 100. Its averaging does not explain it here; its 100 seeds (a few fast seeds raise a mean) or its hardware
# might: hypotheses, not tested.

# %% [markdown]
# ### A distribution, not a mean
#
# With a handful of seeds a mean hides what each seed does. Figure 3.7 counts, at every epoch, the share of our
# paper-scale polynomial seeds (all that have been trained, the registered seeds 3-5 as they arrive) that have
# reached test accuracy 0.9 by then, and the share that have had an iteration head by then.

# %% tags=["hide-input"]
every_poly = sorted((r for r in paper.values() if r.cell == "polynomial"), key=lambda r: r.seed)
if every_poly:
    last = max(r.history[-1]["epoch"] for r in every_poly)
    grid = np.arange(0, last + 1, 10)
    reached = {"test accuracy ≥ 0.9": [epoch_to(r.history) for r in every_poly],
               "an iteration head": [head_epoch(r.history) for r in every_poly]}
    fig, ax = plt.subplots(figsize=(6.6, 2.9), constrained_layout=True)
    for (label, epochs_at), colour in zip(reached.items(), ("#1f77b4", "#ff7f0e")):
        ax.step(grid, [np.mean([e <= g for e in epochs_at]) for g in grid], where="post",
                color=colour, lw=2, label=label)
    ax.set(xlabel="epoch", ylabel=f"share of the {len(every_poly)} seeds", ylim=(-0.02, 1.02))
    ax.set_title("Polynomial, $L_{max}$ = 16: when each seed gets there", fontsize=10)
    fig.legend(loc="outside lower center", ncol=2, fontsize=9, frameon=False)
    plt.show()
    display(markdown_table(["seed", "epoch to 0.9", "head epoch", "last epoch"],
                           [[f"s{r.seed}", epoch_text(epoch_to(r.history)), epoch_text(head_epoch(r.history)),
                             r.history[-1]["epoch"]] for r in every_poly],
                           title="Each paper-scale polynomial seed"))

# %% [markdown]
# **Figure 3.7.** The share of paper-scale polynomial seeds that have reached test accuracy 0.9 (blue) and an
# iteration head (orange) by each epoch. Each step up is one seed arriving; a curve that stays below 1 at the last
# epoch counts the seeds that never arrived. The added seeds spread as widely as the first three: seed 4 reached
# 0.9 at epoch 70, before any other and ahead of the paper's mean curve, so fast seeds occur on this hardware too.
# S9 and S10 are judged once seed 5 is in.

# %% [markdown]
# ## Parity: other solutions
#
# The paper finds that parity with CoT learns more slowly and that its layer-2 peakiness plateaus near 0.6: parity
# does not *need* to fetch $x_t$ exactly, because $y_t$ is also the parity of the **count** of ones among
# $x_1..x_t$, and a head that averages over the inputs can carry that count. Our five parity seeds at $L_{max} = 8$
# end anywhere between a clean head and none (the table of Figure 3.4). Figure 3.8 splits the layer-2 attention of
# seed 0 of each task, for every CoT query, into the share on $x_t$ (the iteration head's target), on the other
# inputs, and on everything else (task token, EoI, earlier CoT tokens).

# %% tags=["hide-input"]
from ihlib.metrics import attention_shares
from ihlib.viz import plot_attention_shares

parity = load_or_train("emergence", "parity_s0", SCALE)
shares = {name: attention_shares(run.model, run.test_data, cfg.max_len) for name, run in
          [("polynomial", poly), ("parity", parity)]}
plot_attention_shares(shares, "Where layer 2 looks (seed 0)",
                      f"share of layer-2 attention of the CoT tokens (L = {cfg.max_len}, test set)")
plt.show()

# %% [markdown]
# **Figure 3.8.** Where layer 2 of seed 0 looks, for each task. Parity's seed 0, whose weights ship with the book,
# is one of the clean ones: it puts about as much attention on $x_t$ as polynomial's seed 0. Figure 3.9 shows its
# maps.

# %% tags=["hide-input"]
plot_model_attention(parity.model, parity.test_data.of_length(cfg.max_len)[0].cpu(), parity.vocab, "parity:")
plt.show()

# %% [markdown]
# **Figure 3.9.** Parity seed 0's attention on a test sequence: the same layer-2 diagonal as polynomial's in Figure
# 3.2. The seed that solves parity with almost no attention on $x_t$ (seed 3) ships its curves only: `python -m
# ihlib reproduce --scale cpu --experiment emergence --run parity_s3` retrains it with its weights (about 20
# minutes on one CPU thread) to look at its maps.

# %% [markdown]
# ## The one-minute recipe
#
# Earlier versions of this book trained every chapter with a recipe of its own that grows a head within a minute:
# AdamW with weight decay 1.0, learning rate $10^{-3}$, a fresh shuffle each epoch, no padding, $d = 64$ and the
# textbook pre-LN block. It is kept as the `fast` recipe, for CI and for the sweeps of chapter 5 that the paper's
# recipe would make too long, and each place it is used says so. It differs from the paper's in all these ways at
# once; chapter 8's weight-decay experiment changes only the weight decay.

# %% tags=["hide-input"]
print(plan("recipes", compared_scale(SCALE), cells=["fast"]))
fast = results("recipes", compared_scale(SCALE), cells=["fast"])
plot_seeds({"the paper's recipe": emergence.histories("polynomial"), "the fast recipe": fast.histories("fast")},
           KEYS, f"polynomial iteration with CoT, $L_{{max}}$ = {max_len}")
plt.show()
display(markdown_table(
    ["seed", "head epoch", "last epoch", "accuracy", "L1", "L2"],
    [[f"s{r.seed}", epoch_text(head_epoch(r.history)), r.history[-1]["epoch"], end(r.history, "test_accuracy"),
      end(r.history, "peakiness_layer1"), end(r.history, "peakiness_layer2")] for r in fast.values()],
    title="The fast recipe, each seed (a run stops soon after its head forms)"))

# %% [markdown]
# **Figure 3.10.** The fast recipe (orange) against the paper's (blue) at $L_{max} = 8$, against epochs.
# Look at the time axis: the fast recipe's seeds that converge have a head by epoch 34 at the latest, where the
# paper's take well over a hundred. One fast seed never forms a head, which is why its mean levels off below 1
# (a run that stopped keeps its last value in the mean).

# %% [markdown]
# ## The claims
#
# Before training these runs we wrote down what they should show, each as a statistic over seeds with its
# threshold ([What we expected](expectations.md)): S1 to S4 for the paper's scale (written after polynomial seeds 0
# and 1 had been shown, and before any other run had finished; the expectations page says how much those two had
# already decided), S9 and S10 for the added seeds, E1 to E8 for $L_{max} = 8$. Each claim is evaluated only once
# all the runs it concerns have finished. The tables are computed from the runs; the text below them says what they
# show.

# %% tags=["hide-input"]
from ihlib import claims

paper_claims = claims.Claims([*claims.paper_emergence(paper), *claims.paper_more_seeds(paper)])
if SCALE != "smoke":
    claims.check(paper_claims, misses=["S3"])
paper_claims

# %% [markdown]
# **At the paper's scale, S1, S2 and S4 hold and S3 misses narrowly.** S1 holds with two seeds of three. Parity is
# slower and its head less clean, as in the paper (S2, S4). But at epoch 250 parity's mean is 0.664, below S3's
# threshold of 0.68 (the paper's value less its tolerance). S9 and S10, on seeds 3 to 5, are evaluated when all
# three have finished.

# %% tags=["hide-input"]
emergence_claims = claims.emergence(emergence)
if SCALE == "cpu":  # registered for the cpu scale's runs; the text below says which hold
    claims.check(emergence_claims, misses=["E3"])
emergence_claims

# %% [markdown]
# **At $L_{max} = 8$, seven of the eight claims hold.**
#
# * **Polynomial iteration grows an iteration head** in most seeds within the budget (E1, E2), most of them ending
#   at full accuracy (E4) with a sharp layer 2 (E5). Layer 1's mean peakiness ends in the loose range we registered
#   (E6), below the paper's ≈ 0.7 after its 1000 epochs.
# * **The rise is slower than we expected (E3 misses).** We registered that test accuracy would climb from below
#   0.3 to 0.9 within 50 epochs, as paper-scale seed 0 did at $L_{max} = 16$; most seeds took longer. Why, we have
#   not tested. A hypothesis, from Figure 3.1's left panel: the lengths are learned one after another, so the
#   average over lengths rises over the time it takes to learn them all.
# * **Parity is learned later, and its head is less clean** (E7, E8), for the median seed. Its seeds disagree more
#   than polynomial's: one reached 0.9 before any polynomial seed did, one ends with a clean head, one solves the
#   task with almost no attention on $x_t$, and one ends below 0.6 accuracy. At $L_{max} = 8$ nearly every parity
#   test input is also a training input, so its accuracy here shows how well a model fits the task, not that it
#   generalises.

# %% [markdown]
# ## Exercises
#
# **Exercise 3.1.** Figure 3.1 suggests that layer 2 starts to look at $x_t$ before accuracy rises. Using
# `ihlib.metrics.first_epoch(history, key, level)` on the histories of `emergence` (the five seeds per task above),
# find for each seed the first epoch at which layer-2 peakiness reaches 0.3 and the first at which test accuracy
# does. Before you run it: does the order hold at this lower level too?

# %% tags=["hide-cell"] cellView="form"
# @title Solution to exercise 3.1
for r in emergence.values():
    l2 = first_epoch(r.history, "peakiness_layer2", 0.3)
    acc = first_epoch(r.history, "test_accuracy", 0.3)
    print(f"{r.cell} s{r.seed}: L2 peakiness 0.3 at {l2}, "
          f"accuracy 0.3 at {acc}")
# The order holds wherever layer 2 ever looks at x_t; a seed
# whose layer 2 never does (None) learned the task another way.

# %% [markdown]
# **Exercise 3.2.** The run of Figure 3.1 ships its weights at a few epochs of training (`poly.snapshots`). Measure
# the layer-2 peakiness of each snapshot yourself on the test set with `ihlib.evaluate(model, data)` (its
# `.summary()` has the same keys as the history) and compare it with the history's value at that epoch. Predict
# first: should they agree exactly?

# %% tags=["hide-cell"] cellView="form"
# @title Solution to exercise 3.2
# Yes: the history was written by the same evaluation, on the
# same test set.
recorded = {row["epoch"]: row for row in poly.history}
for epoch in sorted(poly.snapshots):
    model = poly.model_at(epoch)
    measured = ihlib.evaluate(model, poly.test_data).summary()
    print(f"epoch {epoch}: measured {measured['peakiness_layer2']:.3f}, "
          f"recorded {recorded[epoch]['peakiness_layer2']:.3f}")

# %% [markdown]
# **Exercise 3.3.** Figure 3.6 found that the authors' averaging changes nothing on our polynomial seeds. Does it on
# the paper-scale parity seeds? Use `ihlib.claims.seed_mean(histories, epochs, authors=True)` and compare with the
# plain mean at epochs 100, 200 and 300.

# %% tags=["hide-cell"] cellView="form"
# @title Solution to exercise 3.3
parity_runs = [r.history for r in paper.values() if r.cell == "parity"]
if parity_runs:
    marks = [100, 200, 300]
    plain_mean, _, _ = seed_mean(parity_runs, marks)
    authors_mean, _, n = seed_mean(parity_runs, marks, authors=True)
    for e, p, a in zip(marks, plain_mean, authors_mean):
        print(f"epoch {e}: plain {p:.3f}, authors' rules {a:.3f} "
              f"({n} runs kept)")
    # no parity run lacks an evaluation or is constant, so the
    # rules change nothing here either

# %% [markdown]
# ## What we learned
#
# * With the paper's recipe, polynomial iteration is learned together with an iteration head in most seeds: layer 2
#   comes to look at $x_t$ as accuracy rises, and a little before it, at $L_{max} = 8$ as at the paper's 16.
# * When it rises varies from seed to seed, and at $L_{max} = 8$ the rise is slower than we expected. A mean curve
#   hides this: every figure here shows every seed.
# * Layer 1 does not simply look at EoI: chapter 4b takes it apart.
# * Parity is learned more slowly and with a less clean head (S2, S4, E7, E8), and its seeds find different
#   solutions. Chapter 4 builds the clean one by hand.
