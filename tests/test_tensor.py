"""Tensor graphs, one family of operations at a time, against independent references:
``torch.autograd`` on the forward definitions (gradients to 1e-10 in float64, float32 to its
own tolerance) and the scalar view's path sums (each entry of ``∂L/∂W`` equals
``gradient(scalar_graph, w)`` symbolically)."""

from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
import torch_tensor
from torch_reference import relative_error

T = sbp.tensor


def t(name, shape=None):
    return T.Tensor(name, shape)


def dense(activation=T.tanh):
    x, y, W, b, V, c = t("x", 3), t("y", 2), t("W", (4, 3)), t("b", 4), t("V", (2, 4)), t("c", 2)
    u, h, o, L = t("u"), t("h"), t("o"), t("L")
    return T.Graph({u: W @ x + b, h: activation(u), o: V @ h + c, L: T.squared_error(o, y)},
                   inputs=[x], targets=[y], predictions=[o])


def skip_and_gate():
    x, y = t("x", 3), t("y", 2)
    W1, W2, G, V = t("W1", (3, 3)), t("W2", (3, 3)), t("G", (3, 3)), t("V", (2, 3))
    h1, h2, g, L = t("h1"), t("h2"), t("g"), t("L")
    return T.Graph({h1: T.tanh(W1 @ x + t("b1", 3)), h2: T.tanh(W2 @ h1) + h1,   # a skip connection
                    g: T.sigmoid(G @ x) * h2,                                     # a Hadamard gate
                    L: T.squared_error(V @ g, y)}, inputs=[x], targets=[y], predictions=[g])


def tied_autoencoder():
    x, y, W, b, c = t("x", 4), t("y", 4), t("W", (2, 4)), t("b", 2), t("c", 4)
    h, o, L = t("h"), t("o"), t("L")
    return T.Graph({h: T.sigmoid(W @ x + b), o: W.T @ h + c, L: T.squared_error(o, y)},
                   inputs=[x], targets=[y], predictions=[o])


def outer_dot_transpose():
    x, y, W, a = t("x", 3), t("y", ()), t("W", (2, 3)), t("a", 3)
    M, r, L = t("M"), t("r"), t("L")
    return T.Graph({M: T.outer(T.tanh(W @ x), x),             # a 2×3 matrix per sample
                    r: T.dot(a, T.tanh(M.T @ (W @ x))),        # Mᵀ (W x): 3
                    L: T.squared_error(r, y)}, inputs=[x], targets=[y], predictions=[r])


def reshape_flatten_concat():
    x, y, W1, W2, V = t("x", 3), t("y", 2), t("W1", (2, 3)), t("W2", (4, 3)), t("V", (2, 6))
    z, R, o, L = t("z"), t("R"), t("o"), t("L")
    return T.Graph({z: T.concat(T.tanh(W1 @ x), T.relu(W2 @ x)),
                    R: T.reshape(z, (2, 3)), o: V @ T.flatten(T.sigmoid(R).T),
                    L: T.squared_error(o, y)}, inputs=[x], targets=[y], predictions=[o])


def sums_and_means():
    x, y, W, V = t("x", 3), t("y", 3), t("W", (3, 3)), t("V", (2, 3))
    M, s, L = t("M"), t("s"), t("L")
    return T.Graph({M: T.outer(T.tanh(W @ x), x), s: T.sum(M, axes=1) + T.mean(M, axes=0),
                    L: T.squared_error(s, y) + T.mean(T.tanh(V @ x)) + T.sum(M)},
                   inputs=[x], targets=[y], predictions=[s])


def softmax_layer():
    x, y, W, b = t("x", 3), t("y", 4), t("W", (4, 3)), t("b", 4)
    p, L = t("p"), t("L")
    return T.Graph({p: T.softmax(W @ x + b), L: T.squared_error(p, y)}, inputs=[x], targets=[y], predictions=[p])


def losses(kind):
    x, y, W, b = t("x", 3), t("y", 3), t("W", (3, 3)), t("b", 3)
    z, L = t("z"), t("L")
    loss = {"bce": T.binary_cross_entropy, "sce": T.softmax_cross_entropy}[kind]
    return T.Graph({z: W @ T.tanh(x) + b, L: loss(z, y)}, inputs=[x], targets=[y], predictions=[z])


