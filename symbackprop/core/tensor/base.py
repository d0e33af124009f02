"""Tensor expressions and the protocol every operation of the op table follows.

A ``Tensor`` is a named array with a shape (``W^(1)``: 32×64, ``x``: 1×8×8); an ``Apply`` is an
operation applied to tensor expressions. Per-sample shapes only: a batch is the generated
code's business. Every operation is one class (``Op``) that keeps together

- its **forward rule** at the level of shapes (``shape``) and of scalar entries (``entries``,
  the view from which path sums are read),
- its **vector-Jacobian rule** (``vjp``: given ``δ = ∂L/∂out``, the contribution to ``∂L/∂arg``),
  written with other operations so that it prints as the textbooks write it,
- its **notation** (``notation``: how the text, LaTeX and MathML printers show it),
- its **NumPy code** on a batch (``code``), with helper kernels that receive the array module
  (NumPy or ``jax.numpy``) as an argument, so nothing here imports NumPy.

Operations register themselves in ``OPS`` (name → class), the table the model-file parser and
the arithmetic operators below look operations up in.

>>> x, W = Tensor("x", 3), Tensor("W", (2, 3))
>>> (W @ x).shape
(2,)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, ClassVar, Sequence

import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from ..errors import GraphError

__all__ = ["Shape", "ShapeError", "TensorExpr", "Tensor", "Scalar", "Apply", "Op", "Notation", "Code", "CodeContext",
           "OPS", "register", "infix", "call", "postfix", "template", "shape_text", "size", "as_shape", "as_expr", "ONE", "ZERO", "leaves",
           "replace", "row_major", "walk"]

Shape = tuple[int, ...]


class ShapeError(GraphError):
    """Tensors whose shapes do not fit the operation applied to them."""


def shape_text(shape: Shape) -> str:
    """``32×64``, ``8×1×3×3``; a scalar is ``1``.

    >>> shape_text((8, 1, 3, 3)), shape_text(())
    ('8×1×3×3', '1')
    """
    return "×".join(map(str, shape)) or "1"


def size(shape: Shape) -> int:
    total = 1
    for n in shape:
        total *= n
    return total


def as_shape(shape) -> Shape:
    """A shape from an int or a sequence of positive ints (a clear error otherwise)."""
    if isinstance(shape, bool):
        raise ShapeError(f"a shape is a positive integer or a tuple of them, not {shape!r}")
    if isinstance(shape, int):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise ShapeError(f"a shape is a positive integer or a tuple of them, not {shape!r}") from None
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in shape):
        raise ShapeError(f"a shape is a tuple of positive integers, not {shape!r}")
    return shape


def row_major(shape: Shape) -> list[tuple[int, ...]]:
    """Every index of ``shape`` in row-major (C) order."""
    indices: list[tuple[int, ...]] = [()]
    for n in shape:
        indices = [index + (i,) for index in indices for i in range(n)]
    return indices


# -- expressions -----------------------------------------------------------------------------------

class TensorExpr:
    """Base of tensor expressions: Python's operators build them (``W @ x + b``, ``a * b`` is the
    Hadamard product, ``2 * W`` a scaling, ``W.T`` the transpose)."""

    __slots__ = ()
    precedence: ClassVar[int] = PRECEDENCE["Atom"]

    @property
    def shape(self) -> Shape | None:
        raise NotImplementedError

    def _op(self, name: str, *args, **attributes):
        return OPS[name].apply(*args, **attributes)

    def __add__(self, other):
        return self._op("add", self, as_expr(other))

    def __radd__(self, other):
        return self._op("add", as_expr(other), self)

    def __sub__(self, other):
        return self._op("add", self, self._op("scale", as_expr(other), factor=-1))

    def __rsub__(self, other):
        return self._op("add", as_expr(other), self._op("scale", self, factor=-1))

    def __neg__(self):
        return self._op("scale", self, factor=-1)

    def __mul__(self, other):
        if isinstance(other, TensorExpr):
            return self._op("hadamard", self, other)
        return self._op("scale", self, factor=other)

    def __rmul__(self, other):
        return self._op("scale", self, factor=other)

    def __truediv__(self, other):
        if isinstance(other, TensorExpr):
            return NotImplemented
        return self._op("scale", self, factor=1 / sp.sympify(other))

    def __matmul__(self, other):
        return self._op("matmul", self, other)

    @property
    def T(self):
        return self._op("transpose", self)


@dataclass(frozen=True, eq=False)
class Tensor(TensorExpr):
    """A named tensor: an input, target or parameter (a leaf) or a node defined by the graph.

    ``shape`` may be left out for a node (the graph infers it from the definition). ``entries``
    names the scalar entries in the scalar view: a format string over the 1-based indices
    (``"w1_{1}_{0}"`` puts index 2 first), by default the name without markup followed by the
    indices (``W^(1)`` → ``W1_1_1``, ``h`` → ``h1``). Two tensors are the same tensor when they
    have the same name, as SymPy's symbols are.
    """

    name: str
    shape: Shape | None = None
    entries: str | None = field(default=None, compare=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise GraphError(f"a tensor's name is a non-empty string, not {self.name!r}")
        if self.shape is not None:
            object.__setattr__(self, "shape", as_shape(self.shape))

    def __eq__(self, other):
        return isinstance(other, Tensor) and other.name == self.name

    def __hash__(self):
        return hash(("Tensor", self.name))

    def __repr__(self):
        return self.name if self.shape is None else f"{self.name}: {shape_text(self.shape)}"

    def __str__(self):
        return self.name


@dataclass(frozen=True)
class Scalar(TensorExpr):
    """A constant number (or a SymPy symbol such as λ) used as a 0-dimensional tensor."""

    value: sp.Expr

    def __post_init__(self):
        object.__setattr__(self, "value", sp.sympify(self.value))

    @property
    def shape(self) -> Shape:
        return ()

    def __str__(self):
        return str(self.value)


ONE, ZERO = Scalar(sp.S.One), Scalar(sp.S.Zero)


def as_expr(value) -> TensorExpr:
    """A tensor expression, or a number / SymPy scalar as a ``Scalar``."""
    if isinstance(value, TensorExpr):
        return value
    try:
        return Scalar(sp.sympify(value, strict=True))
    except (sp.SympifyError, TypeError):
        raise GraphError(f"{value!r} is neither a tensor expression nor a number") from None


@dataclass(frozen=True)
class Apply(TensorExpr):
    """``op(*args)``; its shape follows from the arguments' (``None`` while one is unknown)."""

    op: "Op"
    args: tuple[TensorExpr, ...]

    @cached_property
    def shape(self) -> Shape | None:
        shapes = [a.shape for a in self.args]
        if any(s is None for s in shapes):
            return None
        return self.op.shape(*shapes)

    @cached_property
    def _hash(self) -> int:
        return hash((self.op, self.args))

    def __hash__(self):
        return self._hash

    @property
    def precedence(self) -> int:
        return self.op.notation().precedence

    def __str__(self):
        from_op = self.op.notation()
        return from_op.text_of([str(a) for a in self.args])


