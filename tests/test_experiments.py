"""Named experiments: their cells are the settings the chapters describe, histories are trained once and then
loaded, curves-only exports carry no weights, and a custom task's runs rebuild it from their configs alone."""

import json
import sys
from dataclasses import replace

import pytest
import torch

from ihlib.checkpoint import load_checkpoint
from ihlib.experiments import (CPU_RECIPE, EXAMPLE_TASK, EXPERIMENTS, SMOKE, Experiment, custom_transfer, data,
                               emergence, export, histories, positional, read_history, reproduce, ship, shipped_snapshots,
                               transfer)
from ihlib.metrics import evaluate
from ihlib.tasks import IterativeTask
from ihlib.train import TrainConfig, load_run, train


def test_data_cells_change_one_thing_and_keep_the_step_budget():
    runs = data("cpu")
    assert runs["length_order_s0"] == replace(CPU_RECIPE, order="length")
    for n in (256, 512):
        cfg = runs[f"n{n}_s1"]
        steps = cfg.epochs * cfg.max_len * cfg.n_per_length // cfg.batch_size
        assert steps == CPU_RECIPE.epochs * CPU_RECIPE.max_len * CPU_RECIPE.n_per_length // CPU_RECIPE.batch_size
        assert replace(cfg, n_per_length=CPU_RECIPE.n_per_length, epochs=CPU_RECIPE.epochs,
                       eval_every=CPU_RECIPE.eval_every, seed=0) == CPU_RECIPE
    assert runs["copy25_s2"] == replace(CPU_RECIPE, task="copy:0.25+parity:0.75", seed=2)


def test_positional_cells():
    runs = positional("cpu")
    assert len(runs) == 12 and runs["learned_p16_s0"] == replace(CPU_RECIPE, pos_dim=16)
    # the shipped cpu runs drew frozen positions N(0, 1/pos_dim), as the code did then
    assert runs["frozen_p4_s2"] == replace(CPU_RECIPE, pos_emb="frozen", pos_dim=4, seed=2, frozen_pos_std=0.5)
    assert positional("paper")["frozen_p4_s2"].frozen_pos_std is None


def test_transfer_includes_reverse_and_the_example_task():
    runs = transfer("cpu")
    assert runs["reverse_all_s0"].init_from.endswith("ablations/parity_cot_s0/checkpoint.pt")
    assert runs["reverse_all_s0"].epochs == CPU_RECIPE.epochs
    assert runs["sum_mod5_mlp2_s1"].only_mlp2 and runs["sum_mod5_mlp2_s1"].task_definition == EXAMPLE_TASK.to_dict()


@pytest.fixture()
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("IHLIB_RESULTS", str(tmp_path))
    monkeypatch.setenv("IHLIB_PROGRESS", "0")
    return tmp_path


def test_histories_train_missing_runs_once_then_load_them(results):
    first = histories("positional", "smoke")
    path = results / "smoke" / "positional" / "learned_p4_s0" / "history.csv"
    stamp = path.stat().st_mtime_ns
    again = histories("positional", "smoke")
    assert again == first and path.stat().st_mtime_ns == stamp and set(first) == set(positional("smoke"))
    assert first["learned_p4_s0"] == read_history(path)


def test_reproduce_only_named_runs(results, tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules["ihlib.train"], "code_revision", lambda: "abc1234")  # shippable whatever the working tree
    reproduce("smoke", ["positional"], out=str(tmp_path / "out"), only=["frozen_p4_s0"])
    assert [p.name for p in (results / "smoke" / "positional").iterdir()] == ["frozen_p4_s0"]
    with pytest.raises(ValueError, match="no run 'nope'"):
        reproduce("smoke", ["positional"], only=["nope"])


def test_curves_only_export_drops_weights(results, tmp_path):
    histories("positional", "smoke", runs=["frozen_p4_s0"])
    dest = tmp_path / "exported"
    dest.mkdir()
    (dest / "checkpoint.pt").write_bytes(b"stale")
    export(results / "smoke" / "positional" / "frozen_p4_s0", dest, weights=False)
    assert not (dest / "checkpoint.pt").exists() and {p.name for p in dest.iterdir()} == {"config.json", "history.csv"}


def test_a_custom_task_run_is_rebuilt_from_its_config(results):
    task = IterativeTask("swap3", (0, 1, 2), (0, 1, 2), lambda s, x: (x - s) % 3)
    configs = {k: v for k, v in custom_transfer(task, "smoke").items() if "scratch" in k}
    found = histories("transfer", "smoke", configs=configs)
    run = load_run(results / "smoke" / "transfer" / "swap3_scratch_s0")
    assert set(found) == {"swap3_scratch_s0"} and run.config.task_definition == task.to_dict()
    assert TrainConfig.from_dict(run.config.to_dict()) == configs["swap3_scratch_s0"]


def test_half_precision_export_keeps_chosen_snapshots_and_records_its_own_evaluation(results, tmp_path):
    cfg = replace(TrainConfig(max_len=4, n_per_length=32, dim=16, batch_size=32, epochs=4, eval_every=2),
                  snapshot_epochs=(0, 2, 4))
    train(cfg, out=results / "run", device="cpu", progress=False)
    export(results / "run", tmp_path / "half", half=True, snapshots=(2,))
    state = load_checkpoint(tmp_path / "half" / "checkpoint.pt")
    assert {v.dtype for v in state["model"].values()} == {torch.float16} and set(state["snapshots"]) == {"2"}
    run = load_run(tmp_path / "half")
    assert run.model.tok_emb.weight.dtype == torch.float32 and set(run.snapshots) == {2}
    assert evaluate(run.model, run.test_data).summary() == pytest.approx(state["shipped_evaluation"], nan_ok=True)


def test_ship_refuses_runs_made_from_uncommitted_code(results, tmp_path, monkeypatch):
    cfg = replace(SMOKE, epochs=2)
    monkeypatch.setitem(EXPERIMENTS, "tiny", Experiment("tiny", "one run", lambda scale: {"a": cfg}))
    train(cfg, out=results / "cpu" / "tiny" / "a", device="cpu", progress=False)
    record = results / "cpu" / "tiny" / "a" / "config.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "code_revision": "abc1234"}))
    assert ship("tiny", "cpu", tmp_path / "out") == ["a"]
    record.write_text(json.dumps({**json.loads(record.read_text()), "code_revision": "abc1234-dirty"}))
    with pytest.raises(ValueError, match="uncommitted"):
        ship("tiny", "cpu", tmp_path / "out")


def test_paper_scale_emergence_and_transfer_are_the_papers_recipe():
    runs = emergence("paper")
    assert set(runs) == {f"{t}_s{s}" for t in ("polynomial", "parity") for s in (0, 1, 2)}
    assert replace(runs["polynomial_s1"], epochs=1000, snapshot_epochs=(), seed=0) == TrainConfig()
    assert runs["parity_s2"].epochs == 500 and {100, 200, 300} <= set(runs["polynomial_s0"].snapshot_epochs)
    assert shipped_snapshots(runs["polynomial_s0"]) == (0, 100, 200, 300) and shipped_snapshots(runs["parity_s1"]) == (200,)
    start = transfer("paper")["finetune_mlp2_s1"]
    assert start.init_from == "ihlib:paper/emergence/polynomial_s1/checkpoint.pt" and start.init_epoch == 200
    assert start.only_mlp2 and start.task == "parity" and start.epochs == 50 and start.normalize_residual
