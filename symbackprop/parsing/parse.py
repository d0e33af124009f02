"""The one safe parser: every text that enters the tool (model files, hand-written answers).

A hand-written tokenizer and recursive-descent parser over a small whitelisted grammar; it
builds SymPy objects directly and never hands text to ``eval``, ``exec``, ``sympify`` or
``parse_expr``. Limits (length, nesting depth, size of numbers and powers) are checked before
SymPy computes anything, so hostile input fails fast with a position.

Grammar::

    expression := term (('+' | '-') term)*
    term       := unary (('*' | '/' | '·' | '×') unary | implicit-product)*
    unary      := ('-' | '+') unary | power
    power      := primary (('^' | '**') unary)?          right-associative: 2^3^2 = 2^9
    primary    := number | name | call | '(' expression ')' | '|' expression '|'
    call       := name "'"* '(' expression (',' expression)* ')'      f'(u) is the derivative f'

- **Numbers** are exact: ``2`` is an Integer, ``0.5`` and ``1e-3`` are Rationals (1/2, 1/1000),
  so a derivation never carries rounding error and ``0.5*x`` equals ``x/2``.
- **Names** start with a letter (Greek included) and go on with letters, digits and ``_``;
  superscript digits are powers (``x²`` is ``x^2``). ``π`` is the number π.
- **Absolute values** as the text printer writes them, ``|u|`` (``abs(u)`` too); a bar that
  follows an operand closes the innermost open one, so ``|a - |b||`` nests.
- **Implicit multiplication** where it is unambiguous: ``2x``, ``2(x + 1)``, ``(a)(b)``,
  ``(a)x``, ``2|x|`` (outside bars) and ``x y`` (names separated by a space). ``x(y)`` is a call, so it is an error
  unless ``x`` is a function; ``x 2`` and ``2 3`` are errors.
- **Functions**: the activation library (``sigmoid``/``σ``, ``tanh``, ``relu``/``ReLU``,
  ``softplus``, ``identity``/``linear``, ``logsumexp``), ``exp``, ``log``/``ln``, ``sqrt``,
  ``abs``, ``max``, ``min``, ``sin``, ``cos``, ``sinh``, ``cosh``, ``sech``, the step
  ``H``/``Heaviside``, and whatever ``functions`` adds (a model file's undefined functions,
  whose derivatives are written ``f'(u)``, ``f''(u)``, or with Unicode primes ``f′(u)``, ``f″(u)``).
  The spellings SymPy's printer uses (``Abs``, ``Max``, ``Min``) are accepted too. A prime on a
  built-in one-argument function is its derivative: ``σ'(u)`` is ``σ(u)·(1 − σ(u))``.

>>> import sympy as sp
>>> parse_expression("2x^2 + 0.5*tanh(w11*x1)")
2*x**2 + tanh(w11*x1)/2
>>> f = sp.Function("f")
>>> parse_expression("f'(u)·p11", functions={"f": f})
p11*f'(u)
>>> parse_expression("9**9**9**9")
Traceback (most recent call last):
...
symbackprop.core.errors.ParseError: line 1, column 5: the power 9^387420489 is too large (the exponent is limited to 1000 in absolute value)
  9**9**9**9
      ^
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

import sympy as sp

from ..core.derive import local_partials
from ..core.errors import ParseError, did_you_mean
from ..core.functions import ACTIVATIONS, is_undefined, logsumexp, prime

__all__ = ["parse_expression", "ParseError", "BUILTIN_FUNCTIONS", "CONSTANTS", "NAME", "is_name", "NestingBudget",
           "MAX_LENGTH", "MAX_DEPTH", "MAX_EXPONENT", "MAX_DIGITS", "MAX_ARGUMENTS", "MAX_PRIMES",
           "MAX_NESTING", "NESTING_SECONDS"]

MAX_LENGTH = 100_000     # characters in one expression
MAX_DEPTH = 100          # nested parentheses, signs, powers and calls (far below Python's stack)
MAX_EXPONENT = 1000      # |n| in a power x^n whose exponent is a number
MAX_DIGITS = 1000        # decimal digits of a number, written or computed by a power
MAX_ARGUMENTS = 256      # arguments of one call
MAX_PRIMES = 4           # f'''' at most: each order multiplies the size of a built-in's formula
MAX_NESTING = 5          # functions nested inside each other (SymPy's work grows ~8-fold per level)
NESTING_SECONDS = 2.0    # SymPy's time on nested functions in one text (see NestingBudget)

_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
NAME = re.compile(rf"[^\W\d_{_SUPERSCRIPTS}][^\W{_SUPERSCRIPTS}]*")
_POWER = re.compile(rf"[{_SUPERSCRIPTS}]+")    # x² is x^2
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SPACE = re.compile(r"\s+")
_PRIMES = {"'": 1, "′": 1, "″": 2, "‴": 3}     # f'(u) or f′(u); f″(u) is f''(u)
_WORD = re.compile(r"\w+")
_OPERATORS = {"**": "^", "^": "^", "+": "+", "-": "-", "−": "-", "*": "*", "·": "*", "⋅": "*",
              "×": "*", "/": "/", "(": "(", ")": ")", ",": ",", "|": "|"}
# Characters that are Python rather than mathematics, with what to say about them.
_REFUSED = {
    "'": "string literals are not allowed", '"': "string literals are not allowed",
    "!": "factorials are not supported", ".": "'.' is not allowed here (no attribute access)",
    "[": "brackets are not allowed; use parentheses", "]": "brackets are not allowed",
    "{": "braces are not allowed; use parentheses", "}": "braces are not allowed",
    "=": "'=' is not allowed in an expression", ":": "':' is not allowed in an expression",
}


def _max(*arguments: sp.Expr) -> sp.Expr:
    """Max, unevaluated: SymPy's simplification of Max/Min takes minutes for a few hundred
    symbolic arguments, and an unevaluated Max differentiates and evaluates all the same."""
    return sp.Max(*arguments, evaluate=False)


def _min(*arguments: sp.Expr) -> sp.Expr:
    """Min, unevaluated (see ``_max``)."""
    return sp.Min(*arguments, evaluate=False)


def _heaviside(u: sp.Expr, at_zero: sp.Expr = sp.S.Zero) -> sp.Expr:
    """The step H(u), with H(0) = 0 unless given (the derivative of ReLU)."""
    return sp.Heaviside(u, at_zero)


BUILTIN_FUNCTIONS: Mapping[str, Callable] = {
    **ACTIVATIONS, "logsumexp": logsumexp,
    "exp": sp.exp, "log": sp.log, "ln": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos,
    "abs": sp.Abs, "Abs": sp.Abs, "max": _max, "Max": _max, "min": _min, "Min": _min,
    "sinh": sp.sinh, "cosh": sp.cosh, "sech": sp.sech,
    "H": _heaviside, "Heaviside": _heaviside,
}
# Named constants: π is the number (a model file's tanh-GELU writes sqrt(2/π)).
CONSTANTS: Mapping[str, sp.Expr] = {"π": sp.pi}
# Arity of the built-ins: (fewest, most) arguments; everything else takes exactly one.
_ARITY = {_max: (1, MAX_ARGUMENTS), _min: (1, MAX_ARGUMENTS),
          logsumexp: (1, MAX_ARGUMENTS), _heaviside: (1, 2)}


def _derivative(function: Callable, order: int) -> sp.Lambda:
    """σ'(u), tanh''(u): a built-in one-argument function differentiated ``order`` times, by the
    same local-partial rules the derivation uses (students write these; the formula is what they mean)."""
    u = sp.Dummy("u")
    body = function(u)
    for _ in range(order):
        body = local_partials(body, [u]).get(u, sp.S.Zero)
    return sp.Lambda(u, body)


class NestingBudget:
    """What building nested functions may cost one text (an answer, or a whole model file).

    SymPy's work on a function of a function is not linear: its assumptions about ``tanh(u)``
    ask for the real and imaginary parts of ``u``, which recurse into ``u``'s own functions, so
    ``tanh`` nested 8 deep takes seconds and 12 deep minutes; square roots and other
    non-integer powers do the same. So a call (or such a power) may nest at most
    ``MAX_NESTING`` levels (about a second at worst), and the time SymPy spends building calls
    that nest others is summed: past ``seconds`` the text is refused (thousands of distinct
    nested chains in one text would each stay under the depth limit). Calls over plain sums
    and products cost nothing here: their work is linear in the text.

    >>> budget = NestingBudget(seconds=1.0)
    >>> budget.refusal(levels=6)
    'nests 6 functions inside each other (at most 5)'
    >>> budget.spend(levels=2, seconds=1.5); budget.refusal(levels=2)
    'took SymPy more than 1 s to build (nested functions)'
    """

    def __init__(self, seconds: float = NESTING_SECONDS):
        self.seconds, self.spent = seconds, 0.0

    def refusal(self, levels: int) -> str | None:
        """Why a call nesting ``levels`` functions (itself included) may not be built, or None."""
        if levels > MAX_NESTING:
            return f"nests {levels} functions inside each other (at most {MAX_NESTING})"
        if levels > 1 and self.spent > self.seconds:
            return f"took SymPy more than {self.seconds:g} s to build (nested functions)"
        return None

    def spend(self, levels: int, seconds: float) -> None:
        """Count the time SymPy took to build a call nesting ``levels`` functions."""
        if levels > 1:
            self.spent += seconds


def is_name(text: str) -> bool:
    """True if ``text`` is a name the parser reads as one symbol (``w11``, ``η``, ``b1_2``)."""
    return NAME.fullmatch(text) is not None


@dataclass(frozen=True)
class _Token:
    kind: str      # "number", "name", "prime" or an operator: ^ + - * / ( ) ,  or "end"
    text: str
    start: int     # 0-based index in the expression


def _tokens(text: str, fail: Callable[[str, int], ParseError]) -> Iterator[_Token]:
    """The tokens of ``text``, made on demand so that a problem early in a long text is found
    without reading the rest."""
    previous, i, spaced = None, 0, False
    while i < len(text):
        space = _SPACE.match(text, i)
        if space:
            i, spaced = space.end(), True
            continue
        char = text[i]
        number = _NUMBER.match(text, i)
        name = NAME.match(text, i)
        power = _POWER.match(text, i)
        if power:
            yield _Token("^", power.group(), i)
            digits = "".join(str(_SUPERSCRIPTS.index(c)) for c in power.group())
            yield _Token("number", digits, i)
            previous, i, spaced = "number", power.end(), False
            continue
        if number:
            kind, end = "number", number.end()
        elif name:
            kind, end = "name", name.end()
        elif char in _PRIMES and previous in ("name", "prime") and not spaced:
            # a prime touches its name (f'); any other quote would start a string
            for _ in range(_PRIMES[char] - 1):
                yield _Token("prime", char, i)
            kind, end = "prime", i + 1
        elif text.startswith("**", i):
            kind, end = "^", i + 2
        elif char in _OPERATORS:
            kind, end = _OPERATORS[char], i + 1
        elif char == "_":
            word = _WORD.match(text, i).group()
            raise fail(f"names cannot start with '_' ({word!r})", i)
        elif char in _REFUSED:
            raise fail(_REFUSED[char], i)
        else:
            raise fail(f"unexpected character {char!r}", i)
        yield _Token(kind, text[i:end], i)
        previous, i, spaced = kind, end, False
    yield _Token("end", "", len(text))


def _short(expr: sp.Expr, width: int = 30) -> str:
    """An expression for a message, cut to ``width`` characters."""
    shown = str(expr)
    return shown if len(shown) <= width else shown[:width] + "…"


def _digits(number: sp.Rational) -> float:
    """log10 of a rational's numerator and denominator together: about their decimal digits,
    and what a power multiplies (``(10^500)^2`` has 2·500 digits)."""
    return (math.log10(abs(number.p)) if number.p else 0.0) + math.log10(number.q)


def _is_level(expr: sp.Expr) -> bool:
    """A call, or a power that is not an integer power (√u): what nests SymPy's work."""
    return isinstance(expr, sp.Function) or (expr.is_Pow and not expr.exp.is_Integer)