def walk(expr: TensorExpr):
    """Every subexpression of ``expr``, parents before their arguments."""
    yield expr
    if isinstance(expr, Apply):
        for arg in expr.args:
            yield from walk(arg)


def leaves(expr: TensorExpr) -> list[Tensor]:
    """The named tensors ``expr`` uses, in order of first appearance."""
    found: dict[Tensor, None] = {}
    for e in walk(expr):
        if isinstance(e, Tensor):
            found.setdefault(e, None)
    return list(found)


def replace(expr: TensorExpr, mapping: Callable[[TensorExpr], TensorExpr | None]) -> TensorExpr:
    """``expr`` rebuilt bottom-up, each subexpression ``e`` replaced by ``mapping(e)`` when that
    is not ``None`` (the op table's constructors simplify the rebuilt operations again)."""
    found = mapping(expr)
    if found is not None:
        return found
    if isinstance(expr, Apply):
        args = tuple(replace(a, mapping) for a in expr.args)
        if any(new is not old for new, old in zip(args, expr.args)):
            return expr.op.rebuild(args)
    return expr


# -- the op protocol -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Notation:
    """How an operation prints. ``kind`` is one of

    - ``"infix"``: the arguments joined by ``text`` / ``latex`` (``a ⊙ b``; ``" "`` juxtaposes);
    - ``"call"``: ``text(args)`` (``softmax(u)``, ``f'(u)``);
    - ``"postfix"``: the argument followed by ``text`` (``Wᵀ``, LaTeX ``^{\\top}``);
    - ``"scale"``: the operation's ``factor`` before its argument (``2λ W``, ``-x``);
    - ``"list"``: the arguments between an opening and a closing bracket, with a separator,
      ``text`` and ``latex`` each holding ``open|separator|close`` (``[a; b]``);
    - ``"template"``: ``text`` and ``latex`` are format strings over the arguments
      (``‖{0}‖²``); MathML is converted from the LaTeX.

    ``precedence`` is the expression's own (SymPy's scale: an argument whose precedence is
    below ``wrap`` is parenthesised; ``wrap=0`` never parenthesises).
    """

    kind: str
    text: str
    latex: str
    precedence: int = PRECEDENCE["Atom"]
    wrap: int = 0

    def text_of(self, args: Sequence[str]) -> str:
        """Plain text without precedence handling (``str`` of an expression, messages)."""
        if self.kind == "infix":
            return self.text.join(args)
        if self.kind == "call":
            return f"{self.text}({', '.join(args)})"
        if self.kind == "list":
            opening, separator, closing = self.text.split("|")
            return opening + separator.join(args) + closing
        if self.kind in ("postfix", "scale"):
            return f"{self.text}{args[0]}" if self.kind == "scale" else f"{args[0]}{self.text}"
        return self.text.format(*args)


