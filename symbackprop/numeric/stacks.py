"""Products of one input stacked into one: ``W_i X + b_i`` for several weights ``W_i`` that lie
one after another in the flat parameter vector (the query, key and value projections of every
attention head) are computed as one product ``[W_1; …; W_k] X + [b_1; …; b_k]``.

The derivation keeps one equation per product, as the lecture writes it; only the generated code
changes. The stacked weights are one view into the parameters (no copy), each ``W_i X + b_i`` a
block of rows of the stacked result, and the backward pass turns the k small products of each
kind into one each: the δ's are written into the blocks of one stacked ``δ``, then

- ``∂L/∂[W_1; …; W_k] = δ Xᵀ`` (the stacked rule of ``∂L/∂W_i = δ_i Xᵀ``),
- ``∂L/∂[b_1; …; b_k]`` likewise,
- ``[W_1; …; W_k]ᵀ δ`` replaces the terms ``W_1ᵀ δ_1 + … + W_kᵀ δ_k`` of ``X``'s adjoint.

Each rule is the op table's own (``MatMul.vjp``, ``Add.vjp``) applied to the stacked tensors, and
a product is stacked only when its gradients in the derivation are exactly those rules (a weight
used elsewhere too is left alone).

>>> import symbackprop as sbp
>>> g = sbp.tensor.attention_graph(tokens=3, d_model=4, heads=2)
>>> [[str(w) for w in s.weights] for s in find_stacks(g, sbp.tensor.derive(g))]
[['W_Q^(1)', 'W_Q^(2)', 'W_K^(1)', 'W_K^(2)', 'W_V^(1)', 'W_V^(2)']]
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.tensor.base import Apply, Tensor, TensorExpr, replace, size
from ..core.tensor.derive import Adjoint, TensorDerivation
from ..core.tensor.graph import TensorGraph
from ..core.tensor.ops import Add, MatMul, Slice

__all__ = ["Stack", "find_stacks"]


@dataclass(frozen=True)
class _Product:
    """``node = W X (+ b)`` in the graph's definitions."""

    node: Tensor
    weight: Tensor
    input: TensorExpr
    bias: Tensor | None


@dataclass(frozen=True, eq=False)
class Stack:
    """Products of one ``input`` whose weights (and biases) are consecutive in the flat vector.

    ``node``, ``weight``, ``bias`` and ``adjoint`` are the stacked tensors the generated code
    names; ``definition`` is ``weight @ input (+ bias)``; ``blocks`` maps each product's node to
    its rows of the stacked result."""

    members: tuple[Tensor, ...]
    weights: tuple[Tensor, ...]
    biases: tuple[Tensor, ...]
    input: TensorExpr
    node: Tensor
    weight: Tensor
    bias: Tensor | None
    adjoint: Adjoint
    definition: TensorExpr
    blocks: dict
    member_adjoints: tuple[Adjoint, ...]

    def block(self, expr: TensorExpr, member: Tensor) -> TensorExpr:
        """``member``'s rows of ``expr`` (the stacked node, or the stacked adjoint)."""
        start, stop = self.blocks[member]
        return Slice.apply(expr, axis=0, start=start, stop=stop)

    def weight_gradient(self) -> TensorExpr:
        """``∂L/∂[W_1; …; W_k]``: the product's own rule with the stacked δ."""
        product = MatMul.apply(self.weight, self.input)
        return product.op.vjp(product.args, product, self.adjoint, 0)

    def bias_gradient(self) -> TensorExpr:
        return self.definition.op.vjp(self.definition.args, self.node, self.adjoint, 1)

    def input_term(self) -> TensorExpr:
        """``[W_1; …; W_k]ᵀ δ``: the stacked term of the input's adjoint."""
        product = MatMul.apply(self.weight, self.input)
        return product.op.vjp(product.args, product, self.adjoint, 1)

    def member_terms(self) -> set:
        """The terms ``W_iᵀ δ_i`` that ``input_term`` replaces."""
        products = [MatMul.apply(w, self.input) for w in self.weights]
        return {p.op.vjp(p.args, p, d, 1) for p, d in zip(products, self.member_adjoints)}

    def with_input_term(self, expr: TensorExpr) -> TensorExpr:
        """``expr`` (an equation's right side) with the terms ``W_iᵀ δ_i`` of a sum replaced by
        the stacked one, wherever a sum holds them all (the input's δ, or inside a gradient)."""
        replaced = self.member_terms()

        def stacked(e: TensorExpr) -> TensorExpr | None:
            if not (isinstance(e, Apply) and isinstance(e.op, Add) and replaced <= set(e.args)):
                return None
            first = next(i for i, t in enumerate(e.args) if t in replaced)
            kept = [t for t in e.args if t not in replaced]
            return Add.apply(*kept[:first], self.input_term(), *kept[first:])

        return replace(expr, stacked)


