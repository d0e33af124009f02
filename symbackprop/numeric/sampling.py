"""Formulas as numbers at random sample points, with undefined functions made concrete.

Two formulas are compared by their values at the same points rather than by trusting SymPy's
simplifier. An undefined activation ``f`` takes several different smooth stand-ins in turn
(tanh, sin, arctan), so a formula that writes ``f`` where ``f'`` belongs cannot agree with the
truth by luck. Values are exact two-decimal rationals of both signs, so a point where two
formulas differ can be shown to a reader and checked by hand; the first point is the model
file's example (``values:``) where it has one.

Evaluation walks the SymPy tree once per group of points, vectorized over the points with
NumPy: no code is generated and nothing is executed.

>>> import sympy as sp
>>> from symbackprop import lecture_network
>>> g = lecture_network()
>>> samples = Samples(g, count=6)
>>> len(samples), samples.stand_ins[1]
(6, {'f': 'sin'})
>>> m1, s1 = g.symbol("m1"), g.symbol("s1")
>>> bool(samples.equal(samples.vector(m1 * s1), samples.vector(s1 * m1)).all())
True
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Callable, Mapping

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from ..core.errors import SymbackpropError
from ..core.functions import is_undefined, logsumexp, prime_base, prime_order, relu, sigmoid, softplus
from ..core.graph import Graph

__all__ = ["Samples", "STAND_INS", "undefined_function_names"]

# Stand-ins for an undefined function: smooth, and with f, f', f'' pairwise different.
STAND_INS: tuple[tuple[str, Callable], ...] = (("tanh", sp.tanh), ("sin", sp.sin), ("atan", sp.atan))

RELATIVE_TOLERANCE = 1e-8
MAX_DERIVATIVE_ORDER = 4        # the stand-ins' higher derivatives grow costly to compute

_NUMPY: Mapping = {
    sp.exp: np.exp, sp.log: np.log, sp.sin: np.sin, sp.cos: np.cos, sp.tan: np.tan,
    sp.tanh: np.tanh, sp.sinh: np.sinh, sp.cosh: np.cosh, sp.atan: np.arctan,
    sp.sech: lambda u: 1 / np.cosh(u), sp.Abs: np.abs, sp.sign: np.sign,
    sigmoid: lambda u: 1 / (1 + np.exp(-u)), softplus: lambda u: np.logaddexp(0, u),
    relu: lambda u: np.maximum(u, 0), sp.Heaviside: lambda u, at_zero=0.0: np.heaviside(u, at_zero),
    sp.Max: lambda *args: np.maximum.reduce(args), sp.Min: lambda *args: np.minimum.reduce(args),
    logsumexp: lambda *args: np.logaddexp.reduce(args),
}


def undefined_function_names(graph: Graph) -> tuple[str, ...]:
    """The undefined functions (``f``) a graph's definitions apply, or its model file declares."""
    found = dict.fromkeys(graph.metadata.get("functions", ()) or ())
    found.update(dict.fromkeys(f.__name__ for f in graph.undefined_functions))
    return tuple(found)


