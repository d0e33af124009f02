"""Formulas as numbers at sample points inside their domain, with undefined functions made concrete.

Two formulas are compared by their values at the same points rather than by trusting SymPy's
simplifier. Three rules keep that comparison sound:

- **stand-ins that tell derivatives apart**: an undefined activation ``f`` takes in turn a
  shifted tanh, softplus and arctan (``tanh(u + 1/2)``, …): none is odd or even, so ``f'(−u)``,
  ``f'(|u|)``, ``f(u)``, ``f''(u)`` all differ from ``f'(u)``; each undefined function has its own
  shift, so ``g`` never stands in for ``f``;
- **points inside the domain**: a point is kept only where the expression that must be defined
  there (``defined=``, the true derivative) is finite; candidates are drawn from wider and wider
  ranges (and around the model file's ``values:`` example) until there are enough;
- **relative comparison**: ``equal`` compares relatively, with a floor scaled to the magnitudes of
  the terms an expression was summed from (its rounding error), so ``0`` never equals a tiny
  nonzero derivative.

Values are exact two-decimal rationals of both signs, so a point where two formulas differ can be
shown to a reader and checked by hand; the first point of each group is the model file's
example (``values:``) where it is defined. Evaluation walks the SymPy tree once per group of
points, vectorized with NumPy and memoized (a tree that shares subexpressions costs its number
of distinct subexpressions): no code is generated and nothing is executed.

>>> import sympy as sp
>>> from symbackprop import lecture_network
>>> g = lecture_network()
>>> samples = Samples(g, count=6)
>>> len(samples), samples.stand_ins[1]
(6, {'f': 'softplus(u + 1/2)'})
>>> m1, s1 = g.symbol("m1"), g.symbol("s1")
>>> bool(samples.equal(samples.vector(m1 * s1), samples.vector(s1 * m1)).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Callable, Mapping

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from ..core.errors import SymbackpropError
from ..core.functions import is_undefined, logsumexp, prime_base, prime_order, relu, sigmoid, softplus
from ..core.graph import Graph

__all__ = ["Samples", "Values", "StandIn", "stand_in", "undefined_function_names", "MIN_POINTS"]

# The families a stand-in is drawn from: smooth, with f, f', f'' pairwise different.
_FAMILIES: tuple[Callable, ...] = (sp.tanh, softplus, sp.atan)

RELATIVE_TOLERANCE = 1e-8
ROUNDING = 1e-11                # × the magnitude of the summed terms: the floor of a comparison
MAX_DERIVATIVE_ORDER = 4        # the stand-ins' higher derivatives grow costly to compute
MIN_POINTS = 6                  # fewer points inside the domain than this, and nothing is decided
# Magnitudes of the candidate values, one range per round: the domain may start far from 0.
_ROUNDS = ((20, 150), (20, 400), (50, 1_200), (100, 4_000))      # in hundredths
_CANDIDATES_PER_POINT = 4

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


@dataclass(frozen=True)
class StandIn:
    """A concrete function for an undefined one: ``text`` as shown to a reader
    (``tanh(u + 1/2)``), ``function`` a SymPy callable of one argument."""

    text: str
    function: Callable[[sp.Expr], sp.Expr]


@lru_cache(maxsize=None)      # one function object per stand-in: its derivatives are cached by it
def stand_in(index: int, group: int) -> StandIn:
    """The stand-in for the ``index``-th undefined function in sample group ``group``: the
    families rotate with the group, and the shift ``±(2 + index)/4`` differs per function.

    >>> stand_in(0, 0).text, stand_in(1, 0).text, stand_in(0, 1).text
    ('tanh(u + 1/2)', 'softplus(u - 3/4)', 'softplus(u + 1/2)')
    """
    family = _FAMILIES[(index + group) % len(_FAMILIES)]
    shift = sp.Rational((-1) ** index * (2 + index), 4)
    u = sp.Symbol("u")
    return StandIn(str(family(u + shift)), lambda argument: family(argument + shift))


@dataclass(frozen=True)
class Values:
    """An expression at every sample point: its ``value``, and the ``size`` of the terms it was
    summed from (``|a| + |b|`` for ``a + b``), the scale of its rounding error."""

    value: np.ndarray
    size: np.ndarray

    def __neg__(self) -> Values:
        return Values(-self.value, self.size)

    def __getitem__(self, index) -> Values:
        return Values(self.value[index], self.size[index])


@dataclass
class _Group:
    """Points that share one stand-in per undefined function."""

    stand_ins: dict[str, str]
    concrete: dict[str, Callable]
    points: list[dict[sp.Symbol, Fraction]]
    known: dict[sp.Expr, np.ndarray]        # leaves and nodes at the points
    memo: dict                              # values of other subexpressions already seen
    sizes: dict = field(default_factory=dict)   # their magnitudes (``_Evaluator.magnitude``)


class Samples:
    """About ``count`` points inside the domain of ``defined`` for every leaf of ``graph``, in
    groups: within a group each undefined function has one stand-in (``functions=`` fixes them:
    one group with those), and the groups rotate the stand-ins' families.

    ``vector(expr)`` is the ``Values`` of ``expr`` (over leaves and nodes of the graph) at every
    point, ``nan`` where it is undefined or not real; ``tried`` counts the candidate points drawn.
    """

    def __init__(self, graph: Graph, count: int = 12, seed: int = 0, defined: sp.Expr | None = None,
                 functions: Mapping[str, Callable] | None = None):
        rng = np.random.default_rng(seed)
        self.graph = graph
        self.wanted, self.tried = count, 0
        names = undefined_function_names(graph)
        if functions is not None:
            choices = [{name: StandIn(name, functions[name]) for name in names}]
        else:
            choices = [{name: stand_in(i, k) for i, name in enumerate(names)}
                       for k in range(len(_FAMILIES) if names else 1)]
        per_group = -(-count // len(choices))
        example = self._example()
        with np.errstate(all="ignore"):
            self._groups = [self._group(chosen, per_group, defined, rng, example) for chosen in choices]

    @property
    def stand_ins(self) -> list[dict[str, str]]:
        """For each group, the text of the function standing in for each undefined one."""
        return [group.stand_ins for group in self._groups]

    def __len__(self) -> int:
        return sum(len(group.points) for group in self._groups)

    def point(self, index: int) -> tuple[dict[sp.Symbol, Fraction], dict[str, str]]:
        """The leaf values and the stand-in functions of point ``index``."""
        for group in self._groups:
            if index < len(group.points):
                return group.points[index], group.stand_ins
            index -= len(group.points)
        raise IndexError("no such sample point")

    # -- drawing points inside the domain -----------------------------------------------------------

    def _example(self) -> dict[sp.Symbol, Fraction]:
        """The model file's own example point (``values:``), for the leaves it gives."""
        given = self.graph.metadata.get("values") or {}
        return {leaf: Fraction(str(given[leaf.name])) for leaf in self.graph.leaves if leaf.name in given}

    def _group(self, chosen: Mapping[str, StandIn], wanted: int, defined, rng, example) -> _Group:
        concrete = {name: s.function for name, s in chosen.items()}
        leaves = self.graph.leaves
        kept: list[dict[sp.Symbol, Fraction]] = []
        parts: list[dict] = []
        for low, high in _ROUNDS:
            hundredths, exact = self._candidates(rng, max(8, _CANDIDATES_PER_POINT * wanted), low, high, example)
            self.tried += len(hundredths)
            floats = hundredths / 100
            for row, values in exact.items():
                floats[row, [leaves.index(leaf) for leaf in values]] = [float(v) for v in values.values()]
            evaluator = _Evaluator(dict(zip(leaves, floats.T)), concrete)
            for node, definition in self.graph.definitions.items():
                evaluator.known[node] = evaluator.value(definition)
            inside = np.isfinite(evaluator.value(defined)) if defined is not None else np.ones(len(floats), bool)
            take = np.flatnonzero(inside)[:wanted - len(kept)]
            kept += [{**{leaf: Fraction(int(h), 100) for leaf, h in zip(leaves, hundredths[i])}, **exact.get(i, {})}
                     for i in take]
            parts.append({expr: values[take] for expr, values in {**evaluator.memo, **evaluator.known}.items()})
            if len(kept) == wanted:
                break
        known = {expr: np.concatenate([part[expr] for part in parts]) for expr in parts[0]}
        nodes_and_leaves = set(leaves) | set(self.graph.definitions)
        return _Group({name: s.text for name, s in chosen.items()}, concrete, kept,
                      {expr: v for expr, v in known.items() if expr in nodes_and_leaves},
                      {expr: v for expr, v in known.items() if expr not in nodes_and_leaves})

    def _candidates(self, rng, n: int, low: int, high: int, example) -> tuple[np.ndarray, dict]:
        """``n`` random points as hundredths (an ``n × leaves`` array) of magnitude ``low…high``
        and random sign; with an example, ``{0: example}`` overrides the first row with its exact
        values, and the last quarter lies near it (kept only if the others fall short: a domain
        may be small around the example, and points should be spread where it is not)."""
        leaves = self.graph.leaves
        shape = (n, len(leaves))
        hundredths = rng.integers(low, high + 1, size=shape) * rng.choice((-1, 1), size=shape)
        if not example:
            return hundredths, {}
        near = n // 4
        for leaf, value in example.items():
            steps = rng.integers(-30, 31, size=near) * float(max(1, abs(value)))
            hundredths[n - near:, leaves.index(leaf)] = np.round(float(value) * 100 + steps)
        return hundredths, {0: dict(example)}

    # -- values ---------------------------------------------------------------------------------------

    def vector(self, expr: sp.Expr) -> Values:
        """``expr`` at every point (a formula over the graph's leaves and nodes)."""
        expr = sp.sympify(expr)
        with np.errstate(all="ignore"):
            parts = [_Evaluator(group.known, group.concrete, group.memo, group.sizes).values(expr)
                     for group in self._groups]
        return Values(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))

    @staticmethod
    def equal(a: Values, b: Values) -> np.ndarray:
        """Pointwise ``a ≈ b`` (arrays broadcast: a stack of rows against one): relatively, with
        a floor scaled to the magnitudes of the terms. A point where either is undefined or
        infinite is never equal."""
        with np.errstate(all="ignore"):
            finite = np.isfinite(a.value) & np.isfinite(b.value)
            tolerance = (RELATIVE_TOLERANCE * np.maximum(np.abs(a.value), np.abs(b.value))
                         + ROUNDING * np.maximum(a.size, b.size))
            return finite & (np.abs(a.value - b.value) <= tolerance)


