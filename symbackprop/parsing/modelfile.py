"""Model files (``.sbp``): a network written the way it is written on the board.

One line per section or definition; ``#`` starts a comment anywhere on a line::

    # the lecture's network
    inputs: x1, x2                 required (may be empty)
    targets: y                     data columns of y
    functions: f                   undefined functions; their derivatives print f', f''
    parameters: w11, w21           trained leaves (default: every leaf that is not data)
    output: L                      default: the unique node nothing else uses
    predictions: a                 the network's outputs before the loss
    bind: f = tanh                 a concrete activation per undefined function (for training)
    values: x1 = 1, w11 = 0.5      a numeric example (inputs, targets, parameters)
    data: xor.csv                  a CSV file, relative to the model file
    z1 = f(w11*x1 + w21*x2)        definitions: name = expression (the safe parser's grammar)

Sections may come in any order and the list sections may repeat (their items add up); a
definition may use nodes defined further down. ``load`` and ``graph_from_text`` put the extras in
``graph.metadata`` under ``"functions"`` (tuple of names), ``"bind"`` (name → activation name),
``"values"`` (name → float), ``"data"`` (absolute path) and ``"source"`` (the file, for
``load``), each only when the file has it. ``graph_to_text`` writes the same format back.

>>> g = graph_from_text('''
... inputs: x
... functions: f
... z = f(w*x)   # one unit
... a = s*z
... ''')
>>> g.parameters, g.output, g.metadata["functions"]
((w, s), a, ('f',))
>>> print(graph_to_text(g))
inputs: x
functions: f
output: a
z = f(w*x)
a = s*z
<BLANKLINE>
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import sympy as sp
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from ..core.errors import CycleError, GraphError, ModelFileError, ParseError, did_you_mean, names
from ..core.functions import ACTIVATIONS, is_undefined
from ..core.graph import Graph, leaves_named_like_nodes
from ..core.tensor.scalar import ScalarView
from .parse import BUILTIN_FUNCTIONS, NestingBudget, is_name, parse_expression
from .tensorfile import declares_shapes, definition_lines, tensor_graph_from_model, tensor_sections
from ..core.products import split_product

__all__ = ["load", "read_model_text", "graph_from_text", "graph_to_text", "SECTIONS",
           "MAX_FILE_BYTES"]

MAX_FILE_BYTES = 1_000_000
# SymPy's time on the nested functions of all definitions together (see NestingBudget)
NESTING_SECONDS_PER_FILE = 10.0
_LARGEST_FLOAT = sp.Float(sys.float_info.max)
SINGLE_SECTIONS = ("output", "data")    # the others are lists: repeated lines add up
SECTIONS = ("inputs", "targets", "functions", "parameters", "output", "predictions", "bind",
            "values", "data")

_SECTION = re.compile(r"\s*([^\W\d]\w*)\s*:")


@dataclass(frozen=True)
class _Item:
    """A piece of a line with its place: ``text`` starts at 0-based ``start`` of line ``line``."""

    text: str
    line: int
    start: int
    source: str

    def error(self, message: str, at: int = 0) -> ParseError:
        return ParseError(message, self.line, self.start + at + 1, self.source)


# -- reading a file ---------------------------------------------------------------------------------

def read_model_text(path: str | os.PathLike) -> str:
    """The text of a model file, refusing what cannot be one before reading it all: a missing
    path, a directory or device, more than ``MAX_FILE_BYTES``, binary data, bytes that are not
    UTF-8."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such file")
    if not path.is_file():
        raise ModelFileError(f"{path}: not a file" + (" (a directory)" if path.is_dir() else ""))
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ModelFileError(f"{path}: too large for a model file ({size:,} bytes; the limit "
                                 f"is {MAX_FILE_BYTES:,})")
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)   # the file may have grown since stat
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read it: {error.strerror or error}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ModelFileError(f"{path}: too large for a model file (the limit is {MAX_FILE_BYTES:,} bytes)")
    nul = data.find(b"\0")
    if nul >= 0:
        line, column = _place(data, nul)
        raise ParseError(f"{path} is a binary file, not a model file (a NUL byte)", line, column)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _place(data, error.start)
        raise ParseError(f"{path} is not UTF-8 text (byte 0x{data[error.start]:02x})",
                         line, column) from None


