"""The training loop: full-batch or minibatch descent with the lecture's stopping criteria.

Each epoch walks the (shuffled) minibatches, asks the compiled model for the batch loss and
gradient and lets the optimizer step; at the end of the epoch the full training loss and
gradient ``Q(w_t)``, ``∇Q(w_t)`` are evaluated (for full-batch descent this is the next step's
gradient, so it costs nothing extra) and recorded with the validation loss and the length of the
last step. The stopping criteria look at that history:

- ``GradNorm(ξ)``: ``‖∇Q(w_t)‖ ≤ ξ``;
- ``StepLength(ξ)``: ``‖w_t − w_{t−1}‖ ≤ ξ`` (the last step of the epoch);
- ``EarlyStopping(patience, min_delta)``: the validation loss has not improved by ``min_delta``
  for ``patience`` epochs; the parameters of the best epoch are restored;
- ``MaxEpochs(n)`` (also what ``epochs=`` sets).

>>> import numpy as np, symbackprop as sbp
>>> model = sbp.compile(sbp.mlp((1, 1), loss="squared_error"))
>>> X = np.linspace(-1, 1, 20)[:, None]
>>> result = sbp.train(model, X, 3 * X[:, 0] + 1, optimizer=sbp.optim.GD(lr=0.5), epochs=500,
...                    stop=[sbp.GradNorm(1e-8)], progress=False)
>>> result.stopped_by.startswith("gradient norm"), np.round(result.params, 6)
(True, array([1., 3.]))
"""

from __future__ import annotations

import importlib.util
import io
import os
import signal
import sys
import threading
import warnings
from dataclasses import dataclass, field
from typing import ClassVar, Iterator, Sequence

import numpy as np
import sympy as sp

from ..core.atomic import write_atomic
from .compile import Model, compile
from .model import check_seed
from ..core.errors import DataError, SymbackpropError, SymbackpropWarning, names
from ..core.graph import Graph
from ..core.tensor.scalar import tensor_symbols
from ..core.tensor.graph import TensorGraph
from .optim import as_optimizer

__all__ = ["train", "TrainResult", "History", "GradNorm", "StepLength", "EarlyStopping", "MaxEpochs",
           "SymmetryWarning", "TrainingDiverged", "minibatches", "symmetric_units", "check_seed"]


class SymmetryWarning(SymbackpropWarning):
    """A start point from which some hidden units can never become different."""


class TrainingDiverged(SymbackpropWarning):
    """The loss, a gradient or a parameter became NaN or infinite; training stopped."""


# -- history and stopping criteria ---------------------------------------------------------------

