"""A worked example at one point: forward values, local partials and adjoints as numbers.

Every number comes from the derived formulas: node definitions for the forward pass, the local
partials ``∂v/∂u`` of ``backprop(graph)`` evaluated at the point, and the backward recursion
``δ_u = Σ δ_v · ∂v/∂u`` over them, exactly as the handout prints it. Undefined activations
(``f``) are bound to concrete functions first: ``functions=``, else the model file's
``bind`` metadata, else tanh.

>>> from symbackprop import lecture_network
>>> point = evaluate(lecture_network())
>>> point.binding
{'f': 'tanh'}
>>> round(point.adjoints[point.graph.symbol("s1")] - point.values[point.graph.symbol("m1")], 12)
0.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import sympy as sp

from ..core.derive import backprop
from ..core.errors import SymbackpropError, UnknownSymbolError, names
from ..core.functions import activation, logsumexp, sigmoid, softplus, substitute_functions
from ..core.graph import Graph

__all__ = ["Point", "evaluate", "forward_value", "default_values", "undefined_functions", "DEFAULT_ACTIVATION"]

DEFAULT_ACTIVATION = "tanh"
# A fixed, readable example: small values of both signs, the same for every run.
_PARAMETER_VALUES = (0.5, -0.3, 0.8, 0.2, -0.6, 0.4, 0.7, -0.1, 0.3, -0.5, 0.6, -0.2)
_INPUT_VALUES = (1.0, -0.5, 0.25, 2.0, -1.0, 0.5)
_OWN_FUNCTIONS = (sigmoid, softplus, logsumexp)


@dataclass(frozen=True)
class Point:
    """Numbers for one graph at one point. ``values`` holds every leaf and node; ``partials``
    every edge ``(u, v)``; ``adjoints`` ``δ_u = ∂of/∂u`` for every symbol upstream of ``of``."""

    graph: Graph = field(repr=False)
    of: sp.Symbol
    binding: dict[str, str]
    values: dict[sp.Symbol, float]
    partials: dict[tuple[sp.Symbol, sp.Symbol], float] = field(repr=False)
    adjoints: dict[sp.Symbol, float] = field(repr=False)

    def gradient(self) -> list[float]:
        """∂of/∂θ for the parameters, in ``graph.parameters`` order."""
        return [self.adjoints.get(p, 0.0) for p in self.graph.parameters]

    def parameters(self) -> list[float]:
        return [self.values[p] for p in self.graph.parameters]


def undefined_functions(graph: Graph) -> list[str]:
    """Names of the undefined functions (``f``) that the definitions apply, sorted."""
    return [f.__name__ for f in graph.undefined_functions]


def _resolve_binding(graph: Graph, functions: Mapping | None) -> tuple[dict[str, Callable], dict[str, str]]:
    """``{name: callable}`` for each undefined function, and ``{name: shown name}`` for the text."""
    chosen = dict(graph.metadata.get("bind", {}) or {})
    chosen.update(functions or {})
    callables, shown = {}, {}
    for name in undefined_functions(graph):
        target = chosen.get(name, DEFAULT_ACTIVATION)
        callables[name] = activation(target, name)
        shown[name] = target if isinstance(target, str) else getattr(target, "__name__", str(target))
    return callables, shown


def default_values(graph: Graph) -> dict[sp.Symbol, float]:
    """The model file's example values where given, else a fixed deterministic example."""
    given = graph.metadata.get("values", {}) or {}
    values = {}
    for i, x in enumerate(graph.inputs):
        values[x] = _INPUT_VALUES[i % len(_INPUT_VALUES)]
    for y in graph.targets:
        values[y] = 1.0
    for i, p in enumerate(graph.parameters + graph.constants):
        values[p] = _PARAMETER_VALUES[i % len(_PARAMETER_VALUES)]
    values.update(_as_leaf_values(graph, given))
    return values