def _place(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters, as far as they decode) of a byte offset."""
    before = data[:offset]
    line_start = before.rfind(b"\n") + 1
    return before.count(b"\n") + 1, len(before[line_start:].decode("utf-8", "replace")) + 1


def load(path: str | os.PathLike) -> Graph:
    """Read a model file into a ``Graph``; relative ``data:`` paths are relative to the file.

    >>> from pathlib import Path
    >>> g = load(Path(__file__).parents[2] / "examples" / "lecture.sbp")
    >>> g.inputs, g.output, g.metadata["functions"]
    ((x1, x2), a, ('f',))
    """
    path = Path(path)
    return graph_from_text(read_model_text(path), base_dir=path.parent.resolve(), source=path)


# -- text → Graph -----------------------------------------------------------------------------------

def _split(item: _Item, separator: str = ",") -> list[_Item]:
    """The comma-separated parts of ``item`` (commas inside parentheses do not split), stripped."""
    parts, depth, begin = [], 0, 0
    for i, char in enumerate(item.text + separator):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == separator and depth <= 0 or i == len(item.text):
            piece = item.text[begin:i]
            if piece.strip():
                lead = len(piece) - len(piece.lstrip())
                parts.append(_Item(piece.strip(), item.line, item.start + begin + lead, item.source))
            elif char == separator and i < len(item.text):
                raise item.error("an empty item between commas", i)
            begin = i + 1
    return parts


def _quoted(text: str, width: int = 40) -> str:
    """``text`` for a message: quoted, escapes visible, cut to about ``width`` characters."""
    return repr(text if len(text) <= width else text[:width] + "…")


def _name(item: _Item, what: str) -> str:
    if not is_name(item.text):
        raise item.error(f"{what} must be a name (letters, digits, '_'), not {_quoted(item.text)}")
    return item.text


def _assignment(item: _Item) -> tuple[_Item, _Item]:
    """``name = value`` split into its two sides (by the first '=', in linear time)."""
    left, equals, right = item.text.partition("=")
    if not equals:
        raise item.error(f"expected 'name = value', not {_quoted(item.text)}")
    left_lead, right_lead = len(left) - len(left.lstrip()), len(right) - len(right.lstrip())
    return (_Item(left.strip(), item.line, item.start + left_lead, item.source),
            _Item(right.strip(), item.line, item.start + len(left) + 1 + right_lead, item.source))


class _ModelText:
    """The lines of a model file, sorted into sections and definitions (nothing parsed yet)."""

    def __init__(self, text: str):
        if len(text) > MAX_FILE_BYTES:
            raise ModelFileError(f"the model text is too long ({len(text):,} characters; the limit "
                                 f"is {MAX_FILE_BYTES:,})")
        self.sections: dict[str, list[_Item]] = {}
        self.definitions: list[tuple[_Item, _Item]] = []
        for number, source in enumerate(text.lstrip("\ufeff").splitlines(), 1):
            content = source.split("#", 1)[0].rstrip()
            if content.strip():
                self._sort(_Item(content, number, 0, source))
        if not self.sections and not self.definitions:
            raise ParseError("the model file is empty (no sections, no definitions)", 1, 1)

    def _sort(self, line: _Item) -> None:
        section = _SECTION.match(line.text)
        if section:
            key = section.group(1)
            if key not in SECTIONS:
                raise line.error(f"unknown section '{key}'{did_you_mean(key, SECTIONS)}; sections: "
                                 f"{', '.join(SECTIONS)}", section.start(1))
            value = line.text[section.end():]
            item = _Item(value, line.line, section.end(), line.source)
            if key in SINGLE_SECTIONS and key in self.sections:
                raise line.error(f"'{key}:' is given twice (first on line "
                                 f"{self.sections[key][0].line})", section.start(1))
            self.sections.setdefault(key, []).append(item)
        elif "=" in line.text:
            self.definitions.append(_assignment(line))
        else:
            raise line.error("expected a definition 'name = expression' or a section "
                             "'inputs: …'", len(line.text) - len(line.text.lstrip()))

    def items(self, key: str) -> list[_Item]:
        """The comma-separated items of a list section, over all its lines."""
        return [part for item in self.sections.get(key, []) for part in _split(item)]

    def single(self, key: str) -> _Item | None:
        if key not in self.sections:
            return None
        item = self.sections[key][0]
        stripped = item.text.strip()
        if not stripped:
            raise item.error(f"'{key}:' needs a value")
        return _Item(stripped, item.line, item.start + len(item.text) - len(item.text.lstrip()),
                     item.source)


def _unique_names(items: list[_Item], what: str) -> dict[str, _Item]:
    chosen: dict[str, _Item] = {}
    for item in items:
        name = _name(item, f"an entry of '{what}:'")
        if name in chosen:
            raise item.error(f"{name} is listed twice in '{what}:' (first on line {chosen[name].line})")
        chosen[name] = item
    return chosen


def _parse(item: _Item, **options) -> sp.Expr:
    """``item``'s expression; an error shows the whole file line under its caret."""
    try:
        return parse_expression(item.text, line=item.line, column_offset=item.start, **options)
    except ParseError as error:
        raise ParseError(error.message, error.line, error.column, item.source) from None


