"""What every compiled path shares: the ``Model`` over a flat parameter vector, the NumPy code
printer (generated names, numerically stable activations) and the checks of its inputs.

The scalar code generator (``compile``) and the matrix one (``compile_layers``) both build a
``Model`` from three generated functions; neither needs the other.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..core.errors import CompileError, DataError, SymbackpropError, did_you_mean, names
from ..core.functions import ACTIVATIONS, activation
from ..core.graph import Graph
from .optim import as_optimizer
from .step import TrainingStep

__all__ = ["Model", "NumPyCodePrinter", "JaxCodePrinter", "chosen_functions", "comment_line", "float_dtype", "check_seed"]

# Sums longer than this are printed as sums of parenthesised chunks: CPython's compiler
# recurses once per ``+`` and fails on a few thousand terms in one flat expression.
_MAX_FLAT_TERMS = 100


# -- printing NumPy ---------------------------------------------------------------------------------

class NumPyCodePrinter(NumPyPrinter):
    """NumPy code over generated variable names, with numerically stable activations.

    ``names`` maps every symbol that may appear to its variable name in the generated code.

    >>> import sympy as sp
    >>> from symbackprop.core.functions import softplus
    >>> u = sp.Symbol("u")
    >>> NumPyCodePrinter({u: "n0"}).doprint(softplus(u) - u)
    '-n0 + numpy.logaddexp(0, n0)'
    """

    def __init__(self, names: Mapping[sp.Symbol, str]):
        # order="none": terms as SymPy stores them (already canonical), without re-sorting them.
        super().__init__({"strict": True, "fully_qualified_modules": True, "order": "none"})
        # Only the array module's functions: the generated code runs where nothing else (not math) exists.
        # The functions this class prints itself (Abs, Max, Min, …) keep their own methods.
        for name, path in list(self.known_functions.items()):
            if not (isinstance(path, str) and path.startswith(f"{self._module}.")):
                del self.known_functions[name]
                if f"_print_{name}" not in vars(NumPyCodePrinter):
                    setattr(self, f"_print_{name}", self._print_not_supported)
        self._names = names  # shared: the code generator keeps adding names

    def _print_Symbol(self, symbol):
        return self._names[symbol]

    _print_Dummy = _print_Symbol

    def _print_sigmoid(self, expr):
        # σ(u) = exp(−softplus(−u)): no overflow for large |u|, full relative precision.
        xp = self._module
        return f"{xp}.exp(-{xp}.logaddexp(0, -({self._print(expr.args[0])})))"

    def _print_softplus(self, expr):
        return f"{self._module}.logaddexp(0, {self._print(expr.args[0])})"

    def _print_relu(self, expr):
        return f"{self._module}.maximum({self._print(expr.args[0])}, 0)"

    def _print_Heaviside(self, expr):
        # H(0) as SymPy's second argument says: 0 for ReLU's derivative, ½ for max and min (the
        # subgradients PyTorch uses).
        at_zero = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        xp, u = self._module, self._print(expr.args[0])
        if at_zero == 0 and isinstance(expr.args[0], (sp.Symbol, sp.Dummy)):
            # u > 0 in u's own dtype (a variable, so read twice): 40× faster than heaviside, 5× than sign(max(u, 0))
            return f"{xp}.greater({u}, 0).astype({xp}.result_type({u}))"
        if at_zero == 0:
            return f"{xp}.sign({xp}.maximum({u}, 0))"
        return f"{xp}.heaviside({u}, {self._print(at_zero)})"

    def _print_DiracDelta(self, expr):
        # The derivative of the step H: zero wherever it is defined (everywhere but the kink),
        # as for PyTorch's other step-like functions (sign, round); the kink itself has measure 0.
        return f"numpy.zeros_like({self._print(expr.args[0])})"

    def _print_logsumexp(self, expr):
        # Pairwise logaddexp: each step shifts by the larger argument, so nothing overflows.
        args = ", ".join(self._print(a) for a in expr.args)
        return f"{self._module}.logaddexp.reduce({self._module}.broadcast_arrays({args}))"

    def _print_Abs(self, expr):
        return f"{self._module}.abs({self._print(expr.args[0])})"

    def _print_Max(self, expr):
        return self._nested(f"{self._module}.maximum", expr.args)

    def _print_Min(self, expr):
        return self._nested(f"{self._module}.minimum", expr.args)

    def _nested(self, function: str, args) -> str:
        first, *rest = args
        if not rest:
            return self._print(first)
        return f"{function}({self._print(first)}, {self._nested(function, rest)})"

    def _print_Add(self, expr, order=None):
        terms = self._as_ordered_terms(expr, order=order)
        if len(terms) <= _MAX_FLAT_TERMS:
            return super()._print_Add(expr, order=order)
        chunks = [sp.Add(*terms[i:i + _MAX_FLAT_TERMS], evaluate=False)
                  for i in range(0, len(terms), _MAX_FLAT_TERMS)]
        return " + ".join(f"({super(NumPyCodePrinter, self)._print_Add(chunk)})" for chunk in chunks)


class JaxCodePrinter(NumPyCodePrinter):
    """The same code over ``jnp`` (``jax.numpy``), for the JAX backend."""

    _module = "jnp"
    _kf = {name: "jnp." + path.partition(".")[2] for name, path in NumPyPrinter._kf.items()
           if path.startswith("numpy.")}
    _kc = {name: "jnp." + path.partition(".")[2] for name, path in NumPyPrinter._kc.items()
           if path.startswith("numpy.")}


def chosen_functions(undefined, metadata: Mapping, functions: Mapping | None) -> dict[str, Callable]:
    """``name → concrete function`` for each undefined function of a graph (``undefined``), from
    ``functions`` (``{f: sbp.tanh}`` or ``{"f": "tanh"}``) or else the model file's ``bind:``
    (``metadata["bind"]``); an unbound, unknown or unused name is a ``CompileError``."""
    undefined = {f.__name__: f for f in undefined}
    from_file = functions is None  # a model file's bind stays in the metadata of the bound graph
    if from_file:
        functions = metadata.get("bind") or {}
    chosen = {getattr(key, "__name__", str(key)): value for key, value in functions.items()}
    unused = [name for name in chosen if name not in undefined]
    if unused and not from_file:
        raise CompileError(f"the graph has no undefined function {unused[0]}"
                           f"{did_you_mean(unused[0], undefined)}; it has: {', '.join(undefined) or 'none'}")
    unbound = [name for name in undefined if name not in chosen]
    if unbound:
        raise CompileError(f"the activation {unbound[0]} has no concrete function: pass "
                           f"functions={{'{unbound[0]}': 'tanh'}} (or a model file's 'bind: {unbound[0]} = tanh'); "
                           f"known: {', '.join(ACTIVATIONS)}")
    if not undefined:
        return {}
    try:
        return {name: activation(value, name) for name, value in chosen.items()}
    except SymbackpropError as error:
        raise CompileError(str(error)) from None


def comment_line(text: str, width: int = 100) -> str:
    """``text`` made safe for a ``#`` comment: one line, printable, at most ``width`` characters.
    Text from the graph (names a model file chose) appears in the generated code only this way."""
    line = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return line if len(line) <= width else line[:width - 1] + "…"


# -- the model --------------------------------------------------------------------------------------------

class Model:
    """Numeric functions of a graph over a flat parameter vector (``parameters`` order).

    ``forward(params, X)`` → ``(B, len(predictions))``; ``loss(params, X, y)`` → the batch mean
    of the per-sample loss; ``loss_and_gradient(params, X, y)`` → ``(loss, grad)``. ``X`` is
    ``(B, len(inputs))`` in ``inputs`` order; ``y`` is ``(B, len(targets))``, or ``(B,)`` for
    one target. Any compiled path (scalar or matrix) builds one from three raw functions
    ``forward(params, X)``, ``loss(params, X, Y)``, ``loss_and_gradient(params, X, Y)`` that
    receive checked arrays of ``dtype``.
    """

    def __init__(self, graph: Graph, functions: Mapping[str, Callable], source: str, dtype=np.float64):
        self.graph = graph
        self.dtype = np.dtype(dtype)
        self._functions = functions
        self._source = source

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        return self.graph.parameters

    @property
    def inputs(self) -> tuple[sp.Symbol, ...]:
        return self.graph.inputs

    @property
    def targets(self) -> tuple[sp.Symbol, ...]:
        return self.graph.targets

    @property
    def predictions(self) -> tuple[sp.Symbol, ...]:
        return self.graph.predictions

    def source(self) -> str:
        """The generated NumPy code (what a student reads to see the formulas at work)."""
        return self._source

    # -- checked entry points

    def params(self, params) -> np.ndarray:
        """``params`` as a flat vector of this model's dtype, after checking its length."""
        array = np.asarray(params, dtype=self.dtype)
        if array.shape != (len(self.parameters),):
            raise DataError(f"expected {len(self.parameters)} parameters ({_short(self.parameters)}), "
                            f"got an array of shape {array.shape}")
        return array

    def inputs_array(self, X, role: str = "X") -> np.ndarray:
        """``X`` as a ``(B, len(inputs))`` array, or a clear error naming the expected columns.
        A model without inputs (a loss surface of its parameters alone) takes ``X=None``."""
        if X is None and not self.inputs:
            return np.zeros((1, 0), dtype=self.dtype)
        return _columns(X, self.inputs, self.dtype, role)

    def targets_array(self, y, rows: int, role: str = "y") -> np.ndarray:
        """``y`` as a ``(rows, len(targets))`` array; one target may come as a ``(B,)`` vector."""
        if y is None:
            if self.targets:
                raise DataError(f"{role} is missing: the model has targets ({_short(self.targets)})")
            return np.zeros((rows, 0), dtype=self.dtype)
        array = np.asarray(y, dtype=self.dtype) if y is not None else None
        if array is not None and array.ndim == 1 and len(self.targets) == 1:
            array = array[:, None]
        array = _columns(array, self.targets, self.dtype, role)
        if array.shape[0] != rows:
            raise DataError(f"{role} has {array.shape[0]} rows but X has {rows}")
        return array

    def forward(self, params, X) -> np.ndarray:
        return self._functions["forward"](self.params(params), self.inputs_array(X))

    def loss(self, params, X, y=None) -> float:
        X = self.inputs_array(X)
        return float(self._functions["loss"](self.params(params), X, self.targets_array(y, len(X))))

    def loss_and_gradient(self, params, X, y=None) -> tuple[float, np.ndarray]:
        X = self.inputs_array(X)
        loss, grad = self._functions["loss_and_gradient"](self.params(params), X, self.targets_array(y, len(X)))
        return float(loss), grad

    def training_step(self, optimizer="adam") -> TrainingStep:
        """``loss, state = step(state, X, y)``: one gradient and one ``optimizer`` step (an
        optimizer or its name) at a time, in the form this model runs fastest; see ``TrainingStep``."""
        return TrainingStep(self, as_optimizer(optimizer, "training_step"))

    def init_params(self, seed: int | None = None) -> np.ndarray:
        """Zeros (the lecture starts "at the point 0") or, with a seed, small uniform numbers:
        U(−1/√fan_in, 1/√fan_in) as PyTorch's ``Linear`` draws them, where fan_in counts the
        non-parameter inputs of the node a parameter feeds."""
        if check_seed(seed) is None:
            return np.zeros(len(self.parameters), dtype=self.dtype)
        bounds = np.array([1 / np.sqrt(_fan_in(self.graph, p)) for p in self.parameters])
        return np.random.default_rng(seed).uniform(-bounds, bounds).astype(self.dtype)

    def __repr__(self) -> str:
        return (f"Model({len(self.parameters)} parameters, inputs=({names(self.inputs)}), "
                f"predictions=({names(self.predictions)}), dtype={self.dtype.name})")


