"""The safe parser: what it reads (checked against SymPy objects built directly), where its
errors point, and that its limits hold."""

import time

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symbackprop as sbp
from symbackprop import ParseError, parse_expression, prime, relu, sigmoid
from symbackprop.parsing.parse import MAX_DEPTH

x, y, u, w11, x1 = sp.symbols("x y u w11 x1")
f = sp.Function("f")


@pytest.mark.parametrize("text, expected", [
    ("2x", 2 * x),
    ("2(x + 1)", 2 * (x + 1)),
    ("(x)(y)", x * y),
    ("x y", x * y),
    ("2x^2", 2 * x**2),
    ("-x^2", -(x**2)),
    ("2^3^2", sp.Integer(512)),
    ("x^-1", 1 / x),
    ("x ** 2", x**2),
    ("x/y/2", x / (2 * y)),
    ("x/y*2", 2 * x / y),
    ("x − y", x - y),
    ("3·x×y⋅u", 3 * x * y * u),
    ("0.5*x", x / 2),
    ("1e-3", sp.Rational(1, 1000)),
    ("1.5E3", sp.Integer(1500)),
    (".25", sp.Rational(1, 4)),
    ("+x", x),
    ("--x", x),
    ("σ(x) + sigmoid(y)", sigmoid(x) + sigmoid(y)),
    ("ReLU(x) + relu(y)", relu(x) + relu(y)),
    ("tanh(w11*x1)", sp.tanh(w11 * x1)),
    ("exp(x) + ln(y) + log(u)", sp.exp(x) + sp.log(y) + sp.log(u)),
    ("sqrt(x) + abs(y) + Abs(u)", sp.sqrt(x) + sp.Abs(y) + sp.Abs(u)),
    ("max(x, y, 0) + min(x, y)", sp.Max(x, y, 0) + sp.Min(x, y)),
    ("H(x)", sp.Heaviside(x, 0)),
    ("Heaviside(x, 1/2)", sp.Heaviside(x, sp.S.Half)),
    ("λ η", sp.Symbol("λ") * sp.Symbol("η")),
    ("w1_2_3", sp.Symbol("w1_2_3")),
    ("(x - y)²/2 + x³y", (x - y)**2 / 2 + x**3 * y),
    ("max(x, 0)", sp.Max(x, 0)),
])
def test_reads_the_grammar(text, expected):
    assert parse_expression(text) == expected


def test_primes_of_a_declared_function():
    functions = {"f": f}
    assert parse_expression("f(u)", functions=functions) == f(u)
    assert parse_expression("f'(u)", functions=functions) == prime(f)(u)
    assert parse_expression("f''(u)", functions=functions) == prime(f, 2)(u)
    # what the text printer writes for a path term reads back as the same expression
    p11, p21, z1, z2, s1 = sp.symbols("p11 p21 z1 z2 s1")
    assert parse_expression("s1·f'(p11·z1 + p21·z2)·z1", functions=functions) == \
        s1 * prime(f)(p11 * z1 + p21 * z2) * z1


def test_known_symbols_are_the_given_objects():
    real_x = sp.Symbol("x", real=True)
    assert parse_expression("x + 1", symbols={"x": real_x}) == real_x + 1


# Random expressions written by SymPy's own printer read back as themselves: an independent
# writer, so the grammar covers what SymPy prints (x**2, x/2, exp, Abs, Max, …).
_leaves = st.sampled_from([x, y, u, w11, sp.Integer(2), sp.Integer(-3), sp.Rational(1, 3)])


def _combine(children):
    binary = st.tuples(children, children)
    return st.one_of(
        binary.map(lambda ab: ab[0] + ab[1]),
        binary.map(lambda ab: ab[0] * ab[1]),
        binary.map(lambda ab: ab[0] - ab[1]),
        st.tuples(children, st.integers(-3, 4)).map(lambda be: be[0] ** be[1]),
        children.map(sp.tanh), children.map(sigmoid), children.map(sp.exp), children.map(f),
        children.map(lambda e: prime(f)(e)),
        binary.map(lambda ab: sp.Max(*ab)),
    )


