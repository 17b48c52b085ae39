"""Causal masking, attention maps on request, and metrics on hand-made attention maps."""

import numpy as np
import pytest
import torch

from ihlib.metrics import attention_stats, evaluate, ideal_attention, reported_lengths
import ihlib.model as model_module
from ihlib.handcrafted import build_iteration_head, mlp_units
from ihlib.model import ModelConfig, Transformer, attention_patterns
from ihlib.tasks import get_task, make_dataset, polynomial_task


def small_model(**kw):
    torch.manual_seed(0)
    return Transformer(ModelConfig(vocab_size=16, n_positions=20, dim=32, **kw)).eval()


def test_changing_a_later_token_never_changes_earlier_logits():
    model = small_model(n_layers=3, n_heads=2)
    idx = torch.randint(0, 16, (4, 20))
    changed = idx.clone()
    changed[:, 12:] = torch.randint(0, 16, (4, 8))
    for forward in (model, lambda x: attention_patterns(model, x)[0]):
        a, b = forward(idx), forward(changed)
        assert torch.allclose(a[:, :12], b[:, :12], atol=1e-6)
        assert not torch.allclose(a[:, 12:], b[:, 12:])


def test_attention_maps_only_on_request_and_fused_path_agrees(monkeypatch):
    model = small_model(n_heads=2)
    idx = torch.randint(0, 16, (3, 15))
    monkeypatch.setattr(model_module, "use_fused_kernel", lambda device: True)  # the GPU's path, run on the CPU
    plain = model(idx)
    explicit, maps = attention_patterns(model, idx)
    assert torch.allclose(plain, explicit, atol=1e-5)
    assert len(maps) == 2 and maps[0].shape == (3, 2, 15, 15)
    assert torch.allclose(maps[1].sum(-1), torch.ones(3, 2, 15))
    assert (maps[0].triu(1) == 0).all()


def test_peakiness_is_one_on_ideal_maps_and_zero_on_uniform():
    for length in (1, 4, 9):
        for layer in (1, 2):
            ideal = torch.tensor(ideal_attention(length, layer)).expand(5, -1, -1)
            stats = attention_stats(ideal, length, layer)
            assert stats.peakiness == 1.0 and stats.mean == 1.0 and stats.invariance == 1.0
            t = 2 * length + 2
            uniform = torch.tril(torch.ones(t, t))
            uniform = (uniform / uniform.sum(-1, keepdim=True)).expand(5, -1, -1)
            assert attention_stats(uniform, length, layer).peakiness == 0.0


def test_ideal_layer2_map_points_at_the_inputs():
    attn = ideal_attention(3, 2)  # EoI at 4: rows 4,5,6 -> keys 1,2,3
    assert [int(np.argmax(attn[q])) for q in (4, 5, 6)] == [1, 2, 3]
    assert [int(np.argmax(ideal_attention(3, 1)[q])) for q in (5, 6, 7)] == [4, 4, 4]


def test_reported_lengths():
    assert reported_lengths(16) == list(range(4, 17)) and reported_lengths(3) == [1, 2, 3]


def test_evaluate_shapes_and_untrained_model_fails():
    data = make_dataset(polynomial_task(), 5, 32, split="test")
    model = Transformer(ModelConfig(16, 12, dim=32))
    result = evaluate(model, data)
    assert set(result.accuracy) == {1, 2, 3, 4, 5} and set(result.attention) == {1, 2}
    summary = result.summary()
    assert summary["accuracy"] < 0.2 and summary["peakiness_layer2"] < 0.2  # near-uniform attention: no head
    assert model.training  # evaluate restores the mode


def test_authors_block_normalises_the_residual_stream_and_pre_ln_keeps_it():
    idx = torch.randint(0, 16, (2, 9))
    for normalize in (True, False):
        model = small_model(n_layers=1, normalize_residual=normalize)
        block = model.blocks[0]
        x = model.tok_emb(idx) + model.pos_emb(torch.arange(9))
        h = block.ln1(x)
        x = (h if normalize else x) + block.attn(h)
        x = x + block.mlp(block.ln2(x))
        assert torch.allclose(model(idx), model.unembed(model.ln_f(x)), atol=1e-5)
    assert not torch.allclose(small_model(normalize_residual=True)(idx), small_model(normalize_residual=False)(idx))