def _as_leaf_values(graph: Graph, given: Mapping) -> dict[sp.Symbol, float]:
    result = {}
    for name, number in given.items():
        symbol = graph.symbol(name)
        if symbol in graph.definitions:
            raise SymbackpropError(f"{symbol} is a node; give values for leaves only ({names(graph.leaves)})")
        try:
            result[symbol] = float(number)
        except (TypeError, ValueError):
            raise SymbackpropError(f"the value of {symbol} is not a number: {number!r}") from None
    return result


def _number(expr: sp.Expr, what: str) -> float:
    # SymPy cannot evalf the package's own functions (σ, softplus, LSE): write them with exp/log.
    expr = expr.replace(lambda e: isinstance(e, _OWN_FUNCTIONS), lambda e: e.rewrite(sp.exp))
    value = expr.evalf()
    if value.free_symbols or not value.is_number:
        raise SymbackpropError(f"{what} does not evaluate to a number: {value}")
    if not value.is_real:
        raise SymbackpropError(f"{what} is not a real number: {value}")
    result = float(value)
    if not math.isfinite(result):
        raise SymbackpropError(f"{what} overflows a float ({value}); choose smaller example values")
    return result


class _Evaluator:
    """Numbers for one graph with its undefined functions bound: leaves filled in from defaults
    and ``values``, expressions evaluated at them."""

    def __init__(self, graph: Graph, values: Mapping | None, functions: Mapping | None):
        self.graph = graph
        self.callables, self.shown = _resolve_binding(graph, functions)
        self.numbers: dict[sp.Symbol, float] = default_values(graph)
        self.numbers.update(_as_leaf_values(graph, values or {}))
        missing = [leaf for leaf in graph.leaves if leaf not in self.numbers]
        if missing:
            raise UnknownSymbolError(f"no value for {names(missing)}")

    def at_point(self, expr: sp.Expr, what: str) -> float:
        concrete = substitute_functions(expr, self.callables) if self.callables else expr
        return _number(concrete.xreplace({s: sp.Float(self.numbers[s]) for s in concrete.free_symbols
                                          if s in self.numbers}), what)

    def forward(self, upto: sp.Symbol | None = None) -> dict[sp.Symbol, float]:
        """The forward pass over the nodes (those ``upto`` needs, when given)."""
        needed = None if upto is None else self.graph.ancestors(upto) | {upto}
        for node, definition in self.graph.definitions.items():
            if needed is None or node in needed:
                self.numbers[node] = self.at_point(definition, f"the forward value of {node}")
        return self.numbers


def forward_value(graph: Graph, node, values: Mapping | None = None,
                  functions: Mapping | None = None) -> float:
    """The value of ``node`` at ``values`` (leaf → number, defaults as in ``evaluate``): the
    forward pass alone, for the loss after an update step.

    >>> from symbackprop import lecture_network
    >>> g = lecture_network()
    >>> forward_value(g, "a") == evaluate(g).values[g.output]
    True
    """
    node = graph.symbol(node)
    return _Evaluator(graph, values, functions).forward(upto=node)[node]


def evaluate(graph: Graph, values: Mapping | None = None, of=None,
             functions: Mapping | None = None) -> Point:
    """The forward and backward pass at ``values`` (leaf → number; missing leaves take the
    defaults of ``default_values``), for output ``of`` (default: the graph's output)."""
    bp = backprop(graph, of)
    evaluator = _Evaluator(graph, values, functions)
    numbers = evaluator.forward()
    partials = {edge: evaluator.at_point(d, f"∂{edge[1]}/∂{edge[0]}") for edge, d in bp.partials.items()}
    adjoints = {bp.of: 1.0}
    for v in reversed(bp.nodes):  # the backward pass: δ_u = Σ δ_v · ∂v/∂u
        for u in graph.parents(v):
            adjoints[u] = adjoints.get(u, 0.0) + adjoints[v] * partials[(u, v)]
    overflowing = [str(u) for u, delta in adjoints.items() if not math.isfinite(delta)]
    if overflowing:
        raise SymbackpropError(f"the adjoints of {', '.join(overflowing)} overflow a float; "
                               "choose smaller example values")
    return Point(graph, bp.of, evaluator.shown, numbers, partials, adjoints)
