"""How fast answers are checked: ``verify`` against SymPy's ``simplify(answer − truth) == 0``.

A class of answers for every parameter of the lecture's network (right ones in several forms and
the typical mistakes, among them a sign inside ``f'`` and an answer right only for tanh) is
checked in interleaved rounds: with ``verify`` (numbers at points inside the domain with
stand-ins for ``f``, a bounded symbolic confirmation, and the diagnosis of wrong answers; each
round on a freshly loaded model, so deriving is included), and with the naive reference, SymPy
deciding ``simplify(expanded answer − expanded derivative) == 0`` (no diagnosis at all). It
prints answers per second for both, the median of the per-round ratios, the slowest single
answer, and whether the two agree on every verdict.

    python3 benchmarks/verify_class.py
"""

from __future__ import annotations

import statistics
import time

import sympy as sp
from sympy.core.function import AppliedUndef

import symbackprop as sbp
from symbackprop.check.verify import parse_answer
from symbackprop.core.functions import prime_order

ROUNDS = 3
MODEL = "examples/lecture.sbp"


def answers(graph: sbp.Graph) -> list[tuple[str, str]]:
    """For each parameter: the derivative as printed, factored, with f for f', a path dropped, a
    sign flipped, the argument of an f' negated, and tanh's 1 − z² for that f' (right only for
    the bound activation)."""
    node_of = {definition: node for node, definition in graph.definitions.items()}
    found = []
    for wrt in graph.parameters:
        d = sbp.derive(graph, wrt)
        terms = [sbp.text(p.term) for p in d.paths]
        right = " + ".join(f"({t})" for t in terms)
        found.append((str(wrt), right))
        found.append((str(wrt), sbp.text(sp.factor_terms(d.closed_form))))
        found.append((str(wrt), right.replace("f'", "f", 1)))
        found.append((str(wrt), f"-({terms[0]})" + "".join(f" + ({t})" for t in terms[1:])))
        if len(terms) > 1:
            found.append((str(wrt), " + ".join(f"({t})" for t in terms[1:])))
        primes = sorted((a for a in d.closed_form.atoms(AppliedUndef) if prime_order(a.func) == 1), key=str)
        if primes:
            u = primes[0].args[0]
            found.append((str(wrt), sbp.text(d.closed_form.xreplace({primes[0]: primes[0].func(-u)}))))
            found.append((str(wrt), sbp.text(d.closed_form.xreplace({primes[0]: 1 - node_of[sp.Function("f")(u)] ** 2}))))
    return found


def reference_verdict(graph: sbp.Graph, wrt: str, answer: str) -> bool:
    expr = graph.expand(parse_answer(graph, answer))
    truth = sbp.gradient(graph, graph.symbol(wrt), expand=True)
    return sp.simplify(expr - truth) == 0


def main() -> None:
    cases = answers(sbp.load(MODEL))
    ratios, ours_per_s, theirs_per_s, slowest = [], [], [], 0.0
    for _ in range(ROUNDS):
        graph = sbp.load(MODEL)         # fresh: each round derives every parameter again
        start, ours = time.perf_counter(), []
        for wrt, answer in cases:
            one = time.perf_counter()
            ours.append(sbp.verify(graph, wrt, answer).correct)
            slowest = max(slowest, time.perf_counter() - one)
        our_time = time.perf_counter() - start

        start = time.perf_counter()
        theirs = [reference_verdict(graph, wrt, answer) for wrt, answer in cases]
        their_time = time.perf_counter() - start
        ratios.append(their_time / our_time)
        ours_per_s.append(len(cases) / our_time)
        theirs_per_s.append(len(cases) / their_time)

    print(f"{len(cases)} answers for the lecture's {len(graph.parameters)} parameters, {ROUNDS} rounds")
    print(f"verify (with diagnosis):       {statistics.median(ours_per_s):8.1f} answers/s   slowest {slowest * 1000:.0f} ms")
    print(f"SymPy simplify (no diagnosis): {statistics.median(theirs_per_s):8.1f} answers/s")
    print(f"ratio (median of rounds):      {statistics.median(ratios):8.1f}x faster than SymPy")
    print(f"verdicts agree on all answers: {ours == theirs}   ({sum(ours)} right, {len(ours) - sum(ours)} wrong)")


if __name__ == "__main__":
    main()
