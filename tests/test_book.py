"""The book's sources against what describes them: the Colab budget prices exactly what each chapter trains, and
the code a reader sees fits the page."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_colab_budget_prices_exactly_the_experiments_each_chapter_trains():
    spec = importlib.util.spec_from_file_location("colab_budget", ROOT / "benchmarks" / "colab_budget.py")
    budget = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(budget)
    for src in sorted((ROOT / "book" / "src").glob("*.py")):
        chapter = int(src.name[:2])
        # trained at the chapter's own scale; what it compares with is loaded at presets.compared_scale(SCALE)
        trained = set(re.findall(r'(?:results|load_or_train)\("(\w+)", (?:f?"[^"]*", )?SCALE\b', src.read_text()))
        priced = {experiment for experiment, _ in budget.CHAPTERS.get(chapter, [])}
        assert trained == priced, (src.name, trained, priced)


#: Characters of code that the book's column shows on one line in a 1280-px browser window (measured in Chromium:
#: 640 px of 8.43-px characters; 89 from 1600 px up): longer lines wrap (book/_static/book.css) and read badly.
CODE_COLUMNS = 75


@pytest.mark.parametrize("src", sorted((ROOT / "book" / "src").glob("*.py")), ids=lambda p: p.name)
def test_code_the_reader_sees_fits_the_column(src):
    cells = jupytext.reads(src.read_text(), fmt="py:percent").cells
    shown = [c for c in cells if c.cell_type == "code" and not {"hide-input", "remove-cell"} & set(c.metadata.get(
        "tags", []))]
    wide = [line for c in shown for line in c.source.splitlines() if len(line) > CODE_COLUMNS]
    assert not wide, f"{src.name}: shown code lines over {CODE_COLUMNS} characters: {wide}"


def test_both_colab_links_open_the_chapter_notebook():
    """The chapter's own link (book/make_notebooks.py) and the theme's launch button (sphinx-book-theme joins
    ``repository.path_to_book`` of ``_config.yml`` and the page's name: header_buttons/launch.py) both open
    ``.../blob/<branch>/book/NN_name.ipynb``, never a ``/./book/`` form."""
    import yaml
    spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "book" / "make_notebooks.py")
    make_notebooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_notebooks)
    url, branch = make_notebooks.repository()
    slug = url.split("github.com/")[-1]
    expected = f"https://colab.research.google.com/github/{slug}/blob/{branch}/book/03_emergence.ipynb"
    assert f"({expected})" in make_notebooks.header_cells("03_emergence")[0].source
    relpath = (yaml.safe_load((ROOT / "_config.yml").read_text())["repository"].get("path_to_book") or "").strip("/")
    theme = f"https://colab.research.google.com/github/{slug}/blob/{branch}/" + (f"{relpath}/" if relpath else "")
    assert theme + "book/03_emergence.ipynb" == expected
