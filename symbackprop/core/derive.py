"""Backpropagation, symbolically: local partials on edges, one reverse sweep, path sums.

The whole derivation in three steps, as in the lecture:

1. **local partials**: for each node ``v`` and each symbol ``u`` its definition uses,
   ``∂v/∂u`` (one structural pass over ``v``'s expression, see ``local_partials``);
2. **adjoints**: ``δ_v = ∂out/∂v``, one sweep from the output backwards,
   ``δ_u = Σ_{u→v} δ_v · ∂v/∂u``; a parameter's gradient is its leaf's adjoint;
3. **paths**: the same sum written out path by path, ``∂out/∂w = Σ_paths Π ∂v/∂u``, enumerated
   only when shown and counted first (``count_paths``).

>>> import sympy as sp
>>> from symbackprop import lecture_network
>>> g = lecture_network()
>>> count_paths(g, sp.Symbol("w11"))
2
>>> gradient(g, sp.Symbol("s1"))
m1
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .errors import PathLimitError, SymbackpropError, UnknownSymbolError, did_you_mean, names
from .functions import derivative_from_output, is_undefined, prime
from .graph import Graph, takes_graph

__all__ = [
    "local_partials", "Backprop", "backprop", "Path", "Derivation", "Partial", "DirectPartial",
    "gradient", "gradients", "adjoints", "paths", "count_paths", "path_counts", "derive", "DEFAULT_MAX_PATHS",
]

DEFAULT_MAX_PATHS = 10_000
# Factors the sweep may copy while it multiplies out products (about 20 s of SymPy's work).
MAX_SWEEP_WORK = 2_000_000


class Partial(sp.Expr):
    """The symbol ``∂of/∂wrt``: a factor of a Leibniz product, not yet a formula."""

    is_commutative = True

    def __new__(cls, of: sp.Symbol, wrt: sp.Symbol):
        return sp.Expr.__new__(cls, of, wrt)

    @property
    def of(self) -> sp.Symbol:
        return self.args[0]

    @property
    def wrt(self) -> sp.Symbol:
        return self.args[1]


class DirectPartial(Partial):
    """``(∂of/∂wrt)_held``: the local partial along the single arrow ``wrt → of``, the other
    inputs ``held`` fixed, in a path sum whose total is also written ∂of/∂wrt (a skip connection:
    ``∂a/∂w = ∂a/∂z·∂z/∂w + (∂a/∂w)_z``)."""

    def __new__(cls, of: sp.Symbol, wrt: sp.Symbol, held):
        return sp.Expr.__new__(cls, of, wrt, sp.Tuple(*held))

    @property
    def held(self) -> tuple[sp.Symbol, ...]:
        return tuple(self.args[2])


# -- 1. local partials ---------------------------------------------------------------------------

def _function_derivative(app: sp.Function, index: int) -> sp.Expr:
    """∂F(…)/∂(argument ``index``) for an applied function ``F``."""
    if is_undefined(app.func):
        if len(app.args) != 1:
            raise SymbackpropError(f"cannot differentiate {app}: undefined functions of several "
                                   "arguments have no derivative notation here")
        return prime(app.func)(app.args[0])
    derivative = app.fdiff(index + 1)
    if derivative.has(sp.Derivative, sp.Subs):
        raise SymbackpropError(f"SymPy knows no closed-form derivative of {app.func}")
    return derivative


def _extremum_derivative(extremum: sp.Expr, index: int) -> sp.Expr:
    """∂max(u₁, …, uₙ)/∂uᵢ = H(uᵢ − max(the others)), and for min H(min(the others) − uᵢ), with
    H(0) = ½: the subgradient of PyTorch's ``maximum``/``minimum`` (a tie splits the gradient)."""
    others = extremum.args[:index] + extremum.args[index + 1:]
    rest = others[0] if len(others) == 1 else extremum.func(*others, evaluate=False)
    u = extremum.args[index]
    return sp.Heaviside(u - rest if isinstance(extremum, sp.Max) else rest - u, sp.S.Half)


