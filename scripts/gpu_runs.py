"""The GPU check, in one command that fits one device run (8 minutes by default): the GPU path itself, a chapter's
training at the ``colab`` scale against the cost model's T4 estimate, and as many paper-scale seeds of polynomial
iteration and parity as the time left allows, trained as batched models.

Run: ``bash scripts/gpu_runs.sh`` (on the device machine: ``OUT`` is where results go), or
``python scripts/gpu_runs.py --out DIR [--budget SECONDS] [--smoke]``.  Steps, each timed, each recorded in
``DIR/summary.json`` as soon as it ends (so a run cut short keeps what it did):

1. ``tests``: the unit tests of the model, hooks, metrics, batched training and the causal tests with the GPU
   visible (most build their models on the CPU; ``test_hooks`` has a CUDA test that runs only where CUDA is);
2. ``fused``: on the device, the fused attention kernel is taken when nothing hooks the pattern, and gives the
   explicit path's logits;
3. ``chapter``: the training chapter 2 asks for at the ``colab`` scale (``recipes``, seed 0 of two cells), its wall
   time against ``benchmarks/colab_budget.py``'s T4 estimate for the same runs;
4. ``rate``: seconds per epoch and per evaluation of a batched group of paper-scale polynomial runs, measured on a
   few seeds, from which the number of seeds N per task that fits the time left is sized (at most 100; the issue
   asks for at least 32, and the summary says when fewer fit);
5. ``seeds``: N polynomial and N parity seeds (seeds 0..N-1) at the ``paper`` scale for ``--epochs`` (300), each
   task one batched model, evaluated every 10 epochs; their curves (``history.csv``) and configs go to
   ``DIR/curves.tar.gz`` (no weights).

``--smoke`` runs every step on the CPU at toy size (tests skipped): what ``tests/test_gpu_script.py`` checks.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from ihlib.batched import train_batched  # noqa: E402
from ihlib.config import TrainConfig  # noqa: E402
from ihlib.experiments import EXPERIMENTS, emergence  # noqa: E402
from ihlib.presets import SMOKE  # noqa: E402
from ihlib.settings import resolve_device  # noqa: E402

DEVICE_TESTS = ["tests/test_hooks.py", "tests/test_model_metrics.py", "tests/test_grid_batched.py",
                "tests/test_circuit.py"]


class Summary(dict):
    """The results so far, written to ``path`` whenever a step ends."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def step(self, step: str, **values) -> None:
        self[step] = values
        self.path.write_text(json.dumps(self, indent=1, default=str))
        print(f"== {step}: {json.dumps(values, default=str)[:600]}", flush=True)


def run_tests(summary: Summary, timeout: int) -> None:
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *DEVICE_TESTS],
                              cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        rc, tail = proc.returncode, (proc.stdout + proc.stderr)[-1500:]
    except subprocess.TimeoutExpired as err:  # the other steps still run
        rc, tail = "timeout", str(err.stdout or "")[-1500:]
    summary.step("tests", rc=rc, seconds=round(time.perf_counter() - start, 1), tail=tail)


def check_fused(summary: Summary, device: torch.device) -> None:
    """The fused kernel on the device when nothing hooks the pattern, and the explicit path's logits."""
    import torch.nn.functional as F

    import ihlib.model as model_module
    from ihlib.model import ModelConfig, Transformer, pattern_name

    calls = []
    real = F.scaled_dot_product_attention
    model_module.F.scaled_dot_product_attention = lambda *a, **k: calls.append(1) or real(*a, **k)
    try:
        torch.manual_seed(0)
        model = Transformer(ModelConfig(vocab_size=16, n_positions=35)).to(device).eval()
        idx = torch.randint(0, 16, (64, 34), device=device)
        with torch.no_grad():
            fused = model(idx)
            taken = len(calls)
            explicit, cache = model.run_with_cache(idx, names=[pattern_name(1), pattern_name(2)])
    finally:
        model_module.F.scaled_dot_product_attention = real
    expected = {"unhooked": 2 if device.type != "cpu" else 0, "hooked": 0}
    difference = float((fused - explicit).abs().max())
    summary.step("fused", device=str(device), fused_calls_unhooked=taken, fused_calls_hooked=len(calls) - taken,
                 max_logit_difference=difference, expected=expected,
                 ok=taken == expected["unhooked"] and len(calls) == taken and difference < 1e-3)


