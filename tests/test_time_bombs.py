"""Time bombs of issue 13: small inputs that made SymPy, the sweep, a regular expression or
Graphviz work for minutes. Each is answered in bounded time: refused with a one-line message that
names its position, or done a cheaper way."""

from __future__ import annotations

import json
import re

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop import ParseError, parse_expression
from symbackprop.parsing import modelfile
from symbackprop.parsing.parse import MAX_NESTING, NESTING_SECONDS
from hostile import bounded_time, cli as _cli, within

bounded = bounded_time(600)

F = sp.Function("f")


# -- the parser: symbolic work bounded by cost ------------------------------------------------------

TANH_12 = "tanh(" * 12 + "x" + ")" * 12             # 73 characters; minutes of SymPy work before
TANH_40_PRIMES = "tanh" + "'" * 40 + "(x)"           # 47 characters


@pytest.mark.parametrize("text, words", [
    (TANH_12, "tanh(…) here nests 6 functions inside each other (at most 5); give inner results names"),
    ("sqrt(tanh(" * 3 + "x" + "))" * 3, "nests 6 functions inside each other"),
    ("tanh(" * 6 + "x" + ")^2" * 6, "nests 6 functions inside each other"),
    ("(" * 6 + "x" + ")^(3/2)" * 6, "a power here nests 6 functions"),
    (TANH_40_PRIMES, "tanh with 40 primes: derivatives of orders above 4 are not supported"),
    ("f" + "'" * 5 + "(x)", "f with 5 primes: derivatives of orders above 4"),
])
def test_nested_calls_are_refused_by_their_cost(text, words):
    with within(6.0), pytest.raises(ParseError) as caught:   # 5 levels are built first
        parse_expression(text, functions={"f": F})
    assert words in str(caught.value).splitlines()[0]
    assert str(caught.value).startswith("line 1, column ")


def test_five_levels_of_calls_still_parse():
    """The lecture's expanded answers nest two or three calls; five is still fine."""
    x = sp.Symbol("x")
    with within(5.0):
        nested = parse_expression("tanh(" * MAX_NESTING + "x" + ")" * MAX_NESTING)
    expected = x
    for _ in range(MAX_NESTING):
        expected = sp.tanh(expected)
    assert nested == expected
    assert sp.expand(parse_expression("tanh''''(x)") - sp.diff(sp.tanh(x), x, 4)) == 0


@pytest.mark.parametrize("template", ["tanh(@)^2", "tanh(2*@ + 1)", "(@)^(3/2)", "tanh(@)"])
def test_the_budget_bounds_many_costly_chains_in_one_text(template):
    """Thousands of distinct chains (no cache helps), each under the depth limit, in one
    100,000-character answer: refused once SymPy has spent the budget's seconds on them."""
    chains = []
    for k in range(5000):
        chain = f"x{k}"
        for _ in range(3):
            chain = template.replace("@", chain)
        chains.append(chain)
    with within(NESTING_SECONDS + 8.0), pytest.raises(ParseError) as caught:
        parse_expression(" + ".join(chains)[:100_000])
    assert f"took SymPy more than {NESTING_SECONDS:g} s to build (nested functions)" in str(caught.value)


def test_a_model_file_shares_one_budget(tmp_path, monkeypatch):
    """Each line within the limits, the file as a whole past them: refused at the line where
    the file's budget (here one second instead of ten) ran out."""
    monkeypatch.setattr(modelfile, "NESTING_SECONDS_PER_FILE", 1.0)
    n = 3000
    lines = ["inputs: " + ", ".join(f"x{k}" for k in range(n))]
    lines += [f"z{k} = tanh(tanh(tanh(tanh(x{k})^2)^2)^2)" for k in range(n)]
    lines.append("a = " + " + ".join(f"z{k}" for k in range(n)))
    model = tmp_path / "costly.sbp"
    model.write_text("\n".join(lines) + "\n")
    with within(20.0):
        code, out, err = _cli(["derive", str(model), "--wrt", "x0"])
    assert code == 1 and out == ""
    first = err.splitlines()[0]
    assert "took SymPy more than 1 s to build" in first, err
    assert int(first.split("line ")[1].split(",")[0]) < n     # it stopped part way


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
    assert "nests 6 functions" in err


# -- the sweep runs only when needed, and never without a bound -------------------------------------

@pytest.fixture(scope="module")
def deep_chain(tmp_path_factory):
    """A 3,000-layer chain, as a model file (about 95 KB) and as a graph."""
    lines = ["inputs: x", "z1 = tanh(w1*x + b1)"]
    lines += [f"z{k} = tanh(w{k}*z{k - 1} + b{k})" for k in range(2, 3001)]
    path = tmp_path_factory.mktemp("chain") / "chain.sbp"
    path.write_text("\n".join(lines) + "\n")
    return path, sbp.load(path)


