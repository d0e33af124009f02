"""Check a hand-computed derivative: is it right, and if not, which path or factor is wrong?

``verify(graph, wrt, answer)`` reads the answer with the one safe parser (plain math, or LaTeX
through ``answer_latex``), then:

1. **equivalence**: the answer and the derived ``∂of/∂wrt`` are compared at random points inside
   the derivative's domain, with each undefined activation replaced in turn by stand-ins that are
   neither odd nor even (``sampling``), relatively; when they agree, SymPy confirms symbolically
   if it can within a size bound. Too few points where the derivative is defined, and the
   verdict is "could not be checked"; an answer right only for the model's bound activation
   (``bind: f = tanh``) is a verdict of its own;
2. **diagnosis** (only for a wrong answer, within ``budget`` seconds): the answer is written as a
   combination of the path terms (coefficient 1 = present, 0 = missing, −1 = sign error);
   failing that, term by term: each answer term is matched to a path term, and a term that
   misses by one factor (``f`` for ``f'``, ``p21`` for ``p12``, a missing ``x1``, a sign) is
   reported as such. What does not fit in the budget is skipped, and the message says so.

Answers may use node names (``z1``), be fully expanded in the inputs, or contain Leibniz
factors of local partials (``∂a/∂m1``, ``partial(a, m1)``, ``\\frac{\\partial a}{\\partial m_1}``
for the edge m1 → a), which stand for their formulas; a factor that is not local (``∂a/∂w11``)
would restate the question and is refused.

>>> from symbackprop import lecture_network
>>> g = lecture_network()
>>> verify(g, "w11", "s1*f'(p11*z1+p21*z2)*p11*f'(w11*x1+w21*x2)*x1").message.splitlines()[0]
"✗ incomplete: 1 of 2 paths.  present: w11→z1→m1→a   missing: w11→z1→m2→a  (s2·f'(p12·z1 + p22·z2)·p12·f'(w11·x1 + w21·x2)·x1)"
>>> verify(g, "s1", "f(p11*f(w11*x1 + w21*x2) + p21*z2)").correct
True
"""

from __future__ import annotations

import itertools
import time
import weakref
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Mapping

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from ..core.derive import (DEFAULT_MAX_PATHS, Derivation, DirectPartial, Partial, Path, backprop, count_paths,
                           derive, gradient)
from ..core.errors import ParseError, SymbackpropError
from ..core.functions import activation, prime_base, prime_order, primes_from_derivatives
from ..core.graph import Graph
from ..numeric.sampling import MIN_POINTS, Samples, Values, undefined_function_names
from ..parsing.answer_latex import DIRECT_PARTIAL_NAME, PARTIAL_NAME, Translation, from_latex, from_plain
from ..render.printing import text
from . import feedback
from .dag import MAX_TREE, rebuilt, tree_size
from .feedback import LANGUAGES
from .notes import answer_notes

__all__ = ["verify", "Verdict", "WrongFactor", "Counterexample", "parse_answer", "MAX_ANSWER_LENGTH",
           "MAX_LATEX_LENGTH", "STATUSES"]

MAX_ANSWER_LENGTH = 3_000       # characters of plain math: a hand-written derivative is far shorter
MAX_LATEX_LENGTH = 4 * MAX_ANSWER_LENGTH    # LaTeX spells the same formula out at length
MAX_MONOMIALS = 2_000           # terms SymPy may produce when it expands an answer
MAX_TERMS = 200                 # answer terms matched one by one against the paths' terms
MAX_LISTED_PATHS = DEFAULT_MAX_PATHS    # more paths than this are counted, not enumerated
MAX_JOINT_PATHS = 48            # paths whose coefficients are solved for together (least squares)
MAX_REGROUPED = 12              # answer terms searched for pairs and triples that sum to a path's term
DEFAULT_BUDGET = 0.5            # seconds for the diagnosis of a wrong answer

# correct; incorrect; right only for the bound activation (so incorrect for the question);
# could not be checked (too few points where the derivative is defined).
STATUSES = ("correct", "incorrect", "correct_for_bound", "unchecked")


# -- the result -------------------------------------------------------------------------------

@dataclass(frozen=True)
class WrongFactor:
    """A term of the answer that is one change away from a path's term.

    ``kind``: ``derivative`` (``f`` where ``f'`` belongs, or the reverse), ``index`` (``p21``
    for ``p12``), ``symbol`` (another wrong symbol), ``factor`` (another wrong factor),
    ``missing_factor``, ``extra_factor``, ``sign`` or ``coefficient``. ``found`` and
    ``expected`` are the smallest differing pieces (``None`` for a missing or extra factor),
    ``context`` the answer's factor that holds ``found`` (when it is larger).
    """

    path: Path
    kind: str
    found: sp.Expr | None
    expected: sp.Expr | None
    context: sp.Expr | None = None


