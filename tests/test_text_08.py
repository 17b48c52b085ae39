"""Chapter 8's prose against the shipped runs: every number it states about a run, built from the data."""

from __future__ import annotations

import statistics

import pytest

from booktext import says, shipped
from ihlib import claims


@pytest.fixture(scope="module")
def runs():
    decay = shipped("weight_decay", "cpu")
    paper_cot = shipped("emergence", "cpu", ("polynomial",)).histories("polynomial")
    paper_nocot = shipped("ablations", "cpu", ("polynomial_nocot",)).histories("polynomial_nocot")
    fast = shipped("recipes", "cpu", ("fast",))
    return decay, paper_cot, paper_nocot, fast


def test_the_runs_the_chapter_describes(runs):
    decay, paper_cot, paper_nocot, fast = runs
    assert len(paper_cot) == 5 and len(decay.histories("decay_cot")) == 3
    says("08", "(blue, chapter 3's five seeds)", "(orange, three seeds)", "three seeds each")
    assert all(r.config.weight_decay == 1.0 for r in decay.values()) and all(
        r.config.weight_decay == 1.0 for r in fast.values())
    says("08", "trains with AdamW weight decay 1.0", "with weight decay 1.0, with and without CoT")
    assert all(r.config.epochs == 60 for r in decay.cell("fast_nocot")) and all(
        r.config.epochs == 60 for r in fast.values())
    says("08", "the `fast` recipe (its own 60 epochs)")  # and Table 8.2's note
    assert all(r.config.epochs == 300 for r in decay.cell("decay_cot") + decay.cell("decay_nocot"))
    assert all(h[-1]["epoch"] == 300 for h in paper_cot)  # "chapter 3's 300 epochs"
    says("08", "earlier than chapter 3's runs")


def test_with_cot(runs):
    decay, paper_cot, _, fast = runs
    cot = decay.histories("decay_cot")
    theirs = [claims.epoch_to(h) for h in paper_cot]
    assert all(min(theirs) <= claims.epoch_to(h) <= max(theirs) for h in cot)
    says("08", "reaching 0.9 within the range of epochs of chapter 3's seeds")
    assert max(h[-1]["peakiness_layer1"] for h in cot) <= 0.1  # "almost no CoT position"
    assert max(h[-1]["peakiness_layer2"] for h in cot) < min(h[-1]["peakiness_layer2"] for h in paper_cot)
    says("08", "its layer 1 ends with almost no CoT position", "and its layer 2 is less sharp")
    assert sum(h[-1]["epoch"] < 300 for h in cot) == 2
    says("08", "Two of the three runs stopped once converged")
    for h in cot:  # at the epoch each decay run ended, every chapter-3 seed was sharper in both layers
        for key in ("peakiness_layer1", "peakiness_layer2"):
            assert h[-1][key] < min(claims.at(p, h[-1]["epoch"], key) for p in paper_cot), key
    says("08", "every one of chapter 3's seeds already had the sharper layer 1 and layer 2")
    # Figure 8.1: both start alike (layer 1 at epoch 10), then layer 1 grows without decay and dies away with it
    at_10 = [claims.at(h, 10, "peakiness_layer1") for h in cot + paper_cot]
    assert max(at_10) - min(at_10) <= 0.05
    assert all(h[-1]["peakiness_layer1"] < claims.at(h, 10, "peakiness_layer1") for h in cot)
    assert all(h[-1]["peakiness_layer1"] > claims.at(h, 10, "peakiness_layer1") + 0.2 for h in paper_cot)
    says("08", "both start alike, then layer 1's attention to EoI grows without weight decay and dies away with it")
    # the fast recipe, with the same weight decay
    converged = [h for h in fast.histories("fast") if claims.epoch_to(h) < claims.NEVER]
    assert len(converged) == 4 and len(fast.histories("fast")) == 5
    assert min(h[-1]["peakiness_layer1"] for h in converged) >= 0.25
    says("08", "grows layer-1 attention to EoI in the four of its five seeds that converge")


def test_where_layer_1_looks(runs):
    decay, paper_cot, _, _ = runs
    cot = decay.histories("decay_cot")
    assert all(row["mean_layer1"] <= claims.at(h, 10, "mean_layer1") + 0.02 for h in cot for row in h)
    assert max(row["mean_layer1"] for h in cot for row in h) < 0.25  # "far below one half"
    assert all(h[-1]["mean_layer1"] > claims.at(h, 10, "mean_layer1") + 0.15 for h in paper_cot)
    assert max(h[-1]["mean_layer2"] for h in cot) < min(h[-1]["mean_layer2"] for h in paper_cot)
    says("08", "it stops after the first evaluation and stays far below one half",
         "without weight decay the weight on EoI keeps growing", "less strongly with weight decay")


def test_without_cot(runs):
    decay, _, paper_nocot, _ = runs
    mean = statistics.fmean(claims.memorisation(h) for h in paper_nocot)
    with_decay = [claims.memorisation(h) for h in decay.histories("decay_nocot")]
    fast = [claims.memorisation(h) for h in decay.histories("fast_nocot")]
    assert max(with_decay) < 0.1 and max(fast) < min(with_decay)
    says("08", f"falls from {mean:.2f} (chapter 5's runs) to under 0.1",
         "the gap between training and test accuracy is under 0.1 in every seed", "memorises less still")
    assert min(h[-1]["train_accuracy"] for h in paper_nocot) >= 0.5
    says("08", "the paper's recipe without CoT fits much of its training set")


def test_the_claims_as_the_text_reads_them(runs):
    decay, _, _, _ = runs
    cot = decay.histories("decay_cot")
    assert all(h[-1]["peakiness_layer2"] < 0.85 for h in cot) and sum(h[-1]["test_accuracy"] < 0.95 for h in cot) == 1
    says("08", "its layer-2 peakiness stays below the threshold in every seed, and one seed's accuracy does too")
    assert not all(claims.memorisation(h) <= 0.05 for h in decay.histories("decay_nocot"))
    says("08", "(every seed's gap ≤ 0.05, and a mean below chapter 5's, claim A2)")
