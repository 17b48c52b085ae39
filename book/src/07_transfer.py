# %% [markdown]
# # 7. Transfer: a head learned on one task serves another
#
# **What you will see.** If the iteration head is task-generic, a model that learned it on polynomial iteration
# should pick up parity quickly: only the last MLP has to change (chapter 4 showed this by hand). First the paper's
# own test at its scale: chapter 3's $L_{max} = 16$ polynomial models at epoch 200, fine-tuned on parity, either all
# their weights or **only the layer-2 MLP** (the sharpest test: the attention cannot change at all), against parity
# learned from scratch. Then the same at $L_{max} = 8$ with five seeds (chapter 3's `cpu`-scale models at their last
# epoch), the reverse direction (parity models fine-tuned on polynomial iteration, three seeds), what the frozen head
# sees in parity's sequences, and a task **defined in this chapter**, which you can change. The claims were written
# down before the runs ([What we expected](expectations.md)).
#
# **What it costs.** The histories ship with `ihlib`. `python -m ihlib reproduce --scale cpu --experiment emergence
# --experiment transfer` retrains the `cpu` scale's runs after chapter 3's (some fine-tuning and reverse runs start
# from chapter 3 models that ship without weights; those take about 18 minutes each); `--scale paper --experiment
# transfer --run finetune_all_s0` retrains one of the paper scale's fine-tuning runs from the shipped epoch-200
# weights (a few minutes each on 2 threads of this project's CPUs). The first cell below says how many runs are shipped or cached,
# and how long training the others would take at most.
# Every transfer run stops once converged (test accuracy ≥ 0.99 at three evaluations in a row), so a curve that
# ends before the others is a run that was done.

# %%
import ihlib

SCALE = ihlib.notebook_setup()
# the claims were registered for the cpu scale's runs
CLAIMS = SCALE == "cpu"

# %% tags=["hide-input"]
from ihlib.presets import compared_scale
from ihlib.results import plan, results

print(plan("transfer", SCALE))
print(plan("emergence", compared_scale(SCALE)))
emergence = results("emergence", compared_scale(SCALE))  # from scratch, and the models the transfer runs start from
transfer = results("transfer", SCALE)

# %% [markdown]
# ## The paper's transfer, at the paper's scale
#
# The paper fine-tunes its $L_{max} = 16$ polynomial models at epoch 200 on parity and reports that with all weights
# trained they reach about 0.95 test accuracy within about 20 epochs, with layer-2 peakiness about 0.95, where parity
# from scratch has about 0.73 after 250 epochs. Here: chapter 3's three paper-scale polynomial seeds at epoch 200,
# fine-tuned on parity for at most 50 epochs (evaluated every 2, stopped once converged), all weights or the
# layer-2 MLP only, against chapter 3's paper-scale parity runs from scratch. Claims S5 to S8 of the
# [expectations page](expectations.md) were written before any of these runs: they count only the seeds whose
# epoch-200 model has a head (accuracy ≥ 0.95 and layer-2 peakiness ≥ 0.9), and each is evaluated only once all
# the runs it concerns have finished. The figure shows the fine-tuning runs of those seeds (thin), their mean
# (thick) and the paper (black); the table after it has every seed.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from ihlib import claims
from ihlib.results import finished_results
from ihlib.presets import RATE_SEEDS
from ihlib.viz import markdown_table, plot_seeds

if SCALE == "paper":
    paper_emergence, paper_transfer = emergence, transfer
else:
    paper_emergence, paper_transfer = finished_results("emergence", "paper"), finished_results("transfer", "paper")
paper_poly = {r.seed: r.history for r in paper_emergence.values()  # S5-S8's seeds
              if r.cell == "polynomial" and r.seed in RATE_SEEDS["paper"]}
paper_runs = {(r.cell, r.seed): r.history for r in paper_transfer.values()
              if r.cell in ("finetune_all", "finetune_mlp2")}
paper_scratch = [r.history for r in paper_emergence.values()
                 if r.cell == "parity" and r.seed in RATE_SEEDS["paper"]]
with_head = claims.seeds_with_head(paper_poly, 200)
groups = {"from scratch (chapter 3)": paper_scratch,
          **{label: [h for (c, s), h in sorted(paper_runs.items()) if c == cell and s in with_head]
             for label, cell in (("fine-tune all weights", "finetune_all"), ("the layer-2 MLP only", "finetune_mlp2"))}}
