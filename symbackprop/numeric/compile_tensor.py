"""A tensor graph's δ equations as vectorized array code: NumPy, or ``jax.numpy`` under ``jax.jit``.

Every per-sample tensor becomes an array with a leading batch axis (``u^(1)``: ``B × 128``), so
``W a`` is written ``a @ W.T`` and the batch sum of ``δ aᵀ`` is ``δ.T @ a``; parameters are views
into the flat parameter vector (no copies) and their gradients are written in place into the
flat gradient. The code comes from the same reverse sweep that prints the equations, seeded
with ``1/B`` per sample (the loss is the batch mean), and each line is commented with the
equation it computes. Each operation writes its own code (the op table's ``code``); this module
only orders the statements, names the variables and lays out the parameters.

>>> import numpy as np, symbackprop as sbp
>>> model = sbp.compile(sbp.mlp((3, 4, 2), loss="softmax_cross_entropy"))
>>> loss, grad = model.loss_and_gradient(model.init_params(seed=0), np.ones((5, 3)), np.tile([1.0, 0.0], (5, 1)))
>>> grad.shape
(26,)
>>> print(next(line for line in model.source().splitlines() if "numpy.matmul(delta1" in line))
    numpy.matmul(delta1.T, x, out=grad[1:17].reshape(4, 4)[:, 0:3])  # ∂L/∂W^(1) = δ^(1) xᵀ
"""

from __future__ import annotations

import builtins
import inspect
import keyword
import re
from collections import Counter
from typing import Mapping

import numpy as np
import sympy as sp

from ..core.errors import CompileError, DataError, GraphError
from ..core.tensor.base import Apply, Code, CodeContext, Scalar, Tensor, TensorExpr, replace, row_major, size, walk
from ..core.tensor.derive import Adjoint, as_tensor_graph, derive_tensor
from ..core.tensor.graph import TensorGraph
from ..core.tensor.ops import Add, array_sum
from ..core.tensor.scalar import ScalarView, parameter_order, tensor_symbols
from .compile_layers import flat_view
from .model import JaxCodePrinter, Model, NumPyCodePrinter, _short, chosen_functions, comment_line, float_dtype
from .optim import as_optimizer
from .stacks import Stack, find_stacks
from .step import JaxTrainingStep, TrainingStep

__all__ = ["compile_tensor", "TensorModel", "JaxTensorModel", "SEED"]

# The adjoint of each sample's loss in the batch mean: 1/B. The code's backward pass starts here.
SEED = Tensor("seed", ())
_RESERVED = {"params", "grad", "X", "Y", "B", "seed", "numpy", "jnp", "loss", "out", "x", "y"}


def _identifier(name: str, taken: set) -> str:
    """A variable name made from a tensor's name (``W^(1)`` → ``W1``, ``δ^(2)`` → ``delta2``),
    only letters, digits and underscores, so that nothing a model file says becomes code."""
    stem = re.sub(r"\W", "", name.replace("δ", "delta").replace("Δ", "Delta"), flags=re.ASCII) or "t"
    if stem[0].isdigit():
        stem = "t" + stem
    candidate, k = stem, 1
    while candidate in taken or keyword.iskeyword(candidate) or hasattr(builtins, candidate):
        k += 1
        candidate = f"{stem}_{k}"
    taken.add(candidate)
    return candidate


def _post_order(expr: TensorExpr):
    if isinstance(expr, Apply):
        for arg in expr.args:
            yield from _post_order(arg)
    yield expr


