"""The handout as data: sections of paragraphs, equations, figures, tables and questions.

The builder (``build.py``) decides what to say; the writers (``html.py``, ``tex.py``) decide how
it looks. Prose is a ``Text``: plain strings and inline ``Math`` (a SymPy expression), so the
same paragraph prints as HTML with MathML and as LaTeX with ``$…$``.

>>> import sympy as sp
>>> Text.format("{n} paths from {wrt}", n=2, wrt=Math(sp.Symbol("w11"))).parts
('2', ' paths from ', Math(expr=w11))
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence, Union

import graphviz
import sympy as sp

from .equations import Row

__all__ = ["Math", "Text", "Equations", "Figure", "Table", "Question", "Formula", "Section",
           "Document", "Block"]

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Math:
    """An inline formula."""

    expr: sp.Expr


@dataclass(frozen=True)
class Text:
    """A paragraph: strings and inline formulas, in reading order."""

    parts: tuple[Union[str, Math], ...]

    @classmethod
    def joined(cls, symbols, separator: str) -> "Text":
        """Inline formulas with ``separator`` between them: ``x₁, x₂`` or ``w₁₁ → z₁ → a``."""
        parts: list = []
        for i, symbol in enumerate(symbols):
            parts += [separator] * (i > 0) + [Math(symbol)]
        return cls(tuple(parts))

    @classmethod
    def format(cls, template: str, **values) -> "Text":
        """Fill ``{name}`` placeholders: ``Math`` stays a formula, ``Text`` is spliced in, the
        rest become strings."""
        parts: list = []
        position = 0
        for match in _PLACEHOLDER.finditer(template):
            if match.start() > position:
                parts.append(template[position:match.start()])
            value = values[match.group(1)]
            if isinstance(value, Text):
                parts.extend(value.parts)
            else:
                parts.append(value if isinstance(value, Math) else str(value))
            position = match.end()
        if position < len(template):
            parts.append(template[position:])
        return cls(tuple(parts))


@dataclass(frozen=True)
class Equations:
    """A displayed block of aligned rows."""

    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Formula:
    """A displayed formula that exists only as LaTeX (an optimizer's own ``latex()``, the layer
    view); the HTML converts it to MathML."""

    latex: str


@dataclass(frozen=True)
class Figure:
    """A Graphviz drawing; ``name`` is its file stem beside the handout."""

    name: str
    digraph: graphviz.Digraph = field(compare=False)
    caption: Text


Cell = Union[str, Math, Text]


@dataclass(frozen=True)
class Table:
    header: tuple[Cell, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True)
class Question:
    """An exercise: the prompt, how many blank lines to leave, the answer for the key, and the
    quantities to write down, each on its own labelled line (``∂a/∂w11 = ……``)."""

    number: int
    prompt: Text
    answer: tuple["Block", ...]
    blank_lines: int = 1
    blanks: tuple[sp.Expr, ...] = ()


Block = Union[Text, Equations, Formula, Figure, Table, Question]


@dataclass(frozen=True)
class Section:
    title: Text
    blocks: tuple[Block, ...]
    new_page: bool = False


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    lang: str
    sections: tuple[Section, ...]

    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]


def paragraph(template: str, **values) -> Text:
    return Text.format(template, **values)


def blocks(*items: Block | Sequence[Block] | None) -> tuple[Block, ...]:
    """Flatten blocks and lists of blocks, skipping ``None``."""
    result: list = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, (list, tuple)):
            result.extend(i for i in item if i is not None)
        else:
            result.append(item)
    return tuple(result)
