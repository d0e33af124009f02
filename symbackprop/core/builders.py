"""Ready-made networks: the lecture's 2-2-1 example and dense multilayer perceptrons.

Names follow the lecture: ``w_ij`` connects unit ``i`` of one layer to unit ``j`` of the next.
In an MLP, layer ``l`` has pre-activations ``u{l}_{j}`` and activations ``a{l}_{j}``, weights
``w{l}_{i}_{j}`` and biases ``b{l}_{j}`` (printed ``w^{(l)}_{ij}``, ``b^{(l)}_{j}``); inputs are
``x1 … xn`` and targets ``y`` (one output) or ``y1 … yK``.

>>> g = mlp((2, 3, 1), loss="squared_error")
>>> len(g.parameters), g.output
(13, L)
"""

from __future__ import annotations

from typing import Callable, Sequence

import sympy as sp

from .errors import GraphError
from .functions import activation as chosen_activation
from .functions import identity, sigmoid, tanh
from .graph import Graph
from .tensor.base import Tensor
from .tensor.graph import TensorGraph
from .tensor.ops import (apply_function, binary_cross_entropy, dot, softmax, softmax_cross_entropy,
                         squared_error)
from .tensor.scalar import ScalarView

__all__ = ["lecture_network", "mlp", "LOSSES"]

LOSSES = ("squared_error", "binary_cross_entropy", "softmax_cross_entropy")


def lecture_network(activation: Callable = sp.Function("f"), loss: str | None = None) -> Graph:
    """The lecture's network: inputs x1, x2; layers z (weights w), m (weights p); a = s1·m1 + s2·m2.

    ``activation`` defaults to an undefined function ``f`` (derivatives print ``f'``). With
    ``loss="squared_error"`` a node ``L = (a - y)²/2`` with target ``y`` is added and becomes
    the output. In matrix form (``.tensor``): ``z = f(W x)``, ``m = f(P z)``, ``a = sᵀ m`` with
    ``W[j, i] = w_ij``; the scalar definitions are its view, unit by unit. ``activation`` may be
    named (``"tanh"``).
    """
    activation = chosen_activation(activation, "activation")
    x = Tensor("x", 2, entries="x{0}")
    W, P = Tensor("W", (2, 2), entries="w{1}{0}"), Tensor("P", (2, 2), entries="p{1}{0}")
    z, m, s, a = Tensor("z", entries="z{0}"), Tensor("m", entries="m{0}"), Tensor("s", 2, entries="s{0}"), Tensor("a")
    definitions = {z: apply_function(activation, W @ x), m: apply_function(activation, P @ z), a: dot(s, m)}
    if loss is None:
        return ScalarView(TensorGraph(definitions, inputs=[x]), scalar_code=True)
    if loss != "squared_error":
        raise GraphError(f"the lecture's network takes loss='squared_error' or None, not {loss!r}")
    y, L = Tensor("y", ()), Tensor("L")
    definitions[L] = squared_error(a, y)
    return ScalarView(TensorGraph(definitions, inputs=[x], targets=[y], output=L, predictions=[a]), scalar_code=True)


def _check_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    sizes = tuple(sizes)
    if len(sizes) < 2 or any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in sizes):
        raise GraphError(f"mlp sizes must be at least two positive integers (inputs, …, outputs), not {sizes}")
    return sizes


def mlp(sizes: Sequence[int], activation: Callable = tanh, loss: str | None = None,
        bias: bool = True, output_activation: Callable = identity) -> Graph:
    """A dense network with layer sizes ``sizes = (inputs, hidden…, outputs)``.

    ``activation`` (a function, or a name such as ``"relu"``) is used in the hidden layers,
    ``output_activation`` in the last one (ignored
    by the cross-entropy losses, which fix it: σ for binary, softmax for softmax cross-entropy,
    both fused into a numerically stable loss). ``loss``:

    - ``"squared_error"``: ``L = Σ_k (a_k − y_k)² / 2``;
    - ``"binary_cross_entropy"``: ``L = Σ_k softplus(u_k) − y_k u_k``, i.e.
      ``−[y log σ(u) + (1 − y) log(1 − σ(u))]``;
    - ``"softmax_cross_entropy"``: ``L = LSE(u) − Σ_k y_k u_k`` with one-hot targets, i.e.
      ``−Σ_k y_k log softmax_k(u)``.

    The network is built as a tensor graph (``.tensor``: ``u^(l) = W^(l) a^(l-1) + b^(l)``,
    ``a^(l) = f(u^(l))``), which is what ``compile`` runs; the scalar definitions
    (``u1_2 = Σ_i w1_i_2·x_i + b1_2``) are its view, built when first asked for.
    """
    sizes = _check_sizes(sizes)
    activation = chosen_activation(activation, "activation")
    output_activation = chosen_activation(output_activation, "output_activation")
    if loss is not None and loss not in LOSSES:
        raise GraphError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    if loss == "softmax_cross_entropy" and sizes[-1] < 2:
        raise GraphError("softmax cross-entropy needs at least two outputs (classes)")
    depth = len(sizes) - 1
    x = Tensor("x", sizes[0], entries="x{0}")
    definitions: dict = {}
    adjoints: dict = {}
    layout: dict = {}
    start, previous = 0, x
    for layer in range(1, depth + 1):
        fan_in, width, last = sizes[layer - 1], sizes[layer], layer == depth
        W = Tensor(f"W^({layer})", (width, fan_in), entries=f"w{layer}_{{1}}_{{0}}")
        total = W @ previous
        if bias:  # each unit's bias, then its weights: the order of first use in the scalar view
            b = Tensor(f"b^({layer})", width, entries=f"b{layer}_{{0}}")
            total = total + b
            layout[b], layout[W] = (start, (fan_in + 1,)), (start + 1, (fan_in + 1, 1))
        else:
            layout[W] = (start, (fan_in, 1))
        start += width * (fan_in + bias)
        f = activation if not last else (identity if loss in LOSSES[1:] else output_activation)
        if f is identity:
            pre = node = Tensor(f"{'u' if last and loss in LOSSES[1:] else 'a'}^({layer})")
            definitions[node] = total
        else:
            pre, node = Tensor(f"u^({layer})"), Tensor(f"a^({layer})")
            definitions[pre] = total
            definitions[node] = apply_function(f, pre)
        adjoints[pre] = f"δ^({layer})"
        previous = node

    outputs = previous
    if loss is None:
        return ScalarView(TensorGraph(definitions, inputs=[x], output=outputs, predictions=[outputs],
                                      adjoints=adjoints, layout=layout))
    y = Tensor("y", sizes[-1], entries="y" if sizes[-1] == 1 else "y{0}")
    L = Tensor("L")
    if loss == "squared_error":
        predictions = outputs
        definitions[L] = squared_error(outputs, y)
    else:
        predictions = Tensor(f"a^({depth})")
        fused = binary_cross_entropy if loss == "binary_cross_entropy" else softmax_cross_entropy
        definitions[predictions] = (apply_function(sigmoid, outputs) if loss == "binary_cross_entropy"
                                    else softmax(outputs))
        definitions[L] = fused(outputs, y)
    return ScalarView(TensorGraph(definitions, inputs=[x], targets=[y], output=L, predictions=[predictions],
                                  adjoints=adjoints, layout=layout))
