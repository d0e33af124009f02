"""Handouts: content checked against independent references (networkx path enumeration, PyTorch
autograd), both languages, the real LaTeX engine, exercise mode, errors and atomic files.

Golden files in tests/golden/ pin the LaTeX of the lecture's derivation blocks; regenerate them
with ``SYMBACKPROP_UPDATE_GOLDEN=1`` after an intended change, and read the diff.
"""

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import networkx as nx
import pytest
import torch

import symbackprop as sbp
from symbackprop.core.errors import SymbackpropError
from symbackprop.handout.build import Context, _sweep_rows, multiplication_counts
from symbackprop.handout.equations import closed_rows, leibniz_rows, rows_latex
from symbackprop.handout.tex import LatexError, build_pdf
from symbackprop.numeric.point import evaluate

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
LECTURE = ROOT / "examples" / "lecture.sbp"
HAS_DOT = shutil.which("dot") is not None
HAS_LATEX = shutil.which("pdflatex") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")


def golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SYMBACKPROP_UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} changed; see tests/golden/{name}"


def mn(value: float) -> str:
    """How the handout's MathML shows a number: four significant digits."""
    return f"<mn>{float(format(value, '.4g'))}</mn>"


def torch_lecture_gradients(graph):
    """∂a/∂θ for the lecture network with f = tanh at the model's values, by PyTorch autograd."""
    values = graph.metadata["values"]
    t = {k: torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for k, v in values.items()}
    z1 = torch.tanh(t["w11"] * t["x1"] + t["w21"] * t["x2"])
    z2 = torch.tanh(t["w12"] * t["x1"] + t["w22"] * t["x2"])
    m1 = torch.tanh(t["p11"] * z1 + t["p21"] * z2)
    m2 = torch.tanh(t["p12"] * z1 + t["p22"] * z2)
    a = t["s1"] * m1 + t["s2"] * m2
    a.backward()
    return {k: v.grad.item() for k, v in t.items()}


@pytest.fixture(scope="module")
def lecture():
    return sbp.load(str(LECTURE))


@pytest.fixture(scope="module")
def english(lecture):
    return sbp.handout(lecture, wrt=["w11", "p11"], lang="en")


# -- golden LaTeX of the lecture's derivation blocks ------------------------------------------------

def test_golden_path_sums():
    g = sbp.lecture_network()
    for name in ("w11", "p11", "s1"):
        d = sbp.derive(g, name)
        golden(f"handout_{name}_paths.tex", rows_latex(leibniz_rows(d)) + "\n" + rows_latex(closed_rows(d)) + "\n")


def test_golden_backward_recursion():
    g = sbp.lecture_network()
    ctx = Context(g, g.parameters, "en", evaluate(g), False, [], None)
    golden("handout_backward.tex", rows_latex(_sweep_rows(ctx, sbp.backprop(g).nodes)) + "\n")


# -- content against independent references -------------------------------------------------------

def test_multiplication_counts_against_path_enumeration(lecture):
    """Enumerating: Σ over paths of (arrows − 1), by networkx; sweeping: one product per arrow
    into a non-output state from a state or a parameter."""
    bp = sbp.backprop(lecture)
    enumerate_cost, sweep = multiplication_counts(bp)
    structure = lecture.networkx()
    for p in lecture.parameters:
        routes = list(nx.all_simple_paths(structure, p, lecture.output))
        assert enumerate_cost[p] == sum(len(r) - 2 for r in routes)
    data = set(lecture.inputs) | set(lecture.targets)
    assert sweep == sum(1 for u, v in structure.edges if v != lecture.output and u not in data)
    assert (sum(enumerate_cost[p] for p in lecture.parameters), sweep) == (20, 12)


@pytest.mark.parametrize("loss, activation", [("squared_error", sbp.tanh), ("binary_cross_entropy", sbp.sigmoid),
                                              ("softmax_cross_entropy", sbp.relu)])
def test_worked_example_numbers_match_pytorch(loss, activation):
    """The handout's numbers (forward values, partials, the backward sweep) against autograd on
    the expanded loss; softmax cross-entropy's partials mention prediction nodes off the path."""
    from torch_reference import torch_loss_and_gradient

    g = sbp.mlp((3, 2, 2 if loss == "softmax_cross_entropy" else 1), activation=activation, loss=loss)
    point = evaluate(g)
    X = [[point.values[x] for x in g.inputs]]
    Y = [[point.values[y] for y in g.targets]]
    value, grad = torch_loss_and_gradient(g, point.parameters(), X, Y)
    assert point.values[g.output] == pytest.approx(value, rel=1e-12)
    assert point.gradient() == pytest.approx(list(grad), rel=1e-10, abs=1e-12)