def graph_from_text(text: str, base_dir: str | os.PathLike | None = None,
                    source: str | os.PathLike | None = None) -> Graph:
    """A ``Graph`` from the text of a model file (see the module docstring for the format).

    ``base_dir`` anchors a relative ``data:`` path (default: the current directory);
    ``source`` is recorded as ``metadata["source"]``.
    """
    model = _ModelText(text)
    if declares_shapes(model.items("inputs") + model.items("targets") + model.items("parameters")):
        return _tensor_model(model, base_dir, source)
    if "inputs" not in model.sections:
        raise ParseError("the model has no 'inputs:' section (write 'inputs: x1, x2', or "
                         "'inputs:' for none)", 1, 1)
    if not model.definitions:
        raise ParseError("the model has no definitions (lines 'name = expression')", 1, 1)

    declared = _unique_names(model.items("functions"), "functions")
    for name, item in declared.items():
        if name in BUILTIN_FUNCTIONS:
            raise item.error(f"{name} is built in; declare only undefined functions")
    functions = {name: sp.Function(name) for name in declared}

    definitions: dict[sp.Symbol, sp.Expr] = {}
    defined_at: dict[str, _Item] = {}
    budget = NestingBudget(NESTING_SECONDS_PER_FILE)
    for left, right in model.definitions:
        name = _name(left, "the left side of a definition")
        if name in defined_at:
            raise left.error(f"{name} is defined twice (first on line {defined_at[name].line})")
        if name in functions or name in BUILTIN_FUNCTIONS:
            raise left.error(f"{name} is a function, not a node name")
        if not right.text:
            raise right.error(f"the definition of {name} has no expression")
        definitions[sp.Symbol(name)] = _real_constants(_parse(right, functions=functions, budget=budget),
                                                        name, right)
        defined_at[name] = left

    leaves = sorted({s.name for e in definitions.values() for s in e.free_symbols} - set(defined_at))
    roles = {key: _unique_names(model.items(key), key)
             for key in ("inputs", "targets", "parameters", "predictions")}
    for key in ("inputs", "targets", "parameters"):
        for name, item in roles[key].items():
            _check_leaf(name, item, key, defined_at, leaves)
    for name, item in roles["predictions"].items():
        _check_node(name, item, defined_at)
    output = model.single("output")
    if output is not None:
        _check_node(_name(output, "'output:'"), output, defined_at)
    metadata = _metadata(model, functions, leaves, base_dir)
    if "parameters" not in model.sections:  # listed parameters are meant, whatever their names
        data = set(roles["inputs"]) | set(roles["targets"])
        _check_typos(definitions, model.definitions, [n for n in leaves if n not in data],
                     metadata.get("values", {}))
    if output is None:
        _check_unique_sink(definitions)
    if source is not None:
        metadata["source"] = str(source)
    symbol = sp.Symbol   # symbols are equal by name: the parser made the same plain ones
    try:
        return Graph(definitions,
                     inputs=[symbol(n) for n in roles["inputs"]],
                     targets=[symbol(n) for n in roles["targets"]],
                     parameters=[symbol(n) for n in roles["parameters"]] if "parameters" in model.sections else None,
                     output=symbol(output.text) if output is not None else None,
                     predictions=[symbol(n) for n in roles["predictions"]] or None,
                     metadata=metadata)
    except CycleError as error:
        first = defined_at[str(error.cycle[0])]
        raise ParseError(str(error), first.line, first.start + 1, first.source) from None