if paper_runs:
    plot_seeds({k: v for k, v in groups.items() if v}, ("test_accuracy", "peakiness_layer2"),
               "Parity at $L_{max}$ 16, fine-tuned from epoch 200", xlim=(0, 60),
               reference={"test_accuracy": [(20, 0.95)], "peakiness_layer2": [(20, 0.95)]})
    plt.show()


def _cell(value, epochs=False):
    return "none" if value == claims.NEVER else f"{value:g}" if epochs else f"{value:.2f}"


rows = []
for seed, start in sorted(paper_poly.items()):
    model = [f"s{seed}", f"{claims.at(start, 200):.2f} / {claims.at(start, 200, 'peakiness_layer2'):.2f}",
             "yes" if seed in with_head else "no"]
    for method, cell in (("all weights", "finetune_all"), ("layer-2 MLP", "finetune_mlp2")):
        h = paper_runs.get((cell, seed))
        rows.append(model + [method] + ([_cell(claims.epoch_to(h), True), _cell(claims.at(h, 20)), f"{h[-1]['epoch']}",
                                         _cell(h[-1]["test_accuracy"]), _cell(h[-1]["peakiness_layer2"])]
                                        if h else ["not trained yet"] + [""] * 4))
markdown_table(["seed", "acc. / L2 @200", "head?", "fine-tuned", "epoch to 0.9", "acc. @20", "last epoch", "acc.", "L2"],
               rows, title="Each polynomial model at epoch 200, and its two fine-tuning runs on parity",
               note="head?: accuracy ≥ 0.95 and layer-2 peakiness ≥ 0.9 at epoch 200 (only those seeds count for "
                    f"S5-S8); parity from scratch (chapter 3), accuracy of its {len(paper_scratch)} seeds"
                    + (f" ({', '.join(f'{claims.at(h, 250):.2f}' for h in paper_scratch)} at epoch 250)"
                       if paper_scratch else ""))

# %% tags=["hide-input"]
paper_claims = claims.paper_transfer(paper_transfer, paper_emergence)
if SCALE != "smoke":  # the shipped paper-scale runs (retrained only at the paper scale), as in chapter 3
    claims.check(paper_claims, misses=["S7"])
paper_claims

# %% [markdown]
# **The paper's transfer holds at its scale, with all weights** (checked below). Two of chapter 3's three
# polynomial seeds have a head at epoch 200 (seeds 0 and 2), so S5 to S8 rest on two seeds. Fine-tuned with all
# their weights, both reach 0.9 on parity at epochs 8 and 10 and have converged by epochs 12 and 14, with layer-2
# peakiness 1.00 (S5, S6): sooner and sharper than the paper's about 0.95 within about 20 epochs. At epoch 20 both
# are at 1.00, far above parity from scratch after 250 epochs (chapter 3's three seeds: mean 0.66; S8 holds; the
# paper has 0.95 against 0.73). **S7 misses**, as
# T3 does at $L_{max} = 8$ below: with only the layer-2 MLP trained, neither seed reaches 0.9 in 50 epochs (they end
# at 0.38 and 0.59). Their frozen heads find $x_t$ in parity's sequences only in part: layer-2 peakiness 0.53 and
# 0.68 on parity at the start, against 0.95 and 0.97 on polynomial iteration at epoch 200, and the seed whose head is
# sharper on parity ends higher. The section "What the frozen head sees" below asks why, at $L_{max} = 8$.
#
# Seed 1, whose polynomial model had no head at epoch 200 (accuracy 0.15, layer-2 peakiness 0.22 there), does not
# count for these claims. Its two runs (in the table, not the figure) ran all 50 epochs: all weights end at 0.29 and
# the layer-2 MLP alone at 0.20, with layer-2 peakiness about 0.2 throughout. Both are above parity from scratch at
# epoch 50 (0.09 to 0.13): one seed, so no more than a hint that a model without a head still carries something
# over. Counting it, the mean over all three seeds of the all-weights runs at fine-tuning epoch 20 is 0.74, against
# the paper's about 0.95 (a mean over all its runs).

