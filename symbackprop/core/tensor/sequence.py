"""Recurrent networks unrolled over time, and their backward pass read as backprop through time.

An Elman network ``h_t = f(W h_{t−1} + U x_t + b)``, ``o_t = V h_t + c`` unrolled over ``T``
steps is an ordinary tensor graph in which ``W``, ``U``, ``b``, ``V`` and ``c`` are used once per
step; the reverse sweep gives each of them the sum of its per-step contributions, and the
adjoint ``δ_t = ∂L/∂h_t`` of each hidden state its two users: the next step and the step's own
loss. ``bptt`` reads those equations back at a generic step ``t``, as Goodfellow §10.2.2 writes
them:

>>> from symbackprop.render.tensor import TEXT
>>> g = elman_rnn(4, (2, 3, 2))
>>> for lhs, rhs in bptt(g):
...     print(TEXT.doprint(lhs), "=", TEXT.doprint(rhs))
δ_T = Vᵀ (softmax(o_T) - y_T)
δ_t = Wᵀ (δ_{t+1} ⊙ tanh'(u_{t+1})) + Vᵀ (softmax(o_t) - y_t)
∂L/∂U = Σ_{t=1}^T (δ_t ⊙ tanh'(u_t)) x_tᵀ
∂L/∂W = Σ_{t=2}^T (δ_t ⊙ tanh'(u_t)) h_{t-1}ᵀ
∂L/∂b = Σ_{t=1}^T δ_t ⊙ tanh'(u_t)
∂L/∂V = Σ_{t=1}^T (softmax(o_t) - y_t) h_tᵀ
∂L/∂c = Σ_{t=1}^T (softmax(o_t) - y_t)

LSTM and GRU cells (``lstm``, ``gru``) are built the same way from the op table's products,
sums and elementwise functions, so they need no rule of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import sympy as sp

from ..errors import GraphError
from ..functions import sigmoid
from .base import Apply, Op, Tensor, TensorExpr, replace, template, register, walk
from .derive import Adjoint, Gradient, derive_tensor
from .graph import TensorGraph
from .ops import Add, add, apply_function, hadamard, softmax_cross_entropy, squared_error

__all__ = ["elman_rnn", "lstm", "gru", "bptt", "StepSum", "RNN_LOSSES"]

RNN_LOSSES = {"softmax_cross_entropy": softmax_cross_entropy, "squared_error": squared_error}


def _check(steps: int, sizes: Sequence[int], loss: str, outputs: str) -> tuple[int, int, int]:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise GraphError(f"the number of time steps is a positive integer, not {steps!r}")
    sizes = tuple(sizes)
    if len(sizes) != 3 or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in sizes):
        raise GraphError(f"sizes are (inputs, hidden units, outputs), three positive integers, not {sizes!r}")
    if loss not in RNN_LOSSES:
        raise GraphError(f"unknown loss {loss!r}; choose one of {', '.join(RNN_LOSSES)}")
    if outputs not in ("every", "last"):
        raise GraphError(f"outputs is 'every' (a target per step) or 'last' (one at the end), not {outputs!r}")
    return sizes


def _recurrent_graph(steps: int, sizes, cell: Callable, parameters: list, loss: str, outputs: str,
                     readout: str = "o", states: tuple = ("h",), adjoints: dict | None = None) -> TensorGraph:
    """The unrolled graph: ``cell(t, x_t, previous)`` adds step ``t``'s definitions and returns its
    hidden state; every step (or the last) reads out ``o_t = V h_t + c`` into the loss."""
    n_in, n_hidden, n_out = _check(steps, sizes, loss, outputs)
    V, c = Tensor("V", (n_out, n_hidden)), Tensor("c", n_out)
    definitions: dict = {}
    adjoints = {} if adjoints is None else adjoints
    inputs = [Tensor(f"x_{t}", n_in) for t in range(1, steps + 1)]
    read = range(1, steps + 1) if outputs == "every" else [steps]
    targets = [Tensor(f"y_{t}" if outputs == "every" else "y", n_out) for t in read]
    previous, hidden = None, []
    for t, x in enumerate(inputs, start=1):
        previous = cell(t, x, previous, definitions)
        adjoints[previous] = f"δ_{t}"
        hidden.append(previous)
    losses, predictions = [], []
    for t, y in zip(read, targets):  # after every step: δ_t lists the next step's use first, Wᵀ(…) + ∂L_t/∂h_t
        o = Tensor(f"{readout}_{t}")
        definitions[o] = V @ hidden[t - 1] + c
        adjoints[o] = f"δ_{readout}_{t}"
        predictions.append(o)
        losses.append(RNN_LOSSES[loss](o, y))
    L = Tensor("L")
    definitions[L] = Apply(Add(), tuple(losses)) if len(losses) > 1 else losses[0]
    return TensorGraph(definitions, inputs=inputs, targets=targets, parameters=parameters + [V, c], output=L,
                       predictions=predictions, adjoints=adjoints,
                       metadata={"recurrent": {"steps": steps, "outputs": outputs, "states": states}})


def elman_rnn(steps: int, sizes: Sequence[int], activation: Callable = sp.tanh,
              loss: str = "softmax_cross_entropy", outputs: str = "every") -> TensorGraph:
    """An Elman network over ``steps`` time steps, ``sizes = (inputs, hidden, outputs)``:
    ``u_t = W h_{t−1} + U x_t + b``, ``h_t = f(u_t)``, ``o_t = V h_t + c`` (``h_0 = 0``, so step 1
    has no ``W`` term), with a loss on every step's output (``outputs="every"``, targets
    ``y_1 … y_T``) or on the last one only (``"last"``, target ``y``). The inputs ``x_1 … x_T``
    are the columns of ``X`` one step after another; the parameters are ``U, W, b, V, c``, as
    Goodfellow names them.

    >>> g = elman_rnn(3, (1, 2, 1), loss="squared_error", outputs="last")
    >>> print(g.definitions[g.tensor("u_2")])
    W h_1 + U x_2 + b
    >>> [p.name for p in g.parameters]
    ['U', 'W', 'b', 'V', 'c']
    """
    n_in, n_hidden, _ = _check(steps, sizes, loss, outputs)
    U, W, b = Tensor("U", (n_hidden, n_in)), Tensor("W", (n_hidden, n_hidden)), Tensor("b", n_hidden)

    def cell(t, x, previous, definitions):
        u, h = Tensor(f"u_{t}"), Tensor(f"h_{t}")
        definitions[u] = (W @ previous + U @ x + b) if previous is not None else U @ x + b
        definitions[h] = apply_function(activation, u)
        return h

    return _recurrent_graph(steps, sizes, cell, [U, W, b], loss, outputs)


_LSTM_GATES = ("i", "f", "g", "o")   # PyTorch's order: input, forget, cell candidate, output
_GRU_GATES = ("r", "z", "n")         # PyTorch's order: reset, update, candidate


def lstm(steps: int, sizes: Sequence[int], loss: str = "softmax_cross_entropy", outputs: str = "every") -> TensorGraph:
    """An LSTM over ``steps`` time steps (``h_0 = c_0 = 0``), gates as PyTorch's ``nn.LSTM``:
    ``u_i_t = W_i h_{t−1} + U_i x_t + b_i``, ``i_t = σ(u_i_t)``, ``f_t``, ``o_t`` likewise,
    ``g_t = tanh(u_g_t)``,
    ``s_t = f_t ⊙ s_{t−1} + i_t ⊙ g_t`` (the cell state), ``h_t = o_t ⊙ tanh(s_t)``; the read-out
    is ``v_t = V h_t + c`` (``o_t`` being the output gate).

    >>> g = lstm(2, (1, 2, 1), loss="squared_error", outputs="last")
    >>> print(g.definitions[g.tensor("s_2")])
    f_2 ⊙ s_1 + i_2 ⊙ g_2
    """
    n_in, n_hidden, _ = _check(steps, sizes, loss, outputs)
    U = {k: Tensor(f"U_{k}", (n_hidden, n_in)) for k in _LSTM_GATES}
    W = {k: Tensor(f"W_{k}", (n_hidden, n_hidden)) for k in _LSTM_GATES}
    b = {k: Tensor(f"b_{k}", n_hidden) for k in _LSTM_GATES}
    cells: dict = {}
    adjoints: dict = {}

    def cell(t, x, previous, definitions):
        gate = {}
        for k in _LSTM_GATES:
            pre, gate[k] = Tensor(f"u_{k}_{t}"), Tensor(f"{k}_{t}")
            definitions[pre] = U[k] @ x + b[k] if previous is None else W[k] @ previous + U[k] @ x + b[k]
            definitions[gate[k]] = apply_function(sp.tanh if k == "g" else sigmoid, pre)
        s, h = Tensor(f"s_{t}"), Tensor(f"h_{t}")
        fresh = hadamard(gate["i"], gate["g"])
        definitions[s] = fresh if previous is None else hadamard(gate["f"], cells[t - 1]) + fresh
        definitions[h] = hadamard(gate["o"], apply_function(sp.tanh, s))
        adjoints[s] = f"δ_s_{t}"
        cells[t] = s
        return h

    parameters = [p for k in _LSTM_GATES for p in (U[k], W[k], b[k])]
    return _recurrent_graph(steps, sizes, cell, parameters, loss, outputs, readout="v", states=("h", "s"),
                            adjoints=adjoints)


def gru(steps: int, sizes: Sequence[int], loss: str = "softmax_cross_entropy", outputs: str = "every") -> TensorGraph:
    """A GRU over ``steps`` time steps (``h_0 = 0``), as PyTorch's ``nn.GRU``:
    ``r_t = σ(W_r h_{t−1} + U_r x_t + b_r)``, ``z_t`` likewise,
    ``m_t = W_n h_{t−1} + a_n``, ``n_t = tanh(U_n x_t + b_n + r_t ⊙ m_t)`` (the candidate; ``a_n``
    is the hidden-side bias PyTorch keeps inside the reset), ``h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}``.
    Every pre-activation is a node of its own (``u_r_t``, …), as the compiled code wants it.

    >>> from symbackprop.render.tensor import TEXT
    >>> g = gru(2, (1, 2, 1), loss="squared_error", outputs="last")
    >>> print(TEXT.doprint(g.definitions[g.tensor("h_2")]))
    (1 - z_2) ⊙ n_2 + z_2 ⊙ h_1
    """
    n_in, n_hidden, _ = _check(steps, sizes, loss, outputs)
    U = {k: Tensor(f"U_{k}", (n_hidden, n_in)) for k in _GRU_GATES}
    W = {k: Tensor(f"W_{k}", (n_hidden, n_hidden)) for k in _GRU_GATES}
    b = {k: Tensor(f"b_{k}", n_hidden) for k in _GRU_GATES}
    a_n = Tensor("a_n", n_hidden)

    def cell(t, x, previous, definitions):
        r, z, n, h, m = (Tensor(f"{k}_{t}") for k in ("r", "z", "n", "h", "m"))
        for gate, k in ((r, "r"), (z, "z")):
            pre = Tensor(f"u_{k}_{t}")
            definitions[pre] = U[k] @ x + b[k] if previous is None else W[k] @ previous + U[k] @ x + b[k]
            definitions[gate] = apply_function(sigmoid, pre)
        pre = Tensor(f"u_n_{t}")
        if previous is None:  # h_0 = 0: the reset gate multiplies the hidden bias alone
            definitions[pre] = U["n"] @ x + b["n"] + hadamard(r, a_n)
            definitions[n] = apply_function(sp.tanh, pre)
            definitions[h] = hadamard(1 - z, n)
        else:
            definitions[m] = W["n"] @ previous + a_n
            definitions[pre] = U["n"] @ x + b["n"] + hadamard(r, m)
            definitions[n] = apply_function(sp.tanh, pre)
            definitions[h] = hadamard(1 - z, n) + hadamard(z, previous)
        return h

    parameters = [p for k in _GRU_GATES for p in (U[k], W[k], b[k])] + [a_n]
    return _recurrent_graph(steps, sizes, cell, parameters, loss, outputs)


# -- backprop through time: the unrolled equations read at a generic step ----------------------------

@register
@dataclass(frozen=True)
class StepSum(Op):
    """``Σ_{t=first}^T x_t``: a sum over time steps, written once for a generic ``t`` (how the
    backward pass of an unrolled network prints a shared weight's gradient)."""

    name = "step_sum"
    arity = 1
    first: int = 1

    def shape(self, x):
        return x

    def notation(self):
        return template(f"Σ_{{{{t={self.first}}}}}^T {{0}}", rf"\sum_{{{{t={self.first}}}}}^{{{{T}}}} {{0}}", "Mul", "Mul")


_STEP = re.compile(r"^(.*)_(\d+)$")


def _step_of(name: str) -> int | None:
    match = _STEP.match(name)
    return int(match.group(2)) if match else None


def _generic(expr: TensorExpr, at: int, last: int) -> TensorExpr:
    """``expr`` with every tensor of step ``k`` renamed relative to step ``at`` (``h_5`` →
    ``h_{t-1}`` at 6), or relative to ``T`` when ``at`` is the ``last`` step."""

    def offset(name: str) -> str | None:
        match = _STEP.match(name)
        if not match:
            return None
        k, t = int(match.group(2)) - at, "T" if at == last else "t"
        return f"{match.group(1)}_" + (t if k == 0 else f"{{{t}{k:+d}}}")

    def rename(e):
        if isinstance(e, Adjoint):
            new = offset(e.name)
            return Adjoint(Tensor(offset(e.node.name) or e.node.name, e.node.shape), new) if new else None
        if isinstance(e, Tensor):
            new = offset(e.name)
            return Tensor(new, e.shape) if new else None
        return None

    return replace(expr, rename)


def _sum_over_steps(p: Tensor, rhs: TensorExpr, inline, steps: int) -> TensorExpr:
    """A parameter's gradient, one term per step it is used at, as ``Σ_{t=first}^T`` of the one
    form every term has at its own step; step 1 is written out before the sum when it differs
    (no ``h_0`` term), and a parameter used at the last step only keeps its one term."""
    terms = rhs.args if isinstance(rhs, Apply) and isinstance(rhs.op, Add) else (rhs,)
    by_form: dict = {}
    for term in map(inline, terms):
        step = max(_step_of(e.name) or 0 for e in walk(term) if isinstance(e, (Tensor, Adjoint)))
        by_form.setdefault(_generic(term, step, None), []).append((step, term))
    first = [form for form, uses in by_form.items() if [k for k, _ in uses] == [1]] if len(by_form) == 2 else []
    written_out = [by_form.pop(first[0])[0][1]] if first else []
    if len(by_form) != 1:
        raise GraphError(f"the gradient of {p} has terms of {len(by_form)} forms: not one sum over steps")
    ((form, uses),) = by_form.items()
    if [k for k, _ in uses] == [steps] and not written_out:  # read out at the last step only
        return _generic(uses[0][1], steps, steps)
    return add(*written_out, StepSum(first=min(k for k, _ in uses)).simplify((form,)))


def bptt(graph: TensorGraph) -> list[tuple[TensorExpr | Gradient, TensorExpr]]:
    """The backward pass of an unrolled network (``elman_rnn``, ``lstm``, ``gru``) read at a
    generic step ``t``: ``δ_T`` at the last step, the recursion ``δ_t = …`` from ``δ_{t+1}``,
    and each parameter's gradient as a sum over steps, every line taken from the reverse sweep's
    equations (the inner adjoints written out) and checked to have the same form at each step."""
    recurrent = graph.metadata.get("recurrent")
    if not recurrent:
        raise GraphError("bptt reads an unrolled recurrent network (elman_rnn, lstm, gru)")
    steps = recurrent["steps"]
    if steps < 3:
        raise GraphError("bptt needs at least 3 time steps to show the recursion at a generic step")
    derivation = derive_tensor(graph)
    deltas = derivation.deltas
    states = {a.node: a for a in deltas if (_STEP.match(a.node.name) or [None, None])[1] in recurrent["states"]}

    def inline(expr):  # every named adjoint but the recurrent states' written out
        return replace(expr, lambda e: inline(deltas[e]) if isinstance(e, Adjoint) and e.node not in states else None)

    middle = steps // 2 + 1
    lines: list = []
    for at in (steps, middle):  # each state's δ at the last step, then its recursion at a generic one
        for state in recurrent["states"]:
            adjoint = {_step_of(n.name): a for n, a in states.items() if n.name.startswith(f"{state}_")}
            recursion = _generic(inline(deltas[adjoint[at]]), at, steps)
            for k in range(2, steps) if at == middle else ():
                if _generic(inline(deltas[adjoint[k]]), k, steps) != recursion:
                    raise GraphError(f"the backward pass at step {k} differs from step {middle}'s: not one recursion")
            lines.append((_generic(adjoint[at], at, steps), recursion))
    for p in graph.parameters:
        lines.append((Gradient(graph.output, p), _sum_over_steps(p, derivation.gradient(p), inline, steps)))
    return lines
