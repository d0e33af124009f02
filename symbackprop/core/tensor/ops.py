"""The op table: dense algebra, elementwise functions, reductions, softmax, losses, penalties.

Each class is one operation with its forward rule (``shape``, ``entries``) and its
vector-Jacobian rule (``vjp``) side by side, then its notation and its NumPy code. Adding an
operation means adding one class here (or in a sibling module such as ``conv``) decorated with
``@register``. ``x`` stands for an argument, ``δ`` for the seed ``∂L/∂out``:

==================  =============================  ==========================================
operation           forward                        vector-Jacobian rule
==================  =============================  ==========================================
``add``             ``a + b`` (b may be a bias     ``δ`` (summed over the axes ``b`` was
                    per channel, or a scalar)      broadcast along)
``scale``           ``c x``                        ``c δ``
``hadamard``        ``a ⊙ b``                      ``δ ⊙ b``, ``δ ⊙ a``
``elementwise``     ``f(u)``                       ``δ ⊙ f'(u)``
``matmul``          ``A B``                        ``δ Bᵀ``, ``Aᵀ δ``
``outer``           ``a bᵀ``                       ``δ b``, ``δᵀ a``
``dot``             ``aᵀ b``                       ``δ b``, ``δ a``
``transpose``       ``Aᵀ``                         ``δᵀ``
``reshape``         ``reshape(x)``                 ``reshape⁻¹(δ)``
``concat``          ``[a; b]``                     the slices ``δ[…]``
``sum`` / ``mean``  ``Σ x``, ``mean(x)``           ``δ 𝟙``, ``δ 𝟙 / n``
``softmax``         ``s = softmax(z)``             ``(diag(s) − s sᵀ) δ``
losses              ``‖o − y‖²/2``, …              ``o − y``, ``σ(z) − y``, ``softmax(z) − y``
``squared_norm``    ``‖W‖²``                       ``2 δ W``
==================  =============================  ==========================================

>>> from symbackprop.core.tensor.base import Tensor
>>> W, x = Tensor("W", (2, 3)), Tensor("x", 3)
>>> u = W @ x
>>> print(u.op.vjp(u.args, u, Tensor("δ", 2), 0))
δ xᵀ
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from ..derive import local_partials
from ..errors import GraphError
from ..functions import identity, is_undefined, logsumexp, prime, sigmoid, softplus
from .base import (ONE, ZERO, Apply, Code, Notation, Op, Scalar, Shape, ShapeError, TensorExpr, as_expr,
                   call, infix, postfix, register, literal, row_major, shape_text, size, template)

__all__ = ["Add", "Scale", "Hadamard", "Elementwise", "MatMul", "Outer", "Dot", "Transpose", "Reshape",
           "Flatten", "Concat", "Slice", "Sum", "Mean", "Expand", "Softmax", "SoftmaxBackward",
           "SquaredError", "BinaryCrossEntropy", "SoftmaxCrossEntropy", "SquaredNorm", "LOSS_OPS",
           "FUNCTION_TEXT", "FUNCTION_LATEX", "add", "scale", "hadamard", "elementwise", "matmul",
           "outer", "dot", "transpose", "reshape", "flatten", "concat", "tsum", "mean", "softmax",
           "squared_error", "binary_cross_entropy", "softmax_cross_entropy", "squared_norm",
           "apply_function", "softmax_kernel", "softmax_parts", "row_max_kernel", "row_sum_kernel", "array_sum",
           "columns_product"]

_XI = sp.Symbol("ξ")


# -- small helpers shared by the rules ------------------------------------------------------------

def _strides(shape: Shape) -> tuple[int, ...]:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def _flat(index: Sequence[int], shape: Shape) -> int:
    return sum(i * s for i, s in zip(index, _strides(shape)))


def array_sum(xp: str, text: str, axes: tuple | int | None = None, keepdims: bool = False) -> str:
    """``xp.sum(text, axis=…)``: the module's function, not the ``.sum`` method, which imports a
    module on first use (the generated code runs without builtins)."""
    if isinstance(axes, tuple) and len(axes) == 1:
        axes = axes[0]
    axis = "" if axes is None else f", axis={axes}"
    return f"{xp}.sum({text}{axis}{', keepdims=True' if keepdims else ''})"


def _per_sample_sum(text: str, code_like: Code, xp: str) -> str:
    """``text`` (an array shaped like ``code_like``) summed over each sample's entries."""
    if not code_like.shape:
        return text
    if not code_like.batched:
        return array_sum(xp, text)
    return array_sum(xp, text, tuple(range(1, code_like.ndim)))


def _trailing(code: Code, ndim: int) -> str:
    """``code`` with new trailing axes so that it broadcasts against ``ndim`` per-sample axes
    (a channel bias against a C×H×W map, a per-sample scalar against a vector)."""
    missing = ndim - len(code.shape)
    if missing <= 0 or (not code.batched and not code.shape):
        return code.atom()
    return f"{code.atom()}[..., {', '.join(['None'] * missing)}]"


def _number(factor: sp.Expr) -> str:
    if not factor.is_number:
        raise GraphError(f"the factor {factor} has no numeric value; give it one (a model file's values:)")
    value = float(factor)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


# -- sums, scalings, products ------------------------------------------------------------------------

