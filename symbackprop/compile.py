"""The derived formulas as numeric code: a ``Model`` with forward, loss and gradient for a batch.

``compile`` binds undefined activations (``f`` → ``tanh``), derives the backward pass once
(``backprop(graph).equations()``: δ_u = Σ_v δ_v·∂v/∂u) and prints the forward definitions, the
shared subexpressions of the local partials (``sympy.cse``), one adjoint per node and the batch
mean of each parameter's gradient as NumPy source. Every scalar node is a vector of length B
(one entry per sample), so there is no Python loop over samples. The source is part of what a
student reads (``model.source()``); its variable names are generated (``n3``, ``d3``, ``p0``)
and the graph's own names only appear in comments, so no text from a model file becomes code.

>>> import numpy as np, symbackprop as sbp
>>> model = sbp.compile(sbp.lecture_network(loss="squared_error"), functions={"f": sbp.tanh})
>>> params = model.init_params(seed=0)
>>> X, y = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([1.0, 0.0])
>>> loss, grad = model.loss_and_gradient(params, X, y)
>>> grad.shape == params.shape, round(loss, 6) == round(model.loss(params, X, y), 6)
(True, True)
"""

from __future__ import annotations

import builtins
from typing import Callable, Mapping

import numpy as np
import sympy as sp
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.numpy import NumPyPrinter

from .derive import backprop
from .errors import CompileError, DataError, SymbackpropError, did_you_mean, names
from .functions import ACTIVATIONS, activation, substitute_functions
from .graph import Graph

__all__ = ["compile", "compile_scalar", "bind_functions", "Model", "NumPyCodePrinter"]

# Sums longer than this are printed as sums of parenthesised chunks: CPython's compiler
# recurses once per ``+`` and fails on a few thousand terms in one flat expression.
_MAX_FLAT_TERMS = 100


# -- binding activations ------------------------------------------------------------------------

def bind_functions(graph: Graph, functions: Mapping | None = None) -> Graph:
    """``graph`` with every undefined activation replaced by a concrete one.

    ``functions`` maps an undefined function or its name to a SymPy function or the name of one
    in ``ACTIVATIONS``; it defaults to the model file's ``bind:`` (``graph.metadata["bind"]``).
    Binding happens before the derivation, so ``tanh`` nodes get the ``1 - z**2`` partials.

    >>> import sympy as sp, symbackprop as sbp
    >>> print(bind_functions(sbp.lecture_network(), {"f": "tanh"}).definitions[sp.Symbol("z1")])
    tanh(w11*x1 + w21*x2)
    """
    undefined = {f.__name__: f for f in graph.undefined_functions}
    from_file = functions is None  # a model file's bind stays in the metadata of the bound graph
    if from_file:
        functions = graph.metadata.get("bind") or {}
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
        return graph
    try:
        bound = {name: activation(value, name) for name, value in chosen.items()}
    except SymbackpropError as error:
        raise CompileError(str(error)) from None
    definitions = {node: substitute_functions(expr, bound) for node, expr in graph.definitions.items()}
    return Graph(definitions, inputs=graph.inputs, targets=graph.targets, parameters=graph.parameters,
                 output=graph.output, predictions=graph.predictions, metadata=graph.metadata)


# -- printing NumPy ---------------------------------------------------------------------------------

