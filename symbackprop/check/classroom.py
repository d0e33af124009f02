"""Class mode: a CSV of students' answers checked one by one, reported per student and per mistake.

The CSV has a header with the columns ``student``, ``parameter``, ``answer`` and optionally
``format`` (``plain`` or ``latex``; Russian headers ``студент``, ``параметр``, ``ответ``,
``формат`` work too). Each row is checked with ``verify``; a row that cannot be read or
checked (a missing field, an unknown parameter, an answer that does not parse) becomes a row
with its error, and the run goes on. The report is HTML (per student, per common mistake, and
the rows that could not be checked), CSV or JSON.

>>> from symbackprop import lecture_network
>>> report = check_class(lecture_network(), "student,parameter,answer\\n"
...                      "Ann,s1,m1\\n"
...                      "Bob,s1,m2\\n"
...                      "Cid,s9,m1\\n")
>>> [row.status for row in report.rows]
['correct', 'incorrect', 'error']
>>> report.common_mistakes()[0][:2]
('s1', 'm2 instead of m1')
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..core.atomic import write_atomic
from ..core.errors import SymbackpropError
from .feedback import by_language
from .files import read_text
from ..core.graph import Graph
from ..render.mathml import mathml
from .marking import MarkScheme, StudentMarks, student_marks
from .reading import READ_AS
from .variants import Variant
from .verify import Verdict, verify

__all__ = ["AnswerRow", "ClassReport", "check_class", "read_answers_file", "write_report",
           "MAX_CSV_BYTES", "MAX_ROWS"]

MAX_CSV_BYTES = 5_000_000
MAX_ROWS = 5_000
_COLUMNS = {"student": "student", "студент": "student", "parameter": "parameter",
            "параметр": "parameter", "answer": "answer", "ответ": "answer", "format": "format",
            "формат": "format", "variant": "variant", "вариант": "variant"}
_REQUIRED = ("student", "parameter", "answer")


@dataclass(frozen=True)
class AnswerRow:
    """One row of the class CSV (``line`` is its line in the file) and what came of it."""

    line: int
    student: str
    parameter: str
    answer: str
    format: str = "plain"
    verdict: Verdict | None = None
    error: str | None = None
    variant: str = ""

    @property
    def status(self) -> str:
        """``correct``, ``incorrect`` or ``error`` (the row could not be checked)."""
        if self.verdict is None or self.verdict.status == "unchecked":
            return "error"
        return "correct" if self.verdict.correct else "incorrect"

    def as_dict(self) -> dict:
        record = {"line": self.line, "student": self.student, "variant": self.variant,
                  "parameter": self.parameter, "format": self.format, "answer": self.answer,
                  "status": self.status}
        if self.verdict is not None:
            record.update(self.verdict.as_dict())
        else:
            record["error"] = self.error
        return record


@dataclass(frozen=True)
class ClassReport:
    """Every row checked, for one model (``source`` names it) and output ``of``, marked under
    ``scheme``; ``questions`` are the model's parameters (an answer about another name is no
    question), ``variants`` the students' variants, if they had them."""

    source: str
    rows: tuple[AnswerRow, ...]
    lang: str = "en"
    notes: tuple[str, ...] = field(default=())
    scheme: MarkScheme = field(default_factory=MarkScheme)
    variants: tuple[Variant, ...] = ()
    questions: tuple[str, ...] = ()

    def students(self) -> dict[str, list[AnswerRow]]:
        """Rows by student, in the order students first appear."""
        found: dict[str, list[AnswerRow]] = {}
        for row in self.rows:
            found.setdefault(row.student or "?", []).append(row)
        return found

    def common_mistakes(self) -> list[tuple[str, str, list[str]]]:
        """``(parameter, mistake, students)``, the most frequent first."""
        return _grouped(self.rows, lambda verdict: verdict.mistakes(self.lang))

    def note_counts(self) -> list[tuple[str, str, list[str]]]:
        """``(parameter, answer note, students)``, the most frequent first (notes do not depend
        on the report's language)."""
        return _grouped(self.rows, lambda verdict: verdict.notes)

    def mark(self, row: AnswerRow) -> float:
        """The marks ``row``'s answer earns under the report's scheme (0 if it was not checked)."""
        return self.scheme.mark(row.verdict)

    def marks(self) -> list[StudentMarks]:
        """Each student's marks; with variants, every student of the variants file, each marked
        out of the questions of their variant."""
        asked = {v.student: (v.name, tuple(map(str, v.parameters))) for v in self.variants}
        return student_marks(self.rows, self.scheme, self.questions, asked)

    def mean_mark(self, parameter: str) -> float | None:
        """The mean mark of the answers to ``parameter`` (``None`` if there are none)."""
        marks = [self.mark(row) for row in self.rows if row.parameter == parameter]
        return round(sum(marks) / len(marks), 4) if marks else None

    def counts(self, parameter: str | None = None) -> dict[str, int]:
        """How many answers (for one ``parameter``, or all) are correct, incorrect, not checked."""
        statuses = [row.status for row in self.rows if parameter in (None, row.parameter)]
        return {s: statuses.count(s) for s in ("correct", "incorrect", "error")}

    def parameters(self) -> list[str]:
        """The parameters asked about, in order of first appearance."""
        return list(dict.fromkeys(row.parameter for row in self.rows if row.parameter))

    # -- renderings -----------------------------------------------------------------------------

    def to_text(self) -> str:
        """A terminal summary: counts, common mistakes, rows that could not be checked."""
        say = _WORDS[self.lang]
        counts = self.counts()
        lines = [say["summary"].format(answers=len(self.rows), students=len(self.students()), **counts)]
        marks = self.marks()
        total, out_of = sum(m.total for m in marks), sum(m.out_of for m in marks)
        if out_of:
            lines.append(say["marks_summary"].format(total=total, out_of=out_of, percent=100 * total / out_of))
        mistakes = self.common_mistakes()
        if mistakes:
            lines.append(say["common"] + ":")
            lines += [f"  {len(students):3d} × {parameter}: {mistake}" for parameter, mistake, students in mistakes]
        errors = [row for row in self.rows if row.error]
        if errors:
            lines.append(say["errors"] + ":")
            lines += [f"  {say['line']} {row.line}: {row.error.split(chr(10))[0]}" for row in errors]
        lines += list(self.notes)
        return "\n".join(lines)

    def to_json(self) -> str:
        scheme = self.scheme
        return json.dumps({
            "model": self.source, "lang": self.lang, "counts": self.counts(),
            "by_parameter": {p: {**self.counts(p), "mean_mark": self.mean_mark(p)} for p in self.parameters()},
            "common_mistakes": [{"parameter": p, "mistake": m, "count": len(s), "students": s}
                                for p, m, s in self.common_mistakes()],
            "by_note": [{"parameter": p, "note": n, "count": len(s), "students": s}
                        for p, n, s in self.note_counts()],
            "marks": {"scheme": {"points": scheme.points, "credit": dict(scheme.credit),
                                 "extra_term": scheme.extra_term},
                      "students": [{"student": m.student, "variant": m.variant, "marks": dict(m.marks),
                                    "total": m.total, "out_of": m.out_of} for m in self.marks()]},
            "rows": [{**row.as_dict(), "mark": self.mark(row)} for row in self.rows],
            "notes": list(self.notes)},
            ensure_ascii=False, indent=2)

    def to_csv(self) -> str:
        """One line per answer; cells a spreadsheet would run as a formula are quoted with '."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["line", "student", "variant", "parameter", "format", "answer", "status", "mark",
                         "mistakes", "notes", "message"])
        for row in self.rows:
            feedback = row.verdict.message if row.verdict is not None else row.error
            mistakes = "; ".join(row.verdict.mistakes(self.lang)) if row.verdict is not None else ""
            notes = " ".join(row.verdict.notes) if row.verdict is not None else ""
            writer.writerow([row.line] + [_inert(cell) for cell in (
                row.student, row.variant, row.parameter, row.format, row.answer, row.status)]
                + [f"{self.mark(row):g}"] + [_inert(cell) for cell in (mistakes, notes, feedback)])
        return out.getvalue()

    def to_gradebook(self) -> str:
        """One line per student (``student, variant, mark, out_of``), a CSV that Moodle's gradebook
        imports: map ``student`` to the user field it holds and ``mark`` to a grade item."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["student", "variant", "mark", "out_of"])
        for m in self.marks():
            writer.writerow([_inert(m.student), m.variant, f"{m.total:g}", f"{m.out_of:g}"])
        return out.getvalue()

    def to_html(self) -> str:
        return _html(self)


