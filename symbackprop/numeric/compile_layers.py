"""The matrix equations of ``derive_layers`` as batched NumPy code: one matmul per layer and direction.

In the generated code a per-sample column vector (``u^(l)``, ``a^(l)``, ``δ^(l)``) is an array
with one row per sample, so ``W a`` becomes ``a @ W.T``, ``Wᵀ δ`` becomes ``δ @ W`` and the
batch sum of ``δ aᵀ`` becomes ``δ.T @ a``. Parameter matrices are views into the flat parameter
vector when its order allows (``mlp``'s does), so nothing is packed or unpacked; gradients are
written in place into the flat gradient. The loss kernels are fused and shifted so that any
logits give a finite loss and gradient.

>>> import numpy as np, symbackprop as sbp
>>> g = sbp.mlp((3, 4, 2), loss="softmax_cross_entropy")
>>> model = compile_dense(g)
>>> X, Y = np.ones((5, 3)), np.tile([1.0, 0.0], (5, 1))
>>> loss, grad = model.loss_and_gradient(model.init_params(seed=0), X, Y)
>>> grad.shape
(26,)
>>> print(next(line for line in model.source().splitlines() if line.startswith("    delta2 =")))
    delta2 = p - y  # δ^(2) = softmax(u^(2)) - y
"""

from __future__ import annotations

import builtins
import inspect

import numpy as np
import sympy as sp
from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul, MatrixSymbol, Transpose
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.str import StrPrinter

from .model import Model, NumPyCodePrinter, comment_line, float_dtype
from ..core.derive import local_partials
from ..core.errors import CompileError
from ..core.functions import sigmoid
from ..core.graph import Graph
from ..core.layers import Activation, LayerDerivation, Softmax, dense_structure, derive_layers

__all__ = ["compile_dense", "LayerModel", "BatchPrinter", "flat_view", "softmax_cross_entropy", "binary_cross_entropy",
           "squared_error", "softmax"]


# -- the fused losses: (sum over the batch of the per-sample loss, what δ of the logits needs) ------

def softmax_cross_entropy(z, y):
    """Σ_batch LSE(z) − yᵀz and softmax(z); shifted by the row maximum, so no exp overflows."""
    shift = z.max(axis=1, keepdims=True)
    p = z - shift
    numpy.exp(p, out=p)
    total = p.sum(axis=1, keepdims=True)
    loss = numpy.log(total).sum() + shift.sum() - numpy.vdot(y, z)
    p /= total
    return loss, p


def binary_cross_entropy(z, y):
    """Σ_batch 1ᵀ softplus(z) − yᵀz and σ(z) = exp(−softplus(−z)), both finite for any z."""
    return numpy.logaddexp(0, z).sum() - numpy.vdot(y, z), numpy.exp(-numpy.logaddexp(0, -z))


def squared_error(z, y):
    """Σ_batch ‖z − y‖²/2 (δ needs nothing more than z itself)."""
    r = z - y
    return 0.5 * numpy.vdot(r, r), None


def softmax(z):
    """softmax of each row, shifted by the row maximum."""
    p = numpy.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return p


numpy = np  # the kernels above read ``numpy`` as the generated code does
_KERNELS = {"softmax_cross_entropy": softmax_cross_entropy, "binary_cross_entropy": binary_cross_entropy,
            "squared_error": squared_error}


# -- printing matrix expressions as batch code ---------------------------------------------------

_ARGUMENT, _VALUE = sp.Symbol("ξ"), sp.Symbol("η")


