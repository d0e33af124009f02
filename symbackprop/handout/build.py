"""What a handout says: the network, each parameter's paths, the backward pass, a worked example.

Everything shown is computed here from the graph and its derivation: path counts and
multiplication counts by dynamic programming over the graph, formulas from ``backprop`` and
``derive``, numbers from ``point.evaluate``, update steps from ``symbackprop.numeric.optim``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Mapping, Sequence

import numpy as np
import sympy as sp

from ..numeric import optim
from ..core.derive import DEFAULT_MAX_PATHS, Backprop, Partial, backprop, derive
from ..render.diagram import draw, subscripted
from ..core.errors import NotDenseError, SymbackpropError
from ..core.graph import Graph
from ..core.layers import derive_layers
from ..numeric.point import Point, evaluate, forward_value, undefined_functions
from .equations import LATEX, LINE_WIDTH, Adjoint, Row, SumOver, closed_rows, leibniz_rows, number, printed_length
from .model import (Document, Equations, Figure, Formula, Math, Question, Section, Table, Text,
                    blocks, paragraph)
from .strings import has_string, plural, say, template

__all__ = ["Context", "build", "multiplication_counts", "SUMMARY_THRESHOLD"]

# A graph with more states than this is drawn in summary mode unless told otherwise.
SUMMARY_THRESHOLD = 24
SUMMARY_WIDTH = 3
# Per-parameter sections repeat the adjoint rows they need only while they stay short.
INLINE_SWEEP_LIMIT = 8
EXERCISE_STEP = 0.1


def legend_title(lang: str, wrt: str, paths: int) -> str:
    """The title of a drawing's path legend in ``lang``: ``2 paths from w₁₁``, ``2 пути от w₁₁``."""
    return "".join(paragraph(template(lang, "legend"), count=plural(lang, paths, template(lang, "paths_count")),
                             p=subscripted(str(wrt))).parts)


def multiplication_counts(bp: Backprop) -> tuple[dict[sp.Symbol, int], int]:
    """(``{symbol: multiplications to enumerate its paths}``, multiplications of the sweep).

    Enumerating: a path of ``k`` arrows is a product of ``k`` factors, ``k − 1`` multiplications;
    summed over paths by dynamic programming (``edges[u]`` = arrows summed over u's paths).
    The sweep: ``δ_u = Σ δ_v · ∂v/∂u`` costs one multiplication per arrow ``u → v`` that a
    parameter or state needs, none where ``δ_v = 1`` (the output).
    """
    graph = bp.graph
    counts, edges = {bp.of: 1}, {bp.of: 0}
    for v in reversed(bp.nodes):
        for u in graph.parents(v):
            counts[u] = counts.get(u, 0) + counts[v]
            edges[u] = edges.get(u, 0) + edges[v] + counts[v]
    enumerate_cost = {u: max(0, edges[u] - counts[u]) for u in counts}
    needed = set(bp.nodes) | set(graph.parameters)
    sweep = sum(1 for v in bp.nodes if v != bp.of for u in graph.parents(v) if u in needed)
    return enumerate_cost, sweep


def downstream(bp: Backprop, symbol: sp.Symbol) -> set[sp.Symbol]:
    """The nodes on the paths from ``symbol`` to the output (``symbol`` excluded)."""
    found: set[sp.Symbol] = set()
    frontier = list(bp.children(symbol))
    while frontier:
        v = frontier.pop()
        if v not in found:
            found.add(v)
            frontier.extend(bp.children(v))
    return found


def _sweep_cost(bp: Backprop, p: sp.Symbol) -> int:
    """Multiplications of the sweep restricted to the arrows on ``p``'s paths."""
    on_paths = downstream(bp, p) | {p}
    return sum(1 for v in on_paths - {bp.of, p} for u in bp.graph.parents(v) if u in on_paths)