class NumPyCodePrinter(NumPyPrinter):
    """NumPy code over generated variable names, with numerically stable activations.

    ``names`` maps every symbol that may appear to its variable name in the generated code.

    >>> import sympy as sp
    >>> from symbackprop.functions import softplus
    >>> u = sp.Symbol("u")
    >>> NumPyCodePrinter({u: "n0"}).doprint(softplus(u) - u)
    '-n0 + numpy.logaddexp(0, n0)'
    """

    def __init__(self, names: Mapping[sp.Symbol, str]):
        # order="none": terms as SymPy stores them (already canonical), without re-sorting them.
        super().__init__({"strict": True, "fully_qualified_modules": True, "order": "none"})
        # Only numpy's functions: the generated code runs where nothing else (not math) exists.
        for name, path in list(self.known_functions.items()):
            if not (isinstance(path, str) and path.startswith("numpy.")):
                del self.known_functions[name]
                setattr(self, f"_print_{name}", self._print_not_supported)
        self._names = names  # shared: the code generator keeps adding names

    def _print_Symbol(self, symbol):
        return self._names[symbol]

    _print_Dummy = _print_Symbol

    def _print_sigmoid(self, expr):
        # σ(u) = exp(−softplus(−u)): no overflow for large |u|, full relative precision.
        return f"numpy.exp(-numpy.logaddexp(0, -({self._print(expr.args[0])})))"

    def _print_softplus(self, expr):
        return f"numpy.logaddexp(0, {self._print(expr.args[0])})"

    def _print_relu(self, expr):
        return f"numpy.maximum({self._print(expr.args[0])}, 0)"

    def _print_Heaviside(self, expr):
        # H(0) = 0 whatever SymPy's second argument says: the ReLU derivative PyTorch uses.
        return f"numpy.heaviside({self._print(expr.args[0])}, 0)"

    def _print_logsumexp(self, expr):
        # Pairwise logaddexp: each step shifts by the larger argument, so nothing overflows.
        args = ", ".join(self._print(a) for a in expr.args)
        return f"numpy.logaddexp.reduce(numpy.broadcast_arrays({args}))"

    def _print_Abs(self, expr):
        return f"numpy.abs({self._print(expr.args[0])})"

    def _print_Max(self, expr):
        return self._nested("numpy.maximum", expr.args)

    def _print_Min(self, expr):
        return self._nested("numpy.minimum", expr.args)

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


def _comment(text: str, width: int = 100) -> str:
    """``text`` made safe for a ``#`` comment: one line, printable, at most ``width`` characters.
    Text from the graph (names a model file chose) appears in the generated code only this way."""
    line = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return line if len(line) <= width else line[:width - 1] + "…"


# -- the generated source -----------------------------------------------------------------------------