class _Program(CodeContext):
    """The generated functions of one tensor graph, and the code context the ops write into."""

    def __init__(self, graph: TensorGraph, backend: str):
        self.graph = graph
        self.numpy = backend == "numpy"
        self.xp = "numpy" if self.numpy else "jnp"
        self.batch = "B"
        self.printer_class = NumPyCodePrinter if self.numpy else JaxCodePrinter
        self.display = derive_tensor(graph)
        self.derivation = derive_tensor(graph, seed=SEED)
        taken = set(_RESERVED)
        self.variables: dict[TensorExpr, str] = {}
        for t in graph.inputs[:1] + graph.targets[:1]:  # the usual names of the data
            self.variables[t] = "x" if t in graph.inputs else "y"
        for t in graph.leaves + graph.nodes:
            if t not in self.variables:
                self.variables[t] = _identifier(t.name, taken)
        for e in self.derivation.equations:
            if isinstance(e.lhs, Adjoint):
                self.variables[e.lhs] = _identifier(e.lhs.name, taken)
        self.taken = taken
        self.constants: dict[str, np.ndarray] = {}
        # NumPy: each parameter a view of the flat vector; JAX: the parameters come as a tuple
        self.views = {p: self._view(p) if self.numpy else f"{{v}}[{k}]" for k, p in enumerate(graph.parameters)}
        # products of one input computed as one (NumPy; XLA fuses JAX's own way)
        self.stacks = find_stacks(graph, self.derivation) if self.numpy else []
        self.stack_of = {m: s for s in self.stacks for m in s.members}
        for s in self.stacks:
            for t in (s.weight, s.bias, s.node, s.adjoint):
                if t is not None:
                    self.variables[t] = _identifier(t.name.replace("…", "_to_"), taken)
            for stacked, parts in ((s.weight, s.weights), (s.bias, s.biases)):
                if stacked is not None:
                    self.views[stacked] = self._contiguous(graph.layout[parts[0]][0], stacked.shape)
        self.kernels: dict[str, object] = {}
        statements = [*graph.definitions.values(), *(e.rhs for e in self.derivation.equations)]
        self.counts = Counter(e for expr in statements for e in walk(expr) if isinstance(e, Apply))

    # -- the CodeContext the operations see -----------------------------------------------------

    def scalar(self, expr: sp.Expr, names: dict) -> str:
        dummies = {s: sp.Dummy(s.name) for s in expr.free_symbols}
        printer = self.printer_class({dummies[s]: code for s, code in names.items() if s in dummies})
        return printer.doprint(expr.xreplace(dummies))

    def value(self, expr: TensorExpr) -> str | None:
        return self.names.get(expr)

    def code(self, expr: TensorExpr) -> Code:
        if expr in self.names:
            return Code(self.names[expr], expr.shape, self.batched[expr], expr)
        if isinstance(expr, Scalar):
            if not expr.value.is_number:
                raise CompileError(f"the constant {expr.value} has no value; give it one in the model file's values:")
            return Code(repr(float(expr.value)), (), False, expr)
        if isinstance(expr, Apply):
            args = [self.code(a) for a in expr.args]
            self._kernels(expr)
            try:
                text = expr.op.code(args, self)
            except GraphError as error:
                raise CompileError(str(error)) from None
            return Code(text, expr.shape, any(a.batched for a in args), expr)
        raise CompileError(f"{expr} has no value yet in the generated code")

    def _kernels(self, expr: Apply) -> None:
        """Make the kernels ``expr``'s code calls available to the generated code."""
        for kernel in expr.op.kernels():
            self.kernels[kernel.__name__] = kernel

    # -- statements -----------------------------------------------------------------------------

    def share(self, text: str) -> str:
        """A variable holding ``text``'s value, computed once per function: the windows of a
        map that a convolution and its kernel's gradient both read (``CodeContext.share``)."""
        if text not in self.shared_texts:
            self.shared_texts[text] = f"t{self.temps}"
            self.temps += 1
            self.pending.append(f"{self.shared_texts[text]} = {text}")
        return self.shared_texts[text]

    def _flush(self) -> list[str]:
        """The shared values asked for since the last statement, to emit before it."""
        lines, self.pending = self.pending, []
        return lines

    def _start(self):
        self.names: dict[TensorExpr, str] = {}
        self.batched: dict[TensorExpr, bool] = {}
        self.temps = 0
        self.shared_texts: dict[str, str] = {}
        self.pending: list[str] = []

    def _name(self, expr: TensorExpr, name: str, batched: bool) -> None:
        self.names[expr] = name
        self.batched[expr] = batched

    def _shared(self, expr: TensorExpr) -> list[str]:
        """Temporaries for the subexpressions of ``expr`` used more than once in the program
        (``f'(P z)`` in both of a fused unit's gradients), computed once, innermost first."""
        lines = []
        for e in _post_order(expr):
            if e is not expr and isinstance(e, Apply) and e.op.fresh and self.counts[e] > 1 and e not in self.names:
                code = self.code(e)
                name = f"t{self.temps}"
                self.temps += 1
                lines += self._flush() + [f"{name} = {code.text}"]
                self._name(e, name, code.batched)
        return lines

    def assign(self, target: str, expr: TensorExpr) -> tuple[list[str], list[str], bool]:
        """``target = expr`` (one fresh array, then updated in place where NumPy allows): the
        temporaries it needs first, its own lines, and whether the result is batched."""
        temps = self._shared(expr)
        if self.numpy and isinstance(expr, Apply) and isinstance(expr.args[0], Apply) and expr.args[0].op.fresh \
                and expr.args[0] not in self.names:
            args = [self.code(a) for a in expr.args]
            batched = any(a.batched for a in args)
            if args[0].shape == expr.shape and args[0].batched == batched:
                in_place = expr.op.in_place(args, self, target)
                if in_place:
                    return temps + self._flush(), in_place, batched
        code = self.code(expr)
        return temps + self._flush(), [f"{target} = {code.text}"], code.batched

    @staticmethod
    def _comment(temps: list[str], lines: list[str], shown: str) -> list[str]:
        """The statement's lines, the first commented with the equation they compute."""
        return [f"    {t}" for t in temps] + [f"    {line}" + (f"  # {comment_line(shown)}" if i == 0 else "")
                                               for i, line in enumerate(lines)]

    # -- parameters --------------------------------------------------------------------------------

    def _view(self, p: Tensor) -> str:
        """``params`` sliced into ``p``'s shape (a view), or through an index array (a copy)."""
        start = self.graph.layout[p][0]
        positions = flat_positions(self.graph, p)
        contiguous = np.array_equal(positions.ravel(), start + np.arange(size(p.shape)))
        if contiguous:
            return self._contiguous(start, p.shape)
        view = flat_view(positions, self.graph.size) if len(p.shape) <= 2 else None
        if view is not None:
            return view
        name = f"index_{self.variables[p]}"
        self.constants[name] = positions
        return f"{{v}}[{name}]"

    @staticmethod
    def _contiguous(start: int, shape) -> str:
        """The view of entries ``start …`` in row-major ``shape``."""
        n = size(shape)
        return f"{{v}}[{start}:{start + n}]" + (f".reshape({', '.join(map(str, shape))})" if len(shape) != 1 else "")

    def _prologue(self, with_targets: bool) -> list[str]:
        g = self.graph
        lines = ["    B = X.shape[0]"]
        if g.parameters:
            lines.append("    # parameters: views into the flat vector (no copies) where its layout allows" if self.numpy
                         else "    # parameters: one array each, in the graph's order")
        for p in g.parameters:
            lines.append(f"    {self.variables[p]} = {self.views[p].format(v='params')}  # {comment_line(repr(p))}")
            self._name(p, self.variables[p], False)
        for s in self.stacks:
            for stacked, parts in ((s.weight, s.weights), (s.bias, s.biases)):
                if stacked is not None:
                    shown = f"[{parts[0]}; …; {parts[-1]}]: {'×'.join(map(str, stacked.shape))}, stacked"
                    lines.append(f"    {self.variables[stacked]} = {self.views[stacked].format(v='params')}  # {shown}")
                    self._name(stacked, self.variables[stacked], False)
        for tensors, array in ((g.inputs, "X"), (g.targets if with_targets else (), "Y")):
            start = 0
            for t in tensors:
                n, name = size(t.shape), self.variables[t]
                whole = len(tensors) == 1
                part = array if whole else f"{array}[:, {start}:{start + n}]"
                if len(t.shape) != 1:
                    part = f"{part}.reshape(B{''.join(f', {k}' for k in t.shape)})"
                lines.append(f"    {name} = {part}  # {comment_line(repr(t))}")
                self._name(t, name, True)
                start += n
        return lines

    def _forward(self, nodes) -> list[str]:
        lines = ["    # forward pass"]
        shown = dict(zip(self.graph.definitions, self.display.text(forward=True).splitlines()))
        for node in nodes:
            expr = self.graph.definitions[node]
            name = self.variables[node]
            stack = self.stack_of.get(node)
            if stack is not None and stack.node not in self.names:
                lines += self._stacked_forward(stack, shown)
            temps, body, batched = self.assign(name, stack.block(stack.node, node) if stack else expr)
            lines += self._comment(temps, body, shown[node])
            self._name(node, name, batched)
            self._name(expr, name, batched)
        return lines

    def _stacked_forward(self, stack: Stack, shown: dict) -> list[str]:
        """The products of one stack at once; each is then a block of its rows."""
        temps, body, batched = self.assign(self.variables[stack.node], stack.definition)
        self._name(stack.node, self.variables[stack.node], batched)
        first, last = shown[stack.members[0]], shown[stack.members[-1]]
        return self._comment(temps, body, f"{first} … {last}, stacked")

    def _stacked_backward(self, stack: Stack, member: Tensor, name: str) -> list[str]:
        """``δ_member`` into its rows of the stack's δ; after the last one, the stacked gradients."""
        lines = []
        if stack.adjoint not in self.names:
            shape = stack.node.shape
            if len(shape) == 2:  # column by column, as columns_product reads it and writes its results
                empty = f"numpy.empty(({self.batch}, {shape[1]}, {shape[0]}), dtype=params.dtype).swapaxes(-1, -2)"
            else:
                empty = f"numpy.empty(({self.batch}, {', '.join(map(str, shape))}), dtype=params.dtype)"
            lines.append(f"{self.variables[stack.adjoint]} = {empty}")
            self._name(stack.adjoint, self.variables[stack.adjoint], True)
            self.filled[stack] = 0
        lines.append(f"{self.code(stack.block(stack.adjoint, member)).text} = {name}")
        self.filled[stack] += 1
        if self.filled[stack] == len(stack.members):
            for stacked, parts, rule in ((stack.weight, stack.weights, stack.weight_gradient),
                                         (stack.bias, stack.biases, stack.bias_gradient)):
                if stacked is not None:
                    first, *rest = self._gradient(stacked, rule())
                    shown = f"∂L/∂{parts[0]} … ∂L/∂{parts[-1]} at once: their rule with the stacked δ"
                    lines += [f"{first}  # {comment_line(shown)}", *rest]
        return self._flush() + lines

    def _needed(self, targets) -> list[Tensor]:
        wanted = set(targets)
        for t in targets:
            wanted |= self.graph.ancestors(t)
        return [n for n in self.graph.nodes if n in wanted]

    # -- the three functions -------------------------------------------------------------------------

    def forward(self) -> str:
        self._start()
        g = self.graph
        uses_targets = [p for p in g.predictions if g.ancestors(p) & set(g.targets)]
        if uses_targets:
            raise CompileError(f"the prediction {uses_targets[0]} depends on a target, so it cannot be computed "
                               "from inputs alone; say which nodes predict (predictions=[…])")
        lines = ["def forward(params, X):", '    """The predictions, one row per sample."""']
        lines += self._prologue(with_targets=False) + self._forward(self._needed(g.predictions))
        parts = []
        for p in g.predictions:
            code = self.code(p)
            text = code.text if code.batched else f"{self.xp}.broadcast_to({code.text}, (B,) + {code.atom()}.shape)"
            parts.append(text if len(p.shape) == 1 else f"{text}.reshape(B, {size(p.shape)})")
        lines += [f"    {line}" for line in self._flush()]
        lines.append(f"    return {parts[0]}" if len(parts) == 1
                     else f"    return {self.xp}.concatenate([{', '.join(parts)}], axis=1)")
        return "\n".join(lines)

    def values(self) -> str:
        """``values(params, X)``: every node that the inputs alone determine, by name (for
        looking inside the network, e.g. at the units a zero start leaves equal)."""
        self._start()
        g = self.graph
        nodes = [n for n in g.nodes if not g.ancestors(n) & set(g.targets)]
        lines = ["def values(params, X):", '    """Every node computed from the inputs, by name."""']
        lines += self._prologue(with_targets=False) + self._forward(nodes)
        lines += [f"    {line}" for line in self._flush()]
        lines.append("    return {" + ", ".join(f"{i}: {self.variables[n]}" for i, n in enumerate(nodes)) + "}")
        return "\n".join(lines)

    def _loss_value(self) -> str:
        """The batch mean of the output, from its definition's terms (a loss kernel's batch sum,
        a penalty as it is: the mean of a constant is itself)."""
        expr = self.graph.definitions[self.graph.output]
        terms = expr.args if isinstance(expr, Apply) and isinstance(expr.op, Add) else (expr,)
        parts = [f"({self._summed(t)}) / B" if self.is_batched(t) else self.code(t).text for t in terms]
        return " + ".join(parts)

    def _loss_nodes(self) -> list[Tensor]:
        """The nodes the loss needs, the output itself left out (``_loss_value`` computes it)."""
        return [n for n in self._needed([self.graph.output]) if n != self.graph.output]

    def loss(self) -> str:
        self._start()
        lines = ["def loss(params, X, Y):", '    """The batch mean of the per-sample loss."""']
        lines += self._prologue(with_targets=True) + self._forward(self._loss_nodes())
        value = self._loss_value()
        lines += [f"    {line}" for line in self._flush()] + [f"    return {value}"]
        return "\n".join(lines)

    def loss_and_gradient(self) -> str:
        self._start()
        g = self.graph
        lines = ["def loss_and_gradient(params, X, Y):",
                 '    """The batch mean of the loss and its gradient, from the δ equations."""']
        lines += self._prologue(with_targets=True) + self._forward(self._loss_nodes())
        lines.append(f"    seed = {self.xp}.full(B, 1.0 / B, dtype=X.dtype)  # ∂(batch mean)/∂L per sample")
        self._name(SEED, "seed", True)
        if self.numpy:
            lines.append("    grad = numpy.empty_like(params)")
        lines.append("    # backward pass")
        shown = self.display.text().splitlines()
        done = {p for s in self.stacks for p in (*s.weights, *s.biases)}
        self.filled: dict[Stack, int] = {}
        for equation, text in zip(self.derivation.equations, shown):
            rhs = equation.rhs
            for stack in self.stacks:
                rhs = stack.with_input_term(rhs)
            if isinstance(equation.lhs, Adjoint):
                name = self.variables[equation.lhs]
                temps, body, batched = self.assign(name, rhs)
                self._name(equation.lhs, name, batched)
                stack = self.stack_of.get(equation.lhs.node)
                if stack is not None:
                    body += self._stacked_backward(stack, equation.lhs.node, name)
            elif equation.lhs.wrt in done:
                temps, body = [], []
                lines.append(f"    # {comment_line(text)}: in the stacked gradient")
            else:
                temps = self._shared(rhs)
                body = self._gradient(equation.lhs.wrt, rhs)
                temps += self._flush()
                done.add(equation.lhs.wrt)
            lines += self._comment(temps, body, text)
        for p in g.parameters:
            if p not in done and self.numpy:
                lines.append(f"    {self.views[p].format(v='grad')}[...] = 0  # {comment_line(p.name)} does not reach the loss")
            elif p not in done:
                lines.append(f"    grad_{self.variables[p]} = jnp.zeros({p.shape!r}, dtype=X.dtype)")
        if not self.numpy:
            lines += self._assembled()
        value = self._loss_value()
        lines += [f"    {line}" for line in self._flush()] + [f"    return {value}, grad"]
        return "\n".join(lines)

    def _gradient(self, p: Tensor, rhs: TensorExpr) -> list[str]:
        """``∂L/∂p``, summed over the batch, written into its place in ``grad``."""
        lines: list[str] = []
        terms = rhs.args if isinstance(rhs, Apply) and isinstance(rhs.op, Add) else (rhs,)
        view = self.views[p].format(v="grad")
        if not self.numpy:  # JAX arrays are immutable: each gradient is a value, assembled at the end
            return lines + [f"grad_{self.variables[p]} = {' + '.join(self._summed(t) for t in terms)}"]
        for k, term in enumerate(terms):
            if k == 0 and self.is_batched(term) and isinstance(term, Apply):
                self._kernels(term)
                into = term.op.batch_sum_into([self.code(a) for a in term.args], self, view)
                if into:
                    lines.append(into)
                    continue
            summed = self._summed(term)
            lines.append(f"{view}[...] {'=' if k == 0 else '+='} {summed}")
        return lines

    def _assembled(self) -> list[str]:
        """JAX: the gradient as the parameters come, a tuple of one array per parameter."""
        return [f"    grad = ({''.join(f'grad_{self.variables[p]}, ' for p in self.graph.parameters)})"]

    def is_batched(self, expr: TensorExpr) -> bool:
        """Whether ``expr`` varies by sample (it uses data, or the seed)."""
        return any(self.batched.get(e, False) for e in walk(expr) if e in self.names)

    def _summed(self, term: TensorExpr) -> str:
        """The batch sum of ``term`` (itself when it does not vary by sample)."""
        if not self.is_batched(term):
            return self.code(term).text
        if isinstance(term, Apply):
            self._kernels(term)
            cheaper = term.op.batch_sum_code([self.code(a) for a in term.args], self)
            if cheaper:
                return cheaper
        code = self.code(term)
        if self.numpy and len(code.shape) == 1:  # Σ_b of rows: one product with a row of ones (BLAS)
            return f"{self.share('numpy.ones(B, dtype=params.dtype)')} @ {code.atom()}"
        return array_sum(self.xp, code.text, 0)

    def functions(self) -> str:
        return "\n\n\n".join([self.forward(), self.loss(), self.loss_and_gradient(), self.values()]) + "\n"

    def text(self, functions: str) -> str:
        """The whole program as a student reads it: the equations, the kernels, the functions."""
        header = "\n".join(f"#   {comment_line(line)}" for line in self.display.text(forward=True).splitlines())
        sources = {name: inspect.getsource(k) for name, k in self.kernels.items()}
        kernels = "\n\n".join(sources[name] for name in _called(sources, functions))
        parts = [f"# Generated by symbackprop from the tensor equations:\n{header}"]
        if kernels:
            parts.append(f"# kernels (called with the array module first)\n{kernels}")
        return "\n\n".join(parts + [functions])