@dataclass
class Context:
    """The choices of one handout and what is derived from them."""

    graph: Graph
    wrt: tuple[sp.Symbol, ...]
    lang: str
    point: Point
    functions_given: bool
    optimizers: Sequence | None
    summary: int | None
    of: sp.Symbol | None = None
    functions: Mapping | None = None
    max_paths: int = DEFAULT_MAX_PATHS

    @cached_property
    def bp(self) -> Backprop:
        return backprop(self.graph, self.of)

    @cached_property
    def objective(self) -> sp.Symbol:
        """What an update step descends: the graph's loss when its output is one (it reads the
        targets), whatever node the derivations are of; else that node."""
        g = self.graph
        if set(g.targets) & g.ancestors(g.output):
            return g.output
        return self.bp.of

    @cached_property
    def objective_point(self) -> Point:
        """The worked example's point, differentiated for ``objective``."""
        if self.objective == self.point.of:
            return self.point
        leaves = {leaf: self.point.values[leaf] for leaf in self.graph.leaves}
        return evaluate(self.graph, leaves, of=self.objective, functions=self.functions)

    def objective_after(self, params: np.ndarray) -> float:
        """The objective at the example's point with the parameters replaced by ``params``."""
        leaves = {leaf: self.point.values[leaf] for leaf in self.graph.leaves}
        leaves.update(zip(self.graph.parameters, map(float, params)))
        return forward_value(self.graph, self.objective, leaves, functions=self.functions)

    def text(self, key: str, **values) -> Text:
        return paragraph(template(self.lang, key), **values)

    def count(self, key: str, n: int) -> str:
        return plural(self.lang, n, template(self.lang, key))

    def word(self, key: str) -> str:
        return say(self.lang, key)

    def heading(self, key: str) -> Text:
        return Text((self.word(key),))

    def math_list(self, symbols: Sequence[sp.Symbol], limit: int = 12) -> Text:
        """``x1, x2, …`` as inline formulas separated by commas."""
        shown = Text.joined(symbols[:limit], ", ")
        return shown if len(symbols) <= limit else Text(shown.parts + (f", … ({len(symbols)})",))

    @property
    def summary_width(self) -> int | None:
        """Layers wider than this collapse in the drawings (automatic for large graphs)."""
        if self.summary is None and len(self.graph.nodes) + len(self.graph.inputs) > SUMMARY_THRESHOLD:
            return SUMMARY_WIDTH
        return self.summary

    def figure(self, name: str, caption: Text, wrt=None) -> Figure:
        summary = self.summary_width
        legend = None if wrt is None else legend_title(self.lang, wrt.name, self.bp.path_counts.get(wrt, 0))
        return Figure(name, draw(self.graph, wrt=wrt, of=self.bp.of, summary=summary, max_paths=self.max_paths,
                                 legend_title=legend), caption)


# -- sections ----------------------------------------------------------------------------------------

def _addends(expr: sp.Expr) -> tuple:
    """A definition as one term, or, a sum too wide for a line (a loss over many outputs), as
    its addends, which the page then breaks between."""
    if expr.is_Add and printed_length(LATEX.doprint(expr)) > LINE_WIDTH:
        return tuple((term,) for term in LATEX._as_ordered_terms(expr))
    return ((expr,),)


def network_section(ctx: Context) -> Section:
    g, of = ctx.graph, ctx.bp.of
    summary = ctx.summary_width
    caption = ctx.text("network_caption") if summary is None else ctx.text("summary_caption", k=summary)
    figure = ctx.figure("network", caption)
    rows = tuple(Row(node, _addends(expr)) for node, expr in g.definitions.items())
    return Section(ctx.heading("network"), blocks(
        ctx.text("network_text", inputs=ctx.math_list(g.inputs), count=len(g.parameters), of=Math(of)),
        figure,
        ctx.text("forward_text"),
        Equations(rows)))


def _sweep_rows(ctx: Context, nodes: Sequence[sp.Symbol]) -> list[Row]:
    """``δ_v = Σ δ_w · ∂w/∂v`` and its local partials, for ``nodes`` from the output back."""
    bp = ctx.bp
    rows = [Row(Adjoint(bp.of), ((sp.S.One,),))]
    for v in reversed(bp.nodes):
        if v == bp.of or v not in nodes:
            continue
        children = bp.children(v)
        rows.append(Row(Adjoint(v), tuple((Adjoint(w), Partial(w, v)) for w in children)))
        rows.append(Row(None, tuple((Adjoint(w), bp.partials[(v, w)]) for w in children)))
    return rows


def _parameter_rows(ctx: Context, p: sp.Symbol) -> list[Row]:
    bp = ctx.bp
    children = bp.children(p)
    return [Row(Partial(bp.of, p), tuple((Adjoint(v), Partial(v, p)) for v in children)),
            Row(None, tuple((Adjoint(v), bp.partials[(p, v)]) for v in children))]


