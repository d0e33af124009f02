"""The matrix (layer) view of a dense network: the same backward pass, one equation per layer.

A graph whose definitions are dense layers (``u_j = Σ_i w_ij a_i + b_j``, one elementwise
activation per layer) followed by one of the three losses is recognised (``recognise``) and
rewritten as a graph of layer nodes with SymPy matrix symbols (``layer_graph``):
``u^(l) = W^(l) a^(l-1) + b^(l)``, ``a^(l) = f(u^(l))``, ``L = loss(u^(D), y)``. The reverse sweep
of ``derive_layers`` walks that graph backwards with vector-Jacobian rules (matrix product,
bias add, elementwise activation, fused loss) and names the adjoint of each layer's affine node
``δ^(l) = ∂L/∂u^(l)``:

>>> import symbackprop as sbp
>>> d = derive_layers(sbp.mlp((4, 3, 2), loss="softmax_cross_entropy"))
>>> print(d.text())
δ^(2) = softmax(u^(2)) - y
∂L/∂W^(2) = δ^(2) a^(1)ᵀ
∂L/∂b^(2) = δ^(2)
δ^(1) = (W^(2))ᵀ δ^(2) ⊙ tanh'(u^(1))
∂L/∂W^(1) = δ^(1) xᵀ
∂L/∂b^(1) = δ^(1)

Entry ``(j, i)`` of ``∂L/∂W^(l)`` is the scalar path sum for the weight at ``W^(l)[j, i]``
(``w{l}_{i}_{j}`` in ``mlp``'s names, from unit i of layer l-1 to unit j); ``entry`` reads it
off the matrix equations in the scalar graph's symbols:

>>> d.entry("w2_3_1")
a1_3*(a2_1 - y1)
>>> d.entry("w1_4_3") == sbp.gradient(d.layers.structure.graph, "w1_4_3")
True
>>> print(d.entry_text("w2_3_1"))
∂L/∂w2_3_1 = [∂L/∂W^(2)]_(1,3) = [δ^(2) a^(1)ᵀ]_(1,3) = a1_3·(a2_1 - y1)
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions import (HadamardProduct, MatAdd, MatMul, MatrixExpr, MatrixSymbol,
                                        Transpose)

from .derive import Partial, local_partials
from .errors import NotDenseError, names
from .functions import logsumexp, sigmoid, softplus
from .graph import Graph, takes_graph

__all__ = ["DenseLayer", "DenseStructure", "recognise", "dense_structure", "LayerGraph",
           "layer_graph", "LayerEquation", "LayerDerivation", "derive_layers",
           "Activation", "Softmax", "Loss", "LOSS_FORMULAS"]

# The per-sample losses a dense network may end with, over its outputs ``o`` and targets ``t``
# (the forms ``mlp`` builds; a graph is recognised when its loss is one of these).
LOSS_FORMULAS: Mapping[str, Callable] = MappingProxyType({
    "squared_error": lambda o, t: sp.Add(*[(a - y) ** 2 for a, y in zip(o, t)]) / 2,
    "binary_cross_entropy": lambda o, t: sp.Add(*[softplus(a) - y * a for a, y in zip(o, t)]),
    "softmax_cross_entropy": lambda o, t: logsumexp(*o) - sp.Add(*[y * a for a, y in zip(o, t)]),
})


# -- 1. recognising dense layers in a scalar graph ---------------------------------------------

@dataclass(frozen=True)
class DenseLayer:
    """Layer ``l`` of a dense network, in the scalar graph's own symbols.

    ``weights[j][i]`` is the parameter at ``W^(l)[j, i]`` (row: unit j of this layer, column:
    unit i of the layer before); ``pre`` are the nodes holding ``Σ_i w_ij a_i + b_j`` (or those
    sums themselves, where a unit is written ``a = f(Σ w·a + b)`` in one definition, as the
    lecture's network is) and ``post`` the nodes holding ``f(pre)`` (the same nodes for a linear
    layer, ``activation=None``).
    """

    index: int
    weights: tuple[tuple[sp.Symbol, ...], ...]
    biases: tuple[sp.Symbol, ...] | None
    pre: tuple[sp.Symbol, ...]
    post: tuple[sp.Symbol, ...]
    activation: Callable | None

    @property
    def size(self) -> int:
        return len(self.pre)

    @property
    def fan_in(self) -> int:
        return len(self.weights[0])


@dataclass(frozen=True)
class DenseStructure:
    """A graph recognised as dense layers: ``loss`` is a key of ``LOSS_FORMULAS``;
    ``output_transform`` says how the graph's predictions come from the last layer's outputs
    (``None``: they are the outputs, ``"sigmoid"`` or ``"softmax"``)."""

    graph: Graph = field(repr=False)
    layers: tuple[DenseLayer, ...]
    loss: str
    output_transform: str | None

    @property
    def sizes(self) -> tuple[int, ...]:
        return (len(self.graph.inputs),) + tuple(layer.size for layer in self.layers)

    @property
    def fused(self) -> bool:
        """True when some unit is written ``a = f(Σ w·a + b)``, without a node for the sum."""
        return any(p not in self.graph.definitions for layer in self.layers for p in layer.pre)


def _affine(expr: sp.Expr, previous: tuple, parameters: set) -> tuple[tuple, sp.Symbol | None] | None:
    """``(weights aligned with previous, bias or None)`` when ``expr = Σ_i w_i·previous_i (+ b)``
    with every ``w_i`` and ``b`` a parameter; ``None`` otherwise."""
    weights: dict[sp.Symbol, sp.Symbol] = {}
    bias = None
    previous_set = set(previous)
    for term in sp.Add.make_args(expr):
        if term in parameters and bias is None:
            bias = term
            continue
        factors = sp.Mul.make_args(term)
        if len(factors) != 2:
            return None
        weight, unit = factors if factors[1] in previous_set else factors[::-1]
        if weight not in parameters or unit not in previous_set or unit in weights:
            return None
        weights[unit] = weight
    if len(weights) != len(previous):
        return None
    return tuple(weights[unit] for unit in previous), bias


def _activation_node(graph: Graph, pre: sp.Symbol) -> tuple[sp.Symbol, Callable | None]:
    """The node ``a = F(pre)`` that is ``pre``'s only user, with ``F``; else ``(pre, None)``."""
    users = graph.children(pre)
    if len(users) == 1 and users[0] != graph.output:
        expr = graph.definitions[users[0]]
        if expr.is_Function and expr.args == (pre,):
            return users[0], expr.func
    return pre, None