def _called(sources: dict[str, str], code: str) -> list[str]:
    """The kernels ``code`` calls, directly or through other kernels, in ``sources``' order (an
    operation offers every kernel it may need; the program shows only those it uses)."""
    found: set[str] = set()
    reading = [code]
    while reading:
        text = reading.pop()
        for name in sources:
            if name not in found and re.search(rf"\b{name}\(", text):
                found.add(name)
                reading.append(sources[name])
    return [name for name in sources if name in found]


# -- the model ---------------------------------------------------------------------------------------

class TensorModel(Model):
    """A ``Model`` running a tensor graph's equations. Its scalar names (``parameters``,
    ``inputs``) are made only when asked for; ``X`` may also come as ``(B, *input shape)``."""

    def __init__(self, tensor: TensorGraph, graph, functions, source: str, dtype):
        super().__init__(graph, functions, source, dtype)
        self.tensor = tensor

    def _entries(self, tensors) -> tuple[sp.Symbol, ...]:
        found = tensor_symbols(self.tensor)
        return tuple(s for t in tensors for s in found[t])

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        if "parameters" not in self.__dict__:
            found = tensor_symbols(self.tensor)
            index = {p: dict(zip(row_major(p.shape), found[p])) for p in self.tensor.parameters}
            self.__dict__["parameters"] = tuple(index[p][i] for p, i in parameter_order(self.tensor))
        return self.__dict__["parameters"]

    @property
    def inputs(self) -> tuple[sp.Symbol, ...]:
        if "inputs" not in self.__dict__:
            self.__dict__["inputs"] = self._entries(self.tensor.inputs)
        return self.__dict__["inputs"]

    @property
    def targets(self) -> tuple[sp.Symbol, ...]:
        return self._entries(self.tensor.targets)

    @property
    def predictions(self) -> tuple[sp.Symbol, ...]:
        return self._entries(self.tensor.predictions)

    def params(self, params) -> np.ndarray:
        array = np.asarray(params, dtype=self.dtype)
        if array.shape != (self.tensor.size,):
            raise DataError(f"expected {self.tensor.size} parameters ({_short(self.parameters)}), "
                            f"got an array of shape {array.shape}")
        return array

    def inputs_array(self, X, role: str = "X") -> np.ndarray:
        inputs = self.tensor.inputs
        if len(inputs) == 1 and len(inputs[0].shape) > 1:
            array = np.asarray(X) if not isinstance(X, np.ndarray) else X
            if array.ndim == len(inputs[0].shape) + 1 and array.shape[1:] == inputs[0].shape:
                X = array.reshape(len(array), -1)
        return super().inputs_array(X, role)

    def node_values(self, params, X) -> dict[Tensor, np.ndarray]:
        """Every node the inputs determine, ``tensor → (B, *shape)`` array, at ``params``."""
        nodes = [n for n in self.tensor.nodes if not self.tensor.ancestors(n) & set(self.tensor.targets)]
        found = self._functions["values"](self.params(params), self.inputs_array(X))
        return {n: np.broadcast_to(np.asarray(found[i]), (len(X),) + n.shape) for i, n in enumerate(nodes)}

    def init_params(self, seed: int | None = None) -> np.ndarray:
        """Zeros, or with a seed U(−1/√fan_in, 1/√fan_in) as PyTorch draws a layer's weights and
        biases (fan-in: the inputs each entry of the layer reads, from the op table)."""
        if seed is None:
            return np.zeros(self.tensor.size, dtype=self.dtype)
        bounds = np.ones(self.tensor.size)
        for p, fan_in in _fan_ins(self.tensor).items():
            bounds[flat_positions(self.tensor, p)] = 1 / np.sqrt(fan_in)
        return np.random.default_rng(seed).uniform(-bounds, bounds).astype(self.dtype)

    def __repr__(self) -> str:
        t = self.tensor
        return (f"{type(self).__name__}({t.size} parameters, inputs=({', '.join(repr(x) for x in t.inputs)}), "
                f"predictions=({', '.join(p.name for p in t.predictions)}), dtype={self.dtype.name})")


