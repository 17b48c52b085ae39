"""What a chapter shows a reader besides figures: the library's own source, where the learning happens.

Chapters call :func:`show_source` on the real objects (the block, the loss, the peakiness measure), so the code a
reader studies is the code that trained the runs, never a copy that could drift from it.
"""

from __future__ import annotations

import inspect

from IPython.display import Code, display


def show_source(*objects: object) -> None:
    """Display the source of each function, class or method, syntax-highlighted (in Jupyter, Colab and the book)."""
    for obj in objects:
        display(Code(inspect.getsource(obj), language="python"))
