"""Unrolled recurrent networks: backprop through time against torch's nn.RNN / nn.LSTM / nn.GRU,
the BPTT recursion, and a shared weight's gradient as the sum of its per-step path sums."""

import re

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F

import symbackprop as sbp
from symbackprop.core.errors import GraphError
from symbackprop.core.tensor.sequence import bptt, elman_rnn, gru, lstm
from symbackprop.render.tensor import TEXT
from tensor_params import close, flat, t64, unflat

B, T, N_IN, N_HIDDEN, N_OUT = 5, 6, 3, 4, 3


def data(outputs: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(B, T, N_IN))
    steps = T if outputs == "every" else 1
    labels = rng.integers(0, N_OUT, size=(B, steps))
    return X, labels, np.eye(N_OUT)[labels].reshape(B, steps * N_OUT)


def readout_loss(hidden, V, c, labels):
    """Σ over the read steps of the cross-entropy, mean over the batch (our loss)."""
    logits = hidden @ V.T + c
    return F.cross_entropy(logits.reshape(-1, N_OUT), torch.tensor(labels.reshape(-1)), reduction="sum") / B


def check(graph, module, gates: dict, outputs: str, seed: int):
    """Copy torch's module parameters into the graph's flat vector, compare loss and gradients.
    ``gates[our name] = (torch parameter name, row block)``."""
    torch.manual_seed(seed)
    X, labels, Y = data(outputs, seed)
    module = module.double()
    V, c = t64(np.random.default_rng(seed).normal(size=(N_OUT, N_HIDDEN)), True), t64(np.zeros(N_OUT), True)
    hidden, _ = module(t64(X))
    read = hidden if outputs == "every" else hidden[:, -1:]
    loss = readout_loss(read, V, c, labels)
    loss.backward()
    torch_params = dict(module.named_parameters())

    def block(name, k):
        value = torch_params[name]
        return value[k * N_HIDDEN:(k + 1) * N_HIDDEN]

    arrays = {"V": V.detach().numpy(), "c": c.detach().numpy()}
    for ours, parts in gates.items():
        arrays[ours] = sum(block(name, k).detach().numpy() for name, k in parts)
    model = sbp.compile(graph)
    ours_loss, grad = model.loss_and_gradient(flat(graph, arrays), X.reshape(B, -1), Y)
    close(ours_loss, loss.item())
    found = unflat(graph, grad)
    close(found["V"], V.grad)
    close(found["c"], c.grad)
    for ours, parts in gates.items():
        name, k = parts[0]  # a summed bias: each of torch's two gets the same gradient
        close(found[ours], torch_params[name].grad[k * N_HIDDEN:(k + 1) * N_HIDDEN])


@pytest.mark.parametrize("outputs", ["every", "last"])
def test_elman_rnn_matches_torch(outputs):
    graph = elman_rnn(T, (N_IN, N_HIDDEN, N_OUT), outputs=outputs)
    module = torch.nn.RNN(N_IN, N_HIDDEN, batch_first=True)
    gates = {"U": [("weight_ih_l0", 0)], "W": [("weight_hh_l0", 0)], "b": [("bias_ih_l0", 0), ("bias_hh_l0", 0)]}
    check(graph, module, gates, outputs, seed=1)


def test_lstm_matches_torch():
    graph = lstm(T, (N_IN, N_HIDDEN, N_OUT))
    gates = {}
    for k, gate in enumerate("ifgo"):
        gates[f"U_{gate}"] = [("weight_ih_l0", k)]
        gates[f"W_{gate}"] = [("weight_hh_l0", k)]
        gates[f"b_{gate}"] = [("bias_ih_l0", k), ("bias_hh_l0", k)]
    check(graph, torch.nn.LSTM(N_IN, N_HIDDEN, batch_first=True), gates, "every", seed=2)


def test_gru_matches_torch():
    graph = gru(T, (N_IN, N_HIDDEN, N_OUT), outputs="last")
    gates = {"a_n": [("bias_hh_l0", 2)], "b_n": [("bias_ih_l0", 2)]}
    for k, gate in enumerate("rzn"):
        gates[f"U_{gate}"] = [("weight_ih_l0", k)]
        gates[f"W_{gate}"] = [("weight_hh_l0", k)]
        if gate != "n":
            gates[f"b_{gate}"] = [("bias_ih_l0", k), ("bias_hh_l0", k)]
    check(graph, torch.nn.GRU(N_IN, N_HIDDEN, batch_first=True), gates, "last", seed=3)


def test_bptt_prints_goodfellows_recursion():
    lines = {TEXT.doprint(lhs): TEXT.doprint(rhs) for lhs, rhs in bptt(elman_rnn(5, (2, 3, 2)))}
    assert lines["δ_t"] == "Wᵀ (δ_{t+1} ⊙ tanh'(u_{t+1})) + Vᵀ (softmax(o_t) - y_t)"
    assert lines["∂L/∂W"] == "Σ_{t=2}^T (δ_t ⊙ tanh'(u_t)) h_{t-1}ᵀ"
    last = {TEXT.doprint(lhs): TEXT.doprint(rhs) for lhs, rhs in bptt(elman_rnn(4, (2, 3, 2), outputs="last"))}
    assert last["δ_t"] == "Wᵀ (δ_{t+1} ⊙ tanh'(u_{t+1}))"
    assert last["∂L/∂V"] == "(softmax(o_T) - y) h_Tᵀ"
    lstm_lines = {TEXT.doprint(lhs): TEXT.doprint(rhs) for lhs, rhs in bptt(lstm(4, (1, 2, 2)))}
    assert lstm_lines["δ_s_t"] == "δ_t ⊙ o_t ⊙ tanh'(s_t) + δ_s_{t+1} ⊙ f_{t+1}"  # the cell state's own recursion
    gru_lines = {TEXT.doprint(lhs): TEXT.doprint(rhs) for lhs, rhs in bptt(gru(4, (1, 2, 2)))}
    assert gru_lines["∂L/∂b_z"] == "-δ_1 ⊙ n_1 ⊙ σ'(u_z_1) + Σ_{t=2}^T (δ_t ⊙ h_{t-1} - δ_t ⊙ n_t) ⊙ σ'(u_z_t)"
    with pytest.raises(GraphError, match="at least 3"):
        bptt(elman_rnn(2, (1, 1, 2)))


