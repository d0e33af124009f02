"""The matrix view of dense networks against the scalar view and PyTorch.

References: the scalar backward pass (``gradient`` closed forms, ``compile_scalar``), SymPy's own
``diff`` of the expanded loss, and a PyTorch network built from the parameter names alone
(``w{l}_{i}_{j}`` → ``W^(l)[j, i]``), differentiated by autograd.
"""

from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import symbackprop as sbp
from symbackprop.numeric.compile import compile_scalar
from symbackprop.numeric.compile_layers import compile_dense
from symbackprop.core.errors import NotDenseError
from symbackprop.core.layers import dense_structure, derive_layers, recognise
from torch_layers import flat_gradient, layer_tensors, logits, per_sample_loss
from torch_reference import relative_error

ACTIVATIONS = {"tanh": sbp.tanh, "sigmoid": sbp.sigmoid, "relu": sbp.relu, "softplus": sbp.softplus,
               "identity": sbp.identity}
LOSSES = ["squared_error", "binary_cross_entropy", "softmax_cross_entropy"]


def torch_mlp(params, names, sizes, activation, loss, X, Y, output_activation="identity"):
    """Loss (batch mean) and its autograd gradient over the flat vector, for an ``mlp`` network."""
    W, b = layer_tensors(params, names, sizes)
    value = per_sample_loss(logits(W, b, X, activation, output_activation), Y, loss).mean()
    value.backward()
    return value.item(), flat_gradient(W, b, names)


def batch(sizes, loss, rows=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, sizes[0]))
    k = sizes[-1]
    Y = np.eye(k)[rng.integers(0, k, rows)] if loss == "softmax_cross_entropy" else rng.uniform(size=(rows, k))
    return X, Y


networks = st.tuples(
    st.lists(st.integers(1, 5), min_size=1, max_size=3),
    st.sampled_from(sorted(ACTIVATIONS)),
    st.sampled_from(LOSSES),
    st.booleans(),
    st.integers(0, 2**31 - 1),
    st.sampled_from(sorted(ACTIVATIONS)),  # the output layer's, for squared error
)


@settings(max_examples=25, deadline=None)
@given(networks)
def test_layer_gradient_equals_scalar_view_and_torch(case):
    widths, activation, loss, bias, seed, output = case
    sizes = tuple(widths) + ((max(2, widths[-1]),) if loss == "softmax_cross_entropy" else ())
    if len(sizes) < 2:
        sizes = sizes + (2,)
    output = output if loss == "squared_error" else "identity"
    graph = sbp.mlp(sizes, activation=ACTIVATIONS[activation], loss=loss, bias=bias,
                    output_activation=ACTIVATIONS[output])
    layered, scalar = compile_dense(graph), compile_scalar(graph)
    params = layered.init_params(seed=seed) * 3  # large enough to leave the linear regime
    X, Y = batch(sizes, loss, seed=seed)
    value, grad = layered.loss_and_gradient(params, X, Y)
    scalar_value, scalar_grad = scalar.loss_and_gradient(params, X, Y)
    torch_value, torch_grad = torch_mlp(params, [p.name for p in graph.parameters], sizes, activation, loss, X, Y,
                                        output)
    assert value == pytest.approx(scalar_value, rel=1e-12) and value == pytest.approx(torch_value, rel=1e-12)
    assert relative_error(grad, scalar_grad) < 1e-12
    assert relative_error(grad, torch_grad) < 1e-12
    assert np.allclose(layered.forward(params, X), scalar.forward(params, X), rtol=1e-12, atol=1e-15)
    assert layered.loss(params, X, Y) == pytest.approx(value, rel=1e-14)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "softplus", "f"])
@pytest.mark.parametrize("loss", LOSSES)
def test_each_entry_is_the_scalar_path_sum(activation, loss):
    f = ACTIVATIONS.get(activation) or sp.Function("f")
    graph = sbp.mlp((3, 2, 2), activation=f, loss=loss)
    derivation = derive_layers(graph)
    for p in graph.parameters:
        assert sp.expand(derivation.entry(p) - sbp.gradient(graph, p)) == 0, p


def test_entries_match_sympy_diff_of_the_expanded_loss():
    graph = sbp.mlp((2, 2, 2), activation=sbp.sigmoid, loss="softmax_cross_entropy")
    derivation = derive_layers(graph)
    expanded_loss = graph.expand(graph.output).rewrite(sp.exp)
    point = {s: sp.Rational(k + 2, 7) * (-1) ** k for k, s in enumerate(graph.leaves)}
    for p in graph.parameters:
        ours = graph.expand(derivation.entry(p)).rewrite(sp.exp).subs(point)
        reference = sp.diff(expanded_loss, p).subs(point)
        assert abs(sp.N(ours - reference, 30)) < 1e-25, p


