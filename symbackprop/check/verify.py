"""Check a hand-computed derivative: is it right, and if not, which path or factor is wrong?

``verify(graph, wrt, answer)`` reads the answer with the one safe parser (plain math, or LaTeX
through ``answer_latex``), then:

1. **equivalence**: the answer and the derived ``∂of/∂wrt`` are compared at random points with
   the undefined activation replaced by several different smooth functions (``sampling``); when
   they agree, SymPy confirms symbolically if it can within a size bound;
2. **diagnosis** (only for a wrong answer): the answer is written as a combination of the path
   terms (least squares over the sample points: coefficient 1 = present, 0 = missing, −1 =
   sign error); failing that, term by term: each answer term is matched to a path term, and a
   term that misses by one factor (``f`` for ``f'``, ``p21`` for ``p12``, a missing ``x1``, a
   sign) is reported as such.

Answers may use node names (``z1``), be fully expanded in the inputs, or contain Leibniz
factors (``∂a/∂m1``, ``partial(a, m1)``, ``\\frac{\\partial a}{\\partial m_1}``), which
stand for the graph's local partials.

>>> from symbackprop import lecture_network
>>> g = lecture_network()
>>> verify(g, "w11", "s1*f'(p11*z1+p21*z2)*p11*f'(w11*x1+w21*x2)*x1").message.splitlines()[0]
"✗ incomplete: 1 of 2 paths.  present: w11→z1→m1→a   missing: w11→z1→m2→a  (s2·f'(p12·z1 + p22·z2)·p12·f'(w11·x1 + w21·x2)·x1)"
>>> verify(g, "s1", "f(p11*f(w11*x1 + w21*x2) + p21*z2)").correct
True
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Mapping

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from ..parsing.answer_latex import PARTIAL_NAME, Translation, from_latex, from_plain
from ..core.derive import Derivation, Partial, Path, backprop, derive
from ..core.errors import ParseError, SymbackpropError
from . import feedback
from .feedback import LANGUAGES
from .notes import answer_notes
from ..core.functions import prime_base, prime_order, primes_from_derivatives
from ..core.graph import Graph
from ..render.printing import text
from ..numeric.sampling import Samples, undefined_function_names

__all__ = ["verify", "Verdict", "WrongFactor", "Counterexample", "parse_answer", "MAX_ANSWER_LENGTH"]

MAX_ANSWER_LENGTH = 3_000       # characters: a hand-written derivative is far shorter
MAX_MONOMIALS = 2_000           # terms SymPy may produce when it expands an answer
MAX_TERMS = 200                 # answer terms matched one by one against the paths' terms
DEFAULT_BUDGET = 0.5            # seconds for the diagnosis of a wrong answer


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
    """The outcome of ``verify``. ``present``/``missing`` are paths, ``extra`` answer terms
    that match no path, ``wrong_factors`` near misses; ``method`` says how equality was
    decided (``symbolic`` or ``numeric``), ``points`` at how many sample points the values
    were compared."""

    derivation: Derivation = field(repr=False)
    answer: sp.Expr
    correct: bool
    method: str
    present: tuple[Path, ...] = ()
    missing: tuple[Path, ...] = ()
    extra: tuple[sp.Expr, ...] = ()
    wrong_factors: tuple[WrongFactor, ...] = ()
    counterexample: Counterexample | None = None
    lang: str = "en"
    points: int = 0

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

    @property
    def notes(self) -> tuple[str, ...]:
        """Stable codes of the findings (``missing_path:w11→z1→m2→a``, ``sign``), for grouping."""
        return answer_notes(self)

    def as_dict(self) -> dict:
        """The verdict as JSON-ready data (expressions as text)."""
        def shown(expr):
            return None if expr is None else text(expr)

        example = self.counterexample
        return {
            "wrt": str(self.wrt), "of": str(self.of), "correct": self.correct, "method": self.method,
            "answer": text(self.answer), "expected": text(self.derivation.closed_form),
            "present": [str(p) for p in self.present],
            "missing": [{"path": str(p), "term": text(p.term)} for p in self.missing],
            "extra": [text(t) for t in self.extra],
            "wrong_factors": [{"path": str(w.path), "kind": w.kind, "found": shown(w.found),
                               "expected": shown(w.expected), "context": shown(w.context)}
                              for w in self.wrong_factors],
            "counterexample": None if example is None else {
                "values": {str(k): float(v) for k, v in example.values.items()},
                "functions": dict(example.functions), "answer": _json_number(example.answer),
                "expected": _json_number(example.expected)},
            "mistakes": list(self.mistakes()), "notes": list(self.notes), "message": self.message}

    def __str__(self) -> str:
        return self.message


def _json_number(x: float) -> float | None:
    """JSON has no NaN or infinity: an undefined value is ``null``."""
    return x if np.isfinite(x) else None


# -- reading the answer -------------------------------------------------------------------------

def parse_answer(graph: Graph, answer: str, format: str = "plain") -> sp.Expr:
    """The ``answer`` text (``format`` ``plain`` or ``latex``) as an expression over the graph's
    symbols, Leibniz factors replaced by the graph's partials. Everything goes through the
    safe parser; an unknown name is an error with a did-you-mean."""
    if not isinstance(answer, str):
        raise ParseError(f"the answer must be text, not {type(answer).__name__}")
    if len(answer) > MAX_ANSWER_LENGTH:
        raise ParseError(f"the answer is too long ({len(answer):,} characters; the limit is "
                         f"{MAX_ANSWER_LENGTH:,})")
    if format not in ("plain", "latex"):
        raise SymbackpropError(f"unknown answer format {format!r}; use 'plain' or 'latex'")
    if not answer.strip():
        raise ParseError("the answer is empty")
    declared = {name: sp.Function(name) for name in undefined_function_names(graph)}
    partial = sp.Function(PARTIAL_NAME)
    functions = {**declared, PARTIAL_NAME: partial}
    translation: Translation = from_latex(answer, functions) if format == "latex" else from_plain(answer)
    translation = translation.after_equals()
    symbols = {s.name: s for s in graph.nodes + graph.leaves}
    expr = translation.parse(symbols=symbols, functions=functions, unknown_symbols="error")
    return _leibniz_factors(graph, expr, partial, translation)


def _leibniz_factors(graph: Graph, expr: sp.Expr, partial, translation: Translation) -> sp.Expr:
    """``partial(v, u)`` (from ``∂v/∂u`` or ``\\frac{\\partial v}{\\partial u}``) → its formula."""

    def formula(app: AppliedUndef) -> sp.Expr:
        at = translation.text.find(PARTIAL_NAME)
        if len(app.args) != 2 or not all(isinstance(a, sp.Symbol) for a in app.args):
            raise translation.error("a Leibniz factor ∂v/∂u relates two names of the network", at)
        try:
            return _partial_formula(graph, *app.args)
        except SymbackpropError as error:
            raise translation.error(str(error), at) from None

    return expr.replace(lambda e: isinstance(e, AppliedUndef) and e.func == partial, formula)


def _partial_formula(graph: Graph, of: sp.Symbol, wrt: sp.Symbol) -> sp.Expr:
    """∂of/∂wrt: the local partial on the edge wrt → of, or, between symbols that are not
    neighbours, the total derivative from the reverse sweep (zero if ``of`` does not depend
    on ``wrt``)."""
    if of not in graph.definitions:
        raise SymbackpropError(f"in ∂{of}/∂{wrt}, {of} must be a node of the network "
                               f"(nodes: {', '.join(map(str, graph.nodes))})")
    if wrt == of:
        return sp.S.One
    sweep = backprop(graph, of)
    return sweep.partials.get((wrt, of), sweep.adjoint(wrt))


# -- the truth, computed once per graph, parameter and output ----------------------------------

class _Truth:
    """The derivation and its numbers at the sample points."""

    def __init__(self, derivation: Derivation):
        self.derivation = derivation
        paths = derivation.paths
        self.samples = Samples(derivation.graph, count=max(12, len(paths) + 8))
        self.vector = self.samples.vector(derivation.closed_form)
        self.path_vectors = [self.samples.vector(p.term) for p in paths]
        fold = {derivation.graph.expand(node): node for node in reversed(derivation.graph.nodes)}
        self.fold = {expanded: node for expanded, node in fold.items() if not expanded.is_Atom}

    def normal(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` over node names wherever a node's whole formula appears (for display and
        for comparing structure): answers written with ``z1`` or ``f(w11·x1 + …)`` agree."""
        return self.derivation.graph.expand(expr).xreplace(self.fold)


_TRUTHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _truth(graph: Graph, wrt, of) -> _Truth:
    derivation = derive(graph, wrt, of)
    cache = _TRUTHS.setdefault(graph, {})
    key = (derivation.wrt, derivation.of)
    if key not in cache:
        cache[key] = _Truth(derivation)
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
    answer (what is not diagnosed by then is left out); the rest is bounded by size limits.

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
    expr = _as_answer(graph, answer) if isinstance(answer, sp.Basic) else parse_answer(graph, answer, format)
    truth = _truth(graph, wrt, of)
    values = truth.samples.vector(expr)
    # Where the derivative itself is undefined (log of a negative, …) the point proves nothing.
    agree = truth.samples.equal(values, truth.vector) | ~np.isfinite(truth.vector)
    common = dict(derivation=truth.derivation, answer=expr, lang=lang, points=len(truth.samples))
    if agree.all():
        method = "symbolic" if _symbolically_equal(truth, expr) else "numeric"
        return Verdict(correct=True, method=method, present=truth.derivation.paths, **common)
    counterexample = _counterexample(truth, expr, values, agree)
    findings = _diagnose(truth, expr, values, deadline) if time.monotonic() < deadline else {}
    return Verdict(correct=False, method="numeric", counterexample=counterexample, **findings, **common)


