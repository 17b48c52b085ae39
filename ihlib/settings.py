"""The few process-wide switches, each read in exactly one place: scale, device, progress bars, whether missing
results may be trained, and seeds."""

from __future__ import annotations

import functools
import os
import random

import numpy as np
import torch

SCALES = ("smoke", "colab", "cpu", "paper")


def get_scale(scale: str | None = None) -> str:
    """The experiment scale: ``scale`` if given, else ``$IHLIB_SCALE``, else ``colab`` on a GPU and ``cpu`` without.

    ``smoke`` is for CI (seconds per chapter).  ``cpu`` is the book's: its results ship, so chapters load them, and
    retraining a chapter's runs takes hours on a laptop's CPU.  ``colab`` retrains, on a GPU, seed 0 of each of the
    ``cpu`` scale's settings of a chapter's own experiments (in float32), comparing them with the ``cpu`` scale's
    shipped runs of chapter 3: by ``ihlib.cost``'s estimate at most about 20 minutes per chapter on a Colab T4
    (``benchmarks/colab_budget.py``), and the chapters print their own estimate before training.  ``paper`` is the paper's recipe at full length: by the
    same estimate 20-30 minutes per emergence run on a T4 but days of GPU time for chapter 5's sweeps, so it is for
    a cluster (``python -m ihlib reproduce --executor slurm``); it is never picked by default.
    """
    scale = scale or os.environ.get("IHLIB_SCALE") or ("colab" if torch.cuda.is_available() else "cpu")
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    return scale


def resolve_device(device: str | torch.device = "auto", verbose: bool = False) -> torch.device:
    """``auto`` picks CUDA when present, else CPU; anything else is passed to ``torch.device``, checked to exist."""
    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {str(device)!r}; try auto, cpu or cuda") from None
    backend = getattr(torch, device.type, None)  # torch.cuda, torch.mps, ...
    if device.type != "cpu" and not (hasattr(backend, "is_available") and backend.is_available()):
        raise ValueError(f"device {device.type} asked for, but PyTorch cannot use it here; use auto or cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"device {device} asked for, but there are {torch.cuda.device_count()} CUDA devices")
    if verbose:
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
        print(f"ihlib: using device {device} ({name})")
    return device


def progress_enabled(progress: bool | None = None) -> bool:
    """Progress bars show unless turned off here, by ``IHLIB_PROGRESS=0``, or in CI (``CI`` set)."""
    if progress is not None:
        return progress
    if os.environ.get("IHLIB_PROGRESS") is not None:
        return os.environ["IHLIB_PROGRESS"] not in ("0", "false", "")
    return not os.environ.get("CI")


def training_allowed() -> bool:
    """Whether a missing result may be trained now (``IHLIB_TRAIN=0`` forbids it: CI at ``cpu`` scale, or a reader
    who wants only the shipped results, gets a one-line error naming the missing run instead of hours of training)."""
    return os.environ.get("IHLIB_TRAIN", "1") not in ("0", "false", "")


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) at once."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


#: What each scale means for a reader running a chapter (``notebook_setup`` prints it).
SCALE_NOTES = {
    "smoke": "the smallest runs, trained in seconds: they exercise the code, and the figures are not the text's",
    "colab": "this chapter retrains seed 0 of every setting of its own experiments at the cpu scale on this device "
             "(the estimate is printed before training); other chapters' runs, which it only compares with or "
             "starts from, are the cpu scale's shipped ones; the text and its checked claims describe the cpu scale's "
             "shipped runs, which IHLIB_SCALE=cpu loads instead of training",
    "cpu": "the book's scale. The chapter loads its shipped runs and checks the text's claims against them",
    "paper": "the paper's recipe at L_max 16: runs neither shipped nor cached are trained (hours each on a CPU)",
}


def notebook_setup(scale: str | None = None) -> str:
    """Print the device and scale a chapter will use, what the scale means, and how to change it; return the scale."""
    scale = get_scale(scale)
    device = resolve_device("auto")
    if device.type == "cuda":
        print(f"device: {torch.cuda.get_device_name(device)} (GPU)")
    else:
        print("device: CPU. For a GPU in Colab: Runtime > Change runtime type > GPU, then run the chapter again.")
    print(f"scale: {scale} ({SCALE_NOTES[scale]}).")
    print(f"To change it, set IHLIB_SCALE ({'|'.join(SCALES)}) before this cell: "
          f"import os; os.environ['IHLIB_SCALE'] = 'cpu'")
    return scale


@functools.cache
def code_revision() -> str | None:
    """The git commit of the ihlib source (with ``-dirty`` for uncommitted changes to it; shipped results under
    ``ihlib/results`` do not count), or None outside a checkout.

    Read once per process, when ihlib is imported (``ihlib/__init__.py``): it names the code this process loaded,
    even if the files change on disk while a long run trains."""
    import subprocess
    from pathlib import Path
    here = Path(__file__).parent
    try:
        rev = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--", ".", ":(exclude)results"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None
