"""Backprop through time as the textbooks print it: the unrolled network's equations read at a
generic step ``t`` (``core.tensor.sequence.bptt``), in text and LaTeX.

>>> from symbackprop.core.tensor.sequence import elman_rnn
>>> print(bptt_text(elman_rnn(3, (1, 2, 1), outputs="last", loss="squared_error")).splitlines()[1])
δ_t = Wᵀ (δ_{t+1} ⊙ tanh'(u_{t+1}))
"""

from __future__ import annotations

from ..core.tensor.sequence import bptt
from .tensor import TEXT, align

__all__ = ["bptt_text", "bptt_latex"]


def bptt_text(graph) -> str:
    """``δ_T``, the recursion ``δ_t = …`` and each parameter's ``Σ_t``, one equation a line."""
    return "\n".join(f"{TEXT.doprint(lhs)} = {TEXT.doprint(rhs)}" for lhs, rhs in bptt(graph))


def bptt_latex(graph) -> str:
    """The same equations as an ``align*`` block."""
    return align(bptt(graph))