def infix(text: str, latex: str, precedence: str = "Mul") -> Notation:
    return Notation("infix", text, latex, PRECEDENCE[precedence], PRECEDENCE[precedence])


def call(text: str, latex: str) -> Notation:
    return Notation("call", text, latex, PRECEDENCE["Func"])


def postfix(text: str, latex: str) -> Notation:
    return Notation("postfix", text, latex, PRECEDENCE["Pow"], PRECEDENCE["Pow"])


def template(text: str, latex: str, precedence: str = "Atom", wrap: str | None = None) -> Notation:
    return Notation("template", text, latex, PRECEDENCE[precedence], PRECEDENCE[wrap] if wrap else 0)


def literal(text: str) -> str:
    """``text`` as it must be written inside a template, a format string: braces doubled, so
    that LaTeX's ``_{p=1}`` prints as itself rather than asking for an argument named ``p=1``.

    >>> template(f"{{0}}{literal('_(p=1)')}", rf"{{0}}{literal('_{p=1}')}").latex.format("x")
    'x_{p=1}'
    """
    return text.replace("{", "{{").replace("}", "}}")


@dataclass(frozen=True)
class Code:
    """An argument as the code generator sees it: the code ``text`` computing it, its per-sample
    ``shape``, whether it holds one value per sample (``batched``: a leading batch axis) and the
    tensor expression ``expr`` it computes."""

    text: str
    shape: Shape
    batched: bool
    expr: TensorExpr | None = field(default=None, compare=False)

    @property
    def ndim(self) -> int:
        """The number of axes of the array, batch axis included."""
        return len(self.shape) + self.batched

    def atom(self) -> str:
        """The text, parenthesised unless it is one name, number, attribute, call or index."""
        return self.text if _atomic(self.text) else f"({self.text})"


def _atomic(text: str) -> bool:
    """True for ``u1``, ``0.5``, ``x.T``, ``numpy.tanh(u1)``, ``x[:, None]``: nothing at the
    outermost level but names, digits, dots and complete brackets."""
    depth = 0
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and not (ch.isalnum() or ch in "_."):
            return False
    return depth == 0 and bool(text)


class CodeContext:
    """What the code generator offers an operation writing its code (the numeric floor
    implements it; nothing here needs NumPy):

    - ``xp``: the array module's name in the generated code (``numpy`` or ``jnp``);
    - ``batch``: the name holding the batch size;
    - ``scalar(expr, names)``: a scalar SymPy expression as array code, ``names`` mapping its
      symbols to code (``tanh(ξ)`` → ``numpy.tanh(u1)``);
    - ``value(expr)``: the variable already holding ``expr``, or ``None`` (so ``tanh'(u)`` can
      be written with the node ``a = tanh(u)`` as ``1 - a**2``);
    - ``code(expr)``: the ``Code`` of any subexpression;
    - ``share(text)``: a variable holding the value of the code ``text``, computed once in the
      function however many operations ask for it (a map's windows, read by a convolution and
      by its kernel's gradient).
    """

    xp: str
    batch: str

    def scalar(self, expr: sp.Expr, names: dict) -> str:
        raise NotImplementedError

    def value(self, expr: TensorExpr) -> str | None:
        raise NotImplementedError

    def code(self, expr: TensorExpr) -> Code:
        raise NotImplementedError

    def share(self, text: str) -> str:
        raise NotImplementedError


