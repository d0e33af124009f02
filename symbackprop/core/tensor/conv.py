"""Convolutions and pooling: the op table's operations over C×L and C×H×W maps.

``⋆`` is the cross-correlation deep learning calls convolution: ``u[o, i] = Σ_c Σ_a K[o, c, a]
x[c, i·s + a − p]`` (stride ``s``, zero padding ``p``). Its rules are the CNN backward pass:

- ``∂L/∂K = x ⋆ δ``: the input correlated with the output's adjoint (summed over the batch);
- ``δ_x = δ ∗ rot180(K)``: the adjoint spread back through the kernel, each output position
  adding ``δ[o, i] K[o, c, a]`` to the input position ``i·s + a − p`` it read (the full
  correlation with the kernel turned by 180°);
- max pooling routes each window's ``δ`` to the entry that was the maximum (the first one, as
  PyTorch does); average pooling spreads it evenly over the window.

The kernels below run on a batch (axis 0) with NumPy or ``jax.numpy`` as ``xp``: windows are
gathered with index arrays (im2col), contracted with ``tensordot``, and scattered back (col2im)
one kernel offset at a time.

>>> from symbackprop.core.tensor.base import Tensor
>>> x, K = Tensor("x", (1, 8, 8)), Tensor("K", (4, 1, 3, 3))
>>> u = conv2d(x, K, padding=1)
>>> u.shape, [str(u.op.vjp(u.args, u, Tensor("δ", u.shape), i)) for i in (0, 1)]
((4, 8, 8), ['δ ∗_(p=1) rot180(K)', 'x ⋆_(p=1) δ'])
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from ..errors import GraphError
from .base import Notation, Op, ShapeError, call, register, row_major, shape_text, size, template

__all__ = ["Conv1d", "Conv2d", "ConvInputGrad", "ConvKernelGrad", "MaxPool1d", "MaxPool2d", "AvgPool1d",
           "AvgPool2d", "MaxPoolRoute", "AvgPoolSpread", "conv1d", "conv2d", "max_pool1d", "max_pool2d",
           "avg_pool1d", "avg_pool2d", "patches", "scatter_patches"]


# -- kernels: im2col and col2im on a batch ----------------------------------------------------------

def patches(xp, x, window, stride, padding):
    """Every window of ``x`` (B×C×spatial): B×C×(output positions)×(window), zero-padded."""
    dims = len(window)
    if padding:
        x = xp.pad(x, [(0, 0), (0, 0)] + [(padding, padding)] * dims)
    index = []
    for d, k in enumerate(window):
        out = (x.shape[2 + d] - k) // stride + 1
        grid = (xp.arange(out) * stride)[:, None] + xp.arange(k)[None, :]  # out × k
        shape = [1] * (2 * dims)
        shape[d], shape[dims + d] = out, k
        index.append(grid.reshape(shape))
    return x[(slice(None), slice(None), *index)]


def scatter_patches(xp, columns, spatial, stride, padding):
    """The inverse walk of ``patches``: each window's values added back at the positions it
    covered (B×C×spatial), one kernel offset at a time."""
    dims = len(spatial)
    window = columns.shape[2 + dims:]
    outputs = columns.shape[2:2 + dims]
    padded = xp.zeros(columns.shape[:2] + tuple(n + 2 * padding for n in spatial), dtype=columns.dtype)
    for offset in itertools.product(*map(range, window)):
        where = (slice(None), slice(None)) + tuple(slice(a, a + stride * (n - 1) + 1, stride)
                                                   for a, n in zip(offset, outputs))
        piece = columns[(Ellipsis,) + offset]
        if xp.__name__ == "numpy":
            padded[where] += piece
        else:  # JAX arrays are immutable: .at[…].add returns the updated copy
            padded = padded.at[where].add(piece)
    crop = (slice(None), slice(None)) + tuple(slice(padding, padding + n) for n in spatial)
    return padded[crop]


def conv_forward(xp, x, K, stride, padding):
    """``x ⋆ K`` on a batch: B×O×(output positions)."""
    dims = K.ndim - 2
    windows = patches(xp, x, K.shape[2:], stride, padding)
    taken = [1] + list(range(2 + dims, 2 + 2 * dims))
    return xp.moveaxis(xp.tensordot(windows, K, axes=(taken, [1] + list(range(2, 2 + dims)))), -1, 1)


def conv_kernel_grad(xp, x, delta, window, stride, padding):
    """``x ⋆ δ`` summed over the batch: O×C×window."""
    dims = len(window)
    windows = patches(xp, x, window, stride, padding)
    axes = [0] + list(range(2, 2 + dims))
    return xp.tensordot(delta, windows, axes=(axes, axes))


def conv_input_grad(xp, delta, K, spatial, stride, padding):
    """``δ ∗ rot180(K)`` on a batch: each δ[o, i]·K[o, c, a] added at input position i·s + a − p."""
    dims = K.ndim - 2
    columns = xp.tensordot(delta, K, axes=([1], [0]))  # B × outputs × C × window
    columns = xp.moveaxis(columns, 1 + dims, 1)
    return scatter_patches(xp, columns, spatial, stride, padding)


def max_pool_forward(xp, x, window, stride):
    dims = len(window)
    windows = patches(xp, x, window, stride, 0)
    return windows.reshape(windows.shape[:2 + dims] + (-1,)).max(axis=-1)


def max_pool_route(xp, x, delta, window, stride):
    """Each window's δ to the position of its (first) maximum."""
    dims = len(window)
    windows = patches(xp, x, window, stride, 0)
    flat = windows.reshape(windows.shape[:2 + dims] + (-1,))
    first = xp.argmax(flat, axis=-1)[..., None] == xp.arange(flat.shape[-1])
    columns = (first * delta[..., None]).reshape(windows.shape)
    return scatter_patches(xp, columns, x.shape[2:], stride, 0)


