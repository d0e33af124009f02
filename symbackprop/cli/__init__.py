"""The ``symbackprop`` command line: one subcommand per module of this package.

Each command module has ``add_parser(subparsers)`` (which registers its arguments and sets
``run``, a function ``args → exit code``). Exit codes: 0 success, 1 a user error (one line on
stderr, no traceback), 2 usage; 141 when the reader of the output goes away (``| head``), 130
after Ctrl-C and 143 after SIGTERM (both leave no scratch files or child processes behind).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading

from .._version import __version__
from ..core.errors import SymbackpropError
from ._common import ArgumentParser, note

# The order in which ``symbackprop --help`` lists them.
COMMANDS = ("derive", "paths", "verify", "draw", "handout", "train", "variants", "serve")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="symbackprop",
        description="Backpropagation derived symbolically: path sums, adjoints, handouts, training.")
    parser.add_argument("--version", action="version", version=f"symbackprop {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        importlib.import_module(f".{name}", __name__).add_parser(subparsers)
    return parser


class Terminated(BaseException):
    """SIGTERM (a CI cancel, ``timeout``), raised where the program is so that it unwinds as on
    Ctrl-C: scratch folders are removed and child processes (pdflatex, dot) are killed. A
    command that sets ``unwind_on_sigterm=False`` (``serve``: busy server threads have nothing
    to clean up) keeps the default, an immediate exit."""


def _terminate(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    unwind = threading.current_thread() is threading.main_thread() and getattr(args, "unwind_on_sigterm", True)
    previous = signal.signal(signal.SIGTERM, _terminate) if unwind else None
    try:
        return _run(args)
    finally:
        if unwind:
            signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    try:
        return args.run(args) or 0
    except SymbackpropError as error:
        note(f"error: {error}")
        return 1
    except BrokenPipeError:
        # The reader went away (`symbackprop … | head`): stop quietly, as Unix tools do, and keep
        # Python from complaining when it flushes stdout on exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as error:
        note(f"error: {error.strerror or error}" + (f": {error.filename}" if error.filename else ""))
        return 1
    except KeyboardInterrupt:
        note("interrupted")
        return 130
    except Terminated:
        note("terminated")
        return 143

