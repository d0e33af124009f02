"""A verdict as a notebook shows it: the headline with ✓ or ✗, the paths the answer has and
those it misses, and the network drawn with the present paths in green and the missing in red.

>>> import symbackprop as sbp
>>> v = sbp.verify(sbp.lecture_network(), "w11", "s1*f'(p11*z1+p21*z2)*p11*f'(w11*x1+w21*x2)*x1")
>>> page = verdict_html(v)
>>> "✗" in page and "<svg" in page and PRESENT in page and MISSING in page
True
"""

from __future__ import annotations

import html

from ..core.errors import SymbackpropError
from ..render.diagram import draw, subscripted, svg

__all__ = ["verdict_html", "PRESENT", "MISSING"]

PRESENT, MISSING = "#009e73", "#d55e00"   # Okabe–Ito green and vermillion
_WORDS = {"en": ("present", "missing", "paths of the answer: present (green), missing (red)"),
          "ru": ("есть", "нет", "пути ответа: учтённые (зелёные), пропущенные (красные)")}


def _route(path) -> str:
    return " → ".join(subscripted(str(node)) for node in path.nodes)


def verdict_html(verdict) -> str:
    """The verdict's feedback as HTML with its drawing (the drawing is left out when Graphviz is
    missing: the feedback stays)."""
    present_word, missing_word, legend = _WORDS.get(verdict.lang, _WORDS["en"])
    head, *details = verdict.message.splitlines()
    rows = [f'<li style="color:{PRESENT}">✓ {present_word}: {html.escape(_route(p))}</li>' for p in verdict.present]
    rows += [f'<li style="color:{MISSING}">✗ {missing_word}: {html.escape(_route(p))}</li>' for p in verdict.missing]
    parts = [f"<p><b>{html.escape(head)}</b></p>", f"<ul>{''.join(rows)}</ul>" if rows else "",
             "".join(f"<pre>{html.escape(line)}</pre>" for line in details)]
    colours = {**{p.nodes: PRESENT for p in verdict.present}, **{p.nodes: MISSING for p in verdict.missing}}
    if colours:
        try:
            drawing = draw(verdict.derivation.graph, wrt=verdict.wrt, of=verdict.of, legend_title=legend,
                           path_colours=colours)
            parts.append(svg(drawing))
        except SymbackpropError:
            pass
    return "".join(parts)
