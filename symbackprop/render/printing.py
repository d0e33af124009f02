"""Text and LaTeX printers that write derivatives the way the lecture does.

Subclasses of SymPy's printers with ``_print_<Class>`` methods: ``f'(u)`` for derivatives of
undefined functions, ``∂a/∂m1`` for partial symbols, ``σ`` for the sigmoid, ``w_{11}`` and
``w^{(1)}_{32}`` subscripts, and products ordered as the chain rule produces them: the outer
function's derivative first, then the inner factor (``f'(p11·z1 + p21·z2)·p11``).

>>> import sympy as sp
>>> from symbackprop.core.functions import prime
>>> u, p = sp.symbols("u p11")
>>> text(prime(sp.Function("f"))(u) * p)
"f'(u)·p11"
>>> latex(p)
'p_{11}'
"""

from __future__ import annotations

import re
import unicodedata

import sympy as sp
from sympy.printing.latex import LatexPrinter, greek_letters_set, tex_greek_dictionary
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from ..core.derive import Partial
from ..core.products import split_product

__all__ = ["TextPrinter", "LaTeXPrinter", "text", "latex", "symbol_latex", "name_latex", "greek_latex",
           "layered_parts", "path_term_text",
           "derivation_text", "derivation_latex", "aligned", "printed_length", "LINE_WIDTH"]

LINE_WIDTH = 70  # printed characters of a formula's right side that fit on a line of an A4 page

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_LAYERED_NAME = re.compile(r"^([A-Za-z]+)(\d+)_(\d+)(?:_(\d+))?$")
# Names SymPy's own LaTeX printer writes well: letters, digits, '_' subscripts (w11, b_1, eta2).
_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*")
# One Greek letter and digits (η, λ1): written as \eta, \lambda_{1}.
_GREEK_NAME = re.compile(r"([\u0391-\u03a9\u03b1-\u03c9])(\d*)")
_TEX_SPECIALS = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
                 "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}"}


class TextPrinter(StrPrinter):
    """Plain text, with ``·`` for products and the lecture's notation."""

    def _print_Mul(self, expr):
        if not expr.is_commutative:
            return super()._print_Mul(expr)
        sign, numerator, denominator = split_product(expr)
        prec = PRECEDENCE["Mul"]
        top = "·".join(self.parenthesize(f, prec, strict=False) for f in numerator) or "1"
        if not denominator:
            return sign + top
        bottom = "·".join(self.parenthesize(f, prec, strict=False) for f in denominator)
        if len(denominator) > 1:
            bottom = f"({bottom})"
        if len(numerator) > 1:
            top = f"({top})"
        return f"{sign}{top}/{bottom}"

    def _print_Pow(self, expr, rational=False):
        # one style with the products' ·: z², x^(1/3), never Python's **
        base, exponent = expr.args
        if exponent.is_Integer and exponent > 1:
            return self.parenthesize(base, PRECEDENCE["Pow"], strict=True) + str(exponent).translate(_SUPERSCRIPT)
        if exponent in (-1, sp.S.Half, -sp.S.Half):   # 1/x, sqrt(x), 1/sqrt(x)
            return super()._print_Pow(expr, rational)
        return (self.parenthesize(base, PRECEDENCE["Pow"], strict=True) + "^"
                + self.parenthesize(exponent, PRECEDENCE["Pow"], strict=False))

    def _print_Partial(self, expr):
        return f"∂{self._print(expr.of)}/∂{self._print(expr.wrt)}"

    def _print_DirectPartial(self, expr):
        return f"(∂{self._print(expr.of)}/∂{self._print(expr.wrt)})_{','.join(map(self._print, expr.held))}"

    def _print_sigmoid(self, expr):
        return f"σ({self._print(expr.args[0])})"

    def _print_relu(self, expr):
        return f"ReLU({self._print(expr.args[0])})"

    def _print_Heaviside(self, expr):
        return f"H({self._print(expr.args[0])})"

    def _print_Exp1(self, expr):
        # SymPy's "E" is also how a symbol named E prints; exp(1) is what the parser reads back
        return "exp(1)"

    def _print_Max(self, expr):
        return f"max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Min(self, expr):
        return f"min({', '.join(self._print(a) for a in expr.args)})"

    def _print_Abs(self, expr):
        return f"|{self._print(expr.args[0])}|"


def layered_parts(name: str) -> tuple[str, str, str] | None:
    """``(letter, layer, indices)`` of a layered name, for every printer (LaTeX, MathML,
    Graphviz): ``w1_3_2`` → ``('w', '1', '32')``, ``w2_10_3`` → ``('w', '2', '10,3')``."""
    match = _LAYERED_NAME.match(name)
    if not match:
        return None
    letter, layer, *indices = match.groups()
    indices = [i for i in indices if i is not None]
    joiner = "," if any(len(i) > 1 for i in indices) else ""
    return letter, layer, joiner.join(indices)


