"""Text and LaTeX of the matrix (layer) equations that ``core.layers`` derives:
``δ^(1) = (W^(2))ᵀ δ^(2) ⊙ tanh'(u^(1))``, matrix products by juxtaposition, ``⊙`` for the
elementwise product, the fused losses by their formulas.

>>> import symbackprop as sbp
>>> d = sbp.derive_layers(sbp.mlp((2, 2, 1), loss="squared_error"))
>>> TEXT.doprint(d.equations[3].rhs)
"(W^(2))ᵀ δ^(2) ⊙ tanh'(u^(1))"
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatAdd

from .printing import LaTeXPrinter, TextPrinter

__all__ = ["LayerTextPrinter", "LayerLaTeXPrinter", "TEXT", "LATEX"]

_LOSS_TEXT = {"squared_error": "‖{z} - y‖²/2", "binary_cross_entropy": "1ᵀ softplus({z}) - yᵀ {z}",
              "softmax_cross_entropy": "LSE({z}) - yᵀ {z}"}
_LOSS_LATEX = {"squared_error": r"\tfrac{{1}}{{2}} \left\lVert {z} - y \right\rVert^{{2}}",
               "binary_cross_entropy": r"\mathbf{{1}}^{{\top}} \operatorname{{softplus}}\left({z}\right) - y^{{\top}} {z}",
               "softmax_cross_entropy": r"\operatorname{{LSE}}\left({z}\right) - y^{{\top}} {z}"}


_TEXT_NAMES = {"sigmoid": "σ", "relu": "ReLU"}
_LATEX_NAMES = {"sigmoid": r"\sigma", "relu": r"\operatorname{ReLU}", "tanh": r"\tanh", "exp": r"\exp"}


class _MatrixNotation:
    """Matrix products by juxtaposition, ``⊙`` for the elementwise product, ``f'(u)`` applied
    entrywise; shared by the text and LaTeX printers below (``_names`` holds the symbols)."""

    hadamard = " ⊙ "

    def _print_MatMul(self, expr):
        coeff, factors = expr.as_coeff_matrices()
        body = " ".join(self.parenthesize(f, sp.printing.precedence.PRECEDENCE["Mul"], strict=False)
                        for f in factors)
        return ("-" if coeff == -1 else "") + body

    def _print_MatAdd(self, expr):
        parts = [self._print(arg) for arg in expr.args]
        out = parts[0]
        for part in parts[1:]:
            out += f" - {part[1:]}" if part.startswith("-") else f" + {part}"
        return out

    def _print_HadamardProduct(self, expr):
        return self.hadamard.join(f"({self._print(a)})" if isinstance(a, MatAdd) else self._print(a)
                                  for a in expr.args)


class LayerTextPrinter(_MatrixNotation, TextPrinter):
    """Text of the layer equations: ``(W^(2))ᵀ δ^(2) ⊙ tanh'(u^(1))``."""

    def _print_MatrixSymbol(self, expr):
        return expr.name

    def _print_Transpose(self, expr):
        arg = self._print(expr.arg)
        return f"({arg})ᵀ" if expr.arg.cols > 1 else f"{arg}ᵀ"

    def _print_Activation(self, expr):
        name = expr.function.__name__
        return f"{_TEXT_NAMES.get(name, name)}{chr(39) * expr.order}({self._print(expr.arg)})"

    def _print_Softmax(self, expr):
        return f"softmax({self._print(expr.arg)})"

    def _print_Loss(self, expr):
        return _LOSS_TEXT[expr.kind].format(z=self._print(expr.args[1]))


class LayerLaTeXPrinter(_MatrixNotation, LaTeXPrinter):
    """LaTeX of the layer equations: ``\\left(W^{(2)}\\right)^{\\top} \\delta^{(2)} \\odot …``."""

    hadamard = r" \odot "

    def _print_MatrixSymbol(self, expr):
        base, _, layer = expr.name.partition("^")
        base = {"δ": r"\delta"}.get(base, base)
        return f"{base}^{{{layer}}}" if layer else base

    def _print_Transpose(self, expr):
        arg = self._print(expr.arg)
        return rf"\left({arg}\right)^{{\top}}" if expr.arg.cols > 1 else rf"{{{arg}}}^{{\top}}"

    def _print_Activation(self, expr):
        name = expr.function.__name__
        shown = _LATEX_NAMES.get(name) or (rf"\operatorname{{{name}}}" if len(name) > 1 else name)
        return rf"{shown}{chr(39) * expr.order}\left({self._print(expr.arg)}\right)"

    def _print_Softmax(self, expr):
        return rf"\operatorname{{softmax}}\left({self._print(expr.arg)}\right)"

    def _print_Loss(self, expr):
        return _LOSS_LATEX[expr.kind].format(z=self._print(expr.args[1]))


TEXT = LayerTextPrinter()
LATEX = LayerLaTeXPrinter()
