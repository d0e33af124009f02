r"""Answers written in LaTeX (or with ``∂``), translated into the safe parser's plain syntax.

A small tokenizer reads the LaTeX a student types and writes the plain-math text that
``parse_expression`` accepts, remembering for every character where it came from, so that a
parse error points into the LaTeX the student wrote. Nothing is executed: the output is text for
the one safe parser.

- ``\frac{a}{b}`` → ``((a)/(b))``; ``\cdot``, ``\times`` → ``*``; ``x^{2}`` → ``x^(2)``;
  ``\left( … \right)``, ``[ ]`` and ``{ }`` groups → parentheses; spacing commands, line
  breaks ``\\`` and ``\begin{align*}``/``\end{…}`` vanish;
- arguments as TeX reads them: without braces, ``\frac``, ``\sqrt`` and ``^`` take one token,
  so ``\frac12 x`` is ½·x and ``x^23`` is x²·3;
- names: ``w_{11}`` → ``w11``, ``s_1`` → ``s1``, ``w^{(1)}_{32}`` → ``w1_3_2`` (the layered
  names of ``mlp``); Greek letters → their Unicode letter (``\sigma`` is σ, the sigmoid);
  ``\tanh``, ``\exp``, ``\operatorname{ReLU}`` → function names; ``e^{x}`` → ``exp(x)``;
- ``f'(u)``, ``f^{\prime}(u)``, ``f′(u)`` → ``f'(u)``; ``\tanh^2(u)`` → ``tanh(u)^(2)``; SymPy's
  own ``\tanh^{2}{\left(u \right)}`` and ``\operatorname{LSE}`` read as they print;
- a Leibniz factor ``\frac{\partial a}{\partial m_1}`` (or ``\partial a/\partial m_1``, or
  ``∂a/∂m1`` in plain text) → ``partial(a, m1)``, which the checker replaces by the graph's
  local partial ∂a/∂m1; a direct arrow's ``\left(\frac{\partial a}{\partial w}\right)_{z}``
  (``(∂a/∂w)_z``) too;
- products are made explicit: ``s_1 f'(u) p_{11}`` → ``s1*f'(u)*p11``; a name that is not a
  function followed by ``(`` multiplies (``s_1 (a + b)``).

>>> print(from_latex(r"\frac{\partial a}{\partial m_1} s_1 f'\left(w_{11} x_1\right)").text)
partial(a, m1)*s1*f'(w11*x1)
>>> print(from_latex(r"\frac{1}{2}\left(a - y\right)^{2}").text)
((1)/(2))*(a-y)^(2)
>>> print(from_plain("∂a/∂m1 · s1").text)
partial(a, m1) · s1
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Collection

import sympy as sp

from ..core.errors import ParseError
from .parse import BUILTIN_FUNCTIONS, parse_expression

__all__ = ["Translation", "from_latex", "from_plain", "PARTIAL_NAME", "DIRECT_PARTIAL_NAME"]

# The function name a Leibniz factor ∂v/∂u is written with in the parser's syntax.
PARTIAL_NAME = "partial"
# … and a direct arrow's partial (∂a/∂w)_z, which is not the total ∂a/∂w even when w → a is an edge.
DIRECT_PARTIAL_NAME = "direct_partial"

_GREEK = {name: chr(code) for name, code in (
    ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("epsilon", 0x3B5),
    ("varepsilon", 0x3B5), ("zeta", 0x3B6), ("eta", 0x3B7), ("theta", 0x3B8), ("iota", 0x3B9),
    ("kappa", 0x3BA), ("lambda", 0x3BB), ("mu", 0x3BC), ("nu", 0x3BD), ("xi", 0x3BE),
    ("pi", 0x3C0), ("rho", 0x3C1), ("sigma", 0x3C3), ("tau", 0x3C4), ("upsilon", 0x3C5),
    ("phi", 0x3C6), ("varphi", 0x3C6), ("chi", 0x3C7), ("psi", 0x3C8), ("omega", 0x3C9),
    ("Gamma", 0x393), ("Delta", 0x394), ("Theta", 0x398), ("Lambda", 0x39B), ("Xi", 0x39E),
    ("Pi", 0x3A0), ("Sigma", 0x3A3), ("Phi", 0x3A6), ("Psi", 0x3A8), ("Omega", 0x3A9))}
_FUNCTIONS = {"exp", "log", "ln", "tanh", "sin", "cos", "sinh", "cosh", "max", "min"}
_OPERATOR_NAMES = {"LSE": "logsumexp"}      # \operatorname{…} names the package prints otherwise
_PRIMES = {"'": 1, "′": 1, "″": 2, "‴": 3}
_TEXT_NAMES = {"operatorname", "mathrm", "text", "mathit", "textrm", "mathsf"}
_STYLES = {"mathbf", "boldsymbol", "bm", "displaystyle", "textstyle"}
_SPACES = {",", ";", ":", "!", " ", "\\", "quad", "qquad", "enspace", "thinspace", "nonumber", "notag"}
_ENVIRONMENTS = {"begin", "end"}        # \begin{align*} … \end{align*}: the display around a formula
_PRODUCTS = {"cdot", "times", "ast", "bullet"}
_SIZES = {"left", "right", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "big", "Big", "bigg", "Bigg"}
_FRACTIONS = {"frac", "dfrac", "tfrac"}
_ELLIPSES = {"dots", "ldots", "cdots", "dotsb", "dotsc"}
_LETTERS = re.compile(r"[A-Za-z]+[0-9]*")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")
_COMMAND = re.compile(r"\\([A-Za-z]+|.)")
_FUNCTION_POWER = re.compile(r"\^\s*(?:\{\s*([0-9]+)\s*\}|([0-9]))")
_ENVIRONMENT = re.compile(r"\s*\{\s*[A-Za-z]+\*?\s*\}")
_CALL = ("(", "\\left(", "\\bigl(", "\\Bigl(", "{")      # what follows a function that is called
_LAYERED = re.compile(r"^[A-Za-z]+\d+_\d+(?:_\d+)?$")     # w1_3_2 prints as w^{(1)}_{32}
# ∂a/∂m1, or a direct arrow's partial (∂a/∂w)_z (the nodes held fixed are implied by the arrow)
_PLAIN_LEIBNIZ = re.compile(r"\(\s*∂\s*(?P<direct_of>[^\W\d_]\w*)\s*/\s*∂\s*(?P<direct_wrt>[^\W\d_]\w*)\s*\)_[^\W\d_][\w,]*"
                            r"|∂\s*(?P<of>[^\W\d_]\w*)\s*/\s*∂\s*(?P<wrt>[^\W\d_]\w*)")
_DIRECT_PARTIAL = re.compile(r"\(partial\([^()]*\)\)$")      # the output so far ends with (∂v/∂u)


@dataclass(frozen=True)
class Translation:
    """Plain-syntax ``text`` made from ``source``; ``origin[i]`` is the index in ``source`` that
    produced ``text[i]`` (one extra entry for the end)."""

    source: str
    text: str
    origin: tuple[int, ...] = field(repr=False)

    def parse(self, **options) -> sp.Expr:
        """``parse_expression(self.text, **options)``, with error positions in ``source``."""
        try:
            return parse_expression(self.text, **options)
        except ParseError as error:
            index = error.index if error.index is not None else error.column - 1 - options.get("column_offset", 0)
            raise self.error(error.message, index) from None

    def error(self, message: str, index: int) -> ParseError:
        """A ``ParseError`` at ``text[index]``, placed in the source."""
        at = self.origin[min(max(index, 0), len(self.origin) - 1)]
        return ParseError(message, 1, at + 1, self.source, at + 1)

    def after_equals(self) -> Translation:
        """The part after the last ``=``: ``∂a/∂w11 = …`` is an answer with its left side."""
        cut = self.text.rfind("=")
        if cut < 0:
            return self
        return Translation(self.source, self.text[cut + 1:], self.origin[cut + 1:])


def from_plain(source: str) -> Translation:
    """Plain syntax, with ``∂a/∂m1`` (and a direct arrow's ``(∂a/∂w)_z``) written as the
    parser's ``partial(a, m1)``."""
    pieces, origin, last = [], [], 0
    for match in _PLAIN_LEIBNIZ.finditer(source):
        pieces.append(source[last:match.start()])
        origin.extend(range(last, match.start()))
        if match["of"]:
            replacement = f"{PARTIAL_NAME}({match['of']}, {match['wrt']})"
        else:
            replacement = f"{DIRECT_PARTIAL_NAME}({match['direct_of']}, {match['direct_wrt']})"
        pieces.append(replacement)
        origin.extend([match.start()] * len(replacement))
        last = match.end()
    pieces.append(source[last:])
    origin.extend(range(last, len(source) + 1))
    return Translation(source, "".join(pieces), tuple(origin))


def from_latex(source: str, functions: Collection[str] = (), names: Collection[str] = ()) -> Translation:
    """Translate a LaTeX answer; ``functions`` are the names (besides the built-ins) that are
    called rather than multiplied when ``(`` follows them. ``names`` are the symbols the answer
    may use: ``b_{1}`` reads as ``b_1`` when that is a name and ``b1`` is not (both print so).

    >>> print(from_latex(r"b_{1} x_{1}", names=["b_1", "x1"]).text)
    b_1*x1
    """
    written = {}
    for name in names:
        written.setdefault(name.replace("_", ""), []).append(name)
    aliases = {alias: found[0] for alias, found in written.items()
               if len(found) == 1 and alias not in names and not _LAYERED.match(found[0])}
    called = set(functions) | set(BUILTIN_FUNCTIONS) | {PARTIAL_NAME, DIRECT_PARTIAL_NAME}
    return _LatexReader(source, called, aliases).translate()


class _LatexReader:
    """A single left-to-right pass; ``last`` says what the output ends with, to decide where
    a product sign goes (``atom`` after a name, number or ``)``; ``function`` after a name
    that is called)."""

    def __init__(self, source: str, functions: set[str], aliases: dict[str, str]):
        self.source, self.functions, self.aliases = source, functions, aliases
        self.i, self.end = 0, len(source)
        self.out: list[str] = []
        self.origin: list[int] = []
        self.last = "start"
        self.depth = 0
        # \tanh^2(u) is tanh(u)^2: the power waits for the call's ')' (open parentheses, exponent)
        self.parentheses = 0
        self.function_power: str | None = None
        self.pending_powers: list[tuple[int, str]] = []

    def translate(self) -> Translation:
        self.strip_delimiters()
        self.sequence(closing=None)
        self.origin.append(len(self.source))
        return Translation(self.source, "".join(self.out), tuple(self.origin))

    # -- output ---------------------------------------------------------------------------------

    def emit(self, text: str, at: int, kind: str) -> None:
        """Append ``text`` (made from ``source[at]``); a product sign first when two atoms meet."""
        if kind in ("atom", "function", "(") and self.last in ("atom", ")"):
            self.out.append("*")
            self.origin.append(at)
        self.out.append(text)
        self.origin.extend([at] * len(text))
        self.last = kind
        if text == "(":
            self.parentheses += 1
            if kind == "call" and self.function_power is not None:
                self.pending_powers.append((self.parentheses, self.function_power))
                self.function_power = None
        elif text == ")":
            if self.pending_powers and self.pending_powers[-1][0] == self.parentheses:
                power = f"^({self.pending_powers.pop()[1]})"
                self.out.append(power)
                self.origin.extend([at] * len(power))
            self.parentheses -= 1

    def rename_last(self, old: str, new: str) -> None:
        """The last piece of output ``old`` becomes ``new`` (its characters keep their origin)."""
        k = len(self.out) - 1 - self.out[::-1].index(old)
        start = sum(len(piece) for piece in self.out[:k])
        self.origin[start:start + len(old)] = [self.origin[start]] * len(new)
        self.out[k] = new

    def fail(self, message: str, at: int) -> ParseError:
        return ParseError(message, 1, at + 1, self.source, at + 1)

    # -- reading --------------------------------------------------------------------------------

    def strip_delimiters(self) -> None:
        """Math-mode delimiters around the whole answer (``$…$``, ``\\(…\\)``, ``\\[…\\]``)."""
        text = self.source
        for opening, closing in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
            stripped = text.strip()
            if stripped.startswith(opening) and stripped.endswith(closing) and len(stripped) >= 2 * len(opening):
                start = text.index(opening)
                self.i = start + len(opening)
                self.end = text.rindex(closing)
                return
        self.end = len(text)

    def peek(self) -> str:
        return self.source[self.i] if self.i < self.end else ""

    def skip_spaces(self) -> None:
        while self.i < self.end and self.source[self.i].isspace():
            self.i += 1

    def sequence(self, closing: str | None) -> None:
        """Translate up to ``closing`` (consumed) or the end."""
        self.depth += 1
        if self.depth > 100:
            raise self.fail("the answer is nested too deeply (more than 100 levels)", self.i)
        while self.i < self.end:
            char = self.peek()
            if char == closing:
                self.i += 1
                self.depth -= 1
                return
            self.item()
        if closing is not None:
            raise self.fail(f"a group is not closed: '{closing}' is missing", self.end)
        self.depth -= 1

    def item(self) -> None:
        char, at = self.peek(), self.i
        if char.isspace() or char in "&$~":
            self.i += 1
        elif char == "\\":
            self.command()
        elif char == "∂":
            self.leibniz_inline()
        elif char.isalpha() and char.isascii():
            self.name(self.read_letters())
        elif char.isalpha():        # a Greek letter typed as itself: σ, η
            self.i += 1
            self.name(char, at)
        elif char.isdigit() or (char == "." and self.source[at + 1:at + 2].isdigit()):
            number = _NUMBER.match(self.source, at, self.end)
            self.i = number.end()
            self.emit(number.group(), at, "atom")
        elif char == "{":          # a group; after a function, SymPy's \tanh{\left(u \right)}
            self.i += 1
            self.emit("(", at, "call" if self.last == "function" else "(")
            self.sequence(closing="}")
            self.emit(")", self.i - 1, ")")
        elif char in "([":
            self.i += 1
            self.emit("(", at, "call" if self.last == "function" else "(")
        elif char in ")]":
            self.i += 1
            self.emit(")", at, ")")
        elif char == "}":
            raise self.fail("unexpected '}' without its '{'", at)
        elif char == "^":
            self.superscript()
        elif char == "_" and self.last == ")" and _DIRECT_PARTIAL.search("".join(self.out)):
            self.i += 1                 # (∂a/∂w)_{z}: the arrow's partial, what it holds is implied
            self.skip_group()
            self.rename_last(PARTIAL_NAME, DIRECT_PARTIAL_NAME)
        elif char == "_":
            raise self.fail("a subscript must follow a letter", at)
        elif char in _PRIMES:
            if self.last != "function":
                raise self.fail("a prime (') must follow a function name, as in f'(u)", at)
            self.i += 1
            self.emit("'" * _PRIMES[char], at, "function")
            self.function_power_ahead()
        elif char in "+-−*/=,·×":
            self.i += 1
            self.emit(char, at, "op")
        elif char == "|":
            raise self.fail("absolute value bars are ambiguous: write \\left| … \\right| or abs(…)", at)
        else:
            raise self.fail(f"unexpected character {char!r}", at)

    def read_letters(self) -> str:
        match = _LETTERS.match(self.source, self.i, self.end)
        self.i = match.end()
        return match.group()

    def read_command(self) -> tuple[str, int]:
        at = self.i
        match = _COMMAND.match(self.source, self.i, self.end)
        if not match:
            raise self.fail("a backslash must start a command", at)
        self.i = match.end()
        return match.group(1), at

    def command(self) -> None:
        word, at = self.read_command()
        if word in _SPACES:
            return
        if word in _PRODUCTS:
            self.emit("*", at, "op")
        elif word in _SIZES:
            self.sized_delimiter(word, at)
        elif word in _FRACTIONS:
            self.fraction(at)
        elif word == "sqrt":
            if self.peek() == "[":
                raise self.fail("roots other than the square root are not supported; write a power", self.i)
            self.emit("sqrt", at, "function")
            self.group_as_parentheses(call=True)
        elif word in _GREEK:
            self.name(_GREEK[word], at)
        elif word in _FUNCTIONS:
            self.name(word, at)
        elif word in _TEXT_NAMES:
            name = self.braced_letters(word)
            self.name(_OPERATOR_NAMES.get(name, name), at)
        elif word in _STYLES:
            pass
        elif word in _ENVIRONMENTS:
            environment = _ENVIRONMENT.match(self.source, self.i, self.end)
            if not environment:
                raise self.fail(f"\\{word} takes an environment's name in braces, as in \\{word}{{align*}}", at)
            self.i = environment.end()
        elif word == "partial":
            self.i = at
            self.leibniz_inline()
        elif word in ("{", "}"):
            (self.emit("(", at, "(") if word == "{" else self.emit(")", at, ")"))
        elif word in _ELLIPSES:
            raise self.fail(f"'\\{word}' abbreviates: write the whole expression", at)
        elif word == "prime":
            raise self.fail("\\prime belongs in a superscript after a function: f^{\\prime}(u)", at)
        else:
            raise self.fail(f"unknown LaTeX command '\\{word}'", at)

    def sized_delimiter(self, word: str, at: int) -> None:
        """``\\left(``, ``\\right]``, ``\\left.``, ``\\left| … \\right|`` (an absolute value)."""
        self.skip_spaces()
        char = self.peek()
        if char == "\\" and self.source[self.i + 1:self.i + 2] in "{}":
            self.i += 2
            char = "(" if self.source[self.i - 1] == "{" else ")"
        elif char:
            self.i += 1
        if char == ".":
            return
        if char == "|":
            if word == "left":
                self.emit("abs", at, "function")
                self.emit("(", at, "call")
            else:
                self.emit(")", at, ")")
        elif char in "([" and word != "right":
            self.emit("(", at, "(" if self.last != "function" else "call")
        elif char in ")]" and word != "left":
            self.emit(")", at, ")")
        else:
            raise self.fail(f"'\\{word}' must be followed by a bracket", at)

    def braced_letters(self, word: str) -> str:
        self.skip_spaces()
        match = re.compile(r"\{\s*([A-Za-z]+)\s*\}").match(self.source, self.i, self.end)
        if not match:
            raise self.fail(f"\\{word} takes a name in braces, as in \\{word}{{ReLU}}", self.i)
        self.i = match.end()
        return match.group(1)

    def group_as_parentheses(self, call: bool = False) -> None:
        """A ``{…}`` argument, or one token as TeX takes it (a digit, a letter or a command),
        as a parenthesized expression."""
        self.skip_spaces()
        at, char = self.i, self.peek()
        self.emit("(", at, "call" if call else "(")
        if char == "{":
            self.i += 1
            self.sequence(closing="}")
        elif char == "\\":
            self.command()
        elif char.isalnum() and char.isascii():
            self.i += 1
            self.emit(char, at, "atom")
        elif char:
            raise self.fail(f"an argument of more than one character needs braces: {{{char}…}}", at)
        else:
            raise self.fail("an argument is missing", at)
        self.emit(")", self.i - 1, ")")

    def fraction(self, at: int) -> None:
        self.skip_spaces()
        if self.source.startswith(("{\\partial", "{ \\partial", "{∂"), self.i):
            self.leibniz_fraction(at)
            return
        self.emit("(", at, "(")
        self.group_as_parentheses()
        self.emit("/", at, "op")
        self.group_as_parentheses()
        self.emit(")", self.i - 1, ")")

    # -- names and Leibniz factors --------------------------------------------------------------

    def read_name(self, base: str) -> str:
        """``base`` with its indices: ``_{11}``, ``_1``, a layer ``^{(2)}`` (either order)."""
        layer, indices = None, None
        while True:
            if self.peek() == "_" and indices is None:
                self.i += 1
                indices = self.subscript()
            elif self.source.startswith("^{(", self.i) and layer is None:
                match = re.compile(r"\^\{\(\s*([0-9]+)\s*\)\}").match(self.source, self.i, self.end)
                if not match:
                    raise self.fail("a layer superscript looks like ^{(2)}", self.i)
                layer, self.i = match.group(1), match.end()
            else:
                break
        if layer is None:
            return base + "".join(indices or [])
        parts = indices or []
        if len(parts) == 1 and len(parts[0]) > 1:
            parts = list(parts[0])      # w^{(1)}_{32}: single-digit indices written together
        return base + layer + "".join("_" + p for p in parts)

    def skip_group(self) -> None:
        """Past one ``{…}`` group (braces balanced) or one character."""
        if self.peek() != "{":
            self.i += 1
            return
        depth, at = 0, self.i
        while self.i < self.end:
            depth += {"{": 1, "}": -1}.get(self.source[self.i], 0)
            self.i += 1
            if depth == 0:
                return
        raise self.fail("the subscript's '{' is not closed", at)

    def subscript(self) -> list[str]:
        at = self.i
        if self.peek() == "{":
            close = self.source.find("}", self.i, self.end)
            if close < 0:
                raise self.fail("the subscript's '{' is not closed", at)
            content, self.i = self.source[self.i + 1:close], close + 1
        else:
            content, self.i = self.peek(), self.i + 1
        parts = [p.strip() for p in content.split(",")]
        if not all(p.isalnum() and p.isascii() for p in parts):
            raise self.fail(f"a subscript may hold letters and digits only, not {content!r}", at)
        return parts

    def name(self, base: str, at: int | None = None) -> None:
        at = self.i - len(base) if at is None else at
        name = self.read_name(base)
        name = self.aliases.get(name, name)
        if name == "e" and self.peek() == "^":
            self.i += 1
            self.emit("exp", at, "function")
            self.group_as_parentheses(call=True)
            return
        if name in self.functions:
            self.function_power_ahead()
        called = (name in self.functions and self.upcoming_call()) or self.upcoming_prime()
        self.emit(name, at, "function" if called else "atom")

    def function_power_ahead(self) -> None:
        """``\\tanh^2(u)``, ``f'^{2}\\left(u\\right)``: the power of a function about to be called
        waits for the call's closing parenthesis."""
        power = _FUNCTION_POWER.match(self.source, self.i, self.end)
        if power and self.source[power.end():self.end].lstrip().startswith(_CALL):
            self.i, self.function_power = power.end(), power.group(1) or power.group(2)

    def upcoming_call(self) -> bool:
        """True if ``(`` or a prime follows (spaces and sizing commands aside)."""
        rest = self.source[self.i:self.end].lstrip()
        return self.upcoming_prime() or rest.startswith(_CALL)

    def upcoming_prime(self) -> bool:
        """A prime right after a name makes it a function: ``f'``, ``f^{\\prime}``."""
        return self.source.startswith((*_PRIMES, "^{\\prime", "^\\prime"), self.i)

    def superscript(self) -> None:
        at = self.i
        self.i += 1
        primes = re.compile(r"\{?\s*((?:\\prime\s*)+)\}?").match(self.source, self.i, self.end)
        if primes and self.last == "function":
            self.i = primes.end()
            self.emit("'" * primes.group(1).count("\\prime"), at, "function")
            self.function_power_ahead()
            return
        self.emit("^", at, "op")
        self.group_as_parentheses()

    def partial_name(self) -> str:
        """The name after ``\\partial`` (or ``∂``) in a Leibniz factor."""
        if self.source.startswith("\\partial", self.i):
            self.i += len("\\partial")
        elif self.peek() == "∂":
            self.i += 1
        else:
            raise self.fail("expected \\partial here", self.i)
        if self.peek() == "^":
            raise self.fail("only first derivatives can be written as ∂v/∂u", self.i)
        self.skip_spaces()
        at = self.i
        if self.peek() == "\\":
            word, _ = self.read_command()
            base = _GREEK.get(word)
            if base is None:
                raise self.fail(f"expected a name after \\partial, not '\\{word}'", at)
        elif self.peek().isalpha() and self.peek().isascii():
            base = self.read_letters()
        elif self.peek().isalpha():         # a Greek letter typed as itself: ∂η
            base = self.peek()
            self.i += 1
        else:
            raise self.fail("expected a name after \\partial", at)
        name = self.read_name(base)
        name = self.aliases.get(name, name)
        self.skip_spaces()
        return name

    def leibniz_fraction(self, at: int) -> None:
        """``\\frac{\\partial v}{\\partial u}``."""
        names = []
        for _ in range(2):
            self.skip_spaces()
            if self.peek() != "{":
                raise self.fail("a Leibniz fraction is written \\frac{\\partial v}{\\partial u}", self.i)
            self.i += 1
            self.skip_spaces()
            names.append(self.partial_name())
            if self.peek() != "}":
                raise self.fail("a Leibniz fraction holds one name above and one below", self.i)
            self.i += 1
        self.emit_partial(*names, at)

    def leibniz_inline(self) -> None:
        """``\\partial v / \\partial u`` (or ``∂v/∂u``)."""
        at = self.i
        of = self.partial_name()
        if self.peek() != "/":
            raise self.fail("a Leibniz factor is written ∂v/∂u", self.i)
        self.i += 1
        self.skip_spaces()
        self.emit_partial(of, self.partial_name(), at)

    def emit_partial(self, of: str, wrt: str, at: int) -> None:
        self.emit(PARTIAL_NAME, at, "function")
        self.emit(f"({of}, {wrt})", at, ")")