_expressions = st.recursive(_leaves, _combine, max_leaves=12).filter(
    # SymPy rewrites some of them into functions outside the grammar (Abs(exp(x)) = exp(re(x)))
    # and exp(1) prints as E, which the grammar leaves free as a name
    lambda e: not e.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I, sp.re, sp.im, sp.sign, sp.E))


@settings(max_examples=150, deadline=None)
@given(_expressions)
def test_sympy_printed_expressions_read_back(expr):
    """The same expression, if not always the same tree: str(-1*(x + y)*t) is "-(x + y)*t", which
    SymPy's own reader also takes as (-(x + y))*t = (-x - y)*t."""
    parsed = parse_expression(str(expr), functions={"f": f})
    assert parsed == expr or sp.expand(parsed - expr) == 0


@pytest.mark.parametrize("text, line_1, column", [
    ("(x + 1))", "unexpected ')'", 8),
    ("x +", "unexpected end of the expression", 4),
    ("(x + 1", "the '(' at column 1 is not closed", 7),
    ("x ^^ 2", "unexpected '^'", 4),
    ("x 2", "a number cannot follow", 3),
    ("x(y)", "x is not a function", 1),
    ("tanh", "tanh is a function", 1),
    ("tanh(x, y)", "tanh takes 1 argument, not 2", 1),
    ("max'(x)", "max takes several arguments", 1),
    ("foo(x)", "unknown function 'foo'", 1),
    ("x/0", "division by zero", 2),
    ("log(0)", "undefined or infinite", 1),
    ("3!", "factorials are not supported", 2),
    ("x = 1", "'=' is not allowed", 3),
    ("", "the expression is empty", 1),
])
def test_errors_point_at_the_problem(text, line_1, column):
    with pytest.raises(ParseError) as caught:
        parse_expression(text, symbols={"x": x, "y": y})
    error = caught.value
    assert line_1 in str(error).splitlines()[0]
    assert (error.line, error.column) == (1, column)
    assert str(error).startswith(f"line 1, column {column}: ")


def test_caret_sits_under_the_column_inside_a_file_line():
    source = "z1 = tanh(w11*x1))"
    with pytest.raises(ParseError) as caught:
        parse_expression(source[5:], line=3, column_offset=5)
    error = caught.value
    assert (error.line, error.column) == (3, 18)
    head, shown, caret = str(error).splitlines()
    assert head == "line 3, column 18: unexpected ')'; a ')' without its '('"
    assert shown.strip() == "tanh(w11*x1))"
    assert shown[caret.index("^")] == ")"


def test_unknown_names_can_be_errors_with_a_suggestion():
    known = {name: sp.Symbol(name) for name in ("w11", "w12", "x1")}
    assert parse_expression("w11*x1", symbols=known, unknown_symbols="error") == w11 * x1
    with pytest.raises(ParseError, match=r"column 6: unknown name 'w13' \(did you mean 'w11' or 'w12'\?\); known: w11, w12, x1"):
        parse_expression("x1 + w13", symbols=known, unknown_symbols="error")


@pytest.mark.parametrize("text, message", [
    ("9**9**9**9", "is too large"),
    ("10^10^10", "is too large"),
    ("(10^500)^500", "too many digits"),
    ("(10^9)^(999/2)", "too many digits"),
    ("1" * 2000, "too many digits"),
    ("1e100000", "too many digits"),
    ("(" * 100_000 + "x" + ")" * 100_000, "too long"),
    ("(" * 40_000 + "x" + ")" * 40_000, "nested too deeply"),
    ("-" * 90_000 + "x", "nested too deeply"),
    ("x^" * 40_000 + "x", "nested too deeply"),
    ("max(" + ", ".join(["x"] * 300) + ")", "too many arguments"),
    ("1e" + "9" * 5000, "too many digits"),
    ("x⁹⁹⁹⁹", "is too large"),
    ("*".join(["10^500"] * 50), "more than 1000 digits"),
    ("10^500*(10^500*(10^500*(x + 1)))", "more than 1000 digits"),
    ("+".join(f"1/{p}" for p in sp.primerange(2, 20_000)), "more than 1000 digits"),
], ids=lambda text: text[:20])
def test_limits_fail_fast(text, message):
    start = time.perf_counter()
    with pytest.raises(ParseError, match=message):
        parse_expression(text)
    assert time.perf_counter() - start < 1.0


