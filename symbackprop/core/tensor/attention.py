"""Scaled dot-product self-attention (one head or several, optionally causal) and a one-block
transformer, as tensor graphs.

Tokens are the **columns** of a d×T matrix ``X``, as a vector is a column everywhere else in
the package, so projections are ``Q = W_Q X + b_Q`` (a bias per feature, repeated along the
tokens), the scores ``S = Qᵀ K / √d_k`` (row ``i``: query ``i``), ``A = softmax(S)`` row by row,
and the head's output ``H = V Aᵀ`` (column ``i``: ``Σ_j A_ij v_j``). The softmax's
vector-Jacobian rule is the op table's ``(diag(s) − s sᵀ) δ``, applied to each row of ``A``:

>>> from symbackprop.core.tensor.derive import derive_tensor
>>> from symbackprop.render.tensor import TEXT
>>> g = attention_graph(tokens=3, d_model=4)
>>> d = derive_tensor(g)
>>> print(TEXT.doprint(d.deltas[next(a for a in d.deltas if a.node.name == "S")]))
(diag(A) - A Aᵀ) δ_A
>>> print(TEXT.doprint(d.deltas[next(a for a in d.deltas if a.node.name == "A")]))
(Vᵀ δ_H)ᵀ

A causal mask (``causal=True``) lets query ``i`` see keys ``j ≤ i`` only: ``causal_softmax``
sets the other weights to 0, and the same rule holds, since ``s_j = 0`` there.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..errors import GraphError
from ..functions import logsumexp, relu
from .base import Tensor, TensorExpr, ShapeError, call, register, shape_text, template
from .graph import TensorGraph
from .norm import layer_norm
from .ops import (Softmax, SoftmaxBackward, SoftmaxCrossEntropy, _Loss, _rows, apply_function, array_sum, concat,
                  row_max_kernel, row_sum_kernel, scale, softmax, softmax_kernel, squared_error, transpose)

__all__ = ["CausalSoftmax", "TokenCrossEntropy", "causal_softmax", "token_cross_entropy", "self_attention",
           "attention_graph", "transformer_block"]


def causal_softmax_kernel(xp, z):
    """softmax of each row ``i`` over its first ``i + 1`` entries (the others 0)."""
    rows, cols = z.shape[-2], z.shape[-1]
    seen = xp.arange(cols)[None, :] <= xp.arange(rows)[:, None]
    return softmax_kernel(xp, xp.where(seen, z, -xp.inf))


@register
@dataclass(frozen=True)
class CausalSoftmax(Softmax):
    """``softmax`` of row ``i`` over entries ``j ≤ i``; entries ``j > i`` are 0 (a causal mask).
    Its rule is softmax's, ``(diag(s) − s sᵀ) δ``: the masked ``s_j`` are 0."""

    name = "causal_softmax"

    def shape(self, z):
        if len(z) != 2 or z[0] != z[1]:
            raise ShapeError(f"a causal mask needs square scores (queries × keys), not {shape_text(z)}")
        return z

    def entries(self, shapes, z):
        n = shapes[0][1]
        out = []
        for i, row in enumerate(_rows(shapes[0])):
            seen = row[:i + 1]
            lse = logsumexp(*[z[k] for k in seen])
            out += [sp.exp(z[k] - lse) for k in seen] + [sp.S.Zero] * (n - i - 1)
        return out

    def vjp(self, args, out, seed, i):
        return SoftmaxBackward.apply(out, seed)

    def notation(self):
        return call("causal_softmax", r"\operatorname{softmax}_{\text{causal}}")

    def code(self, args, ctx):
        return f"causal_softmax_kernel({ctx.xp}, {args[0].text})"

    def kernels(self):
        return (causal_softmax_kernel, softmax_kernel, row_max_kernel, row_sum_kernel)