@needs_dot
def test_english_handout_sections_and_numbers(english, lecture):
    page = english.html()
    for title in ("The network", "The forward pass", "The backward pass", "A worked example",
                  "One update step", "The derivative with respect to <math><msub><mi>w</mi><mn>11</mn>"):
        assert title in page
    assert "20 multiplications" in page and "12 multiplications" in page
    reference = torch_lecture_gradients(lecture)
    for name in ("w11", "p11"):  # the worked example's numbers equal PyTorch's gradient
        assert mn(reference[name]) in page
    # GD with η = 0.05 moves w11 by −η·∂a/∂w11 (PyTorch's gradient).
    stepped = lecture.metadata["values"]["w11"] - 0.05 * reference["w11"]
    assert mn(stepped) in page
    assert "f = tanh" in page  # the text says how f was bound for the numbers
    assert "$" not in page and "<pre" not in page  # every LaTeX-only formula became MathML
    assert page.count("<svg") == 3 and "<script" not in page and "http" not in page.split("<svg")[0]


@needs_dot
def test_russian_handout_uses_the_lectures_terms(lecture):
    page = sbp.handout(lecture, wrt=["w11"], lang="ru").html()
    for term in ("Вычислительный граф", "Метод обратного распространения ошибки", "Прямой проход",
                 "Обратный проход", "Градиентный спуск", "Числовой пример", "2 пути"):
        assert term in page
    assert '<html lang="ru">' in page
    for english_title in ("The network", "The backward pass", "A worked example"):
        assert english_title not in page


@needs_dot
def test_exercises_have_blanks_and_a_separate_answer_key(lecture, tmp_path):
    sheet = sbp.handout(lecture, wrt=["w11"], exercises=True)
    page, key = sheet.html(), sheet.answers.html()
    reference = torch_lecture_gradients(lecture)
    answer = mn(reference["w11"])
    assert 'class="answer-space"' in page and answer not in page
    assert answer in key and 'class="answer-space"' not in key
    written = {p.name for p in sheet.save(tmp_path / "ws", pdf=False)}
    assert {"ws.html", "ws.tex", "ws-answers.html", "ws-answers.tex"} <= written


@needs_dot
def test_dense_network_handout_includes_the_matrix_view():
    page = sbp.handout(sbp.mlp((2, 3, 1), loss="squared_error"), wrt=["w1_1_1"], optimizers=[]).html()
    assert "The matrix view" in page
    assert "<pre" not in page  # every formula converted to MathML


# -- files, LaTeX, errors ---------------------------------------------------------------------------

@needs_dot
@pytest.mark.skipif(not HAS_LATEX, reason="pdflatex is not installed")
@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_handout_compiles_with_latex(lecture, tmp_path, lang):
    written = sbp.handout(lecture, wrt=["w11", "p11"], lang=lang).save(tmp_path / "h")
    pdf = tmp_path / "h.pdf"
    data = pdf.read_bytes()
    assert pdf in written and data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    assert len(data) > 20_000  # text, formulas and three embedded figures
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))
    print(f"handout PDF ({lang}): {pdf}")


@pytest.mark.skipif(not HAS_LATEX, reason="pdflatex is not installed")
def test_latex_failure_reports_first_error_and_log(tmp_path):
    source = tmp_path / "broken.tex"
    source.write_text("\\documentclass{article}\\begin{document}\\undefinedmacro\\end{document}\n")
    with pytest.raises(LatexError, match=r"Undefined control sequence.*log: .*broken\.log") as caught:
        build_pdf(source)
    assert caught.value.log.exists() and not (tmp_path / "broken.pdf").exists()


@needs_dot
def test_missing_latex_engine_names_the_package(english, tmp_path, monkeypatch):
    from symbackprop.handout import tex

    monkeypatch.setattr(tex, "ENGINES", ("no-such-latex-engine",))
    with pytest.raises(SymbackpropError, match="apt-get install texlive"):
        english.save(tmp_path / "h", pdf=True)
    assert (tmp_path / "h.html").read_text().rstrip().endswith("</html>")  # what was written is whole
    assert not (tmp_path / "h.pdf").exists()


