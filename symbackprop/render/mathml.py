"""A MathML printer that writes derivatives the way the lecture does (the HTML twin of LaTeX).

A subclass of SymPy's ``MathMLPresentationPrinter`` whose ``_print_<Class>`` methods mirror
``printing.LaTeXPrinter``: ``f′(u)``, ``∂a/∂m₁`` as fractions, ``σ``, ``ReLU``, ``w₁₁`` and
``w⁽¹⁾₃₂`` subscripts, and ``·`` products in the order the chain rule produces them. Browsers
render MathML natively (Chromium ≥ 109, Firefox, Safari), so a handout needs no script.

>>> import sympy as sp
>>> mathml(sp.Symbol("w11"))
'<math><msub><mi>w</mi><mn>11</mn></msub></math>'
>>> mathml(sp.Symbol("w1_3_2"))
'<math><msubsup><mi>w</mi><mn>32</mn><mrow><mo>(</mo><mn>1</mn><mo>)</mo></mrow></msubsup></math>'
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

import sympy as sp
from sympy.printing.mathml import MathMLPresentationPrinter
from sympy.printing.precedence import PRECEDENCE

from ..core.products import split_product
from .printing import layered_parts

__all__ = ["MathMLPrinter", "mathml", "mathml_element", "MATH_NAMESPACE"]

MATH_NAMESPACE = "http://www.w3.org/1998/Math/MathML"
_LECTURE_NAME = re.compile(r"^([A-Za-z]+)(\d+)$")
_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η",
          "lambda": "λ", "mu": "μ", "sigma": "σ", "theta": "θ", "xi": "ξ", "nu": "ν"}


class MathMLPrinter(MathMLPresentationPrinter):
    """Presentation MathML with ``·`` products, ``∂a/∂m₁`` fractions and ``f′`` derivatives."""

    def __init__(self, settings=None):
        super().__init__({"mul_symbol": "dot", **(settings or {})})

    # -- small element builders ---------------------------------------------------------------

    def element(self, tag: str, *children, text: str | None = None, **attributes):
        element = self.dom.createElement(tag)
        if text is not None:
            # SymPy's MathML printer writes text raw; names may come from a model file, so escape.
            element.appendChild(self.dom.createTextNode(html.escape(text, quote=False)))
        for child in children:
            element.appendChild(child)
        for key, value in attributes.items():
            element.setAttribute(key, value)
        return element

    def _mo(self, operator: str):
        return self.element("mo", text=operator)

    def _row(self, *children):
        return self.element("mrow", *children)

    def _call(self, name_element, expr, exp=None):
        """``name(args)``, optionally raised to a power: ``σ²(u)``."""
        if exp is not None:
            name_element = self.element("msup", name_element, self._print(exp))
        return self._row(name_element, self._paren_comma_separated(*expr.args))

    # -- names ------------------------------------------------------------------------------------

    def _print_Symbol(self, sym, style="plain"):
        layered = layered_parts(sym.name)
        if layered:
            letter, layer, indices = layered
            layer_row = self._row(self._mo("("), self.element("mn", text=layer), self._mo(")"))
            return self.element("msubsup", self.element("mi", text=letter),
                                self.element("mn", text=indices), layer_row)
        lecture = _LECTURE_NAME.match(sym.name)
        if lecture:
            letter, index = lecture.groups()
            return self.element("msub", self.element("mi", text=_GREEK.get(letter, letter)),
                                 self.element("mn", text=index))
        if sym.name in _GREEK:
            return self.element("mi", text=_GREEK[sym.name])
        if "_" not in sym.name and "^" not in sym.name:
            return self.element("mi", text=sym.name)
        return super()._print_Symbol(sym, style)

    # -- products and partials ------------------------------------------------------------------

    def _print_Mul(self, expr):
        if not expr.is_commutative:
            return super()._print_Mul(expr)
        sign, numerator, denominator = split_product(expr)
        top = self._join_product(numerator) if numerator else self.element("mn", text="1")
        body = (self.element("mfrac", top, self._join_product(denominator)) if denominator else top)
        return self._row(self._mo("-"), body) if sign else body

    def _join_product(self, factors):
        row = self._row()
        for i, factor in enumerate(factors):
            if i:
                row.appendChild(self._mo("·"))
            row.appendChild(self.parenthesize(factor, PRECEDENCE["Mul"], strict=False))
        return row

    def _print_Partial(self, expr):
        return self.element("mfrac",
                             self._row(self._mo("∂"), self._print(expr.of)),
                             self._row(self._mo("∂"), self._print(expr.wrt)))

    def _print_DirectPartial(self, expr):
        held = [self._print(s) if i == 0 else self._row(self._mo(","), self._print(s))
                for i, s in enumerate(expr.held)]
        fraction = self._row(self._mo("("), self._print_Partial(expr), self._mo(")"))
        return self.element("msub", fraction, self._row(*held))

    # -- functions ------------------------------------------------------------------------------

    def _print_AppliedUndef(self, expr, exp=None):
        name = expr.func.__name__
        base = self._print(sp.Symbol(name.rstrip("'")))
        primes = name.count("'")
        if primes:
            base = self.element("msup", base, self._mo("′" * primes))
        return self._call(base, expr, exp)

    def _print_sigmoid(self, expr, exp=None):
        return self._call(self.element("mi", text="σ"), expr, exp)

    def _print_relu(self, expr, exp=None):
        return self._call(self.element("mi", text="ReLU"), expr, exp)

    def _print_softplus(self, expr, exp=None):
        return self._call(self.element("mi", text="softplus"), expr, exp)

    def _print_logsumexp(self, expr, exp=None):
        return self._call(self.element("mi", text="LSE"), expr, exp)

    def _print_Heaviside(self, expr, exp=None):
        return self._call(self.element("mi", text="H"), sp.Function("H")(expr.args[0]), exp)

    def _print_Pow(self, e):
        # σ(u)² prints as σ²(u), as the LaTeX printer does for functions.
        if isinstance(e.base, sp.Function) and e.exp.is_Integer and e.exp > 0:
            method = getattr(self, f"_print_{type(e.base).__name__}", None)
            if method is not None and "exp" in method.__code__.co_varnames:
                return method(e.base, exp=e.exp)
        return super()._print_Pow(e)


_PRINTER = MathMLPrinter()


@lru_cache(maxsize=8192)
def _cached(expr: sp.Basic) -> str:
    return _PRINTER.doprint(expr)


def mathml_element(expr) -> str:
    """The MathML of ``expr`` without the ``<math>`` wrapper (to place inside a larger formula)."""
    return _cached(sp.sympify(expr))


def mathml(expr, display: bool = False) -> str:
    """``<math>…</math>`` for ``expr``; ``display=True`` sets ``display="block"``."""
    attribute = ' display="block"' if display else ""
    return f"<math{attribute}>{mathml_element(expr)}</math>"
