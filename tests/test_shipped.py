"""The shipped cpu-scale results: present for every run of every experiment, made by ihlib's own command with a
recorded config, and (where weights ship) reproduced by re-evaluating the weights on freshly generated test data."""

import json

import pytest

from ihlib.checkpoint import load_checkpoint
from ihlib.experiments import EXPERIMENTS, SHIPPED, read_history
from ihlib.grid import Converged
from ihlib.metrics import evaluate
from ihlib.train import TrainConfig, load_run

RUNS = [(name, run) for name, exp in EXPERIMENTS.items() if exp.ship_weights for run in exp.runs("cpu")]
CURVES = [(name, run) for name, exp in EXPERIMENTS.items() if not exp.ship_weights for run in exp.runs("cpu")]


@pytest.mark.parametrize("experiment,run", CURVES)
def test_shipped_history_matches_its_config_and_ends_by_the_rule(experiment, run):
    directory = SHIPPED / "cpu" / experiment / run
    assert (directory / "history.csv").exists(), f"run python -m ihlib reproduce --scale cpu ({experiment}/{run})"
    assert not (directory / "checkpoint.pt").exists()  # this experiment ships curves only
    recorded = json.loads((directory / "config.json").read_text())
    cfg = EXPERIMENTS[experiment].runs("cpu")[run]
    assert TrainConfig.from_dict(recorded) == cfg and recorded["finished"] and recorded["code_revision"]
    history = read_history(directory / "history.csv")
    assert [r["epoch"] for r in history] == sorted({r["epoch"] for r in history}) and history[0]["epoch"] == 0
    last = history[-1]["epoch"]
    if last < cfg.epochs:  # stopped early: only by the Converged rule, at its first chance
        assert EXPERIMENTS[experiment].early_stop
        rule = Converged()
        assert [rule(r) for r in history[1:]].index(True) == len(history) - 2
    else:
        assert last == cfg.epochs


@pytest.mark.parametrize("experiment,run", RUNS)
def test_shipped_result_matches_its_config_and_reevaluates(experiment, run):
    directory = SHIPPED / "cpu" / experiment / run
    assert (directory / "checkpoint.pt").exists(), f"run python -m ihlib reproduce --scale cpu ({experiment}/{run})"
    state = load_checkpoint(directory / "checkpoint.pt")
    assert TrainConfig.from_dict(state["config"]) == EXPERIMENTS[experiment].runs("cpu")[run]
    assert state.get("finished", state["epoch"] == state["config"]["epochs"]) and "optimizer" not in state
    assert json.loads((directory / "config.json").read_text())["ihlib_version"] == state["version"]
    loaded = load_run(directory)  # regenerates the test set from the recorded seed
    summary = evaluate(loaded.model, loaded.test_data).summary()
    last = state["history"][-1]
    for key in ("peakiness_layer1", "peakiness_layer2"):
        assert summary[key] == pytest.approx(last[key], abs=1e-6, nan_ok=True)
    if "test_accuracy_to_eos" in last:
        assert summary["accuracy"] == pytest.approx(last["test_accuracy"], abs=1e-6)
        assert summary["accuracy_to_eos"] == pytest.approx(last["test_accuracy_to_eos"], abs=1e-6)
    else:  # recorded before the authors' score existed: test_accuracy then stopped at the first EoS
        assert summary["accuracy_to_eos"] == pytest.approx(last["test_accuracy"], abs=1e-6)
