"""What the hook points cost when nothing is hooked: training steps of the model at HEAD against the model at a
revision before them (default ``79abee6``, the last commit without hook points), in one run.

Run: ``python benchmarks/hook_overhead.py [--rev REV] [--rounds N] [--steps S]``.  Both models get the same weights
and the same batches of the paper recipe (polynomial, L_max 16, d 128, batch 256, every batch padded to 2 L_max + 3,
Adam), in fp32 and in bf16 autocast; the two models take turns, ``steps`` optimiser steps at a time, for ``rounds``
rounds, and the minimum over rounds is reported, so a machine busy with other work slows both alike.  Prints the
seconds per step of each and ``hook_overhead`` (HEAD over the revision; target <= 1.03), per precision.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ihlib.config import TrainConfig
from ihlib.engine import autocast, make_optimizer
from ihlib.metrics import target_mask
from ihlib.model import Transformer
from ihlib.tasks import Vocabulary, make_dataset, polynomial_task


def model_at(rev: str) -> type:
    """``Transformer`` as ``ihlib/model.py`` defined it at ``rev``, its forward reduced to the logits."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(["git", "show", f"{rev}:ihlib/model.py"], cwd=root, check=True, capture_output=True,
                            text=True).stdout
    path = Path(tempfile.mkdtemp()) / "model_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("model_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["model_before"] = module
    spec.loader.exec_module(module)

    class Before(module.Transformer):
        def forward(self, idx):
            out = super().forward(idx)
            return out[0] if isinstance(out, tuple) else out

    return Before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", default="79abee6", help="the revision to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8, help="optimiser steps per model and round")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; HEAD against {args.rev}")
    vocab = Vocabulary.for_tasks([polynomial_task()])
    data = make_dataset(polynomial_task(), 16, 64, 0, "train", True, vocab)
    tokens = data.tokens[:256]
    mask = target_mask(data.lengths[:256], tokens.shape[1] - 1)
    targets = tokens[:, 1:].masked_fill(~mask, -100)
    for precision in ("fp32", "bf16"):
        cfg = TrainConfig(precision=precision)
        mcfg = cfg.model_config(vocab.size)
        now = Transformer(mcfg).train()
        before = model_at(args.rev)(mcfg).train()
        before.load_state_dict(now.state_dict())
        runs = {"HEAD": [now, make_optimizer(cfg, list(now.parameters())), []],
                args.rev: [before, make_optimizer(cfg, list(before.parameters())), []]}
        for round_ in range(1 + args.rounds):
            for model, optimizer, times in runs.values():
                start = time.perf_counter()
                for _ in range(args.steps):
                    with autocast(cfg, tokens.device):
                        logits = model(tokens[:, :-1])
                    loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=-100)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                if round_:  # the first round is a warm-up
                    times.append((time.perf_counter() - start) / args.steps)
        best = {name: min(times) for name, (_, _, times) in runs.items()}
        for name, seconds in best.items():
            print(f"{precision} {name:8s} {seconds * 1e3:7.1f} ms/step (min of {args.rounds} rounds)")
        print(f"{precision} hook_overhead {best['HEAD'] / best[args.rev]:.3f}")


if __name__ == "__main__":
    main()
