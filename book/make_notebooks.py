"""Write the book's chapters ``book/*.ipynb`` from their sources ``book/src/*.py`` (jupytext's percent format).

Each chapter gets a link to open it in Colab and the two-line setup cell, both built from the repository URL in
``_config.yml`` (the one place it is set).  ``python book/make_notebooks.py --check`` fails if a committed
notebook differs from what its source gives.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml

BOOK = Path(__file__).parent
ROOT = BOOK.parent


def repository() -> tuple[str, str]:
    """(repository URL, branch) from ``_config.yml``."""
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    return cfg["url"].rstrip("/"), cfg.get("branch", "main")


def header_cells(name: str) -> list:
    url, branch = repository()
    slug = url.split("github.com/")[-1]
    # a text link, not Colab's badge image: that image is fetched from Colab's site, and a book read offline showed
    # a broken image in its place
    badge = (f"**Run this chapter yourself:** [open it in Colab]"
             f"(https://colab.research.google.com/github/{slug}/blob/{branch}/book/{name}.ipynb) (a GPU runtime "
             "retrains the chapter's runs at the `colab` scale), or locally as the README says.")
    setup = ("# Setup: in Colab, install ihlib from the project repository (Colab's torch is kept); elsewhere it is installed.\n"
             "import subprocess, sys\n"
             "if 'google.colab' in sys.modules: subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', "
             f"'--no-deps', 'git+{url}@{branch}'], check=True)")
    # the setup cell is for Colab: kept in the notebook, removed from the HTML book
    return [nbformat.v4.new_markdown_cell(badge), nbformat.v4.new_code_cell(setup, metadata={"tags": ["remove-cell"]})]


def build(src: Path) -> nbformat.NotebookNode:
    """The chapter's notebook: its percent-format source read by jupytext (cell tags such as ``hide-input`` kept),
    with the badge and the setup cell after the title, and stable cell ids."""
    cells = jupytext.reads(src.read_text(), fmt="py:percent").cells
    title, rest = cells[0], cells[1:]
    nb = nbformat.v4.new_notebook(cells=[title, *header_cells(src.stem), *rest])
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "language_info": {"name": "python"}, "accelerator": "GPU", "colab": {"provenance": []}}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{src.stem[:2]}-{i:02d}"
        cell.metadata.pop("lines_to_next_cell", None)  # jupytext's own round-trip hint, not the chapter's
    return nb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a notebook is out of date")
    parser.add_argument("chapters", nargs="*", help="chapter numbers to write or check, e.g. 03 (default: all)")
    args = parser.parse_args()
    stale = []
    for src in sorted((BOOK / "src").glob("*.py")):
        if args.chapters and src.name[:2] not in args.chapters:
            continue
        text = nbformat.writes(build(src)) + "\n"
        target = BOOK / f"{src.stem}.ipynb"
        if args.check:
            if not target.exists() or target.read_text() != text:
                stale.append(target.name)
        else:
            target.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)}; run python book/make_notebooks.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
