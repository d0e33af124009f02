"""The lecture's worked example (NOTES.md §5), checked against the lecture's own formulas."""

from pathlib import Path

import pytest
import sympy as sp

import symbackprop as sbp
from random_graphs import CONCRETE_F, elementary, numerically_equal, random_point, reference_gradient

GOLDEN = Path(__file__).parent / "golden"
x1, x2, z1, z2, m1, m2, a = sp.symbols("x1 x2 z1 z2 m1 m2 a")
w11, w21, w12, w22, p11, p21, p12, p22, s1, s2 = sp.symbols("w11 w21 w12 w22 p11 p21 p12 p22 s1 s2")
f = sp.Function("f")
fp = sbp.prime(f)


@pytest.fixture(scope="module")
def g():
    return sbp.lecture_network()


def test_structure(g):
    assert g.nodes == (z1, z2, m1, m2, a)
    assert g.inputs == (x1, x2)
    assert set(g.parameters) == {w11, w21, w12, w22, p11, p21, p12, p22, s1, s2}
    assert g.output == a
    assert g.undefined_functions == (f,)
    assert sbp.mlp((2, 1)).undefined_functions == ()
    assert g.networkx().number_of_edges() == 4 + 4 + 4 + 4 + 4  # 2 inputs + 2 weights per z and m; a uses m1 m2 s1 s2


def test_w11_has_exactly_the_two_paths_of_the_lecture(g):
    d = sbp.derive(g, w11)
    assert [p.nodes for p in d.paths] == [(w11, z1, m1, a), (w11, z1, m2, a)]
    assert sbp.count_paths(g, w11) == 2


def test_w11_closed_form_is_the_lecture_formula(g):
    # ∂a/∂w11 = ∂a/∂m1·∂m1/∂z1·∂z1/∂w11 + ∂a/∂m2·∂m2/∂z1·∂z1/∂w11, each factor by hand
    dz1_dw11 = fp(w11 * x1 + w21 * x2) * x1
    lecture = s1 * fp(p11 * z1 + p21 * z2) * p11 * dz1_dw11 + s2 * fp(p12 * z1 + p22 * z2) * p12 * dz1_dw11
    d = sbp.derive(g, w11)
    assert sp.expand(d.closed_form - lecture) == 0
    assert sp.expand(sp.Add(*d.path_terms) - lecture) == 0


def test_simple_partials(g):
    assert sbp.gradient(g, s1) == m1
    assert sp.expand(sbp.gradient(g, p11) - s1 * fp(p11 * z1 + p21 * z2) * z1) == 0
    assert sbp.derive(g, p11).paths[0].nodes == (p11, m1, a)


def test_every_lecture_gradient_equals_sympy_diff(g):
    point = random_point(g, 3)
    for p, grad in sbp.gradients(g, expand=True).items():
        for concrete in CONCRETE_F:
            assert numerically_equal(elementary(grad, concrete), reference_gradient(g, p, concrete), point)


def test_text_matches_the_issue_verbatim(g):
    assert sbp.derive(g, w11).text() == (
        "∂a/∂w11 = ∂a/∂m1·∂m1/∂z1·∂z1/∂w11 + ∂a/∂m2·∂m2/∂z1·∂z1/∂w11\n"
        "        = s1·f'(p11·z1 + p21·z2)·p11·f'(w11·x1 + w21·x2)·x1"
        " + s2·f'(p12·z1 + p22·z2)·p12·f'(w11·x1 + w21·x2)·x1")


@pytest.mark.parametrize("name", ["w11", "p11", "s1"])
def test_golden_text_and_latex(g, name):
    d = sbp.derive(g, name)
    assert d.text() + "\n" == (GOLDEN / f"lecture_{name}.txt").read_text(encoding="utf-8")
    assert d.latex() + "\n" == (GOLDEN / f"lecture_{name}.tex").read_text(encoding="utf-8")


def test_output_is_deterministic_across_fresh_builds():
    texts = {sbp.derive(sbp.lecture_network(), "w21").latex() for _ in range(3)}
    assert len(texts) == 1


def test_no_sympy_internals_reach_the_user(g):
    for p in g.parameters:
        d = sbp.derive(g, p)
        for shown in (d.text(), d.latex(), str(d.expanded())):
            assert "Subs" not in shown and "_xi" not in shown and "Derivative" not in shown


def test_second_derivatives_print_with_two_primes():
    u = sp.Symbol("u")
    assert sbp.text(sp.Symbol("k") * sbp.prime(f, 2)(u)) == "f''(u)·k"
    assert sbp.latex(sbp.prime(fp)(u)) == r"f''\left(u\right)"
    assert sbp.primes_from_derivatives(sp.diff(f(u**2), u, 2)).has(sbp.prime(f, 2)(u**2))


def test_backward_pass_reuses_adjoints(g):
    bp = sbp.backprop(g)
    equations = dict((u, terms) for u, terms in bp.equations())
    assert [v for v, _ in equations[z1]] == [m1, m2]
    assert [v for v, _ in equations[w11]] == [z1]
    # δ_w11 is δ_z1 times the local partial: the adjoint of z1 is shared by w11 and w21
    assert sp.expand(bp.adjoint(w11) - bp.adjoint(z1) * bp.partials[(w11, z1)]) == 0
    assert sp.expand(bp.adjoint(w21) - bp.adjoint(z1) * bp.partials[(w21, z1)]) == 0


def test_a_direct_partial_has_its_own_notation():
    """With a skip connection the total ∂a/∂w and the direct arrow's partial differ: the direct
    one is written with what it holds fixed, (∂a/∂w)_z; powers print as z², never z**2."""
    x, w, b, z, a, v = sp.symbols("x w b z a v")
    d = sbp.derive(sbp.Graph({z: sp.tanh(w * x + b), a: v * z + w * x}, inputs=[x]), w)
    assert d.text() == "∂a/∂w = ∂a/∂z·∂z/∂w + (∂a/∂w)_z\n      = v·x·(1 - z²) + x"
    assert r"\left(\frac{\partial a}{\partial w}\right)_{z}" in d.latex()
    # the term of the direct path is the local partial, which SymPy's diff agrees with
    assert d.paths[-1].term == sp.diff(v * z + w * x, w)
