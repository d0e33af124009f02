"""How fast answers are checked: ``verify`` against SymPy's ``simplify(answer − truth) == 0``.

A class of answers for every parameter of the lecture's network (right ones in several forms and
the typical mistakes) is checked twice in the same run: with ``verify`` (numbers at random
points with stand-ins for ``f``, a bounded symbolic confirmation, and the diagnosis of wrong
answers), and with the naive reference, SymPy deciding ``simplify(expanded answer −
expanded derivative) == 0`` (no diagnosis at all). It prints answers per second for both, the
ratio, the slowest single answer, and whether the two agree on every verdict.

    python3 benchmarks/verify_class.py
"""

from __future__ import annotations

import time

import sympy as sp

import symbackprop as sbp
from symbackprop.check.verify import parse_answer


def answers(graph: sbp.Graph) -> list[tuple[str, str]]:
    """For each parameter: the derivative as printed, factored, with f for f', one path dropped,
    a sign flipped."""
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
    return found


def reference_verdict(graph: sbp.Graph, wrt: str, answer: str) -> bool:
    expr = graph.expand(parse_answer(graph, answer))
    truth = sbp.gradient(graph, graph.symbol(wrt), expand=True)
    return sp.simplify(expr - truth) == 0


def main() -> None:
    graph = sbp.load("examples/lecture.sbp")
    cases = answers(graph)
    sbp.verify(graph, cases[0][0], cases[0][1])        # warm the caches of the first parameter

    start, slowest, ours = time.perf_counter(), 0.0, []
    for wrt, answer in cases:
        one = time.perf_counter()
        ours.append(sbp.verify(graph, wrt, answer).correct)
        slowest = max(slowest, time.perf_counter() - one)
    our_time = time.perf_counter() - start

    start = time.perf_counter()
    theirs = [reference_verdict(graph, wrt, answer) for wrt, answer in cases]
    their_time = time.perf_counter() - start

    print(f"{len(cases)} answers for the lecture's {len(graph.parameters)} parameters")
    print(f"verify (with diagnosis):       {len(cases) / our_time:8.1f} answers/s   slowest {slowest * 1000:.0f} ms")
    print(f"SymPy simplify (no diagnosis): {len(cases) / their_time:8.1f} answers/s")
    print(f"ratio:                         {their_time / our_time:8.1f}x faster than SymPy")
    print(f"verdicts agree on all answers: {ours == theirs}")


if __name__ == "__main__":
    main()
