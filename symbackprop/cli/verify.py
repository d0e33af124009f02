"""``symbackprop verify MODEL --wrt w11 --answer "…"``: check a hand-computed derivative.

One answer (``--answer`` in plain math, ``--answer-latex`` in LaTeX, ``-`` to read it from
standard input) prints how it was read, then the verdict and feedback; ``--answers class.csv``
checks a whole class and writes a report (``-o report.html``, ``-o report.csv``, ``-o
report.json``; repeatable) with marks (``--marks marks.toml``, a gradebook CSV with
``--gradebook``). ``--variants variants.csv`` (from ``symbackprop variants``) checks each answer
against its student's own variant (``--variant N`` for one answer).

Exit codes: 0 the answer is correct (or the class report was written), 3 the answer is
incorrect (a result, not an error; also an answer right only for the bound activation), 4 it
could not be checked (the derivative is undefined almost everywhere), 1 a user error
(unreadable model, an answer that does not parse, an unknown parameter), 2 usage.

An answer may begin with a minus: ``--answer "-m1"`` is the answer −m1, not an option.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from ..check.classroom import check_class, read_answers_file, write_report
from ..check.marking import load_scheme
from ..check.reading import read_as
from ..check.variants import read_variants
from ..check.verify import MAX_ANSWER_LENGTH, MAX_LATEX_LENGTH, verify
from ..core.errors import SymbackpropError
from ._common import (add_command, add_model_argument, load_model, note, refuse_own_input, selected_output,
                      write_output)

INCORRECT = 3
UNCHECKED = 4
# argparse takes any word that begins with '-' for an option unless it looks like a negative
# number; for this command, whatever is not one of its options is a value (an answer "-m1").
_NOT_AN_OPTION = re.compile(r"^-(?!-)")


def add_parser(subparsers) -> None:
    parser = add_command(
        subparsers,
        "verify", help="check a hand-computed derivative (one answer, or a class CSV)",
        description="Check a hand-computed derivative path by path: which paths are present or\n"
                    "missing, which factor is wrong, and a point where the answer is off.\n"
                    "Exit code: 0 correct (or a class report written), 3 incorrect, 4 could not be\n"
                    "checked, 1 error, 2 usage.",
        examples=[
            'symbackprop verify examples/lecture.sbp --wrt w11 --answer "s1*f\'(p11*z1+p21*z2)*p11*f\'(w11*x1+w21*x2)*x1"',
            'symbackprop verify examples/lecture.sbp --wrt p11 --answer-latex "\\frac{\\partial a}{\\partial m_1} f\'(p_{11} z_1 + p_{21} z_2) z_1"',
            'symbackprop verify examples/lecture.sbp --wrt s1 --answer "-m1"',
            "symbackprop verify examples/lecture.sbp --answers examples/class.csv -o report.html",
            "symbackprop verify examples/lecture.sbp --answers answers.csv --variants build/variants/variants.csv "
            "--marks marks.toml --gradebook grades.csv -o report.html",
        ])
    add_model_argument(parser)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--answer", metavar="TEXT", help="the answer in plain math ('-': read standard input)")
    what.add_argument("--answer-latex", metavar="TEXT", help="the answer in LaTeX ('-': read standard input)")
    what.add_argument("--answers", metavar="CSV",
                      help="a class: CSV with columns student, parameter, answer[, format]")
    parser.add_argument("--wrt", metavar="NAME", help="the parameter the answer differentiates by (one answer)")
    parser.add_argument("--of", metavar="NODE", help="the node differentiated (default: the model's output)")
    parser.add_argument("--variants", metavar="CSV",
                        help="variants.csv from symbackprop variants: check each answer against its student's variant")
    parser.add_argument("--variant", metavar="N", help="one answer: the variant (of --variants) it belongs to")
    parser.add_argument("--marks", metavar="TOML", help="a class: the marking scheme (default: 1 point per "
                        "question, partial credit per path)")
    parser.add_argument("--gradebook", metavar="CSV",
                        help="a class: write one line per student (student, variant, mark, out_of) for an LMS gradebook")
    parser.add_argument("--lang", choices=("en", "ru"), default="en", help="feedback language (default en)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text (default) or json, on standard output or in -o FILE")
    parser.add_argument("-o", "--output", metavar="FILE", action="append",
                        help="write there (atomically); a class report is .html, .csv, .json or .txt "
                             "by extension; repeatable")
    parser._negative_number_matcher = _NOT_AN_OPTION
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    if args.answers is not None and args.wrt:
        args.parser.error("--wrt is for one answer; a class CSV names the parameter in each row")
    if args.answers is None and not args.wrt:
        args.parser.error("one answer needs --wrt NAME (the parameter it differentiates by)")
    if args.answers is None and args.output and len(args.output) > 1:
        args.parser.error("one answer is written to one file: give -o once")
    if args.answers is None and (args.marks or args.gradebook):
        args.parser.error("--marks and --gradebook are for a class (--answers CSV)")
    if (args.variant is not None) != (args.variants is not None and args.answers is None):
        args.parser.error("one answer of a variant needs --variants CSV and --variant N")
    refuse_own_input([*(args.output or []), args.gradebook],
                     {"the model": args.model, "the class CSV": args.answers, "the variants file": args.variants,
                      "the marking scheme": args.marks})
    graph = load_model(args)
    of = selected_output(graph, args)
    variants = read_variants(read_answers_file(args.variants), graph, args.variants) if args.variants else ()
    if args.answers is not None:
        return _check_class(args, graph, of, variants)
    if variants:
        graph = _variant(variants, args.variant).graph
    return _check_one(args, graph, of)


def _variant(variants, name: str):
    """The variant called ``name``; an unknown one is an error that lists them."""
    for variant in variants:
        if variant.name == name:
            return variant
    raise SymbackpropError(f"no variant {name!r}; the variants file has {', '.join(v.name for v in variants)}")


def _check_class(args: argparse.Namespace, graph, of, variants) -> int:
    """Every row of the CSV; the report goes to each ``-o`` file, else to standard output."""
    scheme = load_scheme(args.marks) if args.marks else None
    report = check_class(graph, read_answers_file(args.answers), of=of, lang=args.lang, source=args.model,
                         variants=variants, scheme=scheme)
    for path in args.output or ():
        write_report(report, path)
        note(f"wrote {path}")
    if args.gradebook:
        write_output(report.to_gradebook(), args.gradebook)
    if not args.output:
        write_output(report.to_json() if args.format == "json" else report.to_text(), None)
    return 0


def _check_one(args: argparse.Namespace, graph, of) -> int:
    latex = args.answer_latex is not None
    answer = args.answer_latex if latex else args.answer
    if answer == "-":
        answer = sys.stdin.read((MAX_LATEX_LENGTH if latex else MAX_ANSWER_LENGTH) + 1).strip()
    verdict = verify(graph, args.wrt, answer, of=of, lang=args.lang, format="latex" if latex else "plain")
    output = (json.dumps(verdict.as_dict(), ensure_ascii=False, indent=2) if args.format == "json"
              else read_as(verdict.answer, args.lang) + "\n" + verdict.message)
    write_output(output, args.output[0] if args.output else None)
    return 0 if verdict.correct else UNCHECKED if verdict.status == "unchecked" else INCORRECT
