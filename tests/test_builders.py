"""Builders and the activation/loss library, checked against SymPy's own derivatives."""

import pytest
import sympy as sp

import symbackprop as sbp
from random_graphs import elementary, numerically_equal, random_point, reference_gradient

u = sp.Symbol("u")


@pytest.mark.parametrize("func, reference", [
    (sbp.sigmoid, 1 / (1 + sp.exp(-u))),
    (sbp.softplus, sp.log(1 + sp.exp(u))),
    (sbp.relu, sp.Max(u, 0)),
    (sp.tanh, sp.tanh(u)),
])
def test_activation_derivatives_agree_with_sympy(func, reference):
    ours = sbp.local_partials(func(u), [u])[u]
    for value in (-1.3, -0.2, 0.4, 2.0):
        assert numerically_equal(elementary(ours), sp.diff(reference, u), {u: value})


def test_relu_derivative_is_zero_at_zero_as_in_pytorch():
    assert sbp.local_partials(sbp.relu(u), [u])[u].subs(u, 0) == 0


def test_logsumexp_gradient_is_softmax():
    a, b, c = sp.symbols("a b c")
    grads = sbp.local_partials(sbp.logsumexp(a, b, c), [a, b, c])
    point = {a: 0.3, b: -1.1, c: 2.0}
    reference = sp.log(sp.exp(a) + sp.exp(b) + sp.exp(c))
    for s in (a, b, c):
        assert numerically_equal(elementary(grads[s]), sp.diff(reference, s), point)


def test_mlp_names_and_counts():
    g = sbp.mlp((3, 4, 2), loss="softmax_cross_entropy")
    assert len(g.parameters) == 3 * 4 + 4 + 4 * 2 + 2
    assert g.inputs == sp.symbols("x1:4")
    assert g.targets == sp.symbols("y1:3")
    assert sp.Symbol("w1_3_4") in g.parameters and sp.Symbol("b2_2") in g.parameters
    assert g.output == sp.Symbol("L")
    assert g.predictions == sp.symbols("a2_1 a2_2")
    assert sbp.latex(sp.Symbol("w1_3_4")) == "w^{(1)}_{34}" and sbp.latex(sp.Symbol("w1_12_3")) == "w^{(1)}_{12,3}"


def test_mlp_without_bias_or_loss():
    g = sbp.mlp((2, 2, 1), bias=False)
    assert len(g.parameters) == 6 and g.output == sp.Symbol("a2_1") and not g.targets


@pytest.mark.parametrize("loss, activation", [
    ("squared_error", sp.tanh), ("binary_cross_entropy", sbp.sigmoid),
    ("softmax_cross_entropy", sbp.relu), ("squared_error", sbp.softplus),
])
def test_mlp_loss_gradients_equal_sympy_diff(loss, activation):
    outputs = 3 if loss == "softmax_cross_entropy" else 1
    g = sbp.mlp((2, 2, outputs), activation=activation, loss=loss)
    point = random_point(g, 11)
    for p, grad in sbp.gradients(g, expand=True).items():
        assert numerically_equal(elementary(grad), reference_gradient(g, p), point), p


def test_cross_entropy_losses_are_the_textbook_ones():
    bce = sbp.mlp((1, 1), loss="binary_cross_entropy", bias=False)
    uu, y = sp.Symbol("w1_1_1") * sp.Symbol("x1"), sp.Symbol("y")
    textbook = -(y * sp.log(1 / (1 + sp.exp(-uu))) + (1 - y) * sp.log(1 - 1 / (1 + sp.exp(-uu))))
    point = {sp.Symbol("w1_1_1"): 0.7, sp.Symbol("x1"): -1.4, y: 1}
    assert numerically_equal(elementary(bce.expand(bce.output)), textbook, point)
    # the gradient with respect to the logit reads σ(u) − y, written with the prediction node
    assert sbp.backprop(bce).adjoint(sp.Symbol("u1_1")) == sp.Symbol("a1_1") - y


def test_softmax_adjoint_reads_prediction_minus_target():
    g = sbp.mlp((2, 3), loss="softmax_cross_entropy")
    assert sbp.backprop(g).adjoint(sp.Symbol("u1_2")) == sp.Symbol("a1_2") - sp.Symbol("y2")


def test_tanh_layers_reuse_their_outputs():
    g = sbp.mlp((1, 1, 1), loss="squared_error")
    assert sbp.backprop(g).partials[(sp.Symbol("u1_1"), sp.Symbol("a1_1"))] == 1 - sp.Symbol("a1_1") ** 2


@pytest.mark.parametrize("sizes", [(3,), (2, 0, 1), (2, 1.5)])
def test_bad_sizes(sizes):
    with pytest.raises(sbp.GraphError, match="sizes must be"):
        sbp.mlp(sizes)


def test_bad_loss():
    with pytest.raises(sbp.GraphError, match="unknown loss 'hinge'"):
        sbp.mlp((2, 1), loss="hinge")
    with pytest.raises(sbp.GraphError, match="at least two outputs"):
        sbp.mlp((2, 1), loss="softmax_cross_entropy")


def test_lecture_network_with_loss():
    g = sbp.lecture_network(loss="squared_error")
    assert g.output == sp.Symbol("L") and g.targets == (sp.Symbol("y"),) and g.predictions == (sp.Symbol("a"),)
    assert sbp.gradient(g, "s1") == sp.Symbol("m1") * (sp.Symbol("a") - sp.Symbol("y"))