@dataclass(frozen=True)
class Counterexample:
    """A point where the answer and the derivative differ: leaf values, the functions that
    stood in for the undefined ones, and both values."""

    values: Mapping[sp.Symbol, Fraction]
    functions: Mapping[str, str]
    answer: float
    expected: float


@dataclass(frozen=True)
class Verdict:
    """The outcome of ``verify``.

    ``status`` is one of ``STATUSES``; ``correct`` is true for ``correct`` only.
    ``present``/``missing`` are paths, ``extra`` answer terms that match no path,
    ``wrong_factors`` near misses; ``method`` says how equality was decided (``symbolic``,
    ``numeric``, or ``none`` when it could not be checked), ``points`` at how many sample
    points the values were compared (``tried``: how many were drawn). ``path_count`` is the
    number of paths (``paths`` lists them unless there are more than ``MAX_LISTED_PATHS``);
    ``skipped`` says why the detailed diagnosis was left out (``budget``: it did not fit in
    ``budget`` seconds; ``paths``: too many paths), ``bound`` the bound activations an answer
    of status ``correct_for_bound`` is right for.
    """

    derivation: Derivation = field(repr=False)
    answer: sp.Expr
    correct: bool
    method: str
    status: str = "incorrect"
    present: tuple[Path, ...] = ()
    missing: tuple[Path, ...] = ()
    extra: tuple[sp.Expr, ...] = ()
    wrong_factors: tuple[WrongFactor, ...] = ()
    counterexample: Counterexample | None = None
    lang: str = "en"
    points: int = 0
    tried: int = 0
    path_count: int = 0
    skipped: str | None = None
    budget: float = DEFAULT_BUDGET
    bound: Mapping[str, str] | None = None

    @property
    def wrt(self) -> sp.Symbol:
        return self.derivation.wrt

    @property
    def of(self) -> sp.Symbol:
        return self.derivation.of

    @property
    def paths(self) -> tuple[Path, ...]:
        return self.derivation.paths

    @property
    def message(self) -> str:
        """The feedback, in ``lang`` (``en`` or ``ru``): a headline, then one line per finding."""
        return feedback.message(self, self.lang)

    def _repr_html_(self) -> str:
        """In a notebook: ✓/✗, the present and missing paths, the drawing highlighting them."""
        from .notebook import verdict_html  # display only: deriving and checking never need it

        return verdict_html(self)

    def mistakes(self, lang: str | None = None) -> tuple[str, ...]:
        """One short description per mistake (for counting common mistakes in a class)."""
        return feedback.mistakes(self, lang or self.lang)

    def expected_text(self) -> str:
        """The derivation as text (Leibniz products and path terms), or only the number of paths
        when they are too many to write out."""
        if self.paths or self.path_count == 0:
            return self.derivation.text()
        return feedback.too_many_paths(self, self.lang)

    @property
    def notes(self) -> tuple[str, ...]:
        """Stable codes of the findings (``missing_path:w11→z1→m2→a``, ``sign``), for grouping."""
        return answer_notes(self)

    def as_dict(self) -> dict:
        """The verdict as JSON-ready data (expressions as text; ``answer`` and ``expected`` are
        ``None`` when too large to print)."""
        def shown(expr):
            return None if expr is None else text(expr)

        example = self.counterexample
        closed_form = self.derivation.closed_form
        return {
            "wrt": str(self.wrt), "of": str(self.of), "correct": self.correct, "status": self.status,
            "method": self.method, "points": self.points, "path_count": self.path_count,
            "answer": _printed(self.answer), "expected": _printed(closed_form),
            "present": [str(p) for p in self.present],
            "missing": [{"path": str(p), "term": text(p.term)} for p in self.missing],
            "extra": [text(t) for t in self.extra],
            "wrong_factors": [{"path": str(w.path), "kind": w.kind, "found": shown(w.found),
                               "expected": shown(w.expected), "context": shown(w.context)}
                              for w in self.wrong_factors],
            "diagnosis_skipped": self.skipped, "bound": None if self.bound is None else dict(self.bound),
            "counterexample": None if example is None else {
                "values": {str(k): float(v) for k, v in example.values.items()},
                "functions": dict(example.functions), "answer": _json_number(example.answer),
                "expected": _json_number(example.expected)},
            "mistakes": list(self.mistakes()), "notes": list(self.notes), "message": self.message}

    def __str__(self) -> str:
        return self.message


