"""What every subcommand shares: the model argument, choosing derivatives, writing output.

A command module uses these in its ``add_parser``::

    parser = add_command(subparsers, "draw", help="…", description="…", examples=["symbackprop draw …"])
    add_model_argument(parser)
    add_output_argument(parser)
    parser.set_defaults(run=run)

and in ``run(args)``: ``graph = load_model(args)``, then ``write_output(text, args.output)``.

>>> import argparse, pathlib
>>> lecture = str(pathlib.Path(__file__).parents[2] / "examples" / "lecture.sbp")
>>> parser = argparse.ArgumentParser()
>>> add_model_argument(parser); add_selection_arguments(parser)
>>> args = parser.parse_args([lecture, "--wrt", "w11", "--wrt", "s1"])
>>> [str(s) for s in selected_parameters(load_model(args), args)]
['w11', 's1']
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from typing import TextIO

import sympy as sp

from ..core.atomic import write_atomic
from ..core.errors import SymbackpropError, UnknownSymbolError, did_you_mean, names
from ..core.graph import Graph
from ..handout.tex import ENGINES, INSTALL_LATEX
from ..parsing.modelfile import load

__all__ = ["ArgumentParser", "add_command", "add_model_argument", "load_model", "add_selection_arguments",
           "selected_parameters", "selected_output", "add_output_argument", "write_output", "add_pdf_argument",
           "pdf_wanted", "use_colour", "bold", "terminal_safe", "note", "refuse_own_input"]


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, telling ``--wtr`` apart as a misspelled ``--wrt``: a command's unknown
    option is reported first, with the closest known one, before any other complaint (argparse
    would first say that ``--wrt`` is missing)."""

    def parse_known_args(self, args=None, namespace=None):
        if self._subparsers is None:  # a command's own options (the top level has only its commands)
            for token in sys.argv[1:] if args is None else args:
                if token == "--":
                    break
                option = token.split("=", 1)[0]
                if option.startswith("--") and not any(known.startswith(option) for known in self._option_string_actions):
                    self.error(f"unrecognized argument {option}"
                               f"{did_you_mean(option, self._option_string_actions).replace(chr(39), '')}")
        return super().parse_known_args(args, namespace)


def add_command(subparsers, name: str, help: str, description: str,
                examples: list[str]) -> argparse.ArgumentParser:
    """Register subcommand ``name`` with its one-line ``help``, a ``description`` and runnable
    ``examples`` (shown verbatim under ``symbackprop NAME --help``)."""
    return subparsers.add_parser(
        name, help=help, description=description,
        epilog="examples:\n" + "\n".join(f"  {example}" for example in examples),
        formatter_class=argparse.RawDescriptionHelpFormatter)


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    """The positional ``MODEL`` argument: a model file (``.sbp``)."""
    parser.add_argument("model", metavar="MODEL", help="a model file (.sbp), e.g. examples/lecture.sbp")


def load_model(args: argparse.Namespace) -> Graph:
    """The graph of ``args.model`` (errors are ``SymbackpropError``s with a position)."""
    return load(args.model)


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """``--wrt NAME`` (repeatable) or ``--all`` parameters, and ``--of NODE``."""
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--wrt", action="append", metavar="NAME",
                       help="a parameter (or input) to differentiate with respect to; repeatable")
    which.add_argument("--all", action="store_true", help="every parameter, in the model's order")
    parser.add_argument("--of", metavar="NODE",
                        help="the node to differentiate (default: the model's output, e.g. a loss L)")


def selected_parameters(graph: Graph, args: argparse.Namespace) -> list[sp.Symbol]:
    """The leaves that ``--wrt``/``--all`` chose; an unknown name is an error that suggests the
    closest parameters (``w13``: ``w11`` or ``w12``), never a node."""
    if getattr(args, "all", False):
        return list(graph.parameters)
    known = {s.name for s in graph.nodes + graph.leaves}
    for name in args.wrt:
        if name not in known:
            raise UnknownSymbolError(f"unknown parameter '{name}'{did_you_mean(name, graph.parameters or graph.leaves)}"
                                     f"; parameters: {names(graph.parameters) or 'none'}")
    return [graph.symbol(name) for name in args.wrt]


def selected_output(graph: Graph, args: argparse.Namespace) -> sp.Symbol:
    """The node that ``--of`` names, or the model's output."""
    return graph.symbol(args.of) if getattr(args, "of", None) else graph.output


def refuse_own_input(outputs, inputs: dict[str, str | None]) -> None:
    """Refuse to write any of ``outputs`` (paths, or None for standard output) over one of the
    command's ``inputs`` (``{"the model": path, …}``): ``derive model.sbp -o model.sbp`` would
    destroy the only copy of what it reads."""
    for output in outputs:
        if output in (None, "-") or not os.path.exists(output):
            continue
        for role, source in inputs.items():
            if source is not None and os.path.exists(source) and os.path.samefile(output, source):
                raise SymbackpropError(f"{output} is {role}, which this command reads: write the output "
                                       "to another file")


def add_output_argument(parser: argparse.ArgumentParser) -> None:
    """``-o FILE``: write there (atomically) instead of standard output."""
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write to FILE (atomically) instead of standard output")


# Characters that drive a terminal rather than show: C0 and C1 controls (ESC starts ANSI and OSC
# sequences: clear the screen, retitle the window, fake a line), line and paragraph separators,
# and bidirectional overrides that reorder what is shown. Tab and newline stay, and so do bold on
# and off (``bold``), which can do no harm.
_UNSAFE = re.compile("\x1b(?!\\[[01]m)|[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                     "\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    r"""``text`` with every control character shown as an escape (``\x1b``, ``\u202e``), so
    nothing a model file, a CSV cell or an answer holds can drive the reader's terminal.

    >>> terminal_safe("Ann\x1b[2J\u202eok")
    'Ann\\x1b[2J\\u202eok'
    """
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text)


def note(message: str) -> None:
    """``symbackprop: <message>`` on standard error, control characters escaped."""
    print(f"symbackprop: {terminal_safe(message)}", file=sys.stderr)


def write_output(text: str, path: str | None, stream: TextIO | None = None) -> None:
    """``text`` to ``path`` via a temporary file and ``os.replace``, or to ``stream`` (stdout)
    with control characters escaped (``terminal_safe``)."""
    text = text if text.endswith("\n") else text + "\n"
    if path in (None, "-"):
        (stream or sys.stdout).write(terminal_safe(text))
        return
    write_atomic(path, text)
    note(f"wrote {path}")


def add_pdf_argument(parser: argparse.ArgumentParser) -> None:
    """``--no-pdf``: write HTML and TeX only."""
    parser.add_argument("--no-pdf", action="store_true", help="do not run LaTeX (write .html and .tex only)")


def pdf_wanted(args: argparse.Namespace) -> bool:
    """Whether to build PDFs: unless ``--no-pdf``, when a LaTeX engine is installed (else a note
    on standard error says what to install)."""
    if args.no_pdf:
        return False
    if any(shutil.which(engine) for engine in ENGINES):
        return True
    note(f"note: no PDF: {INSTALL_LATEX}")
    return False


def use_colour(stream: TextIO | None = None) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    stream = stream or sys.stdout
    return (not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
            and hasattr(stream, "isatty") and stream.isatty())


def bold(text: str, colour: bool) -> str:
    """``text`` in bold when ``colour`` is on."""
    return f"\033[1m{text}\033[0m" if colour else text
