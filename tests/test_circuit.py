"""The causal tests of ``ihlib.circuit`` on the hand-built iteration head, whose mechanism is known by construction:
forcing its own patterns changes nothing, removing them breaks it, a shifted layer 2 computes F of the wrong input,
and patching layer 2's output carries x_t."""

import numpy as np
import pytest
import torch

from ihlib import circuit
from ihlib.handcrafted import build_iteration_head
from ihlib.metrics import attention_stats
from ihlib.model import pattern_name
from ihlib.tasks import Vocabulary, make_dataset, parity_task, polynomial_task

L_MAX = 6


@pytest.fixture(scope="module", params=[polynomial_task(), parity_task()], ids=lambda t: t.name)
def hand(request):
    task = request.param
    vocab = Vocabulary.for_tasks([task])
    model = build_iteration_head(task, L_MAX, vocab=vocab)
    data = {split: make_dataset(task, L_MAX, 64, seed=3, split=split, vocab=vocab) for split in ("train", "test")}
    return task, vocab, model, data


def test_answer_rows_are_eoi_and_the_cot_tokens():
    assert circuit.answer_rows(3).tolist() == [4, 5, 6]  # EoI at L + 1 = 4 predicts y_1


def test_forced_patterns_replace_only_the_answer_rows_in_every_head():
    p = torch.rand(2, 3, 8, 8).softmax(-1)
    name, hook = circuit.force_pattern(2, circuit.answer_rows(3), circuit.layer2_patterns(3)["one-hot on x_t"][1])
    out = hook(p, None)
    assert name == pattern_name(2)
    assert torch.equal(out[:, :, :4], p[:, :, :4]) and torch.equal(out[:, :, 7], p[:, :, 7])
    assert (out[:, :, 4:7].argmax(-1) == torch.tensor([1, 2, 3])).all() and (out[:, :, 4:7].sum(-1) == 1).all()
    mean = circuit.layer1_patterns(3)["its own mean pattern"](p)
    assert torch.allclose(mean, p[:, 0, 4:7].double().mean(0))
    uniform = circuit.layer1_patterns(3)["uniform"](p)
    assert torch.allclose(uniform[0, :5], torch.full((5,), 0.2, dtype=torch.double)) and uniform[0, 5:].sum() == 0


def test_the_hand_built_head_passes_every_causal_test(hand):
    task, vocab, model, data = hand
    result = circuit.intervene(model, task, data["test"], vocab)
    chance = 1 / len(task.states)
    assert result.accuracy["none"] == 1.0
    assert result.accuracy["layer 2: one-hot on x_t"] == 1.0  # its own pattern: sufficient
    assert result.accuracy["layer 1: one-hot on EoI"] == 1.0  # its layer 1 looks at EoI
    assert result.accuracy["layer 1: its own mean pattern"] == 1.0
    assert result.accuracy["layer 2: uniform over the inputs"] < chance + 0.25  # necessary
    assert result.follows["one-hot on x_{t+1}"] == 1.0 and result.follows["one-hot on x_{t-1}"] == 1.0
    assert result.peakiness_layer2["none"] == 1.0
    patched = circuit.patch(model, task, data["test"], vocab)
    assert patched == {"follows the donor": 1.0, "unchanged (control)": 1.0}


def test_probes_read_what_the_construction_writes(hand):
    task, vocab, model, data = hand
    scores = circuit.probe(model, data["train"], data["test"], vocab)
    # layer 1's MLP writes the target position t; the embedding holds only the absolute position L + t and the
    # token (EoI gives t = 1), which fix t for some positions only (about 0.7 of the rows at L_max 6)
    assert scores["t", "after layer-1 MLP"].accuracy == 1.0
    assert scores["t", "embedding"].accuracy < 0.8
    assert all(s.shuffled < 0.5 for s in scores.values())


def test_step_with_computes_f_of_a_replaced_input():
    task = polynomial_task()
    seqs = circuit.Sequences.encode(task, Vocabulary(), np.array([[3, 4, 5], [1, 1, 1]]))
    want = task.run(np.array([[3, 7, 5], [1, 7, 1]]))[:, 1]
    assert (circuit.step_with(task, seqs, 2, np.array([7, 7])) == want).all()


def test_short_inputs_run_every_test_without_shifted_rows_or_control_pairs_where_there_are_none():
    task = polynomial_task()
    vocab = Vocabulary.for_tasks([task])
    model = build_iteration_head(task, 2, vocab=vocab)
    data = make_dataset(task, 2, 16, seed=1, split="test", vocab=vocab)  # reported lengths 1 and 2
    result = circuit.intervene(model, task, data, vocab)
    assert result.accuracy["layer 2: one-hot on x_t"] == 1.0 and result.follows["one-hot on x_{t+1}"] == 1.0
    assert circuit.patch(model, task, data, vocab) == {"follows the donor": 1.0, "unchanged (control)": 1.0}
