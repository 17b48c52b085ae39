"""Command line: ``python -m ihlib train|evaluate|reproduce|ship``.  Bad input ends with a one-line error and exit 2.

``train``'s options are generated from the fields of ``TrainConfig`` (their types, choices and help), so the config
is the one source of options, defaults and validation; ``--recipe`` picks the defaults.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import MISSING, fields, replace
from pathlib import Path

import torch

from .checkpoint import CheckpointError
from .config import TrainConfig
from .engine import Converged, TrainingDiverged
from .experiments import EXPERIMENTS
from .metrics import evaluate
from .presets import RECIPES
from .cluster import ClusterOptions, submit
from .results import reproduce, results_dir, ship
from .rundir import load_run
from .settings import SCALES
from .tasks import IterativeTask, parse_task
from .train import train

#: Fields the command line sets in its own way (a JSON file) or not at all (a list kept for experiments).
_SPECIAL = {"task_definition", "snapshot_epochs"}
_TYPES = {"int": int, "float": float, "str": str}


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``prog: error: message``) and exit status 2."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _config_options(parser: argparse.ArgumentParser) -> None:
    """One option per ``TrainConfig`` field: ``--max-len``, ``--cot/--no-cot``, ... (default: the recipe's)."""
    for f in fields(TrainConfig):
        if f.name in _SPECIAL:
            continue
        flag, kind = "--" + f.name.replace("_", "-"), f.type.split(" | ")[0]
        default = f.default if f.default is not MISSING else None
        help_text = f"{f.metadata['help']} (paper recipe: {default})"
        if kind == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            parser.add_argument(flag, type=_TYPES[kind], default=None, choices=f.metadata.get("choices"),
                                metavar=f.name.upper(), help=help_text)


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m ihlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train one model (resumes if --out already holds this run)",
                       description="Train one model with the paper's recipe unless told otherwise. Writes "
                                   "OUT/config.json, OUT/checkpoint.pt and OUT/history.csv at every evaluation; "
                                   "running the same command again resumes, and a finished run is left as it is.")
    t.add_argument("--recipe", choices=list(RECIPES), default="paper",
                   help="the defaults every other option starts from (default %(default)s)")
    t.add_argument("--task-definition", metavar="JSON",
                   help="a custom task: a JSON file written from IterativeTask.to_dict() (its name replaces --task)")
    _config_options(t)
    t.add_argument("--early-stop", action="store_true",
                   help="stop once test accuracy has been >= 0.99 at three evaluations in a row")
    t.add_argument("--device", default="auto", help="auto (GPU if present), cpu, cuda, ...")
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    t.add_argument("--out", required=True, help="run directory (new, empty, or holding this run)")

    e = sub.add_parser("evaluate", help="print one JSON object of test metrics for a checkpoint",
                       description="Evaluate a checkpoint on freshly generated test data and print one JSON object.")
    e.add_argument("checkpoint", help="checkpoint.pt or a run directory")
    e.add_argument("--task", help="evaluate on this task instead of the training task")
    e.add_argument("--max-len", type=_positive(int), help="evaluate up to this length (default: the training L_max)")
    e.add_argument("--device", default="cpu")

    r = sub.add_parser("reproduce", help="train the book's named experiments at a scale into the results directory",
                       description="Train every run of the named experiments (all by default) at SCALE into "
                                   "$IHLIB_RESULTS/SCALE (default ~/.cache/ihlib/SCALE), where the chapters find "
                                   "them. Finished runs are never retrained.")
    r.add_argument("--scale", choices=SCALES, required=True)
    r.add_argument("--experiment", action="append", choices=list(EXPERIMENTS),
                   help="experiment to train (repeatable; default: all)")
    r.add_argument("--run", action="append", metavar="NAME",
                   help="train only this run of the experiments (repeatable; e.g. to split them between processes)")
    r.add_argument("--device", default="auto")
    r.add_argument("--workers", type=_positive(int), default=None,
                   help="CPU processes training runs side by side, one thread each (default: one per core)")
    r.add_argument("--executor", choices=("process", "local", "slurm"), default="process",
                   help="process: a process pool on this machine (default); slurm: one Slurm job per cell (its seeds "
                        "batched on a GPU), submitted with submitit; local: the same jobs as local processes")
    cluster = r.add_argument_group("cluster jobs (--executor slurm or local)")
    defaults = ClusterOptions()
    cluster.add_argument("--partition", help="Slurm partition")
    cluster.add_argument("--gpus-per-job", type=_positive(int), default=defaults.gpus_per_job)
    cluster.add_argument("--cpus-per-job", type=_positive(int), default=defaults.cpus_per_job)
    cluster.add_argument("--timeout-min", type=_positive(int), default=defaults.timeout_min,
                         help="a job's time limit in minutes; a job cut by it resumes when submitted again")
    cluster.add_argument("--array-parallelism", type=_positive(int), default=defaults.array_parallelism,
                         help="how many jobs of an experiment run at once")
    cluster.add_argument("--logs", default=defaults.logs, help="where submitit keeps each job's output")
    where = r.add_mutually_exclusive_group()
    where.add_argument("--out", help="then export the finished runs here")
    where.add_argument("--ship", action="store_true",
                       help="then export the finished runs into the package's shipped results (maintainers)")

    s = sub.add_parser("ship", help="export the finished runs of an experiment as shipped results",
                       description="Copy every finished run of EXPERIMENT at SCALE from $IHLIB_RESULTS into the "
                                   "package's shipped results (or --out). Refuses runs made from uncommitted code.")
    s.add_argument("--scale", choices=("cpu", "paper"), required=True)
    s.add_argument("--experiment", choices=list(EXPERIMENTS), required=True)
    s.add_argument("--out", help="export here instead of into the package")
    return parser


