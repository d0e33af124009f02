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
  the terms: every value carries a first-order bound on its rounding error (sums add their
  terms' errors and magnitudes, products their relative errors, a function its argument's error
  times its slope), so ``0`` never equals a tiny nonzero derivative, and a sum that cancels to
  rounding noise still equals ``0``.

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

RELATIVE_TOLERANCE = 1e-10
ROUNDING = 100                  # × the rounding-error bounds: the floor of a comparison
EPS = float(np.finfo(float).eps)
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
    """An expression at every sample point: its ``value``, and ``error``, a first-order bound on
    the rounding error of that value (arrays of one row, or of one row per expression)."""

    value: np.ndarray
    error: np.ndarray

    def __neg__(self) -> Values:
        return Values(-self.value, self.error)

    def __getitem__(self, index) -> Values:
        return Values(self.value[index], self.error[index])

    @staticmethod
    def stacked(rows: list[Values]) -> Values:
        """One row per element of ``rows``."""
        return Values(np.array([r.value for r in rows]), np.array([r.error for r in rows]))

    @staticmethod
    def product(factors: list[Values]) -> Values:
        """``Π factors``: relative errors add."""
        values = [f.value for f in factors]
        with np.errstate(all="ignore"):
            error = sum(f.error * np.prod(values[:i] + values[i + 1:], axis=0) for i, f in enumerate(factors))
            product = np.prod(values, axis=0)
            return Values(product, np.abs(error) + len(factors) * EPS * np.abs(product))

    @staticmethod
    def weighted_sum(weights: np.ndarray, rows: Values) -> Values:
        """``Σ weights[i]·rows[i]``."""
        with np.errstate(all="ignore"):
            magnitudes = np.abs(weights) @ np.abs(rows.value)
            return Values(weights @ rows.value, np.abs(weights) @ rows.error + EPS * magnitudes)


@dataclass
class _Group:
    """Points that share one stand-in per undefined function."""

    stand_ins: dict[str, str]
    concrete: dict[str, Callable]
    points: list[dict[sp.Symbol, Fraction]]
    known: dict[sp.Expr, np.ndarray]        # leaves and nodes at the points
    memo: dict                              # values of other subexpressions already seen
    errors: dict = field(default_factory=dict)  # bounds on their rounding errors


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
        group = _Group({name: s.text for name, s in chosen.items()}, concrete, kept,
                       {expr: v for expr, v in known.items() if expr in nodes_and_leaves},
                       {expr: v for expr, v in known.items() if expr not in nodes_and_leaves})
        evaluator = _Evaluator(group.known, concrete, group.memo, group.errors)
        for node, definition in self.graph.definitions.items():     # a node's value carries its error
            group.errors[node] = evaluator.error(definition)
        return group

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
            parts = [_Evaluator(group.known, group.concrete, group.memo, group.errors).values(expr)
                     for group in self._groups]
        return Values(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))

    @staticmethod
    def equal(a: Values, b: Values) -> np.ndarray:
        """Pointwise ``a ≈ b`` (arrays broadcast: a stack of rows against one): relatively, with
        a floor of their rounding errors. A point where either is undefined or infinite is
        never equal."""
        with np.errstate(all="ignore"):
            finite = np.isfinite(a.value) & np.isfinite(b.value)
            tolerance = (RELATIVE_TOLERANCE * np.maximum(np.abs(a.value), np.abs(b.value))
                         + ROUNDING * (a.error + b.error))
            return finite & (np.abs(a.value - b.value) <= tolerance)


