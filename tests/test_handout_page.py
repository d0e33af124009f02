"""Every formula and table of a handout stays inside the page: pdflatex, run on the handout's
own .tex, reports no line wider than the text (an "Overfull \\hbox"). The cases are those that
once ran off the page or stopped LaTeX: the lecture's optimizer table (twelve columns; wider in
Russian), a worked example's many path products, a δ with many children, a loss over many
outputs, a tied weight's long entry, attention's path sums, a GRU's BPTT and its long path
products, a subtitle naming many inputs."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp

import symbackprop as sbp

pytestmark = [pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed"),
              pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")]

T = sbp.tensor
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HANDOUTS = {
    "lecture-en": lambda: sbp.handout(sbp.lecture_network()),
    "lecture-ru": lambda: sbp.handout(sbp.lecture_network(), lang="ru"),
    "autoencoder": lambda: sbp.handout(sbp.load(EXAMPLES / "tensor" / "autoencoder.sbp").tensor),
    "lstm": lambda: sbp.sequence_handout(T.lstm(2, (1, 2, 1), loss="squared_error", outputs="last"), wrt="W_f_1_1",
                                         optimizers=[]),
    "gru": lambda: sbp.sequence_handout(T.gru(3, (1, 2, 1), loss="squared_error", outputs="last"), wrt="W_z_1_1",
                                        optimizers=[]),
    "attention-2-heads": lambda: sbp.sequence_handout(T.attention_graph(2, 4, heads=2), wrt="W_Q1_1_2",
                                                      optimizers=[], lang="ru"),
}


def overfull_lines(log: str) -> list[float]:
    """How far (in pt) each overfull line of a pdflatex log sticks out."""
    return [float(width) for width in re.findall(r"Overfull \\hbox \(([0-9.]+)pt too wide\)", log)]


def test_overfull_lines_are_read_from_the_log():
    log = "Overfull \\hbox (12.00002pt too wide) in paragraph at lines 21--21\nOverfull \\hbox (0.5pt too wide)"
    assert overfull_lines(log) == [12.00002, 0.5]


@pytest.mark.parametrize("name", HANDOUTS)
def test_nothing_runs_off_the_page(name, tmp_path):
    HANDOUTS[name]().save(tmp_path / name, pdf=False)
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", f"{name}.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    log = (tmp_path / f"{name}.log").read_text(errors="replace")
    assert run.returncode == 0, log[-2000:]
    assert max(overfull_lines(log), default=0.0) < 1.0, [line for line in log.splitlines() if "Overfull" in line]


def test_a_product_too_wide_for_a_line_goes_on_with_a_dot():
    from symbackprop.handout.equations import Row, rows_latex, rows_mathml

    factors = tuple(sp.Symbol(f"alpha_{i}") + 1 for i in range(12))
    latex = rows_latex([Row(sp.Symbol("L"), (factors,))])
    first, rest = latex.splitlines()[1:3]
    assert first.startswith(r"L &= \left(\alpha_{0} + 1\right)") and rest.startswith(r"&\qquad \cdot \left(")
    assert latex.count(r"\left(") == 12  # every factor once, none lost at the break
    assert rows_mathml([Row(sp.Symbol("L"), (factors,))]).count("<mtr>") == 2


def test_a_product_broken_after_a_difference_keeps_its_parentheses():
    """(h − y) · (a long sum): broken after its first factor, the row must read (h − y), not
    h − y, or the reader (and the answer checker) takes it for h − (y · …)."""
    from symbackprop.handout.equations import Row, rows_latex

    h, y = sp.symbols("h1 y")
    long_sum = sp.Add(*[sp.Symbol(f"a{i}") * sp.Heaviside(sp.Symbol(f"b{i}")) for i in range(8)])
    first_row = rows_latex([Row(sp.Symbol("L"), ((h - y, long_sum),))]).splitlines()[1]
    assert first_row == r"L &= \left(h_{1} - y\right) \\"