def flat_positions(graph: TensorGraph, p: Tensor) -> np.ndarray:
    """Where each entry of the parameter ``p`` sits in the flat vector, as an array of ``p``'s shape."""
    start, strides = graph.layout[p]
    positions = np.full(p.shape, start, dtype=np.int64)
    for axis, step in enumerate(strides):
        shape = [1] * len(p.shape)
        shape[axis] = p.shape[axis]
        positions = positions + step * np.arange(p.shape[axis]).reshape(shape)
    return positions


def _fan_ins(graph: TensorGraph) -> dict[Tensor, int]:
    """Each parameter's fan-in: what its operation says (``W`` in ``W a``: a's length; a kernel:
    C·k·k), a bias's that of the weight beside it in its sum, else 1."""
    found: dict[Tensor, int] = {}
    for expr in graph.definitions.values():
        for e in walk(expr):
            if not isinstance(e, Apply):
                continue
            shapes = [a.shape for a in e.args]
            for i, arg in enumerate(e.args):
                fan_in = e.op.fan_in(shapes, i)
                if fan_in and isinstance(arg, Tensor) and arg in graph.parameters:
                    found[arg] = max(found.get(arg, 1), fan_in)
            if isinstance(e.op, Add):
                beside = [found.get(w) for t in e.args if isinstance(t, Apply) for w in t.args if w in found]
                for arg in e.args:
                    if isinstance(arg, Tensor) and arg in graph.parameters and beside:
                        found[arg] = max(found.get(arg, 1), *beside)
    return found


