"""Products of one input computed as one stacked product (numeric/stacks.py) against torch
autograd, and where they must not be stacked; the kernels the compiled tensor code leans on
(columns_product, row_max_kernel, row_sum_kernel) against plain NumPy; float32 kept float32."""

import re

import numpy as np
import pytest
import torch

import symbackprop as sbp
from symbackprop.core.tensor.ops import columns_product, row_max_kernel, row_sum_kernel
from symbackprop.numeric.stacks import find_stacks
from tensor_params import close, flat, t64, unflat

T = sbp.tensor
B, N_IN, TOKENS = 5, 3, 4
ROWS = (2, 3, 2)


def heads(tokens: int | None, bias: bool = True, tied: bool = False):
    """``H_i = tanh(W_i E + b_i)`` for three weights of one input ``E = tanh(A X)`` (a vector, or
    N_IN × tokens columns), ``L = Σ_i ‖H_i − Y_i‖²/2``; ``tied``: ``W_1`` used a second time, on
    ``H_3``. ``E`` depends on a parameter, so its δ sums the products' terms ``W_iᵀ δ_i``."""
    shape = (N_IN,) if tokens is None else (N_IN, tokens)
    X, A, E = T.Tensor("X", shape), T.Tensor("A", (N_IN, N_IN)), T.Tensor("E")
    targets = [T.Tensor(f"Y{i}", (r,) + shape[1:]) for i, r in enumerate(ROWS, 1)]
    weights = [T.Tensor(f"W{i}", (r, N_IN)) for i, r in enumerate(ROWS, 1)]
    biases = [T.Tensor(f"b{i}", r) for i, r in enumerate(ROWS, 1)]
    definitions, outputs = {E: T.tanh(A @ X)}, []
    for i, (W, b) in enumerate(zip(weights, biases), 1):
        U, H = T.Tensor(f"U{i}"), T.Tensor(f"H{i}")
        definitions[U] = W @ E + b if bias else W @ E
        definitions[H] = T.tanh(U)
        outputs.append(H)
    if tied:
        extra = T.Tensor("V", (N_IN, ROWS[2]))
        definitions[T.Tensor("G")] = weights[0] @ (extra @ outputs[2])
        outputs.append(T.Tensor("G"))
        targets.append(T.Tensor("Y4", (ROWS[0],) + shape[1:]))
    L = T.Tensor("L")
    definitions[L] = sum((T.squared_error(H, Y) for H, Y in zip(outputs, targets)), T.Scalar(0))
    parameters = [A, *weights, *(biases if bias else []), *([extra] if tied else [])]
    return T.Graph(definitions, inputs=[X], targets=targets, parameters=parameters, output=L, predictions=outputs)


def against_torch(graph, tokens, bias=True, tied=False, seed=0):
    rng = np.random.default_rng(seed)
    params = {p.name: rng.normal(size=p.shape) for p in graph.parameters}
    X = rng.normal(size=(B, N_IN) + ((tokens,) if tokens else ()))
    Ys = [rng.normal(size=(B,) + t.shape) for t in graph.targets]
    w = {k: t64(v, True) for k, v in params.items()}
    x = torch.tanh(torch.einsum("mn,bn...->bm...", w["A"], t64(X)))
    outputs = []
    for i in range(1, 4):
        u = torch.einsum("rn,bn...->br...", w[f"W{i}"], x)
        if bias:
            u = u + (w[f"b{i}"][:, None] if tokens else w[f"b{i}"])
        outputs.append(torch.tanh(u))
    if tied:
        outputs.append(torch.einsum("rn,bn...->br...", w["W1"], torch.einsum("nr,br...->bn...", w["V"], outputs[2])))
    loss = sum(0.5 * ((h - t64(y)) ** 2).sum() for h, y in zip(outputs, Ys)) / B
    loss.backward()
    model = sbp.compile(graph)
    value, grad = model.loss_and_gradient(flat(graph, params), X.reshape(B, -1),
                                          np.concatenate([y.reshape(B, -1) for y in Ys], axis=1))
    close(value, loss.item())
    found = unflat(graph, grad)
    for name, reference in w.items():
        close(found[name], reference.grad)
    return model


