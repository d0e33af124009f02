"""Tensors entry by entry: the names of their scalar entries and the SymPy expressions of an
expression's entries, from which the scalar view and the entries of the derivation are read.

>>> from symbackprop.core.tensor.base import Tensor
>>> entry_names(Tensor("W^(1)", (2, 2))), entry_names(Tensor("x", 3)), entry_names(Tensor("L", ()))
(['W1_1_1', 'W1_1_2', 'W1_2_1', 'W1_2_2'], ['x1', 'x2', 'x3'], ['L'])
>>> entry_names(Tensor("W", (2, 3), entries="w{1}{0}"))[:3]
['w11', 'w21', 'w31']
"""

from __future__ import annotations

import re
from typing import Mapping

import sympy as sp

from .base import Apply, Scalar, Tensor, TensorExpr, row_major

__all__ = ["entry_names", "symbols", "evaluate", "plain_name"]


def plain_name(name: str) -> str:
    """A tensor's name without markup, as the stem of its entries' names: ``W^(1)`` → ``W1``."""
    return re.sub(r"[^\w]", "", name) or "t"


def entry_names(tensor: Tensor) -> list[str]:
    """The names of ``tensor``'s entries in row-major order: its ``entries`` format over the
    1-based indices, or the plain name followed by them (``u^(1)`` → ``u1_1, u1_2, …``)."""
    indices = row_major(tensor.shape)
    if tensor.entries is not None:
        return [tensor.entries.format(*[i + 1 for i in index]) for index in indices]
    stem = plain_name(tensor.name)
    if not tensor.shape:
        return [stem]
    joiner = "_" if stem[-1].isdigit() or len(tensor.shape) > 1 else ""
    return [stem + joiner + "_".join(str(i + 1) for i in index) for index in indices]


def symbols(tensor: Tensor) -> list[sp.Symbol]:
    return [sp.Symbol(name) for name in entry_names(tensor)]


def evaluate(expr: TensorExpr, values: Mapping) -> list[sp.Expr]:
    """The entries of ``expr`` (row-major), given those of the tensors it uses in ``values``
    (a mapping from a tensor, or any leaf expression, to its list of entries)."""
    memo: dict = {}

    def walk(e: TensorExpr) -> list:
        if e in values:
            return values[e]
        if isinstance(e, Scalar):
            return [e.value]
        if not isinstance(e, Apply):
            raise KeyError(f"no entries for {e}")
        if e not in memo:
            memo[e] = e.op.entries([a.shape for a in e.args], *[walk(a) for a in e.args])
        return memo[e]

    return walk(expr)