def _grouped(rows, findings) -> list[tuple[str, str, list[str]]]:
    """``(parameter, finding, students)`` for each of ``findings(verdict)`` over the checked rows,
    the most frequent first."""
    found: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        if row.verdict is not None:
            for finding in dict.fromkeys(findings(row.verdict)):
                found.setdefault((row.parameter, finding), []).append(row.student)
    ranked = sorted(found.items(), key=lambda item: (-len(item[1]), item[0]))
    return [(parameter, finding, students) for (parameter, finding), students in ranked]


def _inert(cell: str) -> str:
    """A CSV cell that no spreadsheet evaluates (OWASP's advice for formula injection)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


# -- reading and checking -------------------------------------------------------------------------

def read_answers_file(path: str | os.PathLike) -> str:
    """The text of a class CSV, refused (one-line error) if missing, huge or not UTF-8."""
    return read_text(path, "a class CSV", MAX_CSV_BYTES)


def _records(text: str) -> Iterator[tuple[int, list[str] | csv.Error, str]]:
    """``(line, cells, first line of text)`` for each record of the CSV text, read as one stream
    by the csv module: a quoted cell may hold line breaks (and U+2028, form feeds, … are just
    characters of a cell). A record the csv module cannot read comes as ``(line, error, …)``,
    and reading goes on from the line after its first."""
    lines = io.StringIO(text, newline="").readlines()   # breaks at \n, \r and \r\n only
    start = 0
    while start < len(lines):
        reader = csv.reader((lines[i] for i in range(start, len(lines))), strict=True)
        first = start
        try:
            for cells in reader:
                yield first + 1, cells, lines[first]
                first = start + reader.line_num
            return
        except csv.Error as error:
            yield first + 1, error, lines[first]
            start = first + 1


def check_class(graph: Graph, answers: str, of=None, lang: str = "en", source: str = "",
                variants: Sequence[Variant] = (), scheme: MarkScheme | None = None) -> ClassReport:
    """Check every row of the CSV text ``answers`` against ``graph``; never stops at a bad row.

    With ``variants`` (``check.variants``), each row is checked against its student's own
    variant: the one its ``variant`` cell names, else the student's. ``scheme`` marks the
    answers (default: ``MarkScheme()``)."""
    records = (r for r in _records(answers) if not (isinstance(r[1], list) and not "".join(r[1]).strip()))
    header = next(records, None)
    if header is None or header[0] != 1:
        raise SymbackpropError("the class CSV is empty; its first line names the columns "
                               "student, parameter, answer[, format]")
    columns = _header(header[1])
    if "variant" in columns and not variants:
        raise SymbackpropError("the class CSV has a variant column: give the variants it refers to "
                               "(--variants variants.csv, written by symbackprop variants)")
    check = _checker(graph, variants, of, lang)
    rows, notes = [], []
    for number, cells, line in records:
        if len(rows) == MAX_ROWS:
            notes.append(_WORDS[lang]["too_many"].format(limit=MAX_ROWS, line=number))
            break
        rows.append(_check_row(check, columns, number, cells, line))
    return ClassReport(source, tuple(rows), lang, tuple(notes), scheme or MarkScheme(), tuple(variants),
                       tuple(p.name for p in graph.parameters))


def _header(names: list[str] | csv.Error) -> dict[str, int]:
    if isinstance(names, csv.Error):
        raise SymbackpropError(f"the class CSV's header cannot be read: {names}")
    columns = {}
    for index, name in enumerate(names):
        key = _COLUMNS.get(name.strip().lower())
        if key is not None:
            columns.setdefault(key, index)
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        shown = ", ".join(repr(name[:40]) for name in names[:10])
        raise SymbackpropError(f"the class CSV has no column {', '.join(missing)}; its header is "
                               f"{shown} (expected student, parameter, answer[, format])")
    return columns


def _check_row(check: Callable[[AnswerRow], AnswerRow], columns: dict[str, int], number: int,
               cells: list[str] | csv.Error, line: str) -> AnswerRow:
    if isinstance(cells, csv.Error):
        return AnswerRow(number, "", "", line[:200], error=f"the row cannot be read as CSV: {cells}")
    get = {key: (cells[index].strip() if index < len(cells) else None) for key, index in columns.items()}
    row = AnswerRow(number, get["student"] or "", get["parameter"] or "", get["answer"] or "",
                    (get.get("format") or "plain").lower(), variant=get.get("variant") or "")
    empty = [key for key in _REQUIRED if not get[key]]
    if empty:
        return replace(row, error=f"no {', '.join(empty)} in this row")
    return check(row)


def _checker(graph: Graph, variants: Sequence[Variant], of, lang: str) -> Callable[[AnswerRow], AnswerRow]:
    """``check(row)``: the row with its verdict, or its error; against the row's variant when
    there are variants."""
    by_name = {v.name: v for v in variants}
    by_student = {v.student: v for v in variants}

    def check(row: AnswerRow) -> AnswerRow:
        target = graph
        if variants:
            variant = by_name.get(row.variant) if row.variant else by_student.get(row.student)
            if variant is None:
                return replace(row, error=f"no variant {row.variant!r} in the variants file" if row.variant
                               else f"{row.student!r} has no variant in the variants file")
            asked = [str(p) for p in variant.parameters]
            if row.parameter not in asked:
                return replace(row, variant=variant.name,
                               error=f"variant {variant.name} asks for {', '.join(asked)}, not {row.parameter}")
            row, target = replace(row, variant=variant.name), variant.graph
        try:
            verdict = verify(target, row.parameter, row.answer, of=of, lang=lang, format=row.format)
        except SymbackpropError as error:
            return replace(row, error=str(error))
        return replace(row, verdict=verdict)

    return check


def write_report(report: ClassReport, path: str | os.PathLike) -> Path:
    """Write ``report`` atomically as HTML, CSV or JSON, chosen by the file's extension."""
    renderings = {".html": report.to_html, ".htm": report.to_html, ".csv": report.to_csv,
                  ".json": report.to_json, ".txt": report.to_text}
    suffix = Path(path).suffix.lower()
    if suffix not in renderings:
        raise SymbackpropError(f"{path}: a report is .html, .csv, .json or .txt, not {suffix or 'no extension'}")
    return write_atomic(path, renderings[suffix]())


