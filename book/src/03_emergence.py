# %% [markdown]
# # 3. An iteration head emerges
#
# **What you will see.** The paper's training recipe, run: first at the paper's own scale ($L_{max} = 16$, a few
# seeds trained on CPUs for this book), against the paper's numbers; then the same recipe at $L_{max} = 8$ over five
# seeds per task, with the claims we wrote down before training them and whether they hold; one run up close (its
# attention maps, a stepper through its chain of thought and one through training); parity, whose seeds find
# different solutions; and the one-minute recipe earlier versions of this book used.
#
# **What it costs.** Everything below loads the shipped runs in seconds. Retraining the `cpu` scale's ten runs
# (`python -m ihlib reproduce --scale cpu --experiment emergence`) takes about 18 minutes per run on one CPU thread
# (300 epochs each). At the `paper` scale (`IHLIB_SCALE=paper`) the chapter trains the runs that are not shipped:
# about 2 hours (polynomial, 300 epochs) and 3 hours (parity, 500 epochs) per run on one CPU thread here; by our
# estimate from the arithmetic (1.4 TFLOP per epoch), 20 to 30 minutes per run on a Colab GPU, which we have not
# measured.

# %%
import ihlib

SCALE = ihlib.notebook_setup()

# %% [markdown]
# ## The paper's recipe at the paper's scale
#
# The paper trains its two-layer, one-head transformer ($d = 128$, the authors' block of chapter 2) with Adam at
# $3\cdot10^{-4}$, no weight decay, batches of 256 in length order, on 1024 sequences per length $L = 1..16$, and
# reports the mean over seeds. Read off its plots (±0.05): polynomial iteration reaches about 0.4 test accuracy at
# epoch 100 and 0.9 by epoch 200; parity 0.35 at epoch 100 and 0.73 at 250; layer-2 peakiness ends near 0.9
# (polynomial) and 0.6 (parity), layer-1 peakiness near 0.7 (polynomial). *Layer-1* and *layer-2 peakiness* (chapter 2) are the fraction of CoT tokens
# whose layer-1 attention puts more than half its weight on EoI, and whose layer-2 attention puts more than half on
# $x_t$: 1 for a perfect iteration head. Below are the runs of that recipe this book has trained so far (thin: each
# seed; thick: their mean; black: the paper; its peakiness is the value after its 1000 epochs, drawn at our runs'
# last epoch, 300 or 500).

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from ihlib.experiments import EXPERIMENTS
from ihlib.results import finished_results, results
from ihlib.viz import markdown_table, plot_seeds

PAPER_CURVES = {"polynomial": {"test_accuracy": [(100, 0.4), (200, 0.9)], "peakiness_layer1": [(300, 0.7)],
                               "peakiness_layer2": [(300, 0.9)]},
                "parity": {"test_accuracy": [(100, 0.35), (250, 0.73)], "peakiness_layer2": [(500, 0.6)]}}
KEYS = ("test_accuracy", "peakiness_layer1", "peakiness_layer2")
paper = results("emergence", "paper") if SCALE == "paper" else finished_results("emergence", "paper")
for task in ("polynomial", "parity"):
    runs = [r for r in paper.values() if r.cell == task]
    groups = {f"{task}, $L_{{max}}$ 16, seeds 0-2": [r.history for r in runs if r.seed < 3],
              f"{task}, seeds 3-5 (S9, S10)": [r.history for r in runs if r.seed >= 3]}
    if runs:
        plot_seeds({k: v for k, v in groups.items() if v}, KEYS, f"{task} at the paper's scale",
                   reference=PAPER_CURVES[task])
        plt.show()


def at(history, epoch, key="test_accuracy"):
    """``key`` at the last evaluation at or before ``epoch`` (None if the run is shorter)."""
    rows = [r for r in history if r["epoch"] <= epoch]
    return rows[-1][key] if rows and history[-1]["epoch"] >= epoch else None


def cell(value):
    return "-" if value is None else f"{value:.2f}"


rows = [[f"{r.cell}, seed {r.seed}", cell(at(r.history, 100)), cell(at(r.history, 200)), cell(at(r.history, 250)),
         f"{r.history[-1]['epoch']}", cell(r.history[-1]["test_accuracy"]), cell(r.history[-1]["peakiness_layer1"]),
         cell(r.history[-1]["peakiness_layer2"])] for r in paper.values()]
