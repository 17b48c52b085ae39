"""Named experiments and the result store: cells are the settings the chapters describe, runs are found by their
config (trained once, then loaded; an edited config gets its own directory), pretrained runs are found by name
wherever results are kept, curves-only exports carry no weights, and shipping refuses uncommitted code."""

import json
import sys
from dataclasses import replace

import pytest
import torch

from ihlib.checkpoint import load_checkpoint
from ihlib.config import TrainConfig
from ihlib.experiments import (EXAMPLE_TASK, EXPERIMENTS, Experiment, custom_transfer, data, emergence, positional,
                               transfer, weight_decay, width_length)
from ihlib.metrics import evaluate
from ihlib.presets import CPU_RECIPE, FAST_RECIPE, SMOKE, compared_scale
from ihlib.results import (cache_dir, finished_run, load_or_train, reproduce, results, ship, shipped_snapshots,
                           train_all)
from ihlib.rundir import RunDir, load_run
from ihlib.tasks import IterativeTask
from ihlib.train import train


def test_data_cells_change_one_thing_and_keep_the_step_budget():
    runs = data("cpu")
    assert runs["shuffled_s0"] == replace(CPU_RECIPE, order="shuffled")
    cfg = runs["n256_s1"]
    steps = cfg.epochs * cfg.max_len * cfg.n_per_length // cfg.batch_size
    assert steps == CPU_RECIPE.epochs * CPU_RECIPE.max_len * CPU_RECIPE.n_per_length // CPU_RECIPE.batch_size
    assert replace(cfg, n_per_length=CPU_RECIPE.n_per_length, epochs=CPU_RECIPE.epochs,
                   eval_every=CPU_RECIPE.eval_every, seed=0) == CPU_RECIPE
    assert runs["copy25_s2"] == replace(CPU_RECIPE, task="copy:0.25+parity:0.75", seed=2)
    assert data("paper")["shuffled_s0"].order == "shuffled"  # the paper's recipe is already length-ordered


def test_the_cpu_scale_is_the_papers_recipe_at_lmax_8_and_rates_get_five_seeds():
    assert CPU_RECIPE == replace(TrainConfig(), max_len=8, epochs=300, precision="bf16")
    runs = emergence("cpu")
    assert set(runs) == {f"{t}_s{s}" for t in ("polynomial", "parity") for s in range(5)}
    assert runs["polynomial_s0"].snapshot_epochs == tuple(range(0, 301, 10)) and not runs["parity_s3"].snapshot_epochs
    assert {r for r in transfer("cpu") if r.startswith("finetune_all")} == {f"finetune_all_s{s}" for s in range(5)}
    assert not EXPERIMENTS["emergence"].early_stop and EXPERIMENTS["ablations"].early_stop
    assert EXPERIMENTS["emergence"].ship_weights("cpu", runs["parity_s0"])
    assert not EXPERIMENTS["emergence"].ship_weights("cpu", runs["parity_s1"])
    assert weight_decay("cpu")["decay_nocot_s1"] == replace(CPU_RECIPE, weight_decay=1.0, cot=False, seed=1)


def test_cpu_snapshots_shipped_are_chosen_around_the_measured_rise():
    cfg = emergence("cpu")["polynomial_s0"]
    accuracy = {e: 0.0 for e in range(0, 100, 10)} | {100: 0.35, 110: 0.7, 120: 0.95} | {e: 1.0 for e in range(130, 301, 10)}
    history = [{"epoch": e, "test_accuracy": a} for e, a in sorted(accuracy.items())]
    assert shipped_snapshots(cfg, history, "cpu") == (0, 90, 110, 120, 300)