# %% tags=["hide-input"]
if SCALE != "smoke":
    assert [c.id for c in paper_claims] == ["S5", "S6", "S7", "S8"] and len(paper_scratch) == 3
    assert f"{sum(claims.at(h, 250) for h in paper_scratch) / 3:.2f}" == "0.66"
    assert all(r.config.epochs == 50 and r.config.eval_every == 2 and r.config.init_epoch == 200
               for r in paper_transfer.values())  # the section's first paragraph
    ft_all = [paper_runs[("finetune_all", s)] for s in with_head]
    ft_mlp2 = [paper_runs[("finetune_mlp2", s)] for s in with_head]
    assert with_head == [0, 2] and [claims.epoch_to(h) for h in ft_all] == [8, 10]
    assert [h[-1]["epoch"] for h in ft_all] == [12, 14] and all(f"{h[-1]['peakiness_layer2']:.2f}" == "1.00" for h in ft_all)
    assert all(claims.epoch_to(h) == claims.NEVER and h[-1]["epoch"] == 50 for h in ft_mlp2)
    assert [f"{h[-1]['test_accuracy']:.2f}" for h in ft_mlp2] == ["0.38", "0.59"]
    assert [f"{h[0]['peakiness_layer2']:.2f}" for h in ft_mlp2] == ["0.53", "0.68"]
    assert [f"{claims.at(paper_poly[s], 200, 'peakiness_layer2'):.2f}" for s in with_head] == ["0.95", "0.97"]
    no_head = [paper_runs[(c, 1)] for c in ("finetune_all", "finetune_mlp2")]  # seed 1, the paragraph's end
    seed1 = [f"{claims.at(paper_poly[1], 200, key):.2f}" for key in ("test_accuracy", "peakiness_layer2")]
    assert seed1 == ["0.15", "0.22"]
    assert all(h[-1]["epoch"] == 50 for h in no_head)
    assert [f"{h[-1]['test_accuracy']:.2f}" for h in no_head] == ["0.29", "0.20"]
    assert all(0.15 <= r["peakiness_layer2"] <= 0.25 for h in no_head for r in h)
    assert claims.span([claims.at(h, 50) for h in paper_scratch]) == "0.09-0.13"
    every_seed = [paper_runs[("finetune_all", s)] for s in sorted(paper_poly)]
    assert f"{sum(claims.at(h, 20) for h in every_seed) / 3:.2f}" == "0.74"
    assert all(f"{claims.at(h, 20):.2f}" == "1.00" for h in ft_all)  # "at epoch 20 both are at 1.00"

# %% [markdown]
# ## At $L_{max} = 8$: parity from scratch and from a polynomial model
#
# The same test on chapter 3's `cpu`-scale models (the paper's recipe at $L_{max} = 8$, five seeds, fine-tuned from
# their last epoch for at most 30 epochs, evaluated every epoch). Thin: each seed; thick: the mean. Epoch 0 of a
# fine-tuning run is the polynomial model itself, evaluated on parity. The x-axis stops at 60 epochs; the runs from
# scratch go on to 300 (chapter 3).

# %% tags=["hide-input"]
plot_seeds({"from scratch (chapter 3)": emergence.histories("parity"),
            "fine-tune all weights": transfer.histories("finetune_all"),
            "fine-tune the layer-2 MLP only": transfer.histories("finetune_mlp2")},
           ("test_accuracy", "peakiness_layer2"), "Parity: from scratch and from a polynomial model", xlim=(0, 60))
plt.show()

# %% [markdown]
# ## The reverse: polynomial iteration from a parity model
#
# Chapter 3's parity models (seeds 0 to 2) fine-tuned on polynomial iteration, all weights, for as many epochs as
# from scratch.

# %% tags=["hide-input"]
plot_seeds({"from scratch (chapter 3)": emergence.histories("polynomial"),
            "from a parity model": transfer.histories("reverse_all")},
           ("test_accuracy", "peakiness_layer2"), "Polynomial iteration: from scratch and from a parity model")
plt.show()

# %% [markdown]
# **The claims, as registered before the runs** (T6 is about the task of the next section as shipped, the running
# sum mod 5).

# %% tags=["hide-input"]
transfer_claims = claims.transfer(transfer, emergence)
if CLAIMS:
    claims.check(transfer_claims, misses=["T3"])
transfer_claims

