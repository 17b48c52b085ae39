"""Many runs: the batched (vmap) trainer matches separate runs, and the process grid writes, resumes and stops early."""

import json

import pytest
import torch

import ihlib.batched as batched
from ihlib.batched import train_batched
from ihlib.experiments import _train_all, read_history
from ihlib.grid import Converged, run_grid
from ihlib.train import TrainConfig, load_run, train

TINY = TrainConfig(max_len=4, n_per_length=32, dim=16, batch_size=32, epochs=3, eval_every=1, order="shuffled",
                   padding=False, dropout=0.0, lr=3e-3)


def test_batched_runs_match_separate_runs():
    configs = [TrainConfig(**{**TINY.to_dict(), "seed": s}) for s in (0, 1, 2)]
    batched = train_batched(configs, device="cpu")
    for cfg, run in zip(configs, batched):
        alone = train(cfg, device="cpu", progress=False)
        for a, b in zip(alone.history[1:], run.history[1:]):
            assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
            assert a["test_accuracy"] == pytest.approx(b["test_accuracy"], abs=1e-3)
        for key, value in alone.model.state_dict().items():
            assert torch.allclose(value, run.model.state_dict()[key], atol=1e-4), key


def test_batched_refuses_mixed_settings():
    with pytest.raises(ValueError, match="but the seed"):
        train_batched([TINY, TrainConfig(**{**TINY.to_dict(), "dim": 8})], device="cpu")
    with pytest.raises(ValueError, match="snapshots"):
        train_batched([TrainConfig(**{**TINY.to_dict(), "snapshot_epochs": (2,)})], device="cpu")


def test_converged_rule():
    rule = Converged(level=0.99, patience=2)
    assert [rule({"test_accuracy": a}) for a in (0.5, 0.995, 0.9, 0.99, 1.0)] == [False, False, False, False, True]


def test_grid_writes_results_resumes_and_stops_early(tmp_path):
    configs = {f"s{s}": TrainConfig(**{**TINY.to_dict(), "task": "copy", "seed": s, "epochs": 40}) for s in (0, 1)}
    first = run_grid(configs, tmp_path, workers=2, early_stop=True, progress=False)
    assert set(first) == {"s0", "s1"}
    for name, result in first.items():
        saved = json.loads((tmp_path / name / "result.json").read_text())
        assert saved["epoch"] == result["epoch"] and saved["stopped_early"] == (result["epoch"] < 40)
    mtimes = {name: (tmp_path / name / "result.json").stat().st_mtime for name in configs}
    again = run_grid(configs, tmp_path, workers=2, early_stop=True, progress=False)
    assert again == first and all((tmp_path / n / "result.json").stat().st_mtime == t for n, t in mtimes.items())


def test_batched_group_resumes_after_an_interruption_and_writes_loadable_runs(tmp_path, monkeypatch):

    configs = {f"s{s}": TrainConfig(**{**TINY.to_dict(), "seed": s, "epochs": 4}) for s in (0, 1)}
    _train_all(configs, tmp_path / "whole", early_stop=False, device="cpu", batched=True)
    calls, real = [], batched.evaluation_row

    def fail_at_epoch_3(*args, **kwargs):  # one call per run per evaluation: epochs 0, 1, 2 pass, 3 fails
        calls.append(1)
        if len(calls) > 3 * len(configs):
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(batched, "evaluation_row", fail_at_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        _train_all(configs, tmp_path / "cut", early_stop=False, device="cpu", batched=True)
    assert list((tmp_path / "cut" / ".batched").iterdir()) and not (tmp_path / "cut" / "s0").exists()
    monkeypatch.setattr(batched, "evaluation_row", real)
    _train_all(configs, tmp_path / "cut", early_stop=False, device="cpu", batched=True)
    assert not list((tmp_path / "cut" / ".batched").iterdir())
    for name, cfg in configs.items():
        whole, cut = load_run(tmp_path / "whole" / name), load_run(tmp_path / "cut" / name)
        assert whole.config == cfg and len(whole.history) == 5
        assert read_history(tmp_path / "cut" / name / "history.csv") == \
            read_history(tmp_path / "whole" / name / "history.csv")
        for key, value in whole.model.state_dict().items():
            assert torch.equal(value, cut.model.state_dict()[key]), key
    with pytest.raises(ValueError, match="cannot be resumed"):
        train(TrainConfig(**{**TINY.to_dict(), "seed": 0, "epochs": 6}), out=tmp_path / "whole" / "s0", device="cpu",
              progress=False)