def _unit(graph: Graph, unit: sp.Symbol, previous: tuple, parameters: set):
    """``(weights, bias, pre, post, F)`` of one unit: ``unit = Σ w·a + b`` (then ``post`` is the
    node ``F(unit)`` that uses it, if any) or ``unit = F(Σ w·a + b)`` in one definition (then
    ``pre`` is that sum itself); ``None`` for anything else."""
    expr = graph.definitions[unit]
    parsed = _affine(expr, previous, parameters)
    if parsed is not None:
        return (*parsed, unit, *_activation_node(graph, unit))
    if expr.is_Function and len(expr.args) == 1:
        parsed = _affine(expr.args[0], previous, parameters)
        if parsed is not None:
            return (*parsed, expr.args[0], unit, expr.func)
    return None


def _layer(graph: Graph, index: int, previous: tuple, units: list, parameters: set) -> DenseLayer:
    found = []
    for unit in units:
        parsed = _unit(graph, unit, previous, parameters)
        if parsed is None:
            raise NotDenseError(
                f"{unit} = {graph.definitions[unit]} is not Σ w·a + b (or f(Σ w·a + b)) over every unit "
                f"of layer {index - 1} ({names(previous)}) with its own parameters")
        found.append(parsed)
    rows, biases, pre, post, functions = zip(*found)
    if len({b is None for b in biases}) > 1:
        raise NotDenseError(f"in layer {index} some units have a bias and some do not")
    if len(set(functions)) > 1:
        raise NotDenseError(f"layer {index} mixes activations: {', '.join(sorted(map(str, set(functions))))}")
    return DenseLayer(index, rows, None if biases[0] is None else biases, pre, post, functions[0])


def _loss(graph: Graph, outputs: tuple) -> str:
    targets = graph.targets
    expr = graph.definitions[graph.output]
    if len(targets) == len(outputs):
        for kind, formula in LOSS_FORMULAS.items():
            if sp.expand(expr - formula(outputs, targets)) == 0:
                return kind
    raise NotDenseError(f"the loss {graph.output} = {expr} is not squared error, binary or softmax "
                        f"cross-entropy of ({names(outputs)}) against the targets ({names(targets)})")


