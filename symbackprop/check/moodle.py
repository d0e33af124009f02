"""Variants as Moodle quiz questions (Moodle XML), for the learning-management system a school runs.

Each variant becomes one Cloze question (``<question type="cloze">``, Moodle's stock
"embedded answers" type), as Moodle's XML import format documents it: the network's definitions
(TeX between ``\\(`` ``\\)``, which Moodle's MathJax filter renders), its drawing (a PNG inside the
question, ``<file … encoding="base64">`` referenced as ``@@PLUGINFILE@@/…``), the variant's
point, and one ``{1:NUMERICAL:=value:tolerance}`` gap per asked derivative, graded within 1% of
its value (at least ±0.001). The general feedback, shown after the attempt, is the answer key: the
path sums and their values. A ``category`` question first files them under
``$course$/top/symbackprop/<model>``.

What the format cannot carry: stock Moodle compares numbers and strings, not formulas, so the
questions ask for the derivatives' values; the path diagnosis (a missing path, a wrong factor)
and partial credit per path stay with ``symbackprop verify`` (class mode, whose marks CSV Moodle's
gradebook imports) and ``symbackprop serve``. Moodle also picks a question per student itself:
which student got which variant is only in the question's name.

>>> from symbackprop import lecture_network
>>> from symbackprop.check.variants import make_variants
>>> xml = moodle_xml(make_variants(lecture_network(), ["Anna"], seed=1), source="lecture")
>>> xml.count('<question type="cloze">'), xml.count(":NUMERICAL:=")
(1, 2)
"""

from __future__ import annotations

import base64
import html
import re
from typing import Sequence
from xml.sax.saxutils import escape

from ..core.derive import Partial, derive
from ..core.errors import SymbackpropError
from ..render.diagram import draw, image
from ..render.printing import latex
from .feedback import by_language
from .variants import Variant

__all__ = ["moodle_xml", "tolerance", "RELATIVE_TOLERANCE", "ABSOLUTE_TOLERANCE"]

RELATIVE_TOLERANCE = 0.01
ABSOLUTE_TOLERANCE = 0.001
PENALTY = "0.3333333"      # Moodle's default: a third of the marks lost per wrong try
DIAGRAM = "network.png"

_PHRASES = {
    "name": ("{model}: variant {number} ({student})", "{model}: вариант {number} ({student})"),
    "who": ("{student}, variant {number}.", "{student}, вариант {number}."),
    "network": ("The network:", "Сеть:"),
    "drawing": ("the computation graph of the network", "граф вычислений сети"),
    "point": ("The point:", "Точка:"),
    "task": ("Compute the derivatives at this point (to within 1%):",
             "Вычислите производные в этой точке (с точностью до 1%):"),
    "key": ("The answer key: each derivative as a sum over its paths, and its value at the point.",
            "Ответы: каждая производная как сумма по путям и её значение в точке."),
}
_WORDS = by_language(_PHRASES)


def tolerance(value: float) -> float:
    """The absolute margin a gap accepts around ``value``: 1% of it, at least 0.001."""
    return max(RELATIVE_TOLERANCE * abs(value), ABSOLUTE_TOLERANCE)


def _number(value: float) -> str:
    """A number as Moodle's Cloze NUMERICAL syntax reads it (digits, a point, an exponent)."""
    return f"{value + 0.0:.6g}"


def _html(text: str) -> str:
    """``text`` for a question's HTML: escaped, braces as entities, so that nothing but a gap
    reads as Cloze syntax (a student named ``{1:NUMERICAL:=1}`` adds no gap). Browsers and
    MathJax read the entities back as the characters."""
    return html.escape(text, quote=False).replace("{", "&#123;").replace("}", "&#125;")


def _inline(tex: str) -> str:
    """Inline TeX for MathJax."""
    return _html(f"\\({tex}\\)")


def _display(rows: Sequence[tuple[str, str]]) -> str:
    """Aligned ``left = right`` rows as displayed TeX."""
    body = r" \\ ".join(f"{left} &= {right}" for left, right in rows)
    return _html(f"\\[\\begin{{aligned}}{body}\\end{{aligned}}\\]")


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _question_text(variant: Variant, say: dict) -> str:
    graph = variant.graph
    definitions = _display([(latex(node), latex(expr)) for node, expr in graph.definitions.items()])
    point = ", ".join(_inline(f"{latex(leaf)} = {value:g}") for leaf, value in variant.values.items())
    gaps = "".join(
        f"<p>{_inline(latex(Partial(graph.output, p)))} = "
        f"{{1:NUMERICAL:={_number(value)}:{_number(tolerance(value))}}}</p>"
        for p, value in variant.key_values().items())
    who = _html(say["who"].format(student=variant.student, number=variant.number))
    return (f"<p>{who}</p><p>{say['network']}</p>{definitions}"
            f'<p><img src="@@PLUGINFILE@@/{DIAGRAM}" alt="{say["drawing"]}"></p>'
            f"<p>{say['point']} {point}</p><p>{say['task']}</p>{gaps}")


def _key_text(variant: Variant, say: dict) -> str:
    parts = [f"<p>{say['key']}</p>"]
    values = variant.key_values()
    for p in variant.parameters:
        tex = derive(variant.graph, p).latex().replace("align*", "aligned")
        parts.append(_html(f"\\[{tex}\\]"))
        parts.append(f"<p>{_inline(f'{latex(Partial(variant.graph.output, p))} = {_number(values[p])}')}</p>")
    return "".join(parts)


def _model_name(source: str) -> str:
    """The model's name without ``/`` (which separates Moodle categories) or spaces."""
    return re.sub(r"[/\s]+", "-", source).strip("-") or "model"


def moodle_xml(variants: Sequence[Variant], source: str = "model", lang: str = "en") -> str:
    """A Moodle XML file (``<quiz>``) with a category and one Cloze question per variant;
    ``source`` names the model (the category and the question names)."""
    if not variants:
        raise SymbackpropError("no variants to export")
    say = _WORDS[lang]
    drawing = base64.b64encode(image(draw(variants[0].graph), "png")).decode("ascii")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>",
             '  <question type="category">',
             f"    <category><text>$course$/top/symbackprop/{escape(_model_name(source))}</text></category>",
             '    <info format="html"><text></text></info>',
             "  </question>"]
    for variant in variants:
        name = say["name"].format(model=source, number=variant.number, student=variant.student)
        lines += [
            '  <question type="cloze">',
            f"    <name><text>{escape(name)}</text></name>",
            f'    <questiontext format="html"><text>{_cdata(_question_text(variant, say))}</text>',
            f'      <file name="{DIAGRAM}" path="/" encoding="base64">{drawing}</file>',
            "    </questiontext>",
            f'    <generalfeedback format="html"><text>{_cdata(_key_text(variant, say))}</text></generalfeedback>',
            f"    <penalty>{PENALTY}</penalty>",
            "    <hidden>0</hidden>",
            f"    <idnumber>{escape(f'symbackprop-{_model_name(source)}-{variant.number}')}</idnumber>",
            "  </question>"]
    lines.append("</quiz>")
    return "\n".join(lines) + "\n"