rows += [["paper, polynomial (mean)", "0.4", "0.9", "", "1000", "", "0.7", "0.9"],
         ["paper, parity (mean)", "0.35", "", "0.73", "1000", "", "", "0.6"]]
markdown_table(["run", "acc. @100", "@200", "@250", "last epoch", "acc.", "L1", "L2"], rows,
               title="Test accuracy, and peakiness at the last epoch: our paper-scale runs and the paper",
               note=f"{len(paper)} of the {len(EXPERIMENTS['emergence'].runs('paper'))} runs of this scale (3 seeds "
                    "per task, and polynomial seeds 3-5 for claims S9 and S10, still training); polynomial trained "
                    "for 300 epochs, parity for 500")

# %% [markdown]
# What these runs should show was written down after polynomial seeds 0 and 1 had been shown and before any other
# run had finished (claims S1 to S4 of the [expectations page](expectations.md), which says how much seeds 0 and 1
# had already decided). Each claim is evaluated only once all the runs it concerns have
# finished.

# %% tags=["hide-input"]
from ihlib import claims

paper_claims = claims.Claims([*claims.paper_emergence(paper), *claims.paper_more_seeds(paper)])
if SCALE != "smoke":
    claims.check(paper_claims, misses=["S3"])
paper_claims

# %% [markdown]
# **S1 holds, and the seeds disagree.** At epoch 200 two polynomial seeds of three are at test accuracy 1.00
# (seeds 0 and 2, first at 0.9 at epochs 130 and 180, with layer-2 peakiness 0.95 and 0.97); seed 1 is at 0.15 and
# stays below 0.2 to epoch 300, with no head (layer-2 peakiness 0.22). The paper's mean curve reaches 0.4 at epoch
# 100 and 0.9 by 200; the mean of our three seeds is 0.15 at epoch 100 and 0.72 at 200, below the paper's at both,
# because every seed is still below 0.2 at epoch 100 and one never rises. A mean of 0.9 by epoch 200 allows a
# minority of seeds that take far longer; with three seeds we cannot tell whether seed 1 is such a minority or
# whether our runs differ from the authors'. Seed 2's head is not yet stable when it appears: its accuracy falls
# back to 0.59 at epoch 250 before it returns to 1.00 at 300. Layer 1 looks at EoI less sharply than layer 2 at
# $x_t$: layer-1 peakiness 0.75 at epoch 300 in both seeds with a head, against 0.96 and 0.99 in layer 2.

# %% tags=["hide-input"]
from ihlib.claims import at as value_at, epoch_to

poly_paper = sorted((r for r in paper.values() if r.cell == "polynomial" and r.seed < 3),  # S1's seeds
                    key=lambda r: r.seed)
if SCALE != "smoke":
    grown = [r for r in poly_paper if epoch_to(r.history) < 200]
    (stuck,) = [r for r in poly_paper if r not in grown]
    assert [r.seed for r in grown] == [0, 2] and [epoch_to(r.history) for r in grown] == [130, 180]
    assert [f"{value_at(r.history, 200):.2f}" for r in poly_paper] == ["1.00", "0.15", "1.00"]
    assert [f"{value_at(r.history, 200, 'peakiness_layer2'):.2f}" for r in grown] == ["0.95", "0.97"]
    assert max(row["test_accuracy"] for row in stuck.history) < 0.2
    assert f"{stuck.history[-1]['peakiness_layer2']:.2f}" == "0.22"
    assert max(value_at(r.history, 100) for r in poly_paper) < 0.2
    means = {e: sum(value_at(r.history, e) for r in poly_paper) / 3 for e in (100, 200)}
    assert (f"{means[100]:.2f}", f"{means[200]:.2f}") == ("0.15", "0.72") and means[100] < 0.4 and means[200] < 0.9
    assert f"{value_at(poly_paper[2].history, 250):.2f}" == "0.59" and poly_paper[2].history[-1]["test_accuracy"] == 1
    assert [f"{r.history[-1]['peakiness_layer1']:.2f}" for r in grown] == ["0.75", "0.75"]
    assert [f"{r.history[-1]['peakiness_layer2']:.2f}" for r in grown] == ["0.96", "0.99"]
    print(f"polynomial, test accuracy 0.9 before epoch 200: seeds {', '.join(str(r.seed) for r in grown)}; "
          f"never: seed {stuck.seed}")

