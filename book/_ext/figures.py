"""Sphinx extension: figures for the pages that run no code (the intro), drawn by ``ihlib.viz`` at every build into
a static folder of the build, so the intro's picture of the circuit is the one the chapters draw."""

from __future__ import annotations

from pathlib import Path


def _draw(app, config) -> None:
    import matplotlib
    matplotlib.use("Agg")
    from ihlib.viz import plot_circuit

    folder = Path(app.doctreedir).parent / "figures"  # beside the build's doctrees, the same folder every build
    folder.mkdir(parents=True, exist_ok=True)
    plot_circuit().savefig(folder / "circuit.png", dpi=100)
    config.html_static_path.append(str(folder))


def setup(app):
    app.connect("config-inited", _draw)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
