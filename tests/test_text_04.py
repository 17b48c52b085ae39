"""Chapter 4 (the hand-built iteration head) says what its constructions and the shipped `cpu` polynomial run (seed
0) show: each number of its prose is built here from the same data and found in the text (``booktext.says``)."""

import numpy as np
import pytest
import torch

from booktext import says, shipped_run
from ihlib import handcrafted
from ihlib.handcrafted import (accuracy_by_width, build_iteration_head, min_exact_width, mlp_units,
                               transplant_mlp2)
from ihlib.metrics import evaluate, pattern_indices
from ihlib.model import attention_patterns
from ihlib.pagemodel import greedy_cot
from ihlib.tasks import (IterativeTask, Vocabulary, copy_task, make_dataset, parity_task, polynomial_task)
from ihlib.viz import cot_steps

POLY, VOCAB, L_MAX = polynomial_task(), Vocabulary(), 8


def listed(numbers) -> str:
    """``[2, 3, 6]`` as the prose writes it: ``2, 3 and 6``."""
    numbers = [str(n) for n in numbers]
    return numbers[0] if len(numbers) == 1 else f"{', '.join(numbers[:-1])} and {numbers[-1]}"


@pytest.fixture(scope="module")
def trained():
    run = shipped_run("emergence", "polynomial_s0", "cpu")
    run.model.cpu().eval()
    return run