def test_text_is_the_lecture_recursion():
    text = derive_layers(sbp.mlp((64, 32, 10), loss="softmax_cross_entropy")).text()
    assert text.splitlines() == [
        "δ^(2) = softmax(u^(2)) - y", "∂L/∂W^(2) = δ^(2) a^(1)ᵀ", "∂L/∂b^(2) = δ^(2)",
        "δ^(1) = (W^(2))ᵀ δ^(2) ⊙ tanh'(u^(1))", "∂L/∂W^(1) = δ^(1) xᵀ", "∂L/∂b^(1) = δ^(1)"]
    three = derive_layers(sbp.mlp((2, 3, 3, 1), activation=sbp.relu, output_activation=sbp.sigmoid,
                                  loss="squared_error", bias=False)).text(forward=True)
    assert "a^(3) = σ(u^(3))" in three and "δ^(3) = (a^(3) - y) ⊙ σ'(u^(3))" in three
    assert "δ^(2) = (W^(3))ᵀ δ^(3) ⊙ ReLU'(u^(2))" in three and "b^(" not in three


def test_latex_is_an_align_block():
    latex = sbp.latex(derive_layers(sbp.mlp((4, 3, 2), loss="binary_cross_entropy")))
    assert latex.startswith("\\begin{align*}") and latex.endswith("\\end{align*}")
    assert r"\delta^{(1)} &= \left(W^{(2)}\right)^{\top} \delta^{(2)} \odot \tanh'\left(u^{(1)}\right)" in latex
    assert r"\frac{\partial L}{\partial W^{(1)}} &= \delta^{(1)} {x}^{\top}" in latex
    assert latex.count("{") == latex.count("}")


def test_a_hand_written_dense_graph_is_recognised_under_other_names():
    x1, x2, h1, h2, g1, g2, o, t = sp.symbols("x1 x2 h1 h2 g1 g2 o t")
    p = sp.symbols("p0:9")
    graph = sbp.Graph({h1: p[0] * x1 + p[1] * x2 + p[2], h2: x1 * p[3] + p[4] * x2 + p[5],
                       g1: sbp.tanh(h1), g2: sbp.tanh(h2), o: p[6] * g1 + p[7] * g2 + p[8],
                       sp.Symbol("L"): (o - t) ** 2 / 2},
                      inputs=[x1, x2], targets=[t], predictions=[o])
    structure = recognise(graph)
    assert structure.sizes == (2, 2, 1) and structure.loss == "squared_error"
    X, Y = batch((2, 2, 1), "squared_error")
    params = np.linspace(-1, 1, 9)
    model = sbp.compile(graph)
    assert "layer equations" in model.source()
    assert relative_error(model.loss_and_gradient(params, X, Y)[1],
                          compile_scalar(graph).loss_and_gradient(params, X, Y)[1]) < 1e-12


def test_any_parameter_order_works_through_index_arrays():
    graph = sbp.mlp((3, 4, 2), activation=sbp.relu, loss="softmax_cross_entropy")
    order = list(graph.parameters)
    np.random.default_rng(3).shuffle(order)
    shuffled = sbp.Graph(graph.definitions, inputs=graph.inputs, targets=graph.targets, parameters=order,
                         output=graph.output, predictions=graph.predictions)
    model = compile_dense(shuffled)
    assert "index_" in model.source()
    params = np.random.default_rng(4).normal(size=len(order))
    X, Y = batch((3, 4, 2), "softmax_cross_entropy")
    assert relative_error(model.loss_and_gradient(params, X, Y)[1],
                          compile_scalar(shuffled).loss_and_gradient(params, X, Y)[1]) < 1e-12


@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "binary_cross_entropy"])
def test_logits_of_a_thousand_stay_finite_like_pytorch(loss):
    sizes = (2, 3)
    graph = sbp.mlp(sizes, loss=loss)
    model = sbp.compile(graph)
    params = np.array([500.0 if p.name.startswith("w") else 0.0 for p in graph.parameters])
    params[0] = -500.0
    X = np.array([[1.0, 1.0], [-1.0, -1.0], [2.0, -1.0]])  # logits of ±1000 and more
    Y = batch(sizes, loss, rows=3)[1]
    value, grad = model.loss_and_gradient(params, X, Y)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    torch_value, torch_grad = torch_mlp(params, [p.name for p in graph.parameters], sizes, "identity", loss, X, Y)
    assert value == pytest.approx(torch_value, rel=1e-12)
    assert relative_error(grad, torch_grad) < 1e-12
    assert np.all(np.isfinite(model.forward(params, X)))


def test_float32_is_float32_throughout():
    graph = sbp.mlp((4, 5, 3), loss="softmax_cross_entropy")
    single, double = sbp.compile(graph, dtype=np.float32), sbp.compile(graph)
    params = double.init_params(seed=1)
    X, Y = batch((4, 5, 3), "softmax_cross_entropy")
    value, grad = single.loss_and_gradient(params, X, Y)
    assert grad.dtype == np.float32 and single.forward(params, X).dtype == np.float32
    assert np.allclose(grad, double.loss_and_gradient(params, X, Y)[1], rtol=1e-4, atol=1e-6)


