"""Tensor networks: any layer written once in matrix form, derived as δ equations.

The tensor level of the package (``sbp.tensor``): named tensors with shapes, the op table (each
operation's forward and vector-Jacobian rules side by side), graphs of tensor definitions, their
backward pass as textbook equations, and their scalar view (each entry a path sum).

>>> import symbackprop as sbp
>>> T = sbp.tensor
>>> x, y = T.Tensor("x", 4), T.Tensor("y", 3)
>>> W, b, V = T.Tensor("W", (5, 4)), T.Tensor("b", 5), T.Tensor("V", (3, 5))
>>> u, h, o, L = T.Tensor("u"), T.Tensor("h"), T.Tensor("o"), T.Tensor("L")
>>> g = T.Graph({u: W @ x + b, h: T.tanh(u), o: V @ h + T.Tensor("c", 3), L: T.squared_error(o, y)},
...             inputs=[x], targets=[y])
>>> print(T.derive(g).text())
δ_o = o - y
∂L/∂V = δ_o hᵀ
∂L/∂c = δ_o
δ_u = Vᵀ δ_o ⊙ tanh'(u)
∂L/∂W = δ_u xᵀ
∂L/∂b = δ_u
>>> T.scalar_graph(g).definitions[T.scalar_graph(g).symbol("u2")]
W_2_1*x1 + W_2_2*x2 + W_2_3*x3 + W_2_4*x4 + b2
"""

from __future__ import annotations

import sympy as sp

from .. import functions as _functions
from . import conv as _conv, ops as _ops  # noqa: F401  (they fill the op table)
from .conv import avg_pool1d, avg_pool2d, conv1d, conv2d, max_pool1d, max_pool2d
from .base import OPS, Apply, Op, Scalar, ShapeError, Tensor, TensorExpr, shape_text
from .derive import Adjoint, Gradient, TensorDerivation, TensorEquation, as_tensor_graph, derive_tensor
from .graph import TensorGraph
from .ops import (apply_function, binary_cross_entropy, concat, dot, flatten, hadamard, matmul, mean, outer,
                  reshape, softmax, softmax_cross_entropy, squared_error, squared_norm, transpose, tsum)
from .scalar import ScalarView, scalar_graph
from .attention import attention_graph, causal_softmax, self_attention, token_cross_entropy, transformer_block
from .norm import batch_norm, batch_normalize, dropout, layer_norm, normalize
from .sequence import bptt, elman_rnn, gru, lstm

Graph = TensorGraph
derive = derive_tensor

__all__ = ["OPS", "Op", "Apply", "Scalar", "Tensor", "TensorExpr", "ShapeError", "shape_text", "Graph",
           "TensorGraph", "derive", "derive_tensor", "TensorDerivation", "TensorEquation", "Adjoint", "Gradient",
           "ScalarView", "scalar_graph", "as_tensor_graph", "apply", "tanh", "sigmoid", "relu", "softplus", "exp",
           "log", "matmul", "outer", "dot", "transpose", "hadamard", "reshape", "flatten", "concat", "sum",
           "mean", "softmax", "squared_error", "binary_cross_entropy", "softmax_cross_entropy", "squared_norm",
           "conv1d", "conv2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
           "elman_rnn", "lstm", "gru", "bptt", "normalize", "batch_normalize", "layer_norm", "batch_norm",
           "dropout", "causal_softmax", "token_cross_entropy", "self_attention", "attention_graph",
           "transformer_block"]

apply = apply_function
sum = tsum  # noqa: A001  (sbp.tensor.sum, as numpy.sum)


def tanh(x): return apply_function(sp.tanh, x)                  # noqa: E704
def sigmoid(x): return apply_function(_functions.sigmoid, x)    # noqa: E704
def relu(x): return apply_function(_functions.relu, x)          # noqa: E704
def softplus(x): return apply_function(_functions.softplus, x)  # noqa: E704
def exp(x): return apply_function(sp.exp, x)                    # noqa: E704
def log(x): return apply_function(sp.log, x)                    # noqa: E704
