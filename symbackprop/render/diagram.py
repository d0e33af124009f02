"""Graphviz drawings of a computation graph, in the lecture's convention.

States (inputs, targets and defined nodes) are boxes, one rank per layer (longest-path depth),
inputs on the left and the output on the right. A parameter is an arrow: a weight that
multiplies exactly one state in a sum labels the edge from that state (``w11`` labels
``x1 → z1``). A parameter that is not such a plain weight (a bias, a weight used twice, a
parameter inside a non-linearity) becomes a small leaf node. Options highlight every path from
one symbol (one colour per path, with a legend), label edges with their local partials, and
annotate nodes with forward values and adjoints at a point, as micrograd does with data/grad.

>>> from symbackprop import lecture_network
>>> dot = draw(lecture_network(), wrt="w11")
>>> dot.source.count("penwidth=2.5")
5
"""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
from dataclasses import dataclass
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
import pathlib
from types import MappingProxyType
from typing import Mapping, Sequence

import graphviz
import sympy as sp

from ..core.atomic import write_atomic
from ..core.derive import DEFAULT_MAX_PATHS, Path, backprop, paths
from ..core.errors import SymbackpropError
from ..core.graph import Graph, takes_graph
from .printing import layered_parts, text

__all__ = ["draw", "Drawing", "weight_edges", "depths", "render", "image", "svg", "svgs", "html_name", "subscripted",
           "PATH_COLOURS", "FORMATS"]

# Colour-blind-friendly (Okabe–Ito), then a few more; paths beyond these reuse them in turn.
PATH_COLOURS = ("#d55e00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7f3c8d",
                "#a0522d")
FORMATS = ("svg", "png", "pdf", "dot", "gv")
# Layers with more states than this are wrapped in clusters so that a large drawing stays legible.
CLUSTER_THRESHOLD = 16
LEGEND_LIMIT = 12
# White space (points) around an edge label, so an edge never runs through the label's text.
LABEL_PADDING = 3
DOT_TIMEOUT = 300
# Graphs laid out by one dot process: Graphviz 2.43 crashes after about 85 in one input stream.
DOT_BATCH = 32
INSTALL_GRAPHVIZ = "Graphviz's dot program is not installed; install it with `apt-get install graphviz`"


_SUBSCRIPT = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉‚")
_SUPERSCRIPT = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")


def subscripted(name: str) -> str:
    """A symbol's name with its indices as Unicode subscripts: ``w₁₁``, ``w⁽¹⁾₃₂``, ``L``.

    >>> subscripted("w1_3_2"), subscripted("x1"), subscripted("L")
    ('w⁽¹⁾₃₂', 'x₁', 'L')
    """
    layered = layered_parts(name)
    if layered:
        letter, layer, indices = layered
        return letter + f"({layer})".translate(_SUPERSCRIPT) + indices.translate(_SUBSCRIPT)
    stem = name.rstrip("0123456789")
    if stem and stem != name and stem.isalpha():
        return stem + name[len(stem):].translate(_SUBSCRIPT)
    return name


def html_name(name: str) -> str:
    """A symbol's name for a Graphviz HTML label (``subscripted``, escaped). Graphviz's own
    ``<SUB>`` is drawn in SVG as a separate, shifted text (``z 1`` in a browser), while Unicode
    subscripts are characters of the text itself, in SVG, PNG and PDF alike.

    >>> html_name("w1_3_2"), html_name("a<b")
    ('w⁽¹⁾₃₂', 'a&lt;b')
    """
    return html.escape(subscripted(name))


def _number(value: float) -> str:
    return f"{value:.4g}".replace("-", "−")


def weight_edges(graph: Graph) -> Mapping[sp.Symbol, tuple[sp.Symbol, sp.Symbol]]:
    """``{parameter: (state, node)}`` for the parameters drawn as a labelled arrow (cached).

    A parameter qualifies when it appears exactly once in the whole graph, as a term
    ``parameter · state`` of the sum that defines ``node`` (or that ``node``'s single-argument
    activation takes), and no other parameter claims the same arrow.

    >>> from symbackprop import lecture_network
    >>> edges = weight_edges(lecture_network())
    >>> len(edges), edges[sp.Symbol("w11")]
    (10, (x1, z1))
    """
    key = ("diagram", "weight_edges")
    if key not in graph._cache:
        graph._cache[key] = MappingProxyType(_find_weight_edges(graph))
    return graph._cache[key]


