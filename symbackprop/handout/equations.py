"""Aligned equations, written once and printed twice: as a LaTeX ``align*`` and as a MathML table.

A ``Row`` is one line ``lhs = term + term + …``; each term is a product whose factors are kept
whole and in the order given (the chain rule's order, ``∂a/∂m1 · ∂m1/∂z1 · ∂z1/∂w11``), which
SymPy's own ``Mul`` would reorder. ``Adjoint(v)`` is the symbol ``δ_v``.

>>> import sympy as sp
>>> from symbackprop.core.derive import Partial
>>> a, m1, s1 = sp.symbols("a m1 s1")
>>> rows = [Row(Adjoint(m1), ((Adjoint(a), Partial(a, m1)),)), Row(None, ((sp.S.One, s1),))]
>>> print(rows_latex(rows))
\\begin{align*}
\\delta_{m_{1}} &= \\delta_{a} \\cdot \\frac{\\partial a}{\\partial m_{1}} \\\\
&= 1 \\cdot s_{1}
\\end{align*}
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from ..core.derive import Partial
from ..render.mathml import MathMLPrinter
from ..render.printing import LINE_WIDTH, LaTeXPrinter, aligned, printed_length

__all__ = ["Adjoint", "SumOver", "Row", "leibniz_rows", "closed_rows", "derivation_mathml", "rows_latex", "rows_mathml",
           "wrapped", "printed_length", "number", "LATEX", "MATHML"]


LATEX = LaTeXPrinter()
MATHML = MathMLPrinter()


class Adjoint(sp.Expr):
    """``δ_v = ∂out/∂v``, the quantity the backward pass stores at node ``v``."""

    is_commutative = True

    def __new__(cls, node: sp.Symbol):
        return sp.Expr.__new__(cls, node)

    @property
    def node(self) -> sp.Symbol:
        return self.args[0]

    def _latex(self, printer) -> str:
        return rf"\delta_{{{printer._print(self.node)}}}"

    def _mathml_presentation(self, printer):
        return printer.element("msub", printer.element("mi", text="δ"), printer._print(self.node))

    def _sympystr(self, printer) -> str:
        return f"δ_{printer._print(self.node)}"


class SumOver(sp.Expr):
    """``Σ_w term``: a sum over the children ``w`` of a node, as the recursion is written."""

    is_commutative = True

    def __new__(cls, term: sp.Expr, index: sp.Symbol):
        return sp.Expr.__new__(cls, term, index)

    def _latex(self, printer) -> str:
        return rf"\sum_{{{printer._print(self.args[1])}}} {printer._print(self.args[0])}"

    def _mathml_presentation(self, printer):
        sigma = printer.element("munder", printer.element("mo", text="∑"), printer._print(self.args[1]))
        return printer.element("mrow", sigma, printer._print(self.args[0]))

    def _sympystr(self, printer) -> str:
        return f"Σ_{printer._print(self.args[1])} {printer._print(self.args[0])}"


def number(value: float, digits: int = 4) -> sp.Float:
    """A float printed with ``digits`` significant digits in both LaTeX and MathML."""
    return sp.Float(float(f"{value:.{digits}g}"), digits)


Term = Sequence[sp.Expr]


@dataclass(frozen=True)
class Row:
    """``lhs relation term₁ + term₂ + …``; ``lhs=None`` continues the previous line,
    ``continued=True`` starts it with ``+`` (the rest of a long sum) instead of the relation,
    and ``times=True`` with ``·`` (the rest of a product too long for one line); ``split=True``
    says that the row's last product goes on in the next row."""

    lhs: sp.Expr | None
    terms: tuple[Term, ...]
    relation: str = "="
    continued: bool = False
    times: bool = False
    split: bool = False


def _path_rows(head: sp.Expr, groups: Sequence[Sequence[sp.Expr]], one_line: bool) -> list[Row]:
    if one_line:
        return [Row(head, tuple(tuple(group) for group in groups))]
    return [Row(head if i == 0 else None, (tuple(group),), continued=i > 0) for i, group in enumerate(groups)]


def leibniz_rows(d) -> list[Row]:
    """``∂a/∂w = Σ_paths Π ∂v/∂u`` for a ``Derivation``: one line for up to two paths (as the
    lecture writes it), else one path per line."""
    head = Partial(d.of, d.wrt)
    if not d.paths:
        return [Row(head, ((sp.S.Zero,),))]
    return _path_rows(head, [path.partials for path in d.paths], one_line=len(d.paths) <= 2)


def closed_rows(d) -> list[Row]:
    """Each path's product of local partials written out, one path per line."""
    head = Partial(d.of, d.wrt)
    if not d.paths:
        return [Row(head, ((sp.S.Zero,),))]
    return _path_rows(head, [[f for f in path.factors if f != 1] or [sp.S.One] for path in d.paths],
                      one_line=False)


def derivation_mathml(d) -> str:
    """A ``Derivation`` as display MathML: the Leibniz path sum, then each path's closed form."""
    closed = closed_rows(d)
    closed[0] = Row(None, closed[0].terms)
    return rows_mathml(leibniz_rows(d) + (closed if d.paths else []))


def _factor_precedence(term: Term, first: bool, times: bool = False) -> tuple[int, bool] | None:
    """How to parenthesize the factors of one term: a lone first factor prints bare
    (``a = s1·m1 + s2·m2``), a lone later one like an addend (``+ (−0.45)``), the factors of a
    product (or of the rest of one, ``times``) each whole (``f'(u)·(1 − z²)``)."""
    if len(term) == 1 and not times:
        return None if first else (PRECEDENCE["Add"], False)
    return PRECEDENCE["Mul"], True