OPS: dict[str, type["Op"]] = {}


def register(cls):
    """Class decorator: put an operation in the op table under its ``name``."""
    OPS[cls.name] = cls
    return cls


class Op:
    """An operation of the table; subclasses are frozen dataclasses of their attributes
    (``stride``, ``axes``) and fill in the methods below."""

    name: ClassVar[str]
    arity: ClassVar[int | None] = None  # None: any number of arguments
    fresh: ClassVar[bool] = True  # its code makes a new array (False: a view, e.g. a transpose)

    # -- building: ``apply`` checks the arguments and simplifies trivial cases ------------------

    @classmethod
    def apply(cls, *args, **attributes) -> TensorExpr:
        """``op(*args)`` as an expression (the constructor users and the VJP rules call)."""
        args = tuple(as_expr(a) for a in args)
        if cls.arity is not None and len(args) != cls.arity:
            raise GraphError(f"{cls.name} takes {cls.arity} argument{'s' * (cls.arity != 1)}, not {len(args)}")
        return cls(**attributes).simplify(args)

    def simplify(self, args: tuple) -> TensorExpr:
        """The expression ``self(*args)``, simpler where an identity allows (``(Aᵀ)ᵀ = A``)."""
        return Apply(self, args)

    def rebuild(self, args: tuple) -> TensorExpr:
        return self.simplify(args)

    # -- forward rules --------------------------------------------------------------------------

    def shape(self, *shapes: Shape) -> Shape:
        """The result's shape from the arguments' (``ShapeError`` when they do not fit)."""
        raise NotImplementedError

    def entries(self, shapes: Sequence[Shape], *values: list) -> list:
        """The result's scalar entries (row-major) from each argument's, as SymPy expressions."""
        raise NotImplementedError

    # -- the vector-Jacobian rule -----------------------------------------------------------

    def vjp(self, args: tuple, out: TensorExpr, seed: TensorExpr, i: int) -> TensorExpr:
        """The contribution of ``seed = ∂L/∂out`` to ``∂L/∂args[i]``; ``out`` is this
        application itself, or the node it defines (so rules may reuse the forward value)."""
        raise GraphError(f"{self.name} has no vector-Jacobian rule (it appears only in backward passes)")

    # -- notation and code ----------------------------------------------------------------------

    def notation(self) -> Notation:
        raise NotImplementedError

    def code(self, args: Sequence[Code], ctx: "CodeContext") -> str:
        """Array code for a batch: batched arguments carry a leading batch axis, and so does the
        result when any of them does. ``ctx`` is the code generator (``CodeContext``)."""
        raise NotImplementedError

    def batch_sum_code(self, args: Sequence[Code], ctx: "CodeContext") -> str | None:
        """Code for the sum over the batch of this operation's (batched) result, when there is
        a cheaper form than computing it and summing (``Σ_b δ aᵀ`` is ``δ.T @ a``)."""
        return None

    def batch_sum_into(self, args: Sequence[Code], ctx: "CodeContext", out: str) -> str | None:
        """A statement writing the batch sum into the existing array ``out`` (NumPy only), when
        the operation can do it without a temporary (``numpy.matmul(δ.T, a, out=…)``)."""
        return None

    def in_place(self, args: Sequence[Code], ctx: "CodeContext", target: str) -> list[str] | None:
        """Statements computing the result into ``target``, starting from ``args[0]``'s (a
        fresh array of the result's shape) and updating it in place (``u = x @ W.T; u += b``)."""
        return None

    def kernels(self) -> tuple[Callable, ...]:
        """Helper functions the code calls by their names, each ``function(xp, …)``: the array
        module comes first, so one kernel runs on NumPy and on JAX."""
        return ()

    def fan_in(self, shapes: Sequence[Shape], i: int) -> int | None:
        """How many inputs each entry of the result reads through argument ``i`` when that
        argument is a weight (PyTorch's fan-in, for the initial draw), or ``None``."""
        return None

    def differentiable(self, i: int) -> bool:
        """Whether gradients flow into argument ``i`` (targets of a loss, for instance, do)."""
        return True