def _task_definition(path: str) -> dict:
    """A task definition file, checked by building the task from it."""
    try:
        definition = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:  # missing, unreadable, not UTF-8, not JSON
        raise ValueError(f"cannot read task definition {path}: {err}") from None
    IterativeTask.from_dict(definition)
    return definition


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The config the ``train`` options ask for: the recipe, with every option given replacing its field."""
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig)
             if f.name not in _SPECIAL and getattr(args, f.name) is not None}
    if args.task_definition:
        definition = _task_definition(args.task_definition)
        given.update(task=definition["name"], task_definition=definition)
    return replace(RECIPES[args.recipe], **given)


def _train(args: argparse.Namespace) -> None:
    cfg = train_config(args)
    run = train(cfg, out=args.out, device=args.device, progress=False if args.no_progress else None,
                until=Converged() if args.early_stop else None)
    last = run.history[-1]
    print(f"epoch {last['epoch']}: test accuracy {last['test_accuracy']:.3f}, layer-2 peakiness "
          f"{last['peakiness_layer2']:.3f}; results in {args.out}")


def _evaluate(args: argparse.Namespace) -> None:
    task = parse_task(args.task) if args.task else None
    run = load_run(args.checkpoint, device=args.device, task=task, max_len=args.max_len)
    result = evaluate(run.model, run.test_data)
    out = {"task": args.task or run.config.task, "max_len": run.test_data.max_len, "epoch": run.history[-1]["epoch"]}
    out.update({(f"test_{k}" if k.startswith("accuracy") else k): v for k, v in result.summary().items()})
    out["test_accuracy_per_length"] = {str(k): v for k, v in result.accuracy.items()}
    print(json.dumps(out))


def _reproduce(args: argparse.Namespace) -> None:
    if args.executor != "process":
        options = ClusterOptions(args.partition, args.gpus_per_job, args.cpus_per_job, args.timeout_min,
                                 args.array_parallelism, args.logs)
        submit(args.scale, args.experiment, args.executor, options, args.device, args.run)
        if args.out is None and not args.ship:
            return
    reproduce(args.scale, args.experiment, args.out, args.ship, args.device, args.workers, args.run)


def _ship(args: argparse.Namespace) -> None:
    runs = ship(args.experiment, args.scale, args.out)
    total = len(EXPERIMENTS[args.experiment].runs(args.scale))
    print(f"{args.experiment}: shipped {len(runs)} finished runs of {total} from "
          f"{results_dir(args.scale) / args.experiment}" + (f" ({', '.join(runs)})" if runs else ""))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        {"train": _train, "evaluate": _evaluate, "reproduce": _reproduce, "ship": _ship}[args.command](args)
    except torch.OutOfMemoryError:
        print(f"ihlib {args.command}: error: the device ran out of memory; try a smaller --batch-size or --dim",
              file=sys.stderr)
        return 2
    except (ValueError, KeyError, CheckpointError, TrainingDiverged, OSError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"ihlib {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ihlib {args.command}: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
