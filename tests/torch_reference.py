"""PyTorch references for the compiled models: the graph's output, expanded to leaves and
evaluated by torch (float64), differentiated by ``torch.autograd``, trained by ``torch.optim``.

Nothing here uses the package's derivation: only the graph's definitions, which SymPy expands
and ``lambdify`` turns into torch calls.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp
import torch
from sympy.printing.lambdarepr import LambdaPrinter

import symbackprop as sbp

# Tiny tensors: one thread is fastest, and threads spinning on a busy 2-core machine are slow.
torch.set_num_threads(1)

TORCH_FUNCTIONS = {
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "softplus": lambda u: torch.logaddexp(torch.zeros_like(u), u),
    "logsumexp": lambda *args: torch.logsumexp(torch.stack(torch.broadcast_tensors(*args)), 0),
    "math": torch,  # the printer writes math.tanh, math.exp, math.log: torch has them all
    "max": lambda *args: functools.reduce(torch.maximum, map(torch.as_tensor, args)),
    "min": lambda *args: functools.reduce(torch.minimum, map(torch.as_tensor, args)),
    "abs": torch.abs,
}


def torch_loss(graph: sbp.Graph):
    """``(P, X, Y) → batch mean of the output`` in torch, for a graph with concrete functions."""
    symbols = [*graph.parameters, *graph.inputs, *graph.targets]
    expanded = graph.expand(graph.definitions[graph.output])
    # Plain Python printing, names resolved in torch's namespace (SymPy's TorchPrinter does not
    # know the package's own functions).
    printer = LambdaPrinter({"allow_unknown_functions": True})
    function = sp.lambdify(symbols, expanded, modules=[TORCH_FUNCTIONS, torch], printer=printer)

    def loss(P: torch.Tensor, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        value = function(*P.unbind(), *X.T.unbind(), *Y.T.unbind())
        return torch.broadcast_to(value, (X.shape[0],)).mean()

    return loss


def torch_loss_and_gradient(graph: sbp.Graph, params, X, Y) -> tuple[float, np.ndarray]:
    P = torch.tensor(params, dtype=torch.float64, requires_grad=True)
    value = torch_loss(graph)(P, torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64))
    value.backward()
    return value.item(), P.grad.numpy()


def relative_error(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def torch_mlp_loss(graph: sbp.Graph, activation=torch.tanh):
    """The same batch-mean loss for a softmax cross-entropy ``mlp`` graph, written as torch
    layers (matrices gathered from the flat vector by parameter name): fast enough for long runs."""
    position = {p.name: i for i, p in enumerate(graph.parameters)}
    depth = max(int(name[1:].split("_")[0]) for name in position if name.startswith("w"))
    layers = []
    for layer in range(1, depth + 1):
        fan_in = max(int(n.split("_")[1]) for n in position if n.startswith(f"w{layer}_"))
        fan_out = max(int(n.split("_")[2]) for n in position if n.startswith(f"w{layer}_"))
        weights = [[position[f"w{layer}_{i}_{j}"] for j in range(1, fan_out + 1)] for i in range(1, fan_in + 1)]
        biases = [position[f"b{layer}_{j}"] for j in range(1, fan_out + 1)]
        layers.append((torch.tensor(weights), torch.tensor(biases)))

    def loss(P: torch.Tensor, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        a = X
        for k, (weights, biases) in enumerate(layers):
            a = a @ P[weights] + P[biases]
            if k < len(layers) - 1:
                a = activation(a)
        return torch.nn.functional.cross_entropy(a, Y)

    return loss
