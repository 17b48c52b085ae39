"""The shipped cpu-scale results: present for every run of every experiment, made by ihlib's own command with a
recorded config, and reproduced by re-evaluating the weights on freshly generated test data."""

import json

import pytest

from ihlib.checkpoint import load_checkpoint
from ihlib.experiments import EXPERIMENTS, SHIPPED
from ihlib.metrics import evaluate
from ihlib.train import TrainConfig, load_run

RUNS = [(name, run) for name, exp in EXPERIMENTS.items() for run in exp.runs("cpu")]


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
    assert summary["accuracy"] == pytest.approx(last["test_accuracy"], abs=1e-6)
