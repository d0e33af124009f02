"""``symbackprop variants MODEL --students roster.csv --seed 7 -o build/variants``: one worksheet per student.

Writes ``<folder>/<NN-student>/worksheet.{html,tex,pdf}`` and its answer key
``worksheet-answers.*`` for each student of the roster, then ``<folder>/variants.csv`` (student →
variant, with what rebuilds it), which ``symbackprop verify --variants`` reads back. With
``--moodle-xml FILE`` the variants are also written as Moodle quiz questions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..check.classroom import read_answers_file
from ..check.moodle import moodle_xml
from ..check.variants import (DEFAULT_ACTIVATIONS, DEFAULT_ASK, DEFAULT_VARY, VARY, make_variants, read_roster,
                              write_variants)
from ..core.atomic import write_atomic
from ..handout.strings import LANGUAGES
from ._common import (add_command, add_model_argument, add_pdf_argument, load_model, note, pdf_wanted,
                      refuse_own_input)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def add_parser(subparsers) -> None:
    parser = add_command(
        subparsers,
        "variants", help="a worksheet and answer key per student, each with its own numbers and parameters",
        description="Give every student of a roster their own exercise on the model: their own example\n"
                    "values, parameters to differentiate by and (with --vary activation) activation.\n"
                    "The same roster and seed give the same variants.",
        examples=[
            "symbackprop variants examples/lecture.sbp --students roster.csv --seed 7 -o build/variants",
            "symbackprop variants examples/lecture.sbp --students roster.csv --vary activation,values,parameters "
            "--lang ru --moodle-xml build/questions.xml -o build/variants",
        ])
    add_model_argument(parser)
    parser.add_argument("--students", metavar="CSV", required=True, help="the roster: a CSV with a column student")
    parser.add_argument("--seed", type=int, default=0, help="the draw (default 0): the same seed, the same variants")
    parser.add_argument("--vary", type=_names, default=list(DEFAULT_VARY), metavar="WHAT",
                        help=f"what differs between students, comma-separated: {', '.join(VARY)} "
                             f"(default {','.join(DEFAULT_VARY)})")
    parser.add_argument("--ask", type=int, default=DEFAULT_ASK, metavar="K",
                        help=f"parameters asked per student when parameters vary (default {DEFAULT_ASK})")
    parser.add_argument("--wrt", action="append", metavar="NAME",
                        help="a parameter that may be asked for (repeatable; default: all)")
    parser.add_argument("--activations", type=_names, default=list(DEFAULT_ACTIVATIONS), metavar="NAMES",
                        help=f"the activations to choose from with --vary activation (default "
                             f"{','.join(DEFAULT_ACTIVATIONS)})")
    parser.add_argument("--lang", choices=LANGUAGES, default="en", help="en (default) or ru")
    add_pdf_argument(parser)
    parser.add_argument("--moodle-xml", metavar="FILE", help="also write the variants as Moodle quiz questions")
    parser.add_argument("-o", "--output", metavar="FOLDER", default="variants",
                        help="the folder for the worksheets and variants.csv (default: variants)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    refuse_own_input([args.moodle_xml], {"the model": args.model, "the roster": args.students})
    graph = load_model(args)
    students = read_roster(read_answers_file(args.students))
    variants = make_variants(graph, students, seed=args.seed, vary=args.vary, ask=args.ask,
                             activations=args.activations, wrt=args.wrt)
    pdf = pdf_wanted(args)

    def progress(variant) -> None:   # a roster's names may hold anything: note() escapes them
        note(f"variant {variant.name}/{len(variants)}: {variant.student}")

    written = write_variants(variants, args.output, lang=args.lang, pdf=pdf, progress=progress)
    note(f"wrote {len(written)} files; the map of students to variants is {written[-1]}")
    if args.moodle_xml:
        write_atomic(args.moodle_xml, moodle_xml(variants, source=Path(args.model).stem, lang=args.lang))
        note(f"wrote {args.moodle_xml}")
    return 0
