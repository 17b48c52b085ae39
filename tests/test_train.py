"""Determinism, resume after a kill, fine-tuning, and the CLI's answers to bad input."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import torch

from ihlib.checkpoint import load_checkpoint, save_checkpoint
from ihlib.tasks import IterativeTask, Vocabulary, parity_task
from ihlib.config import TrainConfig
from ihlib.engine import evaluation_row
from ihlib.rundir import RunDir, RunDirError, load_run
from ihlib.train import resumed_revision, train

TINY = dict(max_len=4, n_per_length=32, dim=16, batch_size=32, epochs=4, eval_every=2)
ENV = {**os.environ, "IHLIB_PROGRESS": "0"}


def cli(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "ihlib", *map(str, args)], capture_output=True, text=True, env=ENV)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def without_time(history):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


@pytest.mark.parametrize("order,padding", [("length", True), ("shuffled", False)])
def test_same_seed_same_history_bit_for_bit(order, padding):
    cfg = TrainConfig(**TINY, order=order, padding=padding)
    a, b = train(cfg, device="cpu", progress=False), train(cfg, device="cpu", progress=False)
    assert without_time(a.history) == without_time(b.history)
    other = train(TrainConfig(**TINY, order=order, padding=padding, seed=1), device="cpu", progress=False)
    assert without_time(a.history) != without_time(other.history)


def test_bf16_training_is_deterministic_and_differs_from_fp32():
    cfg = TrainConfig(**TINY, precision="bf16")
    a, b = train(cfg, device="cpu", progress=False), train(cfg, device="cpu", progress=False)
    assert without_time(a.history) == without_time(b.history)
    fp32 = train(TrainConfig(**TINY), device="cpu", progress=False)
    assert without_time(a.history) != without_time(fp32.history)


def test_the_default_block_is_the_authors_and_precision_is_checked():
    assert TrainConfig().normalize_residual and TrainConfig.from_dict(TrainConfig().to_dict()).normalize_residual
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="fp8")


def test_a_resumed_run_records_every_revision_that_trained_it():
    assert resumed_revision("abc", "abc") == "abc" and resumed_revision("abc-dirty", "def") == "abc-dirty+def"
    assert resumed_revision("abc+def", "def") == "abc+def" and resumed_revision(None, "def") is None


def test_a_record_older_than_the_recorded_block_is_refused():
    d = TrainConfig().to_dict()
    del d["normalize_residual"]
    with pytest.raises(ValueError, match="recorded before ihlib recorded its block"):
        TrainConfig.from_dict(d)


def test_training_learns_copy():
    run = train(TrainConfig(task="copy", max_len=4, n_per_length=64, dim=32, batch_size=32, epochs=60,
                            eval_every=1, lr=3e-3), device="cpu", progress=False)
    assert run.history[-1]["test_accuracy"] > 0.8 and run.history[-1]["loss"] < run.history[1]["loss"]


def test_resume_after_kill_gives_the_uninterrupted_history(tmp_path):
    args = ["train", "--task", "parity", "--max-len", 4, "--n-per-length", 64, "--dim", 16, "--batch-size", 16,
            "--epochs", 60, "--eval-every", 2, "--order", "shuffled", "--seed", 5]
    cli(*args, "--out", tmp_path / "full")
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "ihlib", *map(str, args), "--out", str(killed)], env=ENV)
    while True:
        history = killed / "history.csv"
        if history.exists() and len(history.read_text().splitlines()) >= 4:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    interrupted_at = load_checkpoint(killed / "checkpoint.pt")["epoch"]
    assert 0 < interrupted_at < 60
    cli(*args, "--out", killed)
    full = load_checkpoint(tmp_path / "full" / "checkpoint.pt")
    resumed = load_checkpoint(killed / "checkpoint.pt")
    assert without_time(full["history"]) == without_time(resumed["history"])
    for key, value in full["model"].items():
        assert torch.equal(value, resumed["model"][key])
    rows = list(csv.DictReader(open(killed / "history.csv")))
    assert {"epoch", "step", "seconds", "train_accuracy", "test_accuracy", "peakiness_layer1",
            "peakiness_layer2"} <= set(rows[0]) and rows[-1]["epoch"] == "60"
    assert json.loads((killed / "config.json").read_text())["task"] == "parity"


def test_fine_tune_only_mlp2_changes_only_mlp2(tmp_path):
    train(TrainConfig(**TINY), out=tmp_path / "poly", device="cpu", progress=False)
    src = load_checkpoint(tmp_path / "poly" / "checkpoint.pt")["model"]
    run = train(TrainConfig(**{**TINY, "dim": 999}, task="parity", init_from=str(tmp_path / "poly" / "checkpoint.pt"),
                            only_mlp2=True), out=tmp_path / "ft", device="cpu", progress=False)
    assert run.config.dim == 16  # the architecture comes from the checkpoint
    for key, value in run.model.state_dict().items():
        assert torch.equal(value, src[key]) != key.startswith("blocks.1.mlp."), key


def test_fine_tuning_from_a_snapshot_starts_from_its_weights(tmp_path):
    src = train(TrainConfig(**{**TINY, "snapshot_epochs": (2,)}), out=tmp_path / "src", device="cpu", progress=False)
    cfg = TrainConfig(**{**TINY, "epochs": 1, "eval_every": 1}, task="parity", init_from=str(tmp_path / "src" /
                      "checkpoint.pt"), init_epoch=2)
    run = train(cfg, device="cpu", progress=False)
    start = evaluation_row(src.model_at(2), run.train_data, run.test_data)
    assert {k: run.history[0][k] for k in start} == start
    assert run.history[0]["mean_layer2"] != evaluation_row(src.model, run.train_data, run.test_data)["mean_layer2"]
    with pytest.raises(ValueError, match="no snapshot at epoch 3"):
        train(replace(cfg, init_epoch=3), device="cpu", progress=False)


def test_evaluate_cli_prints_json(tmp_path):
    train(TrainConfig(**TINY), out=tmp_path / "run", device="cpu", progress=False)
    out = json.loads(cli("evaluate", tmp_path / "run" / "checkpoint.pt").stdout)
    assert out["task"] == "polynomial" and set(out["test_accuracy_per_length"]) == {"1", "2", "3", "4"}
    out = json.loads(cli("evaluate", tmp_path / "run", "--task", "parity", "--max-len", 3).stdout)
    assert out["task"] == "parity" and out["max_len"] == 3
    assert load_run(tmp_path / "run").history[-1]["epoch"] == 4


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("trained")
    train(TrainConfig(**TINY), out=out, device="cpu", progress=False)
    return out


@pytest.mark.parametrize("args,message", [
    (["train", "--task", "sorting"], "unknown task"),
    (["train", "--dim", "0"], "must be positive"),
    (["train", "--max-len", "-3"], "must be positive"),
    (["train", "--epochs", "0"], "must be positive"),
    (["train", "--only-mlp2"], "give init_from too"),
    (["train", "--out", "{afile}"], "is a file"),
    (["train", "--out", ""], "empty path"),
    (["train", "--out", "{notrun}"], "not an ihlib run"),
    (["train", "--device", "nope"], "unknown device"),
    (["train", "--init-std", "nan"], "init_std must be positive and finite"),
    (["train", "--lr", "inf"], "lr must be positive and finite"),
    (["train", "--max-len", "100000", "--n-per-length", "100000"], "GiB are available"),
    (["train", "--task-definition", "{dupes}"], "repeat [1]"),
    (["train", "--task-definition", "{badinit}"], "initial_state = 7 is outside"),
    (["train", "--recipe", "nope"], "invalid choice"),
    (["train", "--init-from", "run:foo/emergence/polynomial_s0"], "unknown scale 'foo'"),
    (["train", "--init-from", "run:smoke/emergence/nope_s0"], "has no run 'nope_s0'"),
    (["train", "--task-definition", "{badname}"], "task name must be"),
    (["evaluate", "{noweights}"], "holds no model weights"),
    (["train", "--task", "copy:0.5+sorting:0.5"], "unknown task"),
    (["train", "--max-len", "9", "--init-from", "{ckpt}"], "needs 20 positions"),
    (["evaluate", "{ckpt}", "--max-len", "9"], "needs 20 positions"),
    (["evaluate", "{ckpt}", "--task", "sorting"], "unknown task"),
    (["evaluate", "{missing}"], "no checkpoint file"),
    (["evaluate", "{truncated}"], "not a readable ihlib checkpoint"),
    (["evaluate", "{foreign}"], "not a readable ihlib checkpoint"),
    (["evaluate", "{plain}"], "not an ihlib checkpoint"),
    (["train", "--task-definition", "{missing}"], "cannot read task definition"),
    (["train", "--task-definition", "{plain}"], "cannot read task definition"),
    (["train", "--task-definition", "{partial}"], "not a task definition"),
    (["reproduce", "--scale", "cpu", "--experiment", "sorting"], "invalid choice"),
    (["reproduce", "--scale", "cpu", "--workers", "0"], "must be positive"),
    (["reproduce", "--scale", "cpu", "--experiment", "emergence", "--run", "nope"], "no run 'nope'"),
    (["train", "--precision", "fp8"], "invalid choice"),
])
def test_bad_input_one_line_error_nonzero_exit(trained, tmp_path, args, message):
    ckpt = trained / "checkpoint.pt"
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    foreign = tmp_path / "foreign.pt"
    foreign.write_bytes(b"\x80\x04cos\nsystem\n(S'echo pwned'\ntR.")  # a pickle that would run code
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(3)}, plain)
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"name": "half", "inputs": [0, 1], "states": [0, 1]}))
    definition = {"name": "d", "inputs": [0, 1], "states": [0, 1], "initial_state": 0, "table": [[0, 1], [1, 0]],
                  "first": [0, 1]}
    (tmp_path / "dupes.json").write_text(json.dumps({**definition, "inputs": [0, 1, 1], "table": [[0, 1, 1], [1, 0, 0]],
                                                             "first": [0, 1, 1]}))
    (tmp_path / "badinit.json").write_text(json.dumps({**definition, "initial_state": 7}))
    (tmp_path / "badname.json").write_text(json.dumps({**definition, "name": 5}))
    (tmp_path / "afile").write_text("not a directory")
    (tmp_path / "notrun").mkdir()
    (tmp_path / "notrun" / "history.csv").write_text("a user's own file")
    save_checkpoint({"history": []}, tmp_path / "noweights.pt")
    paths = dict(ckpt=ckpt, missing=tmp_path / "nope.pt", truncated=truncated, foreign=foreign, plain=plain,
                 partial=partial, dupes=tmp_path / "dupes.json", badinit=tmp_path / "badinit.json",
                 afile=tmp_path / "afile", notrun=tmp_path / "notrun", noweights=tmp_path / "noweights.pt",
                 badname=tmp_path / "badname.json")
    before = ckpt.read_bytes()
    args = [a.format(**paths) for a in args]
    if args[0] == "train" and "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    proc = cli(*args, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert ckpt.read_bytes() == before and (tmp_path / "notrun" / "history.csv").read_text() == "a user's own file"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_asking_for_a_missing_gpu_is_one_line(tmp_path):
    proc = cli("train", "--device", "cuda", "--out", tmp_path / "out", check=False)
    assert proc.returncode == 2 and "cannot use it here" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_a_finished_run_is_returned_never_reopened_and_epochs_only_grow(tmp_path):
    cfg = TrainConfig(**TINY)
    first = train(cfg, out=tmp_path / "run", device="cpu", progress=False)
    stamp = (tmp_path / "run" / "checkpoint.pt").stat().st_mtime_ns
    again = train(cfg, out=tmp_path / "run", device="cpu", progress=False)
    assert again.history == first.history and (tmp_path / "run" / "checkpoint.pt").stat().st_mtime_ns == stamp
    with pytest.raises(RunDirError, match="trained for 4 epochs"):
        train(replace(cfg, epochs=2), out=tmp_path / "run", device="cpu", progress=False)
    longer = train(replace(cfg, epochs=6), out=tmp_path / "run", device="cpu", progress=False)
    fresh = train(replace(cfg, epochs=6), out=tmp_path / "fresh", device="cpu", progress=False)
    assert without_time(longer.history) == without_time(fresh.history)
    assert RunDir(tmp_path / "run").finished(replace(cfg, epochs=6))


def test_a_continued_run_is_unfinished_on_disk_before_its_weights_change(tmp_path, monkeypatch):
    cfg = TrainConfig(**TINY)
    train(cfg, out=tmp_path / "run", device="cpu", progress=False)
    before = load_checkpoint(tmp_path / "run" / "checkpoint.pt")["epoch"]

    def killed(*args, **kwargs):  # the process dies as it starts writing the continued run's weights
        raise KeyboardInterrupt

    monkeypatch.setattr("ihlib.rundir.save_checkpoint", killed)
    with pytest.raises(KeyboardInterrupt):
        train(replace(cfg, epochs=8), out=tmp_path / "run", device="cpu", progress=False)  # evaluates at 6 on the way
    assert not RunDir(tmp_path / "run").finished() and load_checkpoint(tmp_path / "run" / "checkpoint.pt")["epoch"] == before


def test_two_processes_never_train_into_one_directory(tmp_path):
    with RunDir(tmp_path / "run").lock():  # held as a second process would hold it
        with pytest.raises(RunDirError, match="another process is training"):
            train(TrainConfig(**TINY), out=tmp_path / "run", device="cpu", progress=False)
    train(TrainConfig(**TINY), out=tmp_path / "run", device="cpu", progress=False)


def test_train_cli_recipes_and_early_stopping(tmp_path):
    cli("train", "--recipe", "smoke", "--task", "copy", "--epochs", 200, "--eval-every", 1, "--lr", "3e-3",
        "--early-stop", "--out", tmp_path / "run")
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["dim"] == 32 and record["finished"] and load_run(tmp_path / "run").history[-1]["epoch"] < 200


def test_train_cli_on_a_task_definition_file(tmp_path):
    mod3 = IterativeTask("mod3", (0, 1, 2), (0, 1, 2), lambda s, x: (s + 2 * x) % 3)
    (tmp_path / "mod3.json").write_text(json.dumps(mod3.to_dict()))
    cli("train", "--task-definition", tmp_path / "mod3.json", "--max-len", 3, "--n-per-length", 16, "--dim", 16,
        "--epochs", 1, "--eval-every", 1, "--out", tmp_path / "run")
    run = load_run(tmp_path / "run")
    x = run.test_data.of_length(3)[:, 1:4] - run.vocab.value_token(0)
    assert run.config.task == "mod3" and (run.test_data.of_length(3)[:, 5:8] - run.vocab.value_token(0)
                                          == torch.from_numpy(mod3.run(x.numpy()))).all()


def test_train_cli_block_and_precision_options(tmp_path):
    common = ("--max-len", 3, "--n-per-length", 16, "--dim", 16, "--epochs", 1, "--eval-every", 1)
    cli("train", *common, "--out", tmp_path / "default")
    cli("train", *common, "--no-normalize-residual", "--precision", "bf16", "--out", tmp_path / "other")
    default, other = (json.loads((tmp_path / name / "config.json").read_text()) for name in ("default", "other"))
    assert default["normalize_residual"] and default["precision"] == "fp32"
    assert not other["normalize_residual"] and other["precision"] == "bf16"


def test_nan_loss_stops_with_error_and_keeps_last_checkpoint(tmp_path):
    proc = cli("train", "--max-len", 3, "--n-per-length", 16, "--dim", 8, "--epochs", 20, "--eval-every", 1,
               "--lr", "1e30", "--out", tmp_path, check=False)
    assert proc.returncode == 2 and "loss became" in proc.stderr
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_different_config_in_same_directory_is_refused(trained):
    with pytest.raises(ValueError, match="different config"):
        train(TrainConfig(**{**TINY, "lr": 1e-3}), out=trained, device="cpu", progress=False)


def test_fine_tuning_on_a_custom_task_keeps_the_rows_of_known_tokens(trained, tmp_path):
    custom = IterativeTask("mod3", (0, 1, 2), (0, 1, 2), lambda s, x: (s + x) % 3)
    cfg = TrainConfig(**{**TINY, "task": "mod3"}, task_definition=custom.to_dict(),
                      init_from=str(trained / "checkpoint.pt"), only_mlp2=True)
    run = train(cfg, out=tmp_path, device="cpu", progress=False)  # embeddings frozen: rows compared after training
    src = load_checkpoint(trained / "checkpoint.pt")["model"]
    assert run.vocab.size == Vocabulary().size + 1
    mapping = run.vocab.token_map(Vocabulary())
    assert len(mapping) == Vocabulary().size and run.vocab.decode(run.vocab.task_token("mod3")) == "<mod3>"
    for key in ("tok_emb.weight", "unembed.weight"):
        new, old = zip(*mapping.items())
        assert torch.equal(run.model.state_dict()[key][list(new)], src[key][list(old)])
    assert load_run(tmp_path).config.task_definition == custom.to_dict()  # the checkpoint alone rebuilds the task


def test_a_task_definition_must_name_the_task():
    with pytest.raises(ValueError, match="defines 'parity'"):
        TrainConfig(task="copy", task_definition=parity_task().to_dict())


def test_no_cot_training_reports_accuracy_and_no_attention_pattern():
    run = train(TrainConfig(**{**TINY, "cot": False}), device="cpu", progress=False)
    last = run.history[-1]
    assert run.train_data.tokens.shape[1] == 4 + 4  # no CoT: task, L inputs, EoI, y_L, EoS
    assert last["peakiness_layer2"] != last["peakiness_layer2"]  # NaN: no CoT position to attend from
