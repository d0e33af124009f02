"""``symbackprop train MODEL --optimizer adam --lr 0.05``: train a model file on its CSV data.

The model file's ``data:`` names a CSV file whose header names the columns; the inputs and
targets are read by name (other columns are ignored). ``bind:`` gives the undefined activations
their concrete functions. The run shows a progress bar on a terminal and ends with a report: why
it stopped, the final loss, and every parameter.
"""

from __future__ import annotations

import argparse
import array
import csv
import os
import stat
import warnings
from typing import Iterator, TextIO

import numpy as np

from ..numeric.compile import compile
from ..core.errors import DataError
from ..numeric.optim import by_name
from ..numeric.train import EarlyStopping, GradNorm, StepLength, check_seed, train
from ._common import add_command, add_model_argument, load_model, note, write_output

# optimizer name (see optim.NAMES) → the hyperparameters the command line sets on it
OPTIMIZERS = {"gd": ("lr",), "sgd": ("lr",), "momentum": ("lr", "alpha"), "nesterov": ("lr", "alpha"),
              "adagrad": ("lr", "eps"), "rmsprop": ("lr", "eps"), "adam": ("lr", "eps"), "amsgrad": ("lr", "eps")}
MAX_CSV_BYTES = 200 * 1024 * 1024
MAX_LINE_CHARS = 1_000_000
SHOWN_ROWS = 16  # small data sets also get a table of predictions
INTERRUPTED = 130  # the exit code after Ctrl-C, also when the report was printed


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


def open_data(path: str | os.PathLike, folder: str | os.PathLike | None = None) -> TextIO:
    """``path`` opened as UTF-8 text, if it is a regular file (not a device such as
    ``/dev/zero``, a FIFO that would block, or a directory) of at most ``MAX_CSV_BYTES``; with
    ``folder`` (a model file's ``data:`` line) only inside that folder, symbolic links resolved."""
    if folder is not None:
        inside, real = os.path.realpath(folder), os.path.realpath(path)
        if os.path.commonpath([inside, real]) != inside:
            raise DataError(f"the model file's data: {path} is outside the model's folder {inside}; "
                            "name it with --data to read it anyway")
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)   # a FIFO opens at once, and is refused below
    except OSError as error:
        raise DataError(f"{path}: {error.strerror or error}") from None
    info = os.fstat(handle)
    problem = ("not a regular file" if not stat.S_ISREG(info.st_mode) else
               f"larger than {MAX_CSV_BYTES // 2**20} MB" if info.st_size > MAX_CSV_BYTES else None)
    if problem:
        os.close(handle)
        raise DataError(f"{path} is {problem}; the data must be a CSV file")
    os.set_blocking(handle, True)
    return open(handle, newline="", encoding="utf-8-sig")


def _lines(stream: TextIO, path) -> Iterator[str]:
    """The lines of ``stream``, each at most ``MAX_LINE_CHARS`` long (a line is read whole)."""
    number = 0
    while True:
        line = stream.readline(MAX_LINE_CHARS + 1)
        number += 1
        if not line:
            return
        if len(line) > MAX_LINE_CHARS:
            raise DataError(f"{path} line {number} is longer than {MAX_LINE_CHARS:,} characters")
        yield line


def read_columns(path: str | os.PathLike, names: list[str], folder: str | os.PathLike | None = None) -> np.ndarray:
    """The named columns of a CSV file with a header row, as floats (one row per sample).

    Rows are read one at a time into a flat array of doubles, so memory stays near 8 bytes per
    number read; errors name lines and columns, never a cell's contents. ``folder``: see
    ``open_data``.
    """
    values = array.array("d")
    with open_data(path, folder) as stream:
        reader = csv.reader(_lines(stream, path), strict=True)
        try:
            header = [h.strip() for h in next(reader, [])]
            if not header:
                raise DataError(f"{path} is empty; it needs a header row naming the columns {', '.join(names)}")
            missing = [n for n in names if n not in header]
            if missing:
                shown = ", ".join(h[:40] for h in header[:20]) + (", …" if len(header) > 20 else "")
                raise DataError(f"{path} has no column {missing[0]} (its columns: {shown})")
            where = [header.index(n) for n in names]
            for row in reader:
                if len(row) != len(header):
                    raise DataError(f"{path} line {reader.line_num}: {len(row)} fields, the header has {len(header)}")
                for name, column in zip(names, where):
                    try:
                        values.append(float(row[column]))
                    except ValueError:
                        raise DataError(f"{path} line {reader.line_num}, column {name}: not a number") from None
        except csv.Error as error:
            raise DataError(f"{path} line {reader.line_num} is not readable CSV: {error}") from None
        except UnicodeDecodeError:
            raise DataError(f"{path} is not UTF-8 text (near line {reader.line_num + 1})") from None
    if not values:
        raise DataError(f"{path} has a header but no rows")
    return np.frombuffer(values, dtype=np.float64).reshape(-1, len(names))


def _optimizer(args: argparse.Namespace):
    chosen = {"lr": args.lr, "alpha": args.alpha}
    if args.eps is not None:
        chosen["eps"] = args.eps
    return by_name(args.optimizer, **{name: chosen[name] for name in OPTIMIZERS[args.optimizer] if name in chosen})


def _split(rows: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if not 0 < fraction < 1:
        raise DataError(f"--validation must be a fraction between 0 and 1, not {fraction}")
    order = np.random.default_rng(seed).permutation(rows)
    held = int(round(rows * fraction))
    if not 0 < held < rows:
        raise DataError(f"--validation {fraction} of {rows} rows leaves no training or no validation rows")
    return order[held:], order[:held]


def run(args: argparse.Namespace) -> int:
    check_seed(args.seed)
    graph = load_model(args)
    data = args.data or graph.metadata.get("data")
    if not data:
        raise DataError(f"{args.model} has no 'data:' line; pass --data FILE.csv")
    folder = None if args.data else os.path.dirname(os.path.abspath(args.model))
    model = compile(graph)
    if args.show_code:
        print(model.source())
    inputs, targets = [s.name for s in model.inputs], [s.name for s in model.targets]
    table = read_columns(data, inputs + targets, folder)
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
        note(f"warning: {warning.message}")
    write_output(_report(args, model, optimizer, result, len(X), data), None)
    if len(X) <= SHOWN_ROWS:
        write_output(_predictions(model, result.params, X, y), None)
    return INTERRUPTED if result.interrupted else 0


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