def test_the_construction_is_what_the_text_describes(trained):
    says("04", f"a large constant $C = {handcrafted.C:g}$", f"writes the constant {handcrafted.C:g} times as strongly")
    cfg = trained.model.cfg
    says("04", f"chapter 3 ($d = {cfg.dim}$, MLPs ${cfg.mlp_ratio}d$ wide)")
    S, X = len(POLY.states), len(POLY.inputs)
    assert mlp_units(POLY, 8) == (8 * (8 + 3) // 2, S * X + X + 2)  # the formulas of "How wide must it be?"
    assert min_exact_width(VOCAB, 8) == 3 * VOCAB.size + 3 * (2 * 8 + 2) + 2
    says("04", f"the construction needs {min_exact_width(VOCAB, 31)} dimensions")


def test_the_hand_built_head_is_perfect_on_every_task():
    affine = IterativeTask("affine_mod5", (1, 2, 3, 4), (0, 1, 2, 3, 4), lambda s, x: (2 * s + x) % 5,
                           initial_state=3)
    for task in [copy_task(), parity_task(), POLY, affine]:
        vocab = Vocabulary.for_tasks([task])
        result = evaluate(build_iteration_head(task, L_MAX, vocab=vocab),
                          make_dataset(task, L_MAX, 256, seed=11, split="test", vocab=vocab))
        s = result.summary()
        assert min(result.accuracy.values()) == 1.0 and s["peakiness_layer1"] == s["peakiness_layer2"] == 1.0, task


def test_figure_4_1_shows_where_each_layer_looks(trained):
    L = trained.config.max_len
    seq = trained.test_data.of_length(L)[0].cpu()
    hand = build_iteration_head(POLY, L)
    labels, hand_frames = cot_steps(hand, seq, VOCAB)
    _, frames = cot_steps(trained.model, seq, trained.vocab)
    eoi = L + 1
    for name, fr in (("hand-built", hand_frames), ("trained", frames)):
        assert all(f.prediction == f.target for f in fr), name  # both write every answer right
        for layer2_key, f in zip(pattern_indices(L, 2)[1], fr):  # layer 2 on x_t at every step
            assert int(np.argmax(f.rows[1][: f.query + 1])) == layer2_key, (name, f.query)
    assert all(f.rows[0][eoi] > 0.99 for f in hand_frames[1:])  # every step after the first
    steps = {f.query - L: f for f in frames[1:-1]}  # steps 2..L, where layer 1 has a target
    at_eoi = [t for t, f in steps.items() if int(np.argmax(f.rows[0][: f.query + 1])) == eoi]
    away = [t for t in steps if t not in at_eoi]
    assert int(np.argmax(frames[-1].rows[0])) == eoi  # "and at the end"
    assert at_eoi and away  # "at some steps, while at others"
    assert all(steps[t].rows[0][eoi] < 0.2 for t in away)  # "gives EoI little"
    says("04", "the trained one looks at EoI most at some steps, while at others it gives EoI little",
         "puts all its weight on EoI at every step after the first")


@torch.no_grad()
def argmax_keys(model, seqs):
    _, maps = attention_patterns(model.eval(), seqs[:, :-1])
    return [m[:, 0].argmax(-1) for m in maps]


def test_the_comparison_table_is_what_the_text_reads(trained):
    L = trained.config.max_len
    hand = build_iteration_head(POLY, L)
    agree = {1: [], 2: []}
    for length in range(max(1, L // 2), L + 1):
        seqs = trained.test_data.of_length(length).cpu()
        for layer, (h, t) in enumerate(zip(argmax_keys(hand, seqs), argmax_keys(trained.model, seqs)), start=1):
            queries = torch.as_tensor(pattern_indices(length, layer)[0])
            agree[layer].append(float((h[:, queries] == t[:, queries]).float().mean()))
    says("04", f"same key for at least {min(agree[2]):.2f} of the pattern's queries at every length",
         "In layer 1 they agree far less, at every length")
    assert min(agree[2]) > max(agree[1]) + 0.1  # far less, at every length
    p1 = evaluate(trained.model, trained.test_data).summary()["peakiness_layer1"]
    assert 1 - p1 >= 0.25  # "many CoT tokens give EoI less than half their attention" (peakiness: weight > 0.5)
    says("04", "layer-1 peakiness (in the table's note) says that many CoT tokens give EoI less than half")


def test_the_page_models_layer_1_looks_away_where_the_text_says(trained):
    x = [5, 5, 2, 8, 1]
    says("04", 'data-input="5 5 2 8 1"')
    for model, vocab, label in ((build_iteration_head(POLY, trained.config.max_len), VOCAB, "hand-built"),
                                (trained.model, trained.vocab, "trained")):
        tokens, maps = greedy_cot(model, POLY, vocab, x)
        elsewhere = [t + 1 for t in range(len(x)) if maps[0][len(x) + 1 + t].argmax() != len(x) + 1]
        if label == "hand-built":
            assert elsewhere == []
        else:
            says("04", f"the trained one at some steps elsewhere (steps {listed(elsewhere)} of the input below)")


def test_the_width_table_reads_as_the_text_says():
    for lmax in [4, 8, 16, 32]:
        exact = min_exact_width(VOCAB, lmax)
        assert accuracy_by_width(POLY, lmax, [exact], n_per_length=64)[exact] == 1.0, lmax
        random = accuracy_by_width(POLY, lmax, [exact - 1, exact, 2 * exact], n_per_length=64, basis="random")
        assert max(random.values()) < 0.9, (lmax, random)  # fail one below, at and at twice the exact width
    says("04", "below 0.9 at every $L_{max}$ of the table")


def test_the_transplanted_mlp_solves_parity_and_the_first_exercise_breaks_one_length():
    hand = build_iteration_head(POLY, L_MAX)
    donor = build_iteration_head(parity_task(), L_MAX, mlp_ratio=hand.cfg.mlp_ratio)
    test = make_dataset(parity_task(), L_MAX, 256, seed=5, split="test")
    worst = lambda m: min(evaluate(m, test, attention=False).accuracy.values())
    assert worst(hand) == 0.0 and worst(transplant_mlp2(hand, donor)) == 1.0
    units = [(e, q) for e in range(2, L_MAX + 2) for q in range(e, 2 * e)]
    with torch.no_grad():
        hand.blocks[0].mlp.fc.weight[units.index((5, 6))] = 0.0  # exercise 4.1
    accuracy = evaluate(hand, make_dataset(POLY, L_MAX, 128, seed=3, split="test")).accuracy
    assert accuracy[4] < 0.2 and all(a == 1.0 for n, a in accuracy.items() if n != 4)
