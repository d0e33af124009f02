"""Text, LaTeX and MathML of tensor derivations, the way the textbooks print the backward pass:
``δ^(1) = (W^(2))ᵀ δ^(2) ⊙ tanh'(u^(1))``, ``∂L/∂W^(1) = δ^(1) xᵀ``, ``∂L/∂K = x ⋆ δ``.

Each printer subclasses the package's own (``TextPrinter``, ``LaTeXPrinter``, ``MathMLPrinter``)
with ``_print_<Class>`` methods for tensors, adjoints and gradients; an operation prints by the
``Notation`` its class declares in the op table (infix, call, postfix, scale, list, template),
so a new operation needs no change here.

>>> from symbackprop.core.tensor.base import Tensor
>>> W, d = Tensor("W^(2)", (3, 4)), Tensor("δ^(2)", 3)
>>> TEXT.doprint(W.T @ d), LATEX.doprint(W.T @ d)
('(W^(2))ᵀ δ^(2)', '\\\\left(W^{(2)}\\\\right)^{\\\\top} \\\\delta^{(2)}')
"""

from __future__ import annotations

import re
from xml.dom.minidom import parseString

import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from ..core.derive import Partial
from ..core.tensor.base import Apply, Tensor
from ..core.tensor.derive import Adjoint, Gradient
from ..core.tensor.scalar import entry_of
from .mathml import MathMLPrinter
from .printing import LINE_WIDTH, LaTeXPrinter, TextPrinter, aligned, greek_latex, name_latex, printed_length

__all__ = ["TensorTextPrinter", "TensorLaTeXPrinter", "TensorMathMLPrinter", "TEXT", "LATEX", "MATHML",
           "tensor_name_latex", "derivation_text", "derivation_latex", "derivation_mathml", "definitions_latex", "entry_text",
           "entry_rows"]

_SUPERSCRIPT = re.compile(r"^(.*?)\^\(([^()]*)\)$")


def tensor_name_latex(name: str) -> str:
    """``W^(1)`` → ``W^{(1)}``, ``δ_h`` → ``\\delta_{h}``, ``h1`` → ``h_{1}``, ``h_{t-1}`` →
    ``h_{t-1}``; a name with TeX's special characters is escaped (``printing.name_latex``)."""
    match = _SUPERSCRIPT.match(name)
    if match:
        return f"{tensor_name_latex(match.group(1))}^{{({_part(match.group(2))})}}"
    base, _, sub = name.partition("_")
    if sub and base:
        group = re.fullmatch(r"\{([A-Za-z0-9+\-]+)\}", sub)  # h_{t-1}: a time index, as written
        return f"{tensor_name_latex(base)}_{{{group.group(1) if group else tensor_name_latex(sub)}}}"
    numbered = re.fullmatch(r"([A-Za-z]+)(\d+)", name)
    if numbered:
        return f"{numbered.group(1)}_{{{numbered.group(2)}}}"
    return _part(name)


def _part(text: str) -> str:
    """One piece of a name: letters and digits as they are, a Greek letter as its command."""
    if text.isascii() and text.isalnum():
        return text
    return (greek_latex(text) if len(text) == 1 else None) or name_latex(text) or text


def _superscripted(expr) -> bool:
    return isinstance(expr, (Tensor, Adjoint)) and "^" in str(expr)


class _TensorNotation:
    """What the three printers share: an operation prints by its class's ``Notation``."""

    def _args(self, expr: Apply, wrap: int) -> list:
        return [self._wrapped(a, wrap) for a in expr.args]

    def _print_Apply(self, expr: Apply):
        notation = expr.op.notation()
        kind = notation.kind
        if kind == "infix":
            if expr.op.name == "add":
                return self._sum(expr.args)
            return self._infix(self._args(expr, notation.wrap), notation)
        if kind == "call":
            return self._call(notation, [self._print(a) for a in expr.args])
        if kind == "postfix":
            (arg,) = expr.args
            wrapped = _superscripted(arg) or arg.precedence < notation.wrap
            return self._postfix(self._print(arg), wrapped, notation)
        if kind == "scale":
            return self._scale(expr.op.factor, expr.args[0])
        if kind == "list":
            return self._list([self._print(a) for a in expr.args], notation)
        return self._template(expr, notation)