def _find_weight_edges(graph: Graph) -> dict[sp.Symbol, tuple[sp.Symbol, sp.Symbol]]:
    states = set(graph.nodes) | set(graph.inputs) | set(graph.targets)
    single_use = {p for p in graph.parameters if len(graph.children(p)) == 1}
    claims: dict[tuple, list[sp.Symbol]] = {}
    for node, expr in graph.definitions.items():
        inner = expr.args[0] if expr.is_Function and len(expr.args) == 1 else expr
        terms = sp.Add.make_args(inner)
        for p in single_use & inner.free_symbols:
            using = [t for t in terms if p in t.free_symbols]
            factors = sp.Mul.make_args(using[0]) if len(using) == 1 else ()
            if len(factors) == 2 and p in factors:
                other = factors[0] if factors[1] == p else factors[1]
                if other in states:
                    claims.setdefault((other, node), []).append(p)
    return {ps[0]: edge for edge, ps in claims.items() if len(ps) == 1}


def depths(graph: Graph) -> dict[sp.Symbol, int]:
    """The rank of every state: inputs 0, a node one more than its deepest state parent, a
    target one less than the first node that uses it (so ``y`` sits beside ``a``)."""
    key = ("diagram", "depths")
    if key not in graph._cache:
        graph._cache[key] = MappingProxyType(_find_depths(graph))
    return graph._cache[key]


def _find_depths(graph: Graph) -> dict[sp.Symbol, int]:
    depth: dict[sp.Symbol, int] = {x: 0 for x in graph.inputs}
    for node in graph.nodes:
        parents = [depth[u] for u in graph.parents(node) if u in depth]
        depth[node] = 1 + max(parents, default=0)
    for y in graph.targets:
        depth[y] = max(0, min((depth[v] for v in graph.children(y)), default=1) - 1)
    return depth


class _Ids:
    """DOT node ids: a symbol's own name when it is a plain word (``x1``, ``w11``, ``η``), else a
    generated one (``sym_1``: a name with quotes, backslashes or colons would break DOT or read
    as a port); internal nodes (the legend, collapsed layers) get ids that no symbol has, so a
    node named ``legend`` stays a node of the network."""

    _PLAIN = re.compile(r"\w+")

    def __init__(self, symbols: Sequence[sp.Symbol]):
        plain = {s.name for s in symbols if self._PLAIN.fullmatch(s.name)}
        self.taken: set[str] = set(plain)
        self.internal_ids: dict[str, str] = {}
        self.symbol_ids = {s: s.name if s.name in plain else self._fresh("sym") for s in symbols}

    def _fresh(self, base: str) -> str:
        ident, n = base, 0
        while ident in self.taken:
            n += 1
            ident = f"{base}_{n}"
        self.taken.add(ident)
        return ident

    def __getitem__(self, symbol: sp.Symbol) -> str:
        return self.symbol_ids[symbol]

    def internal(self, base: str) -> str:
        """The id of the internal node called ``base`` (the same id each time it is asked for)."""
        if base not in self.internal_ids:
            self.internal_ids[base] = self._fresh(base)
        return self.internal_ids[base]


@dataclass(frozen=True)
class _Group:
    """One box of the drawing: a single state, or a collapsed wide layer in summary mode."""

    key: str
    members: tuple[sp.Symbol, ...]
    depth: int

    def label(self) -> str:
        if len(self.members) == 1:
            return html_name(self.members[0].name)
        first, last = self.members[0].name, self.members[-1].name
        return (f"{html_name(first)} … {html_name(last)}"
                f'<BR/><FONT POINT-SIZE="10">{len(self.members)} states</FONT>')


@dataclass
class _Route:
    """A highlighted route and how many paths of the graph it stands for (one unless collapsed)."""

    path: Path
    colour: str
    count: int = 1