def _tensor_model(model: _ModelText, base_dir, source) -> Graph:
    """A model file with shapes: its tensor graph (``tensorfile``), seen as a ``Graph``."""
    def metadata_of(functions, constants):
        metadata = _metadata(model, functions, constants, base_dir)
        return {**metadata, "source": str(source)} if source is not None else metadata

    return ScalarView(tensor_graph_from_model(model, metadata_of), declared_with_shapes=True)


def _real_constants(expr: sp.Expr, name: str, item: _Item) -> sp.Expr:
    """``expr``, refused when a constant in it is not real (``log(-1)`` is iπ, ``sqrt(-2)`` is
    √2·i): a network over complex numbers would train on a "squared error" that is negative."""
    pending = [expr]
    while pending:
        e = pending.pop()
        if e.free_symbols:
            pending.extend(e.args)
        elif sp.im(e.evalf(15)) != 0:
            raise item.error(f"the definition of {name} has a constant that is not a real number "
                             f"({sp.N(e, 4)}); a network computes with real numbers")
    return expr


def _check_leaf(name: str, item: _Item, role: str, defined_at: Mapping, leaves: list) -> None:
    if name in defined_at:
        raise item.error(f"{name} is defined on line {defined_at[name].line}, so it cannot be "
                         f"one of the {role}")
    if name not in leaves:
        raise item.error(f"{role[:-1]} '{name}' is not used by any definition"
                         f"{did_you_mean(name, leaves)}; leaves: {', '.join(leaves)}")


def _check_node(name: str, item: _Item, defined_at: Mapping) -> None:
    if name not in defined_at:
        raise item.error(f"'{name}' is not a defined node{did_you_mean(name, defined_at)}; "
                         f"nodes: {', '.join(defined_at)}")


def _check_unique_sink(definitions: Mapping[sp.Symbol, sp.Expr]) -> None:
    used = {s for expr in definitions.values() for s in expr.free_symbols}
    sinks = [node for node in definitions if node not in used]
    if len(sinks) > 1:
        unused = names(sinks[:-1])
        raise GraphError(f"the model has {len(sinks)} outputs ({names(sinks)}): nothing uses {unused}, "
                         f"so a name where {'it' if len(sinks) == 2 else 'they'} should be used may be a "
                         f"typo; if {sinks[-1]} is the only output, say so with a line 'output: {sinks[-1]}'")


