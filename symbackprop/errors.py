"""The package's error types: every user mistake is one of these, with a message that names it."""

from __future__ import annotations


class SymbackpropError(ValueError):
    """Base class of every error the package raises for bad input."""


class GraphError(SymbackpropError):
    """A network definition that is not a valid computation graph."""


class CycleError(GraphError):
    """Definitions that depend on each other in a circle; ``cycle`` lists the nodes in order."""

    def __init__(self, message: str, cycle: tuple = ()):
        super().__init__(message)
        self.cycle = tuple(cycle)


class UnknownSymbolError(SymbackpropError):
    """A name that the graph does not know."""


class PathLimitError(SymbackpropError):
    """Too many paths to enumerate; ``count`` says how many there are."""

    def __init__(self, message: str, count: int = 0):
        super().__init__(message)
        self.count = count


def did_you_mean(name: str, known) -> str:
    """`` (did you mean 'w11'?)`` for the closest known name, or an empty string."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def names(symbols) -> str:
    """Symbols as a comma-separated list, for messages."""
    return ", ".join(str(s) for s in symbols)