def test_shared_weight_gradient_is_the_sum_of_per_step_path_sums():
    f = sp.Function("f")
    graph = elman_rnn(3, (1, 2, 1), activation=f, loss="squared_error", outputs="last")
    scalar = sbp.tensor.scalar_graph(graph)
    derivation = sbp.tensor.derive(graph)
    terms = derivation.gradient(graph.tensor("W")).args  # δ_u_3 h_2ᵀ + δ_u_2 h_1ᵀ: one term per step
    for w in ("W_1_1", "W_1_2", "W_2_1", "W_2_2"):
        assert sp.expand(derivation.entry(w) - sbp.gradient(scalar, w)) == 0
        by_step: dict = {}
        for path in sbp.paths(scalar, w):  # the first node after w is u_k: the step the path enters at
            step = int(re.match(r"u_(\d+)_", path.nodes[1].name).group(1))
            by_step[step] = by_step.get(step, 0) + path.term
        assert sorted(by_step) == [2, 3]
        i, j = int(w[2]) - 1, int(w[4]) - 1
        for term in terms:
            step = int(re.search(r"h_(\d+)", TEXT.doprint(term)).group(1)) + 1
            entry = derivation.entries(term)[2 * i + j]
            assert sp.expand(entry - by_step[step]) == 0, (w, step)


def test_rnn_rejects_bad_sizes():
    with pytest.raises(GraphError, match="three positive integers"):
        elman_rnn(3, (2, 3))
    with pytest.raises(GraphError, match="time steps"):
        elman_rnn(0, (2, 3, 2))


def test_unrolled_rnn_handout_shows_bptt_and_the_entry_by_step(tmp_path):
    graph = elman_rnn(3, (1, 2, 1), loss="squared_error", outputs="last")
    h = sbp.sequence_handout(graph, wrt=["W_1_2"], optimizers=[])
    titles = [s.title.parts[0] for s in h.document.sections if s.title.parts]
    assert titles[:2] == ["The network", "The matrix form"]
    tex = h.tex()
    assert r"\sum_{t=2}^{T}" in tex and r"\left[\delta_{u_{2}} {h_{1}}^{\top}\right]_{1,2} &=" in tex
    assert "<math" in h.html()
    written = h.save(tmp_path / "rnn", pdf=False)
    assert any(p.name == "rnn-paths_01_W_1_2.svg" for p in written)


def test_attention_handout_in_russian():
    h = sbp.sequence_handout(sbp.tensor.attention_graph(2, 2, causal=True), wrt="W_Q_1_2", lang="ru", optimizers=[])
    assert "Матричная форма" in h.html()
    assert r"\operatorname{diag}" in h.tex()


def test_handout_refuses_a_graph_too_large_to_draw_entry_by_entry():
    with pytest.raises(sbp.SymbackpropError, match="draws every scalar entry"):
        sbp.sequence_handout(sbp.tensor.transformer_block(4, 5, 8), wrt="W_E_1_1")


@pytest.mark.parametrize("cell", [gru, lstm])
def test_gated_cells_entries_are_the_scalar_path_sums(cell):
    graph = cell(2, (1, 1, 1), loss="squared_error", outputs="last")
    scalar, derivation = sbp.tensor.scalar_graph(graph), sbp.tensor.derive(graph)
    for name in [t.name for t in graph.parameters if t.name.startswith(("W_", "U_"))]:
        w = f"{name}_1_1"
        entry = derivation.entry(w)
        assert entry != 0
        assert sp.expand(scalar.expand(entry - sbp.gradient(scalar, w))) == 0, w


def test_a_multi_head_attention_handout_fits_its_entry_and_prints_every_slice():
    """Two heads: the δ of each head is a slice of W_Oᵀ δ_M (LaTeX ``_{3:4}``), and the entry of
    ∂L/∂W_Q, thousands of symbols written out, is shown in the δ entries, with a sentence saying so."""
    graph = sbp.tensor.attention_graph(tokens=3, d_model=4, heads=2)
    assert r"{\left({W_{O}}^{\top} \delta_{M}\right)}_{3:4}" in sbp.tensor.derive(graph).latex()
    h = sbp.sequence_handout(graph, wrt="W_Q1_1_2", optimizers=[])
    tex = h.tex()
    assert (r"\left[\delta_{Q}^{(1)} {X}^{\top}\right]_{1,2} &= X_{2 1} \cdot \delta_{Q^{(1)}_{11}} + "
            r"X_{2 2} \cdot \delta_{Q^{(1)}_{12}} + X_{2 3} \cdot \delta_{Q^{(1)}_{13}}") in tex
    assert "too long for a line" in tex
    rnn = sbp.sequence_handout(elman_rnn(3, (1, 2, 1), loss="squared_error", outputs="last"), wrt="W_1_2",
                               optimizers=[])
    assert "too long for a line" not in rnn.tex()  # short path sums are written out in full


@pytest.mark.parametrize("wrt", [None, 3, []])
def test_sequence_handout_needs_entries_to_expand(wrt):
    with pytest.raises(sbp.SymbackpropError, match="wrt names the parameter entries"):
        sbp.sequence_handout(elman_rnn(3, (1, 2, 1)), wrt=wrt)
