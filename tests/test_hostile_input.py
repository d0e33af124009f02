"""The hostile-input catalogue of issue 3: each input is refused with a short message that names
its position, within a second, with exit code 1, without a traceback, and without running any
code (a canary file that a payload would create never appears)."""

import contextlib
import io
import re
import subprocess
import time

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop import Graph, ParseError, SymbackpropError, parse_expression
from symbackprop.cli import main
from conftest import symbackprop_script

CANARY = "CANARY_{}"


def _payloads(canary: str) -> list[tuple[str, str]]:
    """Expressions that would do something if evaluated as Python, and what the error says."""
    return [
        (f"__import__('os').system('touch {canary}')", "names cannot start with '_'"),
        (f"open('{canary}', 'w')", "unknown function 'open'"),
        (f'exec("open(\'{canary}\', \'w\')")', "unknown function 'exec'"),
        (f"x*('{canary}')", "string literals are not allowed"),
        ("().__class__.__bases__", "unexpected ')'"),
        ("lambda: 0", "':' is not allowed"),
        ("x.__dict__", "'.' is not allowed"),
        ("'a string'", "string literals are not allowed"),
        ("[w for w in x]", "brackets are not allowed"),
        ("{x: w}", "braces are not allowed"),
        ("x if w else 0", "a number cannot follow"),   # reads x·if·w·else, then a stray 0
        ("9**9**9**9", "is too large"),
        ("10^10^10", "is too large"),
        ("(" * 100_000 + "x" + ")" * 100_000, "too long"),
        ("(" * 10_000 + "x" + ")" * 10_000, "nested too deeply"),
        ("x!", "factorials are not supported"),
        ("x; import os", "unexpected character ';'"),
        ("x @ w", "unexpected character '@'"),
        ("x \\ w", "unexpected character '\\\\'"),
    ]


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _assert_refused(argv, words, tmp_path):
    start = time.perf_counter()
    code, out, err = _cli(argv)
    elapsed = time.perf_counter() - start
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("symbackprop: error: ") and words in lines[0], err
    assert len(lines) <= 3 and "Traceback" not in err     # the message, then the line and a caret
    assert elapsed < 1.0
    assert not list(tmp_path.glob("CANARY*"))


@pytest.mark.parametrize("index", range(len(_payloads(""))))
def test_hostile_definitions_in_a_model_file(tmp_path, index, monkeypatch):
    monkeypatch.chdir(tmp_path)     # where a relative canary would appear
    payload, words = _payloads(tmp_path / CANARY.format(index))[index]
    model = tmp_path / "hostile.sbp"
    model.write_text(f"inputs: x\nz = w*x\na = {payload}\n")
    _assert_refused(["derive", str(model), "--all"], words, tmp_path)
    if len(payload) < 1000:    # the message points into the file's third line
        assert "line 3, column" in _cli(["derive", str(model), "--all"])[2]


@pytest.mark.parametrize("index", range(len(_payloads(""))))
def test_hostile_answers_to_the_parser(tmp_path, index, monkeypatch):
    monkeypatch.chdir(tmp_path)
    payload, words = _payloads(tmp_path / CANARY.format(index))[index]
    start = time.perf_counter()
    with pytest.raises(ParseError, match=re.escape(words)):
        parse_expression(payload, symbols={"x": sp.Symbol("x")}, unknown_symbols="create")
    assert time.perf_counter() - start < 1.0
    assert not list(tmp_path.glob("CANARY*"))


MODEL_CASES = {
    "defined twice": ("inputs: x\nz = w*x\nz = 2*x\n", "line 3, column 1: z is defined twice"),
    "cycle": ("inputs: x\na = b*x\nb = a*w\n", "line 2, column 1: the definitions form a cycle: a → b → a"),
    "undefined output": ("inputs: x\noutput: aa\na = w*x\n", "'aa' is not a defined node (did you mean 'a'?)"),
    "undefined input": ("inputs: x1, x11\na = w*x1\n", "input 'x11' is not used by any definition (did you mean 'x1'?)"),
    "unknown function": ("inputs: x\na = sigmoidd(w*x)\n", "unknown function 'sigmoidd' (did you mean 'sigmoid'?)"),
    "no inputs": ("a = w*x\n", "no 'inputs:' section"),
    "empty": ("", "the model file is empty"),
}


@pytest.mark.parametrize("case", sorted(MODEL_CASES))
def test_broken_model_files(tmp_path, case):
    text, words = MODEL_CASES[case]
    model = tmp_path / "broken.sbp"
    model.write_text(text)
    _assert_refused(["derive", str(model), "--all"], words, tmp_path)


def test_unreadable_model_files(tmp_path):
    huge = tmp_path / "huge.sbp"
    huge.write_text("inputs: x\n" + "a = w*x\n" * (10 * 1024 * 1024 // 8))   # 10 MB
    (tmp_path / "garbage.sbp").write_bytes(bytes(range(256)) * 64)
    (tmp_path / "cp1251.sbp").write_bytes("inputs: x\n# сеть\na = w*x\n".encode("cp1251"))
    for name, words in (("huge.sbp", "too large for a model file"),
                        ("garbage.sbp", "a binary file, not a model file"),
                        ("cp1251.sbp", "line 2, column 3: ")):
        _assert_refused(["derive", str(tmp_path / name), "--all"], words, tmp_path)
    _assert_refused(["derive", str(tmp_path / "absent.sbp"), "--all"], "no such file", tmp_path)
    _assert_refused(["derive", str(tmp_path), "--all"], "not a file (a directory)", tmp_path)


def test_the_real_script_runs_no_payload(tmp_path):
    script = symbackprop_script() or pytest.skip("the symbackprop script is not installed")
    canary = tmp_path / "CANARY_script"
    model = tmp_path / "hostile.sbp"
    model.write_text(f"inputs: x\na = __import__('os').system('touch {canary}')\n")
    result = subprocess.run([script, "derive", str(model), "--all"], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("symbackprop: error: line 2, column 5: names cannot start with '_'")
    assert not canary.exists()


# Random texts built from the grammar's own pieces (the likeliest to get far into the parser):
# each is an expression or a ParseError, soon, and never any other exception.
_PIECES = list("0123456789.eE+-*/^()'x yσ,²_!") + [
    "**", "tanh", "max", "min", "exp", "log", "sqrt", "f", "H", "abs", "relu", "logsumexp", "1e400", "9^9"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=25).map("".join))
def test_random_expressions_parse_or_fail_cleanly(text):
    start = time.perf_counter()
    try:
        str(parse_expression(text, functions={"f": sp.Function("f")}))
    except ParseError:
        pass
    assert time.perf_counter() - start < 1.0


_LINES = ["inputs:", "functions:", "output:", "values:", "bind:", " x", " f", " a", ",", " = ", "\n",
          "#", "f(", ")", "*", "tanh", "1.5", ":", "a = w*x\n", "b = a*y\n", "inputs: x\n",
          "functions: f\n", "output: b\n", "values: x = 1\n", "bind: f = relu\n", "\r\n", "\t"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_LINES), max_size=30).map("".join))
def test_random_model_texts_load_or_fail_cleanly(text):
    try:
        graph = Graph.from_text(text)
    except SymbackpropError:
        return
    assert dict(Graph.from_text(graph.to_text()).definitions) == dict(graph.definitions)
