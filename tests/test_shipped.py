"""The shipped results: present for every run of every finished experiment, made by ihlib's own command from a
clean revision with a recorded config, and (where weights ship) reproduced by re-evaluating the weights on freshly
generated test data."""

import pytest

from ihlib.config import TrainConfig
from ihlib.engine import Converged
from ihlib.experiments import EXPERIMENTS
from ihlib.metrics import evaluate
from ihlib.results import shipped_dir

#: The paper-scale experiments that ship, each with the name prefix of the runs it ships: every emergence run, and
#: of the transfer experiment chapter 7's fine-tuning runs (its reverse and custom-task runs are cpu-scale only).
PAPER_SHIPPED = {"emergence": "", "transfer": "finetune_", "ablations": "polynomial_nocot"}
#: Paper-scale runs still training in the background (about 80 minutes of one thread each), shipped when they
#: finish: polynomial seeds 4 and 5 (claims S9, S10; seed 3 shipped 2026-12-04).
TRAINING = {("paper", "emergence", "polynomial_s5")} | {
    ("paper", "ablations", f"polynomial_nocot_s{seed}") for seed in (0, 1, 2)}  # S11, S12: not started yet
SCALES = ("cpu", "paper")


def shipped_runs(weights: bool) -> list[tuple[str, str, str]]:
    """(scale, experiment, run) of every run that should be shipped."""
    out = []
    for scale in SCALES:
        for name, exp in EXPERIMENTS.items():
            if scale == "paper" and name not in PAPER_SHIPPED:
                continue
            prefix = PAPER_SHIPPED[name] if scale == "paper" else ""
            out += [(scale, name, run) for run, cfg in exp.runs(scale).items()
                    if run.startswith(prefix) and exp.ship_weights(scale, cfg) == weights
                    and (scale, name, run) not in TRAINING]
    return out


def check_record(scale: str, experiment: str, run: str) -> tuple[TrainConfig, list[dict]]:
    """The run's config.json and history.csv: its experiment's config, finished, from a clean revision."""
    directory = shipped_dir(experiment, run, scale)
    recorded = directory.record()
    assert recorded is not None, f"run python -m ihlib reproduce --scale {scale} --ship ({experiment}/{run})"
    cfg = EXPERIMENTS[experiment].runs(scale)[run]
    assert TrainConfig.from_dict(recorded) == cfg and directory.finished(cfg)
    assert recorded["code_revision"]
    assert "dirty" not in recorded["code_revision"]
    history = directory.history()
    assert [r["epoch"] for r in history] == sorted({r["epoch"] for r in history}) and history[0]["epoch"] == 0
    return cfg, history


@pytest.mark.parametrize("scale,experiment,run", shipped_runs(weights=False))
def test_shipped_history_matches_its_config_and_ends_by_the_rule(scale, experiment, run):
    cfg, history = check_record(scale, experiment, run)
    assert not shipped_dir(experiment, run, scale).has_weights()  # this experiment ships curves only
    last = history[-1]["epoch"]
    if last < cfg.epochs:  # stopped early: only by the Converged rule, at its first chance
        assert EXPERIMENTS[experiment].early_stop
        rule = Converged()
        assert [rule(history[:n]) for n in range(1, len(history) + 1)].index(True) == len(history) - 1
    else:
        assert last == cfg.epochs


@pytest.mark.parametrize("scale,experiment,run", shipped_runs(weights=True))
def test_shipped_result_matches_its_config_and_reevaluates(scale, experiment, run):
    check_record(scale, experiment, run)
    directory = shipped_dir(experiment, run, scale)
    state = directory.state()
    assert TrainConfig.from_dict(state["config"]) == EXPERIMENTS[experiment].runs(scale)[run]
    assert "optimizer" not in state and directory.record()["ihlib_version"] == state["version"]
    loaded = directory.load()  # regenerates the test set from the recorded seed
    summary = evaluate(loaded.model, loaded.test_data).summary()
    last = state["history"][-1]
    if "shipped_evaluation" in state:  # float16 weights: their own evaluation exactly, the training one closely
        assert summary == pytest.approx(state["shipped_evaluation"], abs=1e-6, nan_ok=True)
        for key in ("accuracy", "accuracy_to_eos", "peakiness_layer1", "peakiness_layer2"):
            assert summary[key] == pytest.approx(last[f"test_{key}" if "accuracy" in key else key], abs=0.01)
        return
    for key in ("peakiness_layer1", "peakiness_layer2"):
        assert summary[key] == pytest.approx(last[key], abs=1e-6, nan_ok=True)
    assert summary["accuracy"] == pytest.approx(last["test_accuracy"], abs=1e-6)
    assert summary["accuracy_to_eos"] == pytest.approx(last["test_accuracy_to_eos"], abs=1e-6)


def test_the_checks_above_cover_the_shipped_runs():
    """Both lists are non-empty and together name every shipped run: a change to the catalogue cannot make the
    checks above silently check nothing."""
    listed = {(s, e, r) for s, e, r in shipped_runs(True) + shipped_runs(False)}
    shipped = {(scale, name, run) for scale in SCALES for name, exp in EXPERIMENTS.items() for run in exp.runs(scale)
               if shipped_dir(name, run, scale).record() is not None}
    assert shipped_runs(True) and shipped_runs(False) and shipped <= listed
