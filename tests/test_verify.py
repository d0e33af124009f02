"""Checking hand-computed derivatives of the lecture's network: a catalogue of answers.

Each case is an answer a student could write for a parameter of the lecture's network, with the
verdict it deserves: right answers in different but equivalent forms (node names, expanded in
the inputs, factored, Leibniz products, LaTeX), and the typical mistakes (a missing path, ``f``
for ``f'``, swapped indices, a missing input factor, a sign). Independent references: SymPy's
``diff`` of the expanded network is always accepted, and a counterexample's values are
recomputed with SymPy at the reported point.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symbackprop as sbp
from symbackprop.core.functions import primes_from_derivatives, substitute_functions
from symbackprop.render.printing import text
from random_graphs import graphs

G = sbp.lecture_network()
G_LOSS = sbp.lecture_network(loss="squared_error")

# The two path terms of ∂a/∂w11, written by hand as on the board.
A = "s1*f'(p11*z1 + p21*z2)*p11*f'(w11*x1 + w21*x2)*x1"
B = "s2*f'(p12*z1 + p22*z2)*p12*f'(w11*x1 + w21*x2)*x1"
M1 = "w11→z1→m1→a"
M2 = "w11→z1→m2→a"

CORRECT = [
    ("s1", "m1"),
    ("s1", "f(p11*z1 + p21*z2)"),
    ("s1", "f(p11*f(w11*x1 + w21*x2) + p21*f(w12*x1 + w22*x2))"),
    ("s2", "m2"),
    ("p11", "s1*f'(p11*z1 + p21*z2)*z1"),
    ("p11", "s1 z1 f'(p11 z1 + p21 z2)"),
    ("p11", "∂a/∂m1·∂m1/∂p11"),
    ("p11", "s1*f'(p11*z1+p21*z2)*z1*(x1 + x2)/(x2 + x1)"),
    ("p11", "∂a/∂p11 = s1*f'(p11*z1 + p21*z2)*z1"),
    ("p21", "s1*f'(p11*z1 + p21*z2)*z2"),
    ("p12", "s2*f'(p12*z1 + p22*z2)*z1"),
    ("p22", "z2*s2*f'(z1*p12 + z2*p22)"),
    ("w11", f"{A} + {B}"),
    ("w11", f"{B} + {A}"),
    ("w11", "f'(w11*x1 + w21*x2)*x1*(s1*f'(p11*z1 + p21*z2)*p11 + s2*f'(p12*z1 + p22*z2)*p12)"),
    ("w11", "∂a/∂m1·∂m1/∂z1·∂z1/∂w11 + ∂a/∂m2·∂m2/∂z1·∂z1/∂w11"),
    ("w11", "partial(a, m1)*partial(m1, z1)*partial(z1, w11) + partial(a, m2)*partial(m2, z1)*partial(z1, w11)"),
    ("w11", A.replace("z1", "f(w11*x1 + w21*x2)").replace("z2", "f(w12*x1 + w22*x2)") + " + " + B),
    ("w21", "(s1*f'(p11*z1 + p21*z2)*p11 + s2*f'(p12*z1 + p22*z2)*p12)*f'(w11*x1 + w21*x2)*x2"),
    ("w12", "(s1 f'(p11 z1 + p21 z2) p21 + s2 f'(p12 z1 + p22 z2) p22) f'(w12 x1 + w22 x2) x1"),
    ("w22", "s1*f'(p11*z1 + p21*z2)*p21*f'(w12*x1 + w22*x2)*x2 + s2*f'(p12*z1 + p22*z2)*p22*f'(w12*x1 + w22*x2)*x2"),
    ("x1", "∂a/∂m1·∂m1/∂z1·∂z1/∂x1 + ∂a/∂m2·∂m2/∂z1·∂z1/∂x1 + ∂a/∂m1·∂m1/∂z2·∂z2/∂x1 + ∂a/∂m2·∂m2/∂z2·∂z2/∂x1"),
]

CORRECT_LATEX = [
    ("p11", r"s_1 \cdot f'\left(p_{11} z_1 + p_{21} z_2\right) \cdot z_1"),
    ("p11", r"$\frac{\partial a}{\partial p_{11}} = s_1 f'(p_{11}z_1+p_{21}z_2)\, z_1$"),
    ("w11", r"\frac{\partial a}{\partial m_1}\frac{\partial m_1}{\partial z_1}\frac{\partial z_1}{\partial w_{11}}"
            r" + \frac{\partial a}{\partial m_2}\frac{\partial m_2}{\partial z_1}\frac{\partial z_1}{\partial w_{11}}"),
    ("w11", r"f^{\prime}(w_{11}x_1 + w_{21}x_2)\, x_1 \left[ s_1 f'(p_{11}z_1 + p_{21}z_2) p_{11}"
            r" + s_2 f'(p_{12}z_1 + p_{22}z_2) p_{12} \right]"),
    ("s2", r"f\left(p_{12} z_{1} + p_{22} z_{2}\right)"),
    ("p12", r"s_2 \frac{\partial m_2}{\partial p_{12}}"),
]

# (parameter, answer, expected): expected is ("missing", paths), (kind, found, expected) for a
# wrong factor, ("extra", term) or ("sign"/"coefficient", path, factor).
MISTAKES = [
    ("w11", A, ("missing", [M2])),
    ("w11", B, ("missing", [M1])),
    ("w11", "∂a/∂m1·∂m1/∂z1·∂z1/∂w11", ("missing", [M2])),
    ("w12", "s2*f'(p12*z1 + p22*z2)*p22*f'(w12*x1 + w22*x2)*x1", ("missing", ["w12→z2→m1→a"])),
    ("w11", f"{A} + s2*f(p12*z1 + p22*z2)*p12*f'(w11*x1 + w21*x2)*x1",
     ("derivative", "f(p12·z1 + p22·z2)", "f'(p12·z1 + p22·z2)")),
    ("w11", f"{A} + {B.replace('p12*f', 'p21*f')}", ("index", "p21", "p12")),
    ("w11", f"{A.replace('*p11*', '*p21*')} + {B}", ("index", "p21", "p11")),
    ("w11", f"{A} + {B.replace('p12*z1', 'p21*z1')}", ("index", "p21", "p12")),
    ("w11", f"{A} + {B[:-len('*x1')]}*x2", ("index", "x2", "x1")),
    ("w11", f"{A} + {B[:-len('*x1')]}", ("missing_factor", None, "x1")),
    ("w11", f"{A} - {B}", ("sign", M2, None)),
    ("w11", f"-{A} + {B}", ("sign", M1, None)),
    ("w11", f"{A} + {B} + s1*x1", ("extra", "s1·x1")),
    ("w11", f"2*({A}) + {B}", ("coefficient", M1, "2")),
    ("w11", f"{A} + s2*x1*x2", None),     # wrong, and too far from the missing path to name a factor
    ("p11", "s1*f(p11*z1 + p21*z2)*z1", ("derivative", "f(p11·z1 + p21·z2)", "f'(p11·z1 + p21·z2)")),
    ("p11", "s1*m1*z1", ("derivative", "f(p11·z1 + p21·z2)", "f'(p11·z1 + p21·z2)")),
    ("p11", "s1*f'(p11*z1 + p21*z2)", ("missing_factor", None, "z1")),
    ("p11", "s1*f'(p11*z1 + p21*z2)*z2", ("index", "z2", "z1")),
    ("p11", "s2*f'(p11*z1 + p21*z2)*z1", ("index", "s2", "s1")),
    ("p11", "-s1*f'(p11*z1 + p21*z2)*z1", ("sign", "p11→m1→a", None)),
    ("p22", "s2*f'(p12*z1 + p22*z2)*z1", ("index", "z1", "z2")),
    ("s1", "m2", ("index", "m2", "m1")),
    ("s1", "s1", ("symbol", "s1", "m1")),
    ("s1", "f'(p11*z1 + p21*z2)", ("derivative", "f'(p11·z1 + p21·z2)", "f(p11·z1 + p21·z2)")),
    ("w11", "0", ("missing", [M1, M2])),
]

MISTAKES_LATEX = [
    ("w11", r"s_1 f'(p_{11} z_1 + p_{21} z_2) \cdot p_{11} \cdot f'(w_{11}x_1+w_{21}x_2) x_1", ("missing", [M2])),
    ("p12", r"s_2 f(p_{12} z_1 + p_{22} z_2) z_1", ("derivative", "f(p12·z1 + p22·z2)", "f'(p12·z1 + p22·z2)")),
    ("p12", r"s_2 f'(p_{12} z_1 + p_{22} z_2)", ("missing_factor", None, "z1")),
]

LOSS = [
    ("s1", "(a - y)*m1", "correct"),
    ("s1", "(s1*m1 + s2*m2 - y)*m1", "correct"),
    ("s1", "∂L/∂a·∂a/∂s1", "correct"),
    ("w11", f"(a - y)*({A} + {B})", "correct"),
    ("s1", "(y - a)*m1", ("sign", "s1→a→L", None)),
    ("s1", "2*(a - y)*m1", ("coefficient", "s1→a→L", "2")),
    ("s1", "(a - y)", ("missing_factor", None, "m1")),
    ("w11", f"(a - y)*({A})", ("missing", ["w11→z1→m2→a→L"])),
]


def _check(verdict: sbp.Verdict, expected) -> None:
    assert not verdict.correct, verdict.message
    assert verdict.counterexample is not None
    if expected is None:
        return
    kind = expected[0]
    if kind == "missing":
        assert [str(p) for p in verdict.missing] == expected[1], verdict.message
        assert not verdict.extra and not verdict.wrong_factors, verdict.message
        assert set(verdict.present) | set(verdict.missing) == set(verdict.paths)
    elif kind == "extra":
        assert [text(t) for t in verdict.extra] == [expected[1]], verdict.message
        assert not verdict.missing and not verdict.wrong_factors, verdict.message
    elif kind in ("sign", "coefficient"):
        [wrong] = verdict.wrong_factors
        assert (wrong.kind, str(wrong.path)) == (kind, expected[1]), verdict.message
        if expected[2] is not None:
            assert text(wrong.found) == expected[2]
    else:
        assert verdict.wrong_factors, verdict.message
        for wrong in verdict.wrong_factors:
            shown = (wrong.kind, wrong.found and text(wrong.found), wrong.expected and text(wrong.expected))
            assert shown == expected, verdict.message
        assert not verdict.extra and not verdict.missing, verdict.message


def _timed(*args, **kwargs) -> sbp.Verdict:
    """``verify``, within a bound (generous: the first answer for a parameter also derives it)."""
    start = time.perf_counter()
    verdict = sbp.verify(*args, **kwargs)
    assert time.perf_counter() - start < 2.0
    return verdict


def test_the_catalogue_is_large_enough():
    assert len(CORRECT) + len(CORRECT_LATEX) + len(MISTAKES) + len(MISTAKES_LATEX) + len(LOSS) >= 40


@pytest.mark.parametrize("wrt, answer", CORRECT)
def test_right_answers_in_plain_math(wrt, answer):
    verdict = _timed(G, wrt, answer)
    assert verdict.correct, verdict.message
    assert verdict.message.startswith("✓ correct")
    assert verdict.present == verdict.paths and verdict.counterexample is None


@pytest.mark.parametrize("wrt, answer", CORRECT_LATEX)
def test_right_answers_in_latex(wrt, answer):
    verdict = _timed(G, wrt, answer_latex=answer)
    assert verdict.correct, verdict.message


@pytest.mark.parametrize("wrt, answer, expected", MISTAKES)
def test_typical_mistakes(wrt, answer, expected):
    _check(_timed(G, wrt, answer), expected)


@pytest.mark.parametrize("wrt, answer, expected", MISTAKES_LATEX)
def test_typical_mistakes_in_latex(wrt, answer, expected):
    _check(_timed(G, wrt, answer, format="latex"), expected)


@pytest.mark.parametrize("wrt, answer, expected", LOSS)
def test_the_network_with_a_squared_error_loss(wrt, answer, expected):
    verdict = _timed(G_LOSS, wrt, answer)
    if expected == "correct":
        assert verdict.correct, verdict.message
    else:
        _check(verdict, expected)


def test_the_issue_example_message():
    verdict = sbp.verify(G, "w11", A.replace(" ", ""))
    assert verdict.message.splitlines()[0] == (
        "✗ incomplete: 1 of 2 paths.  present: w11→z1→m1→a   missing: w11→z1→m2→a  "
        "(s2·f'(p12·z1 + p22·z2)·p12·f'(w11·x1 + w21·x2)·x1)")


def test_feedback_in_russian():
    verdict = sbp.verify(G, "w11", A, lang="ru")
    assert verdict.message.startswith("✗ неполно: 1 из 2 путей.  есть: w11→z1→m1→a   нет: w11→z1→m2→a")
    assert "контрпример" in verdict.message
    wrong = sbp.verify(G, "p11", "s1*f(p11*z1 + p21*z2)*z1", lang="ru").message
    assert "f(p11·z1 + p21·z2) вместо f'(p11·z1 + p21·z2) (функция вместо её производной)" in wrong
    assert sbp.verify(G, "s1", "m1", lang="ru").message.startswith("✓ верно")


@pytest.mark.parametrize("wrt, answer", [("w11", A), ("p11", "s1*f(p11*z1 + p21*z2)*z1"), ("s1", "x1*s1")])
def test_the_counterexample_is_a_real_one(wrt, answer):
    """Recompute both values at the reported point with SymPy's evalf, f the reported stand-in
    (its text read back by SymPy's own parser)."""
    verdict = sbp.verify(G, wrt, answer)
    example = verdict.counterexample
    u = sp.Symbol("u")
    stand_in = sp.Lambda(u, sp.sympify(example.functions["f"], locals={
        "u": u, "softplus": lambda t: sp.log(1 + sp.exp(t))}))
    point = {leaf: sp.Rational(v.numerator, v.denominator) for leaf, v in example.values.items()}

    def at_point(expr):
        concrete = substitute_functions(G.expand(expr), {"f": stand_in})
        return float(concrete.xreplace(point).evalf(30))

    reference = sp.diff(G.expand(G.output), G.symbol(wrt))
    assert at_point(verdict.answer) == pytest.approx(example.answer, rel=1e-9)
    assert at_point(primes_from_derivatives(reference)) == pytest.approx(example.expected, rel=1e-9)
    assert example.answer != pytest.approx(example.expected, rel=1e-6)


@pytest.mark.parametrize("graph", [G, G_LOSS, sbp.mlp((2, 2, 1), loss="squared_error"),
                                   sbp.mlp((2, 2, 2), activation=sbp.sigmoid, loss="softmax_cross_entropy")],
                         ids=["lecture", "lecture-loss", "mlp-tanh-mse", "mlp-sigmoid-softmax"])
def test_sympy_diff_is_accepted_and_a_mutation_of_it_is_not(graph):
    """SymPy's own derivative of the expanded network is an independent reference."""
    for wrt in graph.parameters:
        reference = primes_from_derivatives(sp.diff(graph.expand(graph.output), wrt))
        verdict = sbp.verify(graph, wrt, reference)
        assert verdict.correct, (wrt, verdict.message)
        wrong = sbp.verify(graph, wrt, reference + graph.inputs[0] * wrt)
        assert not wrong.correct and wrong.counterexample is not None


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=graphs(max_nodes=5), data=st.data())
def test_random_graphs_a_dropped_path_is_reported_missing(graph, data):
    wrt = data.draw(st.sampled_from(graph.parameters))
    derivation = sbp.derive(graph, wrt)
    reference = primes_from_derivatives(sp.diff(graph.expand(graph.output), wrt))
    assert sbp.verify(graph, wrt, reference).correct
    if len(derivation.paths) < 2:
        return
    dropped = data.draw(st.sampled_from(derivation.paths))
    verdict = sbp.verify(graph, wrt, derivation.closed_form - dropped.term)
    if verdict.correct:     # the path's term is identically zero: nothing was dropped
        assert sp.simplify(graph.expand(dropped.term)) == 0
        return
    assert verdict.missing or verdict.wrong_factors or verdict.extra


