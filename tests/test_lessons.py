"""The chapters as lessons (book/STYLE.md): numbered figures with captions, exercises with folded solutions, no
asserts in the code a reader runs but a solution's check of its own answer (the text's numbers are checked in tests/test_text_NN.py instead)."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book" / "src").glob("*.py"))


def cells(src: Path):
    return jupytext.reads(src.read_text(), fmt="py:percent").cells


def number(src: Path) -> str:
    """The chapter's number as its title gives it ("3", "4b")."""
    return re.match(r"# (\w+)\.", cells(src)[0].source).group(1)


@pytest.mark.parametrize("src", CHAPTERS, ids=lambda p: p.name)
def test_chapter_code_carries_no_asserts(src):
    """An exercise's solution may check its own answer; no other cell asserts anything."""
    code = [line for c in cells(src) if c.cell_type == "code" and not c.source.startswith("# @title Solution")
            for line in c.source.splitlines()]
    asserts = [line for line in code if re.match(r"\s*assert\b", line)]
    assert not asserts, f"{src.name}: move these checks to tests/test_text_{src.name[:2]}.py: {asserts}"


@pytest.mark.parametrize("src", CHAPTERS, ids=lambda p: p.name)
def test_figures_are_numbered_in_order_and_every_reference_has_a_caption(src):
    n = number(src)
    markdown = [c.source for c in cells(src) if c.cell_type == "markdown"]
    captions = [int(k) for m in markdown for k in re.findall(rf"^\*\*Figure {n}\.(\d+)\.\*\*", m, re.M)]
    assert captions == list(range(1, len(captions) + 1)), f"{src.name}: captions {captions}"
    referenced = {int(k) for m in markdown for k in re.findall(rf"Figures? {n}\.(\d+)", m)}
    assert referenced <= set(captions), f"{src.name}: figures referenced without a caption: {referenced - set(captions)}"


@pytest.mark.parametrize("src", CHAPTERS, ids=lambda p: p.name)
def test_exercises_have_folded_solutions(src):
    n, cs = number(src), cells(src)
    stated = [(i, k) for i, c in enumerate(cs) if c.cell_type == "markdown"
              for k in re.findall(rf"\*\*Exercise {n}\.(\d+)\.\*\*", c.source)]
    assert len(stated) >= 2, f"{src.name}: {len(stated)} exercises"
    for i, k in stated:
        solution = cs[i + 1]
        assert solution.cell_type == "code" and solution.source.startswith(f"# @title Solution to exercise {n}.{k}")
        assert "hide-cell" in solution.metadata.get("tags", []) and solution.metadata.get("cellView") == "form"