class BatchPrinter(StrPrinter):
    """Matrix expressions (one sample, column vectors) as NumPy code over a batch (one row per
    sample). ``names`` maps matrix symbols, and expressions already computed (``tanh(u^(1))``
    once it is ``a1``), to variable names."""

    def __init__(self, names: dict):
        super().__init__()
        self._names = names

    def _print(self, expr, **kwargs):
        if expr in self._names:
            return self._names[expr]
        return super()._print(expr, **kwargs)

    def _print_MatrixSymbol(self, expr):
        raise CompileError(f"{expr.name} has no value yet in the generated code")

    def _print_MatMul(self, expr):
        coeff, factors = expr.as_coeff_matrices()
        if len(factors) == 1:
            code = self._operand(factors[0])
            return f"-{code}" if coeff == -1 else f"{self._print(coeff)}*{code}"
        if len(factors) != 2:
            raise CompileError(f"no batch form for the product {expr}")
        left, right = factors
        if isinstance(right, Transpose):       # Σ_batch δ aᵀ
            code = f"{self._operand(left)}.T @ {self._operand(right.arg)}"
        elif isinstance(left, Transpose):      # Wᵀ δ  →  δ @ W
            code = f"{self._operand(right)} @ {self._operand(left.arg)}"
        else:                                  # W a  →  a @ W.T
            code = f"{self._operand(right)} @ {self._operand(left)}.T"
        return code if coeff == 1 else f"{self._print(coeff)}*({code})"

    def _operand(self, expr) -> str:
        code = self._print(expr)
        return code if code.isidentifier() else f"({code})"

    def _print_MatAdd(self, expr):
        parts = [self._print(arg) for arg in expr.args]
        return parts[0] + "".join(f" - {p[1:]}" if p.startswith("-") else f" + {p}" for p in parts[1:])

    def _print_HadamardProduct(self, expr):
        return " * ".join(self._operand(arg) for arg in expr.args)

    def _print_Activation(self, expr):
        u = self._print(expr.arg)
        value = self._names.get(Activation(expr.function, expr.arg))
        scalar = expr.function(_ARGUMENT)
        if expr.order == 1:
            scalar = local_partials(scalar, [_ARGUMENT], value=_VALUE if value else None)[_ARGUMENT]
        return NumPyCodePrinter({_ARGUMENT: u if u.isidentifier() else f"({u})", _VALUE: value}).doprint(scalar)

    def _print_Softmax(self, expr):
        return f"softmax({self._print(expr.arg)})"


def _variable(symbol: MatrixSymbol) -> str:
    """``W^(2)`` → ``W2``, ``δ^(1)`` → ``delta1``: names made from the layer view's own symbols."""
    base, _, layer = symbol.name.partition("^")
    return {"δ": "delta"}.get(base, base) + layer.strip("()")


# -- parameters: views into the flat vector where its order allows --------------------------------

def _positions(derivation: LayerDerivation, matrix: MatrixSymbol) -> np.ndarray:
    index = {p: i for i, p in enumerate(derivation.layers.structure.graph.parameters)}
    explicit = derivation.layers.scalars[matrix]
    positions = np.array([[index[s] for s in explicit.row(r)] for r in range(explicit.rows)])
    return positions if matrix in derivation.layers.weights else positions[:, 0]


def flat_view(positions: np.ndarray, total: int) -> str | None:
    """A slice-and-reshape of a flat vector ``{v}`` holding exactly these positions, if one exists."""
    start = int(positions.flat[0])
    if positions.ndim == 1:
        step = int(positions[1] - positions[0]) if len(positions) > 1 else 1
        if step > 0 and np.array_equal(positions, start + step * np.arange(len(positions))):
            return f"{{v}}[{start}:{start + step * (len(positions) - 1) + 1}:{step}]"
        return None
    rows, cols = positions.shape
    row_step = int(positions[1, 0] - start) if rows > 1 else cols
    col_step = int(positions[0, 1] - start) if cols > 1 else 1
    expected = start + row_step * np.arange(rows)[:, None] + col_step * np.arange(cols)[None, :]
    if not np.array_equal(positions, expected):
        return None
    if col_step == 1:
        return _block(start, rows, cols, row_step, total, "")
    if row_step == 1:
        return _block(start, cols, rows, col_step, total, ".T")
    return None


def _block(start: int, rows: int, cols: int, step: int, total: int, suffix: str) -> str | None:
    """Rows of ``cols`` entries every ``step`` positions from ``start``, as a reshaped slice: the
    slice may begin up to ``step - cols`` positions early so that it ends inside the vector."""
    if step < cols:
        return None
    shift = max(0, start + rows * step - total)
    if shift > step - cols or shift > start:
        return None
    begin = start - shift
    return f"{{v}}[{begin}:{begin + rows * step}].reshape({rows}, {step})[:, {shift}:{shift + cols}]{suffix}"


# -- the generated source ----------------------------------------------------------------------------

