"""One exercise per student: the same network with the student's own numbers, asked-for
parameters and, where the teacher allows it, activation, so that answers cannot be copied.

``make_variants(graph, students, seed)`` gives each student (in roster order) a ``Variant``:

- **values** (``vary`` has ``values``): every input, target and parameter of the worked example
  drawn from small readable numbers (parameters ±0.1 … ±0.9, inputs ±0.5 … ±2, targets 0 or 1);
- **parameters** (``vary`` has ``parameters``): ``ask`` parameters to differentiate by, drawn
  one per group of parameters with the same number of paths in turn (so every student gets one
  two-path weight and one one-path weight of the lecture's network: equally hard variants);
  otherwise every student is asked for ``wrt`` (default: all parameters);
- **activation** (``vary`` has ``activation``): each undefined function (``f``) replaced by one
  of ``activations`` (tanh, σ, softplus), so the answers themselves differ.

A student whose parameters and activation an earlier student already has is drawn again (up
to 64 times), so combinations repeat only once they run out. The draws come from SHA-256 of the
seed and what is drawn, so the same roster and seed give the same variants on any machine and
Python version.

>>> from symbackprop import lecture_network
>>> variants = make_variants(lecture_network(), ["Anna", "Boris"], seed=7, vary=("values", "parameters", "activation"))
>>> [(v.name, v.student, v.activations["f"], [str(p) for p in v.parameters]) for v in variants]
[('1', 'Anna', 'tanh', ['w21', 'p21']), ('2', 'Boris', 'sigmoid', ['w22', 'p12'])]
>>> variants[0].graph.definitions[variants[0].graph.symbol("z1")]
tanh(w11*x1 + w21*x2)
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Mapping, Sequence

import sympy as sp

from ..core.atomic import write_atomic
from ..core.derive import count_paths, derive
from ..core.errors import SymbackpropError, did_you_mean
from ..core.functions import ACTIVATIONS, activation, substitute_functions
from ..core.graph import Graph
from ..handout import Handout, handout
from ..numeric.point import default_values, evaluate, undefined_functions
from .feedback import by_language

__all__ = ["Variant", "make_variants", "read_roster", "variants_csv", "read_variants", "write_variants",
           "VARY", "DEFAULT_VARY", "DEFAULT_ACTIVATIONS", "DEFAULT_ASK", "MAX_STUDENTS"]

VARY = ("values", "parameters", "activation")
DEFAULT_VARY = ("values", "parameters")
DEFAULT_ACTIVATIONS = ("tanh", "sigmoid", "softplus")
DEFAULT_ASK = 2
MAX_STUDENTS = 2_000
MAX_NAME = 200
# Readable numbers of both signs: a hand computation stays a few digits long.
PARAMETER_VALUES = tuple(sorted({k / 10 for k in range(-9, 10) if k}))
INPUT_VALUES = (-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0)
TARGET_VALUES = (0.0, 1.0)
# How many draws a variant may take to find a combination no earlier student has.
_TRIES = 64
_CSV_COLUMNS = ("student", "variant", "activation", "parameters", "values", "folder")

_PHRASES = {
    "subtitle": ("{student} · variant {number} · the network {network}",
                 "{student} · вариант {number} · сеть {network}"),
}
_WORDS = by_language(_PHRASES)


@dataclass(frozen=True)
class Variant:
    """One student's exercise: ``graph`` is the network with the variant's activation and its
    example values (``graph.metadata["values"]``); ``parameters`` are the ones asked for."""

    number: int
    student: str
    graph: Graph = field(repr=False)
    parameters: tuple[sp.Symbol, ...]
    activations: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """What the ``variant`` column of a class CSV holds."""
        return str(self.number)

    @property
    def values(self) -> dict[sp.Symbol, float]:
        """The worked example's point: every leaf's value."""
        return {self.graph.symbol(name): value for name, value in self.graph.metadata["values"].items()}

    def key(self) -> dict[sp.Symbol, sp.Expr]:
        """The answer key: each asked parameter's derivative, as a path sum in node symbols."""
        return {p: derive(self.graph, p).closed_form for p in self.parameters}

    def key_values(self) -> dict[sp.Symbol, float]:
        """Each asked derivative's value at the variant's point (from the backward pass)."""
        point = evaluate(self.graph)
        return {p: point.adjoints.get(p, 0.0) for p in self.parameters}

    @property
    def folder(self) -> str:
        """The variant's folder name: its number and the student's name, safe as a file name."""
        safe = re.sub(r"[^\w-]+", "-", self.student).strip("-_")[:40] or "student"
        return f"{self.number:02d}-{safe}"

    def subtitle(self, lang: str = "en") -> str:
        """The worksheet's line under the title: student, variant, network."""
        network = f"{', '.join(map(str, self.graph.inputs))} → {self.graph.output}"
        return _WORDS[lang]["subtitle"].format(student=self.student, number=self.number, network=network)

    def worksheet(self, lang: str = "en") -> Handout:
        """The student's worksheet; its ``answers`` is the answer key."""
        return handout(self.graph, wrt=self.parameters, lang=lang, exercises=True, subtitle=self.subtitle(lang))