def test_counting_paths_of_a_deep_chain_takes_no_derivative(deep_chain):
    path, graph = deep_chain
    with within(60.0):
        code, out, err = _cli(["paths", str(path), "--wrt", "w1", "--wrt", "b3000", "--count"])
    assert code == 0, err
    assert out == "w1 → z3000: 1 path\nb3000 → z3000: 1 path\n"
    with within(5.0):
        assert sbp.count_paths(graph, "w1") == 1
    assert ("backprop", graph.output) not in graph._cache            # counted from the structure


def test_listing_the_one_path_of_a_deep_chain_needs_no_recursion(deep_chain):
    _, graph = deep_chain
    with within(30.0):
        (path,) = sbp.paths(graph, "w1")
    assert len(path.nodes) == 3001 and path.nodes[0] == sp.Symbol("w1")


def test_deriving_through_a_deep_chain_is_refused_before_the_sweep(deep_chain):
    _, graph = deep_chain
    with within(30.0), pytest.raises(sbp.SymbackpropError) as caught:
        sbp.derive(graph, "w1")
    message = str(caught.value)
    assert "products of up to 5,999 factors" in message and "paths --count" in message
    assert "\n" not in message


# -- JSON carries the expanded form only when it is small or asked for ---------------------------------

def test_json_leaves_out_large_expanded_forms_unless_asked(tmp_path):
    graph = sbp.mlp((2, 3, 3, 3, 1), loss="squared_error")
    model = tmp_path / "deep.sbp"
    model.write_text(graph.to_text())
    with within(60.0):
        code, out, _ = _cli(["derive", str(model), "--all", "--format", "json"])
    assert code == 0
    entries = {e["wrt"]: e for e in json.loads(out)["derivatives"]}
    first, last = entries["w1_1_1"], entries["w4_1_1"]
    assert "expanded" not in first and "ask with --expanded" in first["expanded_omitted"]
    assert "expanded" in last
    code, out, _ = _cli(["derive", str(model), "--wrt", "w1_1_1", "--format", "json", "--expanded"])
    (entry,) = json.loads(out)["derivatives"]
    # the expanded form asked for is the gradient over leaves (checked at a random point)
    point = {s: sp.Rational(k + 1, 7) for k, s in enumerate(graph.leaves)}
    shown = parse_expression(entry["expanded"]["text"].replace("·", "*"))
    reference = graph.expand(sbp.gradient(graph, "w1_1_1"))
    assert abs(float(shown.xreplace({sp.Symbol(s.name): v for s, v in point.items()})
                     - reference.xreplace(point))) < 1e-12


# -- the model file's line patterns are linear ---------------------------------------------------

@pytest.mark.parametrize("item", ["x" + " " * 900_000 + "y", " " * 900_000 + "x", "x" * 900_000])
def test_a_huge_values_item_without_equals_is_refused_at_once(tmp_path, item):
    model = tmp_path / "huge.sbp"
    model.write_text(f"inputs: x\nvalues: {item}\na = w*x\n")
    assert model.stat().st_size < 1_000_000
    with within(5.0):
        code, out, err = _cli(["derive", str(model), "--all"])
    assert code == 1 and out == ""
    first = err.splitlines()[0]
    assert "expected 'name = value', not '" in first and len(err) < 400   # the item is not repeated


# -- Graphviz in bounded batches -------------------------------------------------------------------

needs_dot = pytest.mark.skipif(__import__("shutil").which("dot") is None, reason="Graphviz's dot is not installed")


@needs_dot
def test_graphviz_lays_out_at_most_a_batch_per_process(monkeypatch):
    """Graphviz 2.43 crashes after about 85 graphs in one input: 200 drawings go to dot in
    batches of at most DOT_BATCH, and come back in order."""
    from symbackprop.render import diagram

    laid_out = []
    real = diagram._run_dot

    def counting(source, fmt):
        laid_out.append(source.count("digraph symbackprop"))
        return real(source, fmt)

    monkeypatch.setattr(diagram, "_run_dot", counting)
    g = sbp.lecture_network()
    chosen = list(g.parameters) * 20
    with within(120.0):
        drawings = diagram.svgs([diagram.draw(g, wrt=p) for p in chosen])
    assert len(drawings) == 200 and sum(laid_out) == 200 and max(laid_out) <= diagram.DOT_BATCH
    def without_ids(svg: str) -> str:     # dot numbers the graphs of one input: page0,1_graph0, …
        return re.sub(r' id="[^"]*"', "", svg[svg.index("<svg"):]).strip()

    alone = {p: without_ids(real(diagram.draw(g, wrt=p).source, "svg").decode()) for p in g.parameters}
    for p, drawing in zip(chosen, drawings):      # each SVG is its own parameter's, as dot draws it alone
        assert without_ids(drawing) == alone[p]


def test_a_crashing_dot_is_named_by_its_signal(tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\nkill -SEGV $$\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{__import__('os').environ['PATH']}")
    code, out, err = _cli(["draw", "examples/lecture.sbp", "-o", str(tmp_path / "net.svg")])
    assert code == 1
    assert err == "symbackprop: error: Graphviz's dot was killed by signal SIGSEGV (a crash in Graphviz)\n"
