"""Injection and confusion (issue 13): what a CSV cell, a symbol name or an output stem holds never
reaches a terminal, TeX, DOT, HTML, a file name or a glob as anything but text."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.check.classroom import check_class
from symbackprop.render.diagram import draw, svg
from hostile import bounded_time, cli as _cli, within as _within

bounded = bounded_time(120)

ROOT = Path(__file__).resolve().parents[1]
LECTURE = ROOT / "examples" / "lecture.sbp"
G = sbp.load(LECTURE)
A = "s1*f'(p11*z1 + p21*z2)*p11*f'(w11*x1 + w21*x2)*x1"
B = "s2*f'(p12*z1 + p22*z2)*p12*f'(w11*x1 + w21*x2)*x1"
SVG = "{http://www.w3.org/2000/svg}"



# -- the class CSV is one stream --------------------------------------------------------------------

@pytest.mark.parametrize("separator", ["\n", "\r\n", "\u2028", "\u0085", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"])
def test_a_cell_holding_a_line_break_stays_one_answer(separator):
    """A quoted name with a newline (what form exports produce), and characters that
    ``str.splitlines`` takes for line breaks, stay inside their cell: nobody's answer is filed
    under someone else's name."""
    text = ("student,parameter,answer\n"
            f'"Ann{separator}Smith",w11,"{A} + {B}"\n'
            f'Bob,w11,{A}\n')
    with _within(10.0):
        report = check_class(G, text)
    assert [(r.student, r.status) for r in report.rows] == [(f"Ann{separator}Smith", "correct"),
                                                          ("Bob", "incorrect")]
    assert [r.line for r in report.rows] == [2, 3 + (separator in ("\n", "\r\n"))]


def test_an_unterminated_quote_is_one_bad_row_not_the_rest_of_the_file():
    report = check_class(G, 'student,parameter,answer\nAnn,s1,"m1\nBob,s1,m1\nCid,s1,m2\n')
    assert [(r.line, r.student, r.status) for r in report.rows] == [
        (2, "", "error"), (3, "Bob", "correct"), (4, "Cid", "incorrect")]
    assert "cannot be read as CSV" in report.rows[0].error


# -- nothing drives the terminal ------------------------------------------------------------------

ESCAPES = ["\x1b[2J\x1b[H", "\x1b]0;pwned\x07", "\r30 correct", "\u202egnorw", "\x9b2J"]


@pytest.mark.parametrize("payload", ESCAPES)
def test_csv_cells_reach_the_terminal_escaped(tmp_path, payload):
    answers = tmp_path / "class.csv"
    answers.write_text(f'student,parameter,answer\n"Eve{payload}","s1{payload}",m1\nAnn,s1,m1\n')
    code, out, err = _cli(["verify", str(LECTURE), "--answers", str(answers)])
    assert code == 0
    for stream in (out, err):
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", stream), repr(stream)
    assert any(shown in out for shown in ("\\x1b", "\\u202e", "\\x0d", "\\r", "\\x9b"))   # visible, inert


def test_an_error_message_reaches_the_terminal_escaped(tmp_path):
    code, out, err = _cli(["derive", str(LECTURE), "--wrt", "w11\x1b[2J"])
    assert code == 1 and "\x1b" not in err and "w11\\x1b[2J" in err


def test_bold_headings_still_work(monkeypatch):
    from symbackprop.cli import derive

    monkeypatch.setattr(derive, "use_colour", lambda stream=None: True)
    code, out, _ = _cli(["derive", str(LECTURE), "--wrt", "s1"])
    assert "\x1b[1m∂a/∂s1\x1b[0m" in out


# -- diagrams: internal ids never meet a symbol's -------------------------------------------------

def _nodes(tree):
    return {g.find(f"{SVG}title").text: g for g in tree.iter(f"{SVG}g") if g.get("class") == "node"}


def _shown(node) -> str:
    return "".join("".join(t.itertext()) for t in node.iter(f"{SVG}text"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_a_node_named_legend_keeps_its_own_box():
    x, w, legend, a, v = sp.symbols("x w legend a v")
    g = sbp.Graph({legend: sp.tanh(w * x), a: v * legend}, inputs=[x])
    tree = ET.fromstring(svg(draw(g, wrt="w")))
    nodes = _nodes(tree)
    assert "legend" in nodes and "legend_1" in nodes
    assert _shown(nodes["legend"]) == "legend"                  # the network's node
    assert "1 path from" in _shown(nodes["legend_1"])            # the legend table


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("name", ['a"b', "a\\", "a:b", "x}y", "layer1_node", "<b>", "z\\input{x}"])
def test_any_symbol_name_draws(name):
    x, w, a = sp.symbols("x w a")
    odd = sp.Symbol(name)
    g = sbp.Graph({odd: sp.tanh(w * x), a: 2 * odd}, inputs=[x])
    tree = ET.fromstring(svg(draw(g, wrt="w", summary=1)))   # parsed: well-formed SVG
    labels = [_shown(n) for n in _nodes(tree).values()]
    assert any(name in label for label in labels)


# -- TeX, file names and globs ------------------------------------------------------------------------

def _hostile_graph(secret: Path) -> sbp.Graph:
    x, w, b = sp.symbols("x w b")
    evil = sp.Symbol(rf"z\input{{{secret}}}")
    eta, legend, escaped, cyrillic, a = sp.symbols("η legend ../../../ESCAPED вес a")
    return sbp.Graph({evil: sp.tanh(w * x + escaped), legend: eta * evil + cyrillic, a: legend * b}, inputs=[x])


def test_names_enter_latex_as_text():
    printed = sbp.latex(sp.Symbol(r"z\input{/etc/passwd}") + sp.Symbol("η1") + sp.Symbol("x}y"))
    assert r"\input" not in printed.replace(r"\textbackslash{}input", "")
    assert r"\eta_{1}" in printed and r"\text{x\}y}" in printed


@pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("dot") is None,
                    reason="needs pdflatex and Graphviz")
@pytest.mark.parametrize("stem", ["week%2", "net#1", "x}y", "draft[1]", "v1.2"])
def test_a_hostile_handout_builds_and_reads_no_file(tmp_path, stem):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-CONTENTS\n")
    out = tmp_path / "out"
    start = time.perf_counter()
    written = sbp.handout(_hostile_graph(secret), wrt=["w", "../../../ESCAPED", "η"], optimizers=[]).save(out / stem)
    assert time.perf_counter() - start < 120
    assert all(p.resolve().parent == out.resolve() for p in written)              # nothing outside
    assert {p.name for p in written} >= {f"{stem}.html", f"{stem}.tex", f"{stem}.pdf"}
    assert not list(tmp_path.parent.glob("*ESCAPED*")) and not (tmp_path / "ESCAPED").exists()
    tex = (out / f"{stem}.tex").read_text()
    assert r"\input{" not in tex and "\\includegraphics" in tex
    pdf = (out / f"{stem}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"TOPSECRET" not in pdf
    if shutil.which("pdftotext"):
        shown = subprocess.run(["pdftotext", str(out / f"{stem}.pdf"), "-"], capture_output=True, text=True).stdout
        assert "TOPSECRET" not in shown and "z\\input{" in shown and "ESCAPED" in shown
