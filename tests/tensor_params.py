"""Moving parameters between a tensor graph's flat vector and named arrays (PyTorch's tensors in
the reference tests): each parameter sits where ``graph.layout`` places it."""

from __future__ import annotations

import numpy as np
import torch

torch.set_num_threads(1)


def flat(graph, arrays: dict) -> np.ndarray:
    """The flat parameter vector holding ``arrays[name]`` for every parameter of ``graph``."""
    vector = np.zeros(graph.size)
    for p in graph.parameters:
        start, strides = graph.layout[p]
        value = np.asarray(arrays[p.name], dtype=float).reshape(p.shape)
        view = np.lib.stride_tricks.as_strided(vector[start:], p.shape, [s * 8 for s in strides])
        view[...] = value
    return vector


def unflat(graph, vector) -> dict:
    """``{name: array}`` of every parameter read from the flat vector ``vector``."""
    vector = np.ascontiguousarray(vector, dtype=float)
    out = {}
    for p in graph.parameters:
        start, strides = graph.layout[p]
        out[p.name] = np.lib.stride_tricks.as_strided(vector[start:], p.shape, [s * 8 for s in strides]).copy()
    return out


def t64(array, grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(array, dtype=float), dtype=torch.float64, requires_grad=grad)


def close(ours, theirs, tol: float = 1e-10) -> None:
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    ours = np.asarray(ours).reshape(theirs.shape)
    scale = max(1.0, float(np.max(np.abs(theirs))))
    assert np.max(np.abs(ours - theirs)) <= tol * scale, (ours, theirs)
