"""Chapter 4b (inside the circuit, ``book/src/09_circuit.py``) says what the causal tests show on the shipped runs
(`cpu`: polynomial seeds 0-2 and parity seed 0; `paper`: three seeds of each task): every number of its prose is
built here from the same measurements and found in the text (``booktext.says``), and every statement in words
("a third to nearly half", "almost every time") is asserted on them."""

import numpy as np
import pytest
import torch

from booktext import says, shipped_run
from ihlib import circuit, claims
from ihlib.config import config_task
from ihlib.metrics import first_epoch
from ihlib.model import attention_patterns

MODELS = {"cpu": ["polynomial_s0", "polynomial_s1", "polynomial_s2", "parity_s0"],
          "paper": ["polynomial_s0", "polynomial_s1", "polynomial_s2", "parity_s0", "parity_s1", "parity_s2"]}
SEED0 = ["cpu polynomial s0", "paper polynomial s0"]


@pytest.fixture(scope="module")
def runs():
    return {f"{scale} {name.replace('_', ' ')}": shipped_run("emergence", name, scale)
            for scale, names in MODELS.items() for name in names}


@pytest.fixture(scope="module")
def measured(runs):
    return {label: circuit.measure(run, label) for label, run in runs.items()}


@pytest.fixture(scope="module")
def heads(measured):
    return [v for v in measured.values() if v.head]


@pytest.fixture(scope="module")
def snapshots(runs):
    return {m: circuit.over_training(runs[m], m) for m in SEED0}


def acc(v, key):
    return v.intervened.accuracy[key]


def test_the_models_with_a_head_are_the_polynomial_ones_the_text_names(measured):
    assert [m for m, v in measured.items() if v.head] == [
        "cpu polynomial s0", "cpu polynomial s2", "paper polynomial s0", "paper polynomial s2"]
    assert not any(v.head for v in measured.values() if v.task == "parity")
    chance = {v.task: v.chance for v in measured.values()}
    assert chance == {"polynomial": 1 / 11, "parity": 1 / 2}
    says("09", "polynomial's chance, 1/11 (parity's is 1/2)")


def test_figure_1_reads_as_the_text_says(heads):
    assert all(acc(v, "layer 2: one-hot on x_t") >= 0.99 for v in heads)  # full accuracy: sufficient
    assert all(0.3 < acc(v, "layer 2: uniform over the inputs") < 0.5 for v in heads)  # a third to half
    assert all(acc(v, "layer 1: its own mean pattern") >= 0.99 for v in heads)  # changes nothing
    lost = {v.label: 1 - acc(v, "layer 1: one-hot on EoI") for v in heads}
    assert all(0.2 < lost[k] < 0.4 for k in lost if k.startswith("paper"))  # a quarter
    assert all(0.6 < lost[k] < 0.7 for k in lost if k.startswith("cpu"))  # two thirds
    assert all(acc(v, "layer 1: uniform") < 0.7 for v in heads)  # uniform costs them too
    says("09", "a quarter (`paper` scale) to two thirds (`cpu` scale) of their answers")


def test_the_follows_table_reads_as_the_text_says(heads):
    assert all(min(v.intervened.follows.values()) > 0.95 for v in heads)  # almost every time
    assert all(v.intervened.peakiness_layer2["none"] >= 0.9 for v in heads)
    eoi = [v.intervened.peakiness_layer2["layer 1: one-hot on EoI"] for v in heads]
    assert all(v.intervened.peakiness_layer2["layer 1: one-hot on EoI"] < v.intervened.peakiness_layer2["none"] - 0.2
               for v in heads)
    says("09", f"from 0.9 or more, in the models with a head, to {min(eoi):.2f}–{max(eoi):.2f}")


def test_figure_2_where_layer_1_looks(runs):
    run = runs["cpu polynomial s0"]
    L = run.config.max_len
    with torch.no_grad():
        _, maps = attention_patterns(run.model.eval(), run.test_data.of_length(L)[:128, :-1].cpu())
    mean1 = maps[0][:, 0].mean(0).numpy()[circuit.answer_rows(L).numpy()]
    eoi, inputs, cot = mean1[:, L + 1], mean1[:, 1:L + 1].sum(1), mean1[:, L + 2:].sum(1)
    assert (eoi > 0.5).sum() >= 2 and (inputs > 0.5).sum() >= 2  # some rows at EoI, others at the inputs
    assert (cot[3:] > 0.09).all()  # the later rows also at earlier CoT tokens (green)


def test_figure_3_the_probes(heads):
    probes = lambda t, s: [v.probes[t, s].accuracy for v in heads]
    assert max(probes("L", "embedding") + probes("t", "embedding")) < 0.6  # readable only in part
    assert min(probes("L", "after layer-1 attention")) > 0.9
    assert min(probes("t", "after layer-1 MLP")) > 0.95 and min(probes("t", "after layer-1 attention")) < 0.9