def avg_pool_forward(xp, x, window, stride):
    dims = len(window)
    windows = patches(xp, x, window, stride, 0)
    return windows.reshape(windows.shape[:2 + dims] + (-1,)).mean(axis=-1)


def avg_pool_spread(xp, delta, spatial, window, stride):
    """Each window's δ spread evenly over it."""
    columns = xp.broadcast_to((delta / size(window)).reshape(delta.shape + (1,) * len(window)),
                              delta.shape + tuple(window))
    return scatter_patches(xp, columns, spatial, stride, 0)


def _call(kernel, ctx, args, data, *extra) -> str:
    """``kernel(xp, …)``: the kernels work on a batch, so when no argument has one the maps
    (``data``: their positions among ``args``) get an axis of length 1, and the result loses it."""
    batched = any(a.batched for a in args)
    texts = [a.text if batched or k not in data else f"{a.atom()}[None]" for k, a in enumerate(args)]
    text = f"{kernel.__name__}({ctx.xp}, {', '.join(texts)}{''.join(f', {e!r}' for e in extra)})"
    return text if batched else f"{text}[0]"


def _read(stride: int, padding: int, x_shape, out_index, offset):
    """The input position an output position reads at a kernel offset (None: in the padding)."""
    position = tuple(i * stride + a - padding for i, a in zip(out_index, offset))
    return position if all(0 <= p < n for p, n in zip(position, x_shape[1:])) else None


def _window_text(window) -> str:
    return shape_text(tuple(window))


# -- convolution ----------------------------------------------------------------------------------------