@register
@dataclass(frozen=True)
class TokenCrossEntropy(SoftmaxCrossEntropy):
    """``Σ_t LSE(z_t) − y_tᵀ z_t`` over the rows ``z_t`` of T×V logits (one-hot rows ``y_t``): a
    softmax cross-entropy per token, summed. Its rule (``softmax(z) − y``, row by row), its batch
    sum and its kernels are the softmax cross-entropy's."""

    name = "token_cross_entropy"

    def shape(self, z, y):
        if len(z) != 2:
            raise ShapeError(f"token cross-entropy takes T×V logits (a row per token), not {shape_text(z)}")
        return _Loss.shape(self, z, y)

    def entries(self, shapes, z, y):
        return [sp.Add(*[logsumexp(*[z[k] for k in row]) - sp.Add(*[y[k] * z[k] for k in row])
                         for row in _rows(shapes[0])])]

    def notation(self):
        return template("Σ_t LSE({0}_t) - {1}_tᵀ {0}_t",
                        r"\sum_{{t}} \operatorname{{LSE}}\left({0}_{{t}}\right) - {{{1}_{{t}}}}^{{\top}} {0}_{{t}}",
                        "Add", "Pow")

    def code(self, args, ctx):  # the log-sum-exp shared with the rule's softmax
        z, y = args
        lse = f"{ctx.share(f'softmax_parts({ctx.xp}, {z.text})')}[1]"
        return f"{array_sum(ctx.xp, lse, -1)} - {array_sum(ctx.xp, f'{y.atom()} * {z.atom()}', (-2, -1))}"


def causal_softmax(z) -> TensorExpr:
    return CausalSoftmax.apply(z)


def token_cross_entropy(z, y) -> TensorExpr:
    return TokenCrossEntropy.apply(z, y)


# -- builders ---------------------------------------------------------------------------------------------

def _check_sizes(**sizes) -> None:
    for name, n in sizes.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise GraphError(f"{name} is a positive integer, not {n!r}")


def self_attention(definitions: dict, X: TensorExpr, d_model: int, heads: int = 1, causal: bool = False,
                   adjoints: dict | None = None) -> tuple[Tensor, list[Tensor]]:
    """Add multi-head self-attention over the columns of ``X`` (d_model × T) to ``definitions``:
    per head ``h`` (``d_k = d_model / heads``) ``Q^(h) = W_Q^(h) X + b_Q^(h)``, ``K^(h)``,
    ``V^(h)`` likewise, ``S^(h) = Q^(h)ᵀ K^(h) / √d_k``, ``A^(h) = softmax(S^(h))``,
    ``H^(h) = V^(h) A^(h)ᵀ``; then ``M = W_O [H^(1); …] + b_O``. Returns ``M`` and the
    parameters in ``nn.MultiheadAttention``'s order: the projections' weights (the rows of its
    ``in_proj_weight``: every head's ``W_Q``, then ``W_K``, then ``W_V``), their biases
    (``in_proj_bias``), then the output's ``W_O``, ``b_O``. The weights lie one after another in
    the flat vector, so the compiled code computes all the projections as one product.
    ``adjoints`` (when given) receives the name of each ``A^(h)``'s adjoint, so that the softmax's
    rule prints as ``δ_S = (diag(A) − A Aᵀ) δ_A``."""
    _check_sizes(d_model=d_model, heads=heads)
    if d_model % heads:
        raise GraphError(f"d_model = {d_model} does not split into {heads} heads")
    d_k = d_model // heads
    weights: dict[str, list] = {"Q": [], "K": [], "V": []}
    biases: dict[str, list] = {"Q": [], "K": [], "V": []}
    outputs = []
    for h in range(1, heads + 1):
        mark = f"^({h})" if heads > 1 else ""
        projected = {}
        for role in ("Q", "K", "V"):
            W, b = Tensor(f"W_{role}{mark}", (d_k, d_model)), Tensor(f"b_{role}{mark}", d_k)
            weights[role].append(W)
            biases[role].append(b)
            projected[role] = Tensor(f"{role}{mark}")
            definitions[projected[role]] = W @ X + b
        S, A, H = Tensor(f"S{mark}"), Tensor(f"A{mark}"), Tensor(f"H{mark}")
        definitions[S] = scale(transpose(projected["Q"]) @ projected["K"], 1 / sp.sqrt(d_k))
        definitions[A] = causal_softmax(S) if causal else softmax(S)
        if adjoints is not None:
            adjoints[A] = f"δ_A{mark}"
        definitions[H] = projected["V"] @ transpose(A)
        outputs.append(H)
    W_O, b_O = Tensor("W_O", (d_model, d_model)), Tensor("b_O", d_model)
    M = Tensor("M")
    definitions[M] = W_O @ (concat(*outputs, axis=0) if heads > 1 else outputs[0]) + b_O
    return M, [*weights["Q"], *weights["K"], *weights["V"], *biases["Q"], *biases["K"], *biases["V"], W_O, b_O]


