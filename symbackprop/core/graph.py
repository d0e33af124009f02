"""A computation graph: ordered definitions ``node := expression`` over leaves and other nodes.

Networkx holds the structure, SymPy the math. A graph is validated when it is built and never
changes afterwards, so everything derived from it can be cached on it.

>>> import sympy as sp
>>> x, w, z, a, s = sp.symbols("x w z a s")
>>> g = Graph({z: sp.tanh(w * x), a: s * z}, inputs=[x])
>>> g.parameters, g.output
((w, s), a)
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import warnings
from types import MappingProxyType
from typing import Callable, Iterable, Mapping

import networkx as nx
import sympy as sp
from sympy.core.function import AppliedUndef, UndefinedFunction

from .errors import (CycleError, GraphError, SymbackpropError, TypoWarning, UnknownSymbolError,
                     did_you_mean, names)
from .functions import prime_base

__all__ = ["Graph", "as_definitions", "leaves_named_like_nodes", "as_graph", "takes_graph"]

Definitions = Mapping[sp.Symbol, sp.Expr] | Iterable[tuple[sp.Symbol, sp.Expr]]


def as_definitions(definitions: Definitions) -> list[tuple[sp.Symbol, sp.Expr]]:
    """Definitions as a list of ``(Symbol, Expr)`` pairs, checked one by one.

    Accepts a mapping, pairs, or ``sympy.Eq(node, expression)`` objects.
    """
    if isinstance(definitions, (str, bytes, os.PathLike)):
        raise GraphError("Graph(definitions): definitions must be a mapping {symbol: expression}, not "
                         "text or a path; read model-file text with Graph.from_text(text) and a file "
                         "with sbp.load(path)")
    try:
        items = list(definitions.items() if isinstance(definitions, Mapping) else definitions)
    except TypeError:
        raise GraphError("Graph(definitions): definitions must be a mapping {symbol: expression} (or "
                         f"(symbol, expression) pairs), not {type(definitions).__name__}") from None
    pairs = []
    for item in items:
        if isinstance(item, sp.Equality):
            item = (item.lhs, item.rhs)
        if not (isinstance(item, tuple) and len(item) == 2):
            raise GraphError(f"Graph(definitions): each definition is a pair (symbol, expression) or "
                             f"sympy.Eq(symbol, expression), not {item!r:.60}")
        node, expr = item
        if not isinstance(node, sp.Symbol):
            raise GraphError(f"a definition's left side must be a symbol, not {node!r}")
        if isinstance(expr, str):
            raise GraphError(
                f"the definition of {node} is a string; build it with SymPy, or use "
                "Graph.from_text for text")
        try:
            expr = sp.sympify(expr, strict=True)
        except (sp.SympifyError, TypeError):
            raise GraphError(f"the definition of {node} is not a SymPy expression: {expr!r}") from None
        if not isinstance(expr, sp.Expr):
            raise GraphError(f"the definition of {node} is not an expression: {expr}")
        if expr.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            raise GraphError(f"the definition of {node} contains a non-finite number: {expr}")
        if expr.has(sp.Piecewise):
            raise GraphError(f"the definition of {node} is piecewise ({expr}); Piecewise is not supported: "
                             "write it with max, min, abs, relu or the step H")
        if expr.has(sp.Derivative, sp.Subs, sp.Integral):
            raise GraphError(f"the definition of {node} contains an unevaluated derivative or integral")
        pairs.append((node, expr))
    return pairs


def _first_use_order(definitions: list[tuple[sp.Symbol, sp.Expr]], defined: set) -> list[sp.Symbol]:
    """Leaves in the order the definitions first use them, natural name order within one."""
    seen: dict[sp.Symbol, None] = {}
    for _, expr in definitions:
        for leaf in sorted(expr.free_symbols - defined, key=_natural_key):
            seen.setdefault(leaf, None)
    return list(seen)


_INDEXED = re.compile(r"([^\W\d_]+)[\d_]+")


def leaves_named_like_nodes(definitions: Mapping[sp.Symbol, sp.Expr],
                            leaves: Iterable[sp.Symbol]) -> dict[sp.Symbol, sp.Symbol]:
    """``{leaf: the node it was probably meant to be}`` for leaves indexed like the nodes
    (``m3`` where ``m1`` and ``m2`` are nodes and no other leaf is an ``m``): a typo in a
    definition that silently made a new parameter. The suggestion is a node that nothing uses
    (the one the typo left dangling) when there is one, else the closest name.

    >>> m1, m2, m3, s1, a, z = sp.symbols("m1 m2 m3 s1 a z")
    >>> leaves_named_like_nodes({m1: z, m2: z, a: s1*m1 + m3}, [z, s1, m3])
    {m3: m2}
    """
    stem_of = {}
    for symbol in list(definitions) + list(leaves):
        match = _INDEXED.fullmatch(symbol.name)
        stem_of[symbol] = match.group(1) if match else None
    node_stems = {stem_of[n] for n in definitions} - {None}
    leaf_stems = [stem_of[leaf] for leaf in leaves]
    used = {u for expr in definitions.values() for u in expr.free_symbols}
    found = {}
    for leaf in leaves:
        stem = stem_of[leaf]
        if stem not in node_stems or leaf_stems.count(stem) > 1:
            continue
        alike = [n for n in definitions if stem_of[n] == stem]
        unused = [n for n in alike if n not in used]
        close = difflib.get_close_matches(leaf.name, [n.name for n in alike], n=1, cutoff=0)
        found[leaf] = unused[0] if unused else sp.Symbol(close[0])
    return found


def _natural_key(symbol: sp.Symbol) -> tuple:
    """Sort key that puts ``w2`` before ``w10``."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", symbol.name))