# -- entry points -------------------------------------------------------------------------------------

def _bound(graph: TensorGraph, functions: Mapping | None) -> TensorGraph:
    """The graph with undefined functions bound and scalar constants (``λ``) given values."""
    bound = chosen_functions(graph.undefined_functions, graph.metadata, functions)
    if bound:
        graph = graph.substitute_functions(bound)
    values = graph.metadata.get("values") or {}
    constants = {s: sp.Float(values[s.name]) for s in graph.scalar_constants() if s.name in values}
    missing = [s for s in graph.scalar_constants() if s.name not in values]
    if missing:
        raise CompileError(f"the constant {missing[0]} has no value; give it one in the model file's values:")
    if constants:
        graph = graph.with_definitions({n: replace(e, lambda x: _with_values(x, constants))
                                        for n, e in graph.definitions.items()})
    if graph.constants:
        raise CompileError(f"the tensors {', '.join(t.name for t in graph.constants)} are neither data nor "
                           "parameters; a compiled model trains every leaf that is not data")
    return graph


def _with_values(expr: TensorExpr, constants: dict):
    if isinstance(expr, Scalar) and expr.value.free_symbols:
        return Scalar(expr.value.xreplace(constants))
    factor = getattr(getattr(expr, "op", None), "factor", None)
    if isinstance(factor, sp.Expr) and factor.free_symbols:
        args = tuple(replace(a, lambda x: _with_values(x, constants)) for a in expr.args)
        return type(expr.op)(factor.xreplace(constants)).simplify(args)
    return None


