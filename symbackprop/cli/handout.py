"""``symbackprop handout MODEL --wrt w11 -o build/handout``: a derivation handout.

Writes ``<stem>.html`` (self-contained: MathML and inline SVG), ``<stem>.tex``, the figures
(``<stem>-<figure>.svg``/``.pdf``) and ``<stem>.pdf`` when a LaTeX engine is installed. With
``--exercises`` the handout is a worksheet and ``<stem>-answers.*`` its answer key.
"""

from __future__ import annotations

import argparse

from ..core.derive import DEFAULT_MAX_PATHS
from ..handout import handout, output_stem
from ..handout.strings import LANGUAGES
from ._common import (add_command, add_model_argument, add_pdf_argument, load_model, note, pdf_wanted,
                      refuse_own_input, selected_output, selected_parameters)


def add_parser(subparsers) -> None:
    parser = add_command(
        subparsers,
        "handout", help="a derivation handout (HTML, LaTeX, PDF) in English or Russian",
        description="Write a handout: the network and its forward pass, every path from each chosen "
                    "parameter, the path sums, the backward pass that shares them, a worked example "
                    "and one step of each optimizer.",
        examples=[
            "symbackprop handout examples/lecture.sbp --wrt w11 --wrt p11 -o build/handout",
            "symbackprop handout examples/lecture.sbp --all --lang ru --exercises -o build/ru",
        ])
    add_model_argument(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--wrt", action="append", metavar="NAME", help="a parameter to derive; repeatable")
    which.add_argument("--all", action="store_true", help="every parameter")
    parser.add_argument("--of", metavar="NODE", help="the output node (default: the model's output)")
    parser.add_argument("--lang", choices=LANGUAGES, default="en", help="en (default) or ru")
    parser.add_argument("--exercises", action="store_true",
                        help="a worksheet with blanks, and its answer key as <stem>-answers.*")
    parser.add_argument("--max-paths", type=int, default=DEFAULT_MAX_PATHS, metavar="N",
                        help=f"refuse to draw more than N paths of one parameter (default {DEFAULT_MAX_PATHS})")
    parser.add_argument("--summary", type=int, metavar="K",
                        help="collapse layers wider than K states in the diagrams (default: automatic)")
    add_pdf_argument(parser)
    parser.add_argument("-o", "--output", metavar="STEM", default="handout",
                        help="a path stem (build/handout → build/handout.html, .tex, .pdf) or a directory")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    stem = output_stem(args.output)
    refuse_own_input([stem.parent / f"{stem.name}{suffix}" for suffix in (".html", ".tex", ".pdf", ".log")],
                     {"the model": args.model})
    graph = load_model(args)
    document = handout(graph, wrt=selected_parameters(graph, args), of=selected_output(graph, args),
                       lang=args.lang, exercises=args.exercises, summary=args.summary, max_paths=args.max_paths)
    pdf = pdf_wanted(args)
    for path in document.save(args.output, pdf=pdf):
        note(f"wrote {path}")
    return 0