def test_answers_as_sympy_expressions_use_the_graph_symbols():
    s1, m1 = sp.symbols("s1 m1")
    assert sbp.verify(G, s1, m1).correct
    assert not sbp.verify(G, "s1", sp.Symbol("m2")).correct


def test_verdict_as_json_data():
    import json

    record = sbp.verify(G, "w11", f"{A} - {B}").as_dict()
    assert json.loads(json.dumps(record))["wrong_factors"][0]["kind"] == "sign"
    assert record["correct"] is False and record["present"] == [M1]


def test_leibniz_products_from_the_derivation_are_answers():
    derivation = sbp.derive(G, "w11")
    assert sbp.verify(G, "w11", derivation.leibniz).correct
    partial = sbp.verify(G, "w11", derivation.paths[1].leibniz)
    assert [str(p) for p in partial.missing] == [M1]


SKIP = sbp.load(Path(__file__).resolve().parents[1] / "examples" / "skip.sbp")


@pytest.mark.parametrize("answer, missing", [
    ("v*f'(b2 + h1*w)*h1 + (v*f'(b2 + h1*w)*w + u)*f'(b1 + w*x)*x", []),
    ("v*f'(b2 + h1*w)*h1 + u*f'(b1 + w*x)*x", ["w→h1→h2→a"]),
    ("∂a/∂h2·∂h2/∂w + ∂a/∂h2·∂h2/∂h1·∂h1/∂w", ["w→h1→a"]),
])
def test_a_shared_weight_with_a_skip_connection(answer, missing):
    """w is used twice and h1 reaches a directly and through h2: three paths."""
    verdict = sbp.verify(SKIP, "w", answer)
    assert verdict.correct == (not missing)
    assert [str(p) for p in verdict.missing] == missing


