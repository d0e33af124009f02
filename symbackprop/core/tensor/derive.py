"""The backward pass of a tensor graph as δ equations: one reverse sweep over the tensor nodes.

Each node's adjoint ``δ_v = ∂L/∂v`` is the sum of the vector-Jacobian products of its users'
operations (the op table's rules); where it would be written more than once (a node whose
definition has several inputs to differentiate, ``u = W a + b``) it gets a name, ``δ^(l)``, and an
equation of its own, as Nielsen (BP1–BP4) and Goodfellow (§6.5) write the backward pass:

>>> import symbackprop as sbp
>>> d = derive_tensor(sbp.mlp((4, 3, 2), loss="softmax_cross_entropy").tensor)
>>> print(d.text())
δ^(2) = softmax(u^(2)) - y
∂L/∂W^(2) = δ^(2) a^(1)ᵀ
∂L/∂b^(2) = δ^(2)
δ^(1) = (W^(2))ᵀ δ^(2) ⊙ tanh'(u^(1))
∂L/∂W^(1) = δ^(1) xᵀ
∂L/∂b^(1) = δ^(1)

A parameter used twice (a tied weight) gets the sum of its contributions; every entry of a
gradient is the scalar view's path sum (``entry``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ..errors import GraphError, UnknownSymbolError
from .base import ONE, Apply, Scalar, Tensor, TensorExpr, leaves, row_major, walk
from .entries import evaluate
from .graph import TensorGraph
from .ops import add
from .scalar import ScalarView, entry_of, scalar_graph, tensor_symbols

__all__ = ["Adjoint", "Gradient", "TensorEquation", "TensorDerivation", "derive_tensor", "as_tensor_graph"]


@dataclass(frozen=True)
class Adjoint(TensorExpr):
    """``δ_v = ∂L/∂v``, the adjoint of node ``v``, by the name the derivation gave it."""

    node: Tensor
    name: str = field(compare=False)

    @property
    def shape(self):
        return self.node.shape

    def __str__(self):
        return self.name


@dataclass(frozen=True)
class Gradient:
    """``∂of/∂wrt``: the left side of a parameter's equation."""

    of: Tensor
    wrt: Tensor

    def __str__(self):
        return f"∂{self.of}/∂{self.wrt}"


@dataclass(frozen=True)
class TensorEquation:
    """``lhs = rhs``: ``lhs`` is an ``Adjoint`` (a named δ) or a ``Gradient``."""

    lhs: Adjoint | Gradient
    rhs: TensorExpr


def as_tensor_graph(graph) -> TensorGraph:
    """The tensor graph of ``graph``: itself, or the one behind an ``mlp``'s scalar view."""
    if isinstance(graph, TensorGraph):
        return graph
    if not isinstance(graph, ScalarView):
        raise GraphError("this graph is scalar; a tensor derivation needs a TensorGraph (sbp.tensor.Graph, "
                         "sbp.mlp, a model file with shapes)")
    return graph.tensor


class TensorDerivation:
    """The δ equations of a tensor graph, in the order the backward pass computes them."""

    def __init__(self, graph: TensorGraph, equations: tuple[TensorEquation, ...], seed: TensorExpr):
        self.graph, self.equations, self.seed = graph, equations, seed

    @property
    def deltas(self) -> dict[Adjoint, TensorExpr]:
        return {e.lhs: e.rhs for e in self.equations if isinstance(e.lhs, Adjoint)}

    def gradient(self, parameter) -> TensorExpr:
        """The right side of ``∂L/∂parameter = …`` (zero when the output does not use it)."""
        p = self.graph.tensor(parameter)
        return next((e.rhs for e in self.equations if e.lhs == Gradient(self.graph.output, p)), Scalar(0))

    # -- entries: the scalar view's path sums --------------------------------------------------------

    def entries(self, expr: TensorExpr) -> list[sp.Expr]:
        """The entries of an expression of this derivation (δ's replaced by their equations), in
        the scalar view's node symbols, as the scalar backward pass writes them."""
        values = dict(tensor_symbols(self.graph))
        scalar = scalar_graph(self.graph)
        fold = {e: n for n, e in scalar.definitions.items() if not e.is_Atom}
        for delta, rhs in self.deltas.items():
            values[delta] = [v.xreplace(fold) for v in evaluate(rhs, values)]
        return [v.xreplace(fold) for v in evaluate(expr, values)]

    def entry(self, parameter) -> sp.Expr:
        """``∂L/∂w`` for one scalar parameter ``w`` (a symbol of the scalar view), read off the
        matrix equations; it equals ``gradient(scalar_graph, w)``, path sum for path sum."""
        tensor, index = entry_of(self.graph, parameter)
        if tensor not in self.graph.parameters:
            raise UnknownSymbolError(f"{parameter} is an entry of {tensor}, which is not a parameter")
        position = row_major(tensor.shape).index(index)
        return self.entries(self.gradient(tensor))[position]

    # -- printing (the render floor's printers, deferred as Derivation.text is) -----------------

    def text(self, forward: bool = False) -> str:
        """One equation a line; ``forward=True`` starts with the forward pass."""
        from ...render.tensor import derivation_text
        return derivation_text(self, forward)

    def latex(self, forward: bool = False) -> str:
        """An ``align*`` block of the same equations."""
        from ...render.tensor import derivation_latex
        return derivation_latex(self, forward)

    def mathml(self, forward: bool = False) -> str:
        """A display ``<math>`` table of the same equations."""
        from ...render.tensor import derivation_mathml
        return derivation_mathml(self, forward)

    def entry_text(self, parameter) -> str:
        """``∂L/∂w = [∂L/∂W]_(i,j) = [<rhs>]_(i,j) = <the scalar path sum>`` (1-based indices)."""
        from ...render.tensor import entry_text
        return entry_text(self, parameter)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"TensorDerivation({len(self.equations)} equations of {self.graph!r})"