def _first_use(name: str, lines: list[tuple[_Item, _Item]], definitions) -> _Item:
    """Where ``name`` first appears on the right side of a definition (for an error's caret)."""
    for (left, right), expr in zip(lines, definitions.values()):
        if sp.Symbol(name) in expr.free_symbols:
            found = re.search(rf"(?<![\w']){re.escape(name)}(?!\w)", right.text)
            return _Item(right.text[found.start():] if found else right.text, right.line,
                         right.start + (found.start() if found else 0), right.source)
    raise AssertionError(f"{name} is used by no definition")


def _check_typos(definitions: Mapping[sp.Symbol, sp.Expr], lines: list[tuple[_Item, _Item]],
                 parameters: list[str], values: Mapping[str, float]) -> None:
    """A typo in a definition makes a new parameter silently (``m3`` for ``m2``): refuse a
    parameter named like the nodes, and one without a value where every other has one."""
    leaves = [sp.Symbol(n) for n in parameters]
    for leaf, node in leaves_named_like_nodes(definitions, leaves).items():
        raise _first_use(leaf.name, lines, definitions).error(
            f"{leaf} is not a node, so it would be a new parameter, but it is named like the nodes "
            f"(did you mean '{node}'?); list it under 'parameters:' if it is meant")
    missing = [n for n in parameters if n not in values]
    valued = len(parameters) - len(missing)
    if values and 1 <= len(missing) <= 2 and valued >= 3:
        name = missing[0]
        raise _first_use(name, lines, definitions).error(
            f"the parameter {name} has no value in 'values:' while the other {valued} have one: a typo"
            f"{did_you_mean(name, definitions) or '?'} (give it a value if it is meant)")


def _assignments(model: _ModelText, key: str, allowed, description: str, label: str):
    """The ``name = value`` items of section ``key``, each name checked against ``allowed`` and
    given once (a second value would silently replace the first)."""
    given: dict[str, _Item] = {}
    for item in model.items(key):
        left, right = _assignment(item)
        name = _name(left, f"a name in '{key}:'")
        if name not in allowed:
            raise left.error(f"'{name}' is not {description}{did_you_mean(name, allowed)}; "
                             f"{label}: {', '.join(allowed) or 'none'}")
        if name in given:
            first = given[name]
            raise left.error(f"{name} is given twice in '{key}:' (first on line {first.line}, "
                             f"column {first.start + 1})")
        given[name] = left
        yield name, right


def _metadata(model: _ModelText, functions: Mapping, leaves: list, base_dir) -> dict:
    metadata: dict = {}
    if "functions" in model.sections:
        metadata["functions"] = tuple(functions)
    if "bind" in model.sections:
        metadata["bind"] = {}
        for name, right in _assignments(model, "bind", functions, "a declared function", "declared"):
            if right.text not in ACTIVATIONS:
                raise right.error(f"unknown activation {_quoted(right.text)}{did_you_mean(right.text, ACTIVATIONS)}"
                                  f"; known: {', '.join(ACTIVATIONS)}")
            metadata["bind"][name] = right.text
    if "values" in model.sections:
        metadata["values"] = {}
        for name, right in _assignments(model, "values", leaves, "an input, target or parameter", "leaves"):
            value = _parse(right, symbols={}, unknown_symbols="error")
            if not (value.is_number and value.is_real):
                raise right.error(f"the value of {name} must be a real number, not {_quoted(str(value))}")
            number = float(value) if abs(value) < _LARGEST_FLOAT else math.inf
            if not math.isfinite(number):
                raise right.error(f"the value of {name} is too large for a floating-point number "
                                  f"(at most about 1.8e308)")
            metadata["values"][name] = number
    data = model.single("data")
    if data is not None:
        metadata["data"] = os.path.abspath(os.path.join(base_dir or os.getcwd(), data.text))
    return metadata


# -- Graph → text -----------------------------------------------------------------------------------

