"""Hostile and malformed answers: each is a clear one-line error within a second, and no code runs.

Payloads that would create a canary file if anything executed them run in a temporary
directory; the file must not appear. The same answers go through the command line once, to
check the exit code and that no traceback reaches the user.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import symbackprop as sbp

G = sbp.lecture_network()
MODEL = Path(__file__).resolve().parents[1] / "examples" / "lecture.sbp"
CANARY = "CANARY_verify"

# (answer, a phrase the first line of the error must contain)
PLAIN = [
    (f"__import__('os').system('touch {CANARY}')", "names cannot start with '_'"),
    ("().__class__.__mro__", "unexpected ')'"),
    ("x1.__class__.__bases__", "no attribute access"),
    ("lambda: 0", "':' is not allowed"),
    (f"open('{CANARY}', 'w')", "unknown function 'open'"),
    ('"a string"', "string literals are not allowed"),
    ("[x for x in (1, 2)]", "brackets are not allowed"),
    ("{x for x in y}", "braces are not allowed"),
    ("x1; import os", "unexpected character ';'"),
    ("9**9**9**9", "too large"),
    ("10^10^10", "too large"),
    ("(" * 100_000 + "x1" + ")" * 100_000, "too long"),
    ("(" * 150 + "x1" + ")" * 150, "nested too deeply"),
    ("x1 + " * 2_000_000 + "x1", "too long"),
    ("99999999!", "factorials are not supported"),
    ("factorial(10^6)", "unknown function 'factorial'"),
    ("f" + "'" * 1000 + "(x1)", "orders above 4"),
    ("(x1 + x2", "is not closed"),
    ("x1 + x2)", "without its '('"),
    ("foo(x1)", "unknown function 'foo'"),
    ("w13", "unknown name 'w13' (did you mean"),
    ("s_1*m1", "unknown name 's_1' (did you mean 's1'?)"),
    ("", "the answer is empty"),
    ("∂q/∂m1", "unknown name 'q'"),
    ("partial(x1, w11)", "must be a node of the network"),
    ("m1(x1)", "m1 is not a function"),
]

LATEX = [
    (r"\input{/etc/passwd}", "unknown LaTeX command '\\input'"),
    (rf"\immediate\write18{{touch {CANARY}}}", "unknown LaTeX command '\\immediate'"),
    (r"\def\x{1}", "unknown LaTeX command '\\def'"),
    ("{" * 1_400 + "x_1" + "}" * 1_400, "nested too deeply"),
    ("{" * 100_000, "too long"),
    (r"\frac{1}{2", "is not closed"),
    (r"s_1 f'(\dots) \cdot p_{11} \dots", "abbreviates"),
    (r"\frac{\partial^2 a}{\partial m_1^2}", "only first derivatives"),
    (r"\frac{\partial q}{\partial m_1}", "unknown name 'q'"),
    (r"w_{1 1}", "a subscript may hold letters and digits only"),
    (r"s_1 \cdot", "unexpected end"),
    (r"|x_1|", "absolute value bars"),
    (r"10^{10^{10}}", "too large"),
]


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """Run in an empty directory, and check afterwards that nothing appeared in it."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert not (tmp_path / CANARY).exists()
    assert list(tmp_path.iterdir()) == []


def _refused(expected: str, **kwargs) -> None:
    start = time.perf_counter()
    with pytest.raises(sbp.SymbackpropError) as caught:
        sbp.verify(G, "w11", **kwargs)
    assert time.perf_counter() - start < 1.0
    first = str(caught.value).splitlines()[0]
    assert expected in first
    assert len(first) < 400


@pytest.mark.parametrize("answer, expected", PLAIN, ids=[a[:30] for a, _ in PLAIN])
def test_plain_answers_are_refused(scratch, answer, expected):
    _refused(expected, answer=answer)


@pytest.mark.parametrize("answer, expected", LATEX, ids=[a[:30] for a, _ in LATEX])
def test_latex_answers_are_refused(scratch, answer, expected):
    _refused(expected, answer_latex=answer)


def test_errors_point_into_the_latex_source():
    with pytest.raises(sbp.ParseError) as caught:
        sbp.verify(G, "w11", answer_latex=r"s_1 \cdot f'(p_{11} z_1) \cdot w_{13}")
    assert caught.value.column == len(r"s_1 \cdot f'(p_{11} z_1) \cdot ") + 1
    assert "unknown name 'w13'" in str(caught.value)


@pytest.mark.parametrize("answer", ["exp(exp(exp(exp(1000))))", "10^1000", "x1*10^999"])
def test_answers_that_evaluate_to_huge_numbers_are_wrong_not_right(answer):
    start = time.perf_counter()
    verdict = sbp.verify(G, "w11", answer)
    assert not verdict.correct and time.perf_counter() - start < 1.0


def test_a_huge_power_of_a_sum_is_not_expanded():
    start = time.perf_counter()
    verdict = sbp.verify(G, "w11", "(x1 + x2 + w11 + w12 + w21 + w22)^1000")
    assert not verdict.correct and time.perf_counter() - start < 1.0


def test_wrong_types_and_options():
    with pytest.raises(sbp.SymbackpropError, match="must be text"):
        sbp.verify(G, "w11", 42)
    with pytest.raises(sbp.SymbackpropError, match="unknown language"):
        sbp.verify(G, "w11", "x1", lang="de")
    with pytest.raises(sbp.SymbackpropError, match="unknown answer format"):
        sbp.verify(G, "w11", "x1", format="mathml")
    with pytest.raises(sbp.UnknownSymbolError, match="did you mean 'w11'"):
        sbp.verify(G, "w111", "x1")
    with pytest.raises(sbp.SymbackpropError, match="is a node"):
        sbp.verify(G, "z1", "x1")


@pytest.mark.parametrize("option, answer", [
    ("--answer", f"__import__('os').system('touch {CANARY}')"),
    ("--answer", "9**9**9**9"),
    ("--answer-latex", rf"\immediate\write18{{touch {CANARY}}}"),
])
def test_the_command_line_refuses_with_one_line_and_exit_1(tmp_path, option, answer):
    result = subprocess.run(
        [sys.executable, "-m", "symbackprop", "verify", str(MODEL), "--wrt", "w11", option, answer],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
        env={**os.environ, "PYTHONPATH": str(MODEL.parents[1])})
    assert result.returncode == 1
    assert result.stderr.startswith("symbackprop: error: line 1, column")
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (tmp_path / CANARY).exists()
