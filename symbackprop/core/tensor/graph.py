"""A tensor graph: ordered definitions ``node := tensor expression`` over named tensors.

The tensor twin of ``core.graph.Graph``: leaves listed in ``inputs`` and ``targets`` are data
(one value per sample), the other leaves are parameters unless ``parameters`` says otherwise,
``output`` defaults to the unique node nothing uses. Shapes are per sample; a node's shape is
inferred from its definition (and checked against the one declared, if any). The graph is
validated when it is built and never changes afterwards.

>>> from symbackprop.core.tensor.base import Tensor
>>> from symbackprop.core.tensor.ops import apply_function, squared_error
>>> import sympy as sp
>>> x, y, W, b = Tensor("x", 3), Tensor("y", 2), Tensor("W", (2, 3)), Tensor("b", 2)
>>> h, L = Tensor("h"), Tensor("L")
>>> g = TensorGraph({h: apply_function(sp.tanh, W @ x + b), L: squared_error(h, y)}, inputs=[x], targets=[y])
>>> g.parameters, g.shape(h), g.size
((W: 2×3, b: 2), (2,), 8)
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Iterable, Mapping

import networkx as nx
import sympy as sp

from ..errors import CycleError, GraphError, UnknownSymbolError, did_you_mean, names
from ..functions import is_undefined, prime_base
from .base import (Apply, Shape, ShapeError, Tensor, TensorExpr, as_expr, leaves, replace, shape_text, size,
                   walk)
from .ops import Elementwise

__all__ = ["TensorGraph", "Layout"]

# A parameter's place in the flat parameter vector: entry ``index`` of the tensor sits at
# ``start + Σ index_k · strides_k`` (row-major by default; ``mlp`` interleaves each weight row
# with its bias, the order its scalar view has always had).
Layout = tuple[int, tuple[int, ...]]


def _as_tensor(key) -> Tensor:
    if isinstance(key, str):
        return Tensor(key)
    if not isinstance(key, Tensor):
        raise GraphError(f"a definition's left side is a Tensor (or its name), not {key!r}")
    return key


def _runs(start: int, strides: tuple[int, ...], shape: Shape) -> list[tuple[int, int]]:
    """``(first position, length)`` of each run of consecutive positions a parameter occupies:
    a row when the last stride is 1 (a weight row of ``mlp``), else a single entry."""
    if any(step < 1 for step in strides):
        raise GraphError(f"a layout's strides are positive, not {strides}")
    rows, length = (shape[:-1], shape[-1]) if shape and strides[-1] == 1 else (shape, 1)
    firsts = [start]
    for n, step in zip(rows, strides):
        firsts = [q + i * step for q in firsts for i in range(n)]
    return [(first, length) for first in firsts]


def _row_major_strides(shape: Shape) -> tuple[int, ...]:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


class TensorGraph:
    """An immutable graph of tensor definitions (see the module's docstring).

    ``adjoints`` names the adjoint of chosen nodes in the derivation (``{u1: "δ^(1)"}``; by
    default ``δ_<node>``); ``layout`` places parameters in the flat parameter vector
    (``{W: (start, strides)}``; by default one after another, each row-major).
    """

    def __init__(self, definitions, inputs: Iterable = (), targets: Iterable = (),
                 parameters: Iterable | None = None, output=None, predictions: Iterable | None = None,
                 metadata: Mapping | None = None, adjoints: Mapping | None = None,
                 layout: Mapping | None = None):
        pairs = definitions.items() if isinstance(definitions, Mapping) else definitions
        pairs = [(_as_tensor(node), as_expr(expr)) for node, expr in pairs]
        if not pairs:
            raise GraphError("a tensor graph needs at least one definition")
        defined: dict[Tensor, TensorExpr] = {}
        for node, expr in pairs:
            if node in defined:
                raise GraphError(f"{node} is defined twice")
            if node in leaves(expr):
                raise CycleError(f"the definition of {node} uses {node} itself: {node} = {expr}", (node, node))
            defined[node] = expr

        structure = nx.DiGraph()
        structure.add_nodes_from(defined)
        for node, expr in pairs:
            structure.add_edges_from((used, node) for used in leaves(expr))
        try:
            cycle = nx.find_cycle(structure.subgraph(defined))
        except nx.NetworkXNoCycle:
            cycle = None
        if cycle:
            loop = [u for u, _ in cycle] + [cycle[0][0]]
            raise CycleError("the definitions form a cycle: " + " → ".join(map(str, loop)), loop)
        position = {node: i for i, (node, _) in enumerate(pairs)}
        order = list(nx.lexicographical_topological_sort(structure.subgraph(defined), key=position.__getitem__))

        declared: dict[str, Tensor] = {}
        for node in order:
            for t in [node, *leaves(defined[node])]:
                known = declared.setdefault(t.name, t)
                if t.shape is not None and known.shape is not None and t.shape != known.shape:
                    raise ShapeError(f"{t.name} is used with two shapes, {shape_text(known.shape)} and {shape_text(t.shape)}")
                if known.shape is None and t.shape is not None or known.entries is None and t.entries is not None:
                    declared[t.name] = Tensor(t.name, t.shape or known.shape, t.entries or known.entries)
        leaf_order = [t for node in order for t in leaves(defined[node]) if t not in defined]
        leaf_order = [declared[t.name] for t in dict.fromkeys(leaf_order)]
        for leaf in leaf_order:
            if leaf.shape is None:
                raise ShapeError(f"{leaf.name} has no shape; declare it, e.g. Tensor('{leaf.name}', (3, 4))")

        canonical: dict[str, Tensor] = {t.name: t for t in leaf_order}
        shaped: dict[Tensor, TensorExpr] = {}
        for node in order:
            expr = replace(defined[node], lambda e: canonical.get(e.name) if isinstance(e, Tensor) else None)
            try:
                shape = expr.shape
            except ShapeError as error:
                raise ShapeError(f"in the definition of {node}: {error}") from None
            wanted = declared[node.name]
            if wanted.shape is not None and wanted.shape != shape:
                raise ShapeError(f"{node} is declared {shape_text(wanted.shape)} but its definition {expr} is "
                                 f"{shape_text(shape)}")
            canonical[node.name] = Tensor(node.name, shape, wanted.entries)
            shaped[canonical[node.name]] = expr

        self._nodes = tuple(canonical[n.name] for n in order)
        self._definitions = MappingProxyType({n: shaped[n] for n in self._nodes})
        self._leaves = tuple(leaf_order)
        self._inputs = self._data(inputs, "input")
        self._targets = self._data(targets, "target")
        both = set(self._inputs) & set(self._targets)
        if both:
            raise GraphError(f"{names(both)} cannot be both input and target")
        data = set(self._inputs) | set(self._targets)
        if parameters is None:
            self._parameters = tuple(t for t in self._leaves if t not in data)
        else:
            self._parameters = tuple(self._leaf(p, "parameter") for p in parameters)
            if data & set(self._parameters):
                raise GraphError(f"{names(data & set(self._parameters))} cannot be both data and a parameter")
        trained = set(self._parameters)
        self._constants = tuple(t for t in self._leaves if t not in data and t not in trained)

        sinks = [n for n in self._nodes if structure.out_degree(n) == 0]
        if output is None:
            if len(sinks) != 1:
                raise GraphError(f"the graph has {len(sinks)} outputs ({names(sinks)}); say which one with output=")
            output = sinks[0]
        self._output = self._node(output)
        self._predictions = (tuple(self._node(p) for p in predictions) if predictions is not None
                             else (self._output,))
        self._structure = structure
        self._metadata = MappingProxyType(dict(metadata or {}))
        self._adjoints = MappingProxyType({self._node(n): str(name) for n, name in (adjoints or {}).items()})
        self._layout = self._checked_layout(layout)
        varying = set(self._inputs) | set(self._targets)
        for node in self._nodes:
            if set(leaves(self._definitions[node])) & varying:
                varying.add(node)
        self._batched = frozenset(varying)
        self._cache: dict = {}

    # -- validation helpers ------------------------------------------------------------------------

    def _lookup(self, tensor) -> Tensor:
        name = tensor.name if isinstance(tensor, Tensor) else str(tensor)
        for t in self._nodes + self._leaves:
            if t.name == name:
                return t
        known = self._nodes + self._leaves
        raise UnknownSymbolError(f"unknown tensor '{name}'{did_you_mean(name, [t.name for t in known])}; "
                                 f"known: {names(known)}")

    def _leaf(self, tensor, role: str) -> Tensor:
        found = self._lookup(tensor)
        if found in self._definitions:
            raise GraphError(f"{found} is defined by {found} = {self._definitions[found]}, so it cannot be {role}")
        return found

    def _data(self, tensors, role: str) -> tuple[Tensor, ...]:
        chosen = tuple(self._leaf(t, f"an {role}") for t in tensors)
        if len(set(chosen)) != len(chosen):
            raise GraphError(f"an {role} is listed twice: {names(chosen)}")
        return chosen

    def _node(self, tensor) -> Tensor:
        found = self._lookup(tensor)
        if found not in self._definitions:
            raise UnknownSymbolError(f"{found} is not a defined node; nodes: {names(self._nodes)}")
        return found

    def _checked_layout(self, layout) -> Mapping[Tensor, Layout]:
        if layout is None:
            placed, start = {}, 0
            for p in self._parameters:
                placed[p] = (start, _row_major_strides(p.shape))
                start += size(p.shape)
            return MappingProxyType(placed)
        placed = {self._leaf(p, "a parameter"): (int(start), tuple(strides)) for p, (start, strides) in layout.items()}
        if set(placed) != set(self._parameters):
            raise GraphError(f"the layout places {names(placed)}, not the parameters {names(self._parameters)}")
        # every entry exactly once: the runs of consecutive positions tile 0 … size − 1
        runs = sorted(run for p, (start, strides) in placed.items() for run in _runs(start, strides, p.shape))
        end = 0
        for first, length in runs:
            if first != end:
                raise GraphError("the layout does not place every parameter entry exactly once in the flat vector")
            end = first + length
        if end != self.size:
            raise GraphError("the layout does not place every parameter entry exactly once in the flat vector")
        return MappingProxyType(placed)

    # -- the contract ----------------------------------------------------------------------------

    @property
    def definitions(self) -> Mapping[Tensor, TensorExpr]:
        """``node → expression`` in topological order, every tensor in them with its shape."""
        return self._definitions

    @property
    def nodes(self) -> tuple[Tensor, ...]:
        return self._nodes

    @property
    def leaves(self) -> tuple[Tensor, ...]:
        return self._leaves

    @property
    def inputs(self) -> tuple[Tensor, ...]:
        return self._inputs

    @property
    def targets(self) -> tuple[Tensor, ...]:
        return self._targets

    @property
    def parameters(self) -> tuple[Tensor, ...]:
        return self._parameters

    @property
    def constants(self) -> tuple[Tensor, ...]:
        return self._constants

    @property
    def output(self) -> Tensor:
        return self._output

    @property
    def predictions(self) -> tuple[Tensor, ...]:
        return self._predictions

    @property
    def metadata(self) -> Mapping:
        return self._metadata

    @property
    def adjoints(self) -> Mapping[Tensor, str]:
        """The display names chosen for adjoints (``u^(1) → δ^(1)``)."""
        return self._adjoints

    @property
    def layout(self) -> Mapping[Tensor, Layout]:
        return self._layout

    @property
    def size(self) -> int:
        """The number of scalar parameters (the flat vector's length)."""
        return sum(size(p.shape) for p in self._parameters)

    def tensor(self, name) -> Tensor:
        """The graph's tensor with this name (with its shape)."""
        return self._lookup(name)

    def shape(self, tensor) -> Shape:
        return self._lookup(tensor).shape

    def batched(self, tensor) -> bool:
        """Whether ``tensor`` changes from sample to sample (data, or computed from data)."""
        return self._lookup(tensor) in self._batched

    def kind(self, tensor) -> str:
        """``node``, ``input``, ``target``, ``parameter`` or ``constant``."""
        t = self._lookup(tensor)
        if t in self._definitions:
            return "node"
        for role, group in (("input", self._inputs), ("target", self._targets), ("parameter", self._parameters)):
            if t in group:
                return role
        return "constant"

    def users(self, tensor) -> tuple[Tensor, ...]:
        """The nodes whose definitions use ``tensor``, in topological order."""
        t = self._lookup(tensor)
        rank = {n: i for i, n in enumerate(self._nodes)}
        return tuple(sorted(self._structure.successors(t), key=rank.__getitem__))

    def ancestors(self, tensor) -> set[Tensor]:
        return nx.ancestors(self._structure, self._lookup(tensor))

    @property
    def undefined_functions(self) -> tuple:
        """The undefined functions (``f``) applied entrywise somewhere, by name."""
        found = {prime_base(e.op.function) for expr in self._definitions.values() for e in walk(expr)
                 if isinstance(e, Apply) and isinstance(e.op, Elementwise) and is_undefined(e.op.function)}
        return tuple(sorted(found, key=lambda f: f.__name__))

    def substitute_functions(self, functions: Mapping) -> "TensorGraph":
        """The graph with undefined functions replaced (``{"f": sp.tanh}``), before deriving."""
        by_name = {getattr(k, "__name__", str(k)): v for k, v in functions.items()}

        def bound(e):
            if isinstance(e, Apply) and isinstance(e.op, Elementwise) and is_undefined(e.op.function):
                chosen = by_name.get(prime_base(e.op.function).__name__)
                if chosen is not None:
                    inner = replace(e.args[0], bound)
                    return Apply(Elementwise(chosen, e.op.order + getattr(e.op.function, "prime_order", 0)), (inner,))
            return None

        definitions = {n: replace(expr, bound) for n, expr in self._definitions.items()}
        return self.with_definitions(definitions)

    def with_definitions(self, definitions: Mapping) -> "TensorGraph":
        """A graph with the same roles, names and layout over new definitions."""
        return TensorGraph(definitions, inputs=self._inputs, targets=self._targets, parameters=self._parameters,
                           output=self._output, predictions=self._predictions, metadata=self._metadata,
                           adjoints=self._adjoints, layout=self._layout)

    def scalar_constants(self) -> tuple[sp.Symbol, ...]:
        """SymPy symbols used as factors (``λ`` in ``λ‖W‖²``), by name."""
        found = set()
        for expr in self._definitions.values():
            for e in walk(expr):
                factor = getattr(getattr(e, "op", None), "factor", None)
                if isinstance(factor, sp.Expr):
                    found |= factor.free_symbols
                if hasattr(e, "value"):
                    found |= e.value.free_symbols
        return tuple(sorted(found, key=str))

    def __repr__(self) -> str:
        return (f"TensorGraph({len(self._nodes)} nodes, inputs=({names(self._inputs)}), "
                f"parameters={self.size}, output={self._output})")

    def __str__(self) -> str:
        return "\n".join(f"{n} = {e}    # {shape_text(n.shape)}" for n, e in self._definitions.items())

