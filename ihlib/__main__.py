"""Command line: ``python -m ihlib train|evaluate|reproduce|ship``.  Bad input ends with a one-line error and exit 2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .checkpoint import CheckpointError
from .experiments import EXPERIMENTS, reproduce, ship
from .train import PRECISIONS, TrainConfig, TrainingDiverged, load_run, train
from .metrics import evaluate
from .tasks import IterativeTask, parse_task


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


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m ihlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    d = TrainConfig()

    t = sub.add_parser("train", help="train one model (resumes if --out already holds this run)",
                       description="Train one model with the paper's recipe unless told otherwise. Writes "
                                   "OUT/config.json, OUT/checkpoint.pt and OUT/history.csv at every evaluation; "
                                   "running the same command again resumes.")
    t.add_argument("--task", default=d.task,
                   help="copy, parity, polynomial, or a mix like copy:0.5+parity:0.5 (default %(default)s)")
    t.add_argument("--task-definition", metavar="JSON",
                   help="a custom task: a JSON file written from IterativeTask.to_dict() (its name replaces --task)")
    t.add_argument("--no-cot", action="store_true", help="train without chain-of-thought: only y_L after EoI")
    t.add_argument("--max-len", type=_positive(int), default=d.max_len, help="L_max (default %(default)s)")
    t.add_argument("--dim", type=_positive(int), default=d.dim, help="width d (default %(default)s)")
    t.add_argument("--layers", type=_positive(int), default=d.n_layers, help="layers (default %(default)s)")
    t.add_argument("--heads", type=_positive(int), default=d.n_heads, help="heads per layer (default %(default)s)")
    t.add_argument("--epochs", type=_positive(int), default=d.epochs, help="epochs (default %(default)s)")
    t.add_argument("--lr", type=_positive(float), default=d.lr, help="Adam learning rate (default %(default)s)")
    t.add_argument("--warmup", type=int, default=d.warmup_steps, help="linear warm-up steps (default 0)")
    t.add_argument("--weight-decay", type=float, default=d.weight_decay,
                   help="AdamW decoupled weight decay (default 0: the paper's plain Adam)")
    t.add_argument("--init-std", type=_positive(float), default=None,
                   help="initialise weights from N(0, INIT_STD^2) instead of PyTorch's defaults")
    t.add_argument("--batch-size", type=_positive(int), default=d.batch_size, help="batch size (default %(default)s)")
    t.add_argument("--n-per-length", type=_positive(int), default=d.n_per_length,
                   help="training and test sequences per length (default %(default)s)")
    t.add_argument("--eval-every", type=_positive(int), default=d.eval_every, help="epochs between evaluations")
    t.add_argument("--seed", type=int, default=d.seed, help="seed of data, initialisation and order (default 0)")
    t.add_argument("--order", choices=("length", "shuffled"), default=d.order,
                   help="batch order: the authors' length order, or a fresh shuffle each epoch")
    t.add_argument("--no-padding", action="store_true", help="cut each batch to its longest sequence (faster)")
    t.add_argument("--dropout", type=float, default=d.dropout, help="embedding dropout (default %(default)s)")
    t.add_argument("--pos-emb", choices=("learned", "frozen"), default=d.pos_emb, help="positional embedding")
    t.add_argument("--pos-dim", type=_positive(int), default=None, help="put positions on the first POS_DIM coordinates only")
    t.add_argument("--pre-ln-block", action="store_true",
                   help="the textbook pre-LN block x + attn(ln1(x)) instead of the authors' (which normalises the "
                        "residual stream before attention)")
    t.add_argument("--precision", choices=PRECISIONS, default=d.precision,
                   help="fp32, or bf16 autocast of the training steps (default %(default)s)")
    t.add_argument("--init-from", metavar="CHECKPOINT", help="fine-tune the weights of this checkpoint")
    t.add_argument("--init-epoch", type=int, help="with --init-from: start from its weight snapshot at this epoch")
    t.add_argument("--only-mlp2", action="store_true", help="with --init-from: train only the layer-2 MLP")
    t.add_argument("--device", default="auto", help="auto (GPU if present), cpu, cuda, ...")
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    t.add_argument("--out", required=True, help="run directory")

    e = sub.add_parser("evaluate", help="print one JSON object of test metrics for a checkpoint",
                       description="Evaluate a checkpoint on freshly generated test data and print one JSON object.")
    e.add_argument("checkpoint", help="checkpoint.pt or a run directory")
    e.add_argument("--task", help="evaluate on this task instead of the training task")
    e.add_argument("--max-len", type=_positive(int), help="evaluate up to this length (default: the training L_max)")
    e.add_argument("--device", default="cpu")

    r = sub.add_parser("reproduce", help="run the book's named experiments at a scale and save their results",
                       description="Train every run of the named experiments (all by default) at SCALE.")
    r.add_argument("--scale", choices=("smoke", "cpu", "paper"), required=True)
    r.add_argument("--experiment", action="append", choices=list(EXPERIMENTS),
                   help="experiment to train (repeatable; default: all)")
    r.add_argument("--out", help="export the results here (default: into the package's shipped results at cpu and "
                                 "paper scale; smoke runs stay in $IHLIB_RESULTS, default ~/.cache/ihlib)")
    r.add_argument("--device", default="auto")
    r.add_argument("--workers", type=_positive(int), default=None,
                   help="CPU processes training runs side by side, one thread each (default: one per core)")
    r.add_argument("--run", action="append", metavar="NAME",
                   help="train only this run of the experiments (repeatable; e.g. to split them between processes)")

    s = sub.add_parser("ship", help="export the finished runs of an experiment as shipped results",
                       description="Copy every finished run of EXPERIMENT at SCALE from $IHLIB_RESULTS into the "
                                   "package's shipped results (or --out): for runs trained over several sessions.")
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


def _train(args: argparse.Namespace) -> None:
    if args.only_mlp2 and not args.init_from:
        raise ValueError("--only-mlp2 needs --init-from")
    definition = _task_definition(args.task_definition) if args.task_definition else None
    cfg = TrainConfig(task=definition["name"] if definition else args.task, task_definition=definition,
                      cot=not args.no_cot, max_len=args.max_len, n_per_length=args.n_per_length,
                      dim=args.dim, n_layers=args.layers, n_heads=args.heads, dropout=args.dropout,
                      pos_emb=args.pos_emb, pos_dim=args.pos_dim, init_std=args.init_std, epochs=args.epochs,
                      lr=args.lr, weight_decay=args.weight_decay, warmup_steps=args.warmup,
                      batch_size=args.batch_size, eval_every=args.eval_every,
                      order=args.order, padding=not args.no_padding, seed=args.seed, init_from=args.init_from,
                      init_epoch=args.init_epoch,
                      only_mlp2=args.only_mlp2, normalize_residual=not args.pre_ln_block,
                      precision=args.precision)
    run = train(cfg, out=args.out, device=args.device, progress=False if args.no_progress else None)
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
    reproduce(args.scale, args.experiment, args.out, args.device, args.workers, args.run)


def _ship(args: argparse.Namespace) -> None:
    runs = ship(args.experiment, args.scale, args.out)
    total = len(EXPERIMENTS[args.experiment].runs(args.scale))
    print(f"{args.experiment}: shipped {len(runs)} finished runs of {total}" + (f" ({', '.join(runs)})" if runs else ""))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        {"train": _train, "evaluate": _evaluate, "reproduce": _reproduce, "ship": _ship}[args.command](args)
    except (ValueError, KeyError, CheckpointError, TrainingDiverged) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"ihlib {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ihlib {args.command}: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
