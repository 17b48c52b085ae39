"""The book's sources against what describes them: the Colab budget prices exactly what each chapter trains."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

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