def attention_graph(tokens: int, d_model: int, heads: int = 1, causal: bool = False) -> TensorGraph:
    """Self-attention alone, ``L = ‖M − Y‖²/2`` against a target ``Y`` (d_model × T): the graph
    the tests compare with ``nn.MultiheadAttention``.

    >>> g = attention_graph(tokens=3, d_model=4, heads=2)
    >>> [p.name for p in g.parameters][:4]
    ['W_Q^(1)', 'W_Q^(2)', 'W_K^(1)', 'W_K^(2)']
    """
    _check_sizes(tokens=tokens)
    X, Y, L = Tensor("X", (d_model, tokens)), Tensor("Y", (d_model, tokens)), Tensor("L")
    definitions: dict = {}
    adjoints: dict = {}
    M, parameters = self_attention(definitions, X, d_model, heads, causal, adjoints)
    definitions[L] = squared_error(M, Y)
    return TensorGraph(definitions, inputs=[X], targets=[Y], parameters=parameters, output=L, predictions=[M],
                       adjoints=adjoints)


def transformer_block(tokens: int, vocab: int, d_model: int, heads: int = 1, d_ff: int | None = None,
                      causal: bool = False) -> TensorGraph:
    """A one-block transformer over ``tokens`` one-hot columns of ``X`` (vocab × T), predicting a
    token per position (targets ``Y``: T × vocab, one-hot rows):

    - ``E = W_E X + P`` (embedding plus a learned position per column),
    - ``N_1 = LN(E + M)`` with ``M`` the self-attention of ``E`` (``self_attention``),
    - ``N_2 = LN(N_1 + W_2 relu(W_1 N_1 + b_1) + b_2)``, the feed-forward part,
    - ``Z = (W_Z N_2 + b_Z)ᵀ``, a row of logits per token, ``L = Σ_t LSE(z_t) − y_tᵀ z_t``.

    >>> g = transformer_block(tokens=4, vocab=5, d_model=8, heads=2)
    >>> g.shape("Z"), g.size
    ((4, 5), 717)
    """
    _check_sizes(tokens=tokens, vocab=vocab, d_model=d_model)
    d_ff = 2 * d_model if d_ff is None else d_ff
    _check_sizes(d_ff=d_ff)
    X, Y = Tensor("X", (vocab, tokens)), Tensor("Y", (tokens, vocab))
    W_E, P = Tensor("W_E", (d_model, vocab)), Tensor("P", (d_model, tokens))
    W_1, b_1 = Tensor("W_1", (d_ff, d_model)), Tensor("b_1", d_ff)
    W_2, b_2 = Tensor("W_2", (d_model, d_ff)), Tensor("b_2", d_model)
    W_Z, b_Z = Tensor("W_Z", (vocab, d_model)), Tensor("b_Z", vocab)
    norms = [(Tensor(f"γ_{k}", d_model), Tensor(f"β_{k}", d_model)) for k in (1, 2)]
    E, N_1, U, F, N_2, Z, L = (Tensor(n) for n in ("E", "N_1", "U", "F", "N_2", "Z", "L"))
    R_1, R_2 = Tensor("R_1", (d_model, tokens)), Tensor("R_2", (d_model, tokens))  # shaped: LN's γ repeats per column
    definitions: dict = {E: W_E @ X + P}
    adjoints: dict = {}
    M, attention = self_attention(definitions, E, d_model, heads, causal, adjoints)
    definitions[R_1] = E + M
    definitions[N_1] = layer_norm(R_1, *norms[0])
    definitions[U] = W_1 @ N_1 + b_1
    definitions[F] = apply_function(relu, U)
    definitions[R_2] = N_1 + W_2 @ F + b_2
    definitions[N_2] = layer_norm(R_2, *norms[1])
    definitions[Z] = transpose(W_Z @ N_2 + b_Z)
    definitions[L] = token_cross_entropy(Z, Y)
    parameters = [W_E, P, *attention, *norms[0], W_1, b_1, W_2, b_2, *norms[1], W_Z, b_Z]
    return TensorGraph(definitions, inputs=[X], targets=[Y], parameters=parameters, output=L, predictions=[Z],
                       adjoints=adjoints, metadata={"transformer": {"tokens": tokens, "vocab": vocab}})