def test_max_and_min_of_many_arguments_stay_fast():
    # SymPy's evaluated Max/Min of 256 symbolic arguments takes minutes
    many = ", ".join(f"x{i} + y{i}*z" for i in range(256))
    start = time.perf_counter()
    assert len(parse_expression(f"min({many}) + max({many})").args) == 2
    assert time.perf_counter() - start < 1.0


def test_nesting_up_to_the_limit_is_fine():
    depth = MAX_DEPTH - 1
    assert parse_expression("(" * depth + "x" + ")" * depth) == x
    assert parse_expression("-" * depth + "x") == (x if depth % 2 == 0 else -x)


def test_a_long_flat_sum():
    text = " + ".join(f"w{i}*x{i}" for i in range(1000))
    assert parse_expression(text) == sp.Add(*[sp.Symbol(f"w{i}") * sp.Symbol(f"x{i}") for i in range(1000)])


def test_errors_in_a_multi_line_text_name_their_own_line():
    text = "x +\n  y ) + 1"
    with pytest.raises(ParseError) as caught:
        parse_expression(text, line=3)
    error = caught.value
    assert (error.line, error.column) == (4, 5)
    assert text[error.index] == ")"
    assert str(error).splitlines()[1:] == ["    y ) + 1", "      ^"]


@pytest.mark.parametrize("text, reference", [
    ("σ'(x)", sp.diff(1 / (1 + sp.exp(-x)), x)),
    ("sigmoid''(x)", sp.diff(1 / (1 + sp.exp(-x)), x, 2)),
    ("tanh'(x)*y", sp.diff(sp.tanh(x), x) * y),
    ("softplus'(x)", sp.diff(sp.log(1 + sp.exp(x)), x)),
    ("exp'(2x)", sp.exp(2 * x)),
])
def test_primes_on_built_in_functions_are_their_derivatives(text, reference):
    ours = parse_expression(text, symbols={"x": x, "y": y}).rewrite(sp.exp)
    for value in (-0.7, 0.3, 1.9):
        assert abs(complex((ours - reference).subs(x, value).subs(y, 1.3).evalf())) < 1e-12


@pytest.mark.parametrize("text, expected", [
    ("|x|·2", 2 * sp.Abs(x)),
    ("2|x|", 2 * sp.Abs(x)),
    ("|x - |y||", sp.Abs(x - sp.Abs(y))),
    ("| x - |y| |", sp.Abs(x - sp.Abs(y))),
    ("|x| |y|", sp.Abs(x) * sp.Abs(y)),
    ("|x|^2 - |-x + 1|", sp.Abs(x) ** 2 - sp.Abs(1 - x)),
    ("tanh(|w11 x|)", sp.tanh(sp.Abs(w11 * x))),
])
def test_absolute_value_bars(text, expected):
    assert parse_expression(text) == expected


@pytest.mark.parametrize("text, line_1, column", [
    ("|x + 1", "the '|' at column 1 is not closed", 7),
    ("(|x)|", "the '|' at column 2 is not closed", 4),
    ("||", "expected a number, a name, '(' or '|'", 3),
])
def test_unclosed_bars_point_at_the_problem(text, line_1, column):
    with pytest.raises(ParseError) as caught:
        parse_expression(text)
    assert line_1 in str(caught.value).splitlines()[0]
    assert (caught.value.line, caught.value.column) == (1, column)


@settings(max_examples=150, deadline=None)
@given(st.recursive(_leaves, lambda children: st.one_of(_combine(children), children.map(sp.Abs)), max_leaves=10)
       .filter(lambda e: not e.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I, sp.re, sp.im, sp.sign, sp.E)))
def test_the_text_printer_reads_back(expr):
    """What ``sbp.text`` writes (``·``, ``|u|``, ``f'(u)``, ``σ``) is what the parser reads."""
    parsed = parse_expression(sbp.text(expr), functions={"f": f})
    assert parsed == expr or sp.expand(parsed - expr) == 0