def check_seed(seed) -> int | None:
    """``seed`` if it is None or an integer NumPy can seed with (0 or more), else an error.

    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    symbackprop.core.errors.SymbackpropError: seed must be a non-negative integer (or None), not -1
    """
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SymbackpropError(f"seed must be a non-negative integer (or None), not {seed!r}")
    return int(seed)


def _short(symbols, shown: int = 6) -> str:
    listed = names(symbols[:shown])
    return listed + (", …" if len(symbols) > shown else "")


def _columns(array, symbols, dtype, role: str) -> np.ndarray:
    try:
        array = np.asarray(array, dtype=dtype)
    except (TypeError, ValueError):
        raise DataError(f"{role} is not an array of numbers") from None
    if array.ndim != 2 or array.shape[1] != len(symbols):
        raise DataError(f"{role} must have one row per sample and {len(symbols)} column{'s' * (len(symbols) != 1)} "
                        f"({_short(symbols) or 'none'}), not shape {array.shape}")
    return array


def _fan_in(graph: Graph, parameter: sp.Symbol) -> int:
    trained = set(graph.parameters) | set(graph.constants)
    counts = [sum(1 for u in graph.parents(v) if u not in trained) for v in graph.children(parameter)]
    return max(counts + [1])



def float_dtype(dtype) -> np.dtype:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = None
    if dtype not in (np.float32, np.float64):
        raise CompileError(f"dtype must be numpy.float64 or numpy.float32, not {dtype}")
    return dtype
