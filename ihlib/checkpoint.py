"""Checkpoint files: written atomically, read with ``torch.load(weights_only=True)`` so a file can never run code."""

from __future__ import annotations

import os
import pickle
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

FORMAT = "ihlib-checkpoint-1"


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, or not an ihlib checkpoint."""


def atomic_write(path: str | Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then rename over ``path``: an interrupted write never leaves a broken file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes files private; results are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_checkpoint(state: dict, path: str | Path) -> None:
    """Save ``state`` (plain containers and tensors only) atomically, tagged with the format."""
    atomic_write(path, lambda tmp: torch.save({"format": FORMAT, **state}, tmp))


def resolve_path(path: str | Path) -> Path:
    """A checkpoint path; ``ihlib:cpu/...`` names a result shipped inside the package, wherever it is installed."""
    text = str(path)
    if text.startswith("ihlib:"):
        return Path(__file__).parent / "results" / text[len("ihlib:"):]
    return Path(path)


def load_checkpoint(path: str | Path) -> dict:
    """Load an ihlib checkpoint safely on the CPU, with a one-line error for anything else."""
    path = resolve_path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about foreign pickle protocols before refusing them
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise CheckpointError(f"{path} is not a readable ihlib checkpoint: truncated, or a foreign file that "
                              f"weights-only loading refuses ({type(err).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an ihlib checkpoint (format tag {FORMAT!r} missing)")
    return state
