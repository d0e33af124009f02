"""Graphviz drawings of tensor graphs: each tensor a box with its shape, the way a layer diagram
is drawn in a textbook (``u^(1)`` 32, ``W^(1)`` 32×64, ``x`` 1×8×8).

Data (inputs, targets) are shaded, parameters are small grey boxes beside the node that uses
them, each defined node shows its definition and its shape, the output is outlined.

>>> import symbackprop as sbp
>>> dot = draw_tensor(sbp.mlp((4, 3, 2), loss="softmax_cross_entropy").tensor)
>>> "W<SUP>(1)</SUP>" in dot.source and "3×4" in dot.source
True
"""

from __future__ import annotations

import html
import re

import graphviz

from ..core.tensor.base import shape_text
from ..core.tensor.derive import as_tensor_graph
from .tensor import TEXT

__all__ = ["draw_tensor", "tensor_html_name"]

_SUPERSCRIPT = re.compile(r"^(.*?)\^\(([^()]*)\)$")


def tensor_html_name(name: str) -> str:
    """A tensor's name as a Graphviz HTML label: ``W^(1)`` → ``W<SUP>(1)</SUP>``."""
    match = _SUPERSCRIPT.match(name)
    if match:
        return f"{html.escape(match.group(1))}<SUP>({html.escape(match.group(2))})</SUP>"
    return html.escape(name)


def draw_tensor(graph) -> graphviz.Digraph:
    """A tensor graph (or ``mlp``'s) as boxes with shapes, from the inputs to the output."""
    graph = as_tensor_graph(graph)
    dot = graphviz.Digraph(name="tensors", graph_attr={
        "rankdir": "LR", "nodesep": "0.3", "ranksep": "0.6", "fontname": "Helvetica", "bgcolor": "white"},
        node_attr={"fontname": "Helvetica", "fontsize": "13", "shape": "box", "style": "rounded"},
        edge_attr={"arrowsize": "0.7"})
    keys = {t: f"t{i}" for i, t in enumerate(graph.leaves + graph.nodes)}
    for t in graph.leaves:
        kind = graph.kind(t)
        label = f"<{tensor_html_name(t.name)}<BR/><FONT POINT-SIZE='10'>{shape_text(t.shape)}</FONT>>"
        if kind in ("input", "target"):
            dot.node(keys[t], label=label, style="rounded,filled", fillcolor="#eef3fb")
        else:
            dot.node(keys[t], label=label, style="rounded,filled", fillcolor="#f2f2f2", color="#888888",
                     fontsize="11")
    for node, expr in graph.definitions.items():
        definition = html.escape(f"{node.name} = {TEXT.doprint(expr)}")
        label = f"<{definition}<BR/><FONT POINT-SIZE='10'>{shape_text(node.shape)}</FONT>>"
        dot.node(keys[node], label=label, penwidth="2" if node == graph.output else "1")
        for used in dict.fromkeys(t for t in graph.leaves + graph.nodes if t in graph.ancestors(node)
                                  and node in graph.users(t)):
            dot.edge(keys[used], keys[node], color="#888888" if graph.kind(used) == "parameter" else "black")
    return dot