# %% [markdown]
# ### How the paper averages, and the authors' own code on this hardware
#
# The paper's curve is a mean over 100 runs per task, computed by the authors' analysis code with two rules of its
# own: an evaluation a run does not have counts as 0.5, and a run whose curve is constant is dropped (the band is
# one standard deviation). Figure 3.1 draws our mean both ways, and beside it a measurement made outside this
# project: the authors' own training code, run unmodified at the paper's recipe on a machine like ours, with two
# seeds (how it was run: `ihlib/results/external/README.md`).

# %% tags=["hide-input"]
import csv
import io

import numpy as np
from IPython.display import display

from ihlib.claims import seed_mean
from ihlib.results import shipped_root

external = shipped_root().joinpath("external", "authors_code_polynomial_L16.csv")
theirs = [{k: float(v) for k, v in row.items()}
          for row in csv.DictReader(io.StringIO(external.read_text()))]
their_epochs = [int(r["epoch"]) for r in theirs]
their_runs = {s: [r[f"seed{s}_test_accuracy"] for r in theirs] for s in (0, 1)}
if poly_paper:
    epochs = sorted({row["epoch"] for r in poly_paper for row in r.history})
    plain, _, _ = seed_mean([r.history for r in poly_paper], epochs)
    rule, band, n_rule = seed_mean([r.history for r in poly_paper], epochs, authors=True)
    fig, ax = plt.subplots(figsize=(6.6, 3.4), constrained_layout=True)
    for r in poly_paper:
        ax.plot([row["epoch"] for row in r.history], [row["test_accuracy"] for row in r.history],
                color="#1f77b4", lw=0.8, alpha=0.5)
    ax.plot(epochs, plain, color="#1f77b4", lw=2.5,
            label=f"ihlib, mean of {len(poly_paper)} seeds")
    ax.fill_between(epochs, rule - band, rule + band, color="#ff7f0e", alpha=0.15)
    ax.plot(epochs, rule, color="#ff7f0e", ls="--", lw=1.8,
            label=f"ihlib, authors' averaging (± 1 sd)")
    for s, values in their_runs.items():
        ax.plot(their_epochs, values, color="#2ca02c", lw=0.8, ls=":")
    ax.plot(their_epochs, np.mean(list(their_runs.values()), 0), color="#2ca02c", lw=2.5,
            label="authors' code here, 2 seeds (external)")
    ax.plot([100, 200], [0.4, 0.9], "ko", label="paper (mean of 100 runs)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (lengths 4-16)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Figure 3.1. Polynomial, paper scale: ihlib, the authors' code, the paper",
                 fontsize=10)
    fig.legend(loc="outside lower center", ncol=2, fontsize=9, frameon=False)
    plt.show()
    pick = lambda values, e: values[epochs.index(e)]
    their_mean = {e: np.mean([v[their_epochs.index(e)] for v in their_runs.values()])
                  for e in (100, 150, 200)}
    display(markdown_table(
        ["epoch", "ihlib (plain mean)", "ihlib (authors' averaging)",
         "authors' code here (2 seeds)", "paper"],
        [[e, f"{pick(plain, e):.2f}", f"{pick(rule, e):.2f}",
          f"{their_mean[e]:.2f}", paper_value]
         for e, paper_value in ((100, "0.4"), (150, ""), (200, "≥ 0.9"))],
        title="Mean test accuracy of polynomial iteration at the paper's scale"))

# %% [markdown]
# **What Figure 3.1 shows.** On our three seeds the authors' averaging changes nothing: every run has every
# evaluation up to epoch 300 and none is constant, so the two means lie on each other. The authors' code on this
# hardware is behind the paper's mean at epoch 100, like ours: its two seeds first reached 0.9 at epochs 170 and
# 140, and their mean at epoch 100 is 0.15, the same as ours, against the paper's 0.4. By epoch 200 both of its seeds
# are at 1.00, as two of our three are; our mean is lower there because seed 1 never rises. What this settles: `ihlib`'s training
# behaves like the authors' code on this hardware, as far as two and three seeds can tell. What it does not settle:
# why the paper's mean is higher at epoch 100. Its averaging does not explain it here; its 100 seeds (a few fast
# seeds raise a mean) or its hardware might: hypotheses, not tested. Claims S9 and S10 (more seeds) are registered
# and training.

