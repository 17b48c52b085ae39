"""Hook points: names, caching, replacing, removal after errors, shape checks, state dicts, the fused-kernel choice."""

import pytest
import torch
import torch.nn.functional as F

import ihlib.model as model_module
from ihlib.model import ModelConfig, Transformer, attention_patterns, pattern_name
from ihlib.results import finished_run
from ihlib.experiments import EXPERIMENTS

BLOCK = ["hook_resid_pre", "ln1.hook_normalized", "attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_attn_scores",
         "attn.hook_pattern", "attn.hook_z", "hook_attn_out", "hook_resid_mid", "ln2.hook_normalized", "mlp.hook_pre",
         "mlp.hook_post", "hook_mlp_out", "hook_resid_post"]


def small_model(**kw) -> Transformer:
    torch.manual_seed(0)
    return Transformer(ModelConfig(vocab_size=16, n_positions=20, dim=32, **kw)).eval()


def test_hook_names_are_transformerlens_names_in_forward_order():
    model = small_model(n_layers=2)
    expected = ["hook_embed", "hook_pos_embed"] + [f"blocks.{l}.{n}" for l in (0, 1) for n in BLOCK]
    assert model.hook_names() == expected + ["ln_f.hook_normalized"]


def test_cache_holds_every_activation_with_its_shape_and_matches_the_forward_pass():
    model = small_model(n_heads=2)
    idx = torch.randint(0, 16, (3, 11))
    logits, cache = model.run_with_cache(idx)
    assert torch.equal(logits, model(idx))
    assert set(cache) == set(model.hook_names())
    assert cache["blocks.0.attn.hook_q"].shape == (3, 11, 2, 16)
    assert cache["blocks.1.attn.hook_pattern"].shape == (3, 2, 11, 11)
    assert cache["blocks.1.mlp.hook_post"].shape == (3, 11, 128)
    assert cache["ln_f.hook_normalized"].shape == (3, 11, 32)
    assert torch.allclose(cache["blocks.0.attn.hook_pattern"].sum(-1), torch.ones(3, 2, 11))
    blk = model.blocks[1]  # the authors' block: resid_mid = ln1(resid_pre) + attn_out
    assert torch.allclose(cache["blocks.1.hook_resid_mid"],
                          cache["blocks.1.ln1.hook_normalized"] + cache["blocks.1.hook_attn_out"])
    assert torch.allclose(cache["blocks.1.hook_resid_post"],
                          cache["blocks.1.hook_resid_mid"] + cache["blocks.1.hook_mlp_out"])
    assert torch.allclose(cache["blocks.1.hook_attn_out"], blk.attn.out(cache["blocks.1.attn.hook_z"].flatten(2)))
    assert torch.allclose(model.unembed(cache["ln_f.hook_normalized"]), logits)
    only, small = model.run_with_cache(idx, names=lambda n: n.endswith("hook_pattern"))
    assert list(small) == [pattern_name(1), pattern_name(2)] and torch.equal(only, logits)


def test_a_hook_replaces_an_activation_and_changes_what_follows():
    model = small_model()
    idx = torch.randint(0, 16, (2, 9))
    uniform = lambda p, hook: torch.tril(torch.ones_like(p)) / torch.tril(torch.ones_like(p)).sum(-1, keepdim=True)
    patched = model.run_with_hooks(idx, fwd_hooks=[(pattern_name(2), uniform)])
    _, cache = model.run_with_cache(idx, names=[pattern_name(2)], fwd_hooks=[(pattern_name(2), uniform)])
    assert torch.allclose(cache[pattern_name(2)][0, 0, 3], torch.full((9,), 0.25).masked_fill(torch.arange(9) > 3, 0))
    assert not torch.allclose(patched, model(idx))
    zero_mlp = model.run_with_hooks(idx, fwd_hooks=[("blocks.1.hook_mlp_out", lambda x, hook: torch.zeros_like(x))])
    _, cache = model.run_with_cache(idx)
    assert torch.allclose(zero_mlp, model.unembed(model.ln_f(cache["blocks.1.hook_resid_mid"])), atol=1e-5)


