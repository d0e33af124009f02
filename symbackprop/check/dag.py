"""Walks over a SymPy expression that visit each distinct subexpression once.

A deep network's derivative shares its subexpressions: as a graph it is small, as a tree (what
SymPy's own walks visit: printing, ``xreplace``, ``free_symbols``, ``expand``) it can be
exponential in the depth. These walks are memoized and iterative (no recursion limit), so the
checker can measure an expression before it lets SymPy walk it.

>>> import sympy as sp
>>> g, e = sp.Function("g"), sp.Symbol("x")
>>> for _ in range(60):
...     e = g(e, e + 1)                          # 2^60 leaves as a tree, 122 subexpressions
>>> tree_size(e, cap=1_000)
1001
"""

from __future__ import annotations

from typing import Callable

import sympy as sp

__all__ = ["bottom_up", "rebuilt", "tree_size", "MAX_TREE"]

MAX_TREE = 20_000       # nodes of an expression tree worth walking (to print it, to expand it)


def bottom_up(expr: sp.Basic, combine: Callable, before: Callable | None = None):
    """``combine(e, [results of e's arguments])`` for every subexpression ``e``, arguments first;
    the result for ``expr``. ``before(e)``, if given and not ``None``, is what to walk in place of
    ``e`` (its result stands for ``e``'s)."""
    done: dict = {}
    stack = [expr]
    while stack:
        e = stack[-1]
        if e in done:
            stack.pop()
            continue
        substitute = before(e) if before is not None else None
        if substitute is not None and substitute != e:
            if substitute in done:
                done[e] = done[substitute]
                stack.pop()
            else:
                stack.append(substitute)
            continue
        missing = [a for a in e.args if a not in done]
        if missing:
            stack.extend(missing)
            continue
        stack.pop()
        done[e] = combine(e, [done[a] for a in e.args])
    return done[expr]


def rebuilt(expr: sp.Basic, after: Callable, before: Callable | None = None) -> sp.Basic:
    """``expr`` rebuilt from its leaves up, every (rebuilt) subexpression ``e`` replaced by
    ``after(e)``; ``before`` as in ``bottom_up``."""

    def combine(e, args):
        return after(e if tuple(args) == e.args else e.func(*args))

    return bottom_up(expr, combine, before)


def tree_size(expr: sp.Basic, cap: int = MAX_TREE) -> int:
    """The number of nodes of ``expr`` as a tree, capped at ``cap`` + 1."""
    return bottom_up(expr, lambda e, sizes: min(cap + 1, 1 + sum(sizes)))
