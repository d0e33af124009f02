"""``symbackprop paths MODEL --wrt w11``: the paths from a parameter to the output, and their count.

The count comes from dynamic programming over the graph, so ``--count`` answers even when there
are far too many paths to list.
"""

from __future__ import annotations

import argparse
import json

from ..core.derive import DEFAULT_MAX_PATHS, count_paths, paths
from ._common import (add_command, add_model_argument, add_output_argument,
                      add_selection_arguments, bold, load_model, refuse_own_input, selected_output,
                      selected_parameters, use_colour, write_output)


def add_parser(subparsers) -> None:
    parser = add_command(
        subparsers, "paths", help="the paths from a parameter to the output, and how many there are",
        description="List every path from a parameter to the output (the terms of the path sum).",
        examples=["symbackprop paths examples/lecture.sbp --wrt w11",
                  "symbackprop paths examples/lecture.sbp --all --count"])
    add_model_argument(parser)
    add_selection_arguments(parser)
    parser.add_argument("--count", action="store_true", help="only count the paths (never lists them)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    parser.add_argument("--max-paths", type=int, default=DEFAULT_MAX_PATHS, metavar="N",
                        help=f"refuse to list more than N paths (default {DEFAULT_MAX_PATHS})")
    add_output_argument(parser)
    parser.set_defaults(run=run)


def _plural(count: int) -> str:
    return f"{count} path" + ("" if count == 1 else "s")


def run(args: argparse.Namespace) -> int:
    refuse_own_input([args.output], {"the model": args.model})
    graph = load_model(args)
    of = selected_output(graph, args)
    colour = args.output is None and args.format == "text" and use_colour()
    found = []
    for wrt in selected_parameters(graph, args):
        count = count_paths(graph, wrt, of)
        listed = None if args.count else paths(graph, wrt, of, max_paths=args.max_paths)
        found.append((wrt, count, listed))
    if args.format == "json":
        output = json.dumps({"model": args.model, "of": str(of), "paths": [
            {"wrt": str(wrt), "count": count,
             **({} if listed is None else {"paths": [[str(n) for n in p.nodes] for p in listed]})}
            for wrt, count, listed in found]}, ensure_ascii=False, indent=2)
    else:
        blocks = []
        for wrt, count, listed in found:
            lines = [bold(f"{wrt} → {of}", colour) + f": {_plural(count)}"]
            lines += ["  " + " → ".join(map(str, p.nodes)) for p in listed or ()]
            blocks.append("\n".join(lines))
        output = "\n".join(blocks) if args.count else "\n\n".join(blocks)
    write_output(output, args.output)
    return 0
