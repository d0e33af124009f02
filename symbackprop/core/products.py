"""The order in which a product's factors are read: every printer (text, LaTeX, MathML, model
files) writes products the way the chain rule produces them, the outer function's derivative
first, then the inner factor.

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> split_product(-x*sp.tanh(y)/2)
('-', [tanh(y), x], [2])
"""

from __future__ import annotations

import sympy as sp

__all__ = ["split_product"]


def _factor_rank(factor: sp.Expr) -> int:
    """Functions (and their powers) before plain symbols, as the chain rule writes them."""
    base = factor.base if factor.is_Pow else factor
    return 0 if isinstance(base, sp.Function) else 1


def split_product(expr: sp.Mul) -> tuple[str, list[sp.Expr], list[sp.Expr]]:
    """A product as ``(sign, numerator factors, denominator factors)``, in reading order."""
    coeff, rest = expr.as_coeff_Mul()
    sign = ""
    if coeff.is_negative:
        sign, coeff = "-", -coeff
    numerator, denominator = [], []
    if coeff.is_Rational and coeff.q != 1:
        denominator.append(sp.Integer(coeff.q))
        coeff = sp.Integer(coeff.p)
    if coeff != 1:
        numerator.append(coeff)
    for factor in sorted(sp.Mul.make_args(rest), key=_factor_rank):
        if factor.is_Pow and factor.exp.is_number and factor.exp.is_negative:
            denominator.append(factor.base if factor.exp == -1 else sp.Pow(factor.base, -factor.exp))
        else:
            numerator.append(factor)
    return sign, numerator, denominator