def backward_section(ctx: Context) -> Section:
    bp, g = ctx.bp, ctx.graph
    v = sp.Symbol("v")
    w = sp.Symbol("w")
    rule = Math(sp.Eq(Adjoint(v), SumOver(sp.Mul(Adjoint(w), Partial(w, v), evaluate=False), w)))
    parameter_rows = [row for p in g.parameters if p in bp.relevant for row in _parameter_rows(ctx, p)]
    enumerate_cost, sweep = multiplication_counts(bp)
    paths_total = sum(enumerate_cost.get(p, 0) for p in g.parameters)
    return Section(ctx.heading("backward"), blocks(
        ctx.text("backward_text", delta=Math(sp.Eq(Adjoint(v), Partial(bp.of, v))), of=Math(bp.of),
                 v=Math(v), start=Math(sp.Eq(Adjoint(bp.of), 1)), rule=rule, delta2=Math(Adjoint(v))),
        Equations(tuple(_sweep_rows(ctx, bp.nodes))),
        ctx.text("backward_params"),
        Equations(tuple(parameter_rows)),
        ctx.text("cost_all", n=ctx.count("all_parameters", len(g.parameters)),
                 paths=ctx.count("multiplications", paths_total),
                 sweep=ctx.count("multiplications", sweep), start=Math(sp.Eq(Adjoint(bp.of), 1)),
                 saved=ctx.count("multiplications", paths_total - sweep))))


def parameter_section(ctx: Context, p: sp.Symbol, index: int) -> Section:
    bp, g = ctx.bp, ctx.graph
    of = bp.of
    title = ctx.text("parameter", p=Math(p))
    d = derive(g, p, of, ctx.max_paths)
    if not d.paths:
        return Section(title, blocks(ctx.text("no_paths", of=Math(of), p=Math(p))))
    n = len(d.paths)
    figure = ctx.figure(f"paths_{index:02d}_{p.name}", ctx.text("paths_caption", p=Math(p), of=Math(of)), wrt=p)
    leibniz, closed = leibniz_rows(d), closed_rows(d)
    children = bp.children(p)
    formula = Math(sp.Add(*[Adjoint(v) * Partial(v, p) for v in children]))
    sharers = [q for q in g.parameters if q != p and set(bp.children(q)) & set(children)]
    shared = (ctx.text("shared_text", formula=formula, delta=Math(Adjoint(children[0])),
                       others=ctx.math_list(sharers))
              if sharers and len(children) == 1 else ctx.text("shared_none", formula=formula))
    on_paths = downstream(bp, p)
    upstream = [v for v in bp.nodes if v in on_paths]
    inline = len(upstream) <= INLINE_SWEEP_LIMIT
    enumerate_cost, _ = multiplication_counts(bp)
    return Section(title, blocks(
        figure,
        ctx.text("paths_text", are=ctx.count("are", n), count=ctx.count("paths_count", n),
                 p=Math(p), of=Math(of)),
        Equations(tuple(leibniz)),
        ctx.text("closed_text"),
        Equations(tuple(closed)),
        shared,
        Equations(tuple(_parameter_rows(ctx, p))),
        ctx.text("sweep_text") if inline else ctx.text("sweep_reference"),
        Equations(tuple(_sweep_rows(ctx, upstream))) if inline else None,
        ctx.text("cost_one", p=Math(p), paths=ctx.count("multiplications", enumerate_cost[p]),
                 sweep=ctx.count("multiplications_against", _sweep_cost(bp, p)))))


def _leaf_table(ctx: Context) -> Table:
    g, point = ctx.graph, ctx.point
    leaves = [s for s in g.inputs + g.targets + g.parameters + g.constants]
    return Table((ctx.word("col_symbol"), ctx.word("col_value")),
                 tuple((Math(s), Math(number(point.values[s]))) for s in leaves))


def _binding_text(ctx: Context) -> Text:
    names = undefined_functions(ctx.graph)
    if not names:
        return ctx.text("example_text_plain")
    key = "bound_given" if ctx.functions_given or ctx.graph.metadata.get("bind") else "bound_default"
    bound = ", ".join(f"{name} = " + paragraph(template(ctx.lang, key), name=ctx.point.binding[name]).parts[0]
                      for name in names)
    return ctx.text("example_text", f=", ".join(names), bound=bound)


def _forward_table(ctx: Context, blank: bool = False) -> Table:
    point = ctx.point
    return Table((ctx.word("col_symbol"), ctx.word("col_definition"), ctx.word("col_value")),
                 tuple((Math(v), Math(expr), "" if blank else Math(number(point.values[v])))
                       for v, expr in ctx.graph.definitions.items()))


