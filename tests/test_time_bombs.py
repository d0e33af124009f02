"""Time bombs of issue 13: small inputs that made SymPy, the sweep, a regular expression or
Graphviz work for minutes. Each is answered in bounded time: refused with a one-line message that
names its position, or done a cheaper way."""

from __future__ import annotations

import contextlib
import io
import json
import time

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop import ParseError, parse_expression
from symbackprop.cli import main
from symbackprop.parsing.parse import MAX_NESTING_COST, NESTING_FACTOR, NestingBudget

F = sp.Function("f")


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def within(seconds: float):
    start = time.perf_counter()
    yield
    assert time.perf_counter() - start < seconds


# -- the parser: symbolic work bounded by cost ------------------------------------------------------

TANH_12 = "tanh(" * 12 + "x" + ")" * 12             # 73 characters; minutes of SymPy work before
TANH_40_PRIMES = "tanh" + "'" * 40 + "(x)"           # 47 characters


@pytest.mark.parametrize("text, words", [
    (TANH_12, "nests 5 functions inside each other"),
    ("sqrt(tanh(" * 3 + "x" + "))" * 3, "nests 5 functions inside each other"),
    ("tanh(" * 5 + "x" + ")^2" * 5, "nests 5 functions inside each other"),
    (TANH_40_PRIMES, "tanh with 40 primes: derivatives of orders above 4 are not supported"),
    ("f" + "'" * 5 + "(x)", "f with 5 primes: derivatives of orders above 4"),
])
def test_nested_calls_are_refused_by_their_cost(text, words):
    with within(2.0), pytest.raises(ParseError) as caught:
        parse_expression(text, functions={"f": F})
    assert words in str(caught.value).splitlines()[0]
    assert str(caught.value).startswith("line 1, column ")


def test_four_levels_of_calls_still_parse():
    """The lecture's expanded answers nest two or three calls; four is still fine."""
    x = sp.Symbol("x")
    assert parse_expression("tanh(tanh(tanh(tanh(x))))") == sp.tanh(sp.tanh(sp.tanh(sp.tanh(x))))
    assert sp.expand(parse_expression("tanh''''(x)") - sp.diff(sp.tanh(x), x, 4)) == 0


@pytest.mark.parametrize("template", ["tanh(@)^2", "tanh(2*@ + 1)", "(@)^(3/2)", "sqrt(tanh(@))"])
def test_the_budget_bounds_many_costly_chains_in_one_text(template):
    """Hundreds of distinct chains (no cache helps) in one 100,000-character answer: the budget
    runs out after about a second of SymPy's work, whatever the chain."""
    chains = []
    for k in range(600):
        chain = f"x{k}"
        for _ in range(3):
            chain = template.replace("@", chain)
        chains.append(chain)
    with within(10.0), pytest.raises(ParseError, match="functions inside each other"):
        parse_expression(" + ".join(chains))


def test_a_model_file_shares_one_budget(tmp_path):
    """Each line within the limit, the file as a whole past it: refused at the line where the
    file's budget ran out."""
    lines = ["inputs: " + ", ".join(f"x{k}" for k in range(200))]
    lines += [f"z{k} = tanh(tanh(tanh(x{k})^2)^2)" for k in range(200)]
    lines.append("a = " + " + ".join(f"z{k}" for k in range(200)))
    model = tmp_path / "costly.sbp"
    model.write_text("\n".join(lines) + "\n")
    with within(15.0):
        code, out, err = _cli(["derive", str(model), "--wrt", "x0"])
    assert code == 1 and out == ""
    assert "nests 3 functions inside each other" in err.splitlines()[0]
    assert NestingBudget(MAX_NESTING_COST).charge(4) is False    # 8⁴ alone is past the limit
    assert NESTING_FACTOR ** 3 < MAX_NESTING_COST


@pytest.mark.parametrize("where", ["answer", "model"])
def test_the_nested_tanh_on_the_command_line(tmp_path, where):
    model = tmp_path / "m.sbp"
    if where == "model":
        model.write_text(f"inputs: x\na = w*{TANH_12}\n")
        argv = ["derive", str(model), "--all"]
    else:
        model.write_text("inputs: x\na = tanh(w*x)\n")
        argv = ["verify", str(model), "--wrt", "w", "--answer", TANH_12]
    with within(5.0):
        code, out, err = _cli(argv)
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.startswith(f"symbackprop: error: line {2 if where == 'model' else 1}, column ")
    assert "nests 5 functions" in err