def _as_answer(graph: Graph, expr: sp.Basic) -> sp.Expr:
    """A SymPy answer: symbols matched to the graph's by name, SymPy's derivatives of ``f``
    written as ``f'``, Leibniz factors (``Derivation.leibniz``) replaced by their formulas."""
    if not isinstance(expr, sp.Expr):
        raise SymbackpropError(f"the answer is not an expression: {expr}")
    renamed = {symbol: graph.symbol(symbol.name) for symbol in expr.free_symbols}   # unknown: error
    expr = primes_from_derivatives(expr.xreplace(renamed))
    return expr.replace(lambda e: isinstance(e, Partial), lambda e: _partial_formula(graph, e.of, e.wrt))


def _symbolically_equal(truth: _Truth, expr: sp.Expr) -> bool:
    """SymPy's verdict, tried only when expanding cannot blow up (bounded time)."""
    difference = truth.normal(expr) - truth.normal(truth.derivation.closed_form)
    if _expansion_size(difference) > MAX_MONOMIALS:
        return False
    return sp.expand(difference) == 0


def _expansion_size(expr: sp.Expr) -> int:
    """An upper bound on the number of terms ``sp.expand(expr)`` produces (capped)."""
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


def _counterexample(truth: _Truth, expr: sp.Expr, values: np.ndarray, agree: np.ndarray) -> Counterexample:
    index = int(np.flatnonzero(~agree)[0])
    leaves, functions = truth.samples.point(index)
    graph = truth.derivation.graph
    used = truth.derivation.expanded().free_symbols | graph.expand(expr).free_symbols
    order = graph.inputs + graph.targets + graph.parameters + graph.constants
    shown = {leaf: leaves[leaf] for leaf in order if leaf in used}
    return Counterexample(shown, functions, float(values[index]), float(truth.vector[index]))


# -- diagnosis ----------------------------------------------------------------------------------

def _diagnose(truth: _Truth, expr: sp.Expr, values: np.ndarray, deadline: float) -> dict:
    """``present``, ``missing``, ``extra`` and ``wrong_factors`` for a wrong answer."""
    by_paths = _as_path_combination(truth, values)
    if by_paths is not None:
        return by_paths
    return _term_by_term(truth, expr, deadline)


def _nice(x: float) -> Fraction | None:
    """``x`` as a fraction with a small denominator, if it is one."""
    fraction = Fraction(x).limit_denominator(12)
    return fraction if abs(float(fraction) - x) < 1e-6 * max(1.0, abs(x)) else None


def _as_path_combination(truth: _Truth, values: np.ndarray) -> dict | None:
    """The answer as ``Σ c_i · path_i`` with simple coefficients, if it is one."""
    paths = truth.derivation.paths
    if not paths:
        return None
    finite = np.isfinite(values) & np.isfinite(truth.vector)
    basis = np.stack(truth.path_vectors, axis=1)[finite]
    if finite.sum() <= len(paths) or np.linalg.matrix_rank(basis) < len(paths):
        return None
    solution = np.linalg.lstsq(basis, values[finite], rcond=None)[0]
    coefficients = [_nice(c) for c in solution]
    if None in coefficients:
        return None
    combined = basis @ np.array([float(c) for c in coefficients])
    if not truth.samples.equal(combined, values[finite]).all():
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


def _number(c: Fraction) -> sp.Rational:
    return sp.Rational(c.numerator, c.denominator)


@dataclass
class _Piece:
    """A term of the answer or a monomial of a path's term, with its values."""

    expr: sp.Expr
    vector: np.ndarray
    path: int | None = None