def test_bad_arguments_are_one_line_errors(lecture):
    with pytest.raises(SymbackpropError, match="unknown language"):
        sbp.handout(lecture, lang="de")
    with pytest.raises(SymbackpropError, match="is a node"):
        sbp.handout(lecture, wrt=["z1"])
    with pytest.raises(SymbackpropError, match="did you mean"):
        sbp.handout(lecture, wrt=["w111"])
    with pytest.raises(SymbackpropError, match="cannot bind f"):
        sbp.handout(lecture, functions={"f": "cosh"})


@needs_dot
@pytest.mark.slow
def test_cli_draw_and_handout(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "symbackprop", *args], capture_output=True, text=True,
                              cwd=tmp_path, timeout=300)

    assert run("draw", str(LECTURE), "-o", "net.svg").returncode == 0
    assert run("draw", str(LECTURE), "--wrt", "w11", "-o", "paths.svg").returncode == 0
    assert "penwidth=2.5" in (tmp_path / "paths.svg").read_text() or "stroke-width=\"2.5\"" in (tmp_path / "paths.svg").read_text()
    done = run("handout", str(LECTURE), "--wrt", "w11", "--wrt", "p11", "-o", "build/handout", "--no-pdf")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "build" / "handout.html").exists() and (tmp_path / "build" / "handout.tex").exists()
    failed = run("handout", str(LECTURE), "--wrt", "w99", "-o", "x", "--no-pdf")
    assert failed.returncode == 1 and failed.stderr.count("\n") == 1 and "w99" in failed.stderr


# -- Russian handouts are Russian -------------------------------------------------------------------

# Latin words a Russian handout may contain: names of methods, functions and the tool.
_LATIN_NAMES = {"symbackprop", "PyTorch", "Momentum", "AdaGrad", "Adam", "tanh", "exp", "log", "ReLU",
                "softplus", "LSE", "max", "min"}


class _Prose(HTMLParser):
    """Every word a reader sees: text, words inside formulas (MathML), the figures' text; not
    the style sheet, nor SVG <title> elements (Graphviz's element ids)."""

    def __init__(self):
        super().__init__()
        self.hidden, self.words = 0, []

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("style", "title")

    def handle_endtag(self, tag):
        self.hidden -= tag in ("style", "title")

    def handle_data(self, data):
        if not self.hidden:
            self.words += re.findall(r"[A-Za-z]{2,}", data)


def english_words(page: str, graph) -> set[str]:
    parser = _Prose()
    parser.feed(page)
    allowed = _LATIN_NAMES | {s.name for s in graph.nodes + graph.leaves}
    return set(parser.words) - allowed


@needs_dot
@pytest.mark.parametrize("model", ["lecture.sbp", "lecture_loss.sbp"])
def test_russian_handouts_have_no_english(model):
    graph = sbp.load(str(ROOT / "examples" / model))
    sheet = sbp.handout(graph, wrt=["w11", "p11", "s1"], of="a", lang="ru", exercises=True)
    full = sbp.handout(graph, wrt=["w11"], of="a", lang="ru")
    for page in (sheet.html(), sheet.answers.html(), full.html()):
        assert english_words(page, graph) == set()
    # the scan does see English: the same handout in English is full of it
    assert {"The", "backward", "with"} <= english_words(sbp.handout(graph, wrt=["w11"], lang="en").html(), graph)


@needs_dot
def test_russian_grammar_of_counts(lecture):
    page = sbp.handout(lecture, lang="ru").html()
    assert "для всех 10 параметров" in page
    assert re.search(r"против \d+ умножений", page)
    english = sbp.handout(lecture, wrt=["w11"], lang="en").html()
    assert "for all 10 parameters:" in english and "parameters parameters" not in english


@needs_dot
def test_worksheet_lists_each_parameter_with_its_answer_line(lecture):
    page = sbp.handout(lecture, wrt=["w11", "p11"], exercises=True).html()
    assert "given below" not in page and "parameter below" not in page
    assert page.count('class="answer-line"') == 4  # ∂a/∂w11, ∂a/∂p11, then the new w11, p11


def test_a_formula_keeps_its_full_stop(lecture):
    page = sbp.handout(lecture, wrt=["w11"], optimizers=[]).html()
    assert re.search(r'<span class="nobreak"><math[^>]*>.*?</math>\.</span>', page)