class _StringNotation(_TensorNotation):
    """What the text and LaTeX printers share: they differ only in ``field``, the ``Notation``
    attribute they print (``text`` or ``latex``), and in how they wrap and call (below)."""

    field: str

    def _print_Scalar(self, expr):
        return self._print(expr.value)

    def _sum(self, terms) -> str:
        return self._print(terms[0]) + "".join(f" {self.addend(term)}" for term in terms[1:])

    def addend(self, term) -> str:
        """``term`` as it follows in a sum: ``+ t`` or ``- t``."""
        text = self._wrapped(term, PRECEDENCE["Add"])
        return f"- {text[1:]}" if text.startswith("-") else f"+ {text}"

    def _infix(self, args, notation):
        return getattr(notation, self.field).join(args)

    def _scale(self, factor, arg):
        shown = self._wrapped(arg, PRECEDENCE["Mul"])
        if factor == -1:
            return f"-{shown}"
        return f"{self.parenthesize(factor, PRECEDENCE['Mul'], strict=True)} {shown}"

    def _list(self, args, notation):
        opening, separator, closing = getattr(notation, self.field).split("|")
        return opening + separator.join(args) + closing

    def _template(self, expr, notation):
        return getattr(notation, self.field).format(*self._args(expr, notation.wrap))


class TensorTextPrinter(_StringNotation, TextPrinter):
    """Plain text: ``(W^(2))ᵀ δ^(2) ⊙ tanh'(u^(1))``."""

    field = "text"

    def _print_Tensor(self, expr):
        return expr.name

    def _print_Adjoint(self, expr):
        return expr.name

    def _print_Gradient(self, expr):
        return f"∂{self._print(expr.of)}/∂{self._print(expr.wrt)}"

    def _wrapped(self, arg, wrap: int) -> str:
        text = self._print(arg)
        return f"({text})" if arg.precedence < wrap else text

    def _call(self, notation, args):
        return f"{notation.text}({', '.join(args)})"

    def _postfix(self, arg, wrapped, notation):
        return f"({arg}){notation.text}" if wrapped else f"{arg}{notation.text}"


class TensorLaTeXPrinter(_StringNotation, LaTeXPrinter):
    """LaTeX: ``\\left(W^{(2)}\\right)^{\\top} \\delta^{(2)} \\odot \\tanh'\\left(u^{(1)}\\right)``."""

    field = "latex"

    def _print_Tensor(self, expr):
        return tensor_name_latex(expr.name)

    _print_Adjoint = _print_Tensor

    def _print_Gradient(self, expr):
        return self._print(Partial(sp.Symbol(expr.of.name), sp.Symbol(expr.wrt.name)))

    def _print_Symbol(self, expr, style="plain"):
        if "^(" in expr.name:
            return tensor_name_latex(expr.name)
        return super()._print_Symbol(expr, style=style)

    def _wrapped(self, arg, wrap: int) -> str:
        text = self._print(arg)
        return rf"\left({text}\right)" if arg.precedence < wrap else text

    def _call(self, notation, args):
        return rf"{notation.latex}\left({', '.join(args)}\right)"

    def _postfix(self, arg, wrapped, notation):
        return rf"\left({arg}\right){notation.latex}" if wrapped else f"{{{arg}}}{notation.latex}"


