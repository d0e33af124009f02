"""Diagrams, checked from the SVG that Graphviz renders and the DOT it reads (not from the
drawing's own bookkeeping), against networkx and SymPy."""

import re
import shutil
import xml.etree.ElementTree as ET

import networkx as nx
import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.render.diagram import draw, render, svg
from symbackprop.core.errors import SymbackpropError
from symbackprop.numeric.point import evaluate
from symbackprop.core.functions import primes_from_derivatives
from symbackprop.render.printing import text

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")

SVG = "{http://www.w3.org/2000/svg}"
DEFAULT_EDGE = "#555555"
STATES = {"x1", "x2", "z1", "z2", "m1", "m2", "a"}
PARAMETERS = {"w11", "w21", "w12", "w22", "p11", "p21", "p12", "p22", "s1", "s2"}


def rendered(dot) -> ET.Element:
    return ET.fromstring(svg(dot))


def groups(tree: ET.Element, kind: str) -> dict[str, ET.Element]:
    """``{title: <g>}`` for the SVG's node or edge groups (Graphviz writes the id in <title>)."""
    found = {}
    for g in tree.iter(f"{SVG}g"):
        if g.get("class") == kind:
            found[g.find(f"{SVG}title").text.replace("&#45;", "-")] = g
    return found


_PLAIN_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def label(group: ET.Element) -> str:
    """A label's text, its subscript digits read as plain digits (``w₁₁`` → ``w11``)."""
    return "".join("".join(t.itertext()) for t in group.iter(f"{SVG}text")).replace(" ", "").translate(_PLAIN_DIGITS)


def test_indices_are_subscripts_of_the_text_itself(lecture):
    """Graphviz's <SUB> is a separate shifted SVG text that browsers show as "z 1"."""
    tree = rendered(draw(lecture, wrt="w11"))
    texts = ["".join(t.itertext()) for t in tree.iter(f"{SVG}text")]
    assert "z₁" in texts and "w₁₁" in texts and "w₁₁ → z₁ → m₁ → a" in texts
    assert "<SUB>" not in draw(lecture).source


def stroke_colours(group: ET.Element) -> set[str]:
    return {p.get("stroke") for p in group.iter(f"{SVG}path")}


def dot_statements(source: str):
    """(nodes {name: attrs}, edges {(u, v): attrs}) parsed from DOT text with regexes."""
    attrs = r"\[(.*)\]"
    nodes, edges = {}, {}
    for line in source.splitlines():
        line = line.strip()
        edge = re.match(r'^"?([^"\s]+)"?\s*->\s*"?([^"\s]+)"?\s*' + attrs, line)
        node = re.match(r'^"?([^"\s\[]+)"?\s*' + attrs, line)
        if edge:
            edges[(edge.group(1), edge.group(2))] = edge.group(3)
        elif node and node.group(1) not in ("graph", "node", "edge"):
            nodes[node.group(1)] = node.group(2)
    return nodes, edges


@pytest.fixture(scope="module")
def lecture():
    return sbp.lecture_network()


def test_lecture_network_has_seven_state_boxes(lecture):
    tree = rendered(draw(lecture))
    nodes = groups(tree, "node")
    assert set(nodes) == STATES
    dot_nodes, _ = dot_statements(draw(lecture).source)
    assert {n for n, a in dot_nodes.items() if "shape=box" in a} == STATES


def test_lecture_network_has_ten_parameter_labelled_edges(lecture):
    edges = groups(rendered(draw(lecture)), "edge")
    labelled = {title: label(g) for title, g in edges.items() if label(g)}
    assert len(labelled) == 10 and set(labelled.values()) == PARAMETERS
    # Each label is the weight that multiplies the arrow's source in the arrow's target (SymPy).
    for title, weight in labelled.items():
        source, target = (lecture.symbol(n) for n in title.split("->"))
        definition = lecture.definitions[target]
        inner = definition.args[0] if definition.is_Function else definition
        assert lecture.symbol(weight) * source in sp.Add.make_args(inner)
    # And every structural edge between states is drawn, nothing else.
    structure = lecture.networkx()
    expected = {f"{u}->{v}" for u, v in structure.edges if str(u) in STATES and str(v) in STATES}
    assert set(edges) == expected