# -- drawing -----------------------------------------------------------------------------------

def _draw(seed: int, *key) -> int:
    """A number from SHA-256 of the seed and ``key``: the same on every machine and version."""
    return int.from_bytes(hashlib.sha256(repr((seed, *key)).encode()).digest()[:8], "big")


def _shuffled(items: Sequence, seed: int, *key) -> list:
    return sorted(items, key=lambda item: _draw(seed, *key, str(item)))


def _pick(options: Sequence, seed: int, *key):
    return options[_draw(seed, *key) % len(options)]


def _strata(graph: Graph, wrt: Sequence[sp.Symbol]) -> list[list[sp.Symbol]]:
    """The parameters grouped by how many paths lead from them to the output, most first."""
    groups: dict[int, list[sp.Symbol]] = {}
    for p in wrt:
        groups.setdefault(count_paths(graph, p), []).append(p)
    return [groups[n] for n in sorted(groups, reverse=True)]


def _asked(strata: list[list[sp.Symbol]], ask: int, order: Sequence[sp.Symbol], seed: int, *key) -> tuple:
    """``ask`` parameters: one from each group in turn, each group shuffled by the draw."""
    shuffled = [_shuffled(group, seed, *key, i) for i, group in enumerate(strata)]
    taken = [p for round_ in itertools.zip_longest(*shuffled) for p in round_ if p is not None][:ask]
    return tuple(sorted(taken, key=list(order).index))


def _values(graph: Graph, seed: int, number: int) -> dict[str, float]:
    grids = [(graph.inputs, INPUT_VALUES), (graph.targets, TARGET_VALUES),
             (graph.parameters + graph.constants, PARAMETER_VALUES)]
    return {leaf.name: _pick(grid, seed, "value", number, leaf.name) for leaves, grid in grids for leaf in leaves}


def variant_graph(graph: Graph, activations: Mapping[str, str], values: Mapping[str, float]) -> Graph:
    """``graph`` with its undefined functions replaced by ``activations`` (name → activation
    name) and ``values`` as its example point."""
    metadata = dict(graph.metadata)
    definitions = graph.definitions
    if activations:
        chosen = {name: activation(target, name) for name, target in activations.items()}
        definitions = {node: substitute_functions(expr, chosen) for node, expr in definitions.items()}
        metadata["functions"] = tuple(f for f in metadata.get("functions", ()) if f not in activations)
        metadata["bind"] = {f: b for f, b in (metadata.get("bind") or {}).items() if f not in activations}
    metadata["values"] = dict(values)
    return Graph(definitions, inputs=graph.inputs, targets=graph.targets, parameters=graph.parameters,
                 output=graph.output, predictions=graph.predictions, metadata=metadata)


