"""``symbackprop derive MODEL --wrt w11``: the derivative as paths, Leibniz form and closed form.

``--format text`` (default) prints what the lecture writes on the board, ``latex`` an ``align*``
block per parameter, ``json`` everything in machine-readable form (paths, Leibniz products,
path terms, closed and expanded forms, each as text and LaTeX). The expanded form (over leaves
only) grows exponentially with depth, so JSON has it when it is small (at most
``EXPANDED_SIZE`` operations) or when ``--expanded`` asks for it.
"""

from __future__ import annotations

import argparse
import json

import sympy as sp

from ..core.derive import DEFAULT_MAX_PATHS, Derivation, derive
from ..core.graph import Graph
from ..render.printing import latex, text
from ._common import (add_command, add_model_argument, add_output_argument,
                      add_selection_arguments, bold, load_model, refuse_own_input, selected_output,
                      selected_parameters, use_colour, write_output)


def add_parser(subparsers) -> None:
    parser = add_command(
        subparsers, "derive", help="derivatives as path sums, in Leibniz and closed form",
        description="Derive ∂output/∂parameter by the lecture's path sums: every path from the "
                    "parameter to the output, the product of local partials along each, summed.",
        examples=["symbackprop derive examples/lecture.sbp --wrt w11",
                  "symbackprop derive examples/lecture.sbp --wrt w11 --latex",
                  "symbackprop derive examples/lecture.sbp --all --format json -o grads.json",
                  "symbackprop derive examples/lecture_loss.sbp --wrt w11 --of L"])
    add_model_argument(parser)
    add_selection_arguments(parser)
    parser.add_argument("--format", choices=("text", "latex", "json"), default="text",
                        help="text (default), latex or json")
    parser.add_argument("--latex", dest="format", action="store_const", const="latex",
                        help="the same as --format latex")
    parser.add_argument("--max-paths", type=int, default=DEFAULT_MAX_PATHS, metavar="N",
                        help=f"refuse to list more than N paths (default {DEFAULT_MAX_PATHS})")
    parser.add_argument("--expanded", action="store_true",
                        help=f"json: the expanded form (leaves only) even when it is large "
                             f"(default: only up to {EXPANDED_SIZE:,} operations)")
    add_output_argument(parser)
    parser.set_defaults(run=run)


EXPANDED_SIZE = 2_000


def expanded_size(graph: Graph, expr: sp.Expr, memo: dict | None = None) -> int:
    """The number of operations and atoms of ``graph.expand(expr)``, counted without building it:
    a node counts as its definition, recursively (shared subtrees counted each time they appear,
    as printing them would). ``memo`` may be shared by the calls for one graph."""
    memo = {} if memo is None else memo

    def size(e: sp.Expr) -> int:
        if e in graph.definitions:
            e = graph.definitions[e]
        if e.is_Atom:
            return 1
        if e not in memo:
            memo[e] = 1 + sum(size(a) for a in e.args)
        return memo[e]

    return size(expr)


def record(d: Derivation, expanded: bool = False, sizes: dict | None = None) -> dict:
    """One derivation as JSON-ready data: every view, as text and as LaTeX; the expanded form
    when asked for or small (``EXPANDED_SIZE``; ``sizes`` is ``expanded_size``'s memo)."""
    views = {
        "wrt": str(d.wrt),
        "of": str(d.of),
        "path_count": len(d.paths),
        "paths": [[str(node) for node in path.nodes] for path in d.paths],
        "leibniz": ["·".join(text(p) for p in path.partials) for path in d.paths],
        "leibniz_latex": [r" \cdot ".join(latex(p) for p in path.partials) for path in d.paths],
        "path_terms": [text(term) for term in d.path_terms],
        "path_terms_latex": [latex(term) for term in d.path_terms],
        "closed_form": {"text": text(d.closed_form), "latex": latex(d.closed_form)},
    }
    size = expanded_size(d.graph, d.closed_form, sizes)
    if expanded or size <= EXPANDED_SIZE:
        form = d.expanded()
        views["expanded"] = {"text": text(form), "latex": latex(form)}
    else:
        views["expanded_omitted"] = f"{size:,} operations; ask with --expanded"
    return views


def _text(d: Derivation, colour: bool) -> str:
    head, equals, rest = d.text().partition(" = ")
    return bold(head, colour) + equals + rest


def run(args: argparse.Namespace) -> int:
    refuse_own_input([args.output], {"the model": args.model})
    graph = load_model(args)
    of = selected_output(graph, args)
    derivations = [derive(graph, wrt, of, max_paths=args.max_paths)
                   for wrt in selected_parameters(graph, args)]
    if args.format == "json":
        sizes: dict = {}
        document = {"model": args.model, "of": str(of),
                    "derivatives": [record(d, args.expanded, sizes) for d in derivations]}
        output = json.dumps(document, ensure_ascii=False, indent=2)
    elif args.format == "latex":
        output = "\n\n".join(d.latex() for d in derivations)
    else:
        colour = args.output is None and use_colour()
        output = "\n\n".join(_text(d, colour) for d in derivations)
    write_output(output, args.output)
    return 0