def test_hooks_are_removed_after_the_pass_and_after_an_exception():
    model = small_model()
    idx = torch.randint(0, 16, (2, 9))
    seen = []
    model.run_with_hooks(idx, fwd_hooks=[("hook_embed", lambda x, hook: seen.append(hook.name))])
    assert seen == ["hook_embed"] and all(not p.fns for p in model.hook_points().values())

    def boom(x, hook):
        raise RuntimeError("inside a hook")

    with pytest.raises(RuntimeError, match="inside a hook"):
        model.run_with_hooks(idx, fwd_hooks=[("blocks.0.hook_resid_post", boom)])
    assert all(not p.fns for p in model.hook_points().values())
    model(idx)  # no hook left to raise


def test_bad_hook_names_and_shapes_fail_with_what_was_expected():
    model = small_model()
    idx = torch.randint(0, 16, (2, 9))
    with pytest.raises(ValueError, match=r"unknown hook point 'blocks.0.hook_pattern'.*blocks.0.attn.hook_pattern"):
        model.run_with_cache(idx, names=["blocks.0.hook_pattern"])
    with pytest.raises(ValueError, match=r"blocks.1.hook_mlp_out returned \(2, 9, 5\), expected .* \(2, 9, 32\)"):
        model.run_with_hooks(idx, fwd_hooks=[("blocks.1.hook_mlp_out", lambda x, hook: x[..., :5])])
    assert all(not p.fns for p in model.hook_points().values())


def test_hook_points_hold_no_parameters_and_every_shipped_model_loads():
    model = small_model()
    assert all(not list(p.parameters()) and not list(p.buffers()) for p in model.hook_points().values())
    keys = {"tok_emb.weight", "pos_emb.weight", "ln_f.weight", "unembed.weight"} | {
        f"blocks.{l}.{k}.weight" for l in (0, 1) for k in ("ln1", "attn.qkv", "attn.out", "ln2", "mlp.fc", "mlp.proj")}
    assert set(model.state_dict()) == keys
    loaded = 0
    for scale in ("cpu", "paper"):
        for name, exp in EXPERIMENTS.items():
            for run in exp.runs(scale):
                directory = finished_run(name, run, scale, weights=True)
                if directory is None or not directory.has_weights():
                    continue
                trained = directory.load().model  # load_state_dict is strict: the keys are the same
                tokens = torch.ones(1, 4, dtype=torch.long)
                logits, cache = trained.run_with_cache(tokens, names=[pattern_name(2)])
                assert cache[pattern_name(2)].shape == (1, trained.cfg.n_heads, 4, 4)
                loaded += 1
    assert loaded >= 10


def test_the_fused_kernel_is_taken_unless_the_pattern_or_scores_are_hooked(monkeypatch):
    model = small_model(n_heads=2)
    idx = torch.randint(0, 16, (3, 15))
    calls = []
    real = F.scaled_dot_product_attention
    monkeypatch.setattr(model_module.F, "scaled_dot_product_attention",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    cpu_path = model(idx)
    assert calls == []  # a CPU takes plain matmuls
    monkeypatch.setattr(model_module, "use_fused_kernel", lambda device: True)  # the GPU's choice, run on the CPU
    fused = model(idx)
    assert len(calls) == 2 and torch.allclose(fused, cpu_path, atol=1e-5)
    model.run_with_cache(idx, names=["blocks.0.hook_resid_post", "blocks.1.attn.hook_z"])
    assert len(calls) == 4  # hooks elsewhere keep the fused kernel
    calls.clear()
    _, maps = attention_patterns(model, idx)
    model.run_with_hooks(idx, fwd_hooks=[("blocks.0.attn.hook_attn_scores", lambda s, hook: None)])
    assert len(calls) == 1  # layer 2 of the second pass, whose scores nobody hooks
    model.set_fused_attention(False)
    model(idx)
    assert len(calls) == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (scripts/gpu_runs.sh runs it on the GPU)")
def test_on_a_gpu_the_fused_kernel_is_taken_and_hooks_still_work():
    model = small_model(n_heads=2).cuda()
    idx = torch.randint(0, 16, (3, 15), device="cuda")
    assert model.blocks[0].attn.takes_fused(idx.device)
    fused = model(idx)
    explicit, cache = model.run_with_cache(idx, names=[pattern_name(1), pattern_name(2)])
    assert torch.allclose(fused, explicit, atol=1e-4) and cache[pattern_name(2)].device.type == "cuda"
    assert all(not p.fns for p in model.hook_points().values())