@pytest.mark.parametrize("tokens", [None, TOKENS])
@pytest.mark.parametrize("bias", [True, False])
def test_stacked_products_match_torch(tokens, bias):
    graph = heads(tokens, bias)
    (stack,) = find_stacks(graph, T.derive(graph))
    assert [w.name for w in stack.weights] == ["W1", "W2", "W3"]
    assert stack.blocks == {T.Tensor("U1"): (0, 2), T.Tensor("U2"): (2, 5), T.Tensor("U3"): (5, 7)}
    source = against_torch(graph, tokens, bias).source()
    assert "U1_to_U3 = " in source and "delta_U1_to_U3" in source  # the stacked code is what ran
    assert "# ∂L/∂W2 = δ_U2 Eᵀ: in the stacked gradient" in source
    # E's δ (inside ∂L/∂A): one stacked term instead of W1ᵀ δ_U1 + W2ᵀ δ_U2 + W3ᵀ δ_U3
    assert re.search(r"delta_U1_to_U3 @ W1_to_W3|W1_to_W3\.T, delta_U1_to_U3", source)
    assert not re.search(r"delta_U1 @ W1|W1\.T, delta_U1", source)


def test_a_weight_used_elsewhere_is_not_stacked():
    graph = heads(TOKENS, tied=True)
    stacks = find_stacks(graph, T.derive(graph))
    assert [[w.name for w in s.weights] for s in stacks] == [["W2", "W3"]]  # W1 has a second use
    against_torch(graph, TOKENS, tied=True)


def test_products_apart_in_the_flat_vector_are_not_stacked():
    graph = heads(TOKENS)
    apart = T.Graph(graph.definitions, inputs=graph.inputs, targets=graph.targets, output=graph.output,
                    predictions=graph.predictions,
                    parameters=[graph.tensor("A"), graph.tensor("W1"), graph.tensor("b1"), graph.tensor("W2"), graph.tensor("b2"),
                                graph.tensor("W3"), graph.tensor("b3")])
    assert find_stacks(apart, T.derive(apart)) == []
    assert "_to_" not in against_torch(apart, TOKENS).source()


def test_jax_backend_leaves_stacking_to_xla():
    pytest.importorskip("jax")
    graph = heads(TOKENS)
    jax_model, numpy_model = (sbp.compile(graph, dtype=np.float32, backend=b) for b in ("jax", "numpy"))
    assert "_to_" not in jax_model.source() and "U1_to_U3" in numpy_model.source()
    params = numpy_model.init_params(seed=0)
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(B, N_IN * TOKENS)), rng.normal(size=(B, sum(ROWS) * TOKENS))
    (value, grad), (reference, reference_grad) = (m.loss_and_gradient(params, X, Y) for m in (jax_model, numpy_model))
    assert value == pytest.approx(reference, rel=1e-5)
    assert np.allclose(grad, reference_grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("layout", ["rows", "columns", "strided"])
def test_columns_product_is_w_times_each_sample(layout):
    rng = np.random.default_rng(2)
    W = rng.normal(size=(4, 3))
    X = {"rows": rng.normal(size=(5, 3, 6)),
         "columns": rng.normal(size=(5, 6, 3)).swapaxes(-1, -2),
         "strided": rng.normal(size=(5, 7, 6))[:, 2:5]}[layout]
    found = columns_product(np, W, X)
    np.testing.assert_allclose(found, np.einsum("ij,bjt->bit", W, X), rtol=1e-12)
    assert found.swapaxes(-1, -2).flags.c_contiguous  # laid out column by column, for the next product


@pytest.mark.parametrize("n", [1, 2, 3, 5, 16, 17])
def test_row_max_and_row_sum_kernels(n):
    rng = np.random.default_rng(n)
    z = rng.normal(size=(4, 3, n)).astype(np.float32)
    z[0, 0, -1] = -np.inf
    assert np.array_equal(row_max_kernel(np, z), z.max(axis=-1, keepdims=True))
    finite = np.nan_to_num(z, neginf=0.0)
    np.testing.assert_allclose(row_sum_kernel(np, finite), finite.sum(axis=-1, keepdims=True), rtol=1e-5)
    assert row_sum_kernel(np, finite).dtype == np.float32


def test_float32_stays_float32_in_every_node_of_the_block():
    graph = T.transformer_block(4, 5, 8, heads=2)
    model = sbp.compile(graph, dtype=np.float32)
    rng = np.random.default_rng(3)
    X = np.eye(5)[rng.integers(0, 5, size=(B, 4))].transpose(0, 2, 1).reshape(B, -1).astype(np.float32)
    values = model.node_values(model.init_params(seed=0), X)
    assert {v.dtype for v in values.values()} == {np.dtype(np.float32)}
