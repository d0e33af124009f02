"""How the checker read an answer, shown before the verdict: a student whose ``2x1`` or
``∂a/∂m1`` meant something else sees what was checked. Leibniz factors are already replaced by
the graph's local partials (``parse_answer``), so the reading is in the network's symbols.

>>> from symbackprop import lecture_network
>>> from symbackprop.check.verify import parse_answer
>>> read_as(parse_answer(lecture_network(), "∂a/∂m1·∂m1/∂p11"))
"read as: f'(p11·z1 + p21·z2)·s1·z1"
>>> read_as(parse_answer(lecture_network(), "2x1"), "ru")
'прочитано как: 2·x1'

HTML shows the same reading as MathML (``render.mathml.mathml``).
"""

from __future__ import annotations

import sympy as sp

from ..render.printing import text
from .feedback import by_language

__all__ = ["read_as", "READ_AS"]

READ_AS = by_language({"read_as": ("read as", "прочитано как")})


def read_as(answer: sp.Expr, lang: str = "en") -> str:
    """``read as: <the answer as text>`` in ``lang``."""
    return f"{READ_AS[lang]['read_as']}: {text(answer)}"