class Drawing:
    """The decisions behind one drawing; ``digraph()`` turns them into DOT."""

    def __init__(self, graph: Graph, wrt=None, of=None, edge_labels: bool = False,
                 values: Mapping | None = None, summary: int | None = None,
                 functions: Mapping | None = None, max_paths: int = DEFAULT_MAX_PATHS,
                 legend_title: str | None = None, path_colours: Mapping | None = None):
        self.graph = graph
        self.legend_title = legend_title
        self.path_colours = dict(path_colours or {})
        self.bp = backprop(graph, of)
        self.wrt = graph.symbol(wrt) if wrt is not None else None
        self.edge_labels = edge_labels
        self.summary = summary
        self.max_paths = max_paths
        self.point = None
        if values is not None:
            from ..numeric.point import Point, evaluate

            self.point = values if isinstance(values, Point) else evaluate(
                graph, values, of=self.bp.of, functions=functions)
        self.weights = weight_edges(graph)
        self.depth = depths(graph)
        self.ids = _Ids(graph.inputs + graph.targets + graph.nodes + graph.parameters + graph.constants)

    # -- what is drawn ----------------------------------------------------------------------------

    @cached_property
    def groups(self) -> dict[sp.Symbol, _Group]:
        """Each state → its box; in summary mode wide layers share one box."""
        by_depth: dict[int, list[sp.Symbol]] = {}
        for state in self.graph.inputs + self.graph.targets + self.graph.nodes:
            by_depth.setdefault(self.depth[state], []).append(state)
        result = {}
        for d, members in sorted(by_depth.items()):
            ordered = self._ordered(members)
            if self.summary is not None and len(ordered) > self.summary:
                # Data and network states stay apart even in one layer.
                for role in ("input", "target", "node"):
                    chosen = tuple(s for s in ordered if self.graph.kind(s) == role)
                    if chosen:
                        group = _Group(self.ids.internal(f"layer{d}_{role}"), chosen, d)
                        result.update({s: group for s in chosen})
            else:
                result.update({s: _Group(self.ids[s], (s,), d) for s in ordered})
        return result

    def _ordered(self, symbols):
        rank = {s: i for i, s in enumerate(self.graph.inputs + self.graph.targets + self.graph.nodes)}
        return sorted(symbols, key=rank.__getitem__)

    @cached_property
    def leaf_parameters(self) -> tuple[sp.Symbol, ...]:
        """Parameters and constants drawn as small leaf nodes (not plain weights)."""
        return tuple(p for p in self.graph.parameters + self.graph.constants if p not in self.weights)

    def leaf_key(self, p: sp.Symbol) -> str:
        if self.summary is None:
            return self.ids[p]
        target = self.groups[self.graph.children(p)[0]]
        return self.ids[p] if len(target.members) == 1 else self.ids.internal(f"{target.key}_leaves")

    def drawn_edge(self, u: sp.Symbol, v: sp.Symbol) -> tuple[str, str]:
        """The drawn arrow that carries the graph edge ``u → v`` (a weight's arrow starts at
        the state it multiplies)."""
        if u in self.weights:
            u = self.weights[u][0]
        source = self.groups[u].key if u in self.groups else self.leaf_key(u)
        return source, self.groups[v].key

    @cached_property
    def edges(self) -> dict[tuple[str, str], list[tuple[sp.Symbol, sp.Symbol]]]:
        """Drawn arrow → the graph edges it carries (weights attached to their arrows)."""
        result: dict[tuple[str, str], list] = {}
        for v in self.graph.nodes:
            for u in self.graph.parents(v):
                if u in self.weights:
                    continue  # carried by the arrow of the state it multiplies
                result.setdefault(self.drawn_edge(u, v), []).append((u, v))
        for p, (state, v) in self.weights.items():
            result[self.drawn_edge(state, v)].append((p, v))
        return result

    @cached_property
    def highlighted(self) -> tuple[list[_Route], dict[tuple[str, str], list[str]]]:
        """(the legend's routes, drawn arrow → its colours) for the paths from ``wrt``."""
        if self.wrt is None:
            return [], {}
        routes: dict[tuple, _Route] = {}
        colours: dict[tuple[str, str], list[str]] = {}
        for path in paths(self.graph, self.wrt, self.bp.of, self.max_paths):
            steps = zip(path.nodes, path.nodes[1:])
            arrows = tuple(dict.fromkeys(self.drawn_edge(u, v) for u, v in steps))
            if arrows in routes:  # summary mode: several paths share one drawn route
                routes[arrows].count += 1
                continue
            colour = self.path_colours.get(path.nodes) or PATH_COLOURS[len(routes) % len(PATH_COLOURS)]
            routes[arrows] = _Route(path, colour)
            for arrow in arrows:
                if colour not in colours.setdefault(arrow, []):
                    colours[arrow].append(colour)
        return list(routes.values()), colours

    # -- DOT ---------------------------------------------------------------------------------------

    @property
    def detail_size(self) -> int:
        """The point size of the values and partials under names. A drawing with edge labels
        is laid out top to bottom, narrow enough that A4 prints it at about its own size, so
        these lines are as large as a page's body text."""
        return 11 if self.edge_labels else 10

    def digraph(self) -> graphviz.Digraph:
        dot = graphviz.Digraph(name="symbackprop", graph_attr={
            "rankdir": "TB" if self.edge_labels else "LR", "nodesep": "0.35",
            "ranksep": "0.3" if self.edge_labels else "0.9",  # the labels keep the ranks apart
            "fontname": "Helvetica", "bgcolor": "white"},
            node_attr={"fontname": "Helvetica", "fontsize": "14"},
            edge_attr={"fontname": "Helvetica", "fontsize": "12", "arrowsize": "0.7"})
        self._add_states(dot)
        for p in self.leaf_parameters:
            self._add_leaf(dot, p)
        legend, colours = self.highlighted
        for arrow, carried in self.edges.items():
            self._add_edge(dot, arrow, carried, colours.get(arrow))
        if legend:
            self._add_legend(dot, legend)
        return dot

    def _add_states(self, dot: graphviz.Digraph) -> None:
        groups = list(dict.fromkeys(self.groups.values()))
        by_depth: dict[int, list[_Group]] = {}
        for group in groups:
            by_depth.setdefault(group.depth, []).append(group)
        clustered = len(groups) > CLUSTER_THRESHOLD
        for d, members in sorted(by_depth.items()):
            name = f"cluster_layer{d}" if clustered else f"layer{d}"
            with dot.subgraph(name=name) as layer:
                if clustered:
                    layer.attr(style="rounded,dashed", color="#bbbbbb", label="")
                else:
                    layer.attr(rank="same")
                for group in members:
                    layer.node(group.key, label=f"<{self._state_label(group)}>", **self._state_style(group))

    def _state_style(self, group: _Group) -> dict[str, str]:
        style = {"shape": "box", "style": "rounded"}
        kinds = {self.graph.kind(s) for s in group.members}
        if kinds <= {"input", "target"}:
            style.update(style="rounded,filled", fillcolor="#eef3fb")
        if self.bp.of in group.members:
            style.update(penwidth="2")
        return style

    def _state_label(self, group: _Group) -> str:
        label = group.label()
        if self.point is not None and len(group.members) == 1:
            label += self._annotation(group.members[0])
        return label

    def _annotation(self, symbol: sp.Symbol) -> str:
        """``= value`` and ``δ = adjoint`` lines under a name (micrograd's data and grad)."""
        lines = [f"= {_number(self.point.values[symbol])}"]
        if symbol in self.point.adjoints:
            lines.append(f"δ = {_number(self.point.adjoints[symbol])}")
        return "".join(f'<BR/><FONT POINT-SIZE="{self.detail_size}">{line}</FONT>' for line in lines)

    def _add_leaf(self, dot: graphviz.Digraph, p: sp.Symbol) -> None:
        key = self.leaf_key(p)
        if key != self.ids[p]:
            siblings = [q for q in self.leaf_parameters if self.leaf_key(q) == key]
            if siblings[0] != p:
                return
            label = (f"{html_name(siblings[0].name)} … {html_name(siblings[-1].name)}"
                     f'<BR/><FONT POINT-SIZE="9">{len(siblings)} parameters</FONT>')
        else:
            label = html_name(p.name) + (self._annotation(p) if self.point is not None else "")
        highlighted = p == self.wrt
        dot.node(key, label=f"<{label}>", shape="ellipse", fontsize="11", margin="0.02",
                 width="0.3", height="0.25", style="filled",
                 fillcolor="#fff2cc" if highlighted else "#f4f4f4",
                 color=PATH_COLOURS[0] if highlighted else "#888888")

    def _add_edge(self, dot: graphviz.Digraph, arrow: tuple[str, str], carried, colours) -> None:
        attributes: dict[str, str] = {}
        weights = [u for u, _ in carried if u in self.weights]
        lines = []
        if len(weights) == 1:
            name = html_name(weights[0].name)
            lines.append(f"<B>{name}</B>" if weights[0] == self.wrt else name)
            if self.point is not None:
                lines[-1] += f" = {_number(self.point.values[weights[0]])}"
        elif weights:
            lines.append(f"{len(weights)} weights")
        if self.edge_labels and len(carried) <= 2:
            lines += [self._partial_line(u, v) for u, v in carried if (u, v) in self.bp.partials]
        if lines:
            # A padded cell: the label's box is larger than its text, so the edge (a thick
            # highlighted one too) passes beside the text rather than through it.
            attributes["label"] = (f'<<TABLE BORDER="0" CELLPADDING="{LABEL_PADDING}"><TR><TD>'
                                   + "<BR/>".join(lines) + "</TD></TR></TABLE>>")
        if colours:
            attributes.update(color=":".join(colours), penwidth="2.5", fontcolor=colours[0])
        else:
            attributes.update(color="#555555")
        dot.edge(*arrow, **attributes)

    def _partial_line(self, u: sp.Symbol, v: sp.Symbol) -> str:
        head = f"∂{html_name(v.name)}/∂{html_name(u.name)}"
        if self.point is not None:
            body = _number(self.point.partials[(u, v)])
        else:
            body = html.escape(text(self.bp.partials[(u, v)]))
        # the head and its value on two lines: labels side by side between two ranks stay narrow
        return f'<FONT POINT-SIZE="{self.detail_size}">{head}<BR/>= {body}</FONT>'

    def _add_legend(self, dot: graphviz.Digraph, legend: list[_Route]) -> None:
        rows = []
        for route in legend[:LEGEND_LIMIT]:
            names = " → ".join(html_name(s.name) for s in route.path.nodes)
            more = f" (×{route.count})" if route.count > 1 else ""
            rows.append(f'<TR><TD><FONT COLOR="{route.colour}">━━</FONT></TD>'
                        f'<TD ALIGN="LEFT">{names}{more}</TD></TR>')
        if len(legend) > LEGEND_LIMIT:
            rows.append(f'<TR><TD></TD><TD ALIGN="LEFT">… {len(legend) - LEGEND_LIMIT} more</TD></TR>')
        total = sum(route.count for route in legend)
        title = (html.escape(self.legend_title) if self.legend_title is not None
                 else f"{total} path{'s' if total != 1 else ''} from {html_name(self.wrt.name)}")
        table = (f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2"><TR><TD COLSPAN="2" ALIGN="LEFT">'
                 f"{title}</TD></TR>{''.join(rows)}</TABLE>")
        with dot.subgraph(name="legend") as legend_graph:
            legend_graph.attr(rank="sink")
            legend_graph.node(self.ids.internal("legend"), label=f"<{table}>", shape="plain", fontsize="11")


