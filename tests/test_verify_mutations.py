"""Mutation testing of ``verify``: no wrong answer is accepted, every right one is.

For every example model and every parameter, the true path-sum answer (the sum of each path's
product of local partials, as a SymPy expression) is mutated the ways students go wrong: two indices
swapped, a factor dropped, ``f`` for ``f'``, ``f''`` for ``f'``, the argument of ``f'`` negated
or wrapped in ``abs``, a sign flipped, a term doubled, a path dropped, a path of another
parameter added. Each mutant is first confirmed wrong by an independent reference (SymPy's
``evalf`` of the fully expanded answer minus the fully expanded derivative, with a concrete
``f`` that is neither odd nor even, at random points); ``verify`` must then refuse it and name,
in its diagnosis, exactly the path that was changed (or the term that was added). The rewrites
that keep the value (reordered, expanded, node names written out in the inputs, Leibniz factors
of local partials, LaTeX instead of plain text) must all be accepted.
"""

from __future__ import annotations

import functools
import random
from pathlib import Path

import pytest
import sympy as sp
from sympy.core.function import AppliedUndef

import symbackprop as sbp
from example_models import HAND_SIZED
from symbackprop.core.functions import prime, prime_order
from symbackprop.render.printing import path_term_text

MODELS = HAND_SIZED
F = sp.Function("f")
# Neither odd nor even, and not one of verify's stand-ins: an independent judge of "wrong".
CONCRETE_F = sp.Lambda(sp.Symbol("u"), sp.exp(-sp.Symbol("u") ** 2) + sp.Symbol("u"))


def _concrete(expr: sp.Expr) -> sp.Expr:
    """``expr`` with f, f', f'' … replaced by the derivatives of ``CONCRETE_F``."""
    u = sp.Dummy("u")

    def value(app):
        body = CONCRETE_F(u)
        for _ in range(prime_order(app.func)):
            body = body.diff(u)
        return body.xreplace({u: app.args[0]})

    return expr.replace(lambda e: isinstance(e, AppliedUndef), value)


@functools.lru_cache(maxsize=None)
def _points(graph: sbp.Graph) -> list[dict]:
    """A few random points, every leaf and node valued there by SymPy (30 digits)."""
    rng = random.Random(1)
    points = []
    for _ in range(4):
        known = {leaf: sp.Float(sp.Rational(rng.randint(-150, 150), 100), 30) for leaf in graph.leaves}
        for node, definition in graph.definitions.items():
            known[node] = _concrete(definition).xreplace(known).evalf(30)
        points.append(known)
    return points


def really_different(graph: sbp.Graph, a: sp.Expr, b: sp.Expr) -> bool:
    """The reference: ``a − b`` is nonzero at one of a few random points, evaluated by SymPy
    with ``f`` replaced by ``CONCRETE_F`` (and its derivatives by SymPy's own)."""
    difference = _concrete(a - b)
    return any(abs(complex(difference.xreplace(point).evalf(30))) > 1e-9 for point in _points(graph))


# -- the mutations: each takes a path's factors and gives the mutated factors, or None ------------

def _family(symbol: sp.Symbol) -> str:
    return symbol.name.rstrip("0123456789_")


def swap_indices(graph, factors):
    """``p21`` where ``p12`` belongs (or ``x2`` for ``x1`` when no two-index swap exists), in
    the first factor that holds such a symbol."""
    known = {s.name: s for s in graph.leaves + graph.nodes}
    for i, factor in enumerate(factors):
        for symbol in sorted(factor.free_symbols, key=str):
            digits = symbol.name[len(_family(symbol)):]
            swapped = _family(symbol) + digits[::-1]
            siblings = [s for s in known.values() if _family(s) == _family(symbol) and s != symbol
                        and graph.kind(s) == graph.kind(symbol)]
            other = known.get(swapped) if swapped != symbol.name else None
            other = other or (sorted(siblings, key=str)[0] if siblings else None)
            if other is not None:
                return factors[:i] + [factor.xreplace({symbol: other})] + factors[i + 1:]
    return None


def drop_factor(graph, factors):
    """The last factor left out (``x1`` in ``…·f'(w11·x1 + w21·x2)·x1``)."""
    return (factors[:-1] or [sp.S.One]) if factors else None


def _node_with_f(graph, expr):
    """A node in ``expr`` whose definition is ``f(u)``."""
    for symbol in sorted(expr.free_symbols, key=str):
        definition = graph.definitions.get(symbol)
        if isinstance(definition, AppliedUndef) and definition.func == F:
            return symbol
    return None


def f_for_f_prime(graph, factors):
    """``f'(u)`` where ``f(u)`` belongs: a node ``z = f(u)`` written ``f'(u)``, as a factor of
    its own if there is one, else inside an argument."""
    for i, factor in sorted(enumerate(factors), key=lambda item: not item[1].is_Symbol):
        node = _node_with_f(graph, factor)
        if node is not None:
            return factors[:i] + [factor.xreplace({node: prime(F)(graph.definitions[node].args[0])})] + factors[i + 1:]
    return None


def _first_prime(factors):
    for i, factor in enumerate(factors):
        apps = sorted((a for a in factor.atoms(AppliedUndef) if prime_order(a.func) == 1), key=str)
        if apps:
            return i, apps[0]
    return None


def _rewrite_prime(factors, how):
    found = _first_prime(factors)
    if found is None:
        return None
    i, app = found
    return factors[:i] + [factors[i].xreplace({app: how(app)})] + factors[i + 1:]


def f_double_prime(graph, factors):
    """``f''(u)`` where ``f'(u)`` belongs."""
    return _rewrite_prime(factors, lambda app: prime(F, 2)(app.args[0]))