@register
@dataclass(frozen=True)
class Add(Op):
    """``a + b + …``; a term may be a scalar, or have the leading axes of the result only (a bias
    per channel added to a C×H×W map), and is then broadcast along the others."""

    name = "add"

    def simplify(self, args):
        terms: list[TensorExpr] = []
        for arg in args:
            if isinstance(arg, Apply) and isinstance(arg.op, Add):
                terms.extend(arg.args)
            elif arg != ZERO:
                terms.append(arg)
        if not terms:
            return ZERO
        return terms[0] if len(terms) == 1 else Apply(self, tuple(terms))

    def shape(self, *shapes):
        result = max(shapes, key=len)
        for s in shapes:
            if s != result[:len(s)]:
                raise ShapeError(f"cannot add {' + '.join(shape_text(t) for t in shapes)}: a term must have "
                                 "the result's shape, its leading axes (a bias per channel) or be a scalar")
        return result

    def entries(self, shapes, *values):
        result = max(shapes, key=len)
        return [sp.Add(*[v[_flat(index[:len(s)], s)] for v, s in zip(values, shapes)])
                for index in row_major(result)]

    def vjp(self, args, out, seed, i):
        broadcast = tuple(range(len(args[i].shape), len(out.shape)))
        return Sum.apply(seed, axes=broadcast) if broadcast else seed

    def notation(self):
        return infix(" + ", " + ", "Add")

    def code(self, args, ctx):
        ndim = max(len(a.shape) for a in args)
        parts = [_trailing(a, ndim) if len(a.shape) < ndim else a.text for a in args]
        text = parts[0]
        for part in parts[1:]:
            text += f" - {part[1:]}" if part.startswith("-") else f" + {part}"
        return text

    def in_place(self, args, ctx, target):
        ndim = len(args[0].shape)
        lines = [f"{target} = {args[0].text}"]
        for a in args[1:]:
            part = _trailing(a, ndim) if len(a.shape) < ndim else a.text
            lines.append(f"{target} -= {part[1:]}" if part.startswith("-") else f"{target} += {part}")
        return lines


@register
@dataclass(frozen=True)
class Scale(Op):
    """``c x`` for a constant ``c`` (a number, or a SymPy symbol such as λ)."""

    name = "scale"
    arity = 1
    factor: Any = 1

    def __post_init__(self):
        object.__setattr__(self, "factor", sp.sympify(self.factor))

    def simplify(self, args):
        (x,) = args
        if self.factor == 1:
            return x
        if isinstance(x, Scalar):
            return Scalar(self.factor * x.value)
        if isinstance(x, Apply) and isinstance(x.op, Scale):
            return Scale(self.factor * x.op.factor).simplify(x.args)
        return Apply(self, args)

    def shape(self, x):
        return x

    def entries(self, shapes, values):
        return [self.factor * v for v in values]

    def vjp(self, args, out, seed, i):
        return Scale.apply(seed, factor=self.factor)

    def notation(self):
        # the printers show the factor itself; the text is for plain str()
        return Notation("scale", "-" if self.factor == -1 else f"{self.factor} ", "", PRECEDENCE["Mul"], PRECEDENCE["Mul"])

    def code(self, args, ctx):
        factor = _number(self.factor)
        return f"-{args[0].atom()}" if factor == "-1" else f"{factor} * {args[0].atom()}"


@register
@dataclass(frozen=True)
class Hadamard(Op):
    """``a ⊙ b``, entry by entry (either may be a scalar)."""

    name = "hadamard"
    arity = 2

    def simplify(self, args):
        a, b = args
        if a == ONE or b == ONE:
            return b if a == ONE else a
        if isinstance(a, Scalar) or isinstance(b, Scalar):
            c, x = (a, b) if isinstance(a, Scalar) else (b, a)
            return Scale.apply(x, factor=c.value)
        return Apply(self, args)

    def shape(self, a, b):
        if a != b and a and b:
            raise ShapeError(f"the Hadamard product needs equal shapes, not {shape_text(a)} and {shape_text(b)}")
        return a or b

    def entries(self, shapes, a, b):
        n = max(len(a), len(b))
        return [a[k if len(a) > 1 else 0] * b[k if len(b) > 1 else 0] for k in range(n)]

    def vjp(self, args, out, seed, i):
        other = hadamard(seed, args[1 - i])
        return tsum(other) if not args[i].shape and out.shape else other

    def notation(self):
        return infix(" ⊙ ", r" \odot ")

    def code(self, args, ctx):
        ndim = max(len(a.shape) for a in args)
        return " * ".join(_trailing(a, ndim) for a in args)

    def in_place(self, args, ctx, target):
        return [f"{target} = {args[0].text}", f"{target} *= {_trailing(args[1], len(args[0].shape))}"]


FUNCTION_TEXT = {"sigmoid": "σ", "relu": "ReLU"}
FUNCTION_LATEX = {"sigmoid": r"\sigma", "relu": r"\operatorname{ReLU}", "tanh": r"\tanh", "exp": r"\exp",
                  "log": r"\log", "sin": r"\sin", "cos": r"\cos"}


