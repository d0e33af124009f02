"""``symbackprop draw MODEL -o net.svg``: the network in the lecture's convention, optionally with
the paths from one parameter highlighted, local partials on the arrows, and values at a point.

The output's suffix picks the format: ``.svg``, ``.png``, ``.pdf`` or ``.dot``; without ``-o``
the DOT source goes to standard output.
"""

from __future__ import annotations

import argparse

from ..core.derive import DEFAULT_MAX_PATHS, count_paths
from ..render.diagram import FORMATS, draw, render
from ..core.errors import SymbackpropError
from ..handout.build import legend_title
from ..handout.strings import LANGUAGES
from ._common import (add_command, add_model_argument, load_model, note, refuse_own_input, selected_output,
                      write_output)


def add_parser(subparsers) -> None:
    parser = add_command(
        subparsers,
        "draw", help="a Graphviz drawing of the network, paths highlighted",
        description="Draw the computation graph: states as boxes, weights as labelled arrows, "
                    "other parameters as small nodes, one rank per layer.",
        examples=[
            "symbackprop draw examples/lecture.sbp -o net.svg",
            "symbackprop draw examples/lecture.sbp --wrt w11 -o paths.svg",
            "symbackprop draw examples/lecture.sbp --wrt w11 --lang ru -o paths-ru.svg",
            "symbackprop draw examples/lecture.sbp --wrt p11 --values --edge-labels -o p11.png",
        ])
    add_model_argument(parser)
    parser.add_argument("--wrt", metavar="NAME", help="highlight every path from NAME to the output")
    parser.add_argument("--of", metavar="NODE", help="the output node (default: the model's output)")
    parser.add_argument("--edge-labels", action="store_true", help="label arrows with their local partials")
    parser.add_argument("--values", action="store_true",
                        help="annotate states with forward values and adjoints at the model's example "
                             "values (undefined activations bound as the model says, else tanh)")
    parser.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the legend (default en)")
    parser.add_argument("--max-paths", type=int, default=DEFAULT_MAX_PATHS, metavar="N",
                        help=f"refuse to draw more than N paths of one parameter (default {DEFAULT_MAX_PATHS})")
    parser.add_argument("--summary", type=int, metavar="K",
                        help="collapse layers wider than K states into one box")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write FILE (" + ", ".join(f".{f}" for f in FORMATS) + "); default: DOT to stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    refuse_own_input([args.output], {"the model": args.model})
    graph = load_model(args)
    of = selected_output(graph, args)
    if args.summary is not None and args.summary < 1:
        raise SymbackpropError("--summary takes a positive number of states per layer")
    legend = None
    if args.wrt is not None:
        legend = legend_title(args.lang, args.wrt, count_paths(graph, args.wrt, of))
    dot = draw(graph, wrt=args.wrt, of=of, edge_labels=args.edge_labels,
               values={} if args.values else None, summary=args.summary, legend_title=legend,
               max_paths=args.max_paths)
    if args.output in (None, "-"):
        write_output(dot.source, None)
        return 0
    path = render(dot, args.output)
    note(f"wrote {path}")
    return 0
