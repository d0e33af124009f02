"""The verifier never calls a wrong answer right, reads LaTeX as TeX does, and answers in bounded time.

Each section is one promise, tested with the answers a hostile tester used against it: sign errors
hidden by odd stand-ins, points where the derivative is undefined, derivatives too small for an
absolute tolerance, the question restated as its answer, TeX's one-token arguments, every LaTeX
string the package prints read back, answers right only for the bound activation, and networks
whose diagnosis used to run for minutes. Independent references: SymPy's ``diff`` and ``evalf``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symbackprop as sbp
from symbackprop.check.classroom import check_class
from symbackprop.check.verify import MAX_ANSWER_LENGTH, parse_answer
from symbackprop.core.functions import primes_from_derivatives
from symbackprop.handout.equations import closed_rows, leibniz_rows, rows_latex
from symbackprop.numeric.sampling import stand_in
from random_graphs import graphs
from strategies import model_graphs
from example_models import HAND_SIZED

ROOT = Path(__file__).resolve().parents[1]
LECTURE = ROOT / "examples" / "lecture.sbp"
G = sbp.lecture_network()
F = sp.Function("f")
a, b, v, w, x = sp.symbols("a b v w x")


def _wrong(verdict: sbp.Verdict) -> None:
    assert not verdict.correct and verdict.status == "incorrect", verdict.message
    assert verdict.message.startswith("✗")


# -- stand-ins that tell derivatives apart ----------------------------------------------------------

def test_stand_ins_are_neither_odd_nor_even_and_differ_per_function():
    """SymPy reads each stand-in's text and evaluates it and its derivatives: f(−u), f'(−u),
    f(u), f''(u), and the other functions' stand-ins all differ from f'(u) somewhere."""
    u = sp.Symbol("u")
    elementary = {"u": u, "softplus": lambda t: sp.log(1 + sp.exp(t))}
    points = [sp.Rational(k, 10) for k in (-13, -7, -2, 3, 9, 14)]
    for group in range(3):
        functions = [sp.sympify(stand_in(i, group).text, locals=elementary) for i in range(6)]
        for i, fi in enumerate(functions):
            d1, d2 = sp.diff(fi, u), sp.diff(fi, u, 2)
            others = [fi.subs(u, -u), -fi.subs(u, -u), d1.subs(u, -u), d1.subs(u, sp.Abs(u)), fi, d2]
            others += [sp.diff(g, u, k) for j, g in enumerate(functions) if j != i for k in (0, 1)]
            for other in others:
                assert any(abs(float((d1 - other).subs(u, p).evalf(20))) > 1e-6 for p in points), (group, i, other)


@pytest.mark.parametrize("graph, wrt, answer", [
    (sbp.Graph({a: v * F(w * x - b)}), "b", "-v*f'(b - w*x)"),
    (G, "p12", "s2*f'(-p12*z1 - p22*z2)*z1"),
    (G, "p12", "s2*f'(abs(p12*z1 + p22*z2))*z1"),
    (G, "p12", "s2*f(p12*z1 + p22*z2)*z1"),
    (G, "p12", "s2*f''(p12*z1 + p22*z2)*z1"),
    (G, "s2", "f'(p12*z1 + p22*z2)"),
], ids=["sign-inside-f'", "negated-argument", "abs-argument", "f-for-f'", "f''-for-f'", "f'-for-f"])
def test_a_wrong_activation_term_is_caught_and_placed_on_its_path(graph, wrt, answer):
    verdict = sbp.verify(graph, wrt, answer)
    _wrong(verdict)
    [path] = verdict.paths
    assert [wf.path for wf in verdict.wrong_factors] == [path] and str(path) in verdict.message


def test_each_undefined_function_has_its_own_stand_in():
    """Four functions (once f, g, h, k rotated modulo 3, so k' passed for f')."""
    s = sp.symbols("s1:5")
    f, g, h, k = (sp.Function(n) for n in "fghk")
    graph = sbp.Graph({a: s[0] * f(w * x) + s[1] * g(w * x) + s[2] * h(w * x) + s[3] * k(w * x)})
    for other in "ghk":
        _wrong(sbp.verify(graph, "s1", f"{other}(w*x)"))
    right = "x*(s1*f'(w*x) + s2*g'(w*x) + s3*h'(w*x) + s4*k'(w*x))"
    assert sbp.verify(graph, "w", right).correct
    _wrong(sbp.verify(graph, "w", right.replace("f'", "k'")))


# -- points inside the domain ------------------------------------------------------------------------

def test_undefined_points_never_count_as_agreement():
    graph = sbp.Graph.from_text("inputs: x\nvalues: x = 4\na = w*log(x - 2)\n")
    _wrong(sbp.verify(graph, "w", "log(2)"))
    verdict = sbp.verify(graph, "w", "log(x - 2)")
    assert verdict.correct and verdict.points >= 12
    wrong = sbp.verify(graph, "w", "2*log(x - 2)")
    assert wrong.counterexample.values[graph.symbol("x")] > 2          # compared inside the domain


@pytest.mark.parametrize("wrt, answer, right", [
    ("w", "x/(2*sqrt(w - 2))", True), ("w", "0", False), ("w", "x", False), ("w", "sqrt(w - 2)", False),
    ("x", "sqrt(w - 2)", True), ("x", "7", False), ("x", "-sqrt(w - 2)", False),
])
def test_a_derivative_defined_on_part_of_the_space(wrt, answer, right):
    graph = sbp.Graph.from_text("inputs: x\na = sqrt(w - 2)*x\n")
    verdict = sbp.verify(graph, wrt, answer)
    assert verdict.correct == right, verdict.message
    if not right:
        _wrong(verdict)


NOWHERE = "inputs: x\na = w*sqrt(-x^2 - 1)\n"


@pytest.mark.parametrize("lang, headline", [
    ("en", "? could not be checked: ∂a/∂w is defined at only 0 of the"),
    ("ru", "? не удалось проверить: ∂a/∂w определена лишь в 0 из"),
])
def test_too_few_defined_points_is_a_verdict_of_its_own(lang, headline):
    graph = sbp.Graph.from_text(NOWHERE)
    for answer in ("sqrt(-x^2 - 1)", "0", "x"):
        verdict = sbp.verify(graph, "w", answer, lang=lang)
        assert verdict.status == "unchecked" and not verdict.correct and verdict.points == 0
        assert verdict.message.startswith(headline) and verdict.mistakes() == ()


def test_could_not_be_checked_on_the_command_line_and_in_class_mode(tmp_path):
    model = tmp_path / "nowhere.sbp"
    model.write_text(NOWHERE, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "symbackprop", "verify", str(model), "--wrt", "w",
                             "--answer", "0"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 4 and "\n? could not be checked" in result.stdout and result.stderr == ""
    report = check_class(sbp.Graph.from_text(NOWHERE), "student,parameter,answer\nAnn,w,0\n")
    assert report.counts() == {"correct": 0, "incorrect": 0, "error": 1}


# -- relative comparison -------------------------------------------------------------------------

def _chain(depth: int, activation) -> sbp.Graph:
    """h1 = activation(w1·x), h2 = activation(w2·h1), …: one path, ``depth`` factors."""
    h = sp.symbols(f"h1:{depth + 1}")
    ws = sp.symbols(f"w1:{depth + 1}")
    definitions, previous = {}, x
    for node, weight in zip(h, ws):
        definitions[node] = activation(weight * previous)
        previous = node
    return sbp.Graph(definitions, inputs=[x])


def test_zero_is_never_equal_to_a_tiny_derivative():
    tiny = sbp.Graph.from_text("inputs: x\na = w*x/10^9\n")
    _wrong(sbp.verify(tiny, "w", "0"))
    _wrong(sbp.verify(tiny, "w", "x/(10^9 + 1)"))
    assert sbp.verify(tiny, "w", "x/10^9").correct
    chain = _chain(20, sbp.sigmoid)
    reference = primes_from_derivatives(sp.diff(chain.expand(chain.output), chain.symbol("w1")))
    assert sbp.verify(chain, "w1", reference).correct                  # SymPy's own diff
    _wrong(sbp.verify(chain, "w1", "0"))
    _wrong(sbp.verify(chain, "w1", reference * (1 + sp.Rational(1, 10**6))))


def test_a_sum_that_cancels_to_rounding_noise_still_equals_its_value():
    graph = sbp.Graph.from_text("inputs: x\na = w*(x + 10^8)^2 - w*(x^2 + 2*10^8*x)\n")
    assert sbp.verify(graph, "w", "10^16").correct
    _wrong(sbp.verify(graph, "w", "0"))
    _wrong(sbp.verify(graph, "w", "10^16 + 10^9"))


# -- the question restated ------------------------------------------------------------------------

@pytest.mark.parametrize("wrt, answer, format, why", [
    ("w11", "∂a/∂w11", "plain", "is the question itself"),
    ("w11", "partial(a, w11)", "plain", "is the question itself"),
    ("w11", r"\frac{\partial a}{\partial w_{11}}", "latex", "is the question itself"),
    ("s2", "∂a/∂s2", "plain", "is the question itself"),          # local, but what is asked
    ("w11", "∂a/∂z1·∂z1/∂w11", "plain", "is not a local partial"),
    ("w11", "∂m1/∂w11 * s1", "plain", "is not a local partial"),
    ("p11", "∂a/∂w11", "plain", "is not a local partial"),
])
def test_a_leibniz_factor_that_restates_the_question_is_refused(wrt, answer, format, why):
    with pytest.raises(sbp.ParseError) as refused:
        sbp.verify(G, wrt, answer, format=format)
    first = str(refused.value).splitlines()[0]
    assert why in first and "write it out" in first
    with pytest.raises(sbp.SymbackpropError, match="is the question itself"):
        sbp.verify(G, wrt, sbp.Partial(G.output, G.symbol(wrt)))


def test_a_direct_arrows_partial_is_not_the_question():
    """(∂out/∂p)_n is the arrow p → out with n held, one path of ∂out/∂p (the other through n)."""
    n, out, p = sp.symbols("n1 out p4")
    graph = sbp.Graph({n: sp.tanh(p * x), out: p * n + n}, inputs=[x])
    d = sbp.derive(graph, p)
    for answer, format in [(d.text(), "plain"), (d.latex(), "latex"), (d.leibniz, None)]:
        assert sbp.verify(graph, p, answer, format=format or "plain").correct
    assert [str(q) for q in sbp.verify(graph, p, "(∂out/∂p4)_n1").missing] == ["p4→n1→out"]
    latex = sbp.verify(graph, p, answer_latex=r"\left(\frac{\partial out}{\partial p_{4}}\right)_{n_{1}}")
    assert [str(q) for q in latex.missing] == ["p4→n1→out"]


# -- LaTeX as TeX reads it ------------------------------------------------------------------------

@pytest.mark.parametrize("latex, plain", [
    (r"\frac12 w_{11} x_1", "w11*x1/2"),
    (r"\frac 1 2 w_{11}", "w11/2"),
    (r"\tfrac12 x_1", "x1/2"),
    (r"\dfrac12 x_1", "x1/2"),
    (r"\frac{s_1}2", "s1/2"),
    (r"x_1^23", "x1^2*3"),
    (r"\frac12 (m_1 - m_2) x_1", "(m1 - m2)*x1/2"),
    (r"\sqrt2 x_1", "sqrt(2)*x1"),
    (r"e^x_1", None),
    (r"x_1^-1", None),
])
def test_latex_arguments_are_one_token_as_in_tex(latex, plain):
    if plain is None:
        with pytest.raises(sbp.ParseError):
            parse_answer(G, latex, "latex")
    else:
        assert parse_answer(G, latex, "latex") == parse_answer(G, plain)


def _printed_latex(graph: sbp.Graph, wrt) -> dict[str, str]:
    """Every LaTeX string the package prints for one derivative (its Leibniz row too, unless it
    is the question itself: ∂a/∂s1 = ∂a/∂s1 for a single arrow)."""
    d = sbp.derive(graph, wrt)
    printed = {"latex(closed form)": sbp.latex(d.closed_form), "Derivation.latex()": d.latex(),
               "latex(expanded)": sbp.latex(d.expanded()), "handout closed rows": rows_latex(closed_rows(d))}
    if d.leibniz != sbp.Partial(d.of, d.wrt):
        printed["handout Leibniz rows"] = rows_latex(leibniz_rows(d))
    return printed


def _round_trip(graph: sbp.Graph, wrt) -> None:
    """Each string reads back as a correct answer, unless it is longer than an answer may be
    (the expanded form of a random graph can be): then the refusal says so."""
    for name, latex in _printed_latex(graph, wrt).items():
        try:
            verdict = sbp.verify(graph, wrt, answer_latex=latex)
        except sbp.ParseError as refused:
            assert len(latex) > MAX_ANSWER_LENGTH and "too long" in str(refused), (name, latex, refused)
            continue
        assert verdict.correct, (name, latex, verdict.message)
    d = sbp.derive(graph, wrt)
    if d.paths:
        assert sbp.verify(graph, wrt, d.text()).correct


CASES = [(model, wrt) for model in HAND_SIZED for wrt in sbp.load(model).parameters]


@pytest.mark.parametrize("model, wrt", CASES, ids=[f"{m.stem}-{w}" for m, w in CASES])
def test_every_latex_string_printed_for_an_example_reads_back(model, wrt):
    graph = sbp.load(model)
    _round_trip(graph, wrt)
    reference = primes_from_derivatives(sp.diff(graph.expand(graph.output), graph.symbol(wrt)))
    assert sbp.verify(graph, wrt, answer_latex=sbp.latex(reference)).correct


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=graphs(max_nodes=5), data=st.data())
def test_every_latex_string_printed_for_a_random_graph_reads_back(graph, data):
    _round_trip(graph, data.draw(st.sampled_from(graph.parameters)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=model_graphs(), data=st.data())
def test_every_latex_string_printed_for_a_random_model_reads_back(graph, data):
    if graph.parameters:
        _round_trip(graph, data.draw(st.sampled_from(graph.parameters)))


@pytest.mark.parametrize("plain, latex", [
    ("sech(x)", r"\operatorname{sech}\left(x\right)"),
    ("cosh(x)", r"\cosh{\left(x \right)}"),
    ("sinh(x)", r"\sinh(x)"),
    ("sin(x) + cos(x)", r"\sin(x) + \cos\left(x\right)"),
])
def test_hyperbolic_and_trigonometric_functions_in_both_formats(plain, latex):
    graph = sbp.Graph.from_text(f"inputs: x\na = w*({plain})\n")
    assert sbp.verify(graph, "w", plain).correct
    assert sbp.verify(graph, "w", answer_latex=latex).correct


def test_unicode_primes_in_both_formats():
    assert sbp.verify(G, "p11", "s1*f′(p11*z1 + p21*z2)*z1").correct
    assert sbp.verify(G, "p11", answer_latex=r"s_1 f′(p_{11} z_1 + p_{21} z_2) z_1").correct
    assert parse_answer(G, "f″(x1) + f‴(x2)") == parse_answer(G, "f''(x1) + f'''(x2)")
    assert parse_answer(G, r"f″(x_1)", "latex") == parse_answer(G, "f''(x1)")


# -- right only for the bound activation ------------------------------------------------------------

@pytest.mark.parametrize("lang, headline", [
    ("en", "✗ correct for f = tanh, the bound activation; the question is for a general f: write f′(…)"),
    ("ru", "✗ верно только для f = tanh — активации, заданной в модели (bind); вопрос — для произвольной f: "
           "запишите f′(…)"),
])
def test_an_answer_right_only_for_the_bound_activation(lang, headline):
    graph = sbp.load(LECTURE)                   # bind: f = tanh
    verdict = sbp.verify(graph, "p11", "s1*(1 - m1^2)*z1", lang=lang)
    assert verdict.status == "correct_for_bound" and not verdict.correct
    assert verdict.bound == {"f": "tanh"}
    assert verdict.message.splitlines()[0] == headline
    assert [str(wf.path) for wf in verdict.wrong_factors] == ["p11→m1→a"]
    unbound = sbp.verify(G, "p11", "s1*(1 - m1^2)*z1")      # the same network, f not bound
    assert unbound.status == "incorrect"


def test_the_bound_activation_verdict_with_a_sigmoid():
    graph = sbp.load(ROOT / "examples" / "skip.sbp")        # bind: f = sigmoid
    verdict = sbp.verify(graph, "b2", "v*h2*(1 - h2)")
    assert verdict.status == "correct_for_bound" and verdict.mistakes() == ("right only for f = sigmoid",)


# -- the command line -----------------------------------------------------------------------------

@pytest.mark.parametrize("option, answer", [("--answer", "-m1"), ("--answer-latex", r"-\frac12 m_1")])
def test_an_answer_that_begins_with_a_minus(option, answer):
    result = subprocess.run([sys.executable, "-m", "symbackprop", "verify", str(LECTURE), "--wrt", "s1",
                             option, answer], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 3, result.stderr
    assert "path s1→a" in result.stdout and result.stderr == ""


def test_no_numpy_warning_reaches_the_user(tmp_path):
    """Overflow, log of a negative, 0/0: in the forward pass, in the answer, in the comparison."""
    model = tmp_path / "overflow.sbp"
    model.write_text("inputs: x\nvalues: x = 3\nh = exp(w*x)\na = log(h - 1000)*v\n", encoding="utf-8")
    answers = ["exp(exp(exp(1000)))", "log(-x)", "(x - 3)/(x - 3)*log(h - 1000)", "exp(w*x)^1000", "log(h - 1000)"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for answer in answers:
            sbp.verify(sbp.load(model), "v", answer)
    for answer in answers:
        result = subprocess.run([sys.executable, "-m", "symbackprop", "verify", str(model), "--wrt", "v",
                                 "--answer", answer], capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert result.returncode in (0, 1, 3) and "Warning" not in result.stderr, result.stderr


# -- bounded time ----------------------------------------------------------------------------------

def _layered(width: int, depth: int) -> sbp.Graph:
    """``width`` units of an undefined f per layer: the first weight has width^(depth−1) paths."""
    definitions, previous = {}, [x]
    for layer in range(1, depth + 1):
        current = []
        for j in range(1, width + 1):
            node = sp.Symbol(f"h{layer}_{j}")
            definitions[node] = F(sp.Add(*[sp.Symbol(f"w{layer}_{i}_{j}") * p for i, p in enumerate(previous, 1)]))
            current.append(node)
        previous = current
    definitions[a] = sp.Add(*[sp.Symbol(f"s{j}") * p for j, p in enumerate(previous, 1)])
    return sbp.Graph(definitions, inputs=[x])


BUDGET = 0.5
OVERHEAD = 4.0      # deriving and sampling, once per parameter; generous for a busy machine


def _within_budget(graph: sbp.Graph, wrt, answer) -> sbp.Verdict:
    start = time.perf_counter()
    verdict = sbp.verify(graph, wrt, answer, budget=BUDGET)
    assert time.perf_counter() - start < BUDGET + OVERHEAD
    return verdict


@pytest.mark.parametrize("depth", [14, 20, 40])
def test_a_deep_tanh_chain_is_judged_within_the_budget(depth):
    graph = _chain(depth, sp.tanh)
    truth = sbp.gradient(graph, "w1")
    assert _within_budget(graph, "w1", truth).correct
    for answer in ("0", "x", truth * graph.symbol("w2"), truth.subs(graph.symbol("x"), 1)):
        _wrong(_within_budget(graph, "w1", answer))


@pytest.mark.parametrize("width, depth", [(2, 14), (2, 20), (2, 40), (10, 4), (16, 4), (10, 5)],
                         ids=["2^13-paths", "2^19-paths", "2^39-paths", "1000-paths", "4096-paths", "10000-paths"])
def test_many_paths_are_judged_within_the_budget(width, depth):
    graph = _layered(width, depth)
    wrt = graph.parameters[0]
    truth = sbp.gradient(graph, wrt)
    assert _within_budget(graph, wrt, truth).correct
    for answer in ("x", 2 * truth):
        verdict = _within_budget(graph, wrt, answer)
        _wrong(verdict)
        if verdict.skipped:
            assert "the detailed diagnosis was skipped" in verdict.message
        json.dumps(verdict.as_dict())


def test_class_mode_keeps_the_budget_per_row():
    graph = _layered(2, 20)
    rows = "".join(f"S{i},w1_1_1,x*{i}\n" for i in range(6))
    start = time.perf_counter()
    report = check_class(graph, "student,parameter,answer\n" + rows)
    assert report.counts() == {"correct": 0, "incorrect": 6, "error": 0}
    assert time.perf_counter() - start < 6 * BUDGET + OVERHEAD
    assert "∂a/∂w1_1_1: a sum over 524,288 paths (too many to write out)" in report.to_html()


def test_the_diagnosis_says_when_it_was_skipped():
    deep = sbp.verify(_layered(2, 20), "w1_1_1", "x")
    assert deep.skipped == "paths" and "paths are too many to compare one by one" in deep.message
    wide = sbp.verify(_layered(16, 4), "w1_1_1", "x", budget=0.0)
    assert wide.skipped == "budget" and "did not fit in the time budget of 0 s" in wide.message
    assert np.isfinite(wide.counterexample.expected)