def _derivative(function, order: int) -> sp.Expr:
    """``function``'s ``order``-th derivative at ``ξ`` (``f'(ξ)`` for an undefined ``f``)."""
    if is_undefined(function):
        return prime(function, order)(_XI) if order else function(_XI)
    body = function(_XI)
    for _ in range(order):
        body = local_partials(body, [_XI]).get(_XI, sp.S.Zero)
    return body


@register
@dataclass(frozen=True)
class Elementwise(Op):
    """``f(u)`` applied to every entry (``order=1``: the derivative ``f'(u)``); ``f`` is any
    one-argument SymPy function, an undefined ``f`` included."""

    name = "elementwise"
    arity = 1
    function: Any = None
    order: int = 0

    def shape(self, x):
        return x

    def entries(self, shapes, values):
        body = _derivative(self.function, self.order)
        return [body.xreplace({_XI: v}) for v in values]

    def vjp(self, args, out, seed, i):
        return hadamard(seed, Elementwise(self.function, self.order + 1).simplify(args))

    def notation(self):
        name = self.function.__name__
        primes = "'" * self.order
        latex = FUNCTION_LATEX.get(name) or (name if len(name) == 1 else rf"\operatorname{{{name}}}")
        return call(FUNCTION_TEXT.get(name, name) + primes, latex + primes)

    def code(self, args, ctx):
        (x,) = args
        names = {_XI: x.atom()}
        if self.order == 1:
            value = ctx.value(Apply(Elementwise(self.function), (x.expr,)))
            if value is not None:  # f' written with f's value where that is the usual form: tanh' = 1 − a²
                v = sp.Symbol("η")
                body = local_partials(self.function(_XI), [_XI], value=v)[_XI]
                return ctx.scalar(body, {**names, v: value})
        return ctx.scalar(_derivative(self.function, self.order), names)


def apply_function(function, x) -> TensorExpr:
    """``function`` applied entrywise to ``x`` (``sbp.tanh``, ``sbp.relu``, an undefined ``f``)."""
    if function is identity:
        return as_expr(x)
    if not (isinstance(function, type) and issubclass(function, sp.Function)) and not is_undefined(function):
        raise GraphError(f"{function!r} is not a SymPy function; an elementwise operation takes one such as "
                         "sbp.tanh, sbp.relu or sympy.Function('f')")
    return Elementwise.apply(x, function=function)


# -- matrix products -----------------------------------------------------------------------------

def _is_transpose(expr) -> bool:
    return isinstance(expr, Apply) and isinstance(expr.op, Transpose)


def columns_product(xp, W, X):
    """``W X_b`` for every sample's matrix ``X_b`` (``X``: B × n × T) as one matrix product: the
    columns of all the samples as B·T rows times ``Wᵀ``. The rows are a view when ``X`` is laid
    out column by column, as this product's own results are (a copy otherwise), and the result
    keeps that layout: a chain of such products never copies."""
    rows = X.swapaxes(-1, -2).reshape(-1, X.shape[-2])
    return (rows @ W.T).reshape(X.shape[0], X.shape[-1], W.shape[0]).swapaxes(-1, -2)


@register
@dataclass(frozen=True)
class MatMul(Op):
    """``A B``: a matrix times a vector or a matrix."""

    name = "matmul"
    arity = 2

    def shape(self, a, b):
        if len(a) != 2 or len(b) not in (1, 2) or a[1] != b[0]:
            raise ShapeError(f"cannot multiply {shape_text(a)} by {shape_text(b)}: the left factor is a "
                             "matrix whose columns match the right factor's rows (write a vector product "
                             "as dot(a, b) or outer(a, b))")
        return (a[0],) + b[1:]

    def entries(self, shapes, a, b):
        (m, k), cols = shapes[0], (shapes[1][1] if len(shapes[1]) == 2 else 1)
        return [sp.Add(*[a[i * k + t] * b[t * cols + j] for t in range(k)]) for i in range(m) for j in range(cols)]

    def vjp(self, args, out, seed, i):
        A, B = args
        if i == 0:
            return outer(seed, B) if len(B.shape) == 1 else matmul(seed, transpose(B))
        return matmul(transpose(A), seed)

    def fan_in(self, shapes, i):
        return shapes[0][1] if i == 0 else shapes[1][0]

    def notation(self):  # a product inside a product is parenthesised: W (a ⊙ b)
        return Notation("infix", " ", " ", PRECEDENCE["Mul"], PRECEDENCE["Mul"] + 1)

    def code(self, args, ctx):
        A, B = args
        if len(B.shape) == 2 and B.batched and not A.batched:
            return f"columns_product({ctx.xp}, {A.text}, {B.text})"
        if len(B.shape) == 2 or not B.batched:
            return f"{A.atom()} @ {B.atom()}"
        if A.batched:
            return f"{ctx.xp}.einsum('bij,bj->bi', {A.text}, {B.text})"
        if _is_transpose(A.expr):  # Wᵀ δ, one row per sample: δ @ W
            return f"{B.atom()} @ {ctx.code(A.expr.args[0]).atom()}"
        return f"{B.atom()} @ {A.atom()}.T"  # W a, one row per sample: a @ Wᵀ

    def kernels(self):
        return (columns_product,)

    def batch_sum_code(self, args, ctx):
        A, B = args
        if len(B.shape) == 2 and A.batched and B.batched:
            # Σ_b A_b B_b contracts b and j at once: tensordot makes it one BLAS product (einsum loops)
            return f"{ctx.xp}.tensordot({A.text}, {B.text}, axes=([0, 2], [0, 1]))"
        return None


