"""Self-attention against torch: one head vs F.scaled_dot_product_attention, several heads and a
causal mask vs nn.MultiheadAttention; the softmax rule as printed; the token loss; entries as
path sums at a small size."""

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F

import symbackprop as sbp
from tensor_params import close, flat, t64, unflat

T = sbp.tensor
B, TOKENS, D = 4, 5, 6


def data(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(B, D, TOKENS)), rng.normal(size=(B, D, TOKENS))


def ours(graph, params, X, Y):
    loss, grad = sbp.compile(graph).loss_and_gradient(flat(graph, params), X.reshape(B, -1), Y.reshape(B, -1))
    return loss, unflat(graph, grad)


@pytest.mark.parametrize("causal", [False, True])
def test_one_head_matches_scaled_dot_product_attention(causal):
    graph = T.attention_graph(TOKENS, D, causal=causal)
    rng = np.random.default_rng(1)
    params = {p.name: rng.normal(size=p.shape) * 0.5 for p in graph.parameters}
    X, Y = data(2)
    w = {k: t64(v, True) for k, v in params.items()}
    x = t64(X).transpose(1, 2)  # tokens as rows for torch
    q, k, v = (x @ w[f"W_{r}"].T + w[f"b_{r}"] for r in "QKV")
    heads = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    out = heads @ w["W_O"].T + w["b_O"]
    loss = 0.5 * ((out.transpose(1, 2) - t64(Y)) ** 2).sum() / B
    loss.backward()
    value, found = ours(graph, params, X, Y)
    close(value, loss.item())
    for name, reference in w.items():
        close(found[name], reference.grad)