def make_variants(graph: Graph, students: Sequence[str], seed: int = 0, vary: Iterable[str] = DEFAULT_VARY,
                  ask: int = DEFAULT_ASK, activations: Sequence[str] = DEFAULT_ACTIVATIONS,
                  wrt: Sequence | None = None) -> tuple[Variant, ...]:
    """A variant per student (see the module's docstring); ``wrt`` limits the parameters that
    may be asked for."""
    vary = tuple(vary)
    students = _checked_students(students)
    candidates = _checked_choices(graph, vary, ask, activations, wrt)
    functions = undefined_functions(graph) if "activation" in vary else []
    strata = _strata(graph, candidates)
    fixed_values = {leaf.name: value for leaf, value in default_values(graph).items()}
    used: set = set()
    variants = []
    for number, student in enumerate(students, start=1):
        for attempt in range(_TRIES):
            chosen = {f: _pick(tuple(activations), seed, "activation", number, attempt, f) for f in functions}
            asked = (_asked(strata, ask, graph.parameters, seed, "parameters", number, attempt)
                     if "parameters" in vary else candidates)
            combination = (tuple(sorted(chosen.items())), asked)
            if combination not in used:
                break
        used.add(combination)
        values = _values(graph, seed, number) if "values" in vary else fixed_values
        variants.append(Variant(number, student, variant_graph(graph, chosen, values), asked,
                                MappingProxyType(chosen)))
    return tuple(variants)


def _checked_choices(graph: Graph, vary: tuple[str, ...], ask: int, activations: Sequence[str],
                     wrt: Sequence | None) -> tuple[sp.Symbol, ...]:
    """The parameters that may be asked for, once the teacher's choices are known to make sense."""
    unknown = [v for v in vary if v not in VARY]
    if unknown:
        raise SymbackpropError(f"cannot vary {unknown[0]!r}{did_you_mean(unknown[0], VARY)}; "
                               f"choose among {', '.join(VARY)}")
    candidates = tuple(graph.symbol(p) for p in wrt) if wrt else graph.parameters
    others = [p for p in candidates if p not in graph.parameters]
    if others:
        raise SymbackpropError(f"{others[0]} is not a parameter; choose among {', '.join(map(str, graph.parameters))}")
    if "parameters" in vary and not 1 <= ask <= len(candidates):
        raise SymbackpropError(f"each variant asks for 1 to {len(candidates)} parameters, not {ask}")
    if "activation" in vary:
        if not undefined_functions(graph):
            raise SymbackpropError("the model has no undefined function (functions: f) whose activation could vary")
        if not activations:
            raise SymbackpropError("give at least one activation to choose from")
        for name in activations:
            activation(name)  # an unknown activation is an error now, not halfway through
    return candidates


def _checked_students(students: Sequence[str]) -> list[str]:
    names = [s.strip() for s in students]
    if not names:
        raise SymbackpropError("the roster has no students")
    if len(names) > MAX_STUDENTS:
        raise SymbackpropError(f"the roster has {len(names):,} students; the limit is {MAX_STUDENTS:,}")
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if not name:
            raise SymbackpropError(f"student {i} of the roster has no name")
        if len(name) > MAX_NAME or any(not c.isprintable() for c in name):
            raise SymbackpropError(f"student {i} of the roster: a name is printable text of at most "
                                   f"{MAX_NAME} characters")
        if name in seen:
            raise SymbackpropError(f"{name!r} is in the roster twice (students {seen[name]} and {i})")
        seen[name] = i
    return names


# -- files ---------------------------------------------------------------------------------------