def _sweep(graph: TensorGraph, seed: TensorExpr) -> tuple[TensorEquation, ...]:
    output = graph.output
    if output.shape != ():
        raise GraphError(f"the output {output} is {'×'.join(map(str, output.shape))}, not a scalar: "
                         "a backward pass starts from a loss (add one, e.g. squared_error(a, y))")
    wanted = set(graph.parameters)
    for node in graph.nodes:  # nodes through which a parameter reaches the output
        if set(leaves(graph.definitions[node])) & wanted:
            wanted.add(node)
    upstream = graph.ancestors(output) | {output}
    nodes = [n for n in graph.nodes if n in upstream and n in wanted]
    remaining = {p: sum(1 for n in nodes if p in leaves(graph.definitions[n])) for p in graph.parameters}

    def needs(expr) -> bool:
        return any(isinstance(e, Tensor) and e in wanted for e in walk(expr))

    equations: list[TensorEquation] = []
    contributions: dict[Tensor, list[TensorExpr]] = {}
    for node in reversed(nodes):
        # contributions arrive from the last use back: list them in the order of the uses
        delta = seed if node == output else add(*reversed(contributions.pop(node)))
        expr = graph.definitions[node]
        uses = sum(1 for e in walk(expr) if isinstance(e, Tensor) and e in wanted)
        if node in graph.adjoints or (uses > 1 and not isinstance(delta, (Tensor, Adjoint, Scalar))):
            named = Adjoint(node, graph.adjoints.get(node, f"δ_{node.name}"))
            equations.append(TensorEquation(named, delta))
            delta = named
        _vjp(expr, node, delta, needs, contributions)
        for p in dict.fromkeys(t for t in leaves(expr) if t in remaining):
            remaining[p] -= 1
            if remaining[p] == 0:
                equations.append(TensorEquation(Gradient(output, p), add(*reversed(contributions.pop(p)))))
    return tuple(equations)


def _vjp(expr: TensorExpr, out: TensorExpr, seed: TensorExpr, needs, found: dict) -> None:
    """Add ``seed``'s contributions to the adjoints of the tensors in ``expr``, applying each
    operation's vector-Jacobian rule from the outside in."""
    if isinstance(expr, Tensor):
        found.setdefault(expr, []).append(seed)
    elif isinstance(expr, Apply):
        for i, arg in enumerate(expr.args):
            if needs(arg) and expr.op.differentiable(i):
                _vjp(arg, arg, expr.op.vjp(expr.args, out, seed, i), needs, found)


def derive_tensor(graph, seed: TensorExpr = ONE) -> TensorDerivation:
    """The backward pass of a tensor graph (or of ``mlp``'s graph) as δ equations: one reverse
    sweep from the output, whose adjoint is ``seed`` (1; the compiled code seeds 1/B)."""
    graph = as_tensor_graph(graph)
    key = ("derive", seed)
    if key not in graph._cache:
        graph._cache[key] = TensorDerivation(graph, _sweep(graph, seed), seed)
    return graph._cache[key]