def test_figure_4_patching(measured, heads):
    assert all(v.patched["follows the donor"] > 0.95 and v.patched["unchanged (control)"] > 0.95 for v in heads)
    assert min(measured["cpu parity s0"].patched.values()) > 0.95  # hollow, but as clean
    without = [v for v in measured.values() if not v.head]
    assert sum(min(v.patched.values()) < 0.9 for v in without) >= len(without) - 1  # most without a head
    assert all(measured[f"paper parity s{s}"].patched["unchanged (control)"] < 0.9 for s in (0, 1, 2))


def test_figure_5_over_training(runs, snapshots):
    assert [len(snapshots[m]) for m in SEED0] == [5, 4]
    says("09", "(five for `cpu`, four for `paper`")
    for m in SEED0:
        first_after = snapshots[m][sorted(snapshots[m])[1]].intervened.accuracy
        assert first_after["layer 2: one-hot on x_t"] >= 0.99
        assert 0.7 < first_after["none"] < 0.85  # wrong one time in five
        entropy = [snapshots[m][e].intervened.entropy_layer2["none"] for e in sorted(snapshots[m])]
        assert all(a > b for a, b in zip(entropy, entropy[1:]))
        rise = first_epoch(runs[m].history)
        before = snapshots[m][max(e for e in snapshots[m] if e < rise)]
        assert 0.75 < before.probes["t", "after layer-1 MLP"].accuracy < 0.95  # 0.8 to 0.9
        assert 0.75 < before.probes["L", "after layer-1 attention"].accuracy < 0.95
    own = snapshots["cpu polynomial s0"][100].intervened.accuracy["none"]
    says("09", f"token accuracy is already {own:.2f} at epoch 100")
    rise = first_epoch(runs["paper polynomial s0"].history)
    paper = snapshots["paper polynomial s0"]
    t_probe = paper[max(e for e in paper if e < rise)].probes["t", "after layer-1 MLP"].accuracy
    says("09", f"at the `paper` scale the probe for $t$ is at {t_probe:.2f}")


def test_the_claims_and_their_relaxed_reading(runs, measured, heads, snapshots):
    last = runs["cpu parity s0"].history[-1]
    says("09", f"layer-2 peakiness {last['peakiness_layer2']:.4f}, just under 0.9")
    assert last["peakiness_layer2"] < 0.9
    table = claims.circuit(list(measured.values()))
    claims.check(table, misses=[c.id for c in table])
    passing = {c.id: c.measured.split("(")[-1].split(" pass")[0] for c in table}
    held = [i for i in ("M1", "M3", "M5", "M7", "M9", "M10", "M11") if passing[i] == "4 of 4"]
    says("09", "relaxed to polynomial only: most would hold; M2 and M4 would miss",
         "M6 and M8 would hold at the `paper` scale only")
    assert held == ["M1", "M3", "M5", "M7", "M9", "M10", "M11"]  # most (seven of eleven)
    assert passing["M2"] == passing["M4"] == "0 of 4"
    assert all(acc(v, "layer 2: uniform over the inputs") > v.chance + 0.1 for v in heads)  # well above chance
    keeps = [acc(v, "layer 1: one-hot on EoI") for v in heads]
    assert 0.3 < min(keeps) and max(keeps) < 0.8  # a third to three quarters
    m6 = [v.label for v in heads if acc(v, "layer 1: uniform") <= 0.5]
    m8 = [v.label for v in heads if v.probes["t", "embedding"].accuracy <= 0.5]
    assert m6 == m8 == ["paper polynomial s0", "paper polynomial s2"]  # the paper scale only
    assert all(0.6 < acc(v, "layer 1: uniform") < 0.7 for v in heads if v.label.startswith("cpu"))  # two thirds
    # "at the `cpu` scale's shorter L_max, uniform layer 1 keeps more of the answers, and the embedding alone fixes
    # t more often"
    assert max(runs[m].config.max_len for m in runs if m.startswith("cpu")) < min(
        runs[m].config.max_len for m in runs if m.startswith("paper"))
    cpu_heads, paper_heads = ([v for v in heads if v.label.startswith(s)] for s in ("cpu", "paper"))
    assert min(acc(v, "layer 1: uniform") for v in cpu_heads) > max(acc(v, "layer 1: uniform") for v in paper_heads)
    assert min(v.probes["t", "embedding"].accuracy for v in cpu_heads) > max(
        v.probes["t", "embedding"].accuracy for v in paper_heads)
    training = claims.circuit_training(snapshots, {m: runs[m].history for m in SEED0})
    claims.check(training, misses=["M12", "M13"])


def test_exercise_4b1_the_model_writes_f_of_the_previous_input(runs):
    run = runs["cpu polynomial s0"]
    task, L = config_task(run.config), run.config.max_len
    seqs = circuit.Sequences.of(run.test_data.to("cpu"), L, run.vocab, n=32)
    t = torch.arange(1, L + 1)
    hook = circuit.force_pattern(2, circuit.answer_rows(L)[1:], lambda p: circuit.one_hot_rows(t[1:] - 1, 2 * L + 2))
    pred, _ = circuit.predictions(run.model.cpu(), seqs, [hook])
    wrote = circuit.value_of(pred, run.vocab)[:, 1:]
    guess = np.stack([circuit.step_with(task, seqs, ti, seqs.x[:, ti - 2]) for ti in range(2, L + 1)], 1)
    assert (wrote == guess).mean() > 0.95