class _Source:
    """The three functions of a compiled dense model, as lines of Python."""

    def __init__(self, derivation: LayerDerivation):
        self.derivation = derivation
        self.layers = derivation.layers
        total = len(self.layers.structure.graph.parameters)
        self.constants: dict[str, np.ndarray] = {}
        self.views: dict[MatrixSymbol, str | None] = {}
        for matrix in self._parameters():
            positions = _positions(derivation, matrix)
            self.views[matrix] = flat_view(positions, total)
            if self.views[matrix] is None:
                self.constants[f"index_{_variable(matrix)}"] = positions

    def _parameters(self) -> list[MatrixSymbol]:
        return [m for m in self.layers.weights + self.layers.biases if m is not None]

    def _unpack(self) -> list[str]:
        lines = ["    # parameters: views into the flat vector (no copies) where its order allows"]
        for matrix in self._parameters():
            view = self.views[matrix]
            code = view.format(v="params") if view else f"params[index_{_variable(matrix)}]"
            lines.append(f"    {_variable(matrix)} = {code}")
        return lines

    @staticmethod
    def _assign(target: str, expr, printer: BatchPrinter) -> list[str]:
        """``target = expr`` with one fresh array: a product or sum is computed once, then the
        bias, the other terms and the elementwise factors are applied in place."""
        if isinstance(expr, (MatAdd, HadamardProduct)) and isinstance(expr.args[0], MatMul):
            op = "+=" if isinstance(expr, MatAdd) else "*="
            lines = [f"{target} = {printer.doprint(expr.args[0])}"]
            for arg in expr.args[1:]:
                code = printer.doprint(arg)
                lines.append(f"{target} -= {code[1:]}" if op == "+=" and code.startswith("-") else f"{target} {op} {code}")
            return lines
        if isinstance(expr, HadamardProduct) and isinstance(expr.args[0], MatAdd):
            lines = [f"{target} = {printer.doprint(expr.args[0])}"]
            return lines + [f"{target} *= {printer.doprint(arg)}" for arg in expr.args[1:]]
        return [f"{target} = {printer.doprint(expr)}"]

    def _forward(self, names: dict, printer: BatchPrinter, with_loss: bool) -> list[str]:
        lines = ["    # forward pass"]
        text = [comment_line(line) for line in self.derivation.text(forward=True).splitlines()]
        for (node, expr), shown in zip(self.layers.definitions.items(), text):
            if node == self.layers.output:
                if with_loss:
                    z = printer.doprint(expr.args[1])
                    lines.append(f"    loss, p = {expr.kind}({z}, y)  # Σ over the batch: {shown}")
                    probabilities = {"softmax_cross_entropy": Softmax(expr.args[1]),
                                     "binary_cross_entropy": Activation(sigmoid, expr.args[1])}.get(expr.kind)
                    if probabilities is not None:
                        names[probabilities] = "p"
                continue
            name = names[node] = _variable(node)
            lines += [f"    {line}" + (f"  # {shown}" if i == 0 else "")
                      for i, line in enumerate(self._assign(name, expr, printer))]
            if isinstance(expr, Activation):
                names[expr] = name
        return lines

    def _names(self) -> dict:
        names = {self.layers.x: "x", self.layers.y: "y"}
        names.update({m: _variable(m) for m in self._parameters()})
        return names

    def forward(self) -> str:
        names = self._names()
        printer = BatchPrinter(names)
        lines = ["def forward(params, x):", '    """The predictions, one row per sample."""']
        lines += self._unpack() + self._forward(names, printer, with_loss=False)
        structure = self.layers.structure
        last = self.layers.definitions[self.layers.output].args[1]
        transform = {None: last, "sigmoid": Activation(sigmoid, last),
                     "softmax": Softmax(last)}[structure.output_transform]
        lines.append(f"    return {printer.doprint(transform)}")
        return "\n".join(lines)

    def loss(self) -> str:
        names = self._names()
        lines = ["def loss(params, x, y):", '    """The batch mean of the per-sample loss."""']
        lines += self._unpack() + self._forward(names, BatchPrinter(names), with_loss=True)
        lines.append("    return loss / x.shape[0]")
        return "\n".join(lines)

    def loss_and_gradient(self) -> str:
        names = self._names()
        printer = BatchPrinter(names)
        lines = ["def loss_and_gradient(params, x, y):",
                 '    """The batch mean of the loss and its gradient, from the matrix equations."""']
        lines += self._unpack() + self._forward(names, printer, with_loss=True)
        lines += ["    inv_batch = 1.0 / x.shape[0]",
                  "    grad = numpy.empty_like(params)",
                  "    ones = numpy.ones(x.shape[0], dtype=params.dtype)",
                  "    # backward pass (the loss is the batch mean: the first δ carries the 1/B)"]
        deltas = [e.lhs for e in self.derivation.equations if isinstance(e.lhs, MatrixSymbol)]
        text = [comment_line(line) for line in self.derivation.text().splitlines()]
        for equation, shown in zip(self.derivation.equations, text):
            if isinstance(equation.lhs, MatrixSymbol):
                name = names[equation.lhs] = _variable(equation.lhs)
                body = self._assign(name, equation.rhs, printer)
                if not equation.rhs.has(*deltas):
                    body.append(f"{name} *= inv_batch")
            else:
                body = self._gradient(equation.lhs.wrt, equation.rhs, printer)
            lines += [f"    {line}" + (f"  # {shown}" if i == 0 else "") for i, line in enumerate(body)]
        lines.append("    return loss * inv_batch, grad")
        return "\n".join(lines)

    def _gradient(self, matrix: MatrixSymbol, rhs, printer: BatchPrinter) -> list[str]:
        """``∂L/∂matrix``, summed over the batch, written into its place in ``grad``."""
        view = self.views[matrix]
        outer = isinstance(rhs, MatMul) and isinstance(rhs.args[-1], Transpose)
        # Σ_batch δ aᵀ is δᵀ a; Σ_batch δ is 1ᵀ δ: both one matmul, written straight into ``grad``
        left, right = (rhs.args[0], rhs.args[1].arg) if outer else ("ones", rhs)
        left = f"{printer.doprint(left)}.T" if outer else left
        if view is None:
            return [f"grad[index_{_variable(matrix)}] = {left} @ {printer.doprint(right)}"]
        return [f"numpy.matmul({left}, {printer.doprint(right)}, out={view.format(v='grad')})"]

    def kernels(self) -> dict:
        """The loss kernel and softmax the generated functions call (compiled with the package)."""
        kernel = _KERNELS[self.layers.structure.loss]
        return {kernel.__name__: kernel, "softmax": softmax}

    def functions(self) -> str:
        return "\n\n\n".join([self.forward(), self.loss(), self.loss_and_gradient()]) + "\n"

    def text(self, functions: str) -> str:
        """The whole program as a student reads it: the equations, the kernels, the functions."""
        header = "\n".join(f"#   {comment_line(line)}" for line in self.derivation.text(forward=True).splitlines())
        kernels = "\n\n".join(inspect.getsource(f) for f in self.kernels().values())
        return f"# Generated by symbackprop from the layer equations:\n{header}\n\n\n{kernels}\n\n{functions}"


