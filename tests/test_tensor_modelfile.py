"""Tensor model files: shapes declared, definitions in the board's notation, read by one safe
parser; the graphs they give against the same graphs built in Python."""

from pathlib import Path

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.core.errors import ParseError

T = sbp.tensor
EXAMPLES = Path(__file__).parent.parent / "examples"


def test_the_cnn_file_is_the_python_graph():
    graph = sbp.load(EXAMPLES / "tensor" / "cnn.sbp")
    shapes = [("x", (1, 8, 8)), ("y", 10), ("K1", (16, 1, 3, 3)), ("b1", 16), ("K2", (16, 16, 3, 3)), ("b2", 16),
              ("V", (10, 256)), ("c", 10)]
    x, y, K1, b1, K2, b2, V, c = (T.Tensor(n, s) for n, s in shapes)
    u1, h1, u2, h2, p, z, L = (T.Tensor(n) for n in "u1 h1 u2 h2 p z L".split())
    python = T.Graph({u1: T.conv2d(x, K1, padding=1) + b1, h1: T.relu(u1), u2: T.conv2d(h1, K2, padding=1) + b2,
                      h2: T.relu(u2), p: T.max_pool2d(h2, 2), z: V @ T.flatten(p) + c,
                      L: T.softmax_cross_entropy(z, y)},
                     inputs=[x], targets=[y], parameters=[K1, b1, K2, b2, V, c], predictions=[z])
    assert dict(graph.tensor.definitions) == dict(python.definitions)
    assert graph.tensor.parameters == python.parameters and graph.metadata["source"].endswith("cnn.sbp")
    text = T.derive(graph).text()
    assert text == T.derive(python).text()
    assert "∂L/∂K1 = x ⋆_(p=1) δ_u1" in text and "δ_u1 = δ_u2 ∗_(p=1) rot180(K2) ⊙ ReLU'(u1)" in text


def test_the_autoencoder_file_has_a_tied_weight_and_a_named_penalty():
    graph = sbp.load(EXAMPLES / "tensor" / "autoencoder.sbp")
    text = T.derive(graph).text()
    assert "∂L/∂W = (δ_h ⊙ σ'(W x + b)) xᵀ + h δ_oᵀ + 2·λ W" in text
    model = sbp.compile(graph)  # λ = 0.001 from values:
    params = model.init_params(seed=0)
    X = np.random.default_rng(0).normal(size=(5, 8))
    penalty = 0.001 * np.sum(params[:24] ** 2)
    without = sbp.compile(T.Graph({**{k: v for k, v in graph.tensor.definitions.items() if k.name != "L"},
                                   T.Tensor("L"): T.squared_error(T.Tensor("o"), T.Tensor("y", 8))},
                                  inputs=graph.tensor.inputs, targets=graph.tensor.targets,
                                  parameters=graph.tensor.parameters, predictions=graph.tensor.predictions))
    assert model.loss(params, X, X) == pytest.approx(without.loss(params, X, X) + penalty, rel=1e-12)


@pytest.mark.parametrize("text, message", [
    ("inputs: x: 3\nparameters: W: 2×3\nh = W x +\n", "line 3, column 10: the expression ends too early"),
    ("inputs: x: 3\nparameters: W: 2×3\nh = V x\n", "line 3, column 5: unknown name 'V'"),
    ("inputs: x: 3\nparameters: W: 2×4\nh = W x\n", "line 3, column 1: in the definition of h: cannot multiply 2×4 by 3"),
    ("inputs: x: 3\nparameters: W: 2×3\nh = tahn(W x)\n", "unknown function 'tahn' \\(did you mean 'tanh'\\?\\)"),
    ("inputs: x: 3\nparameters: W: 2 by 3\nh = W x\n", "expected 'name: shape' such as 'W: 32×64'"),
    ("inputs: x: 1×5×5\nparameters: K: 2×1×3×3\nh = conv2d(x, K, strid=2)\n", "conv2d takes no 'strid='"),
    ("inputs: x: 3\nparameters: W: 2×3\nh = ‖W x‖\n", "‖…‖ is written squared here"),
    ("inputs: x: 3\nparameters: W: 2×3\nh = W x; import os\n", "unexpected character ';'"),
])
def test_bad_tensor_files_are_one_line_errors(text, message):
    with pytest.raises(ParseError, match=message):
        sbp.Graph.from_text(text)


from hypothesis import HealthCheck, given, settings  # noqa: E402
from tensor_graphs import tensor_graphs  # noqa: E402


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=tensor_graphs())
def test_random_tensor_graphs_round_trip_through_their_text(graph):
    text = T.ScalarView(graph, declared_with_shapes=True).to_text()
    again = sbp.Graph.from_text(text)
    assert dict(again.tensor.definitions) == dict(graph.definitions)
    assert (again.tensor.inputs, again.tensor.targets, again.tensor.parameters, again.tensor.output,
            again.tensor.predictions) == (graph.inputs, graph.targets, graph.parameters, graph.output,
                                          graph.predictions)
    assert again.to_text() == text


@pytest.mark.parametrize("name", ["cnn", "autoencoder"])
def test_the_tensor_example_files_round_trip(name):
    graph = sbp.load(EXAMPLES / "tensor" / f"{name}.sbp")
    text = graph.to_text()
    again = sbp.Graph.from_text(text)
    assert dict(again.tensor.definitions) == dict(graph.tensor.definitions) and again.to_text() == text
    assert (EXAMPLES / "tensor" / f"{name}.sbp").read_text().count("=") >= text.count(" = ")
