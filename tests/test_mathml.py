"""The MathML printer: well-formed XML, the lecture's notation, and the same reading as the text
printer (so the chain-rule order survives), parsed back with ElementTree."""

import xml.etree.ElementTree as ET

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.core.derive import Partial
from symbackprop.core.functions import prime
from symbackprop.render.mathml import MathMLPrinter, mathml
from symbackprop.render.printing import text


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def reading(element: ET.Element) -> str:
    """The text a reader sees, left to right, without spaces; primes normalised."""
    return "".join(element.itertext()).replace(" ", "").replace("′", "'")


def test_lecture_subscripts_and_layered_names():
    w11 = parse(mathml(sp.Symbol("w11")))[0]
    assert w11.tag == "msub" and [c.text for c in w11] == ["w", "11"]
    layered = parse(mathml(sp.Symbol("w1_3_2")))[0]
    assert layered.tag == "msubsup"
    assert layered[0].text == "w" and layered[1].text == "32" and reading(layered[2]) == "(1)"
    wide = parse(mathml(sp.Symbol("w2_10_3")))[0]
    assert wide[1].text == "10,3"
    assert parse(mathml(sp.Symbol("eta"))).find("mi").text == "η"


def test_partial_is_a_fraction_of_differentials():
    frac = parse(mathml(Partial(sp.Symbol("a"), sp.Symbol("m1"))))[0]
    assert frac.tag == "mfrac"
    assert reading(frac[0]) == "∂a" and reading(frac[1]) == "∂m1"
    assert frac[1].find("msub") is not None


def test_derivative_of_undefined_function_prints_as_f_prime():
    u = sp.Symbol("u")
    f = sp.Function("f")
    tree = parse(mathml(prime(f)(u)))
    sup = tree.find(".//msup")
    assert sup is not None and sup[0].text == "f" and sup[1].text == "′"
    assert reading(tree) == "f'(u)"
    assert reading(parse(mathml(prime(prime(f))(u)))) == "f''(u)"
    assert "Subs" not in mathml(sp.diff(f(2 * u), u))  # SymPy's own derivative never reaches it raw


@pytest.mark.parametrize("function, name", [(sbp.sigmoid, "σ"), (sbp.relu, "ReLU"), (sbp.softplus, "softplus")])
def test_named_activations(function, name):
    tree = parse(mathml(function(sp.Symbol("u"))))
    assert tree.find(".//mi").text == name
    assert reading(tree) == f"{name}(u)"


def test_power_of_sigmoid_prints_exponent_on_the_name():
    assert reading(parse(mathml(sbp.sigmoid(sp.Symbol("u")) ** 2))) == "σ2(u)"


def test_every_lecture_formula_reads_like_the_text_printer():
    """Chain-rule order, signs, fractions: the MathML reads exactly as the text printer writes."""
    g = sbp.lecture_network(loss="squared_error")
    bp = sbp.backprop(g)
    expressions = list(bp.partials.values()) + [bp.adjoint(p) for p in g.parameters]
    expressions += list(g.definitions.values())
    for expr in expressions:
        # a power reads base then exponent: z² as z2, x^(y+1) as x(y+1)
        expected = text(expr).replace(" ", "").replace("^", "").translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789"))
        got = reading(parse(mathml(expr)))
        if "/" in expected:  # a fraction reads numerator then denominator, without the slash
            expected = expected.replace("/", "")
        assert got == expected, (expr, got, expected)


def test_products_use_middle_dots_and_keep_function_first():
    z1, p11 = sp.symbols("z1 p11")
    f = sp.Function("f")
    tree = parse(mathml(prime(f)(p11 * z1) * p11))
    row = tree[0]
    assert [c.text for c in row if c.tag == "mo"] == ["·"]
    assert reading(row[0]).startswith("f'")


def test_hostile_names_are_escaped():
    markup = mathml(sp.Symbol("<script>alert(1)</script>"))
    tree = parse(markup)  # well-formed
    assert tree.find(".//script") is None
    assert "<script>" not in markup


def test_display_block_and_printer_settings():
    assert parse(mathml(sp.Symbol("x"), display=True)).get("display") == "block"
    assert MathMLPrinter()._settings["mul_symbol"] == "dot"
