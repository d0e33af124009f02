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

import functools
import itertools
from dataclasses import dataclass

import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from ..errors import GraphError
from .base import Notation, Op, ShapeError, call, literal, register, row_major, shape_text, size, template

__all__ = ["Conv1d", "Conv2d", "ConvInputGrad", "ConvKernelGrad", "MaxPool1d", "MaxPool2d", "AvgPool1d",
           "AvgPool2d", "MaxPoolRoute", "AvgPoolSpread", "conv1d", "conv2d", "max_pool1d", "max_pool2d",
           "avg_pool1d", "avg_pool2d", "patches", "scatter_patches", "scatter_offsets", "columns_of"]


# -- kernels: im2col and col2im on a batch ----------------------------------------------------------

def patches(xp, x, window, stride, padding):
    """Every window of ``x`` (B×C×spatial): B×C×(output positions)×(window), zero-padded; a
    strided view on NumPy (no copy), gathered by index arrays on JAX."""
    dims = len(window)
    if padding:
        x = xp.pad(x, [(0, 0), (0, 0)] + [(padding, padding)] * dims)
    if xp.__name__ == "numpy":
        windows = xp.lib.stride_tricks.sliding_window_view(x, tuple(window), axis=tuple(range(2, 2 + dims)))
        return windows[(slice(None), slice(None)) + (slice(None, None, stride),) * dims]
    index = []
    for d, k in enumerate(window):
        out = (x.shape[2 + d] - k) // stride + 1
        grid = (xp.arange(out) * stride)[:, None] + xp.arange(k)[None, :]  # out × k
        shape = [1] * (2 * dims)
        shape[d], shape[dims + d] = out, k
        index.append(grid.reshape(shape))
    return x[(slice(None), slice(None), *index)]


def scatter_patches(xp, columns, spatial, stride, padding):
    """The inverse walk of ``patches``: each window's values (B×C×positions×window) added back
    at the positions it covered (B×C×spatial)."""
    window = columns.shape[2 + len(spatial):]
    return scatter_offsets(xp, lambda offset: columns[(Ellipsis,) + offset], columns.shape[:2], window,
                           spatial, stride, padding)


def scatter_offsets(xp, piece, leading, window, spatial, stride, padding):
    """Adds ``piece(offset)`` (B×C×positions: the windows' values at one window offset) at the
    map positions that offset covered, one offset at a time; the map is B×C×spatial
    (``leading`` = (B, C)), cropped of its ``padding``."""
    padded = xp.zeros(tuple(leading) + tuple(n + 2 * padding for n in spatial), dtype=piece((0,) * len(window)).dtype)
    for offset in itertools.product(*map(range, window)):
        values = piece(offset)
        where = (slice(None), slice(None)) + tuple(slice(a, a + stride * (n - 1) + 1, stride)
                                                   for a, n in zip(offset, values.shape[2:]))
        if xp.__name__ == "numpy":
            padded[where] += values
        else:  # JAX arrays are immutable: .at[…].add returns the updated copy
            padded = padded.at[where].add(values)
    crop = (slice(None), slice(None)) + tuple(slice(padding, padding + n) for n in spatial)
    return padded[crop]


def _batch_last(xp, x, padding):
    """``x`` (B×C×spatial) as C×spatial×B, zero-padded: sliding a window over a small map then
    moves runs of whole rows of samples, not a few pixels at a time."""
    x = xp.moveaxis(x, 0, -1)
    if not padding:
        return x
    if xp.__name__ != "numpy":
        return xp.pad(x, [(0, 0)] + [(padding, padding)] * (x.ndim - 2) + [(0, 0)])
    padded = xp.zeros((x.shape[0], *(n + 2 * padding for n in x.shape[1:-1]), x.shape[-1]), dtype=x.dtype)
    padded[(slice(None), *(slice(padding, padding + n) for n in x.shape[1:-1]))] = x  # numpy.pad is far slower
    return padded


def _offset_slices(offset, out, stride):
    return tuple(slice(a, a + stride * (n - 1) + 1, stride) for a, n in zip(offset, out))