def test_highlighting_w11_colours_exactly_its_two_paths(lecture):
    tree = rendered(draw(lecture, wrt="w11"))
    edges = groups(tree, "edge")
    coloured = {t for t, g in edges.items() if stroke_colours(g) - {DEFAULT_EDGE, "transparent"}}
    # Independent reference: w11 scales x1 → z1, then every networkx path from z1 to a.
    structure = lecture.networkx()
    routes = [["x1"] + [str(n) for n in path] for path in nx.all_simple_paths(structure, sp.Symbol("z1"), sp.Symbol("a"))]
    assert len(routes) == 2
    expected = {f"{u}->{v}" for route in routes for u, v in zip(route, route[1:])}
    assert coloured == expected
    # One colour per path: the two branches differ, the shared first arrow carries both.
    first = stroke_colours(edges["z1->m1"]) | stroke_colours(edges["m1->a"])
    second = stroke_colours(edges["z1->m2"]) | stroke_colours(edges["m2->a"])
    assert len(first) == 1 and len(second) == 1 and first != second
    assert stroke_colours(edges["x1->z1"]) >= first | second
    legend = label(groups(tree, "node")["legend"])
    assert legend.count("→") == 6 and "2paths" in legend


def test_drawing_is_deterministic():
    assert draw(sbp.lecture_network(), wrt="p11").source == draw(sbp.lecture_network(), wrt="p11").source
    big = sbp.mlp((3, 4, 2), loss="softmax_cross_entropy")
    assert draw(big, summary=3).source == draw(sbp.mlp((3, 4, 2), loss="softmax_cross_entropy"), summary=3).source


def test_non_weights_become_small_leaf_nodes():
    x1, x2, w, b, v1, v2, out = sp.symbols("x1 x2 w b v1 v2 out")
    shared = sbp.Graph({v1: sp.tanh(w * x1 + b), v2: w * x2, out: v1 + v2 ** 2}, inputs=[x1, x2])
    nodes, edges = dot_statements(draw(shared).source)
    assert "shape=ellipse" in nodes["w"] and "shape=ellipse" in nodes["b"]
    assert {("w", "v1"), ("w", "v2"), ("b", "v1")} <= set(edges)
    assert "label" not in edges[("x1", "v1")]  # a shared weight labels no arrow


def test_values_annotate_states_with_forward_values_and_adjoints(lecture):
    point = evaluate(lecture)
    tree = rendered(draw(lecture, values={}))
    z1 = label(groups(tree, "node")["z1"])
    # Independent reference: numpy forward pass, and a central finite difference for δ_z1.
    v = {str(k): val for k, val in point.values.items()}
    f = np.tanh
    z1_value = f(v["w11"] * v["x1"] + v["w21"] * v["x2"])

    def a_of(z1_):
        z2_ = f(v["w12"] * v["x1"] + v["w22"] * v["x2"])
        return v["s1"] * f(v["p11"] * z1_ + v["p21"] * z2_) + v["s2"] * f(v["p12"] * z1_ + v["p22"] * z2_)

    h = 1e-6
    delta_z1 = (a_of(z1_value + h) - a_of(z1_value - h)) / (2 * h)
    assert f"={z1_value:.4g}".replace("-", "−") in z1
    assert f"δ={delta_z1:.4g}".replace("-", "−") in z1


def test_edge_labels_show_local_partials(lecture):
    edges = groups(rendered(draw(lecture, edge_labels=True)), "edge")
    z1, m1, p11 = (lecture.symbol(n) for n in ("z1", "m1", "p11"))
    for wrt in (z1, p11):  # the arrow z1 → m1 carries both ∂m1/∂z1 and ∂m1/∂p11 (SymPy's diff)
        reference = text(primes_from_derivatives(sp.diff(lecture.definitions[m1], wrt)))
        assert f"∂m1/∂{wrt}={reference}".replace(" ", "") in label(edges["z1->m1"])


def test_summary_mode_collapses_wide_layers_and_keeps_paths():
    g = sbp.mlp((4, 8, 8, 1), loss="squared_error")
    full_nodes, _ = dot_statements(draw(g).source)
    nodes, edges = dot_statements(draw(g, wrt="w1_1_1", summary=3).source)
    states = [n for n, a in nodes.items() if "shape=box" in a]
    assert len(states) < 12 < len([n for n, a in full_nodes.items() if "shape=box" in a])
    highlighted = [e for e, a in edges.items() if "penwidth=2.5" in a]
    # every layer boundary from the input layer to L is crossed once by the collapsed route
    assert len(highlighted) == 6
    assert "subgraph cluster_" in draw(g).source  # large graphs are clustered by layer