def _times(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """a·b, skipping SymPy's product machinery for the common factor 1."""
    return b if a is sp.S.One else a if b is sp.S.One else sp.Mul(a, b)


def local_partials(expr: sp.Expr, wrt, value: sp.Symbol | None = None) -> dict[sp.Symbol, sp.Expr]:
    """``{u: ∂expr/∂u}`` for every symbol ``u`` in ``wrt`` that ``expr`` uses, in ``wrt``'s order.

    One reverse pass over the expression tree, carrying the derivative of ``expr`` with respect
    to the subexpression being visited (reverse mode inside a single node). If ``value`` names
    the node ``expr`` defines and ``expr`` is ``tanh(u)``, ``σ(u)`` or ``exp(u)``, the outer
    derivative is written with that value (``1 - z**2`` rather than ``1 - tanh(u)**2``).

    >>> import sympy as sp
    >>> x, w, b = sp.symbols("x w b")
    >>> local_partials(w * x + b, [w, b])
    {w: x, b: 1}
    """
    order = list(wrt)
    wrt = set(order)
    found: dict[sp.Symbol, list[sp.Expr]] = {}

    def visit(e: sp.Expr, seed: sp.Expr) -> None:
        if e in wrt:
            found.setdefault(e, []).append(seed)
        elif e.is_Add:
            for arg in e.args:
                chain(arg, seed, lambda: sp.S.One)
        elif e.is_Mul:
            for i, arg in enumerate(e.args):
                chain(arg, seed, lambda: sp.Mul(*e.args[:i], *e.args[i + 1:]))
        elif e.is_Pow:
            base, exponent = e.args
            chain(base, seed, lambda: exponent * base ** (exponent - 1))
            chain(exponent, seed, lambda: e * sp.log(base))
        elif isinstance(e, (sp.Function, sp.Max, sp.Min)):  # Max: the routing of max pooling
            for i, arg in enumerate(e.args):
                chain(arg, seed, lambda: _function_derivative(e, i))
        elif isinstance(e, (sp.Max, sp.Min)):
            for i, arg in enumerate(e.args):
                chain(arg, seed, lambda: _extremum_derivative(e, i))
        else:
            raise SymbackpropError(f"cannot differentiate through {e} ({type(e).__name__})")

    def chain(arg: sp.Expr, seed: sp.Expr, local) -> None:
        """Go down into ``arg`` with seed·∂e/∂arg, only where ``arg`` holds a symbol of ``wrt``
        (the local derivative is built only then: besselj(0, x) has none in its order 0)."""
        if arg.free_symbols & wrt:
            visit(arg, _times(seed, local()))

    from_output = derivative_from_output(expr.func) if value is not None and expr.is_Function else None
    if from_output is not None and len(expr.args) == 1:
        chain(expr.args[0], sp.S.One, lambda: from_output(value))
    else:
        chain(expr, sp.S.One, lambda: sp.S.One)
    return {u: sp.Add(*found[u]) for u in order if u in found}


# -- 2. the reverse sweep --------------------------------------------------------------------------

class Backprop:
    """Everything derived for one graph and one output node ``of``.

    ``partials[(u, v)]`` is the local partial ``∂v/∂u`` on the edge ``u → v``; ``relevant`` are
    the symbols from which ``of`` can be reached; ``adjoint(v)`` is ``∂of/∂v`` in closed form
    over node symbols, computed once per node and reused by every parameter.
    """

    def __init__(self, graph: Graph, of: sp.Symbol):
        self.graph, self.of = graph, of
        upstream = graph.ancestors(of) | {of}
        self.nodes = tuple(n for n in graph.nodes if n in upstream)
        # Where a node's whole definition appears inside a partial, write the node's name:
        # σ(u) − y reads as a − y, as a textbook writes it.
        fold = {expr: node for node, expr in graph.definitions.items() if not expr.is_Atom}
        self.partials: dict[tuple[sp.Symbol, sp.Symbol], sp.Expr] = {}
        for v in self.nodes:
            for u, d in local_partials(graph.definitions[v], graph.parents(v), value=v).items():
                self.partials[(u, v)] = d.xreplace(fold)
        self.relevant = frozenset(upstream)
        self._adjoints: dict[sp.Symbol, sp.Expr] = {}   # filled by the sweep, when first needed

    def sweep_work(self) -> tuple[int, int]:
        """(factors the sweep copies, factors of its longest product), estimated before it runs.

        ``δ_v · ∂v/∂u`` copies the factors of ``δ_v`` when ``δ_v`` is one product; along a chain
        each ``δ`` is one product a few factors longer than the last, so the work grows with the
        square of the depth, while a node with several children starts again from a sum.
        """
        factors, work = {self.of: 1}, 0
        terms: dict[sp.Symbol, list[int]] = {}
        for v in reversed(self.nodes):
            if v != self.of:
                sizes = terms.pop(v, [])
                work += sum(sizes)
                factors[v] = sizes[0] if len(sizes) == 1 else 1
            for u in self.graph.parents(v):
                if u in self.graph.definitions:
                    terms.setdefault(u, []).append(factors[v] + len(sp.Mul.make_args(self.partials[(u, v)])))
        return work, max(factors.values())

    def _sweep(self) -> None:
        """δ_u = Σ_{u→v} δ_v · ∂v/∂u, visiting nodes from the output back (one loop). Run on the
        first adjoint asked for: listing and counting paths need only the local partials."""
        work, longest = self.sweep_work()
        if work > MAX_SWEEP_WORK:
            raise SymbackpropError(
                f"the backward sweep to {self.of} would multiply out products of up to {longest:,} "
                f"factors (about {work:,} factor copies, more than the limit of {MAX_SWEEP_WORK:,}): the "
                "graph is too deep along one path for closed forms; count_paths (paths --count) "
                "and paths still work")
        contributions: dict[sp.Symbol, list[sp.Expr]] = {}
        for v in reversed(self.nodes):
            delta = self._adjoints[v] = (sp.S.One if v == self.of else sp.Add(*contributions.pop(v, [])))
            for u in self.graph.parents(v):
                if u in self.graph.definitions:
                    contributions.setdefault(u, []).append(_times(delta, self.partials[(u, v)]))

    def adjoint(self, symbol: sp.Symbol) -> sp.Expr:
        """``∂of/∂symbol`` over node symbols (zero where ``of`` does not depend on it).

        A leaf's adjoint is summed when first asked for: inputs and targets are rarely needed,
        and summing theirs would cost as much as all the parameters' together.
        """
        if not self._adjoints:
            self._sweep()
        if symbol not in self._adjoints:
            self._adjoints[symbol] = sp.Add(*[_times(self._adjoints[v], self.partials[(symbol, v)])
                                              for v in self.children(symbol)])
        return self._adjoints[symbol]

    def children(self, symbol: sp.Symbol) -> tuple[sp.Symbol, ...]:
        """The nodes that use ``symbol`` and lead to ``of``."""
        return tuple(v for v in self.graph.children(symbol) if v in self.relevant)

    def equations(self) -> list[tuple[sp.Symbol, sp.Symbol, list[tuple[sp.Symbol, sp.Expr]]]]:
        """The backward pass as it is written on the board: for each symbol ``u`` (nodes from
        the output back, then the parameters), ``δ_u = Σ δ_v · ∂v/∂u`` as ``(u, [(v, ∂v/∂u)])``.
        """
        order = [n for n in reversed(self.nodes) if n != self.of]
        order += [p for p in self.graph.parameters if p in self.relevant]
        return [(u, [(v, self.partials[(u, v)]) for v in self.children(u)]) for u in order]

    @property
    def path_counts(self) -> dict[sp.Symbol, int]:
        """Number of paths from each symbol to ``of``, by dynamic programming (no enumeration)."""
        return path_counts(self.graph, self.of)


def _output(graph: Graph, of) -> sp.Symbol:
    """The node ``of`` names (default: the graph's output); a leaf is an error."""
    of = graph.output if of is None else graph.symbol(of)
    if of not in graph.definitions:
        raise UnknownSymbolError(f"cannot differentiate {of}: it is a leaf, not a node; "
                                 f"nodes: {names(graph.nodes)}")
    return of


@takes_graph
def path_counts(graph: Graph, of=None) -> dict[sp.Symbol, int]:
    """``{symbol: number of paths to of}`` by dynamic programming over the structure alone: no
    derivative is taken (cached on the graph)."""
    of = _output(graph, of)
    key = ("path_counts", of)
    if key not in graph._cache:
        counts = {of: 1}
        for v in reversed(graph.nodes):
            if v in counts:
                for u in graph.parents(v):
                    counts[u] = counts.get(u, 0) + counts[v]
        graph._cache[key] = counts
    return graph._cache[key]


@takes_graph
def backprop(graph: Graph, of: sp.Symbol | str | None = None) -> Backprop:
    """The (cached) ``Backprop`` of ``graph`` for output ``of`` (default: ``graph.output``)."""
    of = _output(graph, of)
    key = ("backprop", of)
    if key not in graph._cache:
        graph._cache[key] = Backprop(graph, of)
    return graph._cache[key]


def _leaf(graph: Graph, wrt) -> sp.Symbol:
    symbol = graph.symbol(wrt)
    if symbol in graph.definitions:
        leaves = graph.parameters or graph.leaves
        raise SymbackpropError(f"{symbol} is a node ({symbol} = {graph.definitions[symbol]}), not a leaf; "
                               f"differentiate with respect to a parameter or input: {names(leaves)}"
                               f"{did_you_mean(symbol, leaves)}")
    return symbol


@takes_graph
def gradient(graph: Graph, wrt, of=None, expand: bool = False) -> sp.Expr:
    """``∂of/∂wrt`` in closed form over node symbols, or over leaves only with ``expand=True``."""
    bp = backprop(graph, of)
    result = bp.adjoint(_leaf(graph, wrt))
    return graph.expand(result) if expand else result


@takes_graph
def gradients(graph: Graph, of=None, expand: bool = False) -> dict[sp.Symbol, sp.Expr]:
    """``{parameter: ∂of/∂parameter}`` for every parameter, from the one reverse sweep."""
    bp = backprop(graph, of)
    result = {p: bp.adjoint(p) for p in graph.parameters}
    return {p: graph.expand(d) for p, d in result.items()} if expand else result


@takes_graph
def adjoints(graph: Graph, of=None) -> dict[sp.Symbol, sp.Expr]:
    """``{node: δ_node = ∂of/∂node}`` for every node that ``of`` depends on, output first."""
    bp = backprop(graph, of)
    return {v: bp.adjoint(v) for v in reversed(bp.nodes)}


# -- 3. paths ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Path:
    """One path from a leaf to the output.

    ``nodes`` runs from the leaf to the output; ``factors`` are the local partials along it in
    Leibniz order (from the output back to the leaf, as the lecture writes
    ``∂a/∂m1 · ∂m1/∂z1 · ∂z1/∂w11``), and ``partials`` the matching ``∂v/∂u`` symbols.
    """

    nodes: tuple[sp.Symbol, ...]
    factors: tuple[sp.Expr, ...]
    held: tuple[sp.Symbol, ...] = ()  # a direct arrow among other paths: what its partial holds fixed

    @property
    def partials(self) -> tuple[Partial, ...]:
        if self.held:
            return (DirectPartial(self.nodes[1], self.nodes[0], self.held),)
        return tuple(Partial(v, u) for u, v in reversed(list(zip(self.nodes, self.nodes[1:]))))

    @property
    def leibniz(self) -> sp.Expr:
        """The product of partial symbols, unevaluated so that it keeps the path's order."""
        return sp.Mul(*self.partials, evaluate=False)

    @property
    def term(self) -> sp.Expr:
        """The product of the local partials: this path's contribution to the derivative."""
        return sp.Mul(*self.factors)

    def __str__(self) -> str:
        return "→".join(map(str, self.nodes))


@takes_graph
def count_paths(graph: Graph, wrt, of=None) -> int:
    """How many paths lead from ``wrt`` to ``of``: dynamic programming over the structure,
    nothing enumerated and nothing differentiated."""
    return path_counts(graph, of).get(graph.symbol(wrt), 0)


@takes_graph
def paths(graph: Graph, wrt, of=None, max_paths: int = DEFAULT_MAX_PATHS) -> tuple[Path, ...]:
    """Every path from ``wrt`` to ``of``, in graph order; more than ``max_paths`` is an error."""
    bp = backprop(graph, of)
    start = graph.symbol(wrt)
    total = bp.path_counts.get(start, 0)
    if total > max_paths:
        raise PathLimitError(
            f"{start} has {total:,} paths to {bp.of}, more than the limit of {max_paths:,}; "
            "gradient() gives the closed form without enumerating them, or raise the limit "
            "(max_paths=…; on the command line --max-paths N)",
            total)
    found: list[Path] = []
    # The arrow start → of, when other paths exist too, is a partial with the nodes between held fixed.
    held = tuple(v for v in bp.graph.parents(bp.of) if v in bp.graph.definitions and start in bp.graph.ancestors(v))
    trails = [(start,)] if total else []   # depth first, children in graph order; no recursion,
    while trails:                          # so a chain thousands of nodes deep is one path
        trail = trails.pop()
        if trail[-1] == bp.of:
            edges = list(zip(trail, trail[1:]))
            found.append(Path(trail, tuple(bp.partials[e] for e in reversed(edges)),
                              held if len(trail) == 2 and total > 1 else ()))
        else:
            trails += [(*trail, v) for v in reversed(bp.children(trail[-1]))]
    return tuple(found)


# -- the derivation of one parameter, all views together -------------------------------------------

@dataclass(frozen=True)
class Derivation:
    """∂of/∂wrt in every form: paths, Leibniz products, closed form, expanded form."""

    graph: Graph = field(repr=False)
    wrt: sp.Symbol
    of: sp.Symbol
    paths: tuple[Path, ...]
    closed_form: sp.Expr

    @property
    def leibniz(self) -> sp.Expr:
        """Σ over paths of the product of partial symbols, in path order."""
        return sp.Add(*[p.leibniz for p in self.paths], evaluate=False) if self.paths else sp.S.Zero

    @property
    def path_terms(self) -> tuple[sp.Expr, ...]:
        return tuple(p.term for p in self.paths)

    def expanded(self) -> sp.Expr:
        """The derivative over leaves only (every node replaced by its definition)."""
        return self.graph.expand(self.closed_form)

    def text(self) -> str:
        from ..render.printing import derivation_text

        return derivation_text(self)

    def latex(self) -> str:
        from ..render.printing import derivation_latex

        return derivation_latex(self)

    def __str__(self) -> str:
        return self.text()

    # Notebook display: LaTeX for MathJax front ends, MathML (native in browsers) for HTML ones.
    def _repr_latex_(self) -> str:
        return self.latex()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        from ..handout.equations import derivation_mathml

        return {"text/plain": self.text(), "text/latex": self.latex(), "text/html": derivation_mathml(self)}


@takes_graph
def derive(graph: Graph, wrt, of=None, max_paths: int = DEFAULT_MAX_PATHS) -> Derivation:
    """The ``Derivation`` of ``∂of/∂wrt`` (``of`` defaults to the graph's output)."""
    bp = backprop(graph, of)
    leaf = _leaf(graph, wrt)
    return Derivation(graph, leaf, bp.of, paths(graph, leaf, bp.of, max_paths), bp.adjoint(leaf))