def test_width_length_gives_every_length_the_same_optimiser_steps():
    runs = width_length("cpu")
    steps = {cfg.epochs * cfg.max_len * cfg.n_per_length // cfg.batch_size for cfg in runs.values()}
    assert len(runs) == 36 and steps == {3840} and runs["d8_L4_s0"].weight_decay == 1.0  # the fast recipe


def test_positional_cells():
    runs = positional("cpu")
    assert len(runs) == 18 and runs["learned_p16_s0"] == replace(FAST_RECIPE, epochs=120, pos_dim=16)
    assert runs["learned_p4_nodecay_s1"] == replace(FAST_RECIPE, epochs=120, pos_dim=4, weight_decay=0.0, seed=1)
    assert not any("nodecay" in name for name in positional("paper"))  # the paper's recipe has no weight decay
    assert runs["frozen_p4_s2"] == replace(FAST_RECIPE, epochs=120, pos_emb="frozen", pos_dim=4, seed=2)
    assert runs["frozen_p4_s2"].frozen_pos_std is None  # N(0, 1), as the authors draw them


def test_transfer_starts_from_the_emergence_models():
    runs = transfer("cpu")
    assert runs["finetune_mlp2_s4"].init_from == "run:cpu/emergence/polynomial_s4" and runs["finetune_mlp2_s4"].only_mlp2
    assert runs["reverse_all_s0"].init_from == "run:cpu/emergence/parity_s0"
    assert runs["reverse_all_s0"].epochs == CPU_RECIPE.epochs
    assert runs["sum_mod5_mlp2_s1"].only_mlp2 and runs["sum_mod5_mlp2_s1"].task_definition == EXAMPLE_TASK.to_dict()


@pytest.fixture()
def results_root(tmp_path, monkeypatch):
    monkeypatch.setenv("IHLIB_RESULTS", str(tmp_path))
    monkeypatch.setenv("IHLIB_PROGRESS", "0")
    return tmp_path


def test_results_train_missing_runs_once_then_load_them(results_root):
    first = results("positional", "smoke")
    directory = cache_dir("positional", "learned_p4_s0", positional("smoke")["learned_p4_s0"], "smoke")
    stamp = (directory.path / "history.csv").stat().st_mtime_ns
    again = results("positional", "smoke")
    assert again == first and (directory.path / "history.csv").stat().st_mtime_ns == stamp
    assert set(first) == set(positional("smoke")) and first["learned_p4_s0"].history == directory.history()
    assert first.cells() == ["learned_p4", "frozen_p4", "learned_p4_nodecay", "frozen_p4_nodecay"]
    assert [r.seed for r in first.cell("frozen_p4")] == [0]


def test_a_run_stopped_early_is_never_reopened(results_root, monkeypatch):
    cfg = replace(SMOKE, task="copy", epochs=200, eval_every=1, lr=3e-3)
    monkeypatch.setitem(EXPERIMENTS, "tiny", Experiment("tiny", "one run", lambda scale: {"a_s0": cfg},
                                                        early_stop=True))
    first = results("tiny", "smoke")["a_s0"].history
    assert first[-1]["epoch"] < 200  # stopped by the rule
    directory = finished_run("tiny", "a_s0", "smoke")
    stamp = (directory.path / "checkpoint.pt").stat().st_mtime_ns
    train_all("tiny", {"a_s0": cfg}, "smoke")
    assert train(cfg, out=directory.path, device="cpu", progress=False).history == first  # no stop rule given
    assert load_or_train("tiny", "a_s0", "smoke").history == first
    assert (directory.path / "checkpoint.pt").stat().st_mtime_ns == stamp


def test_an_edited_custom_task_gets_its_own_runs(results_root):
    for offset in (1, 2):  # a reader edits the task of chapter 7 and runs the cell again
        task = IterativeTask("swap3", (0, 1, 2), (0, 1, 2), lambda s, x, o=offset: (x - s + o) % 3)
        configs = {k: v for k, v in custom_transfer(task, "smoke").items() if "scratch" in k}
        found = results("transfer", "smoke", configs=configs)
        run = load_run(cache_dir("transfer", "swap3_scratch_s0", configs["swap3_scratch_s0"], "smoke").path)
        assert set(found) == {"swap3_scratch_s0"} and run.config.task_definition == task.to_dict()
    assert len(list((results_root / "smoke" / "transfer").iterdir())) == 2


def test_pretrained_runs_are_found_by_name_wherever_results_are_kept(results_root, monkeypatch):
    results("emergence", "smoke", runs=["polynomial_s0"])
    (results_root / "shared").mkdir()
    (results_root / "smoke").rename(results_root / "shared" / "smoke")  # moved, or shared from another machine
    monkeypatch.setenv("IHLIB_RESULTS", str(results_root / "shared"))
    run = load_or_train("transfer", "finetune_all_s0", "smoke")
    assert run.config.init_from == "run:smoke/emergence/polynomial_s0" and len(run.history) > 1
    monkeypatch.setenv("IHLIB_RESULTS", str(results_root / "empty"))
    with pytest.raises(ValueError, match="not trained yet"):
        load_or_train("transfer", "finetune_mlp2_s0", "smoke")


def test_a_run_shipped_without_weights_is_fine_tuned_from_its_cached_weights(results_root, monkeypatch, tmp_path):
    import ihlib.results as store
    results("emergence", "smoke", runs=["polynomial_s0"])
    cfg = EXPERIMENTS["emergence"].runs("smoke")["polynomial_s0"]
    cache_dir("emergence", "polynomial_s0", cfg, "smoke").export(tmp_path / "emergence" / "polynomial_s0", weights=False)
    monkeypatch.setattr(store, "shipped_dir", lambda e, r, s: RunDir(tmp_path / e / r))  # shipped: curves only
    assert finished_run("emergence", "polynomial_s0", "smoke").path == tmp_path / "emergence" / "polynomial_s0"
    assert finished_run("emergence", "polynomial_s0", "smoke", weights=True).has_weights()
    assert len(load_or_train("transfer", "finetune_all_s0", "smoke").history) > 1


def test_with_training_forbidden_a_missing_result_is_a_one_line_error(results_root, monkeypatch):
    monkeypatch.setenv("IHLIB_TRAIN", "0")
    with pytest.raises(ValueError, match="IHLIB_TRAIN=0 forbids training"):
        results("positional", "smoke")
    with pytest.raises(ValueError, match="IHLIB_TRAIN=0 forbids training"):
        load_or_train("emergence", "polynomial_s0", "smoke")
    assert not (results_root / "smoke").exists()
    assert results("recipes", "cpu", cells=["paper_L8"])  # shipped results need no training


def test_reproduce_only_named_runs(results_root, tmp_path, monkeypatch):
    for module in ("ihlib.train", "ihlib.batched"):  # shippable whatever the tree, on a CPU or a GPU
        monkeypatch.setattr(sys.modules[module], "code_revision", lambda: "abc1234")
    reproduce("smoke", ["positional"], ship_to=tmp_path / "out", only=["frozen_p4_s0"])
    assert [p.name.split("-")[0] for p in (results_root / "smoke" / "positional").iterdir()] == ["frozen_p4_s0"]
    assert {p.name for p in (tmp_path / "out" / "positional").iterdir()} == {"frozen_p4_s0"}
    with pytest.raises(ValueError, match="no run 'nope'"):
        reproduce("smoke", ["positional"], only=["nope"])


def test_curves_only_export_drops_weights(results_root, tmp_path):
    results("positional", "smoke", runs=["frozen_p4_s0"])
    dest = tmp_path / "exported"
    dest.mkdir()
    (dest / "checkpoint.pt").write_bytes(b"stale")
    cache_dir("positional", "frozen_p4_s0", positional("smoke")["frozen_p4_s0"], "smoke").export(dest, weights=False)
    assert not (dest / "checkpoint.pt").exists() and {p.name for p in dest.iterdir()} == {"config.json", "history.csv"}
    assert RunDir(dest).finished(positional("smoke")["frozen_p4_s0"])


def test_half_precision_export_keeps_chosen_snapshots_and_records_its_own_evaluation(tmp_path):
    cfg = replace(TrainConfig(max_len=4, n_per_length=32, dim=16, batch_size=32, epochs=4, eval_every=2),
                  snapshot_epochs=(0, 2, 4))
    train(cfg, out=tmp_path / "run", device="cpu", progress=False)
    RunDir(tmp_path / "run").export(tmp_path / "half", half=True, snapshots=(2,))
    state = load_checkpoint(tmp_path / "half" / "checkpoint.pt")
    assert {v.dtype for v in state["model"].values()} == {torch.float16} and set(state["snapshots"]) == {"2"}
    run = load_run(tmp_path / "half")
    assert run.model.tok_emb.weight.dtype == torch.float32 and set(run.snapshots) == {2}
    assert evaluate(run.model, run.test_data).summary() == pytest.approx(state["shipped_evaluation"], nan_ok=True)


def test_ship_refuses_runs_made_from_uncommitted_code(results_root, tmp_path, monkeypatch):
    cfg = replace(SMOKE, epochs=2)
    monkeypatch.setitem(EXPERIMENTS, "tiny", Experiment("tiny", "one run", lambda scale: {"a": cfg}))
    directory = cache_dir("tiny", "a", cfg, "cpu")
    train(cfg, out=directory.path, device="cpu", progress=False)
    record = directory.path / "config.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "code_revision": "abc1234"}))
    assert ship("tiny", "cpu", tmp_path / "out") == ["a"]
    record.write_text(json.dumps({**json.loads(record.read_text()), "code_revision": "abc1234-dirty"}))
    with pytest.raises(ValueError, match="uncommitted"):
        ship("tiny", "cpu", tmp_path / "out")


def test_paper_scale_emergence_and_transfer_are_the_papers_recipe():
    runs = emergence("paper")
    assert set(runs) == {f"{t}_s{s}" for t in ("polynomial", "parity") for s in (0, 1, 2)} | {
        f"polynomial_s{s}" for s in (3, 4, 5)}  # S9, S10's seeds
    assert runs["polynomial_s4"] == replace(runs["polynomial_s0"], seed=4)
    ships = EXPERIMENTS["emergence"].ship_weights
    assert ships("paper", runs["parity_s2"]) and not ships("paper", runs["polynomial_s3"])  # curves only
    assert replace(runs["polynomial_s1"], epochs=1000, snapshot_epochs=(), seed=0) == TrainConfig()
    assert runs["parity_s2"].epochs == 500 and {100, 200, 300} <= set(runs["polynomial_s0"].snapshot_epochs)
    assert shipped_snapshots(runs["polynomial_s0"], [], "paper") == (0, 100, 200, 300)
    assert shipped_snapshots(runs["parity_s1"], [], "paper") == (200,)
    start = transfer("paper")["finetune_mlp2_s1"]
    assert start.init_from == "run:paper/emergence/polynomial_s1" and start.init_epoch == 200
    assert start.only_mlp2 and start.task == "parity" and start.epochs == 50 and start.normalize_residual


def test_a_gpu_defaults_to_the_colab_scale_and_a_cpu_to_the_books(monkeypatch):
    import torch

    from ihlib.settings import get_scale
    monkeypatch.delenv("IHLIB_SCALE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_scale() == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_scale() == "colab"
    monkeypatch.setenv("IHLIB_SCALE", "cpu")  # a reader who wants the shipped runs on a GPU
    assert get_scale() == "cpu"
    monkeypatch.setenv("IHLIB_SCALE", "laptop")
    with pytest.raises(ValueError, match="unknown scale 'laptop'"):
        get_scale()


def test_the_colab_scale_is_seed_0_of_every_cpu_setting_in_float32_compared_with_the_cpu_scale():
    for name, experiment in EXPERIMENTS.items():
        cpu, colab = experiment.runs("cpu"), experiment.runs("colab")
        assert set(colab) == {run for run in cpu if run.endswith("_s0")}, name
        for run, cfg in colab.items():
            expected = cpu[run]
            if expected.precision == "bf16" and "bf16" not in run:  # the cpu recipe's bf16; recipes' bf16 cells stay
                expected = replace(expected, precision="fp32")
            assert cfg == expected, (name, run)  # fine-tuning included: it starts from the cpu scale's shipped model
    assert EXPERIMENTS["transfer"].runs("colab")["finetune_all_s0"].init_from == "run:cpu/emergence/polynomial_s0"
    assert [compared_scale(s) for s in ("smoke", "colab", "cpu", "paper")] == ["smoke", "cpu", "cpu", "paper"]


def test_a_plan_counts_what_is_found_and_prices_what_is_not(results_root):
    from ihlib.results import plan
    assert plan("emergence", "smoke").startswith("smoke/emergence: 0 of 2 runs shipped or cached; training 2 runs:")
    assert "T4" in plan("emergence", "smoke", runs=["parity_s0"])
    results("emergence", "smoke", runs=["polynomial_s0"])
    assert plan("emergence", "smoke", cells=["polynomial"]) == \
        "smoke/emergence: 1 of 1 runs shipped or cached: nothing to train"
    with pytest.raises(ValueError, match="unknown experiment 'nope'"):
        plan("nope", "smoke")