# %% [markdown]
# **What the runs show** (at the `cpu` scale; the next cell checks this text against the runs). Five of the six
# claims hold. Fine-tuned with all its weights, every polynomial model reaches 0.9 on parity within 20 epochs, far
# sooner than parity from scratch (chapter 3's median; the polynomial models' 300 epochs of pre-training are not
# counted, as in the paper's comparison), and ends with a sharp layer-2 head (T1, T2, T4): the paper's transfer
# result, at $L_{max} = 8$. One seed reached 0.9 at epoch 19 and had dropped back to 0.89 when its
# 30 epochs ran out. The transfer also works the other way: parity models fine-tuned on polynomial iteration reach
# 0.9 well before the polynomial runs from scratch (T5). **T3 misses**: with only the layer-2 MLP trained, no seed
# reaches 0.9 within 30 epochs (they end between 0.37 and 0.81). The next section asks why.

# %% tags=["hide-input"]
if CLAIMS:
    ft_all, ft_mlp2 = transfer.histories("finetune_all"), transfer.histories("finetune_mlp2")
    assert all(claims.epoch_to(h) <= 20 and h[-1]["peakiness_layer2"] >= 0.9 for h in ft_all)  # every seed
    assert all(claims.epoch_to(h) == claims.NEVER for h in ft_mlp2)  # no seed, at any evaluation
    dropped = [h for h in ft_all if h[-1]["test_accuracy"] < 0.9]
    assert len(dropped) == 1 and claims.epoch_to(dropped[0]) == 19 and f"{dropped[0][-1]['test_accuracy']:.2f}" == "0.89"
    assert dropped[0][-1]["epoch"] == transfer.cell("finetune_all")[0].config.epochs
    ends = [h[-1]["test_accuracy"] for h in ft_mlp2]
    assert (f"{min(ends):.2f}", f"{max(ends):.2f}") == ("0.37", "0.81")
    assert claims.median([claims.epoch_to(h) for h in emergence.histories("parity")]) == 170  # "What we learned"
    assert len(ft_all) == 5  # "five seeds of five"

# %% [markdown]
# ## What the frozen head sees in parity's sequences
#
# With only the layer-2 MLP trained, both attention layers stay the polynomial model's: the iteration head can
# serve parity only if it already finds $x_t$ in parity's sequences. Epoch 0 of each run measures that, and since
# nothing before the last MLP changes, its layer-2 peakiness keeps that value throughout.

# %% tags=["hide-input"]
from ihlib.presets import SEEDS

mlp2 = transfer.histories("finetune_mlp2")
own = [h[-1]["peakiness_layer2"] for h in emergence.histories("polynomial")]
on_parity = [h[0]["peakiness_layer2"] for h in mlp2]
print(f"layer-2 peakiness of chapter 3's polynomial models, on polynomial: {', '.join(f'{p:.2f}' for p in own)}; "
      f"on parity: {', '.join(f'{p:.2f}' for p in on_parity)}")
mlp2_ends = [h[-1]["test_accuracy"] for h in mlp2]
print(f"the layer-2-MLP-only runs' last test accuracy: {', '.join(f'{a:.2f}' for a in mlp2_ends)}")
assert all(abs(row["peakiness_layer2"] - h[0]["peakiness_layer2"]) < 1e-6 for h in mlp2 for row in h)  # frozen
if CLAIMS:  # the text below
    assert (f"{min(on_parity):.2f}", f"{max(on_parity):.2f}") == ("0.41", "0.67")
    assert (f"{min(own):.2f}", f"{max(own):.2f}") == ("0.89", "0.96")
    start_end = {f"{p:.2f}": f"{a:.2f}" for p, a in zip(on_parity, mlp2_ends)}
    assert start_end["0.41"] == "0.54" and start_end["0.51"] == "0.37"  # a less sharp start, yet a better end

# %% [markdown]
# The frozen head puts most of its weight on $x_t$ for only 41 % to 67 % of parity's queries (averaged over lengths
# 4 to 8), against 89 % to 96 % on polynomial iteration. That need not be why these runs fail: across seeds,
# a sharper start does not mean a better end (the seed that starts at 0.41 ends at 0.54, the one at 0.51 at 0.37).
#
# Parity's sequences differ from polynomial's in several ways at once: two input values instead of ten; the input 0,
# which polynomial iteration never has (its inputs are 1..10; 0 appears in its sequences only as a state); states
# that are only 0 and 1; and its own task token. We probe the head with sequences that change one of these at a
# time. These probes are *post hoc*: we designed them after T3 missed, and they use seeds 0 to 2, the polynomial
# models that ship with weights.