def _output_transform(graph: Graph, outputs: tuple) -> str | None:
    predictions = graph.predictions
    if predictions == outputs:
        return None
    if len(predictions) == len(outputs):
        defined = [graph.definitions.get(p) for p in predictions]
        if defined == [sigmoid(o) for o in outputs]:
            return "sigmoid"
        lse = logsumexp(*outputs)
        if defined == [sp.exp(o - lse) for o in outputs]:
            return "softmax"
    raise NotDenseError(f"the predictions ({names(predictions)}) are neither the last layer's "
                        f"outputs ({names(outputs)}) nor σ or softmax of them")


def _recognise(graph: Graph) -> DenseStructure:
    if not graph.inputs:
        raise NotDenseError("the graph declares no inputs, so it has no first layer")
    if not graph.targets:
        raise NotDenseError("the graph has no targets, so no loss: the layer view is of a network "
                            "ending in squared error, binary or softmax cross-entropy")
    parameters = set(graph.parameters)
    layers: list[DenseLayer] = []
    previous = tuple(graph.inputs)
    while True:
        users = {v for a in previous for v in graph.children(a)}
        if graph.output in users:
            break
        units = [n for n in graph.nodes if n in users]
        layers.append(_layer(graph, len(layers) + 1, previous, units, parameters))
        previous = layers[-1].post
    if not layers:
        raise NotDenseError(f"the loss {graph.output} uses the inputs directly: no dense layer")
    loss = _loss(graph, previous)
    transform = _output_transform(graph, previous)
    used = [p for layer in layers for row in layer.weights for p in row]
    used += [b for layer in layers for b in layer.biases or ()]
    if len(set(used)) != len(used):
        raise NotDenseError("a parameter is shared between units; dense layers own their weights")
    if set(used) != parameters:
        raise NotDenseError(f"parameters outside the dense layers: {names(parameters - set(used))}")
    accounted = {n for layer in layers for n in layer.pre + layer.post if n in graph.definitions}
    accounted |= {graph.output} | (set(graph.predictions) if transform else set())
    if set(graph.nodes) != accounted:
        raise NotDenseError(f"nodes outside the dense layers: {names(n for n in graph.nodes if n not in accounted)}")
    return DenseStructure(graph, tuple(layers), loss, transform)


def recognise(graph: Graph) -> DenseStructure:
    """The dense-layer structure of ``graph``; ``NotDenseError`` says why there is none."""
    key = "dense_structure"
    if key not in graph._cache:
        try:
            graph._cache[key] = _recognise(graph)
        except NotDenseError as error:
            graph._cache[key] = error
    found = graph._cache[key]
    if isinstance(found, NotDenseError):
        raise NotDenseError(str(found))
    return found


def dense_structure(graph: Graph) -> DenseStructure | None:
    """``recognise(graph)``, or ``None`` when the graph is not dense layers plus a known loss.

    >>> import symbackprop as sbp
    >>> dense_structure(sbp.mlp((2, 3, 1), loss="squared_error")).sizes
    (2, 3, 1)
    >>> dense_structure(sbp.lecture_network(loss="squared_error")).sizes  # units written f(Σ w·x)
    (2, 2, 2, 1)
    >>> dense_structure(sbp.lecture_network()) is None  # no loss
    True
    """
    try:
        return recognise(graph)
    except NotDenseError:
        return None


# -- 2. the layer graph: matrix symbols and the operations between them --------------------------

_ARGUMENT = sp.Symbol("ξ")


class Activation(MatrixExpr):
    """``f(u)`` applied to each entry of ``u`` (``order=1``: the derivative ``f'(u)``)."""

    def __new__(cls, function: Callable, arg: MatrixExpr, order: int = 0):
        return MatrixExpr.__new__(cls, function(_ARGUMENT), arg, sp.Integer(order))

    @property
    def function(self) -> Callable:
        return self.args[0].func

    @property
    def arg(self) -> MatrixExpr:
        return self.args[1]

    @property
    def order(self) -> int:
        return int(self.args[2])

    @property
    def shape(self):
        return self.arg.shape

    def derivative(self) -> "Activation":
        return Activation(self.function, self.arg, self.order + 1)