def chapter_training(summary: Summary, device: torch.device, smoke: bool, results_root: Path) -> None:
    """Chapter 2's training at the colab scale, as the chapter asks for it, timed; and the T4 estimate of it."""
    import os
    os.environ["IHLIB_RESULTS"] = str(results_root)
    from ihlib.cost import GPUS
    from ihlib.results import train_all
    scale = "smoke" if smoke else "colab"
    configs = {n: c for n, c in EXPERIMENTS["recipes"].runs(scale).items()
               if n.rsplit("_s", 1)[0] in ("paper_L8", "paper_L8_preln")}
    start = time.perf_counter()
    train_all("recipes", configs, scale, device=str(device), batched=True)
    seconds = time.perf_counter() - start
    t4 = sum(GPUS["T4"].batched_seconds([c]) for c in configs.values())
    summary.step("chapter", chapter=2, scale=scale, runs=sorted(configs), seconds=round(seconds, 1),
                 t4_estimate_seconds=round(t4, 1), t4_basis=GPUS["T4"].basis)


def paper_configs(task: str, seeds: range, epochs: int, smoke: bool) -> list[TrainConfig]:
    if smoke:
        base = replace(SMOKE, task=task, epochs=epochs, eval_every=2)
    else:
        base = replace(emergence("paper")[f"{task}_s0"], epochs=epochs, eval_every=10, snapshot_epochs=())
    return [replace(base, seed=s) for s in seeds]


def timed_group(configs: list[TrainConfig], device: torch.device) -> float:
    start = time.perf_counter()
    train_batched(configs, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def measure_rate(summary: Summary, device: torch.device, smoke: bool, probe_seeds: int) -> dict:
    """Seconds per epoch and per evaluation of one run in a batched group of ``probe_seeds``: two short groups
    (1 and 3 epochs, evaluated at the start and the end only) tell training from evaluation; linear in the seeds,
    which a GPU beats (so N is sized conservatively)."""
    def group(epochs: int) -> list[TrainConfig]:
        return [replace(c, eval_every=epochs) for c in paper_configs("polynomial", range(probe_seeds), epochs, smoke)]

    timed_group(group(1), device)  # warm-up: kernels, allocator
    one, three = timed_group(group(1), device), timed_group(group(3), device)
    epoch = max((three - one) / 2, 1e-6) / probe_seeds
    evaluation = max((one - epoch * probe_seeds) / 2, 0.0) / probe_seeds
    rate = {"probe_seeds": probe_seeds, "seconds_per_epoch_per_seed": epoch,
            "seconds_per_evaluation_per_seed": evaluation}
    summary.step("rate", **rate)
    return rate


def train_seeds(summary: Summary, device: torch.device, smoke: bool, rate: dict, budget_left: float, epochs: int,
                max_seeds: int, out: Path, scratch: Path) -> None:
    evaluations = 1 + math.ceil(epochs / (2 if smoke else 10))
    per_seed = 2 * (epochs * rate["seconds_per_epoch_per_seed"]  # parity costs about what polynomial does
                    + evaluations * rate["seconds_per_evaluation_per_seed"])
    n = max(1, min(max_seeds, int(0.85 * budget_left / per_seed)))
    summary.step("seeds_planned", seeds_per_task=n, estimated_seconds=round(n * per_seed, 1),
                 budget_left_seconds=round(budget_left, 1), at_least_32=n >= 32)
    curves = io.BytesIO()
    done = {}
    with tarfile.open(fileobj=curves, mode="w:gz") as tar:
        for task in ("polynomial", "parity"):
            configs = paper_configs(task, range(n), epochs, smoke)
            start = time.perf_counter()
            names = [f"{task}_s{c.seed}" for c in configs]
            train_batched(configs, device=device, out=scratch / task, names=names)
            done[task] = round(time.perf_counter() - start, 1)
            for name in names:
                for file in ("history.csv", "config.json"):
                    tar.add(scratch / task / name / file, arcname=f"{task}/{name}/{file}")
            summary.step(f"seeds_{task}", seeds=n, epochs=epochs, seconds=done[task])
    (out / "curves.tar.gz").write_bytes(curves.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--budget", type=float, default=480, help="seconds for all steps together")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--max-seeds", type=int, default=100)
    parser.add_argument("--smoke", action="store_true", help="every step on the CPU at toy size, tests skipped")
    args = parser.parse_args()
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    device = torch.device("cpu") if args.smoke else resolve_device("auto")
    summary = Summary(args.out / "summary.json")
    summary.step("device", device=str(device), torch=torch.__version__,
                 name=torch.cuda.get_device_name() if device.type == "cuda" else "cpu")
    scratch = Path(tempfile.mkdtemp(prefix="gpu-runs-"))
    if not args.smoke:
        run_tests(summary, timeout=int(0.25 * args.budget))
    check_fused(summary, device)
    chapter_training(summary, device, args.smoke, scratch / "results")
    rate = measure_rate(summary, device, args.smoke, probe_seeds=2 if args.smoke else 8)
    train_seeds(summary, device, args.smoke, rate, args.budget - (time.perf_counter() - start), args.epochs,
                args.max_seeds, args.out, scratch)
    summary.step("total", seconds=round(time.perf_counter() - start, 1))


if __name__ == "__main__":
    main()