@register
@dataclass(frozen=True)
class Outer(Op):
    """``a bᵀ`` of two vectors."""

    name = "outer"
    arity = 2

    def shape(self, a, b):
        if len(a) != 1 or len(b) != 1:
            raise ShapeError(f"an outer product takes two vectors, not {shape_text(a)} and {shape_text(b)}")
        return a + b

    def entries(self, shapes, a, b):
        return [p * q for p in a for q in b]

    def vjp(self, args, out, seed, i):
        return matmul(seed, args[1]) if i == 0 else matmul(transpose(seed), args[0])

    def notation(self):
        return template("{0} {1}ᵀ", r"{0} {{{1}}}^{{\top}}", "Mul", "Pow")

    def code(self, args, ctx):
        a, b = args
        if not a.batched and not b.batched:
            return f"{ctx.xp}.outer({a.text}, {b.text})"
        return f"{a.atom()}[..., :, None] * {b.atom()}[..., None, :]"

    def batch_sum_into(self, args, ctx, out):
        a, b = args
        if a.batched and b.batched and ctx.xp == "numpy":
            return f"numpy.matmul({a.atom()}.T, {b.atom()}, out={out})"
        return None

    def batch_sum_code(self, args, ctx):
        a, b = args
        if a.batched and b.batched:  # Σ_b δ aᵀ: one matrix product
            return f"{a.atom()}.T @ {b.atom()}"
        batched, other = (a, b) if a.batched else (b, a)
        total = array_sum(ctx.xp, batched.text, 0)
        pair = (total, other.text) if a.batched else (other.text, total)
        return f"{ctx.xp}.outer({pair[0]}, {pair[1]})"


@register
@dataclass(frozen=True)
class Dot(Op):
    """``aᵀ b`` of two vectors: a scalar."""

    name = "dot"
    arity = 2

    def shape(self, a, b):
        if len(a) != 1 or a != b:
            raise ShapeError(f"a dot product takes two vectors of one length, not {shape_text(a)} and {shape_text(b)}")
        return ()

    def entries(self, shapes, a, b):
        return [sp.Add(*[p * q for p, q in zip(a, b)])]

    def vjp(self, args, out, seed, i):
        return hadamard(seed, args[1 - i])

    def fan_in(self, shapes, i):
        return shapes[i][0]

    def notation(self):
        return template("{0}ᵀ {1}", r"{{{0}}}^{{\top}} {1}", "Mul", "Pow")

    def code(self, args, ctx):
        a, b = args
        if a.batched and b.batched:
            return array_sum(ctx.xp, f"{a.atom()} * {b.atom()}", -1)
        if a.batched or b.batched:
            batched, other = (a, b) if a.batched else (b, a)
            return f"{batched.atom()} @ {other.atom()}"
        return f"{a.atom()} @ {b.atom()}"


@register
@dataclass(frozen=True)
class Transpose(Op):
    """``Aᵀ`` of a matrix."""

    name = "transpose"
    arity = 1
    fresh = False

    def simplify(self, args):
        (x,) = args
        if isinstance(x, Apply):
            if isinstance(x.op, Transpose):
                return x.args[0]
            if isinstance(x.op, Outer):
                return outer(x.args[1], x.args[0])
        return Apply(self, args)

    def shape(self, x):
        if len(x) != 2:
            raise ShapeError(f"the transpose is of a matrix, not of shape {shape_text(x)} (a vector is a column: "
                             "write aᵀb as dot(a, b) and a bᵀ as outer(a, b))")
        return x[::-1]

    def entries(self, shapes, x):
        m, n = shapes[0]
        return [x[i * n + j] for j in range(n) for i in range(m)]

    def vjp(self, args, out, seed, i):
        return transpose(seed)

    def notation(self):
        return postfix("ᵀ", r"^{\top}")

    def code(self, args, ctx):
        (x,) = args
        return f"{x.atom()}.swapaxes(-1, -2)" if x.batched else f"{x.atom()}.T"


# -- shapes: reshape, concatenate, slice -----------------------------------------------------------

@register
@dataclass(frozen=True)
class Reshape(Op):
    """The same entries (row-major) in another shape."""

    name = "reshape"
    arity = 1
    fresh = False
    to: tuple = ()

    def simplify(self, args):
        (x,) = args
        if isinstance(x, Apply) and isinstance(x.op, Reshape):
            return Reshape.apply(x.args[0], to=self.to)
        if x.shape is not None and x.shape == tuple(self.to):
            return x
        return Apply(self, args)

    def shape(self, x):
        if size(x) != size(self.to):
            raise ShapeError(f"cannot reshape {shape_text(x)} ({size(x)} entries) to {shape_text(self.to)}")
        return tuple(self.to)

    def entries(self, shapes, x):
        return list(x)

    def vjp(self, args, out, seed, i):
        return Reshape.apply(seed, to=args[0].shape)

    def notation(self):
        shown = shape_text(self.to)
        times = shown.replace("×", r" \times ")
        return call(f"reshape_{shown}", rf"\operatorname{{reshape}}_{{{times}}}")

    def code(self, args, ctx):
        (x,) = args
        target = ", ".join(map(str, self.to))
        return f"{x.atom()}.reshape({ctx.batch}, {target})" if x.batched else f"{x.atom()}.reshape({target},)"