@pytest.mark.parametrize("causal", [False, True])
def test_several_heads_match_multihead_attention(causal):
    heads = 3
    graph = T.attention_graph(TOKENS, D, heads=heads, causal=causal)
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(D, heads, batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_bias.normal_()
        mha.out_proj.bias.normal_()
    d_k = D // heads
    params = {"W_O": mha.out_proj.weight.detach().numpy(), "b_O": mha.out_proj.bias.detach().numpy()}
    for r, role in enumerate("QKV"):
        for h in range(heads):
            rows = slice(r * D + h * d_k, r * D + (h + 1) * d_k)
            params[f"W_{role}^({h + 1})"] = mha.in_proj_weight[rows].detach().numpy()
            params[f"b_{role}^({h + 1})"] = mha.in_proj_bias[rows].detach().numpy()
    X, Y = data(3)
    x = t64(X).transpose(1, 2)
    mask = torch.triu(torch.ones(TOKENS, TOKENS, dtype=torch.bool), 1) if causal else None
    out, _ = mha(x, x, x, attn_mask=mask, need_weights=False)
    loss = 0.5 * ((out.transpose(1, 2) - t64(Y)) ** 2).sum() / B
    loss.backward()
    value, found = ours(graph, params, X, Y)
    assert "Q1_to_V3 = columns_product(numpy, W_Q1_to_W_V3, x)" in sbp.compile(graph).source()  # one product
    close(value, loss.item())
    close(found["W_O"], mha.out_proj.weight.grad)
    close(found["b_O"], mha.out_proj.bias.grad)
    for r, role in enumerate("QKV"):
        for h in range(heads):
            rows = slice(r * D + h * d_k, r * D + (h + 1) * d_k)
            close(found[f"W_{role}^({h + 1})"], mha.in_proj_weight.grad[rows])
            close(found[f"b_{role}^({h + 1})"], mha.in_proj_bias.grad[rows])


def test_softmax_rule_prints_as_diag_minus_outer():
    text = T.derive(T.attention_graph(3, 4, heads=2)).text()
    assert "δ_S^(1) = (diag(A^(1)) - A^(1) A^(1)ᵀ) δ_A^(1)" in text
    assert "δ_A^(1) = ((V^(1))ᵀ δ_H^(1))ᵀ" in text


def test_transformer_block_matches_torch():
    tokens, vocab, d, heads = 4, 5, 6, 2
    graph = T.transformer_block(tokens, vocab, d, heads=heads)
    rng = np.random.default_rng(4)
    params = {p.name: rng.normal(size=p.shape) * 0.4 for p in graph.parameters}
    labels_in, labels_out = rng.integers(0, vocab, size=(B, tokens)), rng.integers(0, vocab, size=(B, tokens))
    X = np.eye(vocab)[labels_in].transpose(0, 2, 1)  # one-hot columns
    Y = np.eye(vocab)[labels_out]                    # one-hot rows
    w = {k: t64(v, True) for k, v in params.items()}
    e = t64(X).transpose(1, 2) @ w["W_E"].T + w["P"].T  # tokens as rows
    d_k = d // heads
    outs = []
    for h in range(1, heads + 1):
        q, k, v = (e @ w[f"W_{r}^({h})"].T + w[f"b_{r}^({h})"] for r in "QKV")
        outs.append(torch.softmax(q @ k.transpose(1, 2) / d_k ** 0.5, -1) @ v)
    m = torch.cat(outs, -1) @ w["W_O"].T + w["b_O"]
    n1 = F.layer_norm(e + m, (d,), w["γ_1"], w["β_1"])
    n2 = F.layer_norm(n1 + torch.relu(n1 @ w["W_1"].T + w["b_1"]) @ w["W_2"].T + w["b_2"], (d,), w["γ_2"], w["β_2"])
    logits = n2 @ w["W_Z"].T + w["b_Z"]
    loss = F.cross_entropy(logits.reshape(-1, vocab), torch.tensor(labels_out.reshape(-1)), reduction="sum") / B
    loss.backward()
    loss_ours, grad = sbp.compile(graph).loss_and_gradient(flat(graph, params), X.reshape(B, -1), Y.reshape(B, -1))
    close(loss_ours, loss.item())
    found = unflat(graph, grad)
    for name, reference in w.items():
        close(found[name], reference.grad)


def test_attention_entries_are_the_scalar_path_sums():
    graph = T.attention_graph(tokens=2, d_model=2, causal=True)
    scalar, derivation = T.scalar_graph(graph), T.derive(graph)
    for w in ("W_Q_1_2", "W_V_2_1", "b_K1"):
        entry = derivation.entry(w)
        assert entry != 0
        assert sp.expand(scalar.expand(entry - sbp.gradient(scalar, w))) == 0


def test_float32_block_gradient_agrees_with_float64():
    graph = T.transformer_block(4, 5, 8, heads=2, causal=True)
    rng = np.random.default_rng(5)
    X = np.eye(5)[rng.integers(0, 5, size=(B, 4))].transpose(0, 2, 1).reshape(B, -1)
    Y = np.eye(5)[rng.integers(0, 5, size=(B, 4))].reshape(B, -1)
    params = sbp.compile(graph).init_params(seed=1)
    _, exact = sbp.compile(graph).loss_and_gradient(params, X, Y)
    model32 = sbp.compile(graph, dtype=np.float32)
    _, single = model32.loss_and_gradient(params.astype(np.float32), X.astype(np.float32), Y.astype(np.float32))
    assert single.dtype == np.float32
    assert np.max(np.abs(single - exact)) <= 1e-4 * np.max(np.abs(exact))


def test_attention_rejects_heads_that_do_not_split_the_width():
    with pytest.raises(sbp.GraphError, match="does not split into 4 heads"):
        T.attention_graph(3, 6, heads=4)
    with pytest.raises(sbp.GraphError, match="tokens is a positive integer"):
        T.transformer_block(0, 5, 8)
    with pytest.raises(T.ShapeError, match="square scores"):
        T.Graph({T.Tensor("A"): T.causal_softmax(T.Tensor("S", (2, 3)))})
