"""The page models' export: weights come back exactly, the exported script registers the model, and (with Node)
the page's forward pass reproduces ihlib's greedy chain of thought and attention on a small trained-shape model."""

import base64
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from ihlib.model import ModelConfig, Transformer
from ihlib.pagemodel import export, greedy_cot, write_script
from ihlib.tasks import EOS, Vocabulary, parity_task, polynomial_task

ROOT = Path(__file__).resolve().parents[1]


def small(normalize_residual=True, half=False) -> Transformer:
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=Vocabulary().size, n_positions=14, dim=16, n_heads=1, dropout=0.0,
                                    normalize_residual=normalize_residual)).eval()
    if half:  # as shipped: float16 weights, loaded as float32
        model.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    return model


def test_export_keeps_every_weight_exactly_and_float16_where_it_is_exact():
    for half in (False, True):
        model = small(half=half)
        out = export(model, polynomial_task(), Vocabulary(), "test")
        for name, tensor in model.state_dict().items():
            w = out["weights"][name]
            exact = torch.equal(tensor.half().float(), tensor)  # LayerNorm's ones are, random weights are not
            assert w["dtype"] == ("float16" if exact else "float32") and (exact or not half)
            data = np.frombuffer(base64.b64decode(w["data"]), dtype="<f2" if exact else "<f4").astype(np.float32)
            assert np.array_equal(data.reshape(w["shape"]), tensor.numpy())
        assert out["max_len"] == 6 and out["task"]["token"] == Vocabulary().task_token("polynomial")


def test_greedy_cot_stops_at_eos_or_the_last_position():
    tokens, maps = greedy_cot(small(), parity_task(), Vocabulary(), [1, 0, 1])
    assert tokens[:5] == [Vocabulary().task_token("parity"), *Vocabulary().value_token(np.array([1, 0, 1])), 1]
    assert tokens[-1] == EOS or len(tokens) == 15
    assert maps[0].shape == (len(tokens) - 1, len(tokens) - 1)


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
@pytest.mark.parametrize("normalize_residual", [True, False], ids=["authors' block", "pre-LN"])
def test_the_page_forward_pass_matches_ihlib_in_node(tmp_path, normalize_residual):
    model, task, vocab = small(normalize_residual, half=True), polynomial_task(), Vocabulary()
    write_script(export(model, task, vocab, "test"), "m", tmp_path)
    rng = np.random.default_rng(1)
    inputs = [[int(v) for v in rng.choice(task.inputs, size=n)] for n in (1, 2, 4, 6, 6)]
    runner = tmp_path / "run.js"
    runner.write_text("""
const fs = require("fs"), vm = require("vm");
const ctx = vm.createContext({window: {}, document: {readyState: "complete", querySelectorAll: () => []},
                              atob, performance, console});
vm.runInContext(fs.readFileSync(process.argv[2], "utf8"), ctx);
vm.runInContext(fs.readFileSync(process.argv[3], "utf8"), ctx);
ctx.window.IHModel.load("m").then(m => console.log(JSON.stringify(
  JSON.parse(process.argv[4]).map(x => ctx.window.IHModel.generate(m, x, {})))));
""")
    out = subprocess.run(["node", str(runner), str(tmp_path / "m.js"), str(ROOT / "book" / "_static" / "ihmodel.js"),
                          json.dumps(inputs)], capture_output=True, text=True, check=True, timeout=60).stdout
    for x, page in zip(inputs, json.loads(out)):
        tokens, maps = greedy_cot(model, task, vocab, x)
        assert page["tokens"] == tokens
        assert max(np.abs(np.array(p) - m).max() for p, m in zip(page["patterns"], maps)) < 1e-5


def test_the_training_scrubber_steps_through_every_shipped_snapshot():
    import importlib.util
    spec = importlib.util.spec_from_file_location("page_models", ROOT / "book" / "_ext" / "page_models.py")
    page_models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(page_models)
    from ihlib.results import finished_run
    run = finished_run("emergence", "polynomial_s0", "cpu", weights=True).load()
    assert (*page_models.SCRUB_EPOCHS, run.history[-1]["epoch"]) == tuple(sorted(run.snapshots)) == (0, 60, 100, 120,
                                                                                                     300)
    source = (ROOT / "book" / "src" / "03_emergence.py").read_text()
    assert "epochs 0, 60, 100, 120 and the last, 300" in source


@pytest.mark.parametrize("layer,kind,name", [(1, "ideal", "one-hot on EoI"), (1, "uniform", "uniform"),
                                             (2, "ideal", "one-hot on x_t"), (2, "uniform", "uniform over the inputs")])
def test_the_page_interventions_are_the_mechanism_chapters(layer, kind, name):
    """On a whole sequence the page's forced rows (pagemodel, checked against ihmodel.js in the browser) are those
    of ihlib.circuit, which the chapter's claims use."""
    from ihlib import circuit
    from ihlib.pagemodel import forced_pattern
    length = 5
    pattern = torch.rand(2, 1, 2 * length + 2, 2 * length + 2).softmax(-1)
    (_, page), = forced_pattern(layer, kind, length)
    rows, new = (circuit.layer2_patterns(length)[name] if layer == 2 else
                 (circuit.answer_rows(length), circuit.layer1_patterns(length)[name]))
    (_, chapter) = circuit.force_pattern(layer, rows, new)
    assert torch.allclose(page(pattern, None), chapter(pattern, None))
