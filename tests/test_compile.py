"""The compiled model against independent references: torch.autograd, central finite
differences, SymPy's evaluation of the expanded graph; and its handling of bad input.

Dense networks go to the layer path through ``compile``; these tests call ``compile_scalar``
(the per-node code generated from the backward pass) directly, except where they test
``compile`` itself."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings, strategies as st

import symbackprop as sbp
from random_graphs import graphs
from symbackprop.numeric.compile import compile_scalar
from symbackprop.core.errors import CompileError, DataError
from torch_reference import relative_error, torch_loss_and_gradient

ACTIVATIONS = [sbp.tanh, sbp.sigmoid, sbp.relu, sbp.softplus]
LOSSES = ["squared_error", "binary_cross_entropy", "softmax_cross_entropy"]


def data(model, rows=9, seed=1, one_hot=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, len(model.inputs)))
    k = len(model.targets)
    Y = np.eye(k)[rng.integers(0, k, rows)] if one_hot else rng.uniform(size=(rows, k))
    return X, Y


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("loss", LOSSES)
def test_gradient_agrees_with_torch_autograd(activation, loss):
    model = compile_scalar(sbp.mlp((3, 4, 3), activation=activation, loss=loss))
    params = model.init_params(seed=0)
    X, Y = data(model, one_hot=loss == "softmax_cross_entropy")
    value, grad = model.loss_and_gradient(params, X, Y)
    reference_value, reference_grad = torch_loss_and_gradient(model.graph, params, X, Y)
    assert value == pytest.approx(reference_value, rel=1e-12)
    assert relative_error(grad, reference_grad) < 1e-12


def test_lecture_network_with_a_bound_activation_agrees_with_torch():
    model = sbp.compile(sbp.lecture_network(loss="squared_error"), functions={sp.Function("f"): sbp.tanh})
    params = model.init_params(seed=3)
    X, Y = data(model, rows=5)
    _, grad = model.loss_and_gradient(params, X, Y[:, 0])
    assert relative_error(grad, torch_loss_and_gradient(model.graph, params, X, Y)[1]) < 1e-12


def test_loss_and_forward_match_the_expanded_definitions():
    graph = sbp.mlp((2, 3, 2), activation=sbp.sigmoid, loss="squared_error")
    model = compile_scalar(graph)
    params = model.init_params(seed=4)
    X, Y = data(model, rows=4)
    point = dict(zip(graph.parameters, params))
    for row in range(len(X)):
        values = {**point, **dict(zip(graph.inputs, X[row])), **dict(zip(graph.targets, Y[row]))}
        expected = [float(graph.expand(p).evalf(subs=values)) for p in graph.predictions]
        assert model.forward(params, X)[row] == pytest.approx(expected, rel=1e-12)
    per_sample = [float(graph.expand(graph.output).evalf(subs={**point, **dict(zip(graph.inputs, x)),
                                                               **dict(zip(graph.targets, y))}))
                  for x, y in zip(X, Y)]
    assert model.loss(params, X, Y) == pytest.approx(np.mean(per_sample), rel=1e-12)


def central_differences(model, params, X, Y, h=1e-6):
    grad = np.empty_like(params)
    for i in range(len(params)):
        step = np.zeros_like(params)
        step[i] = h
        grad[i] = (model.loss(params + step, X, Y) - model.loss(params - step, X, Y)) / (2 * h)
    return grad


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(graph=graphs(max_nodes=5), seed=st.integers(0, 10_000))
def test_gradient_agrees_with_central_differences_on_random_graphs(graph, seed):
    uses_f = any(expr.atoms(sp.Function("f")) for expr in graph.definitions.values())
    model = sbp.compile(graph, functions={"f": sbp.tanh} if uses_f else None)
    rng = np.random.default_rng(seed)
    params = rng.uniform(-1, 1, len(model.parameters))
    X = rng.uniform(-1, 1, (6, len(model.inputs)))
    _, grad = model.loss_and_gradient(params, X)
    numeric = central_differences(model, params, X, None)
    assert np.allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def test_float32_computes_in_float32_and_close_to_float64():
    graph = sbp.mlp((3, 5, 2), loss="binary_cross_entropy")
    wide, narrow = compile_scalar(graph), compile_scalar(graph, dtype=np.float32)
    params = wide.init_params(seed=0)
    X, Y = data(wide)
    _, grad64 = wide.loss_and_gradient(params, X, Y)
    _, grad32 = narrow.loss_and_gradient(params, X, Y)
    assert grad32.dtype == np.float32 and narrow.forward(params, X).dtype == np.float32
    assert np.allclose(grad32, grad64, rtol=1e-4, atol=1e-6)


def test_compile_and_the_scalar_path_agree():
    graph = sbp.mlp((2, 3, 1), loss="squared_error")
    params = sbp.compile(graph).init_params(seed=1)
    X, Y = data(sbp.compile(graph))
    a = sbp.compile(graph).loss_and_gradient(params, X, Y)
    b = compile_scalar(graph).loss_and_gradient(params, X, Y)
    assert a[0] == pytest.approx(b[0], rel=1e-13) and np.allclose(a[1], b[1], rtol=1e-13, atol=0)


def test_extreme_logits_stay_finite_and_correct():
    model = compile_scalar(sbp.mlp((1, 3), loss="softmax_cross_entropy"))
    values = {"w1_1_1": 400.0, "w1_1_2": 0.0, "w1_1_3": -400.0, "b1_1": 1.0, "b1_2": 2.0, "b1_3": 3.0}
    params = np.array([values[p.name] for p in model.parameters])
    X, Y = np.array([[2.0], [-2.0]]), np.array([[0, 0, 1], [1, 0, 0]], dtype=float)
    value, grad = model.loss_and_gradient(params, X, Y)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    reference_value, reference_grad = torch_loss_and_gradient(model.graph, params, X, Y)
    assert value == pytest.approx(reference_value, rel=1e-12)
    assert relative_error(grad, reference_grad) < 1e-12
    assert np.allclose(model.forward(params, X).sum(axis=1), 1.0)


def test_binary_cross_entropy_and_sigmoid_are_stable_far_from_zero():
    model = compile_scalar(sbp.mlp((1, 1), loss="binary_cross_entropy"))
    X, Y = np.array([[800.0], [-800.0]]), np.array([0.0, 1.0])
    params = np.array([{"w1_1_1": 1.0, "b1_1": 0.0}[p.name] for p in model.parameters])
    value, grad = model.loss_and_gradient(params, X, Y)
    assert value == pytest.approx(800.0) and np.all(np.isfinite(grad))
    assert model.forward(params, X)[:, 0] == pytest.approx([1.0, 0.0])


def test_relu_derivative_at_zero_is_zero_like_pytorch():
    model = compile_scalar(sbp.mlp((2, 2, 1), activation=sbp.relu, loss="squared_error"))
    params = np.zeros(len(model.parameters))
    params[[6, 7]] = 1.0  # output weights, so that the hidden units would matter
    X, Y = data(model, rows=3)
    assert relative_error(model.loss_and_gradient(params, X, Y)[1],
                          torch_loss_and_gradient(model.graph, params, X, Y)[1] + 1e-300) < 1e-12


def test_init_params_zero_or_seeded_uniform_by_fan_in():
    model = compile_scalar(sbp.mlp((4, 3, 1), loss="squared_error"))
    assert not model.init_params().any()
    a, b = model.init_params(seed=7), model.init_params(seed=7)
    assert np.array_equal(a, b) and a.any()
    hidden = [i for i, p in enumerate(model.parameters) if p.name.startswith(("w1_", "b1_"))]
    assert np.all(np.abs(a[hidden]) <= 1 / 2)  # fan-in 4
    assert np.all(np.abs(a) <= 1 / np.sqrt(3))


def test_generated_source_is_readable_and_names_nodes_in_comments():
    model = sbp.compile(sbp.lecture_network(loss="squared_error"), functions={"f": "tanh"})
    source = model.source()
    assert "# ∂L/∂m1" in source and "z1 = tanh(w11*x1 + w21*x2)" in source
    assert "def loss_and_gradient(params, X, Y):" in source


def test_hostile_symbol_names_only_reach_comments():
    evil = sp.Symbol("__import__('os').system('touch /tmp/pwned')\nimport os")
    x = sp.Symbol("x")
    a = sp.Symbol('a"""; import os; """\r\u2028import sys')
    graph = sbp.Graph({a: evil * x}, inputs=[x])
    model = sbp.compile(graph)
    code_lines = [line.split("#")[0] for line in model.source().splitlines()]
    assert not any("import" in line or "system" in line or "pwned" in line for line in code_lines)
    assert model.forward([2.0], [[3.0]])[0, 0] == 6.0 and model.loss([2.0], [[3.0]]) == 6.0


def test_an_unbound_activation_is_a_clear_error():
    with pytest.raises(CompileError, match="activation f has no concrete function"):
        sbp.compile(sbp.lecture_network())
    with pytest.raises(CompileError, match="not a known activation.*did you mean 'tanh'"):
        sbp.compile(sbp.lecture_network(), functions={"f": "tahn"})
    with pytest.raises(CompileError, match="no undefined function g"):
        sbp.compile(sbp.lecture_network(), functions={"f": "tanh", "g": "relu"})


def test_metadata_bind_is_the_default():
    graph = sbp.lecture_network()
    bound = sbp.Graph(graph.definitions, inputs=graph.inputs, metadata={"bind": {"f": "sigmoid"}})
    model = sbp.compile(bound)
    assert model.graph.definitions[sp.Symbol("z1")].func is sbp.sigmoid


def test_unknown_function_and_bad_dtype_are_errors():
    x, a = sp.symbols("x a")
    with pytest.raises(CompileError, match="dtype"):
        sbp.compile(sbp.Graph({a: x}, inputs=[x]), dtype=np.int64)
    for unknown in (sp.erf(sp.Symbol("w") * x), sp.besselj(0, sp.Symbol("w") * x)):
        with pytest.raises(CompileError, match=f"cannot compile .*: no NumPy code for {unknown.func.__name__}"):
            sbp.compile(sbp.Graph({a: unknown}, inputs=[x]))


@pytest.mark.parametrize("call, message", [
    (lambda m: m.forward(np.zeros(17), np.zeros((4, 3))), "one row per sample and 2 columns"),
    (lambda m: m.forward(np.zeros(16), np.zeros((4, 2))), "expected 17 parameters"),
    (lambda m: m.loss(np.zeros(17), np.zeros((4, 2)), np.zeros((5, 1))), "y has 5 rows but X has 4"),
    (lambda m: m.loss(np.zeros(17), np.zeros((4, 2)), np.zeros((4, 2))), "1 column .y.,"),
    (lambda m: m.loss(np.zeros(17), np.zeros(4), np.zeros(4)), "one row per sample"),
    (lambda m: m.loss(np.zeros(17), [["a", "b"]], [1.0]), "not an array of numbers"),
    (lambda m: m.loss(np.zeros(17), np.zeros((4, 2))), "y is missing: the model has targets .y."),
])
def test_bad_shapes_are_clear_errors(call, message):
    model = compile_scalar(sbp.mlp((2, 4, 1), loss="squared_error"))
    with pytest.raises(DataError, match=message):
        call(model)


def test_wide_layers_compile_past_the_flat_sum_limit():
    model = compile_scalar(sbp.mlp((150, 1), loss="squared_error"))
    params = model.init_params(seed=0)
    X, Y = data(model, rows=3)
    _, grad = model.loss_and_gradient(params, X, Y)
    assert relative_error(grad, torch_loss_and_gradient(model.graph, params, X, Y)[1]) < 1e-12


def test_max_min_abs_derive_and_compile_as_pytorch_does():
    """max/min/abs from a model file: derived (H of the difference, H(0) = ½, sign), printed
    readably, compiled; loss and gradient equal torch.maximum/minimum/abs under autograd."""
    graph = sbp.Graph.from_text("inputs: x, y\ntargets: t\npredictions: q\n"
                                "z = max(w*x, v*y, b)\nq = min(z, c*x)\nL = abs(q - t) + max(w, 0)^2\n")
    assert sbp.derive(graph, "c").text().splitlines()[-1].endswith("= sign(q - t)·H(-c·x + z)·x")
    model = sbp.compile(graph)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 2)), rng.normal(size=64)
    for _ in range(5):
        params = rng.normal(size=len(model.parameters))
        loss, grad = model.loss_and_gradient(params, X, y)
        reference_loss, reference = torch_loss_and_gradient(graph, params, X, y[:, None])
        assert loss == pytest.approx(reference_loss, rel=1e-12)
        assert relative_error(grad, reference) < 1e-12
    # a tie splits the gradient evenly, as torch.maximum does
    tie = sbp.Graph.from_text("inputs: x\na = max(w*x, v*x)\n")
    tied = sbp.compile(tie).loss_and_gradient(np.array([1.0, 1.0]), np.array([[2.0]]))[1]
    assert list(tied) == list(torch_loss_and_gradient(tie, [1.0, 1.0], np.array([[2.0]]), np.zeros((1, 0)))[1]) == [1.0, 1.0]


def test_piecewise_is_refused_by_name():
    x, a, w = sp.symbols("x a w")
    with pytest.raises(sbp.GraphError, match="Piecewise is not supported"):
        sbp.Graph({a: sp.Piecewise((w * x, x > 0), (0, True))}, inputs=[x])