# -- HTML -----------------------------------------------------------------------------------------

# Each phrase in English and Russian.
_PHRASES = {
    "title": ("Derivatives checked", "Проверка производных"),
    "summary": ("{answers} answers from {students} students: {correct} correct, {incorrect} incorrect, "
                "{error} not checked",
                "ответов: {answers}, студентов: {students}; верно: {correct}, неверно: {incorrect}, "
                "не проверено: {error}"),
    "common": ("Common mistakes", "Частые ошибки"),
    "by_parameter": ("By parameter", "По параметрам"),
    "unchecked": ("not checked", "не проверено"),
    "derivative": ("the derivative", "производная"),
    "students": ("Students", "Студенты"),
    "errors": ("Rows that could not be checked", "Строки, которые не удалось проверить"),
    "line": ("line", "строка"),
    "parameter": ("parameter", "параметр"),
    "answer": ("answer", "ответ"),
    "verdict": ("verdict", "вердикт"),
    "count": ("count", "сколько"),
    "who": ("students", "студенты"),
    "mistake": ("mistake", "ошибка"),
    "problem": ("problem", "проблема"),
    "too_many": ("only the first {limit} answers were checked (line {line} and later were not)",
                 "проверены только первые {limit} ответов (со строки {line} не проверялось)"),
    "marks_summary": ("marks: {total:g} of {out_of:g} in all ({percent:.0f}%)",
                      "баллы: {total:g} из {out_of:g} ({percent:.0f}%)"),
    "marks": ("Marks", "Баллы"),
    "mark": ("mark", "балл"),
    "mean_mark": ("mean mark", "средний балл"),
    "variant": ("variant", "вариант"),
    "total": ("total", "итого"),
    "by_note": ("Answer notes", "Пометки к ответам"),
    "note": ("note", "пометка"),
}
_WORDS = {lang: {**words, **READ_AS[lang]} for lang, words in by_language(_PHRASES).items()}

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}
pre{margin:0;white-space:pre-wrap}code{font-size:.95em;white-space:pre-wrap}.correct{color:#080}.incorrect{color:#b00}.error{color:#a60}"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    """An HTML table; cells are already escaped HTML."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _html(report: ClassReport) -> str:
    say, e = _WORDS[report.lang], html.escape
    counts = report.counts()
    parts = [f"<!DOCTYPE html><html lang=\"{report.lang}\"><head><meta charset=\"utf-8\">"
             f"<title>{e(say['title'])}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{e(say['title'])}: {e(report.source)}</h1>",
             f"<p>{e(say['summary'].format(answers=len(report.rows), students=len(report.students()), **counts))}</p>"]
    parts += [f"<p>{e(note)}</p>" for note in report.notes]
    parts.append(f"<h2>{e(say['by_parameter'])}</h2>")
    # With variants, a parameter's derivative differs from variant to variant: none is shown.
    derivations = {} if report.variants else {
        row.parameter: row.verdict for row in report.rows if row.verdict is not None}
    parts.append(_table([e(say["parameter"]), "✓", "✗", e(say["unchecked"]), e(say["mean_mark"]),
                         e(say["derivative"])],
                        [[e(p), *map(str, report.counts(p).values()), f"{report.mean_mark(p):g}",
                          f"<code>{e(derivations[p].expected_text()) if p in derivations else ''}</code>"]
                         for p in report.parameters()]))
    parts.append(f"<h2>{e(say['marks'])}</h2>")
    parts.append(_table([e(say["who"]), e(say["variant"]), e(say["marks"]), e(say["total"])],
                        [[e(m.student), e(m.variant), e(", ".join(f"{q}: {mark:g}" for q, mark in m.marks.items())),
                          f"{m.total:g} / {m.out_of:g}"] for m in report.marks()]))
    mistakes = report.common_mistakes()
    if mistakes:
        parts.append(f"<h2>{e(say['common'])}</h2>")
        parts.append(_table([e(say["parameter"]), e(say["mistake"]), e(say["count"]), e(say["who"])],
                            [[e(p), e(m), str(len(s)), e(", ".join(s))] for p, m, s in mistakes]))
        parts.append(f"<h2>{e(say['by_note'])}</h2>")
        parts.append(_table([e(say["parameter"]), e(say["note"]), e(say["count"]), e(say["who"])],
                            [[e(p), f"<code>{e(n)}</code>", str(len(s)), e(", ".join(s))]
                             for p, n, s in report.note_counts()]))
    parts.append(f"<h2>{e(say['students'])}</h2>")
    for student, rows in report.students().items():
        parts.append(f"<h3>{e(student)}</h3>")
        parts.append(_table(
            [e(say["parameter"]), e(say["answer"]), e(say["read_as"]), e(say["mark"]), e(say["verdict"])],
            [[e(r.parameter), f"<code>{e(r.answer)}</code>", mathml(r.verdict.answer) if r.verdict else "",
              f"{report.mark(r):g}",
              f"<pre class=\"{r.status}\">{e(r.verdict.message if r.verdict else r.error or '')}</pre>"]
             for r in rows]))
    errors = [row for row in report.rows if row.error]
    if errors:
        parts.append(f"<h2>{e(say['errors'])}</h2>")
        parts.append(_table([e(say["line"]), e(say["who"]), e(say["answer"]), e(say["problem"])],
                            [[str(r.line), e(r.student), f"<code>{e(r.answer)}</code>",
                              f"<pre class=\"error\">{e(r.error)}</pre>"] for r in errors]))
    parts.append("</body></html>")
    return "\n".join(parts)