MLP = sbp.mlp((2, 2, 1), loss="squared_error")


@pytest.mark.parametrize("graph, latex, plain", [
    (G, r"w_{11} x_1 + w_{21}x_2", "w11*x1 + w21*x2"),
    (G, r"\frac{s_1}{2} \cdot f'\left(p_{11} z_1\right)", "s1/2*f'(p11*z1)"),
    (G, r"f^{\prime\prime}(z_1) - f''(z_2)", "f''(z1) - f''(z2)"),
    (G, r"$x_1^{2} \times 3.5 \, x_2$", "x1^2*3.5*x2"),
    (G, r"e^{-x_1} + \exp(x_2) + \sqrt{x_1} + \left| x_2 \right|", "exp(-x1) + exp(x2) + sqrt(x1) + abs(x2)"),
    (G, r"\sigma(z_1) \sigma^2(z_2) \operatorname{ReLU}(x_1)", "sigmoid(z1)*sigmoid(z2)^2*relu(x1)"),
    (G, r"s_1 (m_1 + m_2) [x_1 - x_2]", "s1*(m1 + m2)*(x1 - x2)"),
    (G, r"\frac{\partial a}{\partial m_1} = s_1", "s1"),
    (MLP, r"w^{(1)}_{12} + w^{(2)}_{2,1} + b^{(2)}_{1} + (a^{(1)}_{1})^2", "w1_1_2 + w2_2_1 + b2_1 + a1_1^2"),
    (MLP, r"1 - \tanh^2(u^{(1)}_{1})", "1 - tanh(u1_1)^2"),
])
def test_latex_reads_as_the_plain_answer(graph, latex, plain):
    """The plain-math parser is the reference for what a LaTeX answer means."""
    from symbackprop.check.verify import parse_answer

    assert parse_answer(graph, latex, "latex") == parse_answer(graph, plain)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=graphs(max_nodes=5), data=st.data())
def test_random_graphs_f_for_f_prime_is_caught(graph, data):
    """Swap one f'(u) for f(u) in the derivative: the stand-ins for f tell them apart."""
    from sympy.core.function import AppliedUndef

    from symbackprop.core.functions import prime_order

    wrt = data.draw(st.sampled_from(graph.parameters))
    closed_form = sbp.gradient(graph, wrt)
    primes = sorted((a for a in closed_form.atoms(AppliedUndef) if prime_order(a.func) == 1), key=str)
    if not primes:
        return
    chosen = data.draw(st.sampled_from(primes))
    swapped = closed_form.xreplace({chosen: sp.Function("f")(*chosen.args)})
    verdict = sbp.verify(graph, wrt, swapped)
    assert not verdict.correct and verdict.counterexample.functions["f"].startswith(("tanh(", "softplus(", "atan("))
