"""Normalization: layer norm, batch norm (training mode) and dropout with a fixed mask.

``x̂ = (x − μ) / σ`` with ``μ`` the mean and ``σ = √(var + ε)`` of the entries normalized
together: the features of one sample (a vector, or each column of a matrix: one token) for layer
norm, or one feature across the batch for batch norm. Both have the same vector-Jacobian rule,

    δ_x = (δ − mean(δ) − x̂ ⊙ mean(δ ⊙ x̂)) / σ,

with the means over the same entries as the forward pass's. For batch norm those entries belong
to different samples: it is the one operation whose derivative **couples the samples of a
batch** (the gradient of one sample's input depends on every other sample's δ), so its rule
prints with ``mean_B`` and it has no per-sample scalar view.

==================  =================================  ==========================================
operation           forward                            vector-Jacobian rule
==================  =================================  ==========================================
``normalize``       ``x̂ = (x − mean(x)) / σ(x)``       ``(δ − mean(δ) − x̂ ⊙ mean(δ ⊙ x̂)) / σ(x)``
``batch_normalize`` the same over the batch            the same with ``mean_B``, ``σ_B``
==================  =================================  ==========================================

The affine part ``γ ⊙ x̂ + β`` and dropout ``x ⊙ m / (1 − p)`` are the op table's products and
sums (``layer_norm``, ``batch_norm``, ``dropout`` build them).

>>> from symbackprop.core.tensor.base import Tensor
>>> from symbackprop.render.tensor import TEXT
>>> x, d = Tensor("x", 3), Tensor("δ", 3)
>>> xhat = normalize(x)
>>> print(TEXT.doprint(xhat.op.vjp(xhat.args, xhat, d, 0)))
(δ - mean(δ) - normalize(x) ⊙ mean(δ ⊙ normalize(x))) / σ(x)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from ..errors import GraphError
from .base import Code, Op, ShapeError, Tensor, TensorExpr, as_expr, call, register, row_major, template
from .ops import Expand, _flat, hadamard, scale

__all__ = ["Normalize", "NormalizeBackward", "BatchNormalize", "BatchNormalizeBackward", "normalize",
           "batch_normalize", "layer_norm", "batch_norm", "dropout", "EPS"]

EPS = sp.Rational(1, 10**5)  # PyTorch's default ε (exact, so that the scalar view is exact)


# -- kernels (array module first: NumPy or jax.numpy) --------------------------------------------------

def mean_kernel(xp, x, axis):
    """The mean along ``axis``, kept as an axis of length 1. Along the last two axes it is a
    matrix product with a row of 1/n (BLAS), many times faster than a strided reduction."""
    n = x.shape[axis]
    if x.ndim >= 2 and axis == x.ndim - 1:
        return x @ xp.full((n, 1), 1 / n, dtype=x.dtype)
    if x.ndim >= 2 and axis == x.ndim - 2:
        return xp.full((1, n), 1 / n, dtype=x.dtype) @ x
    return x.mean(axis=axis, keepdims=True)


def normalize_parts(xp, x, axis, eps):
    """``(x̂, 1/σ)``: ``x̂ = (x − mean) / σ`` with ``σ = √(var + ε)`` along ``axis`` (the population
    variance, as PyTorch's norms), and ``1/σ``, which the backward rule reuses."""
    centred = x - mean_kernel(xp, x, axis)
    inverse_sigma = 1 / xp.sqrt(mean_kernel(xp, centred * centred, axis) + eps)
    return centred * inverse_sigma, inverse_sigma


def normalize_backward_kernel(xp, xhat, d, inverse_sigma, axis):
    """``(δ − mean(δ) − x̂ ⊙ mean(δ ⊙ x̂)) / σ(x)`` along ``axis``, ``1/σ`` from the forward pass."""
    return (d - mean_kernel(xp, d, axis) - xhat * mean_kernel(xp, d * xhat, axis)) * inverse_sigma


def _groups(shape, axis: int) -> list[list[int]]:
    """Flat positions normalized together: every index of ``shape`` that differs only along ``axis``."""
    found: dict = {}
    for index in row_major(shape):
        found.setdefault(index[:axis] + index[axis + 1:], []).append(_flat(index, shape))
    return list(found.values())


def _sigma(values) -> sp.Expr:
    mu = sp.Add(*values) / len(values)
    return sp.sqrt(sp.Add(*[(v - mu) ** 2 for v in values]) / len(values) + EPS)


@register
@dataclass(frozen=True)
class Normalize(Op):
    """``x̂ = (x − mean(x)) / σ(x)`` over the features of one sample (axis 0: a vector's
    entries, or each column of a d×T matrix, one token)."""

    name = "normalize"
    arity = 1
    mark: ClassVar[str] = ""  # "_B": the statistics are the batch's

    def shape(self, x):
        if not x or x[0] < 2:
            raise ShapeError("normalizing needs at least two features along the first axis")
        return x

    def entries(self, shapes, x):
        out = list(x)
        for group in _groups(shapes[0], 0):
            values = [x[k] for k in group]
            mu, sigma = sp.Add(*values) / len(values), _sigma(values)
            for k in group:
                out[k] = (x[k] - mu) / sigma
        return out

    def vjp(self, args, out, seed, i):
        return NormalizeBackward.apply(args[0], out, seed)

    def notation(self):
        return call(f"normalize{self.mark}", rf"\operatorname{{normalize}}{self.mark.replace('_B', '_{B}')}")

    def axis(self, x: Code) -> int:
        """The array axis the statistics are taken along: the features', or the batch's."""
        return int(x.batched)

    def parts(self, x: Code, ctx) -> str:
        """The variable holding ``normalize_parts`` of ``x``: computed once, forward and backward."""
        return ctx.share(f"normalize_parts({ctx.xp}, {x.text}, {self.axis(x)}, {float(EPS)!r})")

    def code(self, args, ctx):
        return f"{self.parts(args[0], ctx)}[0]"

    def kernels(self):
        return (mean_kernel, normalize_parts)


@register
@dataclass(frozen=True)
class NormalizeBackward(Normalize):
    """``(δ − mean(δ) − x̂ ⊙ mean(δ ⊙ x̂)) / σ(x)``: the normalization's Jacobian times ``δ``."""

    name = "normalize_backward"
    arity = 3

    def shape(self, x, xhat, d):
        if not x == xhat == d:
            raise ShapeError("the normalization's backward rule needs x, x̂ and δ of one shape")
        return x

    def entries(self, shapes, x, xhat, d):
        out = list(d)
        for group in _groups(shapes[0], 0):
            n, sigma = len(group), _sigma([x[k] for k in group])
            mean_d = sp.Add(*[d[k] for k in group]) / n
            mean_dx = sp.Add(*[d[k] * xhat[k] for k in group]) / n
            for k in group:
                out[k] = (d[k] - mean_d - xhat[k] * mean_dx) / sigma
        return out

    def vjp(self, args, out, seed, i):
        return Op.vjp(self, args, out, seed, i)

    def notation(self):
        m, latex_mark = self.mark, self.mark.replace("_B", "_{{B}}")
        return template(f"({{2}} - mean{m}({{2}}) - {{1}} ⊙ mean{m}({{2}} ⊙ {{1}})) / σ{m}({{0}})",
                        rf"\frac{{{{{{2}} - \operatorname{{{{mean}}}}{latex_mark}\left({{2}}\right) - {{1}} \odot "
                        rf"\operatorname{{{{mean}}}}{latex_mark}\left({{2}} \odot {{1}}\right)}}}}"
                        rf"{{{{\sigma{latex_mark}\left({{0}}\right)}}}}", "Mul", "Mul")

    def code(self, args, ctx):
        x, xhat, d = args
        return f"normalize_backward_kernel({ctx.xp}, {xhat.text}, {d.text}, {self.parts(x, ctx)}[1], {self.axis(x)})"

    def kernels(self):
        return (mean_kernel, normalize_parts, normalize_backward_kernel)


_COUPLED = ("batch norm couples the samples of a batch: each entry depends on the whole batch, so it "
            "has no per-sample scalar view (derive and compile it; use layer norm for path sums)")


class _OverTheBatch:
    """Mixin: the statistics over the batch (axis 0 of the arrays), so no per-sample entries."""

    mark = "_B"

    def entries(self, shapes, *values):
        raise GraphError(_COUPLED)

    def axis(self, x: Code) -> int:
        if not x.batched:
            raise GraphError("batch norm normalizes over the batch: its argument must depend on the data")
        return 0


@register
@dataclass(frozen=True)
class BatchNormalize(_OverTheBatch, Normalize):
    """``x̂ = (x − mean_B(x)) / σ_B(x)``: each feature normalized over the batch (training mode).
    The statistics couple the samples, so the generated code works on the whole batch."""

    name = "batch_normalize"

    def shape(self, x):
        if not x:
            raise ShapeError("batch norm normalizes features: a vector or a tensor, not a scalar")
        return x

    def vjp(self, args, out, seed, i):
        return BatchNormalizeBackward.apply(args[0], out, seed)


@register
@dataclass(frozen=True)
class BatchNormalizeBackward(_OverTheBatch, NormalizeBackward):
    """``(δ − mean_B(δ) − x̂ ⊙ mean_B(δ ⊙ x̂)) / σ_B(x)``, the means over the batch: every
    sample's δ reaches every other sample's input."""

    name = "batch_normalize_backward"


# -- constructors ---------------------------------------------------------------------------------------

def normalize(x) -> TensorExpr:
    return Normalize.apply(x)


def batch_normalize(x) -> TensorExpr:
    return BatchNormalize.apply(x)


def _affine(xhat: TensorExpr, gamma: Any, beta: Any) -> TensorExpr:
    """``γ ⊙ x̂ + β`` with a γ, β per feature (repeated along a matrix's columns)."""
    shape = xhat.shape  # None for a node not yet shaped: then a vector (the graph checks it)
    if gamma is not None:
        gamma = as_expr(gamma)
        if shape is not None and len(shape) > 1:
            if gamma.shape != shape[:1]:
                raise ShapeError(f"γ has one entry per feature ({shape[0]}), not shape {gamma.shape}")
            gamma = Expand.apply(gamma, shape=shape, axes=tuple(range(1, len(shape))))
        xhat = hadamard(gamma, xhat)
    return xhat + beta if beta is not None else xhat


def layer_norm(x, gamma: Tensor | None = None, beta: Tensor | None = None) -> TensorExpr:
    """``γ ⊙ normalize(x) + β`` (``nn.LayerNorm``; a d×T matrix is normalized column by column).

    >>> from symbackprop.render.tensor import TEXT
    >>> print(TEXT.doprint(layer_norm(Tensor("x", 4), Tensor("γ", 4), Tensor("β", 4))))
    γ ⊙ normalize(x) + β
    """
    return _affine(normalize(x), gamma, beta)


def batch_norm(x, gamma: Tensor | None = None, beta: Tensor | None = None) -> TensorExpr:
    """``γ ⊙ normalize_B(x) + β`` (``nn.BatchNorm1d`` in training mode: statistics of the batch)."""
    return _affine(batch_normalize(x), gamma, beta)


def dropout(x, mask: Tensor, p) -> TensorExpr:
    """``x ⊙ m / (1 − p)``: dropout with the mask ``m`` given as data (an input of 0s and 1s per
    sample, drawn by the caller), so that the derivation is the fixed mask's: ``δ ⊙ m / (1 − p)``.

    >>> from symbackprop.render.tensor import TEXT
    >>> print(TEXT.doprint(dropout(Tensor("h", 3), Tensor("m", 3), sp.Rational(1, 2))))
    2 h ⊙ m
    """
    try:
        p = sp.nsimplify(sp.sympify(p, strict=True), rational=True)  # 0.25 → 1/4: the factor prints as 4/3
    except (sp.SympifyError, TypeError):
        raise GraphError(f"the dropout probability is a number in [0, 1), not {p!r}") from None
    if not (p.is_number and 0 <= p < 1):
        raise GraphError(f"the dropout probability is a number in [0, 1), not {p}")
    return scale(hadamard(as_expr(x), as_expr(mask)), 1 / (1 - p))