@takes_graph
def draw(graph: Graph, wrt=None, of=None, edge_labels: bool = False, values: Mapping | None = None,
         summary: int | None = None, functions: Mapping | None = None,
         max_paths: int = DEFAULT_MAX_PATHS, legend_title: str | None = None,
         path_colours: Mapping | None = None) -> graphviz.Digraph:
    """A ``graphviz.Digraph`` of ``graph`` in the lecture's convention.

    ``wrt`` highlights every path from that symbol to ``of`` (one colour per path, legend);
    ``edge_labels`` adds each arrow's local partials; ``values`` (leaf → number, or a
    ``Point``) annotates every box with its forward value and adjoint δ; ``summary=k`` collapses
    layers wider than ``k`` states into one box; ``legend_title`` replaces the legend's
    "N paths from …" (a translation); ``path_colours`` maps a path's nodes (``Path.nodes``) to
    the colour it is drawn in (a verdict's present and missing paths). Render with
    ``render(dot, "net.svg")``.
    """
    return Drawing(graph, wrt, of, edge_labels, values, summary, functions, max_paths,
                   legend_title, path_colours).digraph()


def _run_dot(source: str, fmt: str) -> bytes:
    """``dot -T<fmt>`` on ``source``; a missing or failing Graphviz is a one-line error."""
    try:
        completed = subprocess.run(["dot", f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True,
                                   check=False, timeout=DOT_TIMEOUT)
    except FileNotFoundError:
        raise SymbackpropError(INSTALL_GRAPHVIZ) from None
    except subprocess.TimeoutExpired:
        raise SymbackpropError(f"Graphviz did not finish within {DOT_TIMEOUT} s") from None
    if completed.returncode < 0:
        raise SymbackpropError(f"Graphviz's dot was killed by signal {_signal_name(-completed.returncode)}")
    if completed.returncode != 0:
        message = completed.stderr.decode(errors="replace").strip().splitlines()
        raise SymbackpropError(f"Graphviz failed: {message[0] if message else completed.returncode}")
    return completed.stdout


def _signal_name(number: int) -> str:
    """``SIGSEGV (a crash)``, ``SIGKILL``, or the number when the signal has no name here."""
    try:
        name = signal.Signals(number).name
    except ValueError:
        return str(number)
    return f"{name} (a crash in Graphviz)" if name in ("SIGSEGV", "SIGBUS", "SIGABRT") else name


def image(dot: graphviz.Digraph, fmt: str = "png") -> bytes:
    """The drawing as the bytes of an image file (``png``, ``pdf``, ``svg``), e.g. to embed."""
    return _run_dot(dot.source, fmt)


def svg(dot: graphviz.Digraph) -> str:
    """The drawing as SVG text (without the XML prolog, ready to inline in HTML)."""
    return svgs([dot])[0]


def svgs(digraphs: Sequence[graphviz.Digraph]) -> list[str]:
    """Several drawings as SVG, a batch of at most ``DOT_BATCH`` graphs per ``dot`` process and
    one process per core at a time: dot lays out every graph of its input in turn, and starting
    it costs more than laying out a small graph."""
    if not digraphs:
        return []
    workers = max(1, min(os.cpu_count() or 1, len(digraphs)))
    count = max(workers, -(-len(digraphs) // DOT_BATCH))
    batches = [list(digraphs[i::count]) for i in range(count)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outputs = list(pool.map(_svg_batch, batches))
    result: list[str] = [""] * len(digraphs)
    for i, output in enumerate(outputs):
        result[i::count] = output
    return result


def _svg_batch(digraphs: Sequence[graphviz.Digraph]) -> list[str]:
    text_out = _run_dot("\n".join(d.source for d in digraphs), "svg").decode("utf-8")
    pieces = [p[:p.rindex("</svg>") + 6] for p in text_out.split("<svg")[1:]]
    if len(pieces) != len(digraphs):
        raise SymbackpropError(f"Graphviz returned {len(pieces)} drawings for {len(digraphs)} graphs")
    return ["<svg" + p for p in pieces]


def render(dot: graphviz.Digraph, path: str | os.PathLike) -> pathlib.Path:
    """Write the drawing to ``path``; the suffix picks the format (svg, png, pdf, dot, gv)."""
    path = pathlib.Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise SymbackpropError(f"cannot draw to '{path.name}': the file name must end in "
                               + ", ".join(f".{f}" for f in FORMATS))
    data = dot.source if fmt in ("dot", "gv") else _run_dot(dot.source, fmt)
    return write_atomic(path, data)
