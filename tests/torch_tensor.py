"""A PyTorch reference for tensor graphs: each operation of a graph's *forward* definitions
evaluated by torch (one sample at a time under ``torch.vmap``), differentiated by
``torch.autograd``. It shares nothing with the package's vector-Jacobian rules or generated
code: only the op names and attributes of the definitions are read."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

import symbackprop as sbp

torch.set_num_threads(1)

FUNCTIONS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "exp": torch.exp,
             "log": torch.log, "softplus": F.softplus, "sin": torch.sin}


def _add(op, *terms):
    ndim = max(t.dim() for t in terms)
    total = 0
    for t in terms:
        total = total + t.reshape(t.shape + (1,) * (ndim - t.dim()))
    return total


def _axes(op, x):
    return tuple(range(x.dim())) if op.axes is None else (op.axes if isinstance(op.axes, tuple) else (op.axes,))


TORCH = {
    "add": _add,
    "scale": lambda op, x: float(op.factor) * x,
    "hadamard": lambda op, a, b: a * b,
    "elementwise": lambda op, x: FUNCTIONS[op.function.__name__](x),
    "matmul": lambda op, a, b: a @ b,
    "outer": lambda op, a, b: torch.outer(a, b),
    "dot": lambda op, a, b: torch.dot(a, b),
    "transpose": lambda op, x: x.T,
    "reshape": lambda op, x: x.reshape(op.to),
    "flatten": lambda op, x: x.reshape(-1),
    "concat": lambda op, *xs: torch.cat(xs, dim=op.axis),
    "sum": lambda op, x: x.sum(dim=_axes(op, x)),
    "mean": lambda op, x: x.mean(dim=_axes(op, x)),
    "softmax": lambda op, z: torch.softmax(z, dim=-1),
    "squared_error": lambda op, o, y: 0.5 * ((o - y) ** 2).sum(),
    "binary_cross_entropy": lambda op, z, y: F.binary_cross_entropy_with_logits(z, y, reduction="sum"),
    "softmax_cross_entropy": lambda op, z, y: -(y * torch.log_softmax(z, dim=-1)).sum(),
    "squared_norm": lambda op, w: (w ** 2).sum(),
    "conv1d": lambda op, x, k: F.conv1d(x, k, stride=op.stride, padding=op.padding),
    "conv2d": lambda op, x, k: F.conv2d(x, k, stride=op.stride, padding=op.padding),
    "max_pool1d": lambda op, x: F.max_pool1d(x, op.size, op.stride),
    "max_pool2d": lambda op, x: F.max_pool2d(x, op.size, op.stride),
    "avg_pool1d": lambda op, x: F.avg_pool1d(x, op.size, op.stride),
    "avg_pool2d": lambda op, x: F.avg_pool2d(x, op.size, op.stride),
}


def evaluate(expr, values: dict):
    """A tensor expression of one sample, in torch."""
    if isinstance(expr, sbp.tensor.Scalar):
        return torch.tensor(float(expr.value), dtype=torch.float64)
    if isinstance(expr, sbp.tensor.Tensor):
        return values[expr]
    return TORCH[expr.op.name](expr.op, *[evaluate(a, values) for a in expr.args])


def parameter_tensors(graph, flat: torch.Tensor) -> dict:
    """Each parameter as a strided view of the flat vector, by the graph's layout."""
    return {p: flat.as_strided(p.shape, strides, start) for p, (start, strides) in graph.layout.items()}


def loss_and_gradient(graph, params, X, Y):
    """The batch mean of the output and its gradient over the flat vector, by autograd."""
    flat = torch.tensor(np.asarray(params, dtype=np.float64), requires_grad=True)
    weights = parameter_tensors(graph, flat)
    data = [*graph.inputs, *graph.targets]
    columns = []
    for tensors, array in ((graph.inputs, X), (graph.targets, Y)):
        start = 0
        for t in tensors:
            n = int(np.prod(t.shape))
            columns.append(torch.tensor(np.asarray(array, dtype=np.float64)[:, start:start + n]).reshape(-1, *t.shape))
            start += n

    def per_sample(*samples):
        values = {**weights, **dict(zip(data, samples))}
        for node, expr in graph.definitions.items():
            values[node] = evaluate(expr, values)
        return values[graph.output]

    value = torch.vmap(per_sample)(*columns).mean()
    value.backward()
    return value.item(), flat.grad.numpy()


def predictions(graph, params, X) -> np.ndarray:
    flat = torch.tensor(np.asarray(params, dtype=np.float64))
    weights = parameter_tensors(graph, flat)
    start, columns = 0, []
    for t in graph.inputs:
        n = int(np.prod(t.shape))
        columns.append(torch.tensor(np.asarray(X, dtype=np.float64)[:, start:start + n]).reshape(-1, *t.shape))
        start += n

    needed = set(graph.predictions).union(*(graph.ancestors(p) for p in graph.predictions))

    def per_sample(*samples):
        values = {**weights, **dict(zip(graph.inputs, samples))}
        for node, expr in graph.definitions.items():
            if node in needed:
                values[node] = evaluate(expr, values)
        return torch.cat([values[p].reshape(-1) for p in graph.predictions])

    return torch.vmap(per_sample)(*columns).numpy()