def _backward_table(ctx: Context, blank: bool = False) -> Table:
    bp, point = ctx.bp, ctx.point
    return Table((ctx.word("col_symbol"), ctx.word("col_adjoint")),
                 tuple((Math(Adjoint(v)), "" if blank else Math(number(point.adjoints[v])))
                       for v in reversed(bp.nodes)))


def _gradient_rows(ctx: Context) -> list[Row]:
    bp, point = ctx.bp, ctx.point
    rows = []
    for p in ctx.wrt:
        d = derive(ctx.graph, p, bp.of, ctx.max_paths)
        if len(d.paths) > 1:
            products = tuple((number(sp.prod(point.partials[(u, v)] for u, v in zip(path.nodes, path.nodes[1:]))),)
                             for path in d.paths)
            rows.append(Row(Partial(bp.of, p), products))
            rows.append(Row(None, ((number(point.adjoints.get(p, 0.0)),),)))
        else:
            rows.append(Row(Partial(bp.of, p), ((number(point.adjoints.get(p, 0.0)),),)))
    return rows


def example_section(ctx: Context) -> Section:
    return Section(ctx.heading("example"), blocks(
        _binding_text(ctx), _leaf_table(ctx),
        ctx.text("forward_values"), _forward_table(ctx),
        ctx.text("backward_values"), _backward_table(ctx),
        ctx.text("gradient_values", of=Math(ctx.bp.of)),
        Equations(tuple(_gradient_rows(ctx)))), new_page=True)


# -- optional sections ------------------------------------------------------------------------------

_OPTIMIZER_NOTES = {"Momentum": "erratum_momentum", "AdaGrad": "erratum_adagrad", "Adam": "note_adam"}


def default_optimizers() -> list:
    """The lecture's four rules, with a step size that moves the example visibly."""
    return [optim.GD(lr=0.05), optim.Momentum(lr=0.05, alpha=0.9), optim.AdaGrad(lr=0.05), optim.Adam(lr=0.05)]


def _objective_text(ctx: Context) -> list:
    """Which objective Q the steps descend, with its gradient when the derivations above are
    of another node (the prediction ``a`` of a loss ``L``)."""
    Q, of = ctx.objective, ctx.bp.of
    if Q == of:
        return [ctx.text("optimizers_text", of=Math(of))]
    point = ctx.objective_point
    rows = tuple(Row(Partial(Q, p), ((number(point.adjoints.get(p, 0.0)),),)) for p in ctx.wrt)
    return [ctx.text("optimizers_loss_text", Q=Math(Q), of=Math(of)), Equations(rows)]


def optimizer_section(ctx: Context) -> Section | None:
    optimizers = ctx.optimizers if ctx.optimizers is not None else default_optimizers()
    if not optimizers:
        return None
    g, point = ctx.graph, ctx.objective_point
    params = np.array(point.parameters(), dtype=float)
    grad = np.array(point.gradient(), dtype=float)
    chosen = [g.parameters.index(p) for p in ctx.wrt]
    parts: list = _objective_text(ctx)
    Q = Math(ctx.objective)
    header = (ctx.word("col_optimizer"),) + tuple(Math(g.parameters[i]) for i in chosen) + (Q,)
    rows = [("θ₀",) + tuple(Math(number(params[i])) for i in chosen) + (Math(number(point.values[ctx.objective])),)]
    for optimizer in optimizers:
        name = type(optimizer).__name__
        shown = say(ctx.lang, f"opt_{name}") if has_string(ctx.lang, f"opt_{name}") else name
        with np.errstate(all="ignore"):
            stepped, _ = optimizer.step(params.copy(), grad.copy(), optimizer.init(params.copy()))
        if not np.all(np.isfinite(stepped)):
            raise SymbackpropError(f"one step of {name} overflows at the example's values; "
                                   "choose smaller values")
        parts.append(Text((f"{shown}:",)))
        parts.append(Formula(optimizer.latex()))
        if name in _OPTIMIZER_NOTES:
            parts.append(ctx.text(_OPTIMIZER_NOTES[name]))
        rows.append((shown,) + tuple(Math(number(stepped[i])) for i in chosen)
                    + (Math(number(ctx.objective_after(stepped))),))
    parts += [ctx.text("optimizer_after", Q=Q), Table(header, tuple(rows))]
    return Section(ctx.heading("optimizers"), blocks(parts))


