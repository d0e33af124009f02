"""``symbackprop train MODEL --optimizer adam --lr 0.05``: train a model file on its CSV data.

The model file's ``data:`` names a CSV file whose header names the columns; the inputs and
targets are read by name (other columns are ignored). ``bind:`` gives the undefined activations
their concrete functions. The run shows a progress bar on a terminal and ends with a report: why
it stopped, the final loss, and every parameter.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import warnings

import numpy as np

from ..numeric.compile import compile
from ..core.errors import DataError
from ..numeric.optim import GD, SGD, AdaGrad, Adam, Momentum, Nesterov, RMSProp
from ..numeric.train import EarlyStopping, GradNorm, StepLength, train
from ._common import add_command, add_model_argument, load_model

# name → (class, the hyperparameters the command line sets on it)
OPTIMIZERS = {
    "gd": (GD, ("lr",)), "sgd": (SGD, ("lr",)), "momentum": (Momentum, ("lr", "alpha")),
    "nesterov": (Nesterov, ("lr", "alpha")), "adagrad": (AdaGrad, ("lr", "eps")),
    "rmsprop": (RMSProp, ("lr", "eps")), "adam": (Adam, ("lr", "eps")),
    "amsgrad": (Adam, ("lr", "eps", "amsgrad")),
}
MAX_CSV_BYTES = 200 * 1024 * 1024
SHOWN_ROWS = 16  # small data sets also get a table of predictions


def add_parser(subparsers) -> None:
    parser = add_command(
        subparsers,
        "train", help="train a model file on its data with one of the lecture's optimizers",
        description="Train a model on the CSV file its 'data:' line names, from the derived formulas.",
        examples=[
            "symbackprop train examples/xor.sbp --optimizer adam --lr 0.05 --epochs 2000",
            "symbackprop train examples/xor.sbp --optimizer momentum --lr 0.1 --alpha 0.9 --grad-norm 1e-6",
            "symbackprop train examples/xor.sbp --init zeros      # the lecture's start: warns, XOR is not learnt",
            "symbackprop train examples/xor.sbp --show-code --epochs 1   # the generated NumPy code",
        ])
    add_model_argument(parser)
    parser.add_argument("--data", metavar="CSV", help="the data (default: the model file's 'data:')")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="gd", help="the update rule (default gd)")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate η (default 0.1)")
    parser.add_argument("--alpha", type=float, default=0.9, help="momentum α (default 0.9)")
    parser.add_argument("--eps", type=float, help="ε of AdaGrad, RMSProp and Adam (default: theirs)")
    parser.add_argument("--epochs", type=int, default=1000, help="at most this many epochs (default 1000)")
    parser.add_argument("--batch-size", type=int, metavar="N", help="minibatches of N rows (default: full batch)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial parameters and the shuffling")
    parser.add_argument("--init", choices=("random", "zeros"), default="random",
                        help="random (default, seeded) or zeros (the lecture's start)")
    parser.add_argument("--grad-norm", type=float, metavar="XI", help="stop when ‖∇Q‖ ≤ XI")
    parser.add_argument("--step-length", type=float, metavar="XI", help="stop when ‖w_t − w_{t−1}‖ ≤ XI")
    parser.add_argument("--validation", type=float, metavar="FRACTION",
                        help="hold out this fraction of the rows and stop early when their loss stops falling")
    parser.add_argument("--patience", type=int, default=20, help="epochs without improvement (default 20)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--show-code", action="store_true",
                        help="print the NumPy code compiled from the derived formulas, then train")
    parser.set_defaults(run=run)


def read_columns(path: str, names: list[str]) -> np.ndarray:
    """The named columns of a CSV file with a header row, as floats (one row per sample)."""
    if os.path.getsize(path) > MAX_CSV_BYTES:
        raise DataError(f"{path} is larger than {MAX_CSV_BYTES // 2**20} MB")
    with open(path, newline="", encoding="utf-8-sig") as stream:
        try:
            rows = list(csv.reader(stream))
        except (csv.Error, UnicodeDecodeError) as error:
            raise DataError(f"{path} is not a readable CSV file: {error}") from None
    if not rows:
        raise DataError(f"{path} is empty; it needs a header row naming the columns {', '.join(names)}")
    header = [h.strip() for h in rows[0]]
    missing = [n for n in names if n not in header]
    if missing:
        raise DataError(f"{path} has no column {missing[0]} (its columns: {', '.join(header)})")
    where = [header.index(n) for n in names]
    values = np.empty((len(rows) - 1, len(names)))
    for i, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise DataError(f"{path} line {i + 2}: {len(row)} fields, the header has {len(header)}")
        for j, column in enumerate(where):
            try:
                values[i, j] = float(row[column])
            except ValueError:
                raise DataError(f"{path} line {i + 2}, column {names[j]}: {row[column]!r} is not a number") from None
    if not len(values):
        raise DataError(f"{path} has a header but no rows")
    return values


def _optimizer(args: argparse.Namespace):
    cls, settings = OPTIMIZERS[args.optimizer]
    chosen = {"lr": args.lr, "alpha": args.alpha, "amsgrad": True}
    if args.eps is not None:
        chosen["eps"] = args.eps
    return cls(**{name: chosen[name] for name in settings if name in chosen})


def _split(rows: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if not 0 < fraction < 1:
        raise DataError(f"--validation must be a fraction between 0 and 1, not {fraction}")
    order = np.random.default_rng(seed).permutation(rows)
    held = int(round(rows * fraction))
    if not 0 < held < rows:
        raise DataError(f"--validation {fraction} of {rows} rows leaves no training or no validation rows")
    return order[held:], order[:held]


def run(args: argparse.Namespace) -> int:
    graph = load_model(args)
    data = args.data or graph.metadata.get("data")
    if not data:
        raise DataError(f"{args.model} has no 'data:' line; pass --data FILE.csv")
    model = compile(graph)
    if args.show_code:
        print(model.source())
    inputs, targets = [s.name for s in model.inputs], [s.name for s in model.targets]
    table = read_columns(data, inputs + targets)
    X, y = table[:, :len(inputs)], table[:, len(inputs):]
    stop, validation = [], None
    if args.grad_norm is not None:
        stop.append(GradNorm(args.grad_norm))
    if args.step_length is not None:
        stop.append(StepLength(args.step_length))
    if args.validation is not None:
        kept, held = _split(len(X), args.validation, args.seed)
        X, y, validation = X[kept], y[kept], (X[held], y[held])
        stop.append(EarlyStopping(patience=args.patience))
    optimizer = _optimizer(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(model, X, y, optimizer=optimizer, batch_size=args.batch_size, epochs=args.epochs,
                       stop=stop, validation=validation, seed=args.seed, init=args.init,
                       progress=not args.no_progress)
    for warning in caught:
        print(f"symbackprop: warning: {warning.message}", file=sys.stderr)
    print(_report(args, model, optimizer, result, len(X), data))
    if len(X) <= SHOWN_ROWS:
        print(_predictions(model, result.params, X, y))
    return 0


def _predictions(model, params, X, y) -> str:
    """Each training row: its inputs, the model's predictions and the targets."""
    predicted = model.forward(params, X)
    head = ", ".join(s.name for s in model.inputs)
    lines = [f"predictions ({head} → {', '.join(s.name for s in model.predictions)}; "
             f"targets {', '.join(s.name for s in model.targets)}):"]
    for x, p, t in zip(X, predicted, y):
        lines.append(f"  {' '.join(f'{v:g}' for v in x)} → {' '.join(f'{v: .4f}' for v in p)}   "
                     f"({' '.join(f'{v:g}' for v in t)})")
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    """``1 epoch``, ``2 epochs``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _report(args, model, optimizer, result, rows: int, data: str) -> str:
    settings = ", ".join(f"{k}={getattr(optimizer, k):g}" for k in ("lr", "alpha", "eps") if hasattr(optimizer, k))
    lines = [f"model:      {args.model} ({len(model.parameters)} parameters)",
             f"data:       {data} ({rows} training rows{', the rest held out' if args.validation else ''})",
             f"optimizer:  {optimizer.name} ({settings})"
             + (f", batches of {args.batch_size}" if args.batch_size else ", full batch"),
             f"stopped:    {result.stopped_by}"]
    if len(result.history):
        lines.append(f"loss:       {result.history.train_loss[-1]:.6g} after {_count(result.epochs, 'epoch')} "
                     f"({_count(result.steps, 'step')}), ‖∇Q‖ = {result.history.grad_norm[-1]:.3g}")
        if result.history.val_loss:
            lines.append(f"validation: {min(result.history.val_loss):.6g} at best")
    width = max(len(p.name) for p in model.parameters)
    lines.append("parameters:")
    lines += [f"  {p.name:<{width}} = {value: .6g}" for p, value in zip(model.parameters, result.params)]
    return "\n".join(lines)