def columns_of(xp, x, window, stride, padding):
    """im2col: ``(matrix, positions, batch)``, the windows of ``x`` as a matrix with one row per
    (channel, window offset) and one column per (output position, sample), built batch-last
    (see ``_batch_last``); the output positions' shape; the batch size."""
    padded = _batch_last(xp, x, padding)
    out = tuple((n - k) // stride + 1 for n, k in zip(padded.shape[1:-1], window))
    blocks = [padded[(slice(None), *_offset_slices(offset, out, stride))]
              for offset in itertools.product(*map(range, window))]
    return xp.stack(blocks, axis=1).reshape(x.shape[1] * size(window), -1), out, x.shape[0]


def _by_channel(xp, delta):
    """A B×O×(positions) adjoint as the O×(positions·B) matrix that pairs with ``columns_of``."""
    return xp.moveaxis(delta, 0, -1).reshape(delta.shape[1], -1)


def conv_forward(xp, columns, K):
    """``x ⋆ K`` on a batch from ``x``'s windows (``columns_of``), one matrix product of the
    kernel with them: B×O×(positions) (a view of a batch-last array, which the next convolution
    reads without a copy)."""
    matrix, out, batch = columns
    result = K.reshape(K.shape[0], -1) @ matrix  # O × (positions·B)
    return xp.moveaxis(result.reshape((K.shape[0], *out, batch)), -1, 0)


def conv_kernel_grad(xp, columns, delta, window):
    """``x ⋆ δ`` summed over the batch, from ``x``'s windows: O×C×window, one matrix product."""
    matrix = columns[0]
    return (_by_channel(xp, delta) @ matrix.T).reshape((delta.shape[1], -1, *window))


def conv_input_grad(xp, delta, K, spatial, stride, padding):
    """``δ ∗ rot180(K)`` on a batch: each δ[o, i]·K[o, c, a] added at input position i·s + a − p
    (batch-last, one kernel offset at a time)."""
    window, out = K.shape[2:], delta.shape[2:]
    columns = K.reshape(K.shape[0], -1).T @ _by_channel(xp, delta)  # (C·window) × (positions·B)
    columns = columns.reshape((K.shape[1], size(window), *out, delta.shape[0]))
    padded = xp.zeros((K.shape[1], *(n + 2 * padding for n in spatial), delta.shape[0]), dtype=columns.dtype)
    for k, offset in enumerate(itertools.product(*map(range, window))):
        padded = _add(xp, padded, (slice(None), *_offset_slices(offset, out, stride)), columns[:, k])
    crop = (slice(None), *(slice(padding, padding + n) for n in spatial))
    return xp.moveaxis(padded[crop], -1, 0)


def _add(xp, array, where, values):
    """``array[where] += values``: in place on NumPy, a functional update on JAX."""
    if xp.__name__ == "numpy":
        array[where] += values
        return array
    return array.at[where].add(values)


def _tiles(x, window):
    """When pooling windows tile the map (stride = size), each window offset's entries over all
    windows: one strided view per offset, in the window's row-major order."""
    dims, k = len(window), window[0]
    out = [n // k for n in x.shape[2:]]
    for offset in itertools.product(range(k), repeat=dims):
        yield offset, x[(slice(None), slice(None)) + tuple(slice(a, a + k * (o - 1) + 1, k)
                                                           for a, o in zip(offset, out))]


def max_pool_forward(xp, x, window, stride):
    """The largest entry of each window: an elementwise maximum over the offsets when the
    windows tile the map, else over the gathered windows."""
    if stride == window[0]:
        return functools.reduce(xp.maximum, (tile for _, tile in _tiles(x, window)))
    windows = patches(xp, x, window, stride, 0)
    return windows.reshape(windows.shape[:2 + len(window)] + (-1,)).max(axis=-1)


def max_pool_route(xp, x, delta, window, stride):
    """Each window's δ to the position of its (first) maximum, as PyTorch routes it."""
    dims = len(window)
    if stride == window[0]:
        pooled = max_pool_forward(xp, x, window, stride)
        routed, taken = xp.zeros_like(x), xp.zeros(pooled.shape, dtype=bool)
        for offset, tile in _tiles(x, window):
            first = (tile == pooled) & ~taken
            taken = taken | first
            where = (slice(None), slice(None)) + tuple(slice(a, a + window[0] * (n - 1) + 1, window[0])
                                                       for a, n in zip(offset, pooled.shape[2:]))
            routed = _assign(xp, routed, where, first * delta)
        return routed
    windows = patches(xp, x, window, stride, 0)
    flat = windows.reshape(windows.shape[:2 + dims] + (-1,))
    first = xp.argmax(flat, axis=-1)[..., None] == xp.arange(flat.shape[-1])
    columns = (first * delta[..., None]).reshape(windows.shape)
    return scatter_patches(xp, columns, x.shape[2:], stride, 0)


def avg_pool_forward(xp, x, window, stride):
    if stride == window[0]:
        return functools.reduce(xp.add, (tile for _, tile in _tiles(x, window))) / size(window)
    windows = patches(xp, x, window, stride, 0)
    return windows.reshape(windows.shape[:2 + len(window)] + (-1,)).sum(axis=-1) / size(window)


def avg_pool_spread(xp, delta, spatial, window, stride):
    """Each window's δ spread evenly over it."""
    share = delta / size(window)
    if stride == window[0]:
        spread = xp.zeros(delta.shape[:2] + tuple(spatial), dtype=delta.dtype)
        for offset in itertools.product(range(window[0]), repeat=len(window)):
            where = (slice(None), slice(None)) + tuple(slice(a, a + stride * (n - 1) + 1, stride)
                                                       for a, n in zip(offset, delta.shape[2:]))
            spread = _assign(xp, spread, where, share)
        return spread
    columns = xp.broadcast_to(share.reshape(delta.shape + (1,) * len(window)), delta.shape + tuple(window))
    return scatter_patches(xp, columns, spatial, stride, 0)


def _assign(xp, array, where, values):
    """``array[where] = values``: in place on NumPy, a functional update on JAX."""
    if xp.__name__ == "numpy":
        array[where] = values
        return array
    return array.at[where].set(values)


def _call(kernel, ctx, args, data, *extra) -> str:
    """``kernel(xp, …)``: the kernels work on a batch, so when no argument has one the maps
    (``data``: their positions among ``args``) get an axis of length 1, and the result loses it."""
    batched = any(a.batched for a in args)
    texts = [a.text if batched or k not in data else f"{a.atom()}[None]" for k, a in enumerate(args)]
    text = f"{kernel.__name__}({ctx.xp}, {', '.join(texts)}{''.join(f', {e!r}' for e in extra)})"
    return text if batched else f"{text}[0]"


def _columns(ctx, x, window, stride: int, padding: int) -> str:
    """The variable holding ``x``'s windows (``columns_of``), computed once for the convolution
    and its kernel's gradient."""
    batched = x.text if x.batched else f"{x.atom()}[None]"
    return ctx.share(f"columns_of({ctx.xp}, {batched}, {tuple(window)!r}, {stride}, {padding})")


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
        x, K = args
        columns = _columns(ctx, x, K.shape[2:], self.stride, self.padding)
        text = f"conv_forward({ctx.xp}, {columns}, {K.text})"
        return text if x.batched else f"{text}[0]"

    def kernels(self):
        return (conv_forward, columns_of, _batch_last, _offset_slices)


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
        x, d = args
        columns = _columns(ctx, x, self.window, self.stride, self.padding)
        return f"conv_kernel_grad({ctx.xp}, {columns}, {d.text if d.batched else d.atom() + '[None]'}, {tuple(self.window)!r})"

    def kernels(self):
        return (conv_kernel_grad, columns_of, _batch_last, _offset_slices, _by_channel)


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
                        rf"{{0}} \ast{literal(_subscript(self, latex=True))} \operatorname{{{{rot180}}}}\left({{1}}\right)",
                        "Mul", "Pow")

    def code(self, args, ctx):
        return _call(conv_input_grad, ctx, args, (0,), tuple(self.spatial), self.stride, self.padding)

    def kernels(self):
        return (conv_input_grad, _by_channel, _offset_slices, _add)


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
        return (max_pool_forward, _tiles, patches)


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
        return (avg_pool_forward, _tiles, patches)


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
        return (max_pool_route, max_pool_forward, _tiles, _assign, patches, scatter_patches, scatter_offsets)


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
        return (avg_pool_spread, _assign, scatter_patches, scatter_offsets)


# -- constructors -----------------------------------------------------------------------------------

def conv1d(x, K, stride: int = 1, padding: int = 0): return Conv1d.apply(x, K, stride=stride, padding=padding)  # noqa: E704
def conv2d(x, K, stride: int = 1, padding: int = 0): return Conv2d.apply(x, K, stride=stride, padding=padding)  # noqa: E704
def max_pool1d(x, size: int = 2, stride: int = 0): return MaxPool1d.apply(x, size=size, stride=stride)  # noqa: E704
def max_pool2d(x, size: int = 2, stride: int = 0): return MaxPool2d.apply(x, size=size, stride=stride)  # noqa: E704
def avg_pool1d(x, size: int = 2, stride: int = 0): return AvgPool1d.apply(x, size=size, stride=stride)  # noqa: E704
def avg_pool2d(x, size: int = 2, stride: int = 0): return AvgPool2d.apply(x, size=size, stride=stride)  # noqa: E704