class _Source:
    """Builds the three functions of a compiled model as lines of Python."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.bp = backprop(graph)
        values = graph.metadata.get("values") or {}
        missing = [c for c in graph.constants if c.name not in values]
        if missing:
            raise CompileError(f"the constants {names(missing)} have no values; give them in the model "
                               "file's values or make them parameters")
        self.constants = {c: sp.Float(values[c.name]) for c in graph.constants}
        self.names: dict[sp.Symbol, str] = {}
        self.names.update({p: f"p{i}" for i, p in enumerate(graph.parameters)})
        self.names.update({x: f"x{i}" for i, x in enumerate(graph.inputs)})
        self.names.update({y: f"y{i}" for i, y in enumerate(graph.targets)})
        self.names.update({v: f"n{i}" for i, v in enumerate(graph.nodes)})
        self.printer = NumPyCodePrinter(self.names)
        self.definition_comment = {node: _comment(f"{node} = {sp.sstr(expr, order='none')}")
                                   for node, expr in graph.definitions.items()}
        temps, reduced = sp.cse(list(graph.definitions.values()), order="none",
                                symbols=sp.numbered_symbols("s", cls=sp.Dummy))
        self.forward_temps = dict(temps)
        self.forward_reduced = dict(zip(graph.nodes, reduced))
        self.names.update({temp: f"s{i}" for i, (temp, _) in enumerate(temps)})
        # What changes from sample to sample: data, and everything computed from it. Only those
        # are vectors that need a batch mean; the rest are scalars.
        self.varying = set(graph.inputs) | set(graph.targets)
        for node, expr in graph.definitions.items():
            if expr.free_symbols & self.varying:
                self.varying.add(node)

    def code(self, expr: sp.Expr) -> str:
        try:
            return self.printer.doprint(expr.xreplace(self.constants))
        except PrintMethodNotImplementedError:
            unknown = sorted({type(f).__name__ for f in expr.atoms(sp.Function) if not self._printable(f)})
            raise CompileError(f"cannot compile {_comment(expr, 60)}: no NumPy code for "
                               f"{', '.join(unknown) or 'one of its functions'}") from None

    def _printable(self, expr: sp.Expr) -> bool:
        try:
            self.printer.doprint(expr)
        except PrintMethodNotImplementedError:
            return False
        return True

    # -- pieces

    def _needed(self, targets) -> list[sp.Symbol]:
        """The nodes to compute for ``targets``: them and their ancestors, in graph order."""
        wanted = set(targets)
        for t in targets:
            wanted |= self.graph.ancestors(t)
        return [n for n in self.graph.nodes if n in wanted]

    def _prologue(self, with_targets: bool) -> list[str]:
        g = self.graph
        lines = ["    B = X.shape[0]"]
        if g.parameters:
            lines.append("    # parameters")
            lines += [f"    {self.names[p]} = params[{i}]  # {_comment(p)}" for i, p in enumerate(g.parameters)]
        if g.inputs:
            lines.append("    X = numpy.ascontiguousarray(X.T)  # one row per input: contiguous columns")
            lines += [f"    {self.names[x]} = X[{i}]  # {_comment(x)}" for i, x in enumerate(g.inputs)]
        if with_targets and g.targets:
            lines.append("    Y = numpy.ascontiguousarray(Y.T)")
            lines += [f"    {self.names[y]} = Y[{i}]  # {_comment(y)}" for i, y in enumerate(g.targets)]
        return lines

    def _forward(self, nodes) -> list[str]:
        """One line per node; a subexpression shared by several definitions (softmax's
        log-sum-exp) is a temporary computed once, just before its first use."""
        emitted: set = set()
        lines = ["    # forward pass"]

        def emit_temps(expr):
            for temp in sorted(expr.free_symbols & self.forward_temps.keys() - emitted, key=self.names.get):
                emit_temps(self.forward_temps[temp])
                emitted.add(temp)
                lines.append(f"    {self.names[temp]} = {self.code(self.forward_temps[temp])}")

        for node in nodes:
            short = self.forward_reduced[node]
            emit_temps(short)
            lines.append(f"    {self.names[node]} = {self.code(short)}  # {self.definition_comment[node]}")
        return lines

    def _mean(self, expr: sp.Expr, vector: bool) -> str:
        """The batch mean of ``expr``; a product of two vectors is one dot product."""
        if not vector:
            return self.code(expr)
        factors = sp.Mul.make_args(expr)
        if len(factors) == 2 and all(f.free_symbols & self.varying for f in factors):
            return f"numpy.dot({self.code(factors[0])}, {self.code(factors[1])}) / B"
        return f"numpy.sum({self.code(expr)}) / B"

    # -- the three functions

    def forward(self) -> str:
        g = self.graph
        uses_targets = [p for p in g.predictions if g.ancestors(p) & set(g.targets)]
        if uses_targets:
            raise CompileError(f"the prediction {uses_targets[0]} depends on a target, so it cannot be "
                               "computed from inputs alone")
        lines = ["def forward(params, X):",
                 '    """The predictions, one row per sample and one column per prediction node."""',
                 f"    # predictions: {_comment(names(g.predictions))}"]
        lines += self._prologue(with_targets=False) + self._forward(self._needed(g.predictions))
        lines.append(f"    out = numpy.empty((B, {len(g.predictions)}), dtype=params.dtype)")
        lines += [f"    out[:, {k}] = {self.names[p]}  # {_comment(p)}" for k, p in enumerate(g.predictions)]
        lines.append("    return out")
        return "\n".join(lines)

    def loss(self) -> str:
        g = self.graph
        lines = ["def loss(params, X, Y):",
                 '    """The batch mean of the output node (the per-sample loss)."""',
                 f"    # output: {_comment(g.output)}"]
        lines += self._prologue(with_targets=True) + self._forward(self._needed([g.output]))
        lines.append(f"    return {self._mean(g.output, g.output in self.varying)}")
        return "\n".join(lines)

    def loss_and_gradient(self) -> str:
        g, bp = self.graph, self.bp
        equations = bp.equations()
        edges = [(u, v) for u, terms in equations for v, _ in terms]
        partials = [bp.partials[e] for e in edges]
        mentioned = set().union(*(p.free_symbols for p in partials)) & set(g.definitions)
        temps, reduced = sp.cse(partials, symbols=sp.numbered_symbols("t", cls=sp.Dummy), order="none")
        local = dict(zip(edges, reduced))
        for i, (temp, expr) in enumerate(temps):
            self.names[temp] = f"t{i}"
            if expr.free_symbols & self.varying:
                self.varying.add(temp)

        lines = ["def loss_and_gradient(params, X, Y):",
                 '    """The batch mean of the output node and its gradient, from the backward pass."""',
                 f"    # output: {_comment(g.output)}"]
        lines += self._prologue(with_targets=True)
        lines += self._forward(self._needed([g.output, *mentioned]))
        if temps:
            lines.append("    # shared subexpressions of the local partials")
            lines += [f"    {self.names[t]} = {self.code(e)}" for t, e in temps]

        lines.append(f"    # backward pass: δ_u = Σ_v δ_v·∂v/∂u, from {_comment(bp.of, 40)} back")
        delta = {bp.of: sp.S.One}
        gradient_of = {}
        for u, terms in equations:
            total = sp.Add(*[delta[v] * local[(u, v)] for v, _ in terms])
            if u in g.definitions:
                symbol = sp.Dummy(f"d_{u}")
                self.names[symbol] = "d" + self.names[u][1:]
                if total.free_symbols & self.varying:
                    self.varying.add(symbol)
                lines.append(f"    {self.names[symbol]} = {self.code(total)}  # {_comment(f'∂{bp.of}/∂{u}')}")
                delta[u] = symbol
            else:
                gradient_of[u] = total

        lines.append(f"    # gradient: the batch mean of ∂{_comment(bp.of, 40)}/∂parameter")
        lines.append("    grad = numpy.zeros_like(params)")
        for i, p in enumerate(g.parameters):
            if p in gradient_of:
                total = gradient_of[p]
                lines.append(f"    grad[{i}] = {self._mean(total, bool(total.free_symbols & self.varying))}"
                             f"  # {_comment(p)}")
        lines.append(f"    return {self._mean(g.output, g.output in self.varying)}, grad")
        return "\n".join(lines)


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

    def init_params(self, seed: int | None = None) -> np.ndarray:
        """Zeros (the lecture starts "at the point 0") or, with a seed, small uniform numbers:
        U(−1/√fan_in, 1/√fan_in) as PyTorch's ``Linear`` draws them, where fan_in counts the
        non-parameter inputs of the node a parameter feeds."""
        if seed is None:
            return np.zeros(len(self.parameters), dtype=self.dtype)
        bounds = np.array([1 / np.sqrt(_fan_in(self.graph, p)) for p in self.parameters])
        return np.random.default_rng(seed).uniform(-bounds, bounds).astype(self.dtype)

    def __repr__(self) -> str:
        return (f"Model({len(self.parameters)} parameters, inputs=({names(self.inputs)}), "
                f"predictions=({names(self.predictions)}), dtype={self.dtype.name})")


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


# -- entry points -----------------------------------------------------------------------------------------

def _float_dtype(dtype) -> np.dtype:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = None
    if dtype not in (np.float32, np.float64):
        raise CompileError(f"dtype must be numpy.float64 or numpy.float32, not {dtype}")
    return dtype


def compile_scalar(graph: Graph, functions: Mapping | None = None, dtype=np.float64) -> Model:
    """The scalar compiled path: one NumPy line per node, adjoint and parameter gradient."""
    graph, dtype = bind_functions(graph, functions), _float_dtype(dtype)
    source = _Source(graph)
    text = "\n\n\n".join([source.forward(), source.loss(), source.loss_and_gradient()]) + "\n"
    text = f"# Generated by symbackprop from the derived formulas of:\n{_definitions_comment(graph)}\n# (runs in a namespace that holds only numpy)\n\n\n" + text
    namespace = {"__builtins__": {}, "numpy": np}
    exec(builtins.compile(text, "<symbackprop model>", "exec"), namespace)
    functions = {name: namespace[name] for name in ("forward", "loss", "loss_and_gradient")}
    return Model(graph, functions, text, dtype)


def _definitions_comment(graph: Graph, shown: int = 40) -> str:
    lines = [f"{node} = {sp.sstr(expr, order='none')}" for node, expr in list(graph.definitions.items())[:shown]]
    if len(graph.definitions) > shown:
        lines.append(f"… ({len(graph.definitions) - shown} more definitions)")
    return "\n".join("#   " + _comment(line) for line in lines)


def compile(graph: Graph, functions: Mapping | None = None, dtype=np.float64) -> Model:
    """A ``Model`` whose forward pass, loss and gradient are the graph's derived formulas.

    ``functions`` binds undefined activations (``{f: sbp.tanh}`` or ``{"f": "tanh"}``; default:
    the model file's ``bind``); ``dtype`` is ``numpy.float64`` or ``numpy.float32``.
    """
    graph, dtype = bind_functions(graph, functions), _float_dtype(dtype)
    from .compile_layers import compile_dense  # dense layers: the matrix view, one matmul per layer

    return compile_dense(graph, dtype) or compile_scalar(graph, dtype=dtype)
