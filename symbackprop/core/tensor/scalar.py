"""The scalar view of a tensor graph: one SymPy node per entry, so that every entry of a
tensor derivation can be read as the lecture's path sum.

``scalar_graph`` writes each node's definition entry by entry (``u1_2 = b1_2 + w1_1_2*x1 + …``)
and returns an ordinary ``Graph``; ``ScalarView`` is that graph built only when something asks
for it, which is what ``mlp`` returns: its tensor graph (``.tensor``) is built at once and is
all that ``compile`` needs, while ``derive``, ``paths`` or a handout build the scalars on
first use.

>>> import symbackprop as sbp
>>> g = sbp.mlp((784, 128, 10), loss="softmax_cross_entropy")   # no scalar is built
>>> g.tensor.size
101770
>>> small = sbp.mlp((2, 2, 1), loss="squared_error")
>>> print(small.definitions[small.symbol("u1_2")])
b1_2 + w1_1_2*x1 + w1_2_2*x2
"""

from __future__ import annotations

from ..errors import UnknownSymbolError
from ..graph import Graph
from .base import Tensor, row_major, size
from .entries import evaluate, symbols
from .graph import TensorGraph

__all__ = ["scalar_graph", "ScalarView", "tensor_symbols", "parameter_order", "entry_of"]


def tensor_symbols(graph: TensorGraph) -> dict:
    """``tensor → [its entries' symbols]`` for every tensor of the graph (cached)."""
    if "symbols" not in graph._cache:
        graph._cache["symbols"] = {t: symbols(t) for t in graph.leaves + graph.nodes}
    return graph._cache["symbols"]


def parameter_order(graph: TensorGraph) -> list[tuple[Tensor, tuple[int, ...]]]:
    """``(parameter, index)`` of each position of the flat parameter vector, in order."""
    slots: list = [None] * graph.size
    for p, (start, strides) in graph.layout.items():
        for index in row_major(p.shape):
            slots[start + sum(i * s for i, s in zip(index, strides))] = (p, index)
    return slots


def entry_of(graph: TensorGraph, symbol) -> tuple[Tensor, tuple[int, ...]]:
    """The tensor and index of a scalar entry's symbol (or its name)."""
    name = str(symbol)
    for tensor, entries in tensor_symbols(graph).items():
        for index, s in zip(row_major(tensor.shape), entries):
            if s.name == name:
                return tensor, index
    raise UnknownSymbolError(f"{name} is not an entry of any tensor of the graph")


def scalar_graph(graph: TensorGraph) -> Graph:
    """The scalar ``Graph`` of a tensor graph: every node's entries defined by its expression
    written out entry by entry; the parameters in the flat vector's order."""
    if "scalar" in graph._cache:
        return graph._cache["scalar"]
    found = tensor_symbols(graph)
    definitions = []
    for node, expr in graph.definitions.items():
        definitions += zip(found[node], evaluate(expr, found))
    flat = lambda tensors: [s for t in tensors for s in found[t]]  # noqa: E731
    index = {t: {i: s for i, s in zip(row_major(t.shape), found[t])} for t in graph.parameters}
    parameters = [index[p][i] for p, i in parameter_order(graph)]
    result = Graph(definitions, inputs=flat(graph.inputs), targets=flat(graph.targets), parameters=parameters,
                   output=found[graph.output][0], predictions=flat(graph.predictions), metadata=graph.metadata)
    graph._cache["scalar"] = result
    return result


class ScalarView(Graph):
    """A ``Graph`` whose scalar definitions are built from a tensor graph on first use.

    Until something reads the scalar graph (its definitions, parameters, a derivation) only the
    tensor graph exists, ``.tensor``; then the view becomes that scalar graph. Every ``Graph``
    attribute is the scalar graph's: the view is a ``Graph`` in every respect. ``scalar_code``
    asks ``compile`` for the per-node code of the scalar view instead of the tensor code (the
    lecture's network: its code's comments name the lecture's nodes); ``declared_with_shapes``
    (a model file with shapes) makes ``to_text`` write the tensor notation back.
    """

    def __init__(self, tensor: TensorGraph, scalar_code: bool = False, declared_with_shapes: bool = False):
        # no Graph.__init__: the scalar state comes later
        self.tensor = tensor
        self.scalar_code = scalar_code
        self.declared_with_shapes = declared_with_shapes

    def __getattr__(self, name: str):
        # Called only for attributes not found: Graph's private state before the first build.
        if name.startswith("_") and not name.startswith("__") and "_definitions" not in vars(self):
            vars(self).update(vars(scalar_graph(self.tensor)))
            return getattr(self, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def metadata(self):
        """The tensor graph's metadata (a model file's source, bind, values): no scalar needed."""
        return self.tensor.metadata

    @property
    def undefined_functions(self) -> tuple:
        return self.tensor.undefined_functions

    @property
    def built(self) -> bool:
        """Whether the scalar graph exists yet."""
        return "_definitions" in vars(self)

    def __repr__(self) -> str:
        if self.built:
            return super().__repr__()
        t = self.tensor
        inputs = sum(size(x.shape) for x in t.inputs)
        return f"Graph(scalar view of {t!r}: {inputs} inputs, {t.size} parameters; built on first use)"