def _printed(expr: sp.Expr) -> str | None:
    """``expr`` as text, or ``None`` when it is too large to print."""
    return text(expr) if tree_size(expr) <= MAX_TREE else None


def _json_number(x: float) -> float | None:
    """JSON has no NaN or infinity: an undefined value is ``null``."""
    return x if np.isfinite(x) else None


# -- reading the answer -------------------------------------------------------------------------

def parse_answer(graph: Graph, answer: str, format: str = "plain", question: tuple | None = None) -> sp.Expr:
    """The ``answer`` text (``format`` ``plain`` or ``latex``) as an expression over the graph's
    symbols, Leibniz factors of local partials replaced by their formulas (``question``, the
    pair ``(of, wrt)`` asked about, may not stand for itself). Everything goes through the safe
    parser; an unknown name is an error with a did-you-mean. A LaTeX answer may be
    ``MAX_LATEX_LENGTH`` characters long, its plain translation ``MAX_ANSWER_LENGTH``."""
    if not isinstance(answer, str):
        raise ParseError(f"the answer must be text, not {type(answer).__name__}")
    if format not in ("plain", "latex"):
        raise SymbackpropError(f"unknown answer format {format!r}; use 'plain' or 'latex'")
    _check_length(len(answer), MAX_LATEX_LENGTH if format == "latex" else MAX_ANSWER_LENGTH)
    if not answer.strip():
        raise ParseError("the answer is empty")
    declared = {name: sp.Function(name) for name in undefined_function_names(graph)}
    partials = {name: sp.Function(name) for name in (PARTIAL_NAME, DIRECT_PARTIAL_NAME)}
    functions = {**declared, **partials}
    symbols = {s.name: s for s in graph.nodes + graph.leaves}
    translation: Translation = from_latex(answer, functions, symbols) if format == "latex" else from_plain(answer)
    translation = translation.after_equals()
    _check_length(len(translation.text), MAX_ANSWER_LENGTH)
    expr = translation.parse(symbols=symbols, functions=functions, unknown_symbols="error")
    return _leibniz_factors(graph, expr, partials, translation, question)


def _check_length(length: int, limit: int) -> None:
    if length > limit:
        raise ParseError(f"the answer is too long ({length:,} characters; the limit is {limit:,})")


def _leibniz_factors(graph: Graph, expr: sp.Expr, partials: dict, translation: Translation,
                     question: tuple | None) -> sp.Expr:
    """``partial(v, u)`` (from ``∂v/∂u`` or ``\\frac{\\partial v}{\\partial u}``) and
    ``direct_partial(v, u)`` (from ``(∂v/∂u)_z``) → the formula of the local partial."""

    def formula(app: AppliedUndef) -> sp.Expr:
        name = app.func.__name__
        written = translation.text.find(f"{name}({', '.join(map(str, app.args))})")
        at = written if written >= 0 else translation.text.find(name)
        if len(app.args) != 2 or not all(isinstance(a, sp.Symbol) for a in app.args):
            raise translation.error("a Leibniz factor ∂v/∂u relates two names of the network", at)
        try:
            return _partial_formula(graph, *app.args, question if name == PARTIAL_NAME else None)
        except SymbackpropError as error:
            raise translation.error(str(error), at) from None

    return expr.replace(lambda e: isinstance(e, AppliedUndef) and e.func in partials.values(), formula)


def _partial_formula(graph: Graph, of: sp.Symbol, wrt: sp.Symbol, question: tuple | None = None) -> sp.Expr:
    """∂of/∂wrt for an edge wrt → of: the local partial. Anything else is refused: a total
    derivative written as one Leibniz factor (``∂a/∂w11``), or the ``question`` ``(of, wrt)``
    itself, restates what is asked."""
    if (of, wrt) == question:
        raise SymbackpropError(f"∂{of}/∂{wrt} is the question itself: write it out (its formula, or "
                               "the local partials along each path)")
    if of not in graph.definitions:
        raise SymbackpropError(f"in ∂{of}/∂{wrt}, {of} must be a node of the network "
                               f"(nodes: {', '.join(map(str, graph.nodes))})")
    if wrt == of:
        return sp.S.One
    if wrt not in graph.parents(of):
        raise SymbackpropError(
            f"∂{of}/∂{wrt} is not a local partial: {wrt} does not appear in {of} = "
            f"{text(graph.definitions[of])}; write it out (a Leibniz factor ∂v/∂u may only stand "
            f"for an edge u → v, such as ∂{of}/∂{graph.parents(of)[0]})")
    return backprop(graph, of).partials[(wrt, of)]


# -- the truth, computed once per graph, parameter and output ----------------------------------