def l2_penalty(weight=sp.Rational(1, 10)):
    x, y, W, V = t("x", 3), t("y", 3), t("W", (4, 3)), t("V", (3, 4))
    h, z, L = t("h"), t("z"), t("L")
    return T.Graph({h: T.tanh(W @ x), z: V @ h,
                    L: T.softmax_cross_entropy(z, y) + weight * (T.squared_norm(W) + T.squared_norm(V))},
                   inputs=[x], targets=[y], predictions=[z], metadata={"values": {"λ": 0.1}})


def conv2d(stride=1, padding=1, pool=T.max_pool2d, size=(2, 5, 5), kernels=3):
    x, y, K, b = t("x", size), t("y", 3), t("K", (kernels, size[0], 3, 3)), t("b", kernels)
    u, h, p, z, L = t("u"), t("h"), t("p"), t("z"), t("L")
    conv = T.conv2d(x, K, stride=stride, padding=padding)
    out = (size[1] + 2 * padding - 3) // stride + 1
    pooled = (out - 2) // 2 + 1
    V = t("V", (3, kernels * pooled * pooled))
    return T.Graph({u: conv + b, h: T.relu(u), p: pool(h), z: V @ T.flatten(p), L: T.softmax_cross_entropy(z, y)},
                   inputs=[x], targets=[y], predictions=[z])


def conv1d():
    x, y, K, V = t("x", (2, 9)), t("y", 2), t("K", (3, 2, 3)), t("V", (2, 6))
    u, p, L = t("u"), t("p"), t("L")
    return T.Graph({u: T.tanh(T.conv1d(x, K, stride=2, padding=1) + t("b", 3)), p: T.avg_pool1d(u, 2),
                    L: T.squared_error(V @ T.flatten(p), y)}, inputs=[x], targets=[y], predictions=[p])


def overlapping_pools():
    x, y, V = t("x", (2, 4, 4)), t("y", 2), t("V", (2, 2))
    a, m, L = t("a"), t("m"), t("L")
    return T.Graph({a: T.avg_pool2d(T.tanh(t("S", (2, 4, 4)) * x), 2, stride=1),
                    m: T.max_pool2d(a, 2, stride=2), L: T.squared_error(V @ T.flatten(m), y)},
                   inputs=[x], targets=[y], predictions=[m])


CASES = {
    "dense-tanh": dense, "dense-relu": lambda: dense(T.relu), "dense-softplus": lambda: dense(T.softplus),
    "skip-and-gate": skip_and_gate, "tied-autoencoder": tied_autoencoder, "outer-dot-transpose": outer_dot_transpose,
    "reshape-flatten-concat": reshape_flatten_concat, "sums-and-means": sums_and_means, "softmax": softmax_layer,
    "binary-cross-entropy": lambda: losses("bce"), "softmax-cross-entropy": lambda: losses("sce"),
    "l2-penalty": l2_penalty, "l2-penalty-symbol": lambda: l2_penalty(sp.Symbol("λ")),
    "conv2d-maxpool": conv2d, "conv2d-stride2-avgpool": lambda: conv2d(stride=2, padding=1, pool=T.avg_pool2d, size=(1, 6, 6)),
    "conv1d-avgpool": conv1d, "overlapping-pools": overlapping_pools,
}


def data(graph, rows=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, sum(int(np.prod(x.shape)) for x in graph.inputs)))
    width = sum(int(np.prod(y.shape)) for y in graph.targets)
    kind = graph.definitions[graph.output]
    if "softmax_cross_entropy" in str(kind.op.name if hasattr(kind, "op") else "") or "LSE" in str(kind):
        Y = np.eye(width)[rng.integers(0, width, rows)]
    else:
        Y = rng.uniform(size=(rows, width))
    return X, Y


def assert_matches_torch(model, graph) -> None:
    """The model's loss, gradient and predictions against torch's, in float64."""
    params = model.init_params(seed=1) * 2
    X, Y = data(graph)
    value, grad = model.loss_and_gradient(params, X, Y)
    reference_value, reference_grad = torch_tensor.loss_and_gradient(model.tensor, params, X, Y)
    assert value == pytest.approx(reference_value, rel=1e-12)
    assert relative_error(grad, reference_grad) < 1e-10
    assert np.allclose(model.forward(params, X), torch_tensor.predictions(model.tensor, params, X), rtol=1e-12, atol=1e-14)
    assert model.loss(params, X, Y) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_gradient_matches_torch_autograd_in_float64(case):
    graph = CASES[case]()
    assert_matches_torch(sbp.compile(graph), graph)