@register
@dataclass(frozen=True)
class Flatten(Op):
    """``vec(x)``: every entry of ``x`` in one vector (row-major)."""

    name = "flatten"
    arity = 1
    fresh = False

    def simplify(self, args):
        (x,) = args
        return x if x.shape is not None and len(x.shape) == 1 else Apply(self, args)

    def shape(self, x):
        return (size(x),)

    def entries(self, shapes, x):
        return list(x)

    def vjp(self, args, out, seed, i):
        return Reshape.apply(seed, to=args[0].shape)

    def notation(self):
        return call("vec", r"\operatorname{vec}")

    def code(self, args, ctx):
        (x,) = args
        return f"{x.atom()}.reshape({ctx.batch}, -1)" if x.batched else f"{x.atom()}.reshape(-1)"


@register
@dataclass(frozen=True)
class Concat(Op):
    """``[a; b; …]``: the arguments one after another along ``axis``."""

    name = "concat"
    axis: int = 0

    def shape(self, *shapes):
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1 or not 0 <= self.axis < len(shapes[0]):
            raise ShapeError(f"cannot concatenate {', '.join(map(shape_text, shapes))} along axis {self.axis}")
        rest = {s[:self.axis] + s[self.axis + 1:] for s in shapes}
        if len(rest) != 1:
            raise ShapeError(f"cannot concatenate {', '.join(map(shape_text, shapes))}: the other axes differ")
        first = shapes[0]
        return first[:self.axis] + (sum(s[self.axis] for s in shapes),) + first[self.axis + 1:]

    def entries(self, shapes, *values):
        result = self.shape(*shapes)
        starts = [0]
        for s in shapes:
            starts.append(starts[-1] + s[self.axis])
        out = []
        for index in row_major(result):
            k = next(j for j in range(len(shapes)) if index[self.axis] < starts[j + 1])
            local = index[:self.axis] + (index[self.axis] - starts[k],) + index[self.axis + 1:]
            out.append(values[k][_flat(local, shapes[k])])
        return out

    def vjp(self, args, out, seed, i):
        start = sum(a.shape[self.axis] for a in args[:i])
        return Slice.apply(seed, axis=self.axis, start=start, stop=start + args[i].shape[self.axis])

    def notation(self):
        return Notation("list", "[|; |]", r"\begin{bmatrix}| \\ |\end{bmatrix}")

    def code(self, args, ctx):
        parts = []
        for a in args:
            if a.batched or not any(b.batched for b in args):
                parts.append(a.text)
            else:
                parts.append(f"{ctx.xp}.broadcast_to({a.text}, ({ctx.batch},) + {a.atom()}.shape)")
        batched = any(a.batched for a in args)
        return f"{ctx.xp}.concatenate([{', '.join(parts)}], axis={self.axis + batched})"


@register
@dataclass(frozen=True)
class Slice(Op):
    """``x[start:stop]`` along ``axis`` (the vector-Jacobian rule of a concatenation)."""

    name = "slice"
    arity = 1
    fresh = False
    axis: int = 0
    start: int = 0
    stop: int = 0

    def shape(self, x):
        if not (0 <= self.axis < len(x) and 0 <= self.start < self.stop <= x[self.axis]):
            raise ShapeError(f"cannot take entries {self.start}:{self.stop} of axis {self.axis} of {shape_text(x)}")
        return x[:self.axis] + (self.stop - self.start,) + x[self.axis + 1:]

    def entries(self, shapes, x):
        (shape,) = shapes
        return [x[_flat(i, shape)] for i in row_major(shape) if self.start <= i[self.axis] < self.stop]

    def notation(self):
        where = ", ".join([":"] * self.axis + [f"{self.start + 1}:{self.stop}"])
        # the sliced tensor braced, as it may carry a subscript of its own (δ_z)
        return template(f"{{0}}[{where}]", "{{{0}}}" + literal("_{" + where + "}"), "Atom", "Pow")

    def code(self, args, ctx):
        (x,) = args
        index = [":"] * (self.axis + x.batched) + [f"{self.start}:{self.stop}"]
        return f"{x.atom()}[{', '.join(index)}]"


# -- reductions and broadcasting -------------------------------------------------------------------

def _axes(axes, ndim: int) -> tuple[int, ...]:
    if axes is None:
        return tuple(range(ndim))
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    if any(not 0 <= a < ndim for a in axes) or len(set(axes)) != len(axes):
        raise ShapeError(f"axes {axes} do not fit a tensor with {ndim} axes")
    return tuple(sorted(axes))