def _term_by_term(truth: _Truth, expr: sp.Expr, deadline: float) -> dict:
    """Match the answer's terms to the paths' terms in several views, and keep the view that
    leaves the fewest terms unexplained and paths missing: the answer as one term (a single
    path written ``(a - y)``), its terms as written against whole path terms, then both
    expanded into monomials."""
    paths = truth.derivation.paths
    whole = [(i, p.term) for i, p in enumerate(paths)]
    views = [([expr], whole)] if expr.is_Add else []
    views.append((sp.Add.make_args(expr), whole))
    normal = truth.normal(expr)
    if _expansion_size(normal) <= MAX_TERMS:
        monomials = [(i, m) for i, p in enumerate(paths) for m in sp.Add.make_args(sp.expand(truth.normal(p.term)))]
        views.append((sp.Add.make_args(sp.expand(normal)), monomials))
    best, best_score = {}, None
    for answer_terms, path_terms in views:
        if time.monotonic() > deadline or len(answer_terms) > MAX_TERMS:
            continue
        result = _match(truth, answer_terms, path_terms, deadline)
        score = len(result["extra"]) + len(result["missing"])
        if best_score is None or score < best_score:
            best, best_score = result, score
    return best


def _match(truth: _Truth, answer_terms, path_terms, deadline: float) -> dict:
    """Pair each answer term with a path term of equal value, else with one it misses by one
    change (``_near_miss``), else call it extra; a path none of whose terms was paired is
    missing."""
    samples = truth.samples
    answer = [_Piece(t, samples.vector(t)) for t in answer_terms]
    pending = [_Piece(t, samples.vector(t), i) for i, t in path_terms]
    exact: set[int] = set()
    near: dict[int, list[WrongFactor]] = {}
    unexplained = []
    for piece in answer:
        twin = next((p for p in pending if samples.equal(p.vector, piece.vector).all()), None)
        if twin is not None:
            pending.remove(twin)
            exact.add(twin.path)
            continue
        for candidate in (pending if time.monotonic() < deadline else ()):
            miss = _near_miss(truth, piece.expr, candidate.expr, truth.derivation.paths[candidate.path])
            if miss is not None:
                pending.remove(candidate)
                near.setdefault(candidate.path, []).append(miss)
                break
        else:
            unexplained.append(truth.normal(piece.expr))
    untouched = {p.path for p in pending}
    paths = truth.derivation.paths
    wrong = [w for i in sorted(near) for w in dict.fromkeys(near[i])]
    return dict(
        present=tuple(p for i, p in enumerate(paths) if i in exact and i not in untouched and i not in near),
        missing=tuple(p for i, p in enumerate(paths) if i in untouched and i not in near),
        extra=tuple(unexplained),
        wrong_factors=tuple(wrong))


def _factors(expr: sp.Expr) -> tuple[sp.Rational, list[sp.Expr]]:
    coefficient, rest = expr.as_coeff_Mul()
    return coefficient, [f for f in sp.Mul.make_args(rest) if f != 1]


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
        found, expected = truth.normal(unmatched[0]), truth.normal(left[0])
        return _classify(truth, path, found, expected)
    if not unmatched and len(left) == 1:
        return WrongFactor(path, "missing_factor", None, truth.normal(left[0]))
    if len(unmatched) == 1 and not left:
        return WrongFactor(path, "extra_factor", truth.normal(unmatched[0]), None)
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
    same_argument = all(truth.samples.equal(truth.samples.vector(a), truth.samples.vector(b)).all()
                        for a, b in zip(found.args, expected.args))
    return same_argument and prime_order(found.func) != prime_order(expected.func)


def _innermost_difference(truth: _Truth, found: sp.Expr, expected: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Descend while both are the same operation with exactly one differing argument:
    ``f'(p21·z1 + p22·z2)`` vs ``f'(p12·z1 + p22·z2)`` narrows to ``p21`` vs ``p12``."""
    samples = truth.samples
    while (found.func == expected.func and len(found.args) == len(expected.args) and found.args
           and not isinstance(found, sp.Symbol)):
        left, right = list(found.args), list(expected.args)
        for a in list(left):
            twin = next((b for b in right if samples.equal(samples.vector(a), samples.vector(b)).all()), None)
            if twin is not None:
                left.remove(a)
                right.remove(twin)
        if len(left) != 1 or len(right) != 1:
            break
        found, expected = left[0], right[0]
    return found, expected
