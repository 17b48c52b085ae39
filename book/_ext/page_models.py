"""Sphinx extension: write the models the pages run (``ihlib.pagemodel``) into ``_static/models/`` of every HTML
build, from the shipped checkpoints (and chapter 4's hand-built head, built here), so a retrained run reaches the
page on the next build with no step by hand; and add the widget's script to every page."""

from __future__ import annotations

from pathlib import Path

#: The shipped snapshots of ``cpu`` polynomial seed 0 that chapter 3's training scrubber steps through.
SCRUB_EPOCHS = (0, 60, 100, 120)

#: name -> (scale, experiment, run, epoch or None for its last) of a shipped run, or None for the hand-built head
PAGE_MODELS = {"cpu-polynomial-s0": ("cpu", "emergence", "polynomial_s0", None),
               "cpu-parity-s0": ("cpu", "emergence", "parity_s0", None),
               "paper-polynomial-s0": ("paper", "emergence", "polynomial_s0", None),
               "hand-built": None,
               **{f"cpu-polynomial-s0-epoch{e}": ("cpu", "emergence", "polynomial_s0", e) for e in SCRUB_EPOCHS}}


def page_model(name: str):
    """(model, task, vocabulary, title) of one page model, as the page gets it and the browser test checks it."""
    from ihlib.config import config_task
    from ihlib.handcrafted import build_iteration_head
    from ihlib.results import finished_run
    from ihlib.tasks import Vocabulary, polynomial_task

    where = PAGE_MODELS[name]
    if where is None:
        task = polynomial_task()
        vocab = Vocabulary.for_tasks([task])
        return build_iteration_head(task, 8, vocab=vocab), task, vocab, "the hand-built head (chapter 4), L_max 8"
    scale, experiment, run_name, epoch = where
    directory = finished_run(experiment, run_name, scale, weights=True)
    if directory is None:
        raise FileNotFoundError(f"page model {name}: {scale}/{experiment}/{run_name} has no shipped weights")
    run = directory.load()
    task = config_task(run.config)
    model = run.model if epoch is None else run.model_at(epoch)
    at = f", epoch {epoch}" if epoch is not None else ""
    return model.eval(), task, run.vocab, f"{scale} scale, {task.name}, seed {run.config.seed}{at}"


def write_models(out_dir: Path) -> list[Path]:
    from ihlib.pagemodel import export, write_script

    paths = []
    for name in PAGE_MODELS:
        model, task, vocab, title = page_model(name)
        paths.append(write_script(export(model, task, vocab, title), name, out_dir))
    return paths


def _build_finished(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        write_models(Path(app.outdir) / "_static" / "models")


def setup(app):
    app.add_js_file("ihmodel.js")
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