class _Parser:
    def __init__(self, text: str, symbols, functions, unknown_symbols: str, line: int,
                 column_offset: int, budget: NestingBudget):
        self.text, self.line, self.offset = text, line, column_offset
        self.symbols = dict(symbols or {})
        self.functions = {**BUILTIN_FUNCTIONS, **(functions or {})}
        self.create = unknown_symbols == "create"
        self.tokens = _tokens(text, self.error)
        self.token = next(self.tokens)
        self.depth = 0
        self.bars = 0   # absolute values open: inside one, a '|' after an operand closes it
        self.budget = budget
        self.levels: dict[sp.Expr, int] = {}   # memo of nesting_levels

    # -- errors and tokens -------------------------------------------------------------------

    def error(self, message: str, index: int) -> ParseError:
        """An error at ``index`` of the text, which may span several lines (an answer)."""
        line_start = self.text.rfind("\n", 0, index) + 1
        line = self.text.count("\n", 0, index)
        line_end = self.text.find("\n", index)
        source = self.text[line_start:line_end if line_end >= 0 else len(self.text)]
        column = index - line_start + 1 + (self.offset if line == 0 else 0)
        return ParseError(message, self.line + line, column, source, index - line_start + 1, index)

    def advance(self) -> _Token:
        token = self.token
        if token.kind != "end":
            self.token = next(self.tokens)
        return token

    def expect(self, kind: str, context: str) -> _Token:
        if self.token.kind != kind:
            raise self.unexpected(context)
        return self.advance()

    def unexpected(self, context: str = "") -> ParseError:
        token = self.token
        what = "end of the expression" if token.kind == "end" else repr(token.text)
        return self.error(f"unexpected {what}" + (f"; {context}" if context else ""), token.start)

    def nesting_levels(self, expr: sp.Expr) -> int:
        """How many calls (and non-integer powers) nest inside each other in ``expr`` (constants
        too: SymPy settles the sign of ``tanh(1 - tanh(…)²)`` by evaluating it, level by level)."""
        if expr.is_Atom:
            return 0
        if expr not in self.levels:
            inner = max((self.nesting_levels(a) for a in expr.args), default=0)
            self.levels[expr] = inner + _is_level(expr)
        return self.levels[expr]

    def nested(self, name: str, build: Callable[[], sp.Expr], arguments, index: int) -> sp.Expr:
        """``build()``, the call ``name`` over ``arguments``, within the ``NestingBudget``."""
        levels = 1 + max((self.nesting_levels(a) for a in arguments), default=0)
        refusal = self.budget.refusal(levels)
        if refusal:
            raise self.error(f"{name} here {refusal}; give inner results names of their own "
                             "(z1 = tanh(…), then tanh(z1))", index)
        start = time.perf_counter()
        result = build()
        self.budget.spend(levels, time.perf_counter() - start)
        return result

    def enter(self, index: int) -> None:
        """Count one level of nesting; refuse before Python's own recursion limit is near."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)", index)

    # -- grammar -----------------------------------------------------------------------------

    def parse(self) -> sp.Expr:
        if self.token.kind == "end":
            raise self.error("the expression is empty", 0)
        result = self.expression()
        if self.token.kind != "end":
            hint = "a ')' without its '('" if self.token.kind == ")" else "an operator missing?"
            raise self.unexpected(hint)
        if result.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise self.error(f"the expression is undefined or infinite: {_short(result)}", 0)
        # numbers that SymPy's own arithmetic grew: 10^900·(10^900·(x + 1)) distributes
        if any(_digits(number) > MAX_DIGITS for number in result.atoms(sp.Rational)):
            raise self.error(f"a number in the expression has more than {MAX_DIGITS} digits", 0)
        return result

    def expression(self) -> sp.Expr:
        start = self.token.start
        terms = [self.term()]
        while self.token.kind in ("+", "-"):
            sign = self.advance().kind
            term = self.term()
            terms.append(-term if sign == "-" else term)
        # one Add for the whole sum: linear, not quadratic, in its length
        coefficients: dict = {}
        for term in terms:
            coefficient, rest = term.as_coeff_Mul()
            coefficients[rest] = self.sized(coefficients.get(rest, 0) + coefficient, start)
        return sp.Add(*[c * rest for rest, c in coefficients.items()])

    def term(self) -> sp.Expr:
        start = self.token.start
        factors = [self.unary()]
        while True:
            token = self.token
            if token.kind in ("*", "/"):
                self.advance()
                factor = self.unary()
                if token.kind == "/":
                    if factor == 0:
                        raise self.error("division by zero", token.start)
                    # 1/q of a number directly: Pow would first deduce its assumptions (1 ms each)
                    factor = sp.Rational(factor.q, factor.p) if factor.is_Rational else sp.Pow(factor, -1)
                factors.append(factor)
            elif token.kind in ("name", "(") or (token.kind == "|" and not self.bars):
                factors.append(self.power())    # implicit product: 2x, 2(x+1), (a)(b), x y, 2|x|
            elif token.kind == "number":
                raise self.error("a number cannot follow here without an operator; write '*'",
                                 token.start)
            else:
                coefficient, rests = sp.S.One, []
                for factor in factors:
                    number, rest = factor.as_coeff_Mul()
                    coefficient = self.sized(coefficient * number, start)
                    rests.append(rest)
                return sp.Mul(coefficient, *rests)

    def sized(self, number: sp.Expr, index: int) -> sp.Expr:
        """``number``, if it is not too long: numbers are combined one by one before SymPy
        sees the sum or product (SymPy adding 2,000 fractions takes seconds)."""
        if number.is_Rational and _digits(number) > MAX_DIGITS:
            raise self.error(f"a number in the expression has more than {MAX_DIGITS} digits", index)
        return number

    def unary(self) -> sp.Expr:
        if self.token.kind in ("-", "+"):
            sign = self.advance()
            self.enter(sign.start)
            operand = self.unary()
            self.depth -= 1
            return -operand if sign.kind == "-" else operand
        return self.power()

    def power(self) -> sp.Expr:
        base = self.primary()
        if self.token.kind != "^":
            return base
        caret = self.advance()
        self.enter(caret.start)
        exponent = self.unary()
        self.depth -= 1
        return self.checked_power(base, exponent, caret.start)

    def checked_power(self, base: sp.Expr, exponent: sp.Expr, index: int) -> sp.Expr:
        """``base^exponent``, refused before SymPy computes it when the result would be huge."""
        if exponent.is_Number:
            if abs(exponent) > MAX_EXPONENT:
                raise self.error(f"the power {_short(base)}^{_short(exponent)} is too large (the exponent is limited "
                                 f"to {MAX_EXPONENT} in absolute value)", index)
            if base.is_Rational and exponent.is_Rational:
                if base == 0 and exponent < 0:
                    raise self.error("division by zero (0 to a negative power)", index)
                if _digits(base) * abs(exponent) > MAX_DIGITS:
                    raise self.error(f"the power {_short(base)}^{exponent} has too many digits "
                                     f"(more than {MAX_DIGITS})", index)
        if exponent.is_Integer:
            return sp.Pow(base, exponent)
        return self.nested("a power", lambda: sp.Pow(base, exponent), (base, exponent), index)

    def primary(self) -> sp.Expr:
        token = self.token
        if token.kind == "number":
            self.advance()
            return self.number(token)
        if token.kind == "(":
            self.advance()
            self.enter(token.start)
            inner = self.expression()
            self.expect(")", f"the '(' at column {self.offset + token.start + 1} is not closed")
            self.depth -= 1
            return inner
        if token.kind == "|":
            self.advance()
            self.enter(token.start)
            self.bars += 1
            inner = self.expression()
            self.expect("|", f"the '|' at column {self.offset + token.start + 1} is not closed")
            self.bars -= 1
            self.depth -= 1
            return sp.Abs(inner)
        if token.kind == "name":
            self.advance()
            primes = 0
            while self.token.kind == "prime":
                self.advance()
                primes += 1
            if self.token.kind == "(" or primes:
                return self.call(token, primes)
            return self.symbol(token)
        raise self.unexpected("expected a number, a name, '(' or '|'")

    def number(self, token: _Token) -> sp.Rational:
        mantissa, _, exponent = token.text.lower().partition("e")
        if len(mantissa) + len(exponent) > MAX_DIGITS or abs(int(exponent or 0)) > MAX_DIGITS:
            raise self.error(f"the number has too many digits (more than {MAX_DIGITS})", token.start)
        return sp.Rational(token.text) if ("." in token.text or exponent) else sp.Integer(token.text)

    def symbol(self, token: _Token) -> sp.Expr:
        name = token.text
        if name in self.symbols:
            return self.symbols[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in self.functions:
            raise self.error(f"{name} is a function; call it as {name}(…)", token.start)
        if not self.create:
            known = sorted(self.symbols)
            listed = ", ".join(known[:30]) + (", …" if len(known) > 30 else "")
            raise self.error(f"unknown name '{name}'{did_you_mean(name, known)}; known: {listed}",
                             token.start)
        self.symbols[name] = sp.Symbol(name)
        return self.symbols[name]

    def call(self, token: _Token, primes: int) -> sp.Expr:
        name = token.text
        function = self.functions.get(name)
        if function is None:
            hint = "" if primes else f"; to multiply, write {name}*(…)"
            if name in self.symbols:
                raise self.error(f"{name} is not a function{hint}", token.start)
            raise self.error(f"unknown function '{name}'{did_you_mean(name, self.functions)}{hint}",
                             token.start)
        if primes > MAX_PRIMES:
            raise self.error(f"{name} with {primes} primes: derivatives of orders above {MAX_PRIMES} "
                             "are not supported", token.start)
        if primes:
            if not (is_undefined(function) or _ARITY.get(function, (1, 1)) == (1, 1)):
                raise self.error(f"{name}{chr(39) * primes} is not defined: {name} takes several "
                                 "arguments", token.start)
            function = prime(function, primes) if is_undefined(function) else _derivative(function, primes)
        opening = self.expect("(", f"a call to {name}{chr(39) * primes} needs '('")
        self.enter(opening.start)
        arguments = [self.expression()]
        while self.token.kind == ",":
            self.advance()
            arguments.append(self.expression())
            if len(arguments) > MAX_ARGUMENTS:
                raise self.error(f"too many arguments (more than {MAX_ARGUMENTS})", self.token.start)
        self.expect(")", f"the call to {name} at column {self.offset + token.start + 1} is not closed")
        self.depth -= 1
        return self.apply(function, name, arguments, token.start, primes)

    def apply(self, function, name: str, arguments: list, index: int, primes: int) -> sp.Expr:
        fewest, most = _ARITY.get(function, (1, MAX_ARGUMENTS if is_undefined(function) else 1))
        if primes:
            fewest, most = 1, 1
        if not fewest <= len(arguments) <= most:
            wanted = f"{fewest}" if fewest == most else f"{fewest} to {most}"
            raise self.error(f"{name}{chr(39) * primes} takes {wanted} argument"
                             f"{'s' if most > 1 else ''}, not {len(arguments)}", index)

        def build() -> sp.Expr:
            try:
                return function(*arguments)
            except (TypeError, ValueError, ArithmeticError) as error:
                raise self.error(f"cannot apply {name}: {error}", index) from None

        result = self.nested(f"{name}{chr(39) * primes}(…)", build, arguments, index)
        if not isinstance(result, sp.Expr):
            raise self.error(f"{name} did not give an expression", index)
        return result


def parse_expression(text: str, *, symbols: Mapping[str, sp.Symbol] | None = None,
                     functions: Mapping[str, Callable] | None = None,
                     unknown_symbols: str = "create", line: int = 1,
                     column_offset: int = 0, budget: NestingBudget | None = None) -> sp.Expr:
    """Parse ``text`` into a SymPy expression, safely (see the module's grammar).

    ``symbols`` maps known names to the symbols to use; an unknown name becomes a new
    ``Symbol`` (``unknown_symbols="create"``) or a ``ParseError`` that names it with a
    did-you-mean (``"error"``). ``functions`` adds callables (name → SymPy function), such as a
    model file's ``sp.Function("f")``. ``line`` and ``column_offset`` place the text inside a
    larger file, for the positions in errors. ``budget`` bounds SymPy's work on nested
    functions (``NestingBudget``); pass one to share it among the expressions of one file.

    >>> parse_expression("w11 x1 + 1e-2", symbols={"w11": sp.Symbol("w11")})
    w11*x1 + 1/100
    >>> parse_expression("w13", symbols={"w11": sp.Symbol("w11")}, unknown_symbols="error")
    Traceback (most recent call last):
    ...
    symbackprop.core.errors.ParseError: line 1, column 1: unknown name 'w13' (did you mean 'w11'?); known: w11
      w13
      ^
    """
    if unknown_symbols not in ("create", "error"):
        raise ValueError(f"unknown_symbols must be 'create' or 'error', not {unknown_symbols!r}")
    if not isinstance(text, str):
        raise ParseError(f"expected text, not {type(text).__name__}", line, column_offset + 1)
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the expression is too long ({len(text)} characters; the limit is "
                         f"{MAX_LENGTH})", line, column_offset + 1)
    for name, function in (functions or {}).items():
        if not callable(function):
            raise ValueError(f"functions[{name!r}] is not callable")
    return _Parser(text, symbols, functions, unknown_symbols, line, column_offset,
                   budget or NestingBudget()).parse()
