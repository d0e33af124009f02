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
from .functions import identity, logsumexp, sigmoid, softplus, tanh
from .graph import Graph

__all__ = ["lecture_network", "mlp", "LOSSES"]

LOSSES = ("squared_error", "binary_cross_entropy", "softmax_cross_entropy")


def lecture_network(activation: Callable = sp.Function("f"), loss: str | None = None) -> Graph:
    """The lecture's network: inputs x1, x2; layers z (weights w), m (weights p); a = s1·m1 + s2·m2.

    ``activation`` defaults to an undefined function ``f`` (derivatives print ``f'``). With
    ``loss="squared_error"`` a node ``L = (a - y)²/2`` with target ``y`` is added and becomes
    the output. ``activation`` may be named (``"tanh"``).
    """
    activation = chosen_activation(activation, "activation")
    x1, x2, z1, z2, m1, m2, a = sp.symbols("x1 x2 z1 z2 m1 m2 a")
    w11, w12, w21, w22, p11, p12, p21, p22, s1, s2 = sp.symbols("w11 w12 w21 w22 p11 p12 p21 p22 s1 s2")
    definitions = {
        z1: activation(w11 * x1 + w21 * x2),
        z2: activation(w12 * x1 + w22 * x2),
        m1: activation(p11 * z1 + p21 * z2),
        m2: activation(p12 * z1 + p22 * z2),
        a: s1 * m1 + s2 * m2,
    }
    if loss is None:
        return Graph(definitions, inputs=[x1, x2])
    if loss != "squared_error":
        raise GraphError(f"the lecture's network takes loss='squared_error' or None, not {loss!r}")
    y, L = sp.symbols("y L")
    definitions[L] = (a - y) ** 2 / 2
    return Graph(definitions, inputs=[x1, x2], targets=[y], output=L, predictions=[a])


def _check_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    sizes = tuple(sizes)
    if len(sizes) < 2 or any(not isinstance(n, int) or n < 1 for n in sizes):
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
    """
    sizes = _check_sizes(sizes)
    activation = chosen_activation(activation, "activation")
    output_activation = chosen_activation(output_activation, "output_activation")
    if loss is not None and loss not in LOSSES:
        raise GraphError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    depth = len(sizes) - 1
    inputs = list(sp.symbols(f"x1:{sizes[0] + 1}"))
    definitions: dict[sp.Symbol, sp.Expr] = {}
    previous = inputs
    for layer in range(1, depth + 1):
        last = layer == depth
        f = activation if not last else (identity if loss in LOSSES[1:] else output_activation)
        current = []
        for j in range(1, sizes[layer] + 1):
            total = sp.Add(*[sp.Symbol(f"w{layer}_{i}_{j}") * a for i, a in enumerate(previous, 1)])
            if bias:
                total += sp.Symbol(f"b{layer}_{j}")
            if f is identity:
                node = sp.Symbol(f"a{layer}_{j}" if not (last and loss in LOSSES[1:]) else f"u{layer}_{j}")
                definitions[node] = total
            else:
                u, node = sp.Symbol(f"u{layer}_{j}"), sp.Symbol(f"a{layer}_{j}")
                definitions[u] = total
                definitions[node] = f(u)
            current.append(node)
        previous = current

    outputs = previous
    if loss is None:
        return Graph(definitions, inputs=inputs, output=outputs[0], predictions=outputs)
    targets = [sp.Symbol("y")] if len(outputs) == 1 else list(sp.symbols(f"y1:{len(outputs) + 1}"))
    L = sp.Symbol("L")
    if loss == "squared_error":
        predictions = outputs
        definitions[L] = sp.Add(*[(a - y) ** 2 for a, y in zip(outputs, targets)]) / 2
    elif loss == "binary_cross_entropy":
        predictions = [sp.Symbol(f"a{depth}_{k}") for k in range(1, len(outputs) + 1)]
        definitions.update({p: sigmoid(u) for p, u in zip(predictions, outputs)})
        definitions[L] = sp.Add(*[softplus(u) - y * u for u, y in zip(outputs, targets)])
    else:
        if len(outputs) < 2:
            raise GraphError("softmax cross-entropy needs at least two outputs (classes)")
        lse = logsumexp(*outputs)
        predictions = [sp.Symbol(f"a{depth}_{k}") for k in range(1, len(outputs) + 1)]
        definitions.update({p: sp.exp(u - lse) for p, u in zip(predictions, outputs)})
        definitions[L] = lse - sp.Add(*[y * u for u, y in zip(outputs, targets)])
    return Graph(definitions, inputs=inputs, targets=targets, output=L, predictions=predictions)