def _factors(term: Term, first: bool, printer, times: bool = False):
    how = _factor_precedence(term, first, times)
    if how is None:
        return [printer._print(term[0])]
    return [printer.parenthesize(f, how[0], strict=how[1]) for f in term]


def _terms_latex(terms: Sequence[Term], continued: bool = False, times: bool = False, split: bool = False) -> str:
    """The terms joined by ``+``; after a ``+`` (a continued row's first term too) a negative
    lone term is parenthesized, as is every factor of a product broken over rows."""
    last = len(terms) - 1
    products = [r" \cdot ".join(_factors(term, i == 0 and not continued, LATEX, times or (split and i == last))) or "1"
                for i, term in enumerate(terms)]
    return " + ".join(products) if products else "0"


@lru_cache(maxsize=8192)
def _width(term: tuple) -> int:
    """How wide a term prints (cached: the LaTeX and the MathML of a handout wrap the same rows)."""
    return printed_length(_terms_latex([term]))


def wrapped(rows: Sequence[Row], width: int = LINE_WIDTH) -> list[Row]:
    """The rows with each one too wide for a page broken between its terms: the first line
    keeps the left side and the relation, the others continue with ``+`` (a δ with many
    children, a loss over many outputs, a worked example's many path products); a single
    product wider than a line goes on over lines that start with ``·`` (a GRU's long paths)."""
    out: list[Row] = []
    for row in rows:
        lines: list[tuple[list[Term], str]] = []  # (terms, how the line starts: "first", "+" or "·")
        pending: list[Term] = []
        used, start = 0, "first"
        for term in row.terms:
            size = _width(tuple(term)) + 2
            if pending and used + size > width:
                lines.append((pending, start))
                pending, used, start = [], 0, "+"
            if size > width and len(term) > 1:
                first, *rest = _runs(term, width)
                lines.append((pending + [first], start + "…"))
                lines += [([run], "·" + "…" * (k < len(rest) - 1)) for k, run in enumerate(rest)]
                pending, used, start = [], 0, "+"
                continue
            pending.append(term)
            used += size
        if pending or not lines:
            lines.append((pending, start))
        # a start ending in "…" marks a row whose last product goes on in the next one
        out += [Row(row.lhs if k == 0 else None, tuple(terms), row.relation,
                    continued=row.continued if start.startswith("first") else start.startswith("+"),
                    times=start.startswith("·"), split=start.endswith("…"))
                for k, (terms, start) in enumerate(lines)]
    return out


def _runs(product: Term, width: int) -> list[tuple[sp.Expr, ...]]:
    """The factors of a product too wide for a line, in runs that each fit on one."""
    runs: list[list[sp.Expr]] = [[]]
    used = 0
    for factor in product:
        size = printed_length(_terms_latex([(factor,)], times=True)) + 1  # as it prints in the product
        if runs[-1] and used + size > width:
            runs.append([])
            used = 0
        runs[-1].append(factor)
        used += size
    return [tuple(run) for run in runs]


def rows_latex(rows: Sequence[Row]) -> str:
    """An ``align*`` environment, one line per row (a row too wide for a page on several),
    aligned at the relation."""
    lines = []
    for row in wrapped(rows):
        lhs = LATEX.doprint(row.lhs) + " " if row.lhs is not None else ""
        lead = r"&\qquad \cdot " if row.times else r"&\quad + " if row.continued else f"&{row.relation} "
        lines.append(lhs + lead + _terms_latex(row.terms, row.continued, row.times, row.split))
    return aligned(lines)


@lru_cache(maxsize=8192)
def _mathml_factor(factor: sp.Expr, how: tuple[int, bool] | None) -> str:
    """One factor's MathML (cached: a handout repeats the same partials many times, and
    building SymPy's DOM is the slow part of writing MathML)."""
    element = MATHML._print(factor) if how is None else MATHML.parenthesize(factor, *how)
    return element.toxml()


def _terms_mathml(terms: Sequence[Term], continued: bool = False, times: bool = False, split: bool = False) -> str:
    parts = []
    for i, term in enumerate(terms):
        if i:
            parts.append("<mo>+</mo>")
        how = _factor_precedence(term, i == 0 and not continued, times or (split and i == len(terms) - 1))
        parts.append("<mo>·</mo>".join(_mathml_factor(f, how) for f in term) or "<mn>1</mn>")
    return "<mrow>" + ("".join(parts) or "<mn>0</mn>") + "</mrow>"


def rows_mathml(rows: Sequence[Row]) -> str:
    """A display ``<math>`` holding an ``mtable``: left sides right-aligned, right sides left.
    Cells of a table are not in display style by default, so the table asks for it (else
    fractions shrink)."""
    lines = []
    for row in wrapped(rows):
        lhs = _mathml_factor(row.lhs, None) if row.lhs is not None else "<mrow></mrow>"
        lead = ('<mrow><mspace width="2em"></mspace><mo>·</mo></mrow>' if row.times
                else '<mrow><mspace width="1em"></mspace><mo>+</mo></mrow>' if row.continued
                else f"<mo>{html.escape(row.relation)}</mo>")
        lines.append(f'<mtr><mtd class="lhs">{lhs}</mtd>'
                     f'<mtd class="rhs">{lead}{_terms_mathml(row.terms, row.continued, row.times, row.split)}</mtd></mtr>')
    return f'<math display="block"><mtable displaystyle="true">{"".join(lines)}</mtable></math>'