# %%
from ihlib import IterativeTask, Vocabulary, make_dataset
from ihlib.metrics import evaluate
from ihlib.results import load_or_train
from ihlib.tasks import parity_task, polynomial_task


def probe(inputs: tuple[int, ...], step, states=tuple(range(11)),
          **kw) -> IterativeTask:
    """A task written with the polynomial task's token (so only its inputs,
    states and rule differ)."""
    return IterativeTask("polynomial", inputs, states, step, **kw)


def poly_probe(inputs: tuple[int, ...]) -> IterativeTask:
    """Polynomial iteration (y_1 = x_1, then y_t = y_{t-1} x_t + 1 mod 11)
    on other inputs."""
    return probe(inputs, lambda s, x: (s * x + 1) % 11, first=lambda x: x)


def parity_step(s, x):
    return (s + (x == 5)) % 2


probes = {
    "polynomial, inputs 1..10 (as trained)": polynomial_task(),
    "polynomial, inputs 1 and 5": poly_probe((1, 5)),
    "polynomial, inputs 0 and 1": poly_probe((0, 1)),
    "parity's rule on inputs 1 and 5 (states 0 and 1)":
        probe((1, 5), parity_step, (0, 1), initial_state=0),
    "parity": parity_task(),
}
max_len = emergence.cell("polynomial")[0].config.max_len
probe_seeds = SEEDS[compared_scale(SCALE)]
peak = {name: [] for name in probes}
for seed in probe_seeds:
    model = load_or_train("emergence", f"polynomial_s{seed}",
                          compared_scale(SCALE)).model
    for name, task in probes.items():
        data = make_dataset(task, max_len, 256, seed=4, split="test",
                            vocab=Vocabulary())
        summary = evaluate(model, data).summary()
        peak[name].append(summary["peakiness_layer2"])
markdown_table(["test sequences", *(f"seed {s}" for s in probe_seeds)],
               [[name, *(f"{p:.2f}" for p in values)]
                for name, values in peak.items()],
               title="Layer-2 peakiness of chapter 3's polynomial models "
                     "on probe sequences",
               note="each probe is 256 sequences per length drawn "
                    "afresh, so its parity row can differ by about 0.01 "
                    "from epoch 0 of the fine-tuning runs above, which "
                    "use the runs' own test set")

# %% [markdown]
# **What the probes show** (checked below, for each seed). Two input values are not the problem: with inputs 1 and 5
# only, the head is as sharp as on the sequences it was trained on. The unseen input 0 lowers layer-2 peakiness by
# 0.1 or more. Parity's states lower it most: parity's rule on inputs 1 and 5, which the models know, written with
# the polynomial task token, drops it by 0.3 or more, below the input-0 probe. So the trained head depends on the
# tokens of the sequence, where the hand-built one of chapter 4 (whose last MLP could be swapped for parity's) is
# blind to them; fine-tuning all weights makes it sharp on parity within a few epochs (T1, T2). *Our reading, not
# tested here*: the trained layer 1 blends EoI with earlier tokens (chapter 4), so the query that layer 2 builds
# carries the states' values, and parity's long runs of 0s and 1s move it.

# %% tags=["hide-input"]
if CLAIMS:
    trained, two, zero, parity_states, parity = peak.values()
    for k in range(len(probe_seeds)):
        assert two[k] >= trained[k] - 0.05 and zero[k] <= trained[k] - 0.1, k
        assert parity_states[k] <= trained[k] - 0.3 and parity_states[k] < zero[k], k

# %% [markdown]
# ## A task of your own
#
# Any finite $s_t = F(s_{t-1}, x_t)$ is an iterative task. Here is one the models have never seen: a **running sum
# mod 5** (parity is the running sum mod 2), over the inputs 0..4. Change `step` (or the alphabets) and run the
# chapter again: the runs below are then trained anew instead of loaded (three seeds of each method; the time is
# printed when they start).

# %%
from ihlib import IterativeTask, Vocabulary, make_dataset
from ihlib.viz import plot_sequence

task = IterativeTask("sum_mod5", inputs=tuple(range(5)),
                     states=tuple(range(5)), step=lambda s, x: (s + x) % 5)
vocab = Vocabulary.for_tasks([task])
example = make_dataset(task, 6, 1, vocab=vocab).of_length(6)[0]
plot_sequence(example.tolist(), vocab, "sum_mod5 with CoT (L = 6)")
plt.show()