@pytest.mark.parametrize("case", CASES)
def test_float32_stays_float32_and_agrees_to_its_precision(case):
    graph = CASES[case]()
    model = sbp.compile(graph, dtype=np.float32)
    params = model.init_params(seed=2) * 2
    X, Y = data(graph, seed=3)
    value, grad = model.loss_and_gradient(params, X, Y)
    assert grad.dtype == np.float32 and model.forward(params, X).dtype == np.float32
    _, reference = torch_tensor.loss_and_gradient(model.tensor, params.astype(np.float64), X, Y)
    assert np.allclose(grad, reference, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("case", CASES)
def test_each_gradient_entry_is_the_scalar_path_sum(case):
    graph = CASES[case]()
    derivation = T.derive(graph)
    scalar = T.scalar_graph(graph)
    rng = np.random.default_rng(0)
    chosen = rng.choice(len(scalar.parameters), size=min(12, len(scalar.parameters)), replace=False)
    for k in sorted(chosen):
        p = scalar.parameters[k]
        assert sp.expand(derivation.entry(p) - sbp.gradient(scalar, p)) == 0, p


def test_the_textbook_equations_of_a_dense_network():
    text = T.derive(sbp.mlp((64, 32, 10), loss="softmax_cross_entropy")).text().splitlines()
    assert text == ["δ^(2) = softmax(u^(2)) - y", "∂L/∂W^(2) = δ^(2) a^(1)ᵀ", "∂L/∂b^(2) = δ^(2)",
                    "δ^(1) = (W^(2))ᵀ δ^(2) ⊙ tanh'(u^(1))", "∂L/∂W^(1) = δ^(1) xᵀ", "∂L/∂b^(1) = δ^(1)"]


def test_a_tied_weight_gets_the_sum_of_its_two_contributions():
    text = T.derive(tied_autoencoder()).text()
    assert "∂L/∂W = (δ_h ⊙ σ'(W x + b)) xᵀ + h δ_oᵀ" in text  # the encoder's use, then the decoder's
    assert "δ_o = o - y" in text


def test_the_convolution_rules_print_as_the_cnn_backward_pass():
    lines = T.derive(conv2d()).text().splitlines()
    assert "∂L/∂K = x ⋆_(p=1) δ_u" in lines and "∂L/∂b = Σ_2,3 δ_u" in lines
    assert any(line.startswith("δ_u = route_2×2(") and "argmax h" in line for line in lines)
    stride = T.derive(T.Graph({t("u"): T.tanh(T.conv2d(t("x", (1, 5, 5)), t("K", (2, 1, 3, 3)))),
                               t("v"): T.conv2d(t("u"), t("Q", (1, 2, 3, 3))),
                               t("L"): T.squared_norm(t("v"))}, inputs=[t("x", (1, 5, 5))])).text()
    assert "rot180(Q)" in stride and "δ_v ∗ rot180(Q)" in stride


def test_the_l2_penalty_contributes_two_lambda_w():
    text = T.derive(l2_penalty(sp.Symbol("λ"))).text()
    assert "∂L/∂W = " in text and "2·λ W" in text


def test_latex_and_mathml_of_the_same_equations():
    derivation = T.derive(conv2d())
    latex = derivation.latex(forward=True)
    assert latex.startswith("\\begin{align*}") and r"\star_{p=1}" in latex and latex.count("{") == latex.count("}")
    mathml = derivation.mathml()
    assert mathml.startswith('<math display="block">') and "<msub><mo>&#8902;</mo><mtext>p=1</mtext></msub>" in mathml  # ⋆
    assert "argmax" in mathml and "_" not in mathml.replace("</", "")


PRINTED = {**CASES, "two-convolutions": lambda: sbp.load(Path(__file__).resolve().parent.parent / "examples" / "tensor"
                                                          / "cnn.sbp").tensor,
           "attention-2-heads": lambda: T.attention_graph(3, 4, heads=2), "lstm": lambda: T.lstm(2, (1, 2, 1)),
           "gru": lambda: T.gru(2, (1, 2, 1)), "layer-norm-block": lambda: T.transformer_block(3, 4, 4)}


@pytest.mark.parametrize("case", PRINTED)
def test_every_derivation_prints_in_text_latex_and_mathml(case):
    """Every rule's notation, at the attributes these graphs give it (padding, stride, heads'
    slices, pooling windows): a LaTeX template is a format string, where a stray brace once
    raised instead of printing."""
    derivation = T.derive(PRINTED[case]())
    text, latex, mathml = derivation.text(forward=True), derivation.latex(forward=True), derivation.mathml()
    assert text.count("\n") >= len(derivation.equations)
    assert latex.startswith("\\begin{align*}") and latex.count("{") == latex.count("}")
    assert mathml.startswith('<math display="block">')


def test_shape_errors_name_the_definition():
    x, W, h = t("x", 3), t("W", (2, 4)), t("h")
    with pytest.raises(T.ShapeError, match=r"in the definition of h: cannot multiply 2×4 by 3"):
        T.Graph({h: W @ x}, inputs=[x])
    with pytest.raises(T.ShapeError, match="W has no shape"):
        T.Graph({h: t("W") @ x}, inputs=[x])
    with pytest.raises(sbp.GraphError, match="not a scalar: a backward pass starts from a loss"):
        T.derive(T.Graph({h: W @ t("x", 4)}, inputs=[t("x", 4)]))


# -- random tensor graphs ------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from tensor_graphs import tensor_graphs  # noqa: E402


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=tensor_graphs())
def test_random_tensor_graphs_match_torch_and_their_path_sums(graph):
    model = sbp.compile(graph)
    params = model.init_params(seed=4) * 2
    X, Y = data(graph, rows=5, seed=5)
    if "cross_entropy" in graph.definitions[graph.output].op.name or "LSE" in str(graph.definitions[graph.output]):
        Y = np.eye(Y.shape[1])[np.random.default_rng(5).integers(0, Y.shape[1], len(Y))]
    value, grad = model.loss_and_gradient(params, X, Y)
    reference_value, reference_grad = torch_tensor.loss_and_gradient(model.tensor, params, X, Y)
    assert value == pytest.approx(reference_value, rel=1e-11)
    assert relative_error(grad, reference_grad) < 1e-10
    # entry = path sum at a random point of the leaves, every node at its forward value (as
    # functions of the leaves; comparing expanded expressions takes minutes on softmax chains)
    derivation, scalar = T.derive(graph), T.scalar_graph(graph)
    rng = np.random.default_rng(6)
    point = {leaf: sp.Float(rng.uniform(-0.9, 0.9), 30) for leaf in scalar.leaves}
    for node, expr in scalar.definitions.items():
        point[node] = sp.N(expr.xreplace(point), 30)
    for p in (scalar.parameters[0], scalar.parameters[-1]):
        if sbp.count_paths(scalar, p) > 10_000:  # writing out such an entry takes minutes; torch checked it above
            continue
        entry, path_sum = (sp.N(e.xreplace(point), 30) for e in (derivation.entry(p), sbp.gradient(scalar, p)))
        assert abs(float(entry - path_sum)) < 1e-20 * (1 + abs(float(path_sum))), p


