"""Layer norm, batch norm (training mode) and dropout with a fixed mask against torch, and layer
norm's matrix derivation against the scalar path sums."""

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F

import symbackprop as sbp
from symbackprop.core.errors import GraphError
from tensor_params import close, flat, t64, unflat

T = sbp.tensor
B, N_IN, N = 6, 3, 4


def projected(node, adjoints=None):
    """``L = ‖node(W x) − y‖²/2``: W upstream, so δ_x of the normalization is exercised."""
    x, y, W = T.Tensor("x", N_IN), T.Tensor("y", N), T.Tensor("W", (N, N_IN))
    u, a, L = T.Tensor("u"), T.Tensor("a"), T.Tensor("L")
    return T.Graph({u: W @ x, a: node(u), L: T.squared_error(a, y)}, inputs=[x], targets=[y], predictions=[a],
                   adjoints=adjoints)


def torch_check(graph, torch_layer, params: dict, X, Y, extra=lambda u: u):
    W = t64(params["W"], True)
    a = torch_layer(extra(t64(X) @ W.T))
    loss = 0.5 * ((a - t64(Y)) ** 2).sum() / len(X)
    loss.backward()
    ours_loss, grad = sbp.compile(graph).loss_and_gradient(flat(graph, params), X, Y)
    close(ours_loss, loss.item())
    found = unflat(graph, grad)
    close(found["W"], W.grad)
    return found


@pytest.mark.parametrize("norm, layer", [(T.layer_norm, torch.nn.LayerNorm(N)),
                                         (T.batch_norm, torch.nn.BatchNorm1d(N).train())])
def test_layer_and_batch_norm_match_torch(norm, layer):
    rng = np.random.default_rng(0)
    gamma, beta = T.Tensor("γ", N), T.Tensor("β", N)
    graph = projected(lambda u: norm(u, gamma, beta))
    layer = layer.double()
    with torch.no_grad():
        layer.weight.copy_(t64(rng.normal(size=N)))
        layer.bias.copy_(t64(rng.normal(size=N)))
    params = {"W": rng.normal(size=(N, N_IN)), "γ": layer.weight.detach().numpy(), "β": layer.bias.detach().numpy()}
    found = torch_check(graph, layer, params, rng.normal(size=(B, N_IN)), rng.normal(size=(B, N)))
    close(found["γ"], layer.weight.grad)
    close(found["β"], layer.bias.grad)


def test_layer_norm_of_a_matrix_normalizes_each_column_as_torch_each_token():
    rng = np.random.default_rng(1)
    tokens = 3
    X, Y = T.Tensor("X", (N_IN, tokens)), T.Tensor("Y", (N, tokens))
    W, gamma, beta = T.Tensor("W", (N, N_IN)), T.Tensor("γ", N), T.Tensor("β", N)
    H, L = T.Tensor("H"), T.Tensor("L")
    graph = T.Graph({H: T.layer_norm(W @ X, gamma, beta), L: T.squared_error(H, Y)}, inputs=[X], targets=[Y], predictions=[H])
    params = {"W": rng.normal(size=(N, N_IN)), "γ": rng.normal(size=N), "β": rng.normal(size=N)}
    data, target = rng.normal(size=(B, N_IN, tokens)), rng.normal(size=(B, N, tokens))
    tw, tg, tb = (t64(params[k], True) for k in ("W", "γ", "β"))
    out = F.layer_norm((tw @ t64(data)).transpose(1, 2), (N,), tg, tb)  # tokens as rows for torch
    loss = 0.5 * ((out.transpose(1, 2) - t64(target)) ** 2).sum() / B
    loss.backward()
    ours, grad = sbp.compile(graph).loss_and_gradient(flat(graph, params), data.reshape(B, -1), target.reshape(B, -1))
    close(ours, loss.item())
    found = unflat(graph, grad)
    for name, reference in (("W", tw), ("γ", tg), ("β", tb)):
        close(found[name], reference.grad)


def test_batch_norm_says_it_couples_samples():
    graph = projected(T.batch_norm, adjoints={"a": "δ_a"})
    text = T.derive(graph).text()
    assert "∂L/∂W = ((δ_a - mean_B(δ_a) - a ⊙ mean_B(δ_a ⊙ a)) / σ_B(u)) xᵀ" in text
    with pytest.raises(GraphError, match="couples the samples"):
        T.scalar_graph(graph)


def test_dropout_with_torchs_mask_matches_torch():
    rng = np.random.default_rng(3)
    x, y, m, W = T.Tensor("x", N_IN), T.Tensor("y", N), T.Tensor("m", N), T.Tensor("W", (N, N_IN))
    u, a, L = T.Tensor("u"), T.Tensor("a"), T.Tensor("L")
    graph = T.Graph({u: W @ x, a: T.tanh(T.dropout(u, m, 0.25)), L: T.squared_error(a, y)},
                    inputs=[x, m], targets=[y], predictions=[a])
    X, Y, weights = rng.normal(size=(B, N_IN)), rng.normal(size=(B, N)), rng.normal(size=(N, N_IN))
    torch.manual_seed(0)
    tw = t64(weights, True)
    dropped = F.dropout(t64(X) @ tw.T, p=0.25, training=True)
    mask = (dropped != 0).double().numpy()
    loss = 0.5 * ((torch.tanh(dropped) - t64(Y)) ** 2).sum() / B
    loss.backward()
    ours, grad = sbp.compile(graph).loss_and_gradient(flat(graph, {"W": weights}), np.hstack([X, mask]), Y)
    close(ours, loss.item())
    close(unflat(graph, grad)["W"], tw.grad)


def test_layer_norm_entries_are_the_scalar_path_sums():
    x, y, W = T.Tensor("x", 2), T.Tensor("y", 3), T.Tensor("W", (3, 2))
    u, a, L = T.Tensor("u"), T.Tensor("a"), T.Tensor("L")
    graph = T.Graph({u: W @ x, a: T.layer_norm(u), L: T.squared_error(a, y)}, inputs=[x], targets=[y], predictions=[a])
    scalar, derivation = T.scalar_graph(graph), T.derive(graph)
    leaves = [*scalar.inputs, *scalar.targets, *scalar.parameters]
    points = [{s: sp.Rational(k + 2, 7) * (-1) ** k for k, s in enumerate(leaves)},
              {s: sp.Rational(3 * k + 1, 5) * (-1) ** (k // 2) for k, s in enumerate(leaves)}]
    for w in ("W_1_1", "W_3_2"):  # the two closed forms, exact at rational points (50 digits)
        ours = scalar.expand(derivation.entry(w))
        paths = scalar.expand(sbp.gradient(scalar, w))
        assert ours != 0
        for point in points:
            assert abs(sp.N(ours.subs(point) - paths.subs(point), 50)) < sp.Float("1e-45")


def test_dropout_rejects_bad_probability():
    with pytest.raises(GraphError, match=r"\[0, 1\)"):
        T.dropout(T.Tensor("h", 2), T.Tensor("m", 2), 1)