def compile_tensor(graph, functions: Mapping | None = None, dtype=np.float64, backend: str = "numpy") -> Model:
    """The vectorized ``Model`` of a tensor graph (or of ``mlp``'s): NumPy by default, or with
    ``backend="jax"`` the same code over ``jax.numpy`` under ``jax.jit``."""
    tensor = _bound(as_tensor_graph(graph), functions)
    dtype = float_dtype(dtype)
    view = graph if isinstance(graph, ScalarView) and tensor is graph.tensor else ScalarView(tensor)
    if backend == "numpy":
        program = _Program(tensor, backend)
        code, raw = _generated(program, {"numpy": np})
        return TensorModel(tensor, view, raw, program.text(code), dtype)
    if backend == "jax":
        jnp = _jax(dtype)
        program = _Program(tensor, backend)
        code, raw = _generated(program, {"jnp": jnp})
        return JaxTensorModel(tensor, view, raw, program.text(code), dtype)
    raise CompileError(f"backend must be 'numpy' or 'jax', not {backend!r}")


def _generated(program: _Program, module: dict) -> tuple[str, dict]:
    """The program's code, and its four functions made from it."""
    try:
        code = program.functions()
    except GraphError as error:
        raise CompileError(str(error)) from None
    # The generated lines name only the array module, the kernels and the index arrays (the
    # kernels keep their module's globals: NumPy imports lazily, which needs builtins).
    namespace = {**module, "__builtins__": {}, **program.kernels, **program.constants}
    exec(builtins.compile(code, "<symbackprop tensor model>", "exec"), namespace)
    return code, {name: namespace[name] for name in ("forward", "loss", "loss_and_gradient", "values")}