# %% [markdown]
# The runs: from scratch with the recipe, and fine-tuned from chapter 3's polynomial models (all weights, or the
# layer-2 MLP only). A config records the task's full table (`TrainConfig.task_definition`), so a checkpoint alone
# rebuilds it; the new task token gets a fresh embedding row and every token the models know keeps its own.

# %%
from ihlib.experiments import custom_transfer

custom = results("transfer", SCALE, configs=custom_transfer(task, SCALE))
methods = {"from scratch": "scratch", "fine-tune all weights": "all",
           "fine-tune the layer-2 MLP only": "mlp2"}
plot_seeds({method: custom.histories(f"{task.name}_{key}")
            for method, key in methods.items()},
           ("test_accuracy", "peakiness_layer2"),
           f"{task.name}: from scratch and from a polynomial model")
plt.show()

# %% [markdown]
# **The shipped task, the running sum mod 5** (checked in the next cell, which skips the checks once you change
# the task). Fine-tuning all weights reaches 0.9 within 5 epochs in every seed (T6). From scratch, with the
# recipe's 300 epochs, two seeds reach 0.9 (at epochs 100 and 230) and the third does not. Only one of those two
# grows a clean head (layer-2 peakiness 0.97 at its last epoch); the other ends at accuracy 1.00 with layer-2
# peakiness 0.49: it solves the task with a circuit that, by our measure, does not fetch $x_t$ with most of its
# layer-2 attention, as one of chapter 3's parity seeds does (accuracy 1.00, layer-2 peakiness 0.11). The
# fine-tuned runs keep their head (0.92 to 1.00).
# The layer-2 MLP alone falls short again: no seed reaches 0.9, and they end between 0.52 and 0.70.

# %% tags=["hide-input"]
from ihlib.experiments import EXAMPLE_TASK

if CLAIMS and task.to_dict() == EXAMPLE_TASK.to_dict():
    to_09 = {key: [claims.epoch_to(h) for h in custom.histories(f"{task.name}_{key}")] for key in ("scratch", "all")}
    assert max(to_09["all"]) <= 5 and sorted(to_09["scratch"]) == [100, 230, float("inf")]
    ends = [h[-1]["test_accuracy"] for h in custom.histories(f"{task.name}_mlp2")]
    assert all(claims.epoch_to(h) == claims.NEVER for h in custom.histories(f"{task.name}_mlp2"))
    assert (f"{min(ends):.2f}", f"{max(ends):.2f}") == ("0.52", "0.70")
    solved = sorted(f"{h[-1]['peakiness_layer2']:.2f}" for h in custom.histories(f"{task.name}_scratch")
                    if claims.epoch_to(h) < claims.NEVER and h[-1]["test_accuracy"] >= 0.995)
    assert solved == ["0.49", "0.97"]
    assert [f"{h[-1]['peakiness_layer2']:.2f}" for h in emergence.histories("parity")
            if h[-1]["test_accuracy"] >= 0.995 and h[-1]["peakiness_layer2"] < 0.5] == ["0.11"]
    assert claims.span([h[-1]["peakiness_layer2"] for h in custom.histories(f"{task.name}_all")]) == "0.92-1.00"

# %% [markdown]
# ## What we learned
#
# * A polynomial model's iteration head serves parity: fine-tuned with all its weights, it reaches 0.9 within 10
#   epochs at the paper's scale (both seeds whose epoch-200 model has a head) and within 20 at $L_{max} = 8$ (five
#   seeds of five), where parity from scratch takes a median of 170 epochs at $L_{max} = 8$. This is the paper's
#   transfer result. It works the other way too (parity to polynomial iteration), and for a task the models never
#   saw (the running sum mod 5).
# * The sharpest version fails at both scales: with the attention frozen and only the last MLP trained, neither
#   paper-scale seed with a head learns parity, nor any of the five at $L_{max} = 8$. The frozen head finds $x_t$ on only about half of parity's queries (53 % and 68 % at the paper's
#   scale, 41 % to 67 % at $L_{max} = 8$); probes (post hoc, three seeds at $L_{max} = 8$) point at parity's states
#   more than at its unseen input 0. The hand-built head of chapter 4, whose last MLP could be swapped for parity's,
#   is blind to the tokens. So "task-generic" holds for the circuit, which a few epochs of fine-tuning adapt, not
#   for the trained weights as they stand.