class _Conv(Op):
    """``x ⋆ K``: a C×spatial map correlated with an O×C×window kernel."""

    arity = 2
    dims = 0
    stride: int = 1
    padding: int = 0

    def __post_init__(self):
        for name in ("stride", "padding"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "stride" else 0):
                raise GraphError(f"{self.name}'s {name} must be an integer ≥ {1 if name == 'stride' else 0}, not {value!r}")

    def shape(self, x, K):
        if len(x) != 1 + self.dims or len(K) != 2 + self.dims or K[1] != x[0]:
            raise ShapeError(f"{self.name} takes a C×{'×'.join('HW'[:self.dims]) if self.dims > 1 else 'L'} map and "
                             f"an O×C×{'k×' * (self.dims - 1)}k kernel, not {shape_text(x)} and {shape_text(K)}")
        out = [(n + 2 * self.padding - k) // self.stride + 1 for n, k in zip(x[1:], K[2:])]
        if min(out) < 1:
            raise ShapeError(f"the {_window_text(K[2:])} kernel does not fit in the {shape_text(x[1:])} map")
        return (K[0], *out)

    def entries(self, shapes, x, K):
        x_shape, k_shape = shapes
        out = self.shape(*shapes)
        values = []
        for o, *index in row_major(out):
            terms = []
            for c in range(x_shape[0]):
                for offset in row_major(k_shape[2:]):
                    at = _read(self.stride, self.padding, x_shape, index, offset)
                    if at is not None:
                        terms.append(K[_flat((o, c, *offset), k_shape)] * x[_flat((c, *at), x_shape)])
            values.append(sp.Add(*terms))
        return values

    def vjp(self, args, out, seed, i):
        x, K = args
        if i == 0:
            return ConvInputGrad.apply(seed, K, stride=self.stride, padding=self.padding, spatial=x.shape[1:])
        return ConvKernelGrad.apply(x, seed, stride=self.stride, padding=self.padding, window=K.shape[2:])

    def fan_in(self, shapes, i):
        return size(shapes[1][1:]) if i == 1 else None

    def notation(self):
        return Notation("infix", f" ⋆{_subscript(self)} ", rf" \star{_subscript(self, latex=True)} ",
                        PRECEDENCE["Mul"], PRECEDENCE["Mul"] + 1)

    def code(self, args, ctx):
        return _call(conv_forward, ctx, args, (0,), self.stride, self.padding)

    def kernels(self):
        return (conv_forward, patches)


def _subscript(op, latex: bool = False) -> str:
    parts = [f"s={op.stride}"] * (op.stride != 1) + [f"p={op.padding}"] * (op.padding != 0)
    if not parts:
        return ""
    return f"_{{{', '.join(parts)}}}" if latex else f"_({', '.join(parts)})"


def _flat(index, shape) -> int:
    position = 0
    for i, n in zip(index, shape):
        position = position * n + i
    return position


@register
@dataclass(frozen=True)
class Conv1d(_Conv):
    name = "conv1d"
    dims = 1
    stride: int = 1
    padding: int = 0


@register
@dataclass(frozen=True)
class Conv2d(_Conv):
    name = "conv2d"
    dims = 2
    stride: int = 1
    padding: int = 0


@register
@dataclass(frozen=True)
class ConvKernelGrad(Op):
    """``x ⋆ δ``: the kernel's gradient, the input correlated with the output's adjoint."""

    name = "conv_kernel_grad"
    arity = 2
    stride: int = 1
    padding: int = 0
    window: tuple = ()

    def shape(self, x, d):
        return (d[0], x[0], *self.window)

    def entries(self, shapes, x, d):
        x_shape, d_shape = shapes
        values = []
        for o, c, *offset in row_major(self.shape(*shapes)):
            terms = [d[_flat((o, *index), d_shape)] * x[_flat((c, *at), x_shape)]
                     for index in row_major(d_shape[1:])
                     if (at := _read(self.stride, self.padding, x_shape, index, offset)) is not None]
            values.append(sp.Add(*terms))
        return values

    def notation(self):
        return Notation("infix", f" ⋆{_subscript(self)} ", rf" \star{_subscript(self, latex=True)} ",
                        PRECEDENCE["Mul"], PRECEDENCE["Mul"] + 1)

    def code(self, args, ctx):  # one kernel gradient per sample (the batch sum is the usual form)
        x, d = args
        axes = "ij"[:len(self.window)]
        window = "kl"[:len(self.window)]
        windows = f"patches({ctx.xp}, {x.text}, {tuple(self.window)!r}, {self.stride}, {self.padding})"
        return f"{ctx.xp}.einsum('bo{axes},bc{axes}{window}->boc{window}', {d.text}, {windows})"

    def batch_sum_code(self, args, ctx):
        return _call(conv_kernel_grad, ctx, args, (0, 1), tuple(self.window), self.stride, self.padding)

    def kernels(self):
        return (conv_kernel_grad, patches)


@register
@dataclass(frozen=True)
class ConvInputGrad(Op):
    """``δ ∗ rot180(K)``: the input's adjoint, each ``δ[o, i] K[o, c, a]`` added where it was read."""

    name = "conv_input_grad"
    arity = 2
    stride: int = 1
    padding: int = 0
    spatial: tuple = ()

    def shape(self, d, K):
        return (K[1], *self.spatial)

    def entries(self, shapes, d, K):
        d_shape, k_shape = shapes
        out = self.shape(*shapes)
        sums: dict = {index: [] for index in row_major(out)}
        for o, *index in row_major(d_shape):
            for c in range(k_shape[1]):
                for offset in row_major(k_shape[2:]):
                    at = tuple(i * self.stride + a - self.padding for i, a in zip(index, offset))
                    if all(0 <= p < n for p, n in zip(at, self.spatial)):
                        sums[(c, *at)].append(d[_flat((o, *index), d_shape)] * K[_flat((o, c, *offset), k_shape)])
        return [sp.Add(*terms) for terms in sums.values()]

    def notation(self):
        return template(f"{{0}} ∗{_subscript(self)} rot180({{1}})",
                        rf"{{0}} \ast{_subscript(self, latex=True)} \operatorname{{{{rot180}}}}\left({{1}}\right)",
                        "Mul", "Pow")

    def code(self, args, ctx):
        return _call(conv_input_grad, ctx, args, (0,), tuple(self.spatial), self.stride, self.padding)

    def kernels(self):
        return (conv_input_grad, scatter_patches)


# -- pooling --------------------------------------------------------------------------------------------

class _Pool(Op):
    """Pooling over windows of ``size`` (each spatial axis), ``stride`` defaulting to ``size``."""

    arity = 1
    dims = 0
    size: int = 2
    stride: int = 0

    def __post_init__(self):
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise GraphError(f"{self.name}'s size must be a positive integer, not {self.size!r}")
        if not self.stride:
            object.__setattr__(self, "stride", self.size)

    @property
    def window(self) -> tuple:
        return (self.size,) * self.dims

    def pooled(self, x: tuple) -> tuple:
        """The pooled shape of a C×spatial map ``x``."""
        if len(x) != 1 + self.dims:
            raise ShapeError(f"{self.name} takes a C×{'H×W' if self.dims == 2 else 'L'} map, not {shape_text(x)}")
        out = [(n - self.size) // self.stride + 1 for n in x[1:]]
        if min(out) < 1:
            raise ShapeError(f"the {_window_text(self.window)} window does not fit in the {shape_text(x[1:])} map")
        return (x[0], *out)

    def shape(self, x):
        return self.pooled(x)

    def windows(self, x_shape):
        """``(output index, [input indices of its window])`` for every output entry."""
        for c, *index in row_major(self.pooled(x_shape)):
            yield (c, *index), [(c, *(i * self.stride + a for i, a in zip(index, offset)))
                                for offset in row_major(self.window)]

    def _label(self, latex: bool = False) -> str:
        shown = _window_text(self.window)
        stride = "" if self.stride == self.size else f", s={self.stride}"
        return (shown.replace("×", r" \times ") if latex else shown) + stride


class _MaxPool(_Pool):
    def entries(self, shapes, x):
        return [sp.Max(*[x[_flat(p, shapes[0])] for p in window]) for _, window in self.windows(shapes[0])]

    def vjp(self, args, out, seed, i):
        return MaxPoolRoute.apply(args[0], seed, size=self.size, stride=self.stride, dims=self.dims)

    def notation(self):
        return call(f"maxpool_{self._label()}", rf"\operatorname{{maxpool}}_{{{self._label(True)}}}")

    def code(self, args, ctx):
        return _call(max_pool_forward, ctx, args, (0,), self.window, self.stride)

    def kernels(self):
        return (max_pool_forward, patches)


class _AvgPool(_Pool):
    def entries(self, shapes, x):
        return [sp.Add(*[x[_flat(p, shapes[0])] for p in window]) / size(self.window)
                for _, window in self.windows(shapes[0])]

    def vjp(self, args, out, seed, i):
        return AvgPoolSpread.apply(seed, size=self.size, stride=self.stride, dims=self.dims, spatial=args[0].shape[1:])

    def notation(self):
        return call(f"avgpool_{self._label()}", rf"\operatorname{{avgpool}}_{{{self._label(True)}}}")

    def code(self, args, ctx):
        return _call(avg_pool_forward, ctx, args, (0,), self.window, self.stride)

    def kernels(self):
        return (avg_pool_forward, patches)


@register
@dataclass(frozen=True)
class MaxPool1d(_MaxPool):
    name = "max_pool1d"
    dims = 1
    size: int = 2
    stride: int = 0


@register
@dataclass(frozen=True)
class MaxPool2d(_MaxPool):
    name = "max_pool2d"
    dims = 2
    size: int = 2
    stride: int = 0


@register
@dataclass(frozen=True)
class AvgPool1d(_AvgPool):
    name = "avg_pool1d"
    dims = 1
    size: int = 2
    stride: int = 0


@register
@dataclass(frozen=True)
class AvgPool2d(_AvgPool):
    name = "avg_pool2d"
    dims = 2
    size: int = 2
    stride: int = 0


@register
@dataclass(frozen=True)
class MaxPoolRoute(_Pool):
    """Max pooling's rule: each window's ``δ`` routed to the entry of ``x`` that was its maximum."""

    name = "max_pool_route"
    arity = 2
    size: int = 2
    stride: int = 0
    dims: int = 2

    def shape(self, x, d):
        return x

    def entries(self, shapes, x, d):
        x_shape = shapes[0]
        sums: dict = {index: [] for index in row_major(x_shape)}
        for out_index, window in self.windows(x_shape):
            values = [x[_flat(p, x_shape)] for p in window]
            for k, p in enumerate(window):  # the derivative of max: 1 where that entry is the largest
                sums[p].append(d[_flat(out_index, shapes[1])] * sp.Max(*values).fdiff(k + 1))
        return [sp.Add(*terms) for terms in sums.values()]

    def notation(self):
        return template(f"route_{self._label()}({{1}} → argmax {{0}})",
                        rf"\operatorname{{{{route}}}}_{{{{{self._label(True)}}}}}\left({{1}} \to \operatorname{{{{argmax}}}} {{0}}\right)")

    def code(self, args, ctx):
        return _call(max_pool_route, ctx, args, (0, 1), self.window, self.stride)

    def kernels(self):
        return (max_pool_route, patches, scatter_patches)


@register
@dataclass(frozen=True)
class AvgPoolSpread(_Pool):
    """Average pooling's rule: each window's ``δ`` divided evenly among its entries."""

    name = "avg_pool_spread"
    size: int = 2
    stride: int = 0
    dims: int = 2
    spatial: tuple = ()

    def shape(self, d):
        return (d[0], *self.spatial)

    def entries(self, shapes, d):
        x_shape = self.shape(shapes[0])
        sums: dict = {index: [] for index in row_major(x_shape)}
        for out_index, window in self.windows(x_shape):
            for p in window:
                sums[p].append(d[_flat(out_index, shapes[0])] / size(self.window))
        return [sp.Add(*terms) for terms in sums.values()]

    def notation(self):
        n = size(self.window)
        return template(f"upsample_{self._label()}({{0}})/{n}",
                        rf"\tfrac{{{{1}}}}{{{{{n}}}}} \operatorname{{{{upsample}}}}_{{{{{self._label(True)}}}}}\left({{0}}\right)",
                        "Mul")

    def code(self, args, ctx):
        return _call(avg_pool_spread, ctx, args, (0,), tuple(self.spatial), self.window, self.stride)

    def kernels(self):
        return (avg_pool_spread, scatter_patches)


# -- constructors -----------------------------------------------------------------------------------

def conv1d(x, K, stride: int = 1, padding: int = 0): return Conv1d.apply(x, K, stride=stride, padding=padding)  # noqa: E704
def conv2d(x, K, stride: int = 1, padding: int = 0): return Conv2d.apply(x, K, stride=stride, padding=padding)  # noqa: E704
def max_pool1d(x, size: int = 2, stride: int = 0): return MaxPool1d.apply(x, size=size, stride=stride)  # noqa: E704
def max_pool2d(x, size: int = 2, stride: int = 0): return MaxPool2d.apply(x, size=size, stride=stride)  # noqa: E704
def avg_pool1d(x, size: int = 2, stride: int = 0): return AvgPool1d.apply(x, size=size, stride=stride)  # noqa: E704
def avg_pool2d(x, size: int = 2, stride: int = 0): return AvgPool2d.apply(x, size=size, stride=stride)  # noqa: E704