def layers_section(ctx: Context) -> Section | None:
    """The matrix view, when the graph is a dense network (None otherwise)."""
    try:
        view = derive_layers(ctx.graph)
    except NotDenseError:
        return None
    return Section(ctx.heading("layers"), blocks(ctx.text("layers_text"), Formula(view.latex())))


# -- exercises ----------------------------------------------------------------------------------------

def exercise_questions(ctx: Context) -> list[Question]:
    bp, g, point = ctx.bp, ctx.graph, ctx.point
    questions: list[Question] = []

    def ask(prompt: Text, answer, lines: int = 1, blanks: tuple = ()):
        questions.append(Question(len(questions) + 1, prompt, blocks(answer), lines, blanks))

    for p in ctx.wrt:
        d = derive(g, p, bp.of, ctx.max_paths)
        route = [Text.joined(path.nodes, " → ") for path in d.paths]
        ask(ctx.text("q_paths", p=Math(p), of=Math(bp.of)),
            [Text((ctx.count("paths_count", len(d.paths)),))] + route, lines=2)
        if d.paths:
            ask(ctx.text("q_leibniz", d=Math(Partial(bp.of, p))), Equations(tuple(leibniz_rows(d))), lines=3)
            ask(ctx.text("q_closed"), Equations(tuple(closed_rows(d))), lines=3)
    ask(ctx.text("q_forward"), _forward_table(ctx), lines=0)
    ask(ctx.text("q_backward"), _backward_table(ctx), lines=0)
    chosen = ctx.math_list(ctx.wrt)
    ask(ctx.text("q_gradient", of=Math(bp.of), params=chosen), Equations(tuple(_gradient_rows(ctx))),
        lines=0, blanks=tuple(Partial(bp.of, p) for p in ctx.wrt))
    # The step descends the objective (the loss, when the graph has one), as the handout's step does.
    objective = ctx.objective_point
    step = [Row(p, ((number(point.values[p] - EXERCISE_STEP * objective.adjoints.get(p, 0.0)),),))
            for p in ctx.wrt]
    ask(ctx.text("q_step", lr=EXERCISE_STEP, Q=Math(ctx.objective), params=chosen), Equations(tuple(step)),
        lines=0, blanks=tuple(ctx.wrt))
    return questions


def worksheet_sections(ctx: Context, questions: list[Question]) -> list[Section]:
    """The questions with blanks; the tables to fill come with their value columns empty."""
    blanks = {len(questions) - 3: _forward_table(ctx, blank=True), len(questions) - 2: _backward_table(ctx, blank=True)}
    shown: list = [ctx.text("given_values"), _leaf_table(ctx)]
    for q in questions:
        shown.append(q)
        if q.number in blanks:
            shown.append(blanks[q.number])
    return [Section(ctx.heading("exercises"), blocks(shown))]


def answer_sections(ctx: Context, questions: list[Question]) -> list[Section]:
    return [Section(ctx.heading("answers"), blocks(ctx.text("answer_key_note"), questions))]


# -- the whole document ---------------------------------------------------------------------------------

def _network_name(graph: Graph) -> str:
    return f"{', '.join(map(str, graph.inputs))} → {graph.output}" if graph.inputs else str(graph.output)


def build(ctx: Context, exercises: bool = False) -> tuple[Document, Document | None]:
    """The handout, or with ``exercises`` the worksheet and its separate answer key."""
    lang = ctx.lang
    subtitle = "".join(paragraph(template(lang, "subtitle"), network=_network_name(ctx.graph)).parts)
    intro = Section(Text(()), blocks(ctx.text("intro")))
    derivation = [backward_section(ctx)]
    derivation += [parameter_section(ctx, p, i) for i, p in enumerate(ctx.wrt, 1)]
    derivation += [example_section(ctx), optimizer_section(ctx), layers_section(ctx)]
    derivation = [s for s in derivation if s is not None]
    if not exercises:
        return Document(ctx.word("title"), subtitle, lang,
                        tuple([intro, network_section(ctx)] + derivation)), None
    questions = exercise_questions(ctx)
    worksheet = Document(ctx.word("worksheet_title"), subtitle, lang,
                         tuple([intro, network_section(ctx)] + worksheet_sections(ctx, questions)))
    answers = Document(ctx.word("answers_title"), subtitle, lang,
                       tuple(answer_sections(ctx, questions) + derivation))
    return worksheet, answers
