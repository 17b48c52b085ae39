"""The cluster path of ``reproduce`` (submitit), run with its local executor at smoke scale: one job per cell, runs
trained into the shared store, and a second submission trains nothing."""

import pytest

pytest.importorskip("submitit")

from ihlib.__main__ import main  # noqa: E402
from ihlib.cluster import ClusterOptions, cells, submit  # noqa: E402
from ihlib.experiments import EXPERIMENTS  # noqa: E402
from ihlib.results import cache_dir  # noqa: E402


def test_cells_group_the_seeds_of_each_cell_and_skip_shipped_runs():
    groups = cells("ablations", "paper")
    assert ["polynomial_nocot_s0", "polynomial_nocot_s1", "polynomial_nocot_s2"] in groups
    assert sum(map(len, groups)) == len(EXPERIMENTS["ablations"].runs("paper"))
    assert cells("ablations", "paper", only=["parity_nocot_s1"]) == [["parity_nocot_s1"]]
    assert cells("recipes", "cpu") == []  # every cpu run of it ships: nothing to submit


def test_local_jobs_train_each_cell_once(tmp_path, monkeypatch):
    monkeypatch.setenv("IHLIB_RESULTS", str(tmp_path / "results"))
    options = ClusterOptions(logs=str(tmp_path / "logs"), timeout_min=10)
    runs = EXPERIMENTS["emergence"].runs("smoke")
    done = submit("smoke", ["emergence"], "local", options, device="cpu")
    assert sorted(done["emergence"]) == sorted(runs)
    dirs = {name: cache_dir("emergence", name, cfg, "smoke") for name, cfg in runs.items()}
    assert all(d.finished(runs[name]) for name, d in dirs.items())
    before = {name: (d.path / "history.csv").stat().st_mtime_ns for name, d in dirs.items()}
    assert submit("smoke", ["emergence"], "local", options, device="cpu") == done  # nothing left to train
    assert {name: (d.path / "history.csv").stat().st_mtime_ns for name, d in dirs.items()} == before
    assert list((tmp_path / "logs").glob("*_log.out"))  # each job's output is kept


def test_bad_executor_and_experiment_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="executor must be"):
        submit("smoke", ["emergence"], "kubernetes")
    with pytest.raises(ValueError, match="unknown experiment"):
        submit("smoke", ["nope"], "local", ClusterOptions(logs=str(tmp_path)))
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "--scale", "smoke", "--executor", "pbs"])
    assert exit_.value.code == 2 and "invalid choice: 'pbs'" in capsys.readouterr().err