# %% tags=["hide-input"]
if SCALE != "smoke":
    assert np.allclose(plain, rule) and n_rule == 3
    first = {s: next(e for e, v in zip(their_epochs, vals) if v >= 0.9)
             for s, vals in their_runs.items()}
    assert first == {0: 170, 1: 140}
    assert f"{their_mean[100]:.2f}" == f"{pick(plain, 100):.2f}" == "0.15"
    assert f"{their_mean[200]:.2f}" == "1.00"

# %% [markdown]
# **A distribution, not a mean.** With a handful of seeds a mean hides what each seed does. Figure 3.2 counts, at
# every epoch, the share of our paper-scale polynomial seeds (all that have been trained, the registered seeds 3-5
# as they arrive) whose test accuracy has reached 0.9 by then, and the share that has had an iteration head by then
# (accuracy ≥ 0.95 and layer-2 peakiness ≥ 0.9 at one evaluation).

# %% tags=["hide-input"]
from ihlib.claims import epoch_text, epoch_to, head_epoch

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
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"share of the {len(every_poly)} seeds")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Figure 3.2. Polynomial at the paper's scale: when each seed gets there",
                 fontsize=10)
    fig.legend(loc="outside lower center", ncol=2, fontsize=9, frameon=False)
    plt.show()
    display(markdown_table(["seed", "epoch to 0.9", "head epoch", "last epoch"],
                           [[f"s{r.seed}", epoch_text(epoch_to(r.history)), epoch_text(head_epoch(r.history)),
                             r.history[-1]["epoch"]] for r in every_poly],
                           title="Each paper-scale polynomial seed"))

# %% [markdown]
# **Parity against polynomial (S2 to S4): parity is slower and its head less clean, as in the paper, but S3 misses
# narrowly.** At epoch 150 parity's mean accuracy is 0.35 against polynomial's 0.47 (S2 holds; the paper has 0.47
# against 0.77, so both of ours are below the paper's). At epoch 250 parity's mean is 0.664 (seeds: 0.796, 0.546
# and 0.650), below S3's threshold of 0.68 (the paper's 0.73, −0.05), so **S3 misses**. At epoch 300 parity's mean
# layer-2 peakiness is 0.59 against polynomial's 0.72 (S4 holds: at least 0.1 below; the paper has about 0.6 against
# 0.9). Polynomial's mean is pulled down by its seed 1, which has no head (0.22); its two seeds with a head are at
# 0.96 and 0.99. The parity seeds disagree too: by epoch 300 only seed 0 has reached test accuracy 0.9 (at epoch
# 300 itself), seed 2 is at 0.70, and seed 1 stays below 0.6 to the end of its 500 epochs, with layer-2 peakiness
# 0.38 there.

# %% tags=["hide-input"]
if SCALE != "smoke":
    parity_paper = sorted((r for r in paper.values() if r.cell == "parity" and r.seed < 3), key=lambda r: r.seed)

    def mean_at(runs, epoch, key="test_accuracy"):
        return sum(value_at(r.history, epoch, key) for r in runs) / len(runs)

    assert len(parity_paper) == 3 and len(poly_paper) == 3
    assert (f"{mean_at(parity_paper, 150):.2f}", f"{mean_at(poly_paper, 150):.2f}") == ("0.35", "0.47")
    assert f"{mean_at(parity_paper, 250):.3f}" == "0.664"
    assert [f"{value_at(r.history, 250):.3f}" for r in parity_paper] == ["0.796", "0.546", "0.650"]
    l2 = (mean_at(parity_paper, 300, "peakiness_layer2"), mean_at(poly_paper, 300, "peakiness_layer2"))
    assert (f"{l2[0]:.2f}", f"{l2[1]:.2f}") == ("0.59", "0.72")
    assert [f"{value_at(r.history, 300, 'peakiness_layer2'):.2f}" for r in poly_paper] == ["0.96", "0.22", "0.99"]
    assert epoch_to(parity_paper[0].history) == 300 and f"{value_at(parity_paper[2].history, 300):.2f}" == "0.70"
    assert all(epoch_to(r.history) > 300 for r in parity_paper[1:])
    seed1 = parity_paper[1].history
    assert max(row["test_accuracy"] for row in seed1) < 0.6 and f"{seed1[-1]['peakiness_layer2']:.2f}" == "0.38"