class TensorMathMLPrinter(_TensorNotation, MathMLPrinter):
    """Presentation MathML; a template operation's MathML is converted from its LaTeX."""

    def _print_Tensor(self, expr):
        match = _SUPERSCRIPT.match(expr.name)
        if match:
            layer = self._row(self._mo("("), self.element("mn", text=match.group(2)), self._mo(")"))
            return self.element("msup", self._print_Tensor(Tensor(match.group(1))), layer)
        base, _, sub = expr.name.partition("_")
        head = self._print(sp.Symbol(base))
        return self.element("msub", head, self._print_Tensor(Tensor(sub))) if sub else head

    _print_Adjoint = _print_Tensor

    def _print_Scalar(self, expr):
        return self._print(expr.value)

    def _print_Gradient(self, expr):
        return self.element("mfrac", self._row(self._mo("∂"), self._print(expr.of)),
                            self._row(self._mo("∂"), self._print(expr.wrt)))

    def _wrapped(self, arg, wrap: int):
        element = self._print(arg)
        return self._row(self._mo("("), element, self._mo(")")) if arg.precedence < wrap else element

    def _sum(self, terms):
        row = self._row(self._print(terms[0]))
        for term in terms[1:]:
            for element in self.addend(term):
                row.appendChild(element)
        return row

    def addend(self, term) -> list:
        """``term`` as it follows in a sum: the elements of ``+ t`` or ``− t``."""
        if isinstance(term, Apply) and term.op.name == "scale" and term.op.factor.could_extract_minus_sign():
            positive = Apply(term.op.__class__(-term.op.factor), term.args) if term.op.factor != -1 else term.args[0]
            return [self._mo("-"), self._print(positive)]
        return [self._mo("+"), self._wrapped(term, PRECEDENCE["Add"])]

    def _subscripted(self, text: str, tag: str):
        """``⋆_(p=1)`` or ``maxpool_2×2`` as the name with a subscript."""
        name, _, sub = text.partition("_")
        element = self.element(tag, text=name)
        return self.element("msub", element, self.element("mtext", text=sub.strip("()"))) if sub else element

    def _infix(self, args, notation):
        row = self._row()
        for i, arg in enumerate(args):
            if i and notation.text.strip():
                row.appendChild(self._subscripted(notation.text.strip(), "mo"))
            elif i:
                row.appendChild(self._mo("\u2062"))  # invisible times: a product by juxtaposition
            row.appendChild(arg)
        return row

    def _call(self, notation, args):
        name = self._subscripted(notation.text, "mi")
        row = self._row(self._mo("("))
        for i, arg in enumerate(args):
            if i:
                row.appendChild(self._mo(","))
            row.appendChild(arg)
        row.appendChild(self._mo(")"))
        return self._row(name, row)

    def _postfix(self, arg, wrapped, notation):
        base = self._row(self._mo("("), arg, self._mo(")")) if wrapped else arg
        return self.element("msup", base, self._mo("⊤"))

    def _scale(self, factor, arg):
        shown = self._wrapped(arg, PRECEDENCE["Mul"])
        if factor == -1:
            return self._row(self._mo("-"), shown)
        return self._row(self.parenthesize(factor, PRECEDENCE["Mul"], strict=True), shown)

    def _list(self, args, notation):
        row = self._row(self._mo("["))
        for i, arg in enumerate(args):
            if i:
                row.appendChild(self._mo(";"))
            row.appendChild(arg)
        row.appendChild(self._mo("]"))
        return row

    def _template(self, expr, notation):
        from latex2mathml.converter import convert
        converted = parseString(convert(LATEX.doprint(expr))).documentElement
        row = self._row()
        for child in list(converted.childNodes):
            row.appendChild(self.dom.importNode(child, True))
        return row


TEXT = TensorTextPrinter()
LATEX = TensorLaTeXPrinter()
MATHML = TensorMathMLPrinter()


# -- whole derivations ---------------------------------------------------------------------------------

def _lines(derivation, forward: bool) -> list[tuple]:
    shown = list(derivation.graph.definitions.items()) if forward else []
    return shown + [(e.lhs, e.rhs) for e in derivation.equations]


def derivation_text(derivation, forward: bool = False) -> str:
    """One equation a line (``forward=True``: the forward definitions first)."""
    return "\n".join(f"{TEXT.doprint(lhs)} = {TEXT.doprint(rhs)}" for lhs, rhs in _lines(derivation, forward))


def align(equations) -> str:
    """An ``align*`` block of ``(lhs, rhs)`` pairs. A right side too wide for a line of the page
    (a GRU's δ_t, a sum over heads) is broken between the terms of its sum, a term a row."""
    lines = []
    for lhs, shown, (first, *rest) in _broken(equations):
        lines.append(f"{LATEX.doprint(lhs)} &= {LATEX.doprint(first) if rest else shown}")
        lines += [rf"&\quad {LATEX.addend(term)}" for term in rest]
    return aligned(lines)