class Samples:
    """At least ``count`` random points for every leaf of ``graph``, in groups: within a group
    each undefined function has one stand-in, and the groups rotate through ``STAND_INS``.

    ``vector(expr)`` is the value of ``expr`` (over leaves and nodes of the graph) at every
    point, ``nan`` where it is undefined or not real.
    """

    def __init__(self, graph: Graph, count: int = 12, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.graph = graph
        functions = undefined_function_names(graph)
        groups = len(STAND_INS) if functions else 1
        self.stand_ins = [{name: STAND_INS[(k + i) % len(STAND_INS)][0] for i, name in enumerate(functions)}
                          for k in range(groups)]
        self._concrete = [{name: dict(STAND_INS)[chosen] for name, chosen in group.items()}
                          for group in self.stand_ins]
        per_group = -(-count // groups)
        count = groups * per_group
        # Two-decimal values in ±[0.2, 1.5]: away from 0, where steps and log misbehave.
        self.values: dict[sp.Symbol, list[Fraction]] = {
            leaf: [Fraction(int(rng.choice((-1, 1)) * rng.integers(20, 151)), 100) for _ in range(count)]
            for leaf in graph.leaves}
        for name, value in (graph.metadata.get("values") or {}).items():
            leaf = next((s for s in graph.leaves if s.name == name), None)
            if leaf is not None:    # the model file's own example is the first point
                self.values[leaf][0] = Fraction(str(value))
        self.per_group = per_group
        self._forward = [self._forward_pass(k) for k in range(groups)]

    def __len__(self) -> int:
        return len(self.stand_ins) * self.per_group

    def point(self, index: int) -> tuple[dict[sp.Symbol, Fraction], dict[str, str]]:
        """The leaf values and the stand-in functions of point ``index``."""
        return ({leaf: values[index] for leaf, values in self.values.items()},
                self.stand_ins[index // self.per_group])

    def _forward_pass(self, group: int) -> dict[sp.Expr, np.ndarray]:
        window = slice(group * self.per_group, (group + 1) * self.per_group)
        known = {leaf: np.array([float(v) for v in values[window]]) for leaf, values in self.values.items()}
        for node, definition in self.graph.definitions.items():
            known[node] = _Evaluator(known, self._concrete[group]).value(definition)
        return known

    def vector(self, expr: sp.Expr) -> np.ndarray:
        """``expr`` at every point (a formula over the graph's leaves and nodes)."""
        with np.errstate(all="ignore"):
            parts = [_Evaluator(known, concrete).value(sp.sympify(expr))
                     for known, concrete in zip(self._forward, self._concrete)]
        return np.concatenate(parts)

    @staticmethod
    def equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Pointwise ``a ≈ b``; where both are undefined or infinite they count as equal, where
        only one is, as different."""
        finite = np.isfinite(a) & np.isfinite(b)
        with np.errstate(invalid="ignore", over="ignore"):
            scale = np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
            close = finite & (np.abs(a - b) <= RELATIVE_TOLERANCE * scale)
        return close | (~np.isfinite(a) & ~np.isfinite(b))


class _Evaluator:
    """One walk over a SymPy tree with every symbol bound to a vector of values."""

    def __init__(self, known: Mapping[sp.Expr, np.ndarray], concrete: Mapping[str, Callable]):
        self.known, self.concrete = known, concrete
        self.size = len(next(iter(known.values()))) if known else 1
        self.memo: dict[sp.Expr, np.ndarray] = {}

    def value(self, expr: sp.Expr) -> np.ndarray:
        if expr in self.known:
            return self.known[expr]
        if expr not in self.memo:
            self.memo[expr] = np.broadcast_to(np.asarray(self._compute(expr), dtype=float),
                                              (self.size,))
        return self.memo[expr]

    def _compute(self, expr: sp.Expr):
        if expr.is_Number or expr.is_NumberSymbol:
            try:
                return float(expr)
            except OverflowError:
                return np.inf if expr > 0 else -np.inf
        if expr.is_Symbol:
            raise SymbackpropError(f"no value for {expr}: it is not a symbol of the network")
        if expr.is_Add:
            return np.sum([self.value(a) for a in expr.args], axis=0)
        if expr.is_Mul:
            return np.prod([self.value(a) for a in expr.args], axis=0)
        if expr.is_Pow:
            base, exponent = self.value(expr.base), self.value(expr.exp)
            return np.power(base, exponent)
        if isinstance(expr, AppliedUndef):
            return self._undefined(expr)
        if expr.func in _NUMPY:
            return _NUMPY[expr.func](*[self.value(a) for a in expr.args])
        raise SymbackpropError(f"cannot evaluate {expr.func} numerically")

    def _undefined(self, app: AppliedUndef):
        base = prime_base(app.func)
        stand_in = self.concrete.get(base.__name__) if is_undefined(base) else None
        if stand_in is None or len(app.args) != 1:
            raise SymbackpropError(f"cannot evaluate {app}: {base.__name__} is not a declared function "
                                   "of one argument")
        if prime_order(app.func) > MAX_DERIVATIVE_ORDER:
            raise SymbackpropError(f"a derivative of {base.__name__} of order {prime_order(app.func)}: "
                                   f"orders above {MAX_DERIVATIVE_ORDER} are not evaluated")
        u, body = _derivative(stand_in, prime_order(app.func))
        return _Evaluator({u: self.value(app.args[0])}, self.concrete).value(body)


@lru_cache(maxsize=None)
def _derivative(stand_in: Callable, order: int) -> tuple[sp.Dummy, sp.Expr]:
    """``(u, stand_in⁽ᵒʳᵈᵉʳ⁾(u))``, differentiated once per function and order."""
    u = sp.Dummy("u")
    return u, sp.diff(stand_in(u), u, order)