class Graph:
    """An immutable computation graph.

    ``definitions`` is an ordered mapping ``Symbol → Expr`` (or ``(Symbol, Expr)`` pairs); each
    expression uses leaves and other nodes. Leaves listed in ``inputs`` and ``targets`` are data
    (columns of ``X`` and ``y``); the other leaves are parameters, unless ``parameters`` lists
    them explicitly, in which case the rest are held constant (``constants``). ``output``
    defaults to the unique node that nothing else uses. ``predictions`` are the nodes a model
    predicts with (the network's outputs before the loss); they default to ``(output,)``.
    ``metadata`` carries what a model file adds (declared functions, example values, a data
    file); the graph keeps a read-only copy and never interprets it.
    """

    def __init__(self, definitions: Definitions, inputs: Iterable = (), targets: Iterable = (),
                 parameters: Iterable | None = None, output: sp.Symbol | None = None,
                 predictions: Iterable | None = None, metadata: Mapping | None = None):
        pairs = as_definitions(definitions)
        if not pairs:
            raise GraphError("a graph needs at least one definition")
        defined: dict[sp.Symbol, sp.Expr] = {}
        for node, expr in pairs:
            if node in defined:
                raise GraphError(f"{node} is defined twice: {node} = {defined[node]} and {node} = {expr}")
            if node in expr.free_symbols:
                raise CycleError(f"the definition of {node} uses {node} itself: {node} = {expr}", (node, node))
            defined[node] = expr

        structure = nx.DiGraph()
        structure.add_nodes_from(defined)
        for node, expr in pairs:
            structure.add_edges_from((parent, node) for parent in expr.free_symbols)
        position = {node: i for i, (node, _) in enumerate(pairs)}
        try:  # the cheap test first: find_cycle walks every edge in Python (seconds on a CNN's view)
            acyclic = nx.is_directed_acyclic_graph(structure.subgraph(defined))
            cycle = None if acyclic else nx.find_cycle(structure.subgraph(defined))
        except nx.NetworkXNoCycle:
            cycle = None
        if cycle:
            loop = [u for u, _ in cycle] + [cycle[0][0]]
            raise CycleError("the definitions form a cycle: " + " → ".join(map(str, loop)), loop)

        order = list(nx.lexicographical_topological_sort(
            structure.subgraph(defined), key=lambda n: position[n]))
        # an ordered set: membership checks of listed parameters stay O(1) on large graphs
        leaves = dict.fromkeys(_first_use_order([(n, defined[n]) for n in order], set(defined)))

        self._inputs = self._data_leaves(inputs, "input", defined, leaves)
        self._targets = self._data_leaves(targets, "target", defined, leaves)
        if set(self._inputs) & set(self._targets):
            raise GraphError(f"{names(set(self._inputs) & set(self._targets))} cannot be both input and target")
        data = set(self._inputs) | set(self._targets)
        if parameters is None:
            self._parameters = tuple(leaf for leaf in leaves if leaf not in data)
        else:
            self._parameters = tuple(self._leaf(p, "parameter", defined, leaves) for p in parameters)
            clash = data & set(self._parameters)
            if clash:
                raise GraphError(f"{names(clash)} cannot be both data and a parameter")
        trained = set(self._parameters)  # a set: a tuple here made building an MLP quadratic in its size
        if parameters is None:
            self._warn_typos(defined, [leaf for leaf in leaves if leaf not in data])
        self._constants = tuple(leaf for leaf in leaves if leaf not in data and leaf not in trained)

        sinks = [n for n in order if structure.out_degree(n) == 0]
        if isinstance(output, str):   # a name: the node of that name (its symbol may have assumptions)
            output = next((n for n in defined if n.name == output), sp.Symbol(output))
        if output is None:
            if len(sinks) != 1:
                raise GraphError(f"the graph has {len(sinks)} outputs ({names(sinks)}); "
                                 "say which one with output=")
            output = sinks[0]
        elif output not in defined:
            raise UnknownSymbolError(f"the output {output} is not a defined node{did_you_mean(output, order)}; "
                                     f"nodes: {names(order)}")
        self._output = output
        self._predictions = (tuple(self._node(p, defined, order) for p in predictions)
                             if predictions is not None else (output,))
        self._definitions = MappingProxyType({n: defined[n] for n in order})
        self._nodes = tuple(order)
        self._leaves = tuple(leaves)
        self._structure = structure
        self._metadata = MappingProxyType(dict(metadata or {}))
        self._cache: dict = {}

    # -- validation helpers -------------------------------------------------------------------

    @staticmethod
    def _leaf(symbol, role: str, defined, leaves) -> sp.Symbol:
        if isinstance(symbol, str):
            symbol = next((s for s in [*leaves, *defined] if s.name == symbol), sp.Symbol(symbol))
        if symbol in defined:
            raise GraphError(f"{symbol} is defined by {symbol} = {defined[symbol]}, so it cannot be listed as {role}")
        if symbol not in leaves:
            raise UnknownSymbolError(f"the {role} {symbol} is not used by any definition"
                                     f"{did_you_mean(symbol, leaves)}; leaves: {names(leaves)}")
        return symbol

    @staticmethod
    def _warn_typos(defined, undeclared) -> None:
        for leaf, node in leaves_named_like_nodes(defined, undeclared).items():
            warnings.warn(f"{leaf} is a new parameter named like the nodes (did you mean '{node}'?); "
                          "pass parameters= to keep it", TypoWarning, stacklevel=3)

    def _data_leaves(self, symbols, role, defined, leaves) -> tuple:
        chosen = tuple(self._leaf(s, role, defined, leaves) for s in symbols)
        if len(set(chosen)) != len(chosen):
            raise GraphError(f"an {role} is listed twice: {names(chosen)}")
        return chosen

    @staticmethod
    def _node(symbol, defined, order) -> sp.Symbol:
        if isinstance(symbol, str):
            symbol = next((n for n in order if n.name == symbol), sp.Symbol(symbol))
        if symbol not in defined:
            raise UnknownSymbolError(f"{symbol} is not a defined node{did_you_mean(symbol, order)}; "
                                     f"nodes: {names(order)}")
        return symbol

    # -- the contract ---------------------------------------------------------------------------

    @property
    def definitions(self) -> Mapping[sp.Symbol, sp.Expr]:
        """``node → expression``, in topological order."""
        return self._definitions

    @property
    def nodes(self) -> tuple[sp.Symbol, ...]:
        """The defined nodes, in topological order (ties in definition order)."""
        return self._nodes

    @property
    def leaves(self) -> tuple[sp.Symbol, ...]:
        """Every symbol that is used but not defined, in order of first use."""
        return self._leaves

    @property
    def inputs(self) -> tuple[sp.Symbol, ...]:
        return self._inputs

    @property
    def targets(self) -> tuple[sp.Symbol, ...]:
        return self._targets

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """The trained leaves: the order of a flat parameter vector."""
        return self._parameters

    @property
    def constants(self) -> tuple[sp.Symbol, ...]:
        """Leaves that are neither data nor parameters (only when ``parameters`` was given)."""
        return self._constants

    @property
    def output(self) -> sp.Symbol:
        return self._output

    @property
    def predictions(self) -> tuple[sp.Symbol, ...]:
        return self._predictions

    @property
    def metadata(self) -> Mapping:
        return self._metadata

    @property
    def undefined_functions(self) -> tuple[UndefinedFunction, ...]:
        """The undefined functions (``f``, not its primes) that the definitions apply, by name."""
        if "undefined" not in self._cache:
            found = {prime_base(app.func) for expr in self._definitions.values() for app in expr.atoms(AppliedUndef)}
            self._cache["undefined"] = tuple(sorted(found, key=lambda f: f.__name__))
        return self._cache["undefined"]

    def networkx(self) -> nx.DiGraph:
        """A copy of the structure: an edge ``u → v`` for each symbol ``u`` used by node ``v``.

        Node attributes: ``kind`` (``input``, ``target``, ``parameter``, ``constant``, ``node``)
        and, for defined nodes, ``expr``.
        """
        copy = self._structure.copy()
        for symbol in copy.nodes:
            copy.nodes[symbol]["kind"] = self.kind(symbol)
            if symbol in self._definitions:
                copy.nodes[symbol]["expr"] = self._definitions[symbol]
        return copy

    # -- questions about symbols ----------------------------------------------------------------

    def symbol(self, name: str | sp.Symbol) -> sp.Symbol:
        """The graph's symbol with this name; an unknown name is an error that lists the known ones."""
        key = name.name if isinstance(name, sp.Symbol) else str(name)
        for symbol in self._nodes + self._leaves:
            if symbol.name == key:
                return symbol
        known = self._nodes + self._leaves
        shown = f"'{key}'" if key.isprintable() else repr(key)   # a CSV cell may hold anything
        raise UnknownSymbolError(f"unknown symbol {shown}{did_you_mean(key, known)}; "
                                 f"known: {names(known)}")

    def kind(self, symbol: sp.Symbol) -> str:
        """``node``, ``input``, ``target``, ``parameter`` or ``constant``."""
        if symbol in self._definitions:
            return "node"
        for role, group in (("input", self._inputs), ("target", self._targets),
                            ("parameter", self._parameters), ("constant", self._constants)):
            if symbol in group:
                return role
        raise UnknownSymbolError(f"{symbol} is not in the graph{did_you_mean(symbol, self._nodes + self._leaves)}")

    def parents(self, node: sp.Symbol) -> tuple[sp.Symbol, ...]:
        """The symbols that ``node``'s definition uses, nodes first then leaves, in graph order."""
        rank = self._rank()
        return tuple(sorted(self._structure.predecessors(node), key=rank.__getitem__))

    def children(self, symbol: sp.Symbol) -> tuple[sp.Symbol, ...]:
        """The nodes whose definitions use ``symbol``, in topological order."""
        rank = self._rank()
        return tuple(sorted(self._structure.successors(symbol), key=rank.__getitem__))

    def ancestors(self, node: sp.Symbol) -> set[sp.Symbol]:
        """Every symbol that ``node`` depends on."""
        return nx.ancestors(self._structure, node)

    def _rank(self) -> dict:
        if "rank" not in self._cache:
            self._cache["rank"] = {s: i for i, s in enumerate(self._nodes + self._leaves)}
        return self._cache["rank"]

    def expand(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with every node replaced by its definition, recursively: leaves only."""
        if "expanded" not in self._cache:
            expanded: dict = {}
            for node, definition in self._definitions.items():
                expanded[node] = definition.xreplace(expanded)
            self._cache["expanded"] = expanded
        return sp.sympify(expr).xreplace(self._cache["expanded"])

    # -- model files (see modelfile.py) --------------------------------------------------------

    @classmethod
    def from_text(cls, text: str, base_dir: str | None = None) -> "Graph":
        """A graph from the text of a model file (``inputs: x`` then ``name = expression`` lines)."""
        from ..parsing.modelfile import graph_from_text

        return graph_from_text(text, base_dir=base_dir)

    def to_text(self) -> str:
        """The model-file text of this graph; ``Graph.from_text`` reads it back."""
        from ..parsing.modelfile import graph_to_text

        return graph_to_text(self)

    # -- conveniences ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (f"Graph({len(self._nodes)} nodes, inputs=({names(self._inputs)}), "
                f"parameters={len(self._parameters)}, output={self._output})")

    def __str__(self) -> str:
        return "\n".join(f"{node} = {expr}" for node, expr in self._definitions.items())

    def _repr_svg_(self) -> str | None:
        """The drawing, for notebooks (None, i.e. text only, when Graphviz is missing)."""
        from ..render.diagram import draw, svg

        try:
            return svg(draw(self))
        except SymbackpropError:
            return None


def as_graph(graph, argument: str = "graph", kinds: tuple[type, ...] = ()) -> Graph:
    """``graph`` itself (a ``Graph``, or one of the other ``kinds`` the caller takes), or the
    graph of the model file at the path ``graph`` (``"model.sbp"``); anything else is an error
    that names ``argument``."""
    if isinstance(graph, (Graph, *kinds)):
        return graph
    if isinstance(graph, (str, os.PathLike)):
        from ..parsing.modelfile import load

        return load(graph)
    raise SymbackpropError(f"{argument} must be a Graph (or the path of a model file), not "
                           f"{type(graph).__name__}")


def takes_graph(function: Callable) -> Callable:
    """Let ``function(graph, …)`` take the path of a model file for ``graph`` as well (``as_graph``)."""

    @functools.wraps(function)
    def with_graph(graph, *args, **kwargs):
        return function(as_graph(graph, f"{function.__name__}: graph"), *args, **kwargs)

    return with_graph