class _Evaluator:
    """One walk over a SymPy tree with every symbol bound to a vector of values. ``memo`` and
    ``errors`` hold the values and error bounds of subexpressions already seen (shared between
    walks over the same points)."""

    def __init__(self, known: Mapping[sp.Expr, np.ndarray], concrete: Mapping[str, Callable],
                 memo: dict | None = None, errors: dict | None = None):
        self.known, self.concrete = known, concrete
        self.size = len(next(iter(known.values()))) if known else 1
        self.memo = {} if memo is None else memo
        self.errors = {} if errors is None else errors

    def value(self, expr: sp.Expr) -> np.ndarray:
        if expr in self.known:
            return self.known[expr]
        found = self.memo.get(expr)
        if found is None:
            found = self.memo[expr] = self._vector(self._compute(expr))
        return found

    def values(self, expr: sp.Expr) -> tuple[np.ndarray, np.ndarray]:
        """``(value, error)`` of ``expr``."""
        return self.value(expr), self.error(expr)

    def _vector(self, x) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=float), (self.size,))

    def error(self, expr: sp.Expr) -> np.ndarray:
        """A first-order bound on the rounding error of ``expr``'s value: a sum adds its terms'
        errors (and rounds at the scale of its terms), a product its factors' relative errors,
        a function its arguments' errors times its slope (by evaluating it at the shifted
        arguments)."""
        found = self.errors.get(expr)
        if found is None:
            value = self.value(expr)
            if expr.is_Add:
                found = sum(self.error(a) + EPS * np.abs(self.value(a)) for a in expr.args)
            elif expr.is_Mul:
                found = Values.product([Values(self.value(a), self.error(a)) for a in expr.args]).error
            elif expr.args and not isinstance(expr, sp.Symbol):
                found = EPS * np.abs(value) + self._propagated(expr, value)
            else:
                found = EPS * np.abs(value)
            found = self.errors[expr] = self._vector(found)
        return found

    def _propagated(self, expr: sp.Expr, value: np.ndarray) -> np.ndarray:
        """``Σ_i |F(…, u_i + error_i, …) − F(u)|`` for ``expr = F(u_1, …)``; constant arguments
        (the exponent of ``x²``) are taken as exact, and a shift that leaves the domain adds
        nothing."""
        arguments = [self.value(a) for a in expr.args]
        total = np.zeros(self.size)
        for i, a in enumerate(expr.args):
            shift = self.error(a)
            if a.is_number or not shift.any():
                continue
            moved = arguments[:i] + [arguments[i] + shift] + arguments[i + 1:]
            change = np.abs(self._apply(expr, moved) - value)
            total = total + np.where(np.isfinite(change), change, 0.0)
        return total

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
        return self._apply(expr, [self.value(a) for a in expr.args])

    def _apply(self, expr: sp.Expr, arguments: list[np.ndarray]):
        """The function (or power) at the head of ``expr`` applied to ``arguments``."""
        if expr.is_Pow:
            return np.power(*arguments)
        if isinstance(expr, AppliedUndef):
            return self._undefined(expr, arguments)
        if expr.func in _NUMPY:
            return _NUMPY[expr.func](*arguments)
        raise SymbackpropError(f"cannot evaluate {expr.func} numerically")

    def _undefined(self, app: AppliedUndef, arguments: list[np.ndarray]):
        base = prime_base(app.func)
        chosen = self.concrete.get(base.__name__) if is_undefined(base) else None
        if chosen is None or len(app.args) != 1:
            raise SymbackpropError(f"cannot evaluate {app}: {base.__name__} is not a declared function "
                                   "of one argument")
        if prime_order(app.func) > MAX_DERIVATIVE_ORDER:
            raise SymbackpropError(f"a derivative of {base.__name__} of order {prime_order(app.func)}: "
                                   f"orders above {MAX_DERIVATIVE_ORDER} are not evaluated")
        u, body = _derivative(chosen, prime_order(app.func))
        return _Evaluator({u: arguments[0]}, self.concrete).value(body)


@lru_cache(maxsize=None)
def _derivative(function: Callable, order: int) -> tuple[sp.Dummy, sp.Expr]:
    """``(u, function⁽ᵒʳᵈᵉʳ⁾(u))``, differentiated once per function and order."""
    u = sp.Dummy("u")
    return u, sp.diff(function(u), u, order)