def _jax(dtype):
    """``jax.numpy``, once JAX is known to be installed and able to compute in ``dtype``."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise CompileError("backend='jax' needs JAX: pip install 'symbackprop[jax]' (or pip install jax)") from None
    if dtype == np.float64 and not jax.config.jax_enable_x64:
        raise CompileError("float64 under JAX needs jax.config.update('jax_enable_x64', True) first; "
                           "or compile with dtype=numpy.float32")
    return jnp


class JaxTensorModel(TensorModel):
    """A ``TensorModel`` whose functions are ``jax.numpy`` code under ``jax.jit``.

    The code takes the parameters as JAX does, a tuple of one array per parameter (``W1, b1, …``)
    and gives the gradient in the same form, so XLA neither gathers parameters out of a flat
    vector nor scatters a gradient into one. The model's methods still take and give flat
    vectors in ``parameters`` order, split and joined on the host; a training step keeps the
    tuple from step to step (see ``training_step``)."""

    def __init__(self, tensor: TensorGraph, graph, raw: Mapping, source: str, dtype):
        import jax

        self._positions = [flat_positions(tensor, p) for p in tensor.parameters]
        self.jax_loss_and_gradient = raw["loss_and_gradient"]  # over a tuple of arrays, unjitted
        jitted = {name: jax.jit(f) for name, f in raw.items()}

        def loss_and_gradient(params, X, Y):
            loss, grad = jitted["loss_and_gradient"](self.arrays(params), X, Y)
            return np.asarray(loss), self.flat(grad)

        functions = {"forward": lambda params, X: np.asarray(jitted["forward"](self.arrays(params), X)),
                     "loss": lambda params, X, Y: np.asarray(jitted["loss"](self.arrays(params), X, Y)),
                     "loss_and_gradient": loss_and_gradient,
                     "values": lambda params, X: {k: np.asarray(v) for k, v in
                                                  jitted["values"](self.arrays(params), X).items()}}
        super().__init__(tensor, graph, functions, source, dtype)

    def arrays(self, params: np.ndarray) -> tuple[np.ndarray, ...]:
        """The flat vector ``params`` as one array per parameter (in ``tensor.parameters`` order)."""
        return tuple(params[positions] for positions in self._positions)

    def flat(self, arrays) -> np.ndarray:
        """One array per parameter back into a flat vector in ``parameters`` order."""
        flat = np.empty(self.tensor.size, dtype=self.dtype)
        for positions, array in zip(self._positions, arrays):
            flat[positions] = np.asarray(array)
        return flat

    def training_step(self, optimizer="adam") -> TrainingStep:
        """One ``jax.jit`` program per step: the δ equations and ``optimizer``'s rule together,
        one parameter at a time, the state's buffers donated to the next state."""
        return JaxTrainingStep(self, as_optimizer(optimizer, "training_step"))