class ModelPrinter(StrPrinter):
    """Expressions as the safe parser reads them back."""

    def _print_Mul(self, expr):
        # Each divisor on its own (x/2/(y + 1), not x/(2*(y + 1))): a product read back as
        # 2*(y + 1) would be distributed by SymPy into 2*y + 2, a different expression.
        sign, numerator, denominator = split_product(expr)
        prec = PRECEDENCE["Mul"]
        top = "*".join(self.parenthesize(f, prec, strict=False) for f in numerator) or "1"
        return sign + top + "".join("/" + self.parenthesize(d, prec, strict=True) for d in denominator)

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Exp1(self, expr):
        return "exp(1)"

    def _print_Heaviside(self, expr):
        return f"Heaviside({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Pi(self, expr):
        return "π"

    def _print_Function(self, expr):
        name = expr.func.__name__
        if not (is_undefined(expr.func) or name in BUILTIN_FUNCTIONS):
            raise GraphError(f"{name} cannot be written in a model file: the parser knows "
                             f"{', '.join(sorted(BUILTIN_FUNCTIONS))} and declared functions")
        return super()._print_Function(expr)

    def _print_Symbol(self, expr):
        if not is_name(expr.name) or expr.name in BUILTIN_FUNCTIONS:
            raise GraphError(f"the symbol {expr.name!r} cannot be written in a model file "
                             "(names are letters, digits and '_', and not a function's name)")
        return expr.name


_MODEL = ModelPrinter()


def _undefined_functions(graph: Graph) -> list[str]:
    """The file's declared functions in their order, then any other the definitions apply."""
    declared = list(graph.metadata.get("functions", ()))
    return declared + [f.__name__ for f in graph.undefined_functions if f.__name__ not in declared]


def graph_to_text(graph: Graph) -> str:
    """The model-file text of ``graph``: ``graph_from_text(graph_to_text(g))`` has the same
    definitions, roles and metadata (numbers become exact rationals, symbols lose assumptions).
    """
    meta = graph.metadata
    if isinstance(graph, ScalarView) and graph.declared_with_shapes:  # written back with its shapes
        return "\n".join(tensor_sections(graph.tensor) + _metadata_lines(meta) + definition_lines(graph.tensor)) + "\n"
    data = set(graph.inputs) | set(graph.targets)
    lines = [f"inputs: {_names(graph.inputs)}".rstrip()]
    if graph.targets:
        lines.append(f"targets: {_names(graph.targets)}")
    functions = _undefined_functions(graph)
    if functions:
        lines.append(f"functions: {', '.join(functions)}")
    if graph.parameters != tuple(leaf for leaf in graph.leaves if leaf not in data):
        lines.append(f"parameters: {_names(graph.parameters)}".rstrip())
    lines.append(f"output: {_names([graph.output])}")
    if graph.predictions != (graph.output,):
        lines.append(f"predictions: {_names(graph.predictions)}")
    lines += _metadata_lines(meta)
    lines += [f"{_names([node])} = {_MODEL.doprint(expr)}" for node, expr in graph.definitions.items()]
    return "\n".join(lines) + "\n"


def _metadata_lines(meta: Mapping) -> list[str]:
    """The ``bind:``, ``values:`` and ``data:`` lines of a model file."""
    lines = []
    if meta.get("bind"):
        lines.append("bind: " + ", ".join(f"{k} = {v}" for k, v in meta["bind"].items()))
    if meta.get("values"):
        # + 0.0 writes -0.0 as 0.0, the number the parser reads back
        lines.append("values: " + ", ".join(f"{k} = {float(v) + 0.0!r}" for k, v in meta["values"].items()))
    if meta.get("data"):
        lines.append(f"data: {_data_path(meta)}")
    return lines


def _names(symbols) -> str:
    return ", ".join(_MODEL.doprint(s) for s in symbols)


def _data_path(meta: Mapping) -> str:
    """The data file relative to the model file when there is one, else as stored."""
    if "source" in meta:
        return os.path.relpath(meta["data"], Path(meta["source"]).resolve().parent)
    return meta["data"]