def _product(node: Tensor, expr: TensorExpr, parameters: set) -> _Product | None:
    """``node = W X`` or ``W X + b`` with ``W`` (and ``b``) parameters, or ``None``."""
    bias = None
    if isinstance(expr, Apply) and isinstance(expr.op, Add) and len(expr.args) == 2:
        expr, bias = expr.args
        if not (isinstance(bias, Tensor) and bias in parameters and bias.shape == expr.shape[:1]):
            return None
    if isinstance(expr, Apply) and isinstance(expr.op, MatMul) and expr.args[0] in parameters:
        return _Product(node, expr.args[0], expr.args[1], bias)
    return None


def _consecutive(graph: TensorGraph, tensors) -> bool:
    """Whether ``tensors`` are row-major and one after another in the flat vector, each with
    the same row length."""
    end = graph.layout[tensors[0]][0]
    for t in tensors:
        start, strides = graph.layout[t]
        row_major = tuple(size(t.shape[i + 1:]) for i in range(len(t.shape)))
        if strides != row_major or t.shape[1:] != tensors[0].shape[1:] or start != end:
            return False
        end = start + size(t.shape)
    return True


def _derived_as_rules(product: _Product, derivation: TensorDerivation, adjoint: Adjoint) -> bool:
    """Whether the derivation's gradients of the product's weight and bias are exactly the op
    table's rules with the product's δ (nothing else uses them)."""
    definition = derivation.graph.definitions[product.node]
    matmul = MatMul.apply(product.weight, product.input)
    if derivation.gradient(product.weight) != matmul.op.vjp(matmul.args, matmul, adjoint, 0):
        return False
    return product.bias is None or derivation.gradient(product.bias) == definition.op.vjp(
        definition.args, product.node, adjoint, 1)


def find_stacks(graph: TensorGraph, derivation: TensorDerivation) -> list[Stack]:
    """The stacks of ``graph``: runs of at least two products of one input whose weights (and
    biases) are consecutive in the flat vector and whose δ's have equations of their own."""
    parameters = set(graph.parameters)
    adjoints = {e.lhs.node: e.lhs for e in derivation.equations if isinstance(e.lhs, Adjoint)}
    by_input: dict[TensorExpr, list[_Product]] = {}
    for node, expr in graph.definitions.items():
        found = _product(node, expr, parameters)
        if found and node in adjoints and _derived_as_rules(found, derivation, adjoints[node]):
            by_input.setdefault(found.input, []).append(found)
    stacks = []
    for products in by_input.values():
        products.sort(key=lambda p: graph.layout[p.weight][0])
        run: list[_Product] = []
        for product in products + [None]:
            if product is not None and _extends(graph, run, product):
                run.append(product)
                continue
            if len(run) > 1:
                stacks.append(_stack(run, adjoints))
            run = [product] if product is not None else []
    return stacks


def _extends(graph: TensorGraph, run: list[_Product], product: _Product) -> bool:
    if not run:
        return True
    if (run[0].bias is None) != (product.bias is None):
        return False
    weights = [p.weight for p in run] + [product.weight]
    biases = [p.bias for p in run] + [product.bias]
    return _consecutive(graph, weights) and (product.bias is None or _consecutive(graph, biases))


def _stack(run: list[_Product], adjoints: dict) -> Stack:
    first, last = run[0], run[-1]
    rows = sum(p.weight.shape[0] for p in run)
    weight = Tensor(f"{first.weight.name}…{last.weight.name}", (rows,) + first.weight.shape[1:])
    bias = Tensor(f"{first.bias.name}…{last.bias.name}", rows) if first.bias is not None else None
    product = MatMul.apply(weight, first.input)
    definition = Add.apply(product, bias) if bias is not None else product
    node = Tensor(f"{first.node.name}…{last.node.name}", definition.shape)
    blocks, start = {}, 0
    for p in run:
        blocks[p.node] = (start, start + p.weight.shape[0])
        start += p.weight.shape[0]
    members = tuple(p.node for p in run)
    return Stack(members, tuple(p.weight for p in run), tuple(p.bias for p in run if p.bias is not None),
                 first.input, node, weight, bias, Adjoint(node, f"δ_{node.name}"), definition, blocks,
                 tuple(adjoints[m] for m in members))
