"""Many runs: the batched (vmap) trainer shares the engine of single runs (same columns, same stopping, snapshots,
fine-tuning, the NaN guard) and matches them; the process grid resumes and never reopens a finished run."""

from dataclasses import replace

import pytest
import torch

import ihlib.batched as batched
from ihlib.batched import train_batched
from ihlib.config import TrainConfig
from ihlib.engine import Converged, TrainingDiverged
from ihlib.grid import run_grid
from ihlib.rundir import RunDir, load_run
from ihlib.train import train

TINY = TrainConfig(max_len=4, n_per_length=32, dim=16, batch_size=32, epochs=3, eval_every=1, order="shuffled",
                   padding=False, dropout=0.0, lr=3e-3)


def test_batched_runs_match_separate_runs():
    configs = [replace(TINY, seed=s) for s in (0, 1, 2)]
    together = train_batched(configs, device="cpu")
    for cfg, run in zip(configs, together):
        alone = train(cfg, device="cpu", progress=False)
        assert [list(row) for row in alone.history] == [list(row) for row in run.history]  # one schema
        for a, b in zip(alone.history[1:], run.history[1:]):
            assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
            assert a["test_accuracy"] == pytest.approx(b["test_accuracy"], abs=1e-3)
        for key, value in alone.model.state_dict().items():
            assert torch.allclose(value, run.model.state_dict()[key], atol=1e-4), key


def test_batched_runs_stop_where_single_runs_stop_and_keep_their_snapshots(tmp_path):
    configs = [replace(TINY, task="copy", seed=s, epochs=60, snapshot_epochs=(0, 2)) for s in (0, 1)]
    together = train_batched(configs, device="cpu", out=tmp_path, names=["a", "b"], until=Converged())
    for cfg, run, name in zip(configs, together, ("a", "b")):
        alone = train(cfg, device="cpu", progress=False, until=Converged())
        assert [r["epoch"] for r in alone.history] == [r["epoch"] for r in run.history]
        assert run.history[-1]["epoch"] < 60 and set(run.snapshots) == {0, 2}
        saved = RunDir(tmp_path / name)
        assert saved.finished(cfg) and saved.history() == run.history
        assert set(saved.load().snapshots) == {0, 2}


def test_batched_fine_tuning_starts_each_run_from_its_own_source(tmp_path):
    for s in (0, 1):
        train(replace(TINY, seed=s), out=tmp_path / f"src{s}", device="cpu", progress=False)
    configs = [replace(TINY, task="parity", seed=s, init_from=str(tmp_path / f"src{s}" / "checkpoint.pt"),
                       only_mlp2=True) for s in (0, 1)]
    for cfg, run in zip(configs, train_batched(configs, device="cpu")):
        src = load_run(tmp_path / f"src{cfg.seed}").model.state_dict()
        for key, value in run.model.state_dict().items():
            assert torch.equal(value, src[key]) != key.startswith("blocks.1.mlp."), key


def test_batched_refuses_mixed_settings_and_stops_on_nan():
    with pytest.raises(ValueError, match="but the seed"):
        train_batched([TINY, replace(TINY, dim=8)], device="cpu")
    with pytest.raises(TrainingDiverged, match="loss became"):
        train_batched([replace(TINY, lr=1e30, seed=s, epochs=20) for s in (0, 1)], device="cpu")


def test_converged_rule_reads_the_history_so_a_resumed_run_stops_where_it_would():
    rule = Converged(level=0.99, patience=2)
    accuracies = (0.0, 0.5, 0.995, 0.9, 0.99, 1.0)
    history = [{"epoch": e, "test_accuracy": a} for e, a in enumerate(accuracies)]
    assert [rule(history[:n]) for n in range(1, 7)] == [False, False, False, False, False, True]