@register
@dataclass(frozen=True)
class Sum(Op):
    """``Σ x``: the sum of all entries, or along ``axes`` (numbered from 0)."""

    name = "sum"
    arity = 1
    axes: tuple | None = None

    @classmethod
    def apply(cls, x, axes=None):
        x = as_expr(x)
        if axes is not None and not isinstance(axes, int):
            axes = tuple(axes)
        if axes == ():
            return x
        return cls(axes=axes).simplify((x,))

    def shape(self, x):
        kept = _axes(self.axes, len(x))
        return tuple(n for k, n in enumerate(x) if k not in kept)

    def entries(self, shapes, x):
        (shape,) = shapes
        summed = _axes(self.axes, len(shape))
        groups: dict[tuple, list] = {}
        for index in row_major(shape):
            groups.setdefault(tuple(i for k, i in enumerate(index) if k not in summed), []).append(x[_flat(index, shape)])
        return [sp.Add(*terms) for terms in groups.values()]

    def vjp(self, args, out, seed, i):
        return Expand.apply(seed, shape=args[0].shape, axes=_axes(self.axes, len(args[0].shape)))

    def notation(self):
        if self.axes is None:
            return template("Σ {0}", r"\sum {0}", "Mul", "Mul")
        over = ",".join(str(a + 1) for a in ((self.axes,) if isinstance(self.axes, int) else self.axes))
        return template(f"Σ_{over} {{0}}", rf"\sum_{{{{{over}}}}} {{0}}", "Mul", "Mul")

    def code(self, args, ctx):
        (x,) = args
        axes = tuple(a + x.batched for a in _axes(self.axes, len(x.shape)))
        if not x.batched and len(axes) == len(x.shape):
            return array_sum(ctx.xp, x.text)
        return array_sum(ctx.xp, x.text, axes)

    def batch_sum_code(self, args, ctx):
        (x,) = args
        # the batch first: adding whole samples runs over contiguous memory, ~10× faster than
        # one reduction over the batch and a middle axis together
        return array_sum(ctx.xp, array_sum(ctx.xp, x.text, 0), _axes(self.axes, len(x.shape)))


@register
@dataclass(frozen=True)
class Mean(Sum):
    """``mean(x)``: the mean of all entries, or along ``axes``."""

    name = "mean"

    def entries(self, shapes, x):
        count = size(shapes[0]) // max(1, size(self.shape(shapes[0])))
        return [total / count for total in super().entries(shapes, x)]

    def vjp(self, args, out, seed, i):
        count = size(args[0].shape) // max(1, size(out.shape))
        return scale(super().vjp(args, out, seed, i), sp.Rational(1, count))

    def notation(self):
        return call("mean", r"\operatorname{mean}")

    def code(self, args, ctx):  # a sum over a count: ndarray.mean needs an import at run time
        return f"{super().code(args, ctx)} / {self._count(args[0].shape)}"

    def batch_sum_code(self, args, ctx):
        return f"{super().batch_sum_code(args, ctx)} / {self._count(args[0].shape)}"

    def _count(self, shape) -> int:
        return size(shape) // max(1, size(self.shape(shape)))


@register
@dataclass(frozen=True)
class Expand(Op):
    """``x`` repeated along new ``axes`` up to ``shape`` (``δ 𝟙``: the rule of a sum)."""

    name = "expand"
    arity = 1
    fresh = False
    shape_: tuple = ()
    axes: tuple = ()

    @classmethod
    def apply(cls, x, shape=(), axes=()):
        return cls(shape_=tuple(shape), axes=tuple(axes)).simplify((as_expr(x),))

    def shape(self, x):
        kept = tuple(n for k, n in enumerate(self.shape_) if k not in self.axes)
        if kept != x:
            raise ShapeError(f"cannot expand {shape_text(x)} to {shape_text(self.shape_)} along {self.axes}")
        return self.shape_

    def entries(self, shapes, x):
        small = shapes[0]
        return [x[_flat(tuple(i for k, i in enumerate(index) if k not in self.axes), small)]
                for index in row_major(self.shape_)]

    def vjp(self, args, out, seed, i):
        return Sum.apply(seed, axes=self.axes)

    def notation(self):
        if len(self.axes) == len(self.shape_):
            return template("{0} 𝟙", r"{0} \mathbf{{1}}", "Mul", "Mul")
        return call(f"expand_{shape_text(self.shape_)}", r"\operatorname{expand}")

    def code(self, args, ctx):
        (x,) = args
        index = [":"] * x.batched + [":" if k not in self.axes else "None" for k in range(len(self.shape_))]
        inserted = x.atom() if not x.batched and not x.shape else f"{x.atom()}[{', '.join(index)}]"
        shape = ", ".join(map(str, self.shape_))
        target = f"({ctx.batch}, {shape})" if x.batched else f"({shape},)"
        return f"{ctx.xp}.broadcast_to({inserted}, {target})"


# -- softmax ------------------------------------------------------------------------------------------

def row_max_kernel(xp, z):
    """The largest entry of each row (the last axis, kept as an axis of length 1), in NumPy as a
    tree of pairwise maxima of the rows' halves: NumPy reduces short rows (an attention head's 16
    scores) one row at a time, several times slower. XLA (``jax.numpy``) fuses the plain reduction."""
    if xp.__name__ != "numpy":
        return z.max(axis=-1, keepdims=True)
    while z.shape[-1] > 1:
        half = (z.shape[-1] + 1) // 2  # an odd row's middle entry is in both halves
        z = xp.maximum(z[..., :half], z[..., z.shape[-1] - half:])
    return z