def greek_word(letter: str) -> str | None:
    """SymPy's name of a Greek letter: ``η`` → ``eta``, ``Δ`` → ``Delta``, ``λ`` → ``lamda``."""
    parts = unicodedata.name(letter, "").split()
    if len(parts) != 4 or parts[:2] != ["GREEK", parts[1]] or parts[1] not in ("SMALL", "CAPITAL"):
        return None
    word = parts[3].lower() if parts[1] == "SMALL" else parts[3].capitalize()
    return word if word.lower() in greek_letters_set | {"lamda"} or word in tex_greek_dictionary else None


def greek_latex(letter: str) -> str | None:
    """LaTeX of one Greek letter (``η`` → ``\\eta``, ``Α`` → ``\\mathrm{A}``), or None."""
    word = greek_word(letter)
    if word is None:
        return None
    return tex_greek_dictionary.get(word) or "\\" + word


def _text_character(char: str) -> str:
    """One character of a name inside ``\\text{…}``, safe for TeX (pdflatex included) and MathJax."""
    if char in _TEX_SPECIALS:
        return _TEX_SPECIALS[char]
    if " " <= char <= "~":
        return char
    greek = greek_latex(char)
    if greek:
        return f"${greek}$"
    # Latin-1 and Latin Extended-A letters (T1 fonts) and Cyrillic (T2A, see handout.tex)
    if char.isalpha() and ("\u00c0" <= char <= "\u017f" or "\u0400" <= char <= "\u045f"):
        return char
    return f"[U+{ord(char):04X}]"


def name_latex(name: str) -> str | None:
    r"""LaTeX of a name that SymPy's printer would write raw (``z\input{x}``, ``η``, ``x}y``):
    specials escaped, Greek as its command; None for a plain name SymPy writes well.

    >>> print(name_latex("η1"), name_latex("x}y"), name_latex("w11"))
    \eta_{1} \text{x\}y} None
    """
    if _PLAIN_NAME.fullmatch(name):
        return None
    greek = _GREEK_NAME.fullmatch(name)
    if greek and greek_word(greek.group(1)):
        letter = greek_latex(greek.group(1))
        return letter + (f"_{{{greek.group(2)}}}" if greek.group(2) else "")
    return r"\text{" + "".join(_text_character(c) for c in name) + "}"


def symbol_latex(name: str) -> str | None:
    """LaTeX of a layered name: ``w1_3_2`` → ``w^{(1)}_{32}``, ``b2_1`` → ``b^{(2)}_{1}``."""
    parts = layered_parts(name)
    if parts is None:
        return None
    letter, layer, indices = parts
    return f"{letter}^{{({layer})}}_{{{indices}}}"


class LaTeXPrinter(LatexPrinter):
    """LaTeX with ``\\cdot`` products, ``\\frac{\\partial a}{\\partial m_{1}}`` partials, ``f'``."""

    def __init__(self, settings=None):
        super().__init__({"mul_symbol": "dot", **(settings or {})})

    def _print_Symbol(self, expr, style="plain"):
        return symbol_latex(expr.name) or name_latex(expr.name) or super()._print_Symbol(expr, style=style)

    def _print_Mul(self, expr):
        if not expr.is_commutative:
            return super()._print_Mul(expr)
        sign, numerator, denominator = split_product(expr)
        prec = PRECEDENCE["Mul"]
        top = r" \cdot ".join(self.parenthesize(f, prec, strict=False) for f in numerator) or "1"
        if not denominator:
            return sign + top
        bottom = r" \cdot ".join(self.parenthesize(f, prec, strict=False) for f in denominator)
        return rf"{sign}\frac{{{top}}}{{{bottom}}}"

    def _print_Partial(self, expr):
        return rf"\frac{{\partial {self._print(expr.of)}}}{{\partial {self._print(expr.wrt)}}}"

    def _print_DirectPartial(self, expr):
        held = ", ".join(map(self._print, expr.held))
        return rf"\left({self._print_Partial(expr)}\right)_{{{held}}}"

    def _print_AppliedUndef(self, expr, exp=None):
        base = expr.func.__name__.rstrip("'")
        name = (name_latex(base) or self._deal_with_super_sub(base)) + "'" * (len(expr.func.__name__) - len(base))
        return self._function_call(name, expr, exp)

    def _function_call(self, name: str, expr, exp=None) -> str:
        args = ", ".join(self._print(a) for a in expr.args)
        power = f"^{{{exp}}}" if exp is not None else ""
        return rf"{name}{power}\left({args}\right)"

    def _print_sigmoid(self, expr, exp=None):
        return self._function_call(r"\sigma", expr, exp)

    def _print_relu(self, expr, exp=None):
        return self._function_call(r"\operatorname{ReLU}", expr, exp)

    def _print_softplus(self, expr, exp=None):
        return self._function_call(r"\operatorname{softplus}", expr, exp)

    def _print_logsumexp(self, expr, exp=None):
        return self._function_call(r"\operatorname{LSE}", expr, exp)

    def _print_Heaviside(self, expr, exp=None):
        return self._function_call("H", sp.Function("H")(expr.args[0]), exp)


