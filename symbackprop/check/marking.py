"""Marks instead of ✓/✗: partial credit for a derivative, path by path.

A question (one parameter's derivative) is worth ``points``. A correct answer gets them all; a
wrong one gets the share of its paths it got right: a present path counts 1, a missing one 0,
and a path with one mistake keeps the ``credit`` of that mistake (a sign error half, ``f`` for
``f'`` half, …; two mistakes on one path multiply). Each term that matches no path takes
``extra_term`` of a path off. An answer that could not be read, or that is not a sum of the
paths' terms at all, gets 0.

A scheme is written in TOML (``--marks marks.toml``); every key is optional::

    points = 2                # per question

    [credit]                  # the share of a path's credit that a path with this mistake keeps
    sign = 0.5                # the term's sign
    derivative = 0.5          # f for f′ (or f′ for f)
    index = 0.5               # p21 for p12
    coefficient = 0.5         # the term multiplied by a number
    symbol = 0.25             # another symbol
    factor = 0.25             # another factor
    missing_factor = 0.25
    extra_factor = 0.25

    [penalty]
    extra_term = 0.5          # paths' worth taken off per term that matches no path

>>> from symbackprop import lecture_network, verify
>>> g = lecture_network()
>>> scheme = MarkScheme()
>>> scheme.mark(verify(g, "w11", "s1*f'(p11*z1+p21*z2)*p11*f'(w11*x1+w21*x2)*x1"))   # 1 of 2 paths
0.5
>>> scheme.mark(verify(g, "p12", "s2*f(p12*z1 + p22*z2)*z1"))                         # f for f'
0.5
>>> MarkScheme.from_toml("points = 2\\n[credit]\\nderivative = 0.25").mark(verify(g, "p12", "s2*f(p12*z1 + p22*z2)*z1"))
0.5
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Sequence

from ..core.errors import SymbackpropError, did_you_mean
from .files import read_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with the tomli backport
    import tomli as tomllib

__all__ = ["MarkScheme", "DEFAULT_CREDIT", "load_scheme", "MAX_SCHEME_BYTES", "StudentMarks", "student_marks"]

MAX_SCHEME_BYTES = 64_000
MAX_POINTS = 1_000
DEFAULT_CREDIT: Mapping[str, float] = MappingProxyType({
    "sign": 0.5, "derivative": 0.5, "index": 0.5, "coefficient": 0.5,
    "symbol": 0.25, "factor": 0.25, "missing_factor": 0.25, "extra_factor": 0.25})


@dataclass(frozen=True)
class MarkScheme:
    """Points per question, the credit a path keeps for each kind of mistake (a kind not listed
    keeps none), and the penalty per extra term, in paths."""

    points: float = 1.0
    credit: Mapping[str, float] = field(default_factory=lambda: DEFAULT_CREDIT)
    extra_term: float = 0.5

    def mark(self, verdict) -> float:
        """The marks for one checked answer (``None``: an answer that could not be checked)."""
        if verdict is None:
            return 0.0
        if verdict.correct:
            return float(self.points)
        paths = verdict.paths
        if not paths:
            return 0.0
        kept = {path: 1.0 for path in verdict.present}
        for wrong in verdict.wrong_factors:
            kept[wrong.path] = kept.get(wrong.path, 1.0) * self.credit.get(wrong.kind, 0.0)
        share = (sum(kept.get(path, 0.0) for path in paths) - self.extra_term * len(verdict.extra)) / len(paths)
        return round(self.points * min(1.0, max(0.0, share)), 4)

    @classmethod
    def from_toml(cls, text: str, source: str = "the marking scheme") -> "MarkScheme":
        """A scheme from TOML text; unknown keys and out-of-range numbers are one-line errors."""
        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise SymbackpropError(f"{source} is not valid TOML: {error}") from None
        _known_keys(table, ("points", "credit", "penalty"), source)
        credit = _section(table, "credit", source)
        penalty = _section(table, "penalty", source)
        _known_keys(credit, tuple(DEFAULT_CREDIT), f"{source} [credit]")
        _known_keys(penalty, ("extra_term",), f"{source} [penalty]")
        points = _number(table.get("points", 1.0), "points", source, low=0.0, high=MAX_POINTS)
        if points == 0:
            raise SymbackpropError(f"{source}: points must be more than 0")
        chosen = {kind: _number(value, f"credit.{kind}", source, 0.0, 1.0) for kind, value in credit.items()}
        return cls(points=points, credit=MappingProxyType({**DEFAULT_CREDIT, **chosen}),
                   extra_term=_number(penalty.get("extra_term", 0.5), "penalty.extra_term", source, 0.0, 1.0))


def load_scheme(path: str | os.PathLike) -> MarkScheme:
    """The marking scheme in the TOML file ``path``."""
    return MarkScheme.from_toml(read_text(path, "a marking scheme", MAX_SCHEME_BYTES), str(path))


def _known_keys(table: Mapping, known: tuple[str, ...], source: str) -> None:
    for key in table:
        if key not in known:
            raise SymbackpropError(f"{source}: unknown key {key!r}{did_you_mean(key, known)}; "
                                   f"known: {', '.join(known)}")


def _section(table: Mapping, name: str, source: str) -> Mapping:
    section = table.get(name, {})
    if not isinstance(section, dict):
        raise SymbackpropError(f"{source}: {name} must be a table ([{name}])")
    return section


def _number(value, name: str, source: str, low: float, high: float) -> float:
    # TOML's true/false arrive as bool, a subclass of int: not a number of marks.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SymbackpropError(f"{source}: {name} must be a number, not {value!r}")
    if not low <= value <= high:
        raise SymbackpropError(f"{source}: {name} = {value} is outside {low:g} … {high:g}")
    return float(value)


# -- a class's marks ------------------------------------------------------------------------------

@dataclass(frozen=True)
class StudentMarks:
    """One student's marks: ``marks`` per question (parameter; 0 for a question asked and not
    answered), out of ``out_of``."""

    student: str
    variant: str
    marks: Mapping[str, float]
    out_of: float

    @property
    def total(self) -> float:
        return round(sum(self.marks.values()), 4)


def student_marks(rows: Sequence, scheme: MarkScheme, questions: Sequence[str],
                  asked: Mapping[str, tuple[str, tuple[str, ...]]] = MappingProxyType({})) -> list[StudentMarks]:
    """Each student's marks from the checked ``rows`` of a class (``AnswerRow``s: ``student``,
    ``parameter``, ``verdict``); a student's last answer to a question counts, and only answers
    to ``questions`` (the model's parameters) are questions. ``asked`` maps a student to
    ``(variant, parameters asked)``: those students are all listed, in its order, and their
    unanswered questions count 0; the others are marked on what they answered."""
    answered: dict[str, dict[str, float]] = {}
    for row in rows:
        if row.student and row.parameter in questions:
            answered.setdefault(row.student, {})[row.parameter] = scheme.mark(row.verdict)
    result = []
    for student, (variant, asked_questions) in asked.items():
        given = answered.pop(student, {})
        marks = {q: given.get(q, 0.0) for q in asked_questions}
        result.append(StudentMarks(student, variant, marks, scheme.points * len(asked_questions)))
    for student, marks in answered.items():
        result.append(StudentMarks(student, "", marks, scheme.points * len(marks)))
    return result
