"""A PyTorch dense network built from ``mlp``'s parameter names alone (``w{l}_{i}_{j}`` is
``W^(l)[j-1, i-1]``, ``b{l}_{j}`` is ``b^(l)[j-1]``): a reference for the layer view that shares
nothing with the package's recognition, derivation or generated code."""

from __future__ import annotations

import re

import numpy as np
import torch

# Small tensors: one thread is faster, and on a busy 2-core CI machine many times faster.
torch.set_num_threads(1)

ACTIVATIONS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
               "softplus": torch.nn.functional.softplus, "identity": lambda u: u}


def layer_tensors(params, names, sizes) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """``W^(l)`` and ``b^(l)`` (float64 leaf tensors that require grad) from a flat vector."""
    W = [np.zeros((sizes[l], sizes[l - 1])) for l in range(1, len(sizes))]
    b = [np.zeros(sizes[l]) for l in range(1, len(sizes))]
    for value, name in zip(params, names):
        layer, *index = map(int, re.findall(r"\d+", name))
        if name.startswith("w"):
            W[layer - 1][index[1] - 1, index[0] - 1] = value
        else:
            b[layer - 1][index[0] - 1] = value
    as_leaf = lambda a: torch.tensor(a, dtype=torch.float64, requires_grad=True)  # noqa: E731
    return [as_leaf(w) for w in W], [as_leaf(v) for v in b]


def flat_gradient(W, b, names) -> np.ndarray:
    """The gradients of ``W`` and ``b`` back in the flat vector's order."""
    out = np.zeros(len(names))
    for k, name in enumerate(names):
        layer, *index = map(int, re.findall(r"\d+", name))
        out[k] = (W[layer - 1].grad[index[1] - 1, index[0] - 1] if name.startswith("w")
                  else b[layer - 1].grad[index[0] - 1]).item()
    return out


def logits(W, b, X, activation: str, output_activation: str = "identity") -> torch.Tensor:
    """The last layer's outputs: hidden layers apply ``activation``, the last ``output_activation``."""
    a = torch.as_tensor(X, dtype=torch.float64)
    for l, (weight, bias) in enumerate(zip(W, b)):
        a = ACTIVATIONS[activation if l < len(W) - 1 else output_activation](a @ weight.T + bias)
    return a


def per_sample_loss(z: torch.Tensor, Y, loss: str) -> torch.Tensor:
    Y = torch.as_tensor(Y, dtype=torch.float64)
    if loss == "squared_error":
        return ((z - Y) ** 2).sum(dim=1) / 2
    if loss == "binary_cross_entropy":
        return torch.nn.functional.binary_cross_entropy_with_logits(z, Y, reduction="none").sum(dim=1)
    return torch.nn.functional.cross_entropy(z, Y.argmax(dim=1), reduction="none")