class Softmax(MatrixExpr):
    """``softmax(z)_k = e^(z_k) / Σ_i e^(z_i)`` of a column vector ``z``."""

    def __new__(cls, arg: MatrixExpr):
        return MatrixExpr.__new__(cls, arg)

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]

    @property
    def shape(self):
        return self.arg.shape


class Loss(sp.Expr):
    """The per-sample loss ``kind`` of the last layer's outputs ``z`` against the targets ``y``."""

    def __new__(cls, kind: str, z: MatrixExpr, y: MatrixExpr):
        return sp.Expr.__new__(cls, Str(kind), z, y)

    @property
    def kind(self) -> str:
        return self.args[0].name

    def delta(self) -> MatrixExpr:
        """``∂L/∂z``, fused with the output function so that it stays finite for any logits:
        ``z − y`` (squared error), ``σ(z) − y`` (binary), ``softmax(z) − y`` (softmax)."""
        z, y = self.args[1], self.args[2]
        fused = {"squared_error": z, "binary_cross_entropy": Activation(sigmoid, z),
                 "softmax_cross_entropy": Softmax(z)}[self.kind]
        return MatAdd(fused, -y)


@dataclass(frozen=True)
class LayerGraph:
    """The dense network as layer nodes: ``definitions`` maps each matrix symbol (and the loss
    symbol) to its expression, in forward order; ``scalars`` maps every matrix symbol to the
    explicit matrix of the scalar graph's symbols it stands for."""

    structure: DenseStructure = field(repr=False)
    definitions: Mapping
    scalars: Mapping
    weights: tuple[MatrixSymbol, ...]
    biases: tuple[MatrixSymbol | None, ...]
    affine: tuple[MatrixSymbol, ...]
    x: MatrixSymbol
    y: MatrixSymbol
    output: sp.Symbol

    def position(self, parameter) -> tuple[MatrixSymbol, int, int]:
        """``(W^(l) or b^(l), row, column)`` of a scalar parameter (0-based)."""
        symbol = self.structure.graph.symbol(parameter)
        for matrix in self.weights + tuple(b for b in self.biases if b is not None):
            explicit = self.scalars[matrix]
            for row in range(explicit.rows):
                for col in range(explicit.cols):
                    if explicit[row, col] == symbol:
                        return matrix, row, col
        raise NotDenseError(f"{symbol} is not a weight or bias of the dense layers")


def layer_graph(graph: Graph) -> LayerGraph:
    """The layer view of a dense ``graph`` (``NotDenseError`` if it has none)."""
    structure = recognise(graph)
    x = MatrixSymbol("x", len(graph.inputs), 1)
    y = MatrixSymbol("y", len(graph.targets), 1)
    scalars = {x: sp.Matrix(graph.inputs), y: sp.Matrix(graph.targets)}
    definitions: dict = {}
    weights, biases, affine = [], [], []
    previous = x
    for layer in structure.layers:
        l = layer.index
        W = MatrixSymbol(f"W^({l})", layer.size, layer.fan_in)
        scalars[W] = sp.Matrix(layer.weights)
        expr = MatMul(W, previous)
        b = None
        if layer.biases is not None:
            b = MatrixSymbol(f"b^({l})", layer.size, 1)
            scalars[b] = sp.Matrix(layer.biases)
            expr = MatAdd(expr, b)
        logits = layer is structure.layers[-1] and structure.loss != "squared_error"
        pre = MatrixSymbol(f"{'u' if layer.activation or logits else 'a'}^({l})", layer.size, 1)
        definitions[pre] = expr
        scalars[pre] = sp.Matrix(layer.pre)
        previous = pre
        if layer.activation is not None:
            previous = MatrixSymbol(f"a^({l})", layer.size, 1)
            definitions[previous] = Activation(layer.activation, pre)
            scalars[previous] = sp.Matrix(layer.post)
        weights.append(W)
        biases.append(b)
        affine.append(pre)
    definitions[graph.output] = Loss(structure.loss, previous, y)
    return LayerGraph(structure, MappingProxyType(definitions), MappingProxyType(scalars),
                      tuple(weights), tuple(biases), tuple(affine), x, y, graph.output)


# -- 3. the reverse sweep over layer nodes ------------------------------------------------------

def _product(factors: list) -> MatrixExpr:
    return factors[0] if len(factors) == 1 else MatMul(*factors)


