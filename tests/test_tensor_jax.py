"""``compile(graph, backend="jax")``: the same δ equations as ``jax.numpy`` code under ``jax.jit``,
against PyTorch's autograd (float64 with JAX's 64-bit mode on, float32 to its precision)."""

import numpy as np
import pytest

import symbackprop as sbp
from test_tensor import CASES, assert_matches_torch, data

jax = pytest.importorskip("jax")


@pytest.fixture
def x64():
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


@pytest.mark.parametrize("case", ["dense-tanh", "tied-autoencoder", "softmax", "l2-penalty-symbol",
                                  "conv2d-maxpool", "conv2d-stride2-avgpool", "conv1d-avgpool", "overlapping-pools"])
def test_jax_gradients_match_torch_in_float64(case, x64):
    graph = CASES[case]()
    assert_matches_torch(sbp.compile(graph, backend="jax"), graph)


def test_jax_in_float32_agrees_with_numpy_and_prints_jnp_under_jit():
    graph = sbp.mlp((6, 5, 3), loss="softmax_cross_entropy")
    jax_model, numpy_model = sbp.compile(graph, dtype=np.float32, backend="jax"), sbp.compile(graph, dtype=np.float32)
    params = numpy_model.init_params(seed=0)
    X, Y = data(graph.tensor)
    (value, grad), (reference, reference_grad) = (m.loss_and_gradient(params, X, Y) for m in (jax_model, numpy_model))
    assert grad.dtype == np.float32 and value == pytest.approx(reference, rel=1e-5)
    assert np.allclose(grad, reference_grad, rtol=1e-4, atol=1e-6)
    source = jax_model.source()
    assert "jnp.tanh(u1)" in source and "numpy." not in source.split("def forward")[1]


def test_float64_without_the_64_bit_mode_is_a_clear_error():
    with pytest.raises(sbp.SymbackpropError, match="jax_enable_x64"):
        sbp.compile(sbp.mlp((2, 2, 1), loss="squared_error"), backend="jax")


def test_a_scalar_graph_has_no_jax_backend():
    with pytest.raises(sbp.SymbackpropError, match="compiles tensor graphs"):
        sbp.compile(sbp.Graph.from_text("inputs: x\na = w*x\n"), backend="jax")


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_the_program_shows_the_kernels_it_calls_and_no_others(backend):
    """An operation offers every kernel it may need; ``source()`` shows those the code calls,
    also through another kernel (softmax_parts calls the row kernels), and the source runs."""
    graph = sbp.mlp((3, 4, 2), loss="softmax_cross_entropy")
    source = sbp.compile(graph, dtype=np.float32, backend=backend).source()
    defined = [line.split("(")[0][4:] for line in source.splitlines() if line.startswith("def ")]
    assert defined[:3] == ["softmax_parts", "row_max_kernel", "row_sum_kernel"]
    assert "columns_product" not in source
    namespace = {"numpy": np, "jnp": np}
    exec(compile(source, "<source>", "exec"), namespace)  # every name the shown code calls is defined in it
    params, (X, Y) = np.ones(26, np.float32) / 10, data(graph.tensor)
    assert np.isfinite(namespace["loss"](params if backend == "numpy" else
                                         (params[:12].reshape(4, 3), params[:4], params[:8].reshape(2, 4), params[:2]),
                                         X.astype(np.float32), Y.astype(np.float32)))