@pytest.mark.parametrize("suffix, magic", [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF"), ("dot", b"digraph")])
def test_render_formats(tmp_path, lecture, suffix, magic):
    target = render(draw(lecture, wrt="w11"), tmp_path / "sub" / f"net.{suffix}")
    assert target.read_bytes().startswith(magic)
    assert [p.name for p in target.parent.iterdir()] == [f"net.{suffix}"]  # no temporary file left


def test_bad_output_name_and_missing_graphviz(tmp_path, lecture, monkeypatch):
    with pytest.raises(SymbackpropError, match=r"\.svg"):
        render(draw(lecture), tmp_path / "net.jpg")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SymbackpropError, match="apt-get install graphviz"):
        render(draw(lecture), tmp_path / "net.svg")
    assert not (tmp_path / "net.svg").exists()


def test_unknown_parameter_is_a_clear_error(lecture):
    with pytest.raises(SymbackpropError, match="did you mean 'w11'"):
        draw(lecture, wrt="w111")


@pytest.mark.parametrize("lang, title", [("en", "2 paths from w₁₁"), ("ru", "2 пути от w₁₁")])
def test_draw_command_legend_speaks_the_chosen_language(tmp_path, capsys, lang, title):
    from pathlib import Path

    from symbackprop.cli import main

    lecture = Path(__file__).resolve().parent.parent / "examples" / "lecture.sbp"
    assert main(["draw", str(lecture), "--wrt", "w11", "--lang", lang]) == 0
    dot_source = capsys.readouterr().out
    assert title in dot_source
    # the count in the title is the graph's: networkx agrees there are exactly two paths
    g = sbp.load(lecture)
    assert len(list(nx.all_simple_paths(g.networkx(), sp.Symbol("w11"), g.output))) == 2


def test_values_and_edge_labels_print_legibly_on_a4(lecture):
    """Scaled to fit A4's text area (170 × 257 mm) the smallest text of the detailed drawing is
    at least as large as a handout's body text (10.5 pt in print)."""
    tree = rendered(draw(lecture, wrt="p11", values={}, edge_labels=True))
    width, height = (float(tree.get(k).removesuffix("pt")) for k in ("width", "height"))
    scale = min(1.0, 170 / 25.4 * 72 / width, 257 / 25.4 * 72 / height)
    smallest = min(float(t.get("font-size")) for t in tree.iter(f"{SVG}text"))
    assert smallest * scale >= 10.5, (width, height, smallest)


def _curve_points(d: str, samples: int = 20) -> list[tuple[float, float]]:
    """Points along an SVG path of cubic Béziers as Graphviz writes them (``M x,y C x,y x,y x,y …``)."""
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]
    points = list(zip(numbers[::2], numbers[1::2]))
    found = []
    for i in range(0, len(points) - 3, 3):
        p0, p1, p2, p3 = points[i:i + 4]
        for k in range(samples + 1):
            t = k / samples
            found.append(tuple((1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t ** 2 * c + t ** 3 * e
                               for a, b, c, e in zip(p0, p1, p2, p3)))
    return found


def test_a_label_sits_beside_its_highlighted_edge(lecture):
    """The highlighted edge (two colours, 2.5 pt) passes beside its weight's label, not through it."""
    edge = groups(rendered(draw(lecture, wrt="w11")), "edge")["x1->z1"]
    text = next(edge.iter(f"{SVG}text"))
    x, baseline, size = float(text.get("x")), float(text.get("y")), float(text.get("font-size"))
    width = 0.6 * size * len("".join(text.itertext()))
    left = {"start": x, "middle": x - width / 2, "end": x - width}[text.get("text-anchor")]
    top, bottom = baseline - 0.75 * size, baseline + 0.25 * size   # the text's box (subscripts below)
    for path in edge.iter(f"{SVG}path"):
        clearance = float(path.get("stroke-width", 1)) / 2 + 1    # half the line, and a point of white
        for px, py in _curve_points(path.get("d")):
            if left <= px <= left + width:
                assert not top - clearance <= py <= bottom + clearance, (px, py, left, baseline)
