"""One self-contained HTML file: MathML formulas, inline SVG figures, print CSS for A4.

Nothing is fetched when the page is opened (no scripts, fonts or stylesheets from elsewhere):
browsers lay out MathML natively, and every figure is inlined.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ElementTree
from typing import Mapping

from ..render.mathml import mathml
from .equations import rows_mathml
from .model import Document, Equations, Figure, Formula, Math, Question, Section, Table, Text

__all__ = ["document_html", "latex_mathml", "STYLE"]

STYLE = """
:root { color-scheme: light; }
body { font-family: "DejaVu Serif", Georgia, serif; line-height: 1.45; color: #1a1a1a;
       max-width: 52em; margin: 2em auto; padding: 0 1.5em; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.subtitle { color: #555; margin-top: 0; }
math { font-size: 1.08em; }
math[display="block"] { margin: 0.8em 0; overflow-x: auto; overflow-y: hidden; }
mtd.lhs { text-align: right; padding: 0.25em 0; }
mtd.rhs { text-align: left; padding: 0.25em 0; }
mtd[columnalign="right"] { text-align: right; }
mtd[columnalign="left"] { text-align: left; }
figure { margin: 1em 0; text-align: center; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.92em; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: left; }
th { background: #f3f5f8; }
td.blank { min-width: 6em; }
.question { margin: 1em 0 0.4em; }
.answer-space { border-bottom: 1px dotted #888; height: 1.8em; }
.answer-line { border-bottom: 1px dotted #888; margin: 0.3em 0 0 1.5em; padding-bottom: 0.3em; }
.nobreak { white-space: nowrap; }
pre.latex { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
@page { size: A4; margin: 16mm 15mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10.5pt; }
  section.new-page { break-before: page; }
  figure, table, math[display="block"], .question { break-inside: avoid; }
  h2 { break-after: avoid; }
}
"""


# Punctuation that must not start a line after a formula ("Output: a" then "." alone).
_TRAILING_MARK = re.compile(r"[.,:;!?)»]+")

# ``\text{… $math$ …}``: the converter reads the inner math as text, so it is lifted out first.
_MATH_IN_TEXT = re.compile(r"\\text\{([^{}$]*)\$([^$]*)\$([^{}$]*)\}")


def latex_mathml(source: str) -> str:
    r"""MathML for a formula that exists only as LaTeX; its source in a ``<pre>`` if the
    converter cannot produce well-formed MathML for it.

    >>> converted = latex_mathml(r"\text{a $y$}")
    >>> "<mi>y</mi>" in converted and "$" not in converted
    True
    """
    while _MATH_IN_TEXT.search(source):
        source = _MATH_IN_TEXT.sub(r"\\text{\1}\2\\text{\3}", source)
    try:
        from latex2mathml.converter import convert

        converted = convert(source, display="block")
        ElementTree.fromstring(converted)
        return converted
    except Exception:  # noqa: BLE001 - any converter failure falls back to showing the source
        return f'<pre class="latex">{html.escape(source)}</pre>'


class _Writer:
    def __init__(self, figures: Mapping[str, str]):
        self.figures = figures

    def text(self, text: Text) -> str:
        """Prose with inline MathML; a formula and the punctuation after it stay on one line."""
        out: list[str] = []
        for part in text.parts:
            if isinstance(part, Math):
                out.append(mathml(part.expr))
                continue
            mark = _TRAILING_MARK.match(part)
            if mark and out and out[-1].startswith("<math"):
                out[-1] = f'<span class="nobreak">{out[-1]}{html.escape(mark.group())}</span>'
                part = part[mark.end():]
            out.append(html.escape(part))
        return "".join(out)

    def cell(self, cell, tag: str = "td") -> str:
        if isinstance(cell, Math):
            return f"<{tag}>{mathml(cell.expr)}</{tag}>"
        if isinstance(cell, Text):
            return f"<{tag}>{self.text(cell)}</{tag}>"
        if cell == "" and tag == "td":
            return '<td class="blank"></td>'
        return f"<{tag}>{html.escape(cell)}</{tag}>"

    def block(self, block) -> str:
        if isinstance(block, Text):
            return f"<p>{self.text(block)}</p>"
        if isinstance(block, Equations):
            return rows_mathml(block.rows)
        if isinstance(block, Formula):
            return latex_mathml(block.latex)
        if isinstance(block, Figure):
            return (f'<figure id="fig-{html.escape(block.name)}">{self.figures[block.name]}'
                    f"<figcaption>{self.text(block.caption)}</figcaption></figure>")
        if isinstance(block, Table):
            head = "".join(self.cell(c, "th") for c in block.header)
            body = "".join("<tr>" + "".join(self.cell(c) for c in row) + "</tr>" for row in block.rows)
            return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        if isinstance(block, Question):
            return self.question(block)
        raise TypeError(f"no HTML for {type(block).__name__}")

    def question(self, q: Question) -> str:
        prompt = f'<p class="question"><b>{q.number}.</b> {self.text(q.prompt)}</p>'
        labelled = "".join(f'<p class="answer-line">{mathml(label)}<span> =</span></p>' for label in q.blanks)
        return prompt + labelled + '<div class="answer-space"></div>' * q.blank_lines

    def section(self, section: Section, answers: bool) -> str:
        classes = ' class="new-page"' if section.new_page else ""
        title = f"<h2>{self.text(section.title)}</h2>" if section.title.parts else ""
        body = "".join(self.answer(b) if answers and isinstance(b, Question) else self.block(b)
                       for b in section.blocks)
        return f"<section{classes}>{title}{body}</section>"

    def answer(self, q: Question) -> str:
        prompt = f'<p class="question"><b>{q.number}.</b> {self.text(q.prompt)}</p>'
        return prompt + "".join(self.block(b) for b in q.answer)


def document_html(document: Document, figures: Mapping[str, str], answers: bool = False) -> str:
    """The whole page. ``figures`` maps each figure's name to its SVG text; with ``answers``
    the questions print with their answers instead of blanks."""
    writer = _Writer(figures)
    body = "".join(writer.section(s, answers) for s in document.sections)
    return ("<!DOCTYPE html>\n"
            f'<html lang="{document.lang}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(document.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<header><h1>{html.escape(document.title)}</h1>"
            f'<p class="subtitle">{html.escape(document.subtitle)}</p></header>\n'
            f"<main>{body}</main>\n</body>\n</html>\n")
