"""The handout of a tensor graph: boxes with shapes, the matrix equations, one entry as its path sum."""

from pathlib import Path

import pytest

import symbackprop as sbp

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_an_autoencoder_handout_shows_its_layers_equations_and_one_entry():
    handout = sbp.handout(sbp.load(EXAMPLES / "tensor" / "autoencoder.sbp").tensor, wrt="W_1_2")
    html, tex = handout.html(), handout.tex()
    assert "<svg" in html and "3×8" in html                          # W's box with its shape
    assert r"h {\delta_{o}}^{\top} + 2 \cdot \lambda W" in tex       # the tied W's two uses and the penalty
    assert r"\frac{\partial L}{\partial W_{1 2}} &= \left[\frac{\partial L}{\partial W}\right]_{1,2}" in tex
    assert "sum over the 10 paths" in html and "Leibniz form" in html
    assert handout.html().count("<math") >= 4


def test_russian_and_a_large_network():
    handout = sbp.handout.tensor_handout(sbp.mlp((784, 128, 10), loss="softmax_cross_entropy"), lang="ru")
    html = handout.html()
    assert "Обратный проход" in html and "101770 параметров" in html and "δ" in html


def test_an_unknown_language_or_entry_is_a_clear_error():
    with pytest.raises(sbp.SymbackpropError, match="unknown language 'de'"):
        sbp.handout.tensor_handout(sbp.mlp((2, 2, 1), loss="squared_error"), lang="de")
    with pytest.raises(sbp.SymbackpropError, match="not a parameter of the scalar view"):
        sbp.handout.tensor_handout(sbp.mlp((2, 2, 1), loss="squared_error"), entry="x1")


def test_the_cnn_handout_prints_its_padded_convolutions():
    """conv2d with padding: its rule's LaTeX template carries ``_{p=1}``, which a format string
    once read as a field and the handout of examples/tensor/cnn.sbp failed."""
    from pathlib import Path
    cnn = sbp.load(Path(__file__).resolve().parent.parent / "examples" / "tensor" / "cnn.sbp").tensor
    tex = sbp.handout(cnn).tex()
    assert r"\ast_{p=1} \operatorname{rot180}" in tex and r"\star_{p=1}" in tex