def _vjp(expr, seed, found: dict) -> None:
    """Add ``seed``'s contribution to the adjoint of every matrix symbol in ``expr``: the
    vector-Jacobian product of each operation, applied from the outside in."""
    if isinstance(expr, MatrixSymbol):
        found.setdefault(expr, []).append(seed)
    elif isinstance(expr, MatAdd):  # bias add: the adjoint passes through unchanged
        for arg in expr.args:
            _vjp(arg, seed, found)
    elif isinstance(expr, MatMul):  # ∂/∂A_i of A_1⋯A_n against seed: (A_<i)ᵀ seed (A_>i)ᵀ
        factors = expr.args
        for i, factor in enumerate(factors):
            before = [f.T for f in reversed(factors[:i])]
            after = [f.T for f in reversed(factors[i + 1:])]
            _vjp(factor, _product(before + [seed] + after), found)
    elif isinstance(expr, Activation):
        _vjp(expr.arg, HadamardProduct(seed, expr.derivative()), found)
    elif isinstance(expr, Loss):
        _vjp(expr.args[1], expr.delta(), found)
    else:
        raise NotDenseError(f"no vector-Jacobian rule for {type(expr).__name__}")


@dataclass(frozen=True)
class LayerEquation:
    """``lhs = rhs`` of the backward pass: ``lhs`` is ``δ^(l)`` or ``∂L/∂W^(l)``/``∂L/∂b^(l)``."""

    lhs: sp.Basic
    rhs: sp.Basic


@dataclass(frozen=True)
class LayerDerivation:
    """The backward pass of a dense network as matrix equations (per sample; a batch averages
    ``∂L/∂W^(l)`` and ``∂L/∂b^(l)`` over its samples)."""

    layers: LayerGraph = field(repr=False)
    equations: tuple[LayerEquation, ...]

    def gradient(self, matrix: MatrixSymbol) -> sp.Basic:
        """The right side of ``∂L/∂matrix = …``."""
        return next(e.rhs for e in self.equations if e.lhs == Partial(self.layers.output, matrix))

    def explicit(self, expr) -> sp.Matrix:
        """A matrix expression of this derivation written out entry by entry in the scalar
        graph's symbols (``δ^(l)`` replaced by its equation; a node's definition by its name)."""
        graph = self.layers.structure.graph
        fold = {e: n for n, e in graph.definitions.items() if not e.is_Atom}
        deltas = {e.lhs: e.rhs for e in self.equations if isinstance(e.lhs, MatrixSymbol)}
        return _explicit(expr, self.layers.scalars, deltas, fold)

    def entry(self, parameter) -> sp.Expr:
        """``∂L/∂parameter`` as one entry of ``∂L/∂W^(l)`` (or ``∂L/∂b^(l)``): the matrix
        equations read entry by entry, over the scalar graph's node symbols; it equals the
        scalar view's ``gradient(graph, parameter)``, path sum for path sum."""
        matrix, row, col = self.layers.position(parameter)
        return self.explicit(self.gradient(matrix))[row, col]

    def entry_text(self, parameter) -> str:
        """``∂L/∂w = [∂L/∂W^(l)]_(j,i) = [δ^(l) a^(l-1)ᵀ]_(j,i) = <the scalar path sum>`` (1-based)."""
        from ..render.matrices import TEXT  # a convenience of the render floor, deferred
        return " = ".join(self._entry_parts(parameter, TEXT, "[{}]_({},{})"))

    def entry_latex(self, parameter) -> str:
        """The same chain as ``entry_text``, in LaTeX (one line, for an equation environment)."""
        from ..render.matrices import LATEX
        return " = ".join(self._entry_parts(parameter, LATEX, r"\left[{}\right]_{{{},{}}}"))

    def _entry_parts(self, parameter, printer, indexed: str) -> list[str]:
        symbol = self.layers.structure.graph.symbol(parameter)
        matrix, row, col = self.layers.position(symbol)
        at = (row + 1, col + 1) if matrix.cols > 1 else (row + 1, 1)
        return [printer.doprint(Partial(self.layers.output, symbol)),
                indexed.format(printer.doprint(Partial(self.layers.output, matrix)), *at),
                indexed.format(printer.doprint(self.gradient(matrix)), *at),
                printer.doprint(self.entry(symbol))]

    def text(self, forward: bool = False) -> str:
        """One equation a line; ``forward=True`` starts with the forward pass."""
        from ..render.matrices import TEXT
        return "\n".join(f"{TEXT.doprint(lhs)} = {TEXT.doprint(rhs)}" for lhs, rhs in self._lines(forward))

    def latex(self, forward: bool = False) -> str:
        """An ``align*`` block of the same equations."""
        from ..render.matrices import LATEX
        lines = [rf"{LATEX.doprint(lhs)} &= {LATEX.doprint(rhs)}" for lhs, rhs in self._lines(forward)]
        return "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}"

    def _lines(self, forward: bool) -> list[tuple]:
        shown = list(self.layers.definitions.items()) if forward else []
        return shown + [(e.lhs, e.rhs) for e in self.equations]

    def __str__(self) -> str:
        return self.text()

    # Notebook display: the matrix equations typeset (MathJax), the text form elsewhere.
    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {"text/plain": self.text(), "text/latex": self.latex(forward=True)}