_TEXT = TextPrinter()
_LATEX = LaTeXPrinter()


def text(obj) -> str:
    """Plain text of an expression, or of anything with a ``.text()`` method."""
    if hasattr(obj, "text") and callable(obj.text):
        return obj.text()
    return _TEXT.doprint(sp.sympify(obj))


def latex(obj, **settings) -> str:
    """LaTeX of an expression, or of anything with a ``.latex()`` method (derivations,
    optimizers, layer equations)."""
    if hasattr(obj, "latex") and callable(obj.latex):
        return obj.latex()
    printer = LaTeXPrinter(settings) if settings else _LATEX
    return printer.doprint(sp.sympify(obj))


def path_term_text(factors, printer=None, joiner: str = "·") -> str:
    """One path's product, factor by factor in Leibniz order (each factor kept whole).

    ``printer`` defaults to the text printer; pass a ``LaTeXPrinter`` and ``r" \\cdot "`` for LaTeX.
    """
    printer = printer or _TEXT
    prec = PRECEDENCE["Mul"]
    shown = [printer.parenthesize(f, prec, strict=True) for f in factors if f != 1] or ["1"]
    return joiner.join(shown)


def derivation_text(d) -> str:
    """``∂a/∂w11 = <Leibniz products>`` then ``= <closed-form path terms>``."""
    head = _TEXT.doprint(Partial(d.of, d.wrt))
    if not d.paths:
        return f"{head} = 0   (no path from {d.wrt} to {d.of})"
    leibniz = " + ".join("·".join(_TEXT.doprint(p) for p in path.partials) for path in d.paths)
    terms = " + ".join(path_term_text(path.factors, _TEXT, "·") for path in d.paths)
    pad = " " * len(head)
    if len(d.paths) == 1 and len(d.paths[0].factors) == 1:
        return f"{head} = {terms}"
    return f"{head} = {leibniz}\n{pad} = {terms}"


_NAMED = r"\\(tanh|sinh|cosh|sech|exp|log|ln|sin|cos|max|min)\b"  # functions that print their names


def aligned(lines: list[str]) -> str:
    """The rows ``lines`` (each with its ``&``) as an ``align*`` block."""
    return "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}"


def printed_length(latex: str) -> int:
    """About how many characters ``latex`` prints: a named function (``\\tanh``) its name, any
    other command (``\\delta``, ``\\cdot``) one; ``\\left`` and ``\\right`` size a bracket that
    is counted anyway, and braces, ``^``, ``_`` and spaces print nothing."""
    latex = re.sub(r"\\(left|right)\b", "", latex)
    latex = re.sub(_NAMED, lambda name: name.group(1), latex)
    return len(re.sub(r"[{}\s^_]", "", re.sub(r"\\[a-zA-Z]+", "x", latex)))


def derivation_latex(d) -> str:
    """An ``align*`` block: the Leibniz path sum, then each path's closed-form product."""
    head = _LATEX.doprint(Partial(d.of, d.wrt))
    if not d.paths:
        return rf"\begin{{align*}}{head} &= 0\end{{align*}}"
    leibniz = [r" \cdot ".join(_LATEX.doprint(p) for p in path.partials) for path in d.paths]
    terms = [path_term_text(path.factors, _LATEX, r" \cdot ") for path in d.paths]
    # the Leibniz sum on one line for up to two paths, as the lecture writes it; else a path a line
    lines = ([rf"{head} &= {' + '.join(leibniz)}"] if len(leibniz) <= 2
             else [rf"{head} &= {leibniz[0]}", *(r"&\quad + " + t for t in leibniz[1:])])
    if not (len(d.paths) == 1 and len(d.paths[0].factors) == 1):
        lines.append("&= " + terms[0])
        lines += ["&\\quad + " + t for t in terms[1:]]
    else:
        lines = [rf"{head} &= {terms[0]}"]
    return aligned(lines)
