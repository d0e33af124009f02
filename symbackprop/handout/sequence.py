"""Handouts for tensor graphs with shared weights and attention: an unrolled RNN, a self-attention
block. The scalar view supplies what the lecture's handout shows (the diagram, here with the
time steps unrolled and one shared weight's paths through them highlighted; the forward pass,
the path sums, the worked numeric example); this module adds the matrix form: the tensor
equations forward and backward, backprop through time read at a generic step for a recurrent
network, and the chosen entries of the matrix equations expanded as their path sums.

>>> import symbackprop as sbp
>>> h = sequence_handout(sbp.tensor.elman_rnn(3, (1, 2, 1), loss="squared_error", outputs="last"),
...                      wrt=["W_1_2"], optimizers=[])
>>> [s.title.parts[0] for s in h.document.sections if s.title.parts][:2]
['The network', 'The matrix form']
>>> r"\\sum_{t=2}^{T}" in h.tex()
True
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable

import sympy as sp

from ..core.errors import SymbackpropError
from ..core.tensor.derive import derive_tensor
from ..core.tensor.graph import TensorGraph
from ..core.tensor.scalar import ScalarView
from ..render.printing import aligned
from ..render.recurrence import bptt_latex
from ..core.tensor.base import Apply, row_major, size
from ..core.tensor.derive import Gradient
from ..core.tensor.entries import evaluate
from ..core.tensor.scalar import entry_of, tensor_symbols
from ..render.tensor import LATEX
from . import handout as _handout
from .equations import Adjoint, printed_length
from .model import Formula, Math, Section, Text, paragraph

__all__ = ["sequence_handout", "MAX_ENTRIES"]

MAX_ENTRIES = 400  # scalar node entries the handout draws and expands; beyond it, a clear refusal
_LONGEST_ENTRY = 90  # printed characters that still fit on a line beside their left-hand side

_WORDS = {
    "en": {
        "title": "The matrix form",
        "equations": "The same network in matrix form: the forward pass, then one reverse sweep over the "
                     "tensors, each δ written once and reused:",
        "bptt": "Backprop through time, the equations above read at a generic step t (Goodfellow §10.2.2): "
                "the hidden state's δ_t receives the next step's δ and its own step's loss, and each "
                "shared weight's gradient is the sum over the steps of its per-step term.",
        "entry": "One entry of the matrix equation for {w}, expanded: the sum of its path sums, one term for "
                 "each path highlighted in the diagram (one per step the weight is used at).",
        "long": "Written out in the weights and inputs this entry is too long for a line, so it is shown in "
                "the entries of the δ's, which the backward pass below computes; the section on the "
                "derivative with respect to {w} lists its paths one by one.",
    },
    "ru": {
        "title": "Матричная форма",
        "equations": "Та же сеть в матричной форме: прямой проход, затем один обратный проход по тензорам, "
                     "каждое δ вычисляется один раз и используется повторно:",
        "bptt": "Обратное распространение во времени: те же уравнения на произвольном шаге t (Goodfellow "
                "§10.2.2). δ_t скрытого состояния получает δ следующего шага и ошибку своего шага, а градиент "
                "общего веса есть сумма по шагам его вкладов.",
        "entry": "Один элемент матричного уравнения для {w}, раскрытый как сумма по путям: по слагаемому на "
                 "каждый путь, выделенный на схеме (по одному на каждый шаг, где используется вес).",
        "long": "Выписанный через веса и входы, этот элемент не помещается в строку, поэтому он записан через "
                "элементы δ, которые вычисляет обратный проход ниже; в разделе о производной по {w} его пути "
                "перечислены по одному.",
    },
}


def _entry_by_term(derivation, w: str) -> tuple[str, bool]:
    """``∂L/∂w = [∂L/∂W]_(i,j) = [Σ terms]_(i,j)``, then each term's entry as its path sum on a
    row of its own (a shared weight: one term per step it is used at), in an ``align*`` block;
    and whether an entry too long for a line was written in the δ entries instead (attention's
    path sums run to thousands of symbols)."""
    tensor, index = entry_of(derivation.graph, w)
    position, at = row_major(tensor.shape).index(index), ",".join(str(i + 1) for i in index)
    rhs = derivation.gradient(tensor)
    terms = rhs.args if isinstance(rhs, Apply) and rhs.op.name == "add" else (rhs,)
    lines = [rf"\frac{{\partial {LATEX.doprint(sp.Symbol(derivation.graph.output.name))}}}{{\partial "
             rf"{LATEX.doprint(sp.Symbol(w))}}} &= \left[{LATEX.doprint(Gradient(derivation.graph.output, tensor))}"
             rf"\right]_{{{at}}} = \left[{LATEX.doprint(rhs)}\right]_{{{at}}}"]
    shortened = False
    for term in terms:  # each term on its own row: the paths entering at one step
        entry = LATEX.doprint(derivation.entries(term)[position])
        if printed_length(entry) > _LONGEST_ENTRY:
            entry, shortened = LATEX.doprint(_in_deltas(derivation, term)[position]), True
        lines.append(rf"\left[{LATEX.doprint(term)}\right]_{{{at}}} &= {entry}")
    return aligned(lines), shortened


def _in_deltas(derivation, expr) -> list[sp.Expr]:
    """The entries of ``expr`` with each δ's entries left as the scalar backward pass's ``δ_v``."""
    values = dict(tensor_symbols(derivation.graph))
    for delta in derivation.deltas:
        values[delta] = [Adjoint(v) for v in values[delta.node]]
    return evaluate(expr, values)


def sequence_handout(graph: TensorGraph, wrt: Iterable | str, lang: str = "en", **options):
    """A handout of a tensor graph (``elman_rnn``, ``lstm``, ``gru``, ``attention_graph``; small
    shapes: every entry is drawn) for the parameter entries ``wrt`` (``"W_1_2"``). ``options``
    are ``handout``'s (``values``, ``optimizers``, …)."""
    if not isinstance(graph, TensorGraph):
        raise SymbackpropError("sequence_handout takes a tensor graph (sbp.tensor.elman_rnn, attention_graph, …)")
    if lang not in _WORDS:
        raise SymbackpropError(f"unknown language {lang!r}; choose one of {', '.join(_WORDS)}")
    entries = sum(size(t.shape) for t in graph.nodes)
    if entries > MAX_ENTRIES:
        raise SymbackpropError(f"the handout draws every scalar entry and this graph has {entries:,} (more than "
                               f"{MAX_ENTRIES:,}); build it at small sizes, e.g. elman_rnn(3, (1, 2, 1))")
    chosen = [wrt] if isinstance(wrt, str) else list(wrt) if isinstance(wrt, Iterable) else None
    if not chosen or not all(isinstance(w, str) for w in chosen):
        raise SymbackpropError(f"sequence_handout: wrt names the parameter entries to expand, e.g. wrt='W_1_2', "
                               f"not {wrt!r}")
    result = _handout(ScalarView(graph), wrt=chosen, lang=lang, **options)
    words = _WORDS[lang]
    derivation = derive_tensor(graph)
    blocks: list = [Text((words["equations"],)), Formula(derivation.latex(forward=True))]
    if graph.metadata.get("recurrent") and graph.metadata["recurrent"]["steps"] >= 3:
        blocks += [Text((words["bptt"],)), Formula(bptt_latex(graph))]
    for w in chosen:
        formula, shortened = _entry_by_term(derivation, w)
        blocks += [paragraph(words["entry"], w=Math(sp.Symbol(w))), Formula(formula)]
        if shortened:
            blocks.append(paragraph(words["long"], w=Math(sp.Symbol(w))))
    matrix = Section(Text((words["title"],)), tuple(blocks))
    sections = list(result.document.sections)
    sections.insert(2, matrix)  # after the introduction and the network's diagram
    result.document = replace(result.document, sections=tuple(sections))
    return result
