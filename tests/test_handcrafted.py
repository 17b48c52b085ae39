"""The hand-built iteration head: 100% on every task and length, perfect attention patterns, clear errors."""

import numpy as np
import pytest
import torch

from ihlib.handcrafted import accuracy_by_width, build_iteration_head, min_exact_width, transplant_mlp2
from ihlib.metrics import evaluate
from ihlib.tasks import IterativeTask, Vocabulary, get_task, make_dataset, parity_task, polynomial_task

MOD5 = IterativeTask("affine_mod5", (1, 2, 3, 4), (0, 1, 2, 3, 4), lambda s, x: (2 * s + x) % 5, initial_state=3)


@pytest.mark.parametrize("task", [get_task("copy"), parity_task(), polynomial_task(), MOD5], ids=lambda t: t.name)
@pytest.mark.parametrize("max_len", [1, 5, 12])
def test_perfect_on_every_length(task, max_len):
    vocab = Vocabulary.for_tasks([task])
    model = build_iteration_head(task, max_len, vocab=vocab)
    result = evaluate(model, make_dataset(task, max_len, 128, seed=7, split="test", vocab=vocab))
    assert all(acc == 1.0 for acc in result.accuracy.values()), result.accuracy
    summary = result.summary()
    assert summary["peakiness_layer1"] == 1.0 and summary["peakiness_layer2"] == 1.0


def test_same_architecture_as_trained_models():
    model = build_iteration_head(polynomial_task(), 8)
    assert model.cfg.n_layers == 2 and model.cfg.n_heads == 1 and model.cfg.dim == min_exact_width(Vocabulary(), 8)
    assert set(model.state_dict()) == set(type(model)(model.cfg).state_dict())


def test_transplanted_parity_mlp_solves_parity():
    poly = build_iteration_head(polynomial_task(), 6)
    donor = build_iteration_head(parity_task(), 6, mlp_ratio=poly.cfg.mlp_ratio)
    mixed = transplant_mlp2(poly, donor)
    assert torch.equal(mixed.blocks[1].attn.qkv.weight, poly.blocks[1].attn.qkv.weight)
    result = evaluate(mixed, make_dataset(parity_task(), 6, 64, split="test"), attention=False)
    assert min(result.accuracy.values()) == 1.0
    assert min(evaluate(poly, make_dataset(parity_task(), 6, 64, split="test"), attention=False).accuracy.values()) < 1


def test_squeezing_below_the_exact_width_is_measured():
    exact = min_exact_width(Vocabulary(), 4)
    acc = accuracy_by_width(parity_task(), 4, [exact, exact - 20], n_per_length=32)
    assert acc[exact] == 1.0 and acc[exact - 20] < 0.9


@pytest.mark.parametrize("kwargs,message", [
    (dict(task=polynomial_task(), max_len=0), "max_len must be at least 1"),
    (dict(task=polynomial_task(), max_len=8, dim=12), "too small"),
    (dict(task=polynomial_task(), max_len=8, mlp_ratio=1, dim=110), "mlp_ratio 1 is too small"),
    (dict(task=IterativeTask("big", (0, 1), tuple(range(30)), lambda s, x: (s + x) % 30), max_len=4,
          vocab=Vocabulary()), "has no token"),
])
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_iteration_head(**kwargs)


def test_orthonormal_directions_are_what_makes_the_exact_width_work():
    from ihlib.handcrafted import feature_directions
    task = polynomial_task()
    exact = min_exact_width(Vocabulary.for_tasks([task]), 4)
    assert accuracy_by_width(task, 4, [exact], n_per_length=32)[exact] == 1.0
    assert accuracy_by_width(task, 4, [exact], n_per_length=32, basis="random")[exact] < 0.9
    q = feature_directions(exact, exact - 1, seed=0, basis="orthonormal")
    assert np.allclose(q.T @ q, np.eye(exact - 1), atol=1e-9)
    with pytest.raises(ValueError, match="orthonormal directions need"):
        feature_directions(exact - 1, exact - 1, seed=0, basis="orthonormal")
    with pytest.raises(ValueError, match="basis must be"):
        feature_directions(10, 3, seed=0, basis="qr")