def _explicit(expr, scalars: Mapping, deltas: Mapping, fold: Mapping):
    def walk(e):
        if e in deltas:
            return walk(deltas[e])
        if isinstance(e, MatrixSymbol):
            return scalars[e]
        if isinstance(e, Transpose):
            return walk(e.arg).T
        if isinstance(e, MatAdd):
            return functools.reduce(operator.add, map(walk, e.args))
        if isinstance(e, MatMul):
            return functools.reduce(operator.mul, map(walk, e.args))
        if isinstance(e, HadamardProduct):
            return functools.reduce(lambda a, b: a.multiply_elementwise(b), map(walk, e.args))
        if isinstance(e, Activation):
            return walk(e.arg).applyfunc(lambda u: _scalar_activation(e.function, u, e.order, fold))
        if isinstance(e, Softmax):
            z = walk(e.arg)
            lse = logsumexp(*z)
            return z.applyfunc(lambda zk: sp.exp(zk - lse).xreplace(fold))
        if e.is_Number:
            return e
        raise NotDenseError(f"cannot write {e} entry by entry")

    return walk(expr)


def _scalar_activation(function: Callable, u: sp.Expr, order: int, fold: Mapping) -> sp.Expr:
    """``f(u)`` or ``f'(u)``, as the scalar view writes it (the node's name for ``f(u)``, so
    ``tanh'`` reads ``1 - a**2``); ``u`` is a node or, for ``a = f(Σ w·x + b)``, that sum."""
    value = function(u).xreplace(fold)
    if order == 0:
        return value
    if order == 1:
        derivative = local_partials(function(_ARGUMENT), [_ARGUMENT], value=value if value.is_Symbol else None)
        return derivative[_ARGUMENT].xreplace({_ARGUMENT: u})
    raise NotDenseError("only first derivatives of activations appear in the backward pass")


@takes_graph
def derive_layers(graph: Graph) -> LayerDerivation:
    """The backward pass of a dense ``graph`` as matrix equations (``NotDenseError`` when the
    graph is not dense layers plus a known loss): one reverse sweep over the layer nodes,
    naming the adjoint of layer l's affine node ``δ^(l)``."""
    key = "derive_layers"
    if key in graph._cache:
        return graph._cache[key]
    layers = layer_graph(graph)
    deltas = {pre: MatrixSymbol(f"δ^({l})", *pre.shape) for l, pre in enumerate(layers.affine, 1)}
    parameters = [p for p in layers.weights + layers.biases if p is not None]
    equations: list[LayerEquation] = []
    contributions: dict = {}
    for node, expr in reversed(list(layers.definitions.items())):
        seed = sp.S.One if node == layers.output else _sum(contributions.pop(node))
        if node in deltas:  # an affine node: its adjoint gets a name, reused from here on
            equations.append(LayerEquation(deltas[node], seed))
            seed = deltas[node]
        found: dict = {}
        _vjp(expr, seed, found)
        for symbol, terms in found.items():
            if symbol in parameters:  # a dense layer's parameters feed nothing else: complete
                equations.append(LayerEquation(Partial(layers.output, symbol), _sum(terms)))
            elif symbol != layers.x:
                contributions.setdefault(symbol, []).extend(terms)
    result = graph._cache[key] = LayerDerivation(layers, tuple(equations))
    return result


def _sum(terms: list) -> MatrixExpr:
    return terms[0] if len(terms) == 1 else MatAdd(*terms)
