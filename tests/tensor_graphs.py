"""Hypothesis strategies for tensor graphs: random stacks of the op table's operations.

A drawn graph starts from a vector input (sometimes a C×H×W map that goes through a convolution
and a pooling first), applies three to six random steps (a dense layer, an elementwise
function, a gate ⊙, a skip connection, a tied weight Wᵀ, a concatenation, a softmax, a scaling,
an outer product flattened) and ends in one of the three losses, sometimes plus an L2 penalty.
Shapes stay small, so the scalar view is cheap too.
"""

from __future__ import annotations

import sympy as sp
from hypothesis import strategies as st

import symbackprop as sbp

T = sbp.tensor
FUNCTIONS = [T.tanh, T.sigmoid, T.softplus, T.relu]


@st.composite
def tensor_graphs(draw) -> T.Graph:
    counter = iter(range(1000))

    def tensor(stem: str, shape=None) -> T.Tensor:
        return T.Tensor(f"{stem}{next(counter)}", shape)

    definitions: dict = {}
    weights: list[T.Tensor] = []

    def node(expr) -> T.Tensor:
        name = tensor("h")
        definitions[name] = expr
        return name

    def dense(h, n, m, bias=True):
        W = tensor("W", (m, n))
        weights.append(W)
        return W @ h + tensor("b", m) if bias else W @ h

    size = draw(st.integers(2, 4))
    if draw(st.booleans()):  # a small convolutional front
        x = T.Tensor("x", (1, 4, 4))
        channels = draw(st.integers(1, 2))
        K = tensor("K", (channels, 1, 3, 3))
        weights.append(K)
        u = node(draw(st.sampled_from(FUNCTIONS))(T.conv2d(x, K, padding=draw(st.sampled_from([0, 1])))
                                                   + tensor("c", channels)))
        pool = draw(st.sampled_from([T.max_pool2d, T.avg_pool2d]))
        pooled = node(T.flatten(pool(u, 2, stride=draw(st.sampled_from([1, 2])))))
        h, n = pooled, None
    else:
        x = T.Tensor("x", size)
        h, n = x, size
    shapes: dict = {}

    def width(t) -> int:
        return n if n is not None else shapes[t]

    for _ in range(draw(st.integers(3, 6))):
        if n is None:  # the pooled map's length: known once the graph infers it
            n = T.Graph({**definitions, T.Tensor("end"): T.squared_norm(h)}, inputs=[x]).shape(h)[0]
        step = draw(st.sampled_from(["dense", "function", "gate", "skip", "tied", "concat", "softmax",
                                     "scale", "outer"]))
        m = draw(st.integers(2, 4))
        if step == "dense":
            h, n = node(dense(h, n, m, draw(st.booleans()))), m
        elif step == "function":
            h = node(draw(st.sampled_from(FUNCTIONS))(h))
        elif step == "gate":
            h = node(h * T.sigmoid(dense(h, n, n)))
        elif step == "skip":
            h = node(T.tanh(dense(h, n, n, bias=False)) + h)
        elif step == "tied" and any(W.shape[0] == n and len(W.shape) == 2 for W in weights):
            W = next(W for W in weights if W.shape[0] == n and len(W.shape) == 2)
            h, n = node(T.tanh(W.T @ h)), W.shape[1]
        elif step == "concat":
            h, n = node(T.concat(h, T.tanh(dense(h, n, m)))), n + m
        elif step == "softmax":
            h = node(T.softmax(h))
        elif step == "scale":
            h = node(draw(st.sampled_from([sp.Rational(1, 2), -2, 3])) * h)
        elif step == "outer" and n <= 3:
            h, n = node(T.flatten(T.outer(h, T.tanh(dense(h, n, 2))))), 2 * n

    loss = draw(st.sampled_from(["squared_error", "binary_cross_entropy", "softmax_cross_entropy"]))
    classes = draw(st.integers(2, 3))
    y = T.Tensor("y", classes)
    z = node(dense(h, n, classes))
    L = T.Tensor("L")
    definitions[L] = getattr(T, loss)(z, y)
    if draw(st.booleans()):
        definitions[L] = definitions[L] + sp.Rational(1, 20) * T.squared_norm(weights[0])
    return T.Graph(definitions, inputs=[x], targets=[y], output=L, predictions=[z])
