"""What the chapters' prose says, for the tests that check it against the shipped runs (``tests/test_text_*.py``).

A chapter states a number in a sentence; its test builds that fragment of the sentence from the data
(``f"the mean of our three seeds is {m:.2f} at epoch 100"``) and :func:`says` asserts that the chapter's prose
contains it. The number is computed, never pinned in the test, and an edit of either the text or the runs fails the
test command. The chapters themselves keep only lesson code and their claim tables.
"""

from __future__ import annotations

import functools
import os
import re
from contextlib import contextmanager
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@functools.cache
def prose(chapter: str) -> str:
    """The markdown of chapter ``chapter`` (its number, e.g. ``"03"``), whitespace collapsed."""
    (src,) = (ROOT / "book" / "src").glob(f"{chapter}_*.py")
    cells = jupytext.reads(src.read_text(), fmt="py:percent").cells
    return _normalised(" ".join(c.source for c in cells if c.cell_type == "markdown"))


def says(chapter: str, *fragments: str) -> None:
    """Assert that chapter ``chapter``'s prose contains every fragment (whitespace-insensitive)."""
    missing = [f for f in fragments if _normalised(f) not in prose(chapter)]
    assert not missing, f"chapter {chapter} does not say: {missing}"


@contextmanager
def no_training():
    """Load shipped runs only: a run that is missing is an error (IHLIB_TRAIN=0), never a training in a test."""
    before = os.environ.get("IHLIB_TRAIN")
    os.environ["IHLIB_TRAIN"] = "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ["IHLIB_TRAIN"]
        else:
            os.environ["IHLIB_TRAIN"] = before


@functools.cache
def shipped(experiment: str, scale: str = "cpu", cells: tuple[str, ...] | None = None):
    """The shipped runs of ``experiment`` at ``scale`` (as ``ihlib.results.results``), trained never."""
    from ihlib.results import results
    with no_training():
        return results(experiment, scale, cells=list(cells) if cells else None)


@functools.cache
def shipped_run(experiment: str, run: str, scale: str = "cpu"):
    """One shipped run with its weights (as ``ihlib.results.load_or_train``), trained never."""
    from ihlib.results import load_or_train
    with no_training():
        return load_or_train(experiment, run, scale, device="cpu", progress=False)