# %% [markdown]
# ## The same recipe at $L_{max} = 8$, five seeds per task
#
# The `cpu` scale is the paper's recipe at $L_{max} = 8$, trained for 300 epochs with the training steps in bfloat16
# (chapter 2's `recipes` check found bfloat16 within the float32 seeds' spread). Shorter sequences make each epoch
# cheaper and the task easier, so these runs take minutes where the paper's take hours, and five seeds per task fit.
# Before training them we wrote down what they should show ([What we expected](expectations.md): claims E1 to E8,
# each a statistic over seeds with its threshold).

# %% tags=["hide-input"]
from ihlib.presets import compared_scale
from ihlib.results import plan

print(plan("emergence", SCALE))
emergence = results("emergence", SCALE)
plot_seeds({task: emergence.histories(task) for task in emergence.cells()}, KEYS,
           f"$L_{{max}}$ = {emergence.cell('polynomial')[0].config.max_len}: every seed (thin) and their mean (thick)")
plt.show()

# %% [markdown]
# **The claims, as registered before the runs** (measured at each run's last evaluation; "head epoch": the first
# evaluation with test accuracy ≥ 0.95 and layer-2 peakiness ≥ 0.9; "rise": from the last evaluation below 0.3 to
# the first at or above 0.9).

# %% tags=["hide-input"]
from ihlib import claims

emergence_claims = claims.emergence(emergence)
if SCALE == "cpu":  # registered for the cpu scale's runs; the text below says which hold
    claims.check(emergence_claims, misses=["E3"])
emergence_claims

# %% [markdown]
# **What the runs show** (at the `cpu` scale; the table above is checked against this text). Seven of the eight
# claims hold; one misses.
#
# * **Polynomial iteration grows an iteration head** with the paper's recipe at $L_{max} = 8$: in four of five
#   seeds within 300 epochs (E1, E2), four of them ending at full accuracy (E4), and every seed's layer-2 peakiness
#   ends at 0.85 or more (E5). Layer 1's peakiness ends between 0.3 and 0.75 on average, as registered (E6), below
#   the paper's ≈ 0.7 after its 1000 epochs.
# * **The rise is slower than we expected (E3 misses).** We registered that test accuracy would climb from below 0.3
#   to 0.9 within 50 epochs, as paper-scale seed 0 did at $L_{max} = 16$; most seeds took longer (the table gives
#   each), and they reached 0.9 at different epochs. Some runs also lose accuracy for a few evaluations after their
#   head has formed, and regain it (the dips in the curves). Why the rise is slower at $L_{max} = 8$ we have not
#   tested. A hypothesis, from seed 0's per-length curves below: the lengths are learned one after another, so the
#   average over lengths rises over the time it takes to learn them all.
# * **Parity is learned later, and its head is less clean** (E7, E8), as in the paper, for the median seed. Its seeds
#   disagree more than polynomial's, and the next cell checks what we say of them: one reached 0.9 test accuracy
#   before any polynomial seed did; by the last epoch one has a layer-2 peakiness of 0.85 or more, another solves
#   the task with almost no attention on $x_t$ (peakiness at most 0.2), and another stays below 0.6 test
#   accuracy. At $L_{max} = 8$ nearly every parity test input is also a training input, so its
#   accuracy here shows how well a model fits the task, not that it generalises.

# %% tags=["hide-input"]
if SCALE == "cpu":
    ends = [(h[-1]["test_accuracy"], h[-1]["peakiness_layer2"]) for h in emergence.histories("parity")]
    assert any(l2 >= 0.85 for _, l2 in ends) and any(acc >= 0.99 and l2 <= 0.2 for acc, l2 in ends)
    assert any(acc < 0.6 for acc, _ in ends), ends
    assert min(map(epoch_to, emergence.histories("parity"))) < min(map(epoch_to, emergence.histories("polynomial")))
    print("parity, each seed's last evaluation (test accuracy, layer-2 peakiness): "
          + "; ".join(f"{acc:.2f}, {l2:.2f}" for acc, l2 in ends))

