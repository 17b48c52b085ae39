"""ihlib: the library behind the executable companion to "Iteration Head: A Mechanistic Study of Chain-of-Thought".

Iterative tasks (``tasks``), the two-layer transformer (``model``), training (``train``, ``engine``), iteration-head metrics
(``metrics``), a hand-built iteration head (``handcrafted``), plots and attention steppers (``viz``) and named
experiments with their scales (``experiments``).
"""

__version__ = "0.1.0"

from .metrics import evaluate, ideal_attention  # noqa: E402
from .model import ModelConfig, Transformer  # noqa: E402
from .settings import code_revision, get_scale, notebook_setup, resolve_device, set_seed  # noqa: E402
from .tasks import (IterativeTask, TaskMix, Vocabulary, copy_task, get_task, make_dataset,  # noqa: E402
                    parity_task, polynomial_task)
from .config import TrainConfig  # noqa: E402
from .rundir import Run, load_run  # noqa: E402
from .train import train  # noqa: E402

code_revision()  # the revision of the code this process loads, recorded by every run it trains

__all__ = ["IterativeTask", "ModelConfig", "Run", "TaskMix", "TrainConfig", "Transformer", "Vocabulary", "copy_task",
           "evaluate", "get_scale", "get_task", "ideal_attention", "load_run", "make_dataset", "notebook_setup",
           "parity_task", "polynomial_task", "resolve_device", "set_seed", "train"]