def row_sum_kernel(xp, z):
    """Σ along the last axis (kept): in NumPy a matrix product with a column of ones (BLAS),
    several times faster than NumPy's reduction of short rows; XLA fuses the plain sum."""
    if xp.__name__ != "numpy":
        return z.sum(axis=-1, keepdims=True)
    return z @ xp.ones((z.shape[-1], 1), dtype=z.dtype)


def softmax_kernel(xp, z):
    """softmax along the last axis, shifted by the largest entry so that nothing overflows."""
    e = xp.exp(z - row_max_kernel(xp, z))
    return e / row_sum_kernel(xp, e)


def softmax_parts(xp, z):
    """``(softmax(z), log Σ exp z)`` along the last axis from one shifted exponential: a softmax
    cross-entropy and its rule ``softmax(z) − y`` share it."""
    shift = row_max_kernel(xp, z)
    e = xp.exp(z - shift)
    total = row_sum_kernel(xp, e)
    return e / total, xp.log(total[..., 0]) + shift[..., 0]


def _rows(shape: Shape) -> list[list[int]]:
    """Flat positions of each row (the last axis) of ``shape``."""
    n = shape[-1]
    return [list(range(r * n, (r + 1) * n)) for r in range(size(shape) // n)]


@register
@dataclass(frozen=True)
class Softmax(Op):
    """``softmax(z)_k = e^(z_k) / Σ_i e^(z_i)`` along the last axis."""

    name = "softmax"
    arity = 1

    def shape(self, z):
        if not z:
            raise ShapeError("softmax needs a vector (or rows), not a scalar")
        return z

    def entries(self, shapes, z):
        out = []
        for row in _rows(shapes[0]):
            lse = logsumexp(*[z[k] for k in row])
            out += [sp.exp(z[k] - lse) for k in row]
        return out

    def vjp(self, args, out, seed, i):
        return SoftmaxBackward.apply(out, seed)

    def notation(self):
        return call("softmax", r"\operatorname{softmax}")

    def code(self, args, ctx):  # computed once with the loss that needs its log-sum-exp
        return f"{ctx.share(f'softmax_parts({ctx.xp}, {args[0].text})')}[0]"

    def kernels(self):
        return (softmax_parts, row_max_kernel, row_sum_kernel)


@register
@dataclass(frozen=True)
class SoftmaxBackward(Op):
    """``(diag(s) − s sᵀ) δ = s ⊙ (δ − (sᵀδ) 𝟙)``: the Jacobian of softmax (at ``s``) times ``δ``."""

    name = "softmax_backward"
    arity = 2

    def shape(self, s, d):
        if s != d:
            raise ShapeError(f"softmax's backward rule needs s and δ of one shape, not {shape_text(s)} and {shape_text(d)}")
        return s

    def entries(self, shapes, s, d):
        out = []
        for row in _rows(shapes[0]):
            inner = sp.Add(*[s[k] * d[k] for k in row])
            out += [s[k] * (d[k] - inner) for k in row]
        return out

    def notation(self):
        return template("(diag({0}) - {0} {0}ᵀ) {1}",
                        r"\left(\operatorname{{diag}}\left({0}\right) - {0} {{{0}}}^{{\top}}\right) {1}", "Mul", "Pow")

    def code(self, args, ctx):
        s, d = args
        return f"{s.atom()} * ({d.atom()} - row_sum_kernel({ctx.xp}, {s.atom()} * {d.atom()}))"

    def kernels(self):
        return (row_sum_kernel,)


# -- losses and penalties (per sample: a scalar) -----------------------------------------------------

class _Loss(Op):
    """A per-sample loss of the outputs (argument 0) against the targets (argument 1)."""

    arity = 2

    def shape(self, z, y):
        if z != y:
            raise ShapeError(f"{self.name} compares outputs and targets of one shape, not {shape_text(z)} "
                             f"and {shape_text(y)}")
        return ()

    def differentiable(self, i):
        return i == 0


@register
@dataclass(frozen=True)
class SquaredError(_Loss):
    """``‖o − y‖²/2``; its rule is ``o − y``."""

    name = "squared_error"

    def entries(self, shapes, o, y):
        return [sp.Add(*[(a - t) ** 2 for a, t in zip(o, y)]) / 2]

    def vjp(self, args, out, seed, i):
        o, y = args
        return hadamard(seed, o - y if i == 0 else y - o)

    def notation(self):
        return template("‖{0} - {1}‖²/2", r"\tfrac{{1}}{{2}} \left\lVert {0} - {1} \right\rVert^{{2}}", "Mul")

    def code(self, args, ctx):
        o, y = args
        return f"0.5 * {_per_sample_sum(f'({o.text} - {y.text}) ** 2', o, ctx.xp)}"


@register
@dataclass(frozen=True)
class BinaryCrossEntropy(_Loss):
    """``1ᵀ softplus(z) − yᵀz`` = ``−Σ y log σ(z) + (1 − y) log(1 − σ(z))`` of logits ``z``;
    its rule is ``σ(z) − y``."""

    name = "binary_cross_entropy"

    def entries(self, shapes, z, y):
        return [sp.Add(*[softplus(a) - t * a for a, t in zip(z, y)])]

    def vjp(self, args, out, seed, i):
        z, y = args
        return hadamard(seed, apply_function(sigmoid, z) - y if i == 0 else -1 * z)

    def notation(self):
        return template("1ᵀ softplus({0}) - {1}ᵀ {0}",
                        r"\mathbf{{1}}^{{\top}} \operatorname{{softplus}}\left({0}\right) - {{{1}}}^{{\top}} {0}", "Add", "Pow")

    def code(self, args, ctx):
        z, y = args
        return _per_sample_sum(f"{ctx.xp}.logaddexp(0, {z.text}) - {y.atom()} * {z.atom()}", z, ctx.xp)


@register
@dataclass(frozen=True)
class SoftmaxCrossEntropy(_Loss):
    """``LSE(z) − yᵀz`` = ``−Σ y log softmax(z)`` of logits ``z`` (one-hot ``y``); its rule is
    ``softmax(z) − y``."""

    name = "softmax_cross_entropy"

    def shape(self, z, y):
        if len(z) != 1:
            raise ShapeError(f"softmax cross-entropy takes a vector of logits, not {shape_text(z)}")
        return super().shape(z, y)

    def entries(self, shapes, z, y):
        return [logsumexp(*z) - sp.Add(*[t * a for a, t in zip(z, y)])]

    def vjp(self, args, out, seed, i):
        z, y = args
        return hadamard(seed, Softmax.apply(z) - y if i == 0 else -1 * z)

    def notation(self):
        return template("LSE({0}) - {1}ᵀ {0}", r"\operatorname{{LSE}}\left({0}\right) - {{{1}}}^{{\top}} {0}", "Add", "Pow")

    def code(self, args, ctx):
        z, y = args
        return f"{ctx.share(f'softmax_parts({ctx.xp}, {z.text})')}[1] - {array_sum(ctx.xp, f'{y.atom()} * {z.atom()}', -1)}"

    def batch_sum_code(self, args, ctx):
        z, y = args
        lse = f"{ctx.share(f'softmax_parts({ctx.xp}, {z.text})')}[1]"
        return f"{array_sum(ctx.xp, lse)} - {ctx.xp}.vdot({y.text}, {z.text})"

    def kernels(self):
        return (softmax_parts, row_max_kernel, row_sum_kernel)


LOSS_OPS = {cls.name: cls for cls in (SquaredError, BinaryCrossEntropy, SoftmaxCrossEntropy)}


@register
@dataclass(frozen=True)
class SquaredNorm(Op):
    """``‖W‖²``, the sum of the squared entries (an L2 penalty is ``λ‖W‖²``); its rule is ``2 δ W``."""

    name = "squared_norm"
    arity = 1

    def shape(self, x):
        return ()

    def entries(self, shapes, x):
        return [sp.Add(*[v ** 2 for v in x])]

    def vjp(self, args, out, seed, i):
        return scale(hadamard(seed, args[0]), 2)

    def notation(self):
        return template("‖{0}‖²", r"\left\lVert {0} \right\rVert^{{2}}")

    def code(self, args, ctx):
        (x,) = args
        if not x.batched:
            return f"{ctx.xp}.vdot({x.text}, {x.text})"
        return _per_sample_sum(f"{x.atom()} ** 2", x, ctx.xp)


# -- constructors: what users and the rules above call ------------------------------------------------

def add(*terms) -> TensorExpr: return Add.apply(*terms)                       # noqa: E704
def scale(x, factor) -> TensorExpr: return Scale.apply(x, factor=factor)       # noqa: E704
def hadamard(a, b) -> TensorExpr: return Hadamard.apply(a, b)                  # noqa: E704
def elementwise(function, x) -> TensorExpr: return apply_function(function, x)  # noqa: E704
def matmul(a, b) -> TensorExpr: return MatMul.apply(a, b)                      # noqa: E704
def outer(a, b) -> TensorExpr: return Outer.apply(a, b)                        # noqa: E704
def dot(a, b) -> TensorExpr: return Dot.apply(a, b)                            # noqa: E704
def transpose(x) -> TensorExpr: return Transpose.apply(x)                      # noqa: E704
def reshape(x, shape) -> TensorExpr: return Reshape.apply(x, to=tuple(shape))  # noqa: E704
def flatten(x) -> TensorExpr: return Flatten.apply(x)                          # noqa: E704
def concat(*parts, axis: int = 0) -> TensorExpr: return Concat.apply(*parts, axis=axis)  # noqa: E704
def tsum(x, axes=None) -> TensorExpr: return Sum.apply(x, axes=axes)           # noqa: E704
def mean(x, axes=None) -> TensorExpr: return Mean.apply(x, axes=axes)          # noqa: E704
def softmax(z) -> TensorExpr: return Softmax.apply(z)                          # noqa: E704
def squared_error(o, y) -> TensorExpr: return SquaredError.apply(o, y)         # noqa: E704
def binary_cross_entropy(z, y) -> TensorExpr: return BinaryCrossEntropy.apply(z, y)    # noqa: E704
def softmax_cross_entropy(z, y) -> TensorExpr: return SoftmaxCrossEntropy.apply(z, y)  # noqa: E704
def squared_norm(x) -> TensorExpr: return SquaredNorm.apply(x)                 # noqa: E704