# %% [markdown]
# ## One run up close
#
# Seed 0 of polynomial iteration (the runs of other seeds ship their curves only). Left: test accuracy for each input
# length. Right: overall test accuracy (lengths 4 to $L_{max}$) with the **peakiness** of each layer, the fraction of
# the iteration-head pattern's attention weights above 0.5 (layer 1: CoT token → EoI; layer 2: CoT token → $x_t$).
# The dashed line marks the first evaluation at 0.5 test accuracy, the middle of the rise.

# %% tags=["hide-input"]
from ihlib.results import load_or_train
from ihlib.metrics import first_epoch
from ihlib.viz import plot_training

poly = load_or_train("emergence", "polynomial_s0", SCALE)
cfg = poly.config
h = poly.history
plot_training(h, f"polynomial iteration with CoT ($L_{{max}}$ = {cfg.max_len}, d = {cfg.dim}, seed 0)",
              first_epoch(h, "test_accuracy", 0.5))
plt.show()

# %% [markdown]
# ### Its attention, next to the ideal maps

# %% tags=["hide-input"]
from ihlib.viz import plot_ideal_maps, plot_model_attention

seq = poly.test_data.of_length(cfg.max_len)[0].cpu()
plot_model_attention(poly.model, seq, poly.vocab, "trained:")
plt.show()
plot_ideal_maps(seq.tolist(), poly.vocab)
plt.show()

# %% [markdown]
# ### Step through the chain of thought
#
# Each frame is one prediction after EoI. The bars are the attention weights of the current token (shaded orange) in
# each layer; the blue bar is where an ideal iteration head would look. The title says which token the layer looks at
# most and whether the prediction is right. In Jupyter or Colab this is a slider; in the book, press play or drag the
# slider. Watch layer 1: from some CoT tokens it looks at EoI, from others at inputs. [Inside the
# circuit](09_circuit.ipynb) shows by intervention that this mixture, not EoI alone, is what the model uses: forced
# onto EoI everywhere, it loses a quarter to two thirds of its answers.

# %%
from ihlib.viz import cot_stepper

cot_stepper(poly.model, seq, poly.vocab, "polynomial")

# %% [markdown]
# **Your own input.** In the HTML book (not in Colab) the same models run in the page, no kernel: type a sequence,
# pick the model, and step through its chain of thought. A model at the paper's scale takes up to 16 inputs. Here the
# iteration head's target is blue, as in the stepper above, and the token that writes the step is outlined orange.
#
# <div class="ih-model" data-models="cpu-polynomial-s0,paper-polynomial-s0,cpu-parity-s0" data-input="7 2 9 4 4 1"></div>

# %% [markdown]
# ### Watch the head form
#
# The same sequence at one fixed CoT step (the fourth prediction), through the weights kept during training (the
# book ships five snapshots, around the rise; a run retrained here keeps one every 10 epochs): layer 2's attention
# moves onto $x_t$ as test accuracy rises.

# %%
from ihlib.viz import training_stepper

snapshots = {epoch: poly.model_at(epoch)
             for epoch in sorted(poly.snapshots)}
training_stepper(snapshots, seq, poly.vocab, step=min(3, cfg.max_len - 1))

# %% [markdown]
# **On your own input**, in the HTML book: the shipped snapshots of the same run, in the page. Drag the
# training slider (epochs 0, 60, 100, 120 and the last, 300) and watch the chain of thought turn green as layer 2
# finds $x_t$.
#
# <div class="ih-model" data-scrub="epochs" data-models="cpu-polynomial-s0-epoch0,cpu-polynomial-s0-epoch60,cpu-polynomial-s0-epoch100,cpu-polynomial-s0-epoch120,cpu-polynomial-s0" data-labels="epoch 0,epoch 60,epoch 100,epoch 120,epoch 300" data-input="6 3 8 2 9"></div>

