"""Random computation graphs for property tests, and independent references to check them by.

A drawn graph mixes +, ·, /, integer powers, exp, log, tanh, σ, ReLU and an undefined ``f``; it
shares parameters between nodes and has skip edges (a node may use any earlier node). The
reference derivative is SymPy's own ``diff`` of the fully substituted output, after every
package-defined function has been rewritten in SymPy's elementary terms, so the package's
derivative rules are checked against SymPy's rather than against themselves.
"""

from __future__ import annotations

import random

import sympy as sp
from hypothesis import strategies as st

import symbackprop as sbp

F = sp.Function("f")
X = sp.symbols("x1:4")
P = sp.symbols("p1:7")


def _unary(kind: str, u: sp.Expr) -> sp.Expr:
    return {
        "exp": lambda: sp.exp(u / 2),
        "log": lambda: sp.log(1 + u**2),
        "tanh": lambda: sp.tanh(u),
        "sigmoid": lambda: sbp.sigmoid(u),
        "relu": lambda: sbp.relu(u),
        "f": lambda: F(u),
        "square": lambda: u**2,
        "cube": lambda: u**3,
    }[kind]()


UNARY = ("exp", "log", "tanh", "sigmoid", "relu", "f", "square", "cube")
BINARY = ("add", "mul", "div", "weighted")


@st.composite
def graphs(draw, max_nodes: int = 6) -> sbp.Graph:
    """A random DAG whose output depends on several parameters through several paths."""
    n_nodes = draw(st.integers(2, max_nodes))
    nodes = sp.symbols(f"n1:{n_nodes + 1}")
    available: list[sp.Expr] = list(X[:2]) + list(P[:3])
    definitions = {}
    for node in nodes:
        a = draw(st.sampled_from(available))
        b = draw(st.sampled_from(available))
        weight = draw(st.sampled_from(P))
        kind = draw(st.sampled_from(BINARY))
        inner = {
            "add": a + b,
            "mul": a * b,
            "div": a / (1 + b**2),
            "weighted": weight * a + b,
        }[kind]
        definitions[node] = _unary(draw(st.sampled_from(UNARY)), inner)
        available.append(node)
    users = {s for expr in definitions.values() for s in expr.free_symbols}
    sinks = [n for n in nodes if n not in users]
    out = sp.Symbol("out")
    definitions[out] = sp.Add(*[p * s for p, s in zip(P[3:] * 3, sinks)])
    return sbp.Graph(definitions, inputs=[x for x in X if any(x in e.free_symbols for e in definitions.values())])


# Stand-ins for f. Not sin: SymPy reduces sin's argument modulo π, which on a large polynomial
# argument can take minutes inside diff.
CONCRETE_F = (lambda u: sp.atan(u) + u**3 / 3, lambda u: sp.exp(-u**2) + u)


def elementary(expr: sp.Expr, f=CONCRETE_F[0]) -> sp.Expr:
    """``expr`` with σ, ReLU, softplus, LSE and ``f`` (with its primes) in SymPy's own terms."""
    expr = sbp.substitute_functions(expr, {F: f})
    return expr.replace(
        lambda e: isinstance(e, (sbp.sigmoid, sbp.relu, sbp.softplus, sbp.logsumexp)),
        lambda e: (1 / (1 + sp.exp(-e.args[0])) if isinstance(e, sbp.sigmoid)
                   else sp.Max(e.args[0], 0) if isinstance(e, sbp.relu)
                   else sp.log(1 + sp.exp(e.args[0])) if isinstance(e, sbp.softplus)
                   else sp.log(sp.Add(*[sp.exp(a) for a in e.args]))))


def relu_kinks_as_pytorch(expr: sp.Expr) -> sp.Expr:
    """SymPy's ``Max`` derivative is H(u) with H(0) = 1/2; the package (like PyTorch) says 0."""
    return expr.replace(lambda e: isinstance(e, sp.Heaviside) and e.args[1:] != (sp.S.Zero,),
                        lambda e: sp.Heaviside(e.args[0], 0))


def reference_diff(expr: sp.Expr, wrt: sp.Symbol) -> sp.Expr:
    """SymPy's ``diff`` of an elementary expression, ReLU kinks valued as in PyTorch."""
    return relu_kinks_as_pytorch(sp.diff(expr, wrt))


def reference_gradient(graph: sbp.Graph, wrt: sp.Symbol, f=CONCRETE_F[0]) -> sp.Expr:
    """SymPy's ``diff`` of the fully substituted output, in elementary functions."""
    return reference_diff(elementary(graph.expand(graph.output), f), wrt)


def random_point(graph: sbp.Graph, seed: int) -> dict:
    rng = random.Random(seed)
    return {s: sp.Float(rng.uniform(-1.2, 1.2), 30) for s in graph.leaves}


def numerically_equal(a: sp.Expr, b: sp.Expr, point: dict, rel: float = 1e-9) -> bool:
    va, vb = (complex(e.evalf(30, subs=point)) for e in (a, b))
    return abs(va - vb) <= rel * max(1.0, abs(va), abs(vb))