class _Evaluator:
    """One walk over a SymPy tree with every symbol bound to a vector of values. ``memo`` holds
    the values of subexpressions already seen (shared between walks over the same points)."""

    def __init__(self, known: Mapping[sp.Expr, np.ndarray], concrete: Mapping[str, Callable],
                 memo: dict | None = None, sizes: dict | None = None):
        self.known, self.concrete = known, concrete
        self.size = len(next(iter(known.values()))) if known else 1
        self.memo = {} if memo is None else memo
        self.sizes = {} if sizes is None else sizes

    def value(self, expr: sp.Expr) -> np.ndarray:
        if expr in self.known:
            return self.known[expr]
        found = self.memo.get(expr)
        if found is None:
            found = self.memo[expr] = np.broadcast_to(np.asarray(self._compute(expr), dtype=float), (self.size,))
        return found

    def values(self, expr: sp.Expr) -> tuple[np.ndarray, np.ndarray]:
        """``(value, size)`` of ``expr``."""
        return self.value(expr), self.magnitude(expr)

    def magnitude(self, expr: sp.Expr) -> np.ndarray:
        """The size of the terms ``expr`` is made of: sums add their terms' sizes, products and
        integer powers multiply them; anything else is its own absolute value."""
        found = self.sizes.get(expr)
        if found is None:
            if expr.is_Add:
                found = np.sum([self.magnitude(a) for a in expr.args], axis=0)
            elif expr.is_Mul:
                found = np.prod([self.magnitude(a) for a in expr.args], axis=0)
            elif expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
                found = self.magnitude(expr.base) ** int(expr.exp)
            else:
                found = np.abs(self.value(expr))
            found = self.sizes[expr] = np.broadcast_to(found, (self.size,))
        return found

    def _compute(self, expr: sp.Expr):
        if expr.is_Atom and expr.is_number:
            try:
                return float(expr)
            except OverflowError:
                return np.inf if expr > 0 else -np.inf
            except TypeError:       # not real (I)
                return np.nan
        if expr.is_Symbol:
            raise SymbackpropError(f"no value for {expr}: it is not a symbol of the network")
        if expr.is_Add:
            return np.sum([self.value(a) for a in expr.args], axis=0)
        if expr.is_Mul:
            return np.prod([self.value(a) for a in expr.args], axis=0)
        if expr.is_Pow:
            return np.power(self.value(expr.base), self.value(expr.exp))
        if isinstance(expr, AppliedUndef):
            return self._undefined(expr)
        if expr.func in _NUMPY:
            return _NUMPY[expr.func](*[self.value(a) for a in expr.args])
        raise SymbackpropError(f"cannot evaluate {expr.func} numerically")

    def _undefined(self, app: AppliedUndef):
        base = prime_base(app.func)
        chosen = self.concrete.get(base.__name__) if is_undefined(base) else None
        if chosen is None or len(app.args) != 1:
            raise SymbackpropError(f"cannot evaluate {app}: {base.__name__} is not a declared function "
                                   "of one argument")
        if prime_order(app.func) > MAX_DERIVATIVE_ORDER:
            raise SymbackpropError(f"a derivative of {base.__name__} of order {prime_order(app.func)}: "
                                   f"orders above {MAX_DERIVATIVE_ORDER} are not evaluated")
        u, body = _derivative(chosen, prime_order(app.func))
        return _Evaluator({u: self.value(app.args[0])}, self.concrete).value(body)


@lru_cache(maxsize=None)
def _derivative(function: Callable, order: int) -> tuple[sp.Dummy, sp.Expr]:
    """``(u, function⁽ᵒʳᵈᵉʳ⁾(u))``, differentiated once per function and order."""
    u = sp.Dummy("u")
    return u, sp.diff(function(u), u, order)
