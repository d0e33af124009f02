"""Model files and graphs that looked fine and were not (issue 13): complex constants, a name given
twice, numbers past a float, a node that prints like a constant. Each is refused at load with its
line and column, or printed unambiguously."""

from __future__ import annotations



import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop import Graph, ParseError
from hostile import bounded_time

bounded = bounded_time(5)



def _refused(body: str) -> ParseError:
    with pytest.raises(ParseError) as caught:
        Graph.from_text("inputs: x\n" + body + "\n")
    return caught.value


@pytest.mark.parametrize("definition, shown", [
    ("a = w*x + log(-1)", "3.142*I"),
    ("a = w*sqrt(-2)*x", "1.0*I"),
    ("a = w*x*(-8)^(1/3)", "0.5 + 0.866*I"),
])
def test_complex_constants_are_refused_at_load(definition, shown):
    error = _refused(definition)
    assert error.line == 2 and error.column == 5
    assert f"the definition of a has a constant that is not a real number ({shown})" in str(error)


def test_real_constants_stay():
    g = Graph.from_text("inputs: x\na = w*x + log(2) + sqrt(3)\n")
    assert g.definitions[sp.Symbol("a")] == sp.Symbol("w") * sp.Symbol("x") + sp.log(2) + sp.sqrt(3)


@pytest.mark.parametrize("lines, column, first", [
    ("a = w*x\nvalues: x = 1, w = 2, x = 3", 23, "line 3, column 9"),
    ("a = w*x\nvalues: x = 1\nvalues: w = 2, x = 1", 16, "line 3, column 9"),
    ("functions: f\nbind: f = tanh, f = relu\na = f(w*x)", 17, "line 3, column 7"),
])
def test_a_name_given_twice_names_both_places(lines, column, first):
    error = _refused(lines)
    assert error.column == column
    assert "is given twice in '" in error.message and f"(first on {first})" in error.message


@pytest.mark.parametrize("value", ["1e400", "-1e400", "10^400"])
def test_a_value_past_a_float_is_an_error_with_its_place(value):
    error = _refused(f"a = w*x\nvalues: x = {value}")
    assert (error.line, error.column) == (3, 13)
    assert "too large for a floating-point number" in error.message


def test_the_overflowing_value_on_the_command_line(tmp_path, capsys):
    from symbackprop.cli import main

    model = tmp_path / "m.sbp"
    model.write_text("inputs: x\nvalues: x = 1e400\na = w*x\n")
    assert main(["verify", str(model), "--wrt", "w", "--answer", "x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("symbackprop: error: line 2, column 13: the value of x is too large") and "Traceback" not in err


def test_a_node_named_E_does_not_print_like_eulers_number():
    E, w, x = sp.symbols("E w x")
    g = Graph({E: sp.tanh(w * x), sp.Symbol("a"): E * sp.E}, inputs=[x])
    shown = sbp.derive(g, "w").text()
    assert "exp(1)" in shown and "E" in shown
    assert sbp.text(sp.E * E) in ("E·exp(1)", "exp(1)·E")
    # what text prints, the parser reads back as the same expression
    assert sbp.parse_expression(sbp.text(sp.E * E).replace("·", "*")) == sp.E * E