class _Truth:
    """The derivation, its values at the sample points, and (as far as a budget allows) the
    values of its paths' terms."""

    def __init__(self, graph: Graph, wrt, of):
        closed_form = gradient(graph, wrt, of)             # refuses a node or an unknown name
        leaf, of = graph.symbol(wrt), backprop(graph, of).of
        self.path_count = count_paths(graph, leaf, of)
        if self.path_count <= MAX_LISTED_PATHS:
            self.derivation = derive(graph, leaf, of, max_paths=MAX_LISTED_PATHS)
        else:
            self.derivation = Derivation(graph, leaf, of, (), closed_form)
        listed = min(len(self.derivation.paths), MAX_JOINT_PATHS)
        self.samples = Samples(graph, count=max(12, listed + 8), defined=closed_form)
        self.vector = self.samples.vector(closed_form)
        self.fold = {definition: node for node, definition in graph.definitions.items() if not definition.is_Atom}
        self._rows: list[Values] = []
        self._path_values: Values | None = None
        self._bound: Samples | None = None

    def path_values(self, deadline: float) -> Values | None:
        """Each path term's values (one row per path), or ``None`` if the deadline comes first;
        the rows computed so far are kept for the next answer."""
        paths = self.derivation.paths
        while len(self._rows) < len(paths):
            if time.monotonic() > deadline:
                return None
            self._rows.append(Values.product([self.samples.vector(f) for f in paths[len(self._rows)].factors]))
        if self._path_values is None:
            self._path_values = Values.stacked(self._rows)
        return self._path_values

    def bound_samples(self) -> Samples | None:
        """Sample points with every undefined function replaced by the activation the model binds
        it to (``bind: f = tanh``), or ``None`` if some function is not bound."""
        graph = self.derivation.graph
        bind, names = graph.metadata.get("bind") or {}, undefined_function_names(graph)
        if not names or any(name not in bind for name in names):
            return None
        if self._bound is None:
            functions = {name: activation(bind[name], name) for name in names}
            self._bound = Samples(graph, count=12, defined=self.derivation.closed_form, functions=functions)
        return self._bound

    def folded(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with node names wherever a node's formula appears (bottom-up, so that
        ``f(p11·f(w11·x1 + w21·x2) + …)`` becomes ``m1``)."""
        return rebuilt(expr, lambda e: self.fold.get(e, e))


_TRUTHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _truth(graph: Graph, wrt, of) -> _Truth:
    cache = _TRUTHS.setdefault(graph, {})
    key = (graph.symbol(wrt), backprop(graph, of).of)
    if key not in cache:
        cache[key] = _Truth(graph, wrt, of)
    return cache[key]


# -- the check ------------------------------------------------------------------------------------

def verify(graph: Graph, wrt, answer: str | sp.Expr | None = None, of=None, lang: str = "en", *,
           answer_latex: str | None = None, format: str = "plain",
           budget: float = DEFAULT_BUDGET) -> Verdict:
    """Check ``answer`` for ``∂of/∂wrt`` (``of`` defaults to the graph's output).

    ``answer`` is plain math text (``format="latex"`` for LaTeX) or a SymPy expression
    (SymPy's own ``diff``, or a ``Derivation.leibniz`` product, are accepted as they are);
    ``answer_latex=`` is the same as ``answer=…, format="latex"``. ``lang`` (``en``/``ru``)
    is the language of ``.message``. ``budget`` bounds, in seconds, the diagnosis of a wrong
    answer (when it does not fit, the verdict comes without it and says so); the rest is
    bounded by size limits.

    >>> from symbackprop import lecture_network
    >>> v = verify(lecture_network(), "p12", "s2*f(p12*z1 + p22*z2)*z1")
    >>> v.correct, v.wrong_factors[0].kind
    (False, 'derivative')
    """
    if lang not in LANGUAGES:
        raise SymbackpropError(f"unknown language {lang!r}; use {' or '.join(LANGUAGES)}")
    if answer_latex is not None:
        if answer is not None:
            raise SymbackpropError("give the answer once: answer= or answer_latex=")
        answer, format = answer_latex, "latex"
    if answer is None:
        raise SymbackpropError("no answer to check")
    deadline = time.monotonic() + budget
    # The answer first: a hostile or malformed one is refused before anything is derived.
    question = (graph.output if of is None else graph.symbol(of), graph.symbol(wrt))
    expr = (_as_answer(graph, answer, question) if isinstance(answer, sp.Basic)
            else parse_answer(graph, answer, format, question))
    truth = _truth(graph, wrt, of)
    samples = truth.samples
    common = dict(derivation=truth.derivation, answer=expr, lang=lang, points=len(samples),
                  tried=samples.tried, path_count=truth.path_count, budget=budget)
    if len(samples) < MIN_POINTS:
        return Verdict(correct=False, status="unchecked", method="none", **common)
    values = samples.vector(expr)
    agree = samples.equal(values, truth.vector)
    if agree.all():
        method = "symbolic" if _symbolically_equal(truth, expr) else "numeric"
        return Verdict(correct=True, status="correct", method=method, present=truth.derivation.paths, **common)
    counterexample = _counterexample(truth, expr, values, agree)
    bound = _right_for_bound_activations(truth, expr)
    findings, skipped = _diagnose(truth, expr, values, deadline)
    return Verdict(correct=False, status="incorrect" if bound is None else "correct_for_bound", method="numeric",
                   bound=bound, counterexample=counterexample, skipped=skipped, **findings, **common)


def _as_answer(graph: Graph, expr: sp.Basic, question: tuple) -> sp.Expr:
    """A SymPy answer: symbols matched to the graph's by name, SymPy's derivatives of ``f``
    written as ``f'``, Leibniz factors (``Derivation.leibniz``) replaced by their formulas."""
    if not isinstance(expr, sp.Expr):
        raise SymbackpropError(f"the answer is not an expression: {expr}")

    def as_prime(e):
        return primes_from_derivatives(e) if isinstance(e, (sp.Derivative, sp.Subs)) else None

    def matched(e):
        if isinstance(e, sp.Symbol):
            return graph.symbol(e.name)         # an unknown name is an error with a did-you-mean
        if isinstance(e, Partial):
            return _partial_formula(graph, e.of, e.wrt, None if isinstance(e, DirectPartial) else question)
        return e

    return rebuilt(expr, matched, as_prime)


def _symbolically_equal(truth: _Truth, expr: sp.Expr) -> bool:
    """SymPy's verdict, tried only when expanding cannot blow up (bounded time)."""
    closed_form = truth.derivation.closed_form
    if tree_size(closed_form) > MAX_TREE or tree_size(expr) > MAX_TREE:
        return False
    difference = truth.folded(expr) - closed_form
    if _expansion_size(difference) > MAX_MONOMIALS:
        return False
    return sp.expand(difference) == 0


def _right_for_bound_activations(truth: _Truth, expr: sp.Expr) -> dict[str, str] | None:
    """``{f: "tanh"}`` if the answer equals the derivative once every undefined function is the
    activation the model binds it to (``1 - z1^2`` for ``f'(…)`` with ``bind: f = tanh``)."""
    samples = truth.bound_samples()
    if samples is None or len(samples) < MIN_POINTS:
        return None
    closed_form = truth.derivation.closed_form
    if not samples.equal(samples.vector(expr), samples.vector(closed_form)).all():
        return None
    bind = truth.derivation.graph.metadata["bind"]
    return {name: bind[name] for name in undefined_function_names(truth.derivation.graph)}


def _expansion_size(expr: sp.Expr) -> int:
    """An upper bound on the number of terms ``sp.expand(expr)`` produces (capped); ``expr``
    is small enough to walk (``tree_size``)."""
    cap = 10 * MAX_MONOMIALS
    if expr.is_Add:
        return min(cap, sum(_expansion_size(a) for a in expr.args))
    if expr.is_Mul:
        size = 1
        for a in expr.args:
            size = min(cap, size * _expansion_size(a))
        return size
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        return min(cap, _expansion_size(expr.base) ** min(int(expr.exp), 64))
    return 1 + sum(_expansion_size(a) - 1 for a in expr.args if not a.is_Atom)


def _leaves_used(graph: Graph, exprs) -> set[sp.Symbol]:
    """The leaves that ``exprs`` depend on, directly or through the nodes they name (each
    shared subexpression visited once)."""
    seen: set = set()
    stack = list(exprs)
    while stack:
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        if e in graph.definitions:
            stack.extend(graph.parents(e))
        else:
            stack.extend(e.args)
    return {s for s in seen if isinstance(s, sp.Symbol) and s not in graph.definitions}


def _counterexample(truth: _Truth, expr: sp.Expr, values: Values, agree: np.ndarray) -> Counterexample:
    index = int(np.flatnonzero(~agree)[0])
    leaves, functions = truth.samples.point(index)
    graph = truth.derivation.graph
    used = _leaves_used(graph, [truth.derivation.closed_form, expr])
    order = graph.inputs + graph.targets + graph.parameters + graph.constants
    shown = {leaf: leaves[leaf] for leaf in order if leaf in used}
    return Counterexample(shown, functions, float(values.value[index]), float(truth.vector.value[index]))


# -- diagnosis ----------------------------------------------------------------------------------

def _diagnose(truth: _Truth, expr: sp.Expr, values: Values, deadline: float) -> tuple[dict, str | None]:
    """``present``, ``missing``, ``extra`` and ``wrong_factors`` for a wrong answer, and why
    they were not found (``budget`` or ``paths``), if they were not."""
    paths = truth.derivation.paths
    if not paths:
        return {}, "paths" if truth.path_count else None
    rows = truth.path_values(deadline)
    if rows is None:
        return {}, "budget"
    with np.errstate(all="ignore"):
        by_paths = _as_path_combination(truth, rows, values)
    if by_paths is not None:
        return by_paths, None
    found = _term_by_term(truth, expr, rows, deadline)
    return (found, None) if found is not None else ({}, "budget")


def _nice(x: float) -> Fraction | None:
    """``x`` as a fraction with a small denominator, if it is one."""
    if not np.isfinite(x):
        return None
    fraction = Fraction(x).limit_denominator(12)
    return fraction if abs(float(fraction) - x) < 1e-6 * max(1.0, abs(x)) else None


def _as_path_combination(truth: _Truth, rows: Values, values: Values) -> dict | None:
    """The answer as ``Σ c_i · path_i`` with simple coefficients, if it is one: solved for all
    coefficients together when the paths are few, else for one path whose coefficient is off."""
    paths = truth.derivation.paths
    finite = np.isfinite(values.value) & np.isfinite(truth.vector.value) & np.isfinite(rows.value).all(axis=0)
    if len(paths) <= MAX_JOINT_PATHS:
        basis = rows.value[:, finite].T
        if finite.sum() <= len(paths) or np.linalg.matrix_rank(basis) < len(paths):
            return None
        coefficients = [_nice(c) for c in np.linalg.lstsq(basis, values.value[finite], rcond=None)[0]]
    else:
        coefficients = _one_path_off(truth, rows, values, finite)
    if coefficients is None or None in coefficients:
        return None
    combined = Values.weighted_sum(np.array([float(c) for c in coefficients]), rows)
    if not truth.samples.equal(combined, values)[finite].all():
        return None
    found = dict(present=[], missing=[], wrong_factors=[])
    for path, c in zip(paths, coefficients):
        if c == 1:
            found["present"].append(path)
        elif c == 0:
            found["missing"].append(path)
        else:
            kind = "sign" if c == -1 else "coefficient"
            found["wrong_factors"].append(WrongFactor(path, kind, _number(c), sp.S.One))
    return {k: tuple(v) for k, v in found.items()}


def _one_path_off(truth: _Truth, rows: Values, values: Values, finite: np.ndarray) -> list | None:
    """Coefficients if the answer is the derivative times a number (all the same), or differs
    from it by a multiple of a single path's term (all 1 but one): the ratio is the same at
    every point."""
    if finite.sum() < 2:
        return None
    scale = _constant_ratio(values.value[finite], truth.vector.value[finite])
    if scale is not None:
        return [scale] * len(rows.value)
    difference = (values.value - truth.vector.value)[finite]
    ratios = difference / rows.value[:, finite]
    spread = np.ptp(ratios, axis=1)
    level = np.abs(ratios).max(axis=1)
    for i in np.flatnonzero(np.isfinite(spread) & (spread <= 1e-6 * np.maximum(1.0, level))):
        c = _nice(float(np.median(ratios[i])))
        if c is not None:
            coefficients = [Fraction(1)] * len(rows.value)
            coefficients[i] = 1 + c
            return coefficients
    return None


def _constant_ratio(a: np.ndarray, b: np.ndarray) -> Fraction | None:
    """``a / b`` if it is the same simple number at every point."""
    with np.errstate(all="ignore"):
        ratios = a / b
    if not np.isfinite(ratios).all() or np.ptp(ratios) > 1e-6 * max(1.0, float(np.abs(ratios).max())):
        return None
    return _nice(float(np.median(ratios)))


def _number(c: Fraction) -> sp.Rational:
    return sp.Rational(c.numerator, c.denominator)


@dataclass(frozen=True)
class _Terms:
    """The terms an answer's terms are matched against: their values (one row per term), the
    path each belongs to, and the terms themselves (built only when compared one by one)."""

    values: Values
    path_of: np.ndarray
    exprs: object         # index → expression (a list, or the paths' terms built on demand)


class _PathTerms:
    """``paths[i].term``, built when first asked for (a product per path costs time)."""

    def __init__(self, paths):
        self.paths = paths

    def __getitem__(self, i: int) -> sp.Expr:
        return self.paths[i].term


def _term_by_term(truth: _Truth, expr: sp.Expr, rows: Values, deadline: float) -> dict | None:
    """Match the answer's terms to the paths' terms in several views, and keep the view with
    the fewest findings (terms unexplained, paths missing, wrong factors): the answer as one
    term (a single path written ``(a - y)``), its terms as written against whole path terms,
    then both expanded into monomials. ``None`` if the deadline comes first."""
    paths = truth.derivation.paths
    samples = truth.samples
    whole = _Terms(rows, np.arange(len(paths)), _PathTerms(paths))
    views = [([expr], whole)] if expr.is_Add else []
    views.append((sp.Add.make_args(expr), whole))
    folded = truth.folded(expr)
    if (len(paths) <= MAX_TERMS and tree_size(folded) <= MAX_TREE and _expansion_size(folded) <= MAX_TERMS
            and sum(_expansion_size(p.term) for p in paths) <= MAX_TERMS):
        monomials = [(i, m) for i, p in enumerate(paths) for m in sp.Add.make_args(sp.expand(p.term))]
        views.append((sp.Add.make_args(sp.expand(folded)), _Terms(
            Values.stacked([samples.vector(m) for _, m in monomials]),
            np.array([i for i, _ in monomials]), [m for _, m in monomials])))
    best, best_score = None, None
    for answer_terms, terms in views:
        if len(answer_terms) > MAX_TERMS:
            continue
        result = _match(truth, answer_terms, terms, deadline)
        if result is None:
            return None
        # fewest findings; on a tie, the most paths found whole (m1 + extra, not "m1 + … for m1")
        score = (len(result["extra"]) + len(result["missing"]) + len(result["wrong_factors"]), -len(result["present"]))
        if best_score is None or score < best_score:
            best, best_score = result, score
    return best


def _match(truth: _Truth, answer_terms, terms: _Terms, deadline: float) -> dict | None:
    """Pair each answer term with a path term of equal value, else with one it misses by one
    change (``_near_miss``), else call it extra; a path none of whose terms was paired is
    missing. ``None`` if the deadline comes first."""
    samples, paths = truth.samples, truth.derivation.paths
    pending = np.ones(len(terms.path_of), bool)
    exact: set[int] = set()
    near: dict[int, list[WrongFactor]] = {}
    unexplained, rest = [], []
    for term in answer_terms:           # exact twins first: a near miss must not take a twin's path
        if time.monotonic() > deadline:
            return None
        twins = np.flatnonzero(pending & samples.equal(terms.values, samples.vector(term)).all(axis=1))
        if len(twins):
            pending[twins[0]] = False
            exact.add(int(terms.path_of[twins[0]]))
        else:
            rest.append(term)
    for group, path in _sums_of_terms(samples, rest, terms, pending):
        rest = [t for t in rest if t not in group]
        exact.add(path)
    for term in rest:
        for j in np.flatnonzero(pending):
            if time.monotonic() > deadline:
                return None
            path = int(terms.path_of[j])
            miss = _near_miss(truth, term, terms.exprs[j], paths[path])
            if miss is not None:
                pending[j] = False
                near.setdefault(path, []).append(miss)
                break
        else:
            unexplained.append(truth.folded(term))
    untouched = {int(i) for i in terms.path_of[pending]}
    wrong = [w for i in sorted(near) for w in dict.fromkeys(near[i])]
    return dict(
        present=tuple(p for i, p in enumerate(paths) if i in exact and i not in untouched and i not in near),
        missing=tuple(p for i, p in enumerate(paths) if i in untouched and i not in near),
        extra=tuple(unexplained),
        wrong_factors=tuple(wrong))


def _sums_of_terms(samples: Samples, rest: list, terms: _Terms, pending: np.ndarray):
    """``(terms, path)``: two or three answer terms whose sum is a pending path's term (SymPy
    flattens ``(a - y) + …`` into ``a - y + …``); each group found marks its path matched (in
    ``pending``)."""
    if not 2 <= len(rest) <= MAX_REGROUPED:
        return
    found = {t: samples.vector(t) for t in rest}
    for size in (2, 3):
        for group in itertools.combinations(rest, size):
            if any(t not in found for t in group):
                continue
            total = Values.weighted_sum(np.ones(size), Values.stacked([found[t] for t in group]))
            twins = np.flatnonzero(pending & samples.equal(terms.values, total).all(axis=1))
            if len(twins):
                pending[twins[0]] = False
                for t in group:
                    del found[t]
                yield group, int(terms.path_of[twins[0]])


def _factors(expr: sp.Expr) -> tuple[sp.Rational, list[sp.Expr]]:
    coefficient, rest = expr.as_coeff_Mul()
    return coefficient, [f for f in sp.Mul.make_args(rest) if f != 1]


def _same(truth: _Truth, a: sp.Expr, b: sp.Expr) -> bool:
    samples = truth.samples
    return bool(samples.equal(samples.vector(a), samples.vector(b)).all())


def _near_miss(truth: _Truth, term: sp.Expr, target: sp.Expr, path: Path) -> WrongFactor | None:
    """How ``term`` differs from ``target`` by one change, or ``None``.

    Factors are paired by value (so ``z1`` pairs with ``f(w11·x1 + w21·x2)``), up to sign.
    """
    samples = truth.samples
    c_term, f_term = _factors(term)
    c_target, f_target = _factors(target)
    vectors = {f: samples.vector(f) for f in f_term + f_target}
    sign, left = 1, list(f_target)
    unmatched = []
    for factor in f_term:
        for other in left:
            if samples.equal(vectors[factor], vectors[other]).all():
                left.remove(other)
                break
            if samples.equal(vectors[factor], -vectors[other]).all():
                left.remove(other)
                sign = -sign
                break
        else:
            unmatched.append(factor)
    ratio = sign * c_term / c_target
    if not unmatched and not left:
        kind = "sign" if ratio == -1 else "coefficient"
        return WrongFactor(path, kind, ratio, sp.S.One) if ratio != 1 else None
    if ratio != 1:
        return None
    if len(unmatched) == 1 and len(left) == 1:
        found, expected = truth.folded(unmatched[0]), truth.folded(left[0])
        return _classify(truth, path, found, expected)
    if not unmatched and len(left) == 1:
        return WrongFactor(path, "missing_factor", None, truth.folded(left[0]))
    if len(unmatched) == 1 and not left:
        return WrongFactor(path, "extra_factor", truth.folded(unmatched[0]), None)
    return None


def _classify(truth: _Truth, path: Path, found: sp.Expr, expected: sp.Expr) -> WrongFactor:
    """Name the difference between two factors, narrowed to the smallest differing piece."""
    found, expected = _unfolded(truth, found, expected), _unfolded(truth, expected, found)
    inner_found, inner_expected = _innermost_difference(truth, found, expected)
    context = found if inner_found != found else None
    if _is_derivative_mixup(truth, inner_found, inner_expected):
        return WrongFactor(path, "derivative", inner_found, inner_expected, context)
    if isinstance(inner_found, sp.Symbol) and isinstance(inner_expected, sp.Symbol):
        graph = truth.derivation.graph
        same_family = (graph.kind(inner_found) == graph.kind(inner_expected)
                       and inner_found.name.rstrip("0123456789_") == inner_expected.name.rstrip("0123456789_"))
        return WrongFactor(path, "index" if same_family else "symbol", inner_found, inner_expected, context)
    return WrongFactor(path, "factor", inner_found, inner_expected, context)


def _unfolded(truth: _Truth, factor: sp.Expr, other: sp.Expr) -> sp.Expr:
    """A node such as ``m2`` written as its formula ``f(p12·z1 + p22·z2)`` when the other
    factor is a function too, so that ``m2`` for ``f'(p12·z1 + p22·z2)`` reads as ``f`` for ``f'``."""
    definition = truth.derivation.graph.definitions.get(factor)
    if isinstance(definition, sp.Function) and isinstance(other, sp.Function):
        return definition
    return factor


def _is_derivative_mixup(truth: _Truth, found: sp.Expr, expected: sp.Expr) -> bool:
    """``f(u)`` for ``f'(u)`` (or ``f'`` for ``f``, ``f'`` for ``f''``): same function, same
    argument, another order of derivative."""
    if not (isinstance(found, AppliedUndef) and isinstance(expected, AppliedUndef)):
        return False
    if prime_base(found.func) != prime_base(expected.func) or len(found.args) != len(expected.args):
        return False
    same_argument = all(_same(truth, a, b) for a, b in zip(found.args, expected.args))
    return same_argument and prime_order(found.func) != prime_order(expected.func)


def _innermost_difference(truth: _Truth, found: sp.Expr, expected: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Descend while both are the same operation with exactly one differing argument:
    ``f'(p21·z1 + p22·z2)`` vs ``f'(p12·z1 + p22·z2)`` narrows to ``p21`` vs ``p12``."""
    while (found.func == expected.func and len(found.args) == len(expected.args) and found.args
           and not isinstance(found, sp.Symbol)):
        left, right = list(found.args), list(expected.args)
        for a in list(left):
            twin = next((b for b in right if _same(truth, a, b)), None)
            if twin is not None:
                left.remove(a)
                right.remove(twin)
        if len(left) != 1 or len(right) != 1:
            break
        found, expected = left[0], right[0]
    return found, expected