class LayerModel(Model):
    """A ``Model`` whose functions run the layer equations; it knows each parameter's layer."""

    def __init__(self, graph: Graph, functions, source: str, dtype, fan_in: np.ndarray):
        super().__init__(graph, functions, source, dtype)
        self._fan_in = fan_in

    def init_params(self, seed: int | None = None) -> np.ndarray:
        """``Model.init_params``'s draw (zeros, or U(−1/√fan_in, 1/√fan_in) like PyTorch's
        ``Linear``), with each fan-in read off the layer sizes instead of the graph."""
        if seed is None:
            return np.zeros(len(self.parameters), dtype=self.dtype)
        bounds = 1 / np.sqrt(self._fan_in)
        return np.random.default_rng(seed).uniform(-bounds, bounds).astype(self.dtype)


def _fan_in(derivation: LayerDerivation) -> np.ndarray:
    """The number of inputs of the unit each parameter feeds: the width of the layer before."""
    layers = derivation.layers.structure.layers
    index = {p: i for i, p in enumerate(derivation.layers.structure.graph.parameters)}
    fan_in = np.ones(len(index))
    for layer in layers:
        owned = [p for row in layer.weights for p in row] + list(layer.biases or ())
        fan_in[[index[p] for p in owned]] = layer.fan_in
    return fan_in


def compile_dense(graph: Graph, dtype=np.float64) -> Model | None:
    """The batched matrix ``Model`` of a dense graph (activations already bound), or ``None``
    when the graph is not dense layers or an activation has no NumPy form.

    A network whose units are written ``a = f(Σ w·a + b)`` in one definition (the lecture's, a
    hand-written model file) also gets ``None``: it keeps the scalar code, whose comments name
    the nodes its author wrote; ``mlp``'s form (a node per pre-activation) gets the matrix code.
    """
    structure = dense_structure(graph)
    if structure is None or structure.fused:
        return None
    dtype = float_dtype(dtype)
    source = _Source(derive_layers(graph))
    try:
        code = source.functions()
    except (CompileError, PrintMethodNotImplementedError):
        return None
    # The generated lines only name numpy, the kernels and the index arrays (the kernels keep
    # this module's globals: NumPy imports lazily, which needs builtins).
    namespace = {"__builtins__": {}, "numpy": np, **source.kernels(), **source.constants}
    exec(builtins.compile(code, "<symbackprop layer model>", "exec"), namespace)
    functions = {name: namespace[name] for name in ("forward", "loss", "loss_and_gradient")}
    return LayerModel(graph, functions, source.text(code), dtype, _fan_in(source.derivation))