def test_the_zero_start_check_of_a_large_model_finds_the_symbolic_groups_from_numbers():
    from symbackprop.numeric.train import equal_units, symmetric_units
    for graph in (sbp.mlp((3, 4, 4, 2), loss="softmax_cross_entropy"), sbp.load(Path(__file__).parent.parent / "examples" / "tensor" / "autoencoder.sbp")):
        model = sbp.compile(graph)
        assert set(equal_units(model)) == set(symmetric_units(graph))
    assert equal_units(sbp.compile(sbp.mlp((3, 4, 2), loss="squared_error")))  # 4 hidden units alike


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=tensor_graphs())
def test_random_tensor_graphs_print_in_latex_and_mathml(graph):
    """Random stacks of the operations (convolutions, pools, gates, skips, tied weights,
    concatenations, softmax, penalties) print forward and backward in LaTeX and MathML."""
    derivation = T.derive(graph)
    latex = derivation.latex(forward=True)
    assert latex.count("{") == latex.count("}")  # and MathML, converted from it, refuses a double subscript
    assert derivation.mathml().startswith('<math display="block">')


def test_a_sum_too_wide_for_a_line_breaks_in_latex_and_mathml_alike():
    x = t("x", 3)
    weights = [t(f"W_{k}", (2, 3)) for k in range(1, 9)]
    h, L = t("h", 2), t("L")
    total = weights[0] @ x
    for W in weights[1:]:
        total = total + T.tanh(W @ x)
    graph = T.Graph({h: total, L: T.squared_norm(h)}, inputs=[x])
    latex = T.derive(graph).latex(forward=True)
    continued = [line for line in latex.splitlines() if line.startswith(r"&\quad + ")]
    assert len(continued) == 7 and latex.splitlines()[1] == r"h &= W_{1} x \\"
    mathml = T.derive(graph).mathml(forward=True)
    assert mathml.count('<mspace width="1em"></mspace><mo>+</mo>') == 7