def test_frozen_positions_are_drawn_like_learned_ones_and_never_trained():
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=16, n_positions=34, dim=128, pos_emb="frozen"))
    assert not model.pos_emb.weight.requires_grad
    assert 0.95 < float(model.pos_emb.weight.std()) < 1.05  # N(0, 1) like nn.Embedding's learned rows


def test_recorded_model_configs_without_the_block_field_are_refused():
    d = ModelConfig(16, 20).to_dict()
    assert ModelConfig.from_dict(d) == ModelConfig(16, 20) and ModelConfig(16, 20).normalize_residual
    del d["normalize_residual"]
    with pytest.raises(ValueError, match="retrain it"):
        ModelConfig.from_dict(d)


def test_authors_accuracy_counts_the_whole_eos_tail():
    task = get_task("copy")
    model = build_iteration_head(task, 5)
    data = make_dataset(task, 5, 64, split="test")
    result = evaluate(model, data, attention=False)
    assert all(a == 1.0 for a in result.accuracy.values()) and all(a == 1.0 for a in result.accuracy_to_eos.values())
    with torch.no_grad():  # forget the rule 'EoS after EoS': the padding tail goes wrong, the rest stays right
        model.blocks[1].mlp.fc.weight[mlp_units(task, 5)[1] - 1].zero_()  # the last unit of the lookup table
    broken = evaluate(model, data, attention=False)
    assert all(a == 1.0 for a in broken.accuracy_to_eos.values())
    assert broken.accuracy[5] == 1.0  # the longest sequences have no tail after their EoS
    assert all(broken.accuracy[n] < 1.0 for n in range(1, 5))


def test_the_cost_model_counts_what_training_does():
    from dataclasses import replace

    from ihlib.cost import GPUS, THIS_CPU, describe, run_flops, steps, train_epoch_flops
    from ihlib.train import TrainConfig
    paper = TrainConfig()
    # a padded epoch costs the same at every length; without padding short sequences are cheaper
    assert train_epoch_flops(replace(paper, padding=False)) < train_epoch_flops(paper)
    assert train_epoch_flops(replace(paper, dim=256)) > 3.5 * train_epoch_flops(paper)
    train, evaluation = run_flops(paper)
    assert train == 1000 * train_epoch_flops(paper) and 0 < evaluation < train and steps(paper) == 64_000
    # the count matches PyTorch's own FLOP counter on one padded batch, forward and backward
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from ihlib.model import Transformer
    from ihlib.tasks import Vocabulary
    small = replace(paper, max_len=4, n_per_length=8, batch_size=8)
    model = Transformer(small.model_config(Vocabulary().size))
    tokens = torch.zeros(8, small.seq_len - 1, dtype=torch.long)
    with FlopCounterMode(display=False) as counter:
        model(tokens).sum().backward()
    per_length = train_epoch_flops(small) / small.max_len  # one length's 8 sequences: one batch
    assert abs(counter.get_total_flops() / per_length - 1) < 0.05
    assert THIS_CPU.seconds(replace(paper, precision="bf16")) < THIS_CPU.seconds(paper)
    assert GPUS["A100"].seconds(paper) < GPUS["T4"].seconds(paper) < THIS_CPU.seconds(paper)
    assert describe([paper, paper]).startswith("training 2 runs")


def test_a_gpu_estimate_counts_a_batched_groups_launches_once():
    from dataclasses import replace

    from ihlib.cost import GPUS, steps
    from ihlib.train import TrainConfig
    t4, paper = GPUS["T4"], TrainConfig(epochs=10)
    seeds = [replace(paper, seed=s) for s in range(3)]
    launches = steps(paper) * t4.step_overhead
    assert abs(t4.grouped_seconds(seeds) - (3 * t4.seconds(paper) - 2 * launches)) < 1e-6
    other = replace(paper, dim=64)  # another setting: a group of its own, its launches paid again
    assert abs(t4.grouped_seconds([*seeds, other]) - t4.grouped_seconds(seeds) - t4.seconds(other)) < 1e-6