def _broken(equations):
    """``(lhs, LaTeX of the right side, terms)``: the terms are the right side whole, or, too wide
    for a line, the terms of its sum."""
    for lhs, rhs in equations:
        shown = LATEX.doprint(rhs)
        wide = isinstance(rhs, Apply) and rhs.op.name == "add" and printed_length(shown) > LINE_WIDTH
        yield lhs, shown, (rhs.args if wide else (rhs,))


def derivation_latex(derivation, forward: bool = False) -> str:
    """An ``align*`` block of the same equations."""
    return align(_lines(derivation, forward))


def definitions_latex(graph) -> str:
    """The forward pass of a tensor graph as an ``align*`` block."""
    return align(graph.definitions.items())


def derivation_mathml(derivation, forward: bool = False) -> str:
    """A display ``<math>`` table: left sides right-aligned, right sides left; a sum too wide for
    a line goes on over rows that start with its ``+`` or ``−``, as in LaTeX."""
    rows = []
    for lhs, _, (first, *rest) in _broken(_lines(derivation, forward)):
        rows.append(f'<mtr><mtd class="lhs">{MATHML.doprint(lhs)}</mtd><mtd class="rhs"><mo>=</mo>'
                    f"{MATHML.doprint(first)}</mtd></mtr>")
        rows += ['<mtr><mtd class="lhs"></mtd><mtd class="rhs"><mspace width="1em"></mspace>'
                 + "".join(e.toxml() for e in MATHML.addend(term)) + "</mtd></mtr>" for term in rest]
    return f'<math display="block"><mtable displaystyle="true">{"".join(rows)}</mtable></math>'


def _entry_parts(derivation, parameter, printer, indexed: str) -> list[str]:
    tensor, index = entry_of(derivation.graph, parameter)
    at = ",".join(str(i + 1) for i in index) or "1"
    gradient = Gradient(derivation.graph.output, tensor)
    return [printer.doprint(Partial(sp.Symbol(derivation.graph.output.name), sp.Symbol(str(parameter)))),
            indexed.format(printer.doprint(gradient), at),
            indexed.format(printer.doprint(derivation.gradient(tensor)), at),
            printer.doprint(derivation.entry(parameter))]


def entry_text(derivation, parameter) -> str:
    """``∂L/∂w = [∂L/∂W]_(i,j) = [<its equation>]_(i,j) = <the scalar path sum>`` (1-based)."""
    return " = ".join(_entry_parts(derivation, parameter, TEXT, "[{}]_({})"))


def _spread(term: sp.Expr) -> list[sp.Expr]:
    """A product holding a sum of several addends, ``h·x·(1 − h)·(W₁(o₁ − y₁) + W₂(o₂ − y₂) + …)``,
    as one product per addend (a path each, here), so that a page can hold them a row each;
    a difference such as ``o₁ − y₁`` stays whole."""
    sums = [f for f in term.args if f.is_Add] if term.is_Mul else []
    longest = max(sums, key=lambda f: len(f.args), default=None)
    if longest is None or len(longest.args) <= 2:
        return [term]
    rest = term / longest
    return [rest * addend for addend in longest.args]


def entry_rows(derivation, parameter) -> list[str]:
    """The same chain as ``align*`` rows, for a page: one ``=`` a row, and the scalar path sum
    one term a row."""
    first, *middle, _ = _entry_parts(derivation, parameter, LATEX, r"\left[{}\right]_{{{}}}")
    terms = [t for term in sp.Add.make_args(derivation.entry(parameter)) for t in _spread(term)]
    rows = [f"{first} &= {middle[0]}", *(f"&= {part}" for part in middle[1:]), f"&= {LATEX.doprint(terms[0])}"]
    for term in terms[1:]:
        sign, term = ("-", -term) if term.could_extract_minus_sign() else ("+", term)
        rows.append(rf"&\quad {sign} {LATEX.parenthesize(term, PRECEDENCE['Add'])}")
    return rows