def test_grid_resumes_and_never_reopens_finished_runs(tmp_path):
    configs = {f"s{s}": replace(TINY, task="copy", seed=s, epochs=60) for s in (0, 1)}
    first = run_grid(configs, tmp_path, workers=2, early_stop=True, progress=False)
    assert set(first) == {"s0", "s1"} and all(RunDir(tmp_path / n).finished(c) for n, c in configs.items())
    for name, row in first.items():
        assert RunDir(tmp_path / name).history()[-1]["epoch"] == row["epoch"] < 60  # stopped by the rule
    stamps = {name: (tmp_path / name / "checkpoint.pt").stat().st_mtime_ns for name in configs}
    again = run_grid(configs, tmp_path, workers=2, early_stop=True, progress=False)
    assert again.keys() == first.keys() and all(again[n]["epoch"] == first[n]["epoch"] for n in configs)
    assert all((tmp_path / n / "checkpoint.pt").stat().st_mtime_ns == t for n, t in stamps.items())


def test_batched_group_resumes_after_an_interruption_and_writes_loadable_runs(tmp_path, monkeypatch):
    configs = [replace(TINY, seed=s, epochs=4) for s in (0, 1)]
    names = ["s0", "s1"]
    train_batched(configs, device="cpu", out=tmp_path / "whole", names=names)
    calls, real = [], batched.Ledger.record

    def fail_at_epoch_3(self, *args, **kwargs):  # one call per run per evaluation: epochs 0, 1, 2 pass, 3 fails
        calls.append(1)
        if len(calls) > 3 * len(configs):
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(batched.Ledger, "record", fail_at_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        train_batched(configs, device="cpu", out=tmp_path / "cut", names=names)
    assert list((tmp_path / "cut" / ".batched").iterdir()) and not RunDir(tmp_path / "cut" / "s0").finished()
    monkeypatch.setattr(batched.Ledger, "record", real)
    train_batched(configs, device="cpu", out=tmp_path / "cut", names=names)
    assert not list((tmp_path / "cut" / ".batched").iterdir())
    for name, cfg in zip(names, configs):
        whole, cut = load_run(tmp_path / "whole" / name), load_run(tmp_path / "cut" / name)
        assert whole.config == cfg and len(whole.history) == 5
        strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
        assert strip(RunDir(tmp_path / "cut" / name).history()) == strip(RunDir(tmp_path / "whole" / name).history())
        for key, value in whole.model.state_dict().items():
            assert torch.equal(value, cut.model.state_dict()[key]), key
    with pytest.raises(ValueError, match="cannot be resumed"):
        train(replace(configs[0], epochs=6), out=tmp_path / "whole" / "s0", device="cpu", progress=False)


def test_a_group_cut_after_one_run_stopped_resumes_to_the_uninterrupted_results(tmp_path, monkeypatch):
    configs = [replace(TINY, task="copy", seed=s, epochs=60, dropout=0.1) for s in (0, 1, 2)]  # dropout: RNG restored
    names = ["a", "b", "c"]
    whole = train_batched(configs, device="cpu", out=tmp_path / "whole", names=names, until=Converged())
    stops = sorted(run.history[-1]["epoch"] for run in whole)
    assert stops[0] < stops[-1], stops  # the test needs one run to stop before another
    real = batched.Ledger.record

    def cut_after_the_first_stop(self, epoch, *args, **kwargs):
        if epoch > stops[0]:
            raise KeyboardInterrupt
        return real(self, epoch, *args, **kwargs)

    monkeypatch.setattr(batched.Ledger, "record", cut_after_the_first_stop)
    with pytest.raises(KeyboardInterrupt):
        train_batched(configs, device="cpu", out=tmp_path / "cut", names=names, until=Converged())
    finished = [RunDir(tmp_path / "cut" / n).finished() for n in names]
    assert finished == [run.history[-1]["epoch"] == stops[0] for run in whole] and not all(finished)
    monkeypatch.setattr(batched.Ledger, "record", real)
    cut = train_batched(configs, device="cpu", out=tmp_path / "cut", names=names, until=Converged())
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    for a, b, name in zip(whole, cut, names):
        assert strip(a.history) == strip(b.history) == strip(RunDir(tmp_path / "cut" / name).history())
        for key, value in a.model.state_dict().items():
            assert torch.equal(value, b.model.state_dict()[key]), key
