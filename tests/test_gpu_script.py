"""The prepared GPU check (scripts/gpu_runs.py) runs every step on the CPU at toy size, and writes what a device run
would bring back: a summary of each step and the seeds' curves without weights."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_gpu_script_runs_every_step_at_toy_size(tmp_path):
    env = {**os.environ, "IHLIB_PROGRESS": "0"}
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_runs.py"), "--smoke", "--out", str(tmp_path),
                    "--budget", "60", "--epochs", "4", "--max-seeds", "3"], check=True, env=env, timeout=300,
                   capture_output=True)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert list(summary) == ["device", "fused", "chapter", "rate", "seeds_planned", "seeds_polynomial",
                             "seeds_parity", "total"]
    assert summary["fused"]["fused_calls_unhooked"] == summary["fused"]["expected"]["unhooked"] == 0
    assert summary["chapter"]["runs"] == ["paper_L8_preln_s0", "paper_L8_s0"] and summary["chapter"]["seconds"] > 0
    assert 1 <= summary["seeds_planned"]["seeds_per_task"] <= 3
    with tarfile.open(tmp_path / "curves.tar.gz") as tar:
        names = tar.getnames()
    n = summary["seeds_planned"]["seeds_per_task"]
    assert len(names) == 2 * 2 * n and not any(name.endswith(".pt") for name in names)
    assert "parity/parity_s0/history.csv" in names