def _table(text: str, what: str, required: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """``(line, {column: cell})`` for each non-empty row of CSV ``text``; its header (read in
    lowercase) must name each of ``required``, or one of the names in a tuple there."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as error:
        raise SymbackpropError(f"{what} cannot be read as CSV: {error}") from None
    for names in required:
        options = names if isinstance(names, tuple) else (names,)
        present = [name for name in options if name in header]
        if not present:
            raise SymbackpropError(f"{what} has no column {options[0]} (its header: {', '.join(header)[:200]})")
        header = [options[0] if cell == present[0] else cell for cell in header]
    return [(line, dict(zip(header, (cell.strip() for cell in row)))) for line, row in rows
            if any(cell.strip() for cell in row)]


def read_roster(text: str) -> list[str]:
    """The students of a roster CSV (a column ``student``, or ``студент``), in order."""
    return [row["student"] for _, row in _table(text, "the roster", [("student", "студент")])]


def variants_csv(variants: Sequence[Variant]) -> str:
    """``variants.csv``: student → variant, with all that rebuilds it (activation, parameters,
    values) and its folder."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for v in variants:
        writer.writerow([v.student, v.name, " ".join(f"{f}={a}" for f, a in sorted(v.activations.items())),
                         " ".join(map(str, v.parameters)),
                         " ".join(f"{name}={value:g}" for name, value in v.graph.metadata["values"].items()),
                         v.folder])
    return out.getvalue()


def read_variants(text: str, graph: Graph, source: str = "variants.csv") -> tuple[Variant, ...]:
    """The variants a ``variants.csv`` describes, rebuilt on ``graph`` (the model they were made from)."""
    variants = []
    for line, row in _table(text, source, _CSV_COLUMNS[:5]):
        try:
            variants.append(_variant_of_row(graph, row))
        except (SymbackpropError, ValueError) as error:
            raise SymbackpropError(f"{source}, line {line}: {error}") from None
    if len({v.name for v in variants}) != len(variants):
        raise SymbackpropError(f"{source} names a variant twice")
    _checked_students([v.student for v in variants])
    return tuple(variants)


def _pairs(cell: str, what: str) -> dict[str, str]:
    pairs = {}
    for item in cell.split():
        name, equals, value = item.partition("=")
        if not equals or not name or not value:
            raise SymbackpropError(f"{what} are written name=value, not {item[:40]!r}")
        pairs[name] = value
    return pairs


def _variant_of_row(graph: Graph, row: Mapping[str, str]) -> Variant:
    number = int(row["variant"])
    activations = _pairs(row["activation"], "activations")
    for name, chosen in activations.items():
        if name not in undefined_functions(graph):
            raise SymbackpropError(f"the model has no undefined function {name!r}: was this file made from it?")
        if chosen not in ACTIVATIONS:
            raise SymbackpropError(f"unknown activation {chosen!r}{did_you_mean(chosen, ACTIVATIONS)}")
    values = {}
    for name, value in _pairs(row["values"], "values").items():
        graph.symbol(name)  # an unknown name: an error with a did-you-mean
        values[name] = float(value)
    parameters = tuple(graph.symbol(p) for p in row["parameters"].split())
    if not parameters:
        raise SymbackpropError("the variant asks for no parameter")
    return Variant(number, row["student"], variant_graph(graph, activations, values), parameters,
                   MappingProxyType(activations))


def write_variants(variants: Sequence[Variant], folder: str | os.PathLike, lang: str = "en",
                   pdf: bool | None = None, progress=None) -> list[Path]:
    """Each variant's worksheet and answer key in ``folder/<NN-student>/worksheet.*`` and
    ``worksheet-answers.*`` (HTML, TeX, PDF when a LaTeX engine is installed), then
    ``folder/variants.csv``. ``progress(variant)`` is called before each one."""
    folder = Path(folder)
    written = []
    for variant in variants:
        if progress is not None:
            progress(variant)
        written += variant.worksheet(lang).save(folder / variant.folder / "worksheet", pdf=pdf)
    written.append(write_atomic(folder / "variants.csv", variants_csv(variants)))
    return written