def negate_argument(graph, factors):
    """``f'(−u)`` where ``f'(u)`` belongs."""
    return _rewrite_prime(factors, lambda app: app.func(-app.args[0]))


def abs_argument(graph, factors):
    """``f'(|u|)`` where ``f'(u)`` belongs (or ``f(|u|)`` for a node ``f(u)`` when no ``f'``)."""
    rewritten = _rewrite_prime(factors, lambda app: app.func(sp.Abs(app.args[0])))
    if rewritten is not None:
        return rewritten
    for i, factor in enumerate(factors):
        node = _node_with_f(graph, factor)
        if node is not None:
            return factors[:i] + [factor.xreplace({node: F(sp.Abs(graph.definitions[node].args[0]))})] + factors[i + 1:]
    return None


def flip_sign(graph, factors):
    return [-factors[0]] + factors[1:]


def times_two(graph, factors):
    return [2 * factors[0]] + factors[1:]


PATH_MUTATIONS = [swap_indices, drop_factor, f_for_f_prime, f_double_prime, negate_argument, abs_argument,
                  flip_sign, times_two]


def _answer(terms) -> sp.Expr:
    return sp.Add(*[sp.Mul(*t) for t in terms])


def _answer_text(terms) -> str:
    return " + ".join(f"({path_term_text(t)})" for t in terms) or "0"


@functools.lru_cache(maxsize=None)
def load(model: Path) -> sbp.Graph:
    return sbp.load(model)


def mutants(graph: sbp.Graph, wrt: sp.Symbol):
    """``(mutation, path or None, answer, added term or None)`` for one parameter."""
    d = sbp.derive(graph, wrt)
    # each path's factors one by one (a local partial f'(u)·x1 is two of them)
    terms = [[g for f in p.factors for g in sp.Mul.make_args(f) if g != 1] for p in d.paths]
    for k, path in enumerate(d.paths):
        for mutation in PATH_MUTATIONS:
            changed = mutation(graph, terms[k])
            if changed is not None:
                yield mutation.__name__, path, _answer(terms[:k] + [changed] + terms[k + 1:]), None
        yield "drop_path", path, _answer(terms[:k] + terms[k + 1:]), None
    for other in graph.parameters:
        if other != wrt:
            added = next((p for p in sbp.derive(graph, other).paths
                          if not any(not really_different(graph, p.term, t.term) for t in d.paths)), None)
            if added is not None:
                yield "add_wrong_path", None, _answer(terms + [list(added.factors)]), added.term
                return


def rewrites(graph: sbp.Graph, wrt: sp.Symbol):
    """``(rewrite, answer, format)``: the same derivative in forms a student may write it."""
    d = sbp.derive(graph, wrt)
    total = sp.Add(*[p.term for p in d.paths])
    yield "as_printed", _answer_text([list(p.factors) for p in d.paths]), "plain"
    yield "reordered", " + ".join(f"({path_term_text(list(reversed(p.factors)))})"
                                  for p in reversed(d.paths)) or "0", "plain"
    yield "expanded", sbp.text(sp.expand(total)), "plain"
    yield "in_the_inputs", sbp.text(graph.expand(total)), "plain"
    if d.leibniz != sbp.Partial(d.of, d.wrt):         # ∂a/∂s1 alone would restate the question
        yield "leibniz", " + ".join("·".join(sbp.text(q) for q in p.partials) for p in d.paths) or "0", "plain"
    yield "latex", sbp.latex(total), "latex"


CASES = [(model, wrt) for model in MODELS for wrt in load(model).parameters]


@pytest.mark.parametrize("model, wrt", CASES, ids=[f"{m.stem}-{w}" for m, w in CASES])
def test_no_mutant_is_accepted_and_each_is_diagnosed_on_its_path(model, wrt):
    graph = load(model)
    truth = sbp.gradient(graph, wrt)
    checked = 0
    for name, path, answer, added in mutants(graph, wrt):
        if not really_different(graph, answer, truth):
            continue        # this mutation happens to keep the value here: not a wrong answer
        checked += 1
        verdict = sbp.verify(graph, wrt, answer)
        # tanh' and σ' are even, so f'(−u) and f'(|u|) are right for the bound activation: a verdict of its own
        allowed = ("incorrect", "correct_for_bound") if name in ("negate_argument", "abs_argument") else ("incorrect",)
        assert not verdict.correct and verdict.status in allowed, (name, answer, verdict.message)
        if added is not None:
            assert len(verdict.extra) == 1 and not verdict.missing and not verdict.wrong_factors, (name, verdict.message)
            assert "extra term" in verdict.message
        else:
            blamed = {w.path for w in verdict.wrong_factors} | set(verdict.missing)
            assert blamed == {path} and not verdict.extra, (name, answer, verdict.message)
            assert str(path) in verdict.message
    assert checked >= 3, (model.stem, wrt)


@pytest.mark.parametrize("model, wrt", CASES, ids=[f"{m.stem}-{w}" for m, w in CASES])
def test_every_equivalent_rewrite_is_accepted(model, wrt):
    graph = load(model)
    for name, answer, format in rewrites(graph, wrt):
        verdict = sbp.verify(graph, wrt, answer, format=format)
        assert verdict.correct, (name, answer, verdict.message)


def test_the_mutation_catalogue_covers_every_kind():
    """Every mutation applies somewhere in the examples (so none is silently never tried)."""
    applied = {name for model, wrt in CASES for name, *_ in mutants(load(model), wrt)}
    assert applied == {m.__name__ for m in PATH_MUTATIONS} | {"drop_path", "add_wrong_path"}
