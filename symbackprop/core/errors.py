"""The package's error types: every user mistake is one of these, with a message that names it."""

from __future__ import annotations

import difflib
import re


class SymbackpropError(ValueError):
    """Base class of every error the package raises for bad input."""


class GraphError(SymbackpropError):
    """A network definition that is not a valid computation graph."""


class NotDenseError(GraphError):
    """A graph that is not a stack of dense layers with one of the known losses (no matrix view)."""


class CycleError(GraphError):
    """Definitions that depend on each other in a circle; ``cycle`` lists the nodes in order."""

    def __init__(self, message: str, cycle: tuple = ()):
        super().__init__(message)
        self.cycle = tuple(cycle)


class UnknownSymbolError(SymbackpropError):
    """A name that the graph does not know."""


class CompileError(SymbackpropError):
    """A graph that cannot be turned into numeric code (an unbound activation, an unknown function)."""


class DataError(SymbackpropError):
    """Numbers that do not fit the model: wrong shapes or column counts, NaN or inf in the data."""


class SymbackpropWarning(UserWarning):
    """Base class of the package's warnings (a suspicious but legal request)."""


class TypoWarning(SymbackpropWarning):
    """A name that is probably a typo: a leaf named like the nodes (``m3`` beside ``m1``, ``m2``)."""


class PathLimitError(SymbackpropError):
    """Too many paths to enumerate; ``count`` says how many there are."""

    def __init__(self, message: str, count: int = 0):
        super().__init__(message)
        self.count = count


def did_you_mean(name: str, known) -> str:
    """`` (did you mean 'w11'?)`` for the closest known names, or an empty string. An indexed
    name is closest to those that differ from it in one index digit.

    >>> did_you_mean("w13", ["z1", "w11", "w21", "w12", "w22"])
    " (did you mean 'w11' or 'w12'?)"
    >>> did_you_mean("sigmiod", ["sigmoid", "tanh"])
    " (did you mean 'sigmoid'?)"
    """
    candidates = [str(k) for k in known]
    close = _one_index_apart(str(name), candidates) or difflib.get_close_matches(str(name), candidates, n=1)
    return " (did you mean " + " or ".join(f"'{c}'" for c in close) + "?)" if close else ""


_INDEXED = re.compile(r"([^\W\d_]+)(\d+)")


def _one_index_apart(name: str, candidates: list[str]) -> list[str]:
    """Up to two candidates with the same letters and one digit changed (``w13`` → ``w11``, ``w12``)."""
    match = _INDEXED.fullmatch(name)
    if not match:
        return []
    stem, digits = match.groups()
    near = []
    for candidate in candidates:
        other = _INDEXED.fullmatch(candidate)
        if other and other.group(1) == stem and len(other.group(2)) == len(digits):
            if sum(a != b for a, b in zip(other.group(2), digits)) == 1:
                near.append(candidate)
    return near[:2]


def names(symbols) -> str:
    """Symbols as a comma-separated list, for messages."""
    return ", ".join(str(s) for s in symbols)


class ModelFileError(SymbackpropError):
    """A model file that cannot be read at all: missing, a directory, too large."""


class ParseError(SymbackpropError):
    """Text that cannot be read, with the 1-based ``line`` and ``column`` of the problem.

    ``str(error)`` is ``line 3, column 14: unexpected ')'`` followed, when the source is known,
    by the source line and a caret under the column (long lines are shown around the caret).
    ``index`` is the 0-based offset in the parsed text, when a parser knows it (a multi-line
    text's errors have their own line and column, so the index is what maps back to it).
    """

    def __init__(self, message: str, line: int = 1, column: int = 1, source: str | None = None,
                 source_column: int | None = None, index: int | None = None):
        self.message, self.line, self.column, self.source = message, line, column, source
        self.index = index
        self.source_column = column if source_column is None else source_column
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"line {self.line}, column {self.column}: {self.message}"
        if not self.source:
            return head
        shown, caret = _window(self.source.rstrip("\r\n"), self.source_column - 1)
        return f"{head}\n  {shown}\n  {' ' * caret}^"


def _window(line: str, index: int, width: int = 60) -> tuple[str, int]:
    """At most ``2·width`` characters of ``line`` around ``index`` (tabs as spaces), and the
    caret's offset in them."""
    line = line.replace("\t", " ")
    start = max(0, index - width)
    shown = line[start:index + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if index + width < len(line) else ""
    return prefix + shown + suffix, len(prefix) + index - start
