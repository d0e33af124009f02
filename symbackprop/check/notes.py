"""Answer notes: each finding of a ``Verdict`` as a short, stable code that a class report groups by.

Where feedback (``feedback.py``) is for the student, in their language, a note is for counting:
the same mistake gives the same note whoever made it and in whatever language the report is.

- ``missing_path:w11→z1→m2→a``: a path of the path sum is missing;
- ``sign``: a path's term has the wrong sign; ``coefficient:2``: it is multiplied by a number;
- ``wrong_factor:f_for_f'``: ``f`` where ``f'`` belongs (functions by name), and
  ``wrong_factor:p21_for_p12``: another symbol or factor where one belongs;
- ``missing_factor:x1``, ``extra_factor:x1``: a factor dropped from, or added to, a path's term;
- ``extra_term:s1·m2``: a term that matches no path;
- ``bound_activation:f=tanh``: right only for the activation the model binds ``f`` to;
- ``not_path_sum``: wrong, with no finding (not a sum of the paths' terms).

Expressions are written as ``text`` prints them, without spaces. A correct answer, and one that
could not be checked, has no note.

>>> from symbackprop import lecture_network, verify
>>> g = lecture_network()
>>> answer_notes(verify(g, "w11", "s1*f'(p11*z1+p21*z2)*p11*f'(w11*x1+w21*x2)*x1"))
('missing_path:w11→z1→m2→a',)
>>> answer_notes(verify(g, "p12", "s2*f(p12*z1 + p22*z2)*z1"))
("wrong_factor:f_for_f'",)
>>> answer_notes(verify(g, "s1", "m1"))
()
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef

from ..render.printing import text

__all__ = ["answer_notes", "note_kind", "NOT_PATH_SUM"]

NOT_PATH_SUM = "not_path_sum"
# Wrong-factor kinds whose note names the piece found and the piece expected.
_INSTEAD = ("derivative", "index", "symbol", "factor")


def _compact(expr) -> str:
    """``expr`` as text, without spaces: ``f'(p12·z1+p22·z2)``."""
    return text(expr).replace(" ", "")


def _wrong_factor_note(wrong) -> str:
    kind = wrong.kind
    if kind == "sign":
        return "sign"
    if kind == "coefficient":
        return f"coefficient:{_compact(wrong.found)}"
    if kind == "missing_factor":
        return f"missing_factor:{_compact(wrong.expected)}"
    if kind == "extra_factor":
        return f"extra_factor:{_compact(wrong.found)}"
    if kind == "derivative" and isinstance(wrong.found, AppliedUndef) and isinstance(wrong.expected, AppliedUndef):
        # f(u) for f'(u): the functions by name, whatever their argument
        return f"wrong_factor:{wrong.found.func.__name__}_for_{wrong.expected.func.__name__}"
    if kind in _INSTEAD:
        return f"wrong_factor:{_compact(wrong.found)}_for_{_compact(wrong.expected)}"
    # A kind this module does not know yet still gets a stable note of its own.
    shown = [_compact(e) for e in (wrong.found, wrong.expected) if isinstance(e, sp.Basic)]
    return f"{kind}:{'_for_'.join(shown)}" if shown else kind


def answer_notes(verdict) -> tuple[str, ...]:
    """The notes of a verdict, in the order of its findings; ``()`` when it is correct (or
    could not be checked)."""
    if verdict.correct or verdict.status == "unchecked":
        return ()
    notes = []
    if verdict.bound:
        notes.append("bound_activation:" + ",".join(f"{f}={chosen}" for f, chosen in verdict.bound.items()))
    notes += [f"missing_path:{path}" for path in verdict.missing]
    notes += [_wrong_factor_note(wrong) for wrong in verdict.wrong_factors]
    notes += [f"extra_term:{_compact(term)}" for term in verdict.extra]
    return tuple(dict.fromkeys(notes)) or (NOT_PATH_SUM,)


def note_kind(note: str) -> str:
    """The part of a note before its details: ``missing_path:w11→z1→m2→a`` → ``missing_path``."""
    return note.partition(":")[0]