def test_training_and_optimizers_run_unchanged_on_the_layer_model():
    graph = sbp.mlp((2, 8, 2), loss="softmax_cross_entropy")
    model = sbp.compile(graph)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    labels = (X[:, 0] * X[:, 1] > 0).astype(int)
    result = sbp.train(model, X, np.eye(2)[labels], optimizer=sbp.optim.Adam(lr=0.05), batch_size=32,
                       epochs=60, init="random", seed=0, progress=False)
    accuracy = np.mean(model.forward(result.params, X).argmax(axis=1) == labels)
    assert result.history.train_loss[-1] < 0.5 * result.history.train_loss[0] and accuracy > 0.9


@pytest.mark.parametrize("graph, reason", [
    (sbp.Graph({sp.Symbol("h"): sbp.tanh(sp.Symbol("w") * sp.Symbol("x")) ** 2,
                sp.Symbol("L"): (sp.Symbol("v") * sp.Symbol("h") - sp.Symbol("y")) ** 2 / 2},
               inputs=["x"], targets=["y"], predictions=["h"]), "not Σ w·a \\+ b"),
    (sbp.mlp((2, 2, 1)), "no targets, so no loss"),
    (sbp.Graph({sp.Symbol("u"): sp.Symbol("w") * sp.Symbol("x"),
                sp.Symbol("L"): sp.Abs(sp.Symbol("u") - sp.Symbol("y"))}, inputs=["x"], targets=["y"]),
     "not squared error, binary or softmax"),
    (sbp.Graph({sp.Symbol("L"): (sp.Symbol("w") * sp.Symbol("x") - sp.Symbol("y")) ** 2},
               inputs=["x"], targets=["y"]), "uses the inputs directly"),
])
def test_other_graphs_have_no_layer_view_and_say_why(graph, reason):
    assert dense_structure(graph) is None
    with pytest.raises(NotDenseError, match=reason):
        derive_layers(graph)


def test_shared_weights_and_skip_connections_are_not_dense():
    x1, x2, u1, u2, a, w, v, y, L = sp.symbols("x1 x2 u1 u2 a w v y L")
    shared = sbp.Graph({u1: w * x1 + v * x2, u2: w * x1 + v * x2 + a * 0 + x1 * sp.Symbol("c"),
                        L: (u1 - y) ** 2 / 2 + (u2 - y) ** 2 / 2}, inputs=[x1, x2], targets=[y])
    with pytest.raises(NotDenseError):
        recognise(shared)
    c, d = sp.symbols("c d")
    skip = sbp.Graph({u1: w * x1 + v * x2, a: sbp.tanh(u1), u2: c * a + d * x1, L: (u2 - y) ** 2 / 2},
                     inputs=[x1, x2], targets=[y], predictions=[u2])
    with pytest.raises(NotDenseError, match="not Σ w·a"):
        recognise(skip)
    model = sbp.compile(skip)  # the scalar path still compiles it
    assert "layer equations" not in model.source()


def test_init_params_draws_what_the_scalar_model_draws():
    for graph in (sbp.mlp((3, 4, 2, 2), loss="softmax_cross_entropy"), sbp.mlp((2, 3, 1), loss="squared_error", bias=False)):
        layered, scalar = compile_dense(graph), compile_scalar(graph)
        assert np.array_equal(layered.init_params(seed=5), scalar.init_params(seed=5))
        assert not layered.init_params().any()


def test_entry_chain_names_the_matrix_entry_and_ends_in_the_scalar_gradient():
    graph = sbp.mlp((4, 3, 2), activation=sbp.relu, loss="softmax_cross_entropy")
    derivation = derive_layers(graph)
    text = derivation.entry_text("w1_4_3")  # from unit 4 of the inputs to unit 3: W^(1)[3, 4]
    assert text.startswith("∂L/∂w1_4_3 = [∂L/∂W^(1)]_(3,4) = [δ^(1) xᵀ]_(3,4) = ")
    assert text.endswith(sbp.text(sbp.gradient(graph, "w1_4_3")))
    latex = derivation.entry_latex("b2_1")
    assert latex.startswith(r"\frac{\partial L}{\partial b^{(2)}_{1}} = \left[\frac{\partial L}{\partial b^{(2)}}\right]_{1,1}")


@pytest.mark.parametrize("graph", [sbp.lecture_network(loss="squared_error"),
                                   sbp.load(Path(__file__).parent.parent / "examples" / "xor.sbp")],
                         ids=["lecture", "xor"])
def test_units_written_as_f_of_a_sum_have_the_matrix_view_too(graph):
    derivation = derive_layers(graph)
    assert recognise(graph).fused and "δ^(1) = (W^(2))ᵀ δ^(2) ⊙ f'(u^(1))" in derivation.text()
    for p in graph.parameters:
        assert sp.expand(derivation.entry(p) - sbp.gradient(graph, p)) == 0, p
    model = sbp.compile(graph, functions={"f": "tanh"})  # keeps the scalar code with its node names
    assert "layer equations" not in model.source()
