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
from typing import Mapping

import numpy as np
import sympy as sp
from sympy.printing.codeprinter import PrintMethodNotImplementedError

from ..core.derive import backprop
from ..core.errors import CompileError, names
from ..core.functions import substitute_functions
from ..core.graph import Graph, as_graph
from ..core.tensor.graph import TensorGraph
from ..core.tensor.scalar import ScalarView
from .compile_layers import compile_dense
from .compile_tensor import compile_tensor
from .model import Model, NumPyCodePrinter, chosen_functions, comment_line, float_dtype

__all__ = ["compile", "compile_scalar", "bind_functions", "Model", "NumPyCodePrinter"]

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
    bound = chosen_functions(graph.undefined_functions, graph.metadata, functions)
    if not bound:
        return graph
    definitions = {node: substitute_functions(expr, bound) for node, expr in graph.definitions.items()}
    return Graph(definitions, inputs=graph.inputs, targets=graph.targets, parameters=graph.parameters,
                 output=graph.output, predictions=graph.predictions, metadata=graph.metadata)


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
        self.definition_comment = {node: comment_line(f"{node} = {sp.sstr(expr, order='none')}")
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
            raise CompileError(f"cannot compile {comment_line(expr, 60)}: no NumPy code for "
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
            lines += [f"    {self.names[p]} = params[{i}]  # {comment_line(p)}" for i, p in enumerate(g.parameters)]
        if g.inputs:
            lines.append("    X = numpy.ascontiguousarray(X.T)  # one row per input: contiguous columns")
            lines += [f"    {self.names[x]} = X[{i}]  # {comment_line(x)}" for i, x in enumerate(g.inputs)]
        if with_targets and g.targets:
            lines.append("    Y = numpy.ascontiguousarray(Y.T)")
            lines += [f"    {self.names[y]} = Y[{i}]  # {comment_line(y)}" for i, y in enumerate(g.targets)]
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
                 f"    # predictions: {comment_line(names(g.predictions))}"]
        lines += self._prologue(with_targets=False) + self._forward(self._needed(g.predictions))
        lines.append(f"    out = numpy.empty((B, {len(g.predictions)}), dtype=params.dtype)")
        lines += [f"    out[:, {k}] = {self.names[p]}  # {comment_line(p)}" for k, p in enumerate(g.predictions)]
        lines.append("    return out")
        return "\n".join(lines)

    def loss(self) -> str:
        g = self.graph
        lines = ["def loss(params, X, Y):",
                 '    """The batch mean of the output node (the per-sample loss)."""',
                 f"    # output: {comment_line(g.output)}"]
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
                 f"    # output: {comment_line(g.output)}"]
        lines += self._prologue(with_targets=True)
        lines += self._forward(self._needed([g.output, *mentioned]))
        if temps:
            lines.append("    # shared subexpressions of the local partials")
            lines += [f"    {self.names[t]} = {self.code(e)}" for t, e in temps]

        lines.append(f"    # backward pass: δ_u = Σ_v δ_v·∂v/∂u, from {comment_line(bp.of, 40)} back")
        delta = {bp.of: sp.S.One}
        gradient_of = {}
        for u, terms in equations:
            total = sp.Add(*[delta[v] * local[(u, v)] for v, _ in terms])
            if u in g.definitions:
                symbol = sp.Dummy(f"d_{u}")
                self.names[symbol] = "d" + self.names[u][1:]
                if total.free_symbols & self.varying:
                    self.varying.add(symbol)
                lines.append(f"    {self.names[symbol]} = {self.code(total)}  # {comment_line(f'∂{bp.of}/∂{u}')}")
                delta[u] = symbol
            else:
                gradient_of[u] = total

        lines.append(f"    # gradient: the batch mean of ∂{comment_line(bp.of, 40)}/∂parameter")
        lines.append("    grad = numpy.zeros_like(params)")
        for i, p in enumerate(g.parameters):
            if p in gradient_of:
                total = gradient_of[p]
                lines.append(f"    grad[{i}] = {self._mean(total, bool(total.free_symbols & self.varying))}"
                             f"  # {comment_line(p)}")
        lines.append(f"    return {self._mean(g.output, g.output in self.varying)}, grad")
        return "\n".join(lines)


# -- entry points -----------------------------------------------------------------------------------------

def compile_scalar(graph: Graph, functions: Mapping | None = None, dtype=np.float64) -> Model:
    """The scalar compiled path: one NumPy line per node, adjoint and parameter gradient."""
    graph, dtype = bind_functions(graph, functions), float_dtype(dtype)
    source = _Source(graph)
    text = "\n\n\n".join([source.forward(), source.loss(), source.loss_and_gradient()]) + "\n"
    text = f"# Generated by symbackprop from the derived formulas of:\n{_definitionscomment_line(graph)}\n# (runs in a namespace that holds only numpy)\n\n\n" + text
    namespace = {"__builtins__": {}, "numpy": np}
    exec(builtins.compile(text, "<symbackprop model>", "exec"), namespace)
    functions = {name: namespace[name] for name in ("forward", "loss", "loss_and_gradient")}
    return Model(graph, functions, text, dtype)


def _definitionscomment_line(graph: Graph, shown: int = 40) -> str:
    lines = [f"{node} = {sp.sstr(expr, order='none')}" for node, expr in list(graph.definitions.items())[:shown]]
    if len(graph.definitions) > shown:
        lines.append(f"… ({len(graph.definitions) - shown} more definitions)")
    return "\n".join("#   " + comment_line(line) for line in lines)


def compile(graph, functions: Mapping | None = None, dtype=np.float64, backend: str = "numpy") -> Model:
    """A ``Model`` whose forward pass, loss and gradient are the graph's derived formulas.

    ``functions`` binds undefined activations (``{f: sbp.tanh}`` or ``{"f": "tanh"}``; default:
    the model file's ``bind``); ``dtype`` is ``numpy.float64`` or ``numpy.float32``. A tensor
    graph (``sbp.tensor.Graph``, ``sbp.mlp``) compiles to vectorized code from its δ equations,
    also for ``backend="jax"`` (``jax.numpy`` under ``jax.jit``); a scalar graph to one NumPy line
    per node and adjoint, or to the matrix code when it is dense layers. A model file's path
    stands for its graph.
    """
    graph = as_graph(graph, "compile: graph", kinds=(TensorGraph,))
    tensor = graph if isinstance(graph, TensorGraph) else graph.tensor if isinstance(graph, ScalarView) else None
    if tensor is not None:
        # the scalar code: for a network without a loss (as it always was), and for a view
        # asking for it (the lecture's network, whose per-node code names the lecture's nodes)
        scalar_code = tensor.output.shape or (isinstance(graph, ScalarView) and graph.scalar_code)
        if backend != "numpy" or not scalar_code:
            return compile_tensor(graph, functions, dtype, backend)
        graph = graph if isinstance(graph, ScalarView) else ScalarView(tensor)
    if backend != "numpy":
        raise CompileError(f"backend={backend!r} compiles tensor graphs (sbp.tensor.Graph, sbp.mlp, a model file "
                           "with shapes); this graph is scalar")
    graph, dtype = bind_functions(graph, functions), float_dtype(dtype)
    # dense layers take the matrix view, one matmul per layer
    return compile_dense(graph, dtype) or compile_scalar(graph, dtype=dtype)