# %% [markdown]
# ## Parity: other solutions
#
# The paper finds that parity with CoT learns more slowly and that its layer-2 peakiness plateaus near 0.6: parity
# does not *need* to fetch $x_t$ exactly, because $y_t$ is also the parity of the **count** of ones among
# $x_1..x_t$, and a head that averages over the inputs can carry that count. Our five parity seeds end anywhere
# between a clean head and none (above). Seed 0, whose weights ship with the book, is one of the clean ones: for
# every CoT query we split its layer-2 attention into the share on $x_t$ (the iteration head's target), on the other
# inputs, and on everything else (task token, EoI, earlier CoT tokens), and it puts about as much of it on $x_t$ as
# polynomial's seed 0 (within 0.1; checked below). The seed that solves parity with almost no attention on $x_t$
# ships its curves only: `python -m ihlib reproduce --scale cpu --experiment emergence --run parity_s3` retrains it
# with its weights (about 20 minutes on one CPU thread) to look at its maps.

# %% tags=["hide-input"]
from ihlib.metrics import attention_shares
from ihlib.viz import plot_attention_shares

parity = load_or_train("emergence", "parity_s0", SCALE)
shares = {name: attention_shares(run.model, run.test_data, cfg.max_len) for name, run in
          [("polynomial", poly), ("parity", parity)]}
plot_attention_shares(shares, "Where layer 2 looks (seed 0)",
                      f"share of layer-2 attention of the CoT tokens (L = {cfg.max_len}, test set)")
plt.show()
on_key = {name: next(iter(parts.values())) for name, parts in shares.items()}
if SCALE == "cpu":  # the text above describes the shipped seed 0 of each task
    assert abs(on_key["parity"] - on_key["polynomial"]) <= 0.1, on_key
plot_model_attention(parity.model, parity.test_data.of_length(cfg.max_len)[0].cpu(), parity.vocab, "parity:")
plt.show()

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
           KEYS, f"polynomial iteration with CoT, $L_{{max}}$ = {cfg.max_len}")
plt.show()

# %% [markdown]
# Four of its five seeds have a head (accuracy ≥ 0.95, layer-2 peakiness ≥ 0.9) by epochs 24 to 34 and stop soon
# after; the fifth never does, and ends its 60 epochs at accuracy 0.18 with no attention on $x_t$ (layer-2
# peakiness 0.00). Its layer 1 ends between 0.27 and 0.49 in the four that converge, below the paper recipe's
# 0.43 to 0.58 in the seeds above. That seed is why the mean accuracy levels off near 0.84 (a run that
# stopped keeps its last value in the mean).

# %% tags=["hide-input"]
if SCALE == "cpu":  # the paragraph above, on the shipped fast runs
    from ihlib.metrics import head_epoch
    heads = [head_epoch(h) for h in fast.histories("fast")]
    assert sorted(heads, key=lambda e: e or 10**9) == [24, 26, 28, 34, None]
    failed = fast.histories("fast")[heads.index(None)][-1]
    assert failed["epoch"] == 60 and f"{failed['test_accuracy']:.2f}" == "0.18" and failed["peakiness_layer2"] < 0.005
    l1 = [h[-1]["peakiness_layer1"] for h, e in zip(fast.histories("fast"), heads) if e is not None]
    assert f"{min(l1):.2f}-{max(l1):.2f}" == "0.27-0.49"
    paper_l1 = [h[-1]["peakiness_layer1"] for h in emergence.histories("polynomial")]
    assert f"{min(paper_l1):.2f}-{max(paper_l1):.2f}" == "0.43-0.58"
    assert f"{(sum(h[-1]['test_accuracy'] for h in fast.histories('fast')) / 5):.2f}" == "0.84"

# %% [markdown]
# ## What we learned
#
# * With the paper's recipe, polynomial iteration is learned together with an iteration head in most seeds: layer 2
#   comes to look at $x_t$ as accuracy rises, at $L_{max} = 8$ as at the paper's 16.
# * When it rises, and how fast, varies from seed to seed, and at $L_{max} = 8$ the rise is slower than we expected.
#   A mean curve hides this: every figure here shows every seed.
# * Parity is learned more slowly and with a less clean head, at $L_{max} = 16$ as at 8 (S2, S4, E7, E8), though our
#   paper-scale parity seeds stay below the paper's mean at epoch 250 (S3 misses).
# * The head is a means, not an end: parity admits other solutions, and its seeds find different ones. Chapter 4
#   builds the clean one by hand.