@dataclass
class History:
    """One entry per finished epoch: the training loss ``Q(w_t)``, the validation loss (when
    there is validation data), ``‖∇Q(w_t)‖`` and the length of the epoch's last step."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    step_length: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.train_loss)


@dataclass(frozen=True)
class _AtMost:
    """Stop when the latest value of a history series is at most ``xi``."""

    xi: float
    series: ClassVar[str]
    label: ClassVar[str]

    def check(self, history: History) -> str | None:
        value = getattr(history, self.series)[-1]
        if value <= self.xi:
            return f"{self.label} {value:.3g} ≤ {self.xi:g} at epoch {len(history)}"
        return None


@dataclass(frozen=True)
class GradNorm(_AtMost):
    """Stop when ``‖∇Q(w_t)‖ ≤ xi`` (the lecture's first criterion)."""

    series: ClassVar[str] = "grad_norm"
    label: ClassVar[str] = "gradient norm"


@dataclass(frozen=True)
class StepLength(_AtMost):
    """Stop when ``‖w_t − w_{t−1}‖ ≤ xi`` (the lecture's second criterion)."""

    series: ClassVar[str] = "step_length"
    label: ClassVar[str] = "step length"


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when the validation loss has not fallen by more than ``min_delta`` below its best
    for ``patience`` epochs (the lecture's deep-learning criterion); the training result holds
    the parameters of the best epoch."""

    patience: int = 10
    min_delta: float = 0.0

    def __post_init__(self):
        if not (isinstance(self.patience, int) and self.patience >= 1):
            raise SymbackpropError(f"EarlyStopping patience must be a positive integer, not {self.patience!r}")

    def best_epoch(self, history: History) -> int:
        """The 1-based epoch whose validation loss last improved on the best by ``min_delta``."""
        best, best_loss = 1, history.val_loss[0]
        for epoch, loss in enumerate(history.val_loss[1:], start=2):
            if loss < best_loss - self.min_delta:
                best, best_loss = epoch, loss
        return best

    def check(self, history: History) -> str | None:
        best = self.best_epoch(history)
        if len(history) - best >= self.patience:
            return f"early stopping at epoch {len(history)} (best epoch {best})"
        return None


@dataclass(frozen=True)
class MaxEpochs:
    """Stop after ``n`` epochs."""

    n: int

    def check(self, history: History) -> str | None:
        return f"maximum of {self.n} epoch{'s' * (self.n != 1)} reached" if len(history) >= self.n else None


# -- the result -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainResult:
    """What ``train`` returns: the final (or restored best) parameters and how it got there."""

    params: np.ndarray
    history: History
    stopped_by: str
    epochs: int
    steps: int
    diverged: bool = False
    interrupted: bool = False     # stopped by Ctrl-C (after a finished step)

    def plot(self, path: str | os.PathLike | None = None, ax=None):
        """Training and validation loss per epoch (matplotlib ``Axes``); saved to ``path`` if given."""
        import matplotlib

        if ax is None and path is not None:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        epochs = np.arange(1, len(self.history) + 1)
        ax.plot(epochs, self.history.train_loss, label="training loss")
        if self.history.val_loss:
            ax.plot(epochs, self.history.val_loss, label="validation loss")
        if min(self.history.train_loss + self.history.val_loss, default=0) > 0:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(self.stopped_by, fontsize=9)
        ax.legend()
        if path is not None:
            _save_figure(ax.figure, path)
        return ax


    def _repr_html_(self) -> str:
        """In a notebook: how training stopped, the final losses, and the loss curve (SVG)."""
        import html

        import matplotlib
        from matplotlib.figure import Figure

        lines = [f"<p><b>{html.escape(self.stopped_by)}</b> after {self.epochs} epoch{'s' * (self.epochs != 1)} "
                 f"({self.steps} step{'s' * (self.steps != 1)})</p>"]
        if self.history.train_loss:
            lines.append(f"<p>training loss {self.history.train_loss[-1]:.6g}"
                         + (f", best validation loss {min(self.history.val_loss):.6g}" if self.history.val_loss else "")
                         + "</p>")
            figure = Figure(figsize=(6, 3.5))
            with matplotlib.rc_context({"svg.fonttype": "none"}):
                self.plot(ax=figure.subplots())
                buffer = io.StringIO()
                figure.savefig(buffer, format="svg", bbox_inches="tight")
            lines.append(buffer.getvalue()[buffer.getvalue().index("<svg"):])
        return "".join(lines)


def _save_figure(figure, path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=os.path.splitext(os.fspath(path))[1].lstrip(".") or "png")
    write_atomic(path, buffer.getvalue())


# -- the zero start -------------------------------------------------------------------------------

def symmetric_units(graph: Graph) -> list[tuple[sp.Symbol, ...]]:
    """Groups of hidden nodes that compute the same thing when all parameters are equal.

    From such a start (the lecture's zero start) the units of a group have equal values and
    equal gradients at every step, so they never become different. Predictions, and the nodes
    a loss reads directly, are not hidden: their targets tell them apart.

    >>> import symbackprop as sbp
    >>> symmetric_units(sbp.mlp((2, 3, 1), loss="squared_error"))
    [(u1_1, u1_2, u1_3), (a1_1, a1_2, a1_3)]
    """
    equal = sp.Dummy("θ")
    to_equal = {p: equal for p in graph.parameters}
    visible = set(graph.predictions) | {graph.output}
    if graph.output not in graph.predictions:
        visible |= set(graph.parents(graph.output))
    hidden = graph.ancestors(graph.output) - visible
    representative: dict = {}
    groups: dict[sp.Expr, list[sp.Symbol]] = {}
    trained = {equal}  # θ and the nodes computed from it
    for node, expr in graph.definitions.items():
        canonical = expr.xreplace(to_equal).xreplace(representative)
        if not canonical.free_symbols & trained:
            continue
        trained.add(node)
        group = groups.setdefault(canonical, [])
        if group:
            representative[node] = group[0]
        group.append(node)
    return [tuple(g) for g in groups.values() if len(g) > 1 and all(n in hidden for n in g)]


# -- data -----------------------------------------------------------------------------------------

def _finite(array: np.ndarray, role: str, columns) -> np.ndarray:
    bad = np.argwhere(~np.isfinite(array))
    if len(bad):
        row, column = bad[0]
        raise DataError(f"{role} has a non-finite value ({array[row, column]}) at row {row}, column {columns[column]}")
    return array


def _data(model: Model, X, y, role: str) -> tuple[np.ndarray, np.ndarray]:
    X = _finite(model.inputs_array(X, "X" + role), "X" + role, model.inputs)
    Y = _finite(model.targets_array(y, len(X), "y" + role), "y" + role, model.targets)
    if len(X) == 0:
        raise DataError(f"X{role} has no rows")
    return X, Y


def minibatches(n: int, batch_size: int | None, rng: np.random.Generator) -> Iterator[np.ndarray | slice]:
    """The index sets of one epoch: everything at once, or a fresh permutation cut into batches
    of ``batch_size`` with the last partial batch kept (PyTorch's ``DataLoader`` with
    ``shuffle=True, drop_last=False``)."""
    if batch_size is None:
        yield slice(None)
        return
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def _start(model: Model, init, seed) -> tuple[np.ndarray, bool]:
    """The initial parameters and whether they are the zero start."""
    if init is None or (isinstance(init, str) and init == "zeros"):
        return model.init_params(None), True
    if isinstance(init, str):
        if init != "random":
            raise SymbackpropError(f"init must be 'zeros', 'random' or a parameter vector, not {init!r}")
        return model.init_params(0 if seed is None else seed), False
    params = model.params(init)
    _finite(params[None, :], "init", model.parameters)
    return params.copy(), False


# Past this many parameters, a tensor model's symmetric units are found from numbers (the
# scalar view would take seconds to build).
SYMBOLIC_SYMMETRY_LIMIT = 5000


def equal_units(model, seed: int = 0) -> list[tuple[sp.Symbol, ...]]:
    """``symmetric_units`` of a large tensor model, from numbers: the entries of each hidden node
    that stay equal on random inputs when every parameter has one random value."""
    tensor = model.tensor
    values = model.node_values(np.full(tensor.size, 0.37), np.random.default_rng(seed).normal(size=(3, len(model.inputs))))
    visible = set(tensor.predictions) | {tensor.output} | set(tensor.ancestors(tensor.output)) - set(tensor.nodes)
    visible |= {n for n in tensor.nodes if tensor.output in tensor.users(n)}
    entries = tensor_symbols(tensor)
    groups = []
    for node, value in values.items():
        if node in visible or not (tensor.ancestors(node) & set(tensor.parameters)):
            continue
        columns: dict = {}
        for symbol, column in zip(entries[node], value.reshape(len(value), -1).T):
            columns.setdefault(tuple(np.round(column, 9)), []).append(symbol)
        groups += [tuple(group) for group in columns.values() if len(group) > 1]
    return groups


def _warn_if_symmetric(model: Model) -> None:
    large = getattr(model, "tensor", None) is not None and model.tensor.size > SYMBOLIC_SYMMETRY_LIMIT
    groups = equal_units(model) if large and not model.graph.built else symmetric_units(model.graph)
    if groups:
        warnings.warn("the zero start leaves hidden units symmetric: "
                      + "; ".join("{" + _short_group(g) + "}" for g in groups)
                      + " compute equal values and receive equal gradients at every step, so they never differ;"
                      " start from random parameters instead (init='random', on the command line --init random)",
                      SymmetryWarning, stacklevel=3)


def _short_group(group) -> str:
    return names(group) if len(group) <= 6 else f"{names(group[:3])}, …, {group[-1]} ({len(group)} units)"


def _first_nonfinite(values: np.ndarray, parameters) -> str | None:
    bad = np.flatnonzero(~np.isfinite(values))
    return f"{parameters[bad[0]]} ({values[bad[0]]})" if len(bad) else None


def _nonfinite_evaluation(loss: float, grad: np.ndarray, params: np.ndarray, parameters) -> str | None:
    """What went non-finite in a loss and gradient, naming a parameter, or None."""
    problem = _first_nonfinite(grad, parameters)
    if problem:
        return f"the gradient of {problem} is not finite"
    if not np.isfinite(loss):
        largest = int(np.argmax(np.abs(params)))
        return f"the loss is {loss} (the largest parameter is {parameters[largest]} = {params[largest]:.3g})"
    return None


def _criteria(stop) -> list:
    """The stopping criteria: a list of them, or one."""
    chosen = [stop] if callable(getattr(stop, "check", None)) else list(stop or ())
    for criterion in chosen:
        if not callable(getattr(criterion, "check", None)):
            raise SymbackpropError(f"train: stop holds criteria such as sbp.GradNorm(1e-6) or "
                                   f"sbp.EarlyStopping(patience=20), not {criterion!r:.60}")
    return chosen


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SymbackpropError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


def _progress_bar(total: int, progress: bool):
    """A tqdm bar: a widget in a notebook that has ipywidgets, text on a terminal, otherwise none
    (tqdm's notebook bar without ipywidgets only warns that it cannot draw)."""
    if progress and "ipykernel" in sys.modules and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm

        return tqdm(total=total, desc="training", unit="epoch", leave=False)
    from tqdm import tqdm

    return tqdm(total=total, desc="training", unit="epoch", leave=False,
                disable=not progress or not sys.stderr.isatty())


# -- the loop -------------------------------------------------------------------------------------

class _Diverged(Exception):
    """Internal: unwinds the loop when something went non-finite."""


class _Interrupts:
    """Ctrl-C while training, noticed after the current step instead of inside it: the loop ends
    with a consistent history and parameters and returns its result. A second Ctrl-C stops at
    once (KeyboardInterrupt). Only the main thread receives signals; elsewhere nothing changes."""

    def __init__(self):
        self.pending = False
        self.previous = None

    def __enter__(self) -> "_Interrupts":
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.pending:
            raise KeyboardInterrupt
        self.pending = True

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def train(model: Model | Graph | str, X, y=None, optimizer=None, batch_size: int | None = None, epochs: int = 100,
          stop: Sequence = (), validation: tuple | None = None, seed: int | None = None,
          init=None, progress: bool = True) -> TrainResult:
    """Train ``model`` on ``(X, y)`` and return a ``TrainResult``.

    ``model`` is a compiled ``Model`` (a ``Graph`` or a model file's path is compiled first);
    ``optimizer`` defaults to ``optim.GD(lr=0.1)`` and may be named (``"adam"``, its defaults); ``batch_size=None`` is full-batch descent,
    otherwise minibatches shuffled with ``seed`` (the last partial batch kept). ``init`` is
    ``None``/``"zeros"`` (the lecture's start at 0; warns when that leaves hidden units
    symmetric), ``"random"`` (``model.init_params(seed)``) or a parameter vector. ``stop`` holds
    criteria (``GradNorm``, ``StepLength``, ``EarlyStopping``, ``MaxEpochs``); ``epochs`` caps
    the run in any case. A NaN or inf stops training and returns the last finite parameters.
    Ctrl-C stops it after the current step and returns the result so far (``stopped_by`` says
    ``interrupted at epoch N``; under early stopping the best epoch's parameters); a second
    Ctrl-C raises ``KeyboardInterrupt`` at once.
    """
    if not isinstance(model, Model):
        if not isinstance(model, (Graph, TensorGraph, str, os.PathLike)):
            raise SymbackpropError(f"train: model must be a Model (sbp.compile(graph)), a Graph or the path "
                                   f"of a model file, not {type(model).__name__}")
        model = compile(model)
    X, Y = _data(model, X, y, "")
    if validation is not None:
        if not (isinstance(validation, (tuple, list)) and len(validation) == 2):
            raise DataError("validation must be a pair (X_val, y_val)")
        X_val, Y_val = _data(model, *validation, "_val")
    optimizer = as_optimizer(optimizer, "train")
    if batch_size is not None:
        batch_size = min(_positive_int(batch_size, "batch_size"), len(X))
    criteria = [*_criteria(stop), MaxEpochs(_positive_int(epochs, "epochs"))]
    early = [c for c in criteria if isinstance(c, EarlyStopping)]
    if early and validation is None:
        raise SymbackpropError("EarlyStopping watches the validation loss: pass validation=(X_val, y_val)")
    seed = check_seed(seed)
    params, zero_start = _start(model, init, seed)
    if zero_start:
        _warn_if_symmetric(model)

    rng = np.random.default_rng(seed)
    state = optimizer.init(params)
    history = History()
    steps, stopped_by, criterion = 0, None, None
    best_params = finite_params = params  # the last parameters with a finite loss and gradient

    bar = _progress_bar(criteria[-1].n, progress)
    try:
        # NaN and overflow are reported below (epoch, step, parameter), not as numpy warnings.
        with np.errstate(all="ignore"), _Interrupts() as interrupts:
            current = model.loss_and_gradient(params, X, Y)  # Q and ∇Q at the current parameters
            while stopped_by is None:
                epoch = len(history) + 1
                for batch in minibatches(len(X), batch_size, rng):
                    loss, grad = current if batch_size is None else model.loss_and_gradient(params, X[batch], Y[batch])
                    steps += 1
                    problem = _nonfinite_evaluation(loss, grad, params, model.parameters)
                    if problem:
                        raise _Diverged(f"diverged at epoch {epoch}, step {steps}: {problem}")
                    finite_params = params
                    new_params, state = optimizer.step(params, grad, state)
                    problem = _first_nonfinite(new_params, model.parameters)
                    if problem:
                        raise _Diverged(f"diverged at epoch {epoch}, step {steps}: the parameter {problem} "
                                        "went non-finite in the update")
                    step_length = float(np.linalg.norm(new_params - params))
                    params = new_params
                    if interrupts.pending:
                        break   # Ctrl-C: the epoch ends after this step, recorded as any other
                current = model.loss_and_gradient(params, X, Y)
                problem = _nonfinite_evaluation(*current, params, model.parameters)
                if problem:
                    raise _Diverged(f"diverged at epoch {epoch}, after step {steps}: {problem}")
                finite_params = params
                history.train_loss.append(current[0])
                history.grad_norm.append(float(np.linalg.norm(current[1])))
                history.step_length.append(step_length)
                if validation is not None:
                    history.val_loss.append(model.loss(params, X_val, Y_val))
                if early and early[0].best_epoch(history) == epoch:
                    best_params = params
                bar.update()
                bar.set_postfix(loss=f"{current[0]:.4g}", refresh=False)
                fired = next(((c, m) for c, m in ((c, c.check(history)) for c in criteria) if m), None)
                if interrupts.pending:
                    fired = (interrupts, f"interrupted at epoch {epoch}")
                if fired:
                    criterion, stopped_by = fired
    except _Diverged as diverged:
        warnings.warn(str(diverged) + "; returning the last parameters with a finite loss and gradient",
                      TrainingDiverged, stacklevel=2)
        return TrainResult(finite_params, history, str(diverged), len(history), steps, diverged=True)
    finally:
        bar.close()
    interrupted = isinstance(criterion, _Interrupts)
    if early and (isinstance(criterion, EarlyStopping) or interrupted):
        params = best_params
        if interrupted:
            stopped_by += f" (the parameters of the best epoch, {early[0].best_epoch(history)}, are restored)"
    return TrainResult(params, history, stopped_by, len(history), steps, interrupted=interrupted)
