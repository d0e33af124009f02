"""Model files of tensor networks: shapes declared with the data and parameters, definitions in
the notation of the board (``W x + b``, ``a ⊙ b``, ``Wᵀ δ``, ``conv2d(x, K, padding=1)``).

A model file is a tensor model when its ``inputs:``, ``targets:`` or ``parameters:`` give
shapes (``name: 32×64``; ``×``, ``x`` or ``*`` between the sizes)::

    inputs: x: 1×8×8
    targets: y: 10
    parameters: K: 8×1×3×3, b: 8, V: 10×128, c: 10
    predictions: z
    u = conv2d(x, K, padding=1) + b
    h = relu(u)
    p = maxpool2d(h, 2)
    z = V vec(p) + c
    L = softmax_cross_entropy(z, y)

Grammar (one safe recursive-descent parser, no ``eval``)::

    expression := term (('+' | '-') term)*
    term       := unary (('⊙' | '*') unary | '/' unary | '@'? unary)*   juxtaposition is the matrix product
    unary      := '-' unary | postfix
    postfix    := primary ('ᵀ' | '^T')*
    primary    := number | name | call | '(' expression ')' | '‖' expression '‖' ('²' | '^2')
    call       := name "'"* '(' argument (',' argument)* ')'      argument := expression | name '=' integer

``*`` and ``⊙`` are the entrywise product (a number times a tensor scales it); a name listed
in ``values:`` but not declared as a tensor is a scalar constant (``λ‖W‖²`` with ``values: λ =
0.01``). Functions: the activations (``tanh``, ``σ``/``sigmoid``, ``relu``, ``softplus``, ``exp``,
``log`` and the file's undefined ``f`` with ``f'``), ``softmax``, ``vec``/``flatten``,
``reshape(x, 2, 3)``, ``concat(a, b)``, ``sum``/``mean`` (``axis=k``), ``outer``, ``dot``,
``conv1d``/``conv2d`` (``stride=``, ``padding=``), ``maxpool1d``/``maxpool2d``/``avgpool1d``/
``avgpool2d`` (size, ``stride=``), and the losses ``squared_error``, ``binary_cross_entropy``,
``softmax_cross_entropy``.

>>> import symbackprop as sbp
>>> g = sbp.Graph.from_text('''
... inputs: x: 3
... targets: y: 2
... parameters: W: 4×3, b: 4, V: 2×4
... h = tanh(W x + b)
... L = squared_error(V h, y)
... ''')
>>> print(g.tensor)
h = tanh(W x + b)    # 4
L = ‖V h - y‖²/2    # 1
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Mapping

import sympy as sp

from ..core import functions as activations
from ..core.errors import CycleError, GraphError, ParseError, did_you_mean
from ..core.tensor import base as tensor_base
from ..core.tensor import conv, ops
from ..core.tensor.base import Tensor, TensorExpr
from ..core.tensor.graph import TensorGraph

__all__ = ["declares_shapes", "tensor_graph_from_model", "TENSOR_FUNCTIONS", "expression_text", "tensor_sections",
           "definition_lines"]

_SHAPE_ITEM = re.compile(r"^\s*([^\W\d]\w*)\s*:\s*(\d+(?:\s*[×x*]\s*\d+)*)\s*$")
_TOKEN = re.compile(r"""
    (?P<space>\s+) | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?) | (?P<name>[^\W\d_ᵀ²³][^\Wᵀ²³]*)
  | (?P<op>\^T|\^2|[-+−*·⊙/@(),=‖ᵀ²'])""", re.VERBOSE)
MAX_DEPTH = 100

_ELEMENTWISE = {"tanh": sp.tanh, "sigmoid": activations.sigmoid, "σ": activations.sigmoid, "relu": activations.relu,
                "ReLU": activations.relu, "softplus": activations.softplus, "exp": sp.exp, "log": sp.log}


def _pool(cls):
    return lambda x, size, stride=0: cls.apply(x, size=int(size), stride=int(stride))


# name → (builder, number of tensor arguments or None for any, the keyword arguments it takes)
TENSOR_FUNCTIONS: Mapping[str, tuple[Callable, int | None, tuple[str, ...]]] = {
    "softmax": (ops.softmax, 1, ()), "vec": (ops.flatten, 1, ()), "flatten": (ops.flatten, 1, ()),
    "reshape": (lambda x, *shape: ops.reshape(x, tuple(int(n) for n in shape)), None, ()),
    "concat": (lambda *parts, axis=0: ops.concat(*parts, axis=int(axis)), None, ("axis",)),
    "sum": (lambda x, axis=None: ops.tsum(x, None if axis is None else int(axis)), 1, ("axis",)),
    "mean": (lambda x, axis=None: ops.mean(x, None if axis is None else int(axis)), 1, ("axis",)),
    "outer": (ops.outer, 2, ()), "dot": (ops.dot, 2, ()),
    "conv1d": (lambda x, K, stride=1, padding=0: conv.conv1d(x, K, int(stride), int(padding)), 2, ("stride", "padding")),
    "conv2d": (lambda x, K, stride=1, padding=0: conv.conv2d(x, K, int(stride), int(padding)), 2, ("stride", "padding")),
    "maxpool1d": (_pool(conv.MaxPool1d), None, ("stride",)), "maxpool2d": (_pool(conv.MaxPool2d), None, ("stride",)),
    "avgpool1d": (_pool(conv.AvgPool1d), None, ("stride",)), "avgpool2d": (_pool(conv.AvgPool2d), None, ("stride",)),
    "squared_error": (ops.squared_error, 2, ()), "binary_cross_entropy": (ops.binary_cross_entropy, 2, ()),
    "softmax_cross_entropy": (ops.softmax_cross_entropy, 2, ()),
}


def declares_shapes(items) -> bool:
    """True when any declaration item reads ``name: shape`` (the file is a tensor model)."""
    return any(":" in item.text for item in items)


def _shape(item) -> tuple[str, tuple[int, ...]]:
    match = _SHAPE_ITEM.match(item.text)
    if not match:
        raise item.error(f"expected 'name: shape' such as 'W: 32×64', not {item.text!r}")
    sizes = tuple(int(n) for n in re.split(r"\s*[×x*]\s*", match.group(2)))
    if any(n < 1 or n > 1_000_000 for n in sizes) or len(sizes) > 6:
        raise item.error(f"a shape has at most 6 sizes, each from 1 to 1,000,000, not {match.group(2)}")
    return match.group(1), sizes


@dataclass
class _Token:
    kind: str
    text: str
    index: int


class _Parser:
    """One definition's right side → a tensor expression."""

    def __init__(self, item, tensors: Mapping[str, Tensor], constants: Mapping[str, sp.Symbol],
                 functions: Mapping[str, sp.Function]):
        self.item, self.tensors, self.constants, self.functions = item, tensors, constants, functions
        self.tokens = list(self._tokenize(item.text))
        self.position, self.depth, self.norms = 0, 0, 0

    def error(self, message: str, index: int | None = None) -> ParseError:
        if index is None:
            index = self.peek().index
        return self.item.error(message, index)

    def _tokenize(self, text: str):
        index = 0
        while index < len(text):
            match = _TOKEN.match(text, index)
            if not match:
                raise self.item.error(f"unexpected character {text[index]!r}", index)
            if match.lastgroup != "space":
                yield _Token(match.lastgroup, match.group(), index)
            index = match.end()
        yield _Token("end", "", len(text))

    def peek(self) -> _Token:
        return self.tokens[self.position]

    def advance(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expect(self, text: str, context: str) -> None:
        if self.peek().text != text:
            raise self.error(f"expected '{text}' {context}" + (f", not '{self.peek().text}'" if self.peek().text else ""))
        self.advance()

    def parse(self) -> TensorExpr:
        if self.peek().kind == "end":
            raise self.error("the definition has no expression")
        value = self.expression()
        if self.peek().kind != "end":
            raise self.error(f"unexpected '{self.peek().text}'")
        return ops.Scale.apply(value, factor=1) if isinstance(value, (int, Fraction, sp.Expr)) else value

    # -- grammar --------------------------------------------------------------------------------

    def expression(self):
        value = self.term()
        while self.peek().text in ("+", "-", "−"):
            sign = self.advance().text
            right = self.term()
            value = self.combine(value, right if sign == "+" else self.negate(right), "+")
        return value

    def term(self):
        value = self.unary()
        while True:
            token = self.peek()
            if token.text in ("*", "·", "⊙", "/"):
                self.advance()
                value = self.combine(value, self.unary(), token.text)
            elif token.text == "@" or token.kind in ("name", "number") or token.text == "(" \
                    or token.text == "‖" and not self.norms:  # inside ‖…‖ a ‖ closes it
                if token.text == "@":
                    self.advance()
                value = self.combine(value, self.unary(), "@")
            else:
                return value

    def unary(self):
        if self.peek().text in ("-", "−"):
            self.advance()
            return self.negate(self.unary())
        return self.postfix()

    def postfix(self):
        value = self.primary()
        while self.peek().text in ("ᵀ", "^T"):
            token = self.advance()
            if not isinstance(value, TensorExpr):
                raise self.error("only a tensor has a transpose", token.index)
            value = ops.transpose(value)
        return value

    def primary(self):
        token = self.advance()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error("the expression is nested too deeply", token.index)
        try:
            if token.kind == "number":
                return sp.Rational(token.text)
            if token.text == "(":
                value = self.expression()
                self.expect(")", "to close '('")
                return value
            if token.text == "‖":
                self.norms += 1
                value = self.expression()
                self.norms -= 1
                self.expect("‖", "to close '‖'")
                if self.peek().text not in ("²", "^2"):
                    raise self.error("‖…‖ is written squared here: ‖W‖² (an L2 penalty)")
                self.advance()
                return ops.squared_norm(self.tensor(value, token))
            if token.kind == "name":
                if self.peek().text in ("(", "'"):
                    return self.call(token)
                return self.name(token)
            raise self.error(f"unexpected '{token.text}'" if token.text else "the expression ends too early", token.index)
        finally:
            self.depth -= 1

    def name(self, token: _Token):
        if token.text in self.tensors:
            return self.tensors[token.text]
        if token.text in self.constants:
            return self.constants[token.text]
        known = [*self.tensors, *self.constants]
        raise self.error(f"unknown name '{token.text}'{did_you_mean(token.text, known)}: declare it with its shape "
                         f"(parameters: {token.text}: 3×4) or give a constant a value (values: {token.text} = 0.1)",
                         token.index)

    def call(self, token: _Token):
        primes = 0
        while self.peek().text == "'":
            self.advance()
            primes += 1
        self.expect("(", f"after {token.text}")
        positional, keywords = [], {}
        while True:
            if self.peek().kind == "name" and self.tokens[self.position + 1].text == "=":
                key = self.advance()
                self.advance()
                number = self.advance()
                if number.kind != "number" or "." in number.text:
                    raise self.error(f"{key.text}= takes a whole number", number.index)
                keywords[key.text] = int(number.text)
            else:
                positional.append(self.expression())
            if self.peek().text != ",":
                break
            self.advance()
        self.expect(")", f"to close {token.text}(")
        return self.apply(token, primes, positional, keywords)

    def apply(self, token: _Token, primes: int, positional: list, keywords: dict):
        name = token.text
        function = self.functions.get(name) or _ELEMENTWISE.get(name)
        if function is not None:
            if len(positional) != 1 or keywords:
                raise self.error(f"{name} takes one argument", token.index)
            if primes:
                if name not in self.functions:
                    raise self.error(f"write the derivative of {name} out; primes are for declared functions", token.index)
                function = activations.prime(function, primes)
            return ops.apply_function(function, self.tensor(positional[0], token))
        if name not in TENSOR_FUNCTIONS:
            known = [*TENSOR_FUNCTIONS, *_ELEMENTWISE, *self.functions]
            raise self.error(f"unknown function '{name}'{did_you_mean(name, known)}", token.index)
        builder, arity, allowed = TENSOR_FUNCTIONS[name]
        unknown = [k for k in keywords if k not in allowed]
        if unknown:
            raise self.error(f"{name} takes no '{unknown[0]}='" + (f"; it takes {', '.join(allowed)}" if allowed else ""),
                             token.index)
        tensors = [a for a in positional if isinstance(a, TensorExpr)]
        if arity is not None and (len(positional) != arity or len(tensors) != arity):
            raise self.error(f"{name} takes {arity} tensor argument{'s' * (arity > 1)}", token.index)
        try:
            return builder(*positional, **keywords)
        except (GraphError, TypeError, ValueError) as error:
            raise self.error(f"{name}: {error}", token.index) from None

    # -- building -----------------------------------------------------------------------------

    def tensor(self, value, token: _Token) -> TensorExpr:
        if not isinstance(value, TensorExpr):
            raise self.error("expected a tensor here, not a number", token.index)
        return value

    def negate(self, value):
        return ops.scale(value, -1) if isinstance(value, TensorExpr) else -value

    def combine(self, left, right, operator: str):
        """``left operator right`` for tensors and numbers (a number times a tensor scales it)."""
        left_tensor, right_tensor = isinstance(left, TensorExpr), isinstance(right, TensorExpr)
        if not left_tensor and not right_tensor:
            if operator == "+":
                return left + right
            return left / right if operator == "/" else left * right
        if operator == "/":
            if right_tensor:
                raise self.error("a tensor can only be divided by a number")
            return ops.scale(left, 1 / sp.sympify(right))
        if operator == "+":
            if not (left_tensor and right_tensor):
                return ops.add(*(v if isinstance(v, TensorExpr) else tensor_base.Scalar(v) for v in (left, right)))
            return ops.add(left, right)
        if not (left_tensor and right_tensor):
            return ops.scale(right if right_tensor else left, left if right_tensor else right)
        return ops.matmul(left, right) if operator == "@" else ops.hadamard(left, right)


def tensor_graph_from_model(model, metadata_of: Callable[[Mapping, list], dict]) -> TensorGraph:
    """A ``TensorGraph`` from a model file's sorted lines (``modelfile``'s ``_ModelText``).
    ``metadata_of(functions, constants)`` reads the file's ``bind:``, ``values:`` and ``data:``."""
    declared: dict[str, Tensor] = {}
    roles: dict[str, list[Tensor]] = {}
    for key in ("inputs", "targets", "parameters"):
        roles[key] = []
        for item in model.items(key):
            name, shape = _shape(item)
            if name in declared:
                raise item.error(f"{name} is declared twice")
            declared[name] = Tensor(name, shape)
            roles[key].append(declared[name])
    functions = {}
    for item in model.items("functions"):
        if item.text in _ELEMENTWISE or item.text in TENSOR_FUNCTIONS:
            raise item.error(f"{item.text} is built in; declare only undefined functions")
        functions[item.text] = sp.Function(item.text)
    defined_names = [left.text for left, _ in model.definitions]
    constants = {}
    for item in model.items("values"):
        name = item.text.split("=")[0].strip()
        if name not in declared and name not in defined_names:
            constants[name] = sp.Symbol(name)

    tensors = {**declared, **{name: Tensor(name) for name in defined_names}}
    definitions, lines = {}, {}
    for left, right in model.definitions:
        if left.text in lines:
            raise left.error(f"{left.text} is defined twice (first on line {lines[left.text].line})")
        if left.text in declared:
            raise left.error(f"{left.text} is declared as data or a parameter, so it cannot be defined")
        definitions[tensors[left.text]] = _Parser(right, tensors, constants, functions).parse()
        lines[left.text] = left
    used = {t.name for expr in definitions.values() for t in tensor_base.leaves(expr)}
    for name, tensor in declared.items():
        if name not in used:
            raise next(i for k in roles for i in model.items(k) if i.text.startswith(name)).error(
                f"{name} is declared but no definition uses it")

    output, predictions = model.single("output"), model.items("predictions")
    try:
        return TensorGraph(definitions, inputs=roles["inputs"], targets=roles["targets"],
                           parameters=roles["parameters"] if "parameters" in model.sections else None,
                           output=output.text if output is not None else None,
                           predictions=[p.text for p in predictions] or None,
                           metadata=metadata_of(functions, list(constants)))
    except CycleError as error:
        first = lines[str(error.cycle[0])]
        raise ParseError(str(error), first.line, first.start + 1, first.source) from None
    except GraphError as error:
        node = re.match(r"in the definition of (\S+):", str(error))
        if node and node.group(1) in lines:
            where = lines[node.group(1)]
            raise ParseError(str(error), where.line, where.start + 1, where.source) from None
        raise



# -- TensorGraph → text -----------------------------------------------------------------------------

_NAMES_OF_FUNCTIONS = {"sigmoid": "σ", "relu": "relu"}
_SUM, _TERM = 1, 2   # the levels of the grammar: a sum, a product (juxtaposition, ⊙, scaling)


def expression_text(expr: TensorExpr) -> str:
    """A tensor expression in the model-file notation, as ``_Parser`` reads it back."""
    return _written(expr)[0]


def _written(expr) -> tuple[str, int]:
    """``(text, level)``: 1 for a sum, 2 for a product, 3 for anything atomic."""
    if isinstance(expr, Tensor):
        return expr.name, 3
    if isinstance(expr, tensor_base.Scalar):
        return _number(expr.value), 3
    op, args = expr.op, expr.args
    name = op.name
    if name == "add":
        text = _written(args[0])[0]
        for term in args[1:]:
            part, level = _written(term)
            text += f" - {part[1:]}" if part.startswith("-") else f" + {part}"
        return text, _SUM
    if name == "scale":
        factor, (arg, level) = op.factor, _written(args[0])
        arg = arg if level >= _TERM and not arg.startswith("-") else f"({arg})"
        return (f"-{arg}" if factor == -1 else f"{_number(factor)} {arg}"), _TERM
    if name in ("matmul", "hadamard"):
        left, level = _written(args[0])
        right, right_level = _written(args[1])
        left = left if level >= _TERM else f"({left})"
        right = right if right_level > _TERM else f"({right})"   # left to right: a right product needs ( )
        return f"{left} {right}" if name == "matmul" else f"{left} ⊙ {right}", _TERM
    if name == "transpose":
        arg, level = _written(args[0])
        return (arg if level > _TERM and not arg.startswith("-") else f"({arg})") + "ᵀ", 3
    if name == "squared_norm":
        return f"‖{_written(args[0])[0]}‖²", 3
    return _call_text(op, args), 3


def _call_text(op, args) -> str:
    texts = [_written(a)[0] for a in args]
    name = op.name
    if name == "elementwise":
        function = op.function
        base = getattr(function, "prime_base", None) or function
        primes = "'" * (op.order + getattr(function, "prime_order", 0))
        shown = _NAMES_OF_FUNCTIONS.get(base.__name__, base.__name__)
        if primes and shown in _ELEMENTWISE:
            raise GraphError(f"{shown}{primes} cannot be written in a model file; primes are for declared functions")
        return f"{shown}{primes}({texts[0]})"
    keywords: list[str] = []
    if name in ("reshape",):
        texts += [str(n) for n in op.to]
    elif name in ("concat",) and op.axis:
        keywords.append(f"axis={op.axis}")
    elif name in ("sum", "mean") and op.axes is not None:
        axes = (op.axes,) if isinstance(op.axes, int) else tuple(op.axes)
        if len(axes) != 1:
            raise GraphError(f"a {name} over several axes cannot be written in a model file")
        keywords.append(f"axis={axes[0]}")
    elif name in ("conv1d", "conv2d"):
        keywords += [f"stride={op.stride}"] * (op.stride != 1) + [f"padding={op.padding}"] * (op.padding != 0)
    elif name.startswith(("max_pool", "avg_pool")):
        texts.append(str(op.size))
        keywords += [f"stride={op.stride}"] * (op.stride != op.size)
        name = name.replace("_pool", "pool")
    elif name == "flatten":
        name = "vec"
    if name not in TENSOR_FUNCTIONS:
        raise GraphError(f"the operation {op.name} cannot be written in a model file")
    return f"{name}({', '.join(texts + keywords)})"


def _number(value: sp.Expr) -> str:
    if value.is_Rational:
        return str(value) if value.q == 1 else f"({value.p}/{value.q})"
    if value.is_Symbol:
        return value.name
    if value.is_Mul and all(a.is_Rational or a.is_Symbol for a in value.args):
        return " ".join(_number(a) for a in value.args)
    raise GraphError(f"the factor {value} cannot be written in a model file")


def tensor_sections(graph: TensorGraph) -> list[str]:
    """The declaration lines of a tensor graph's model file (inputs, targets, parameters with
    their shapes; output; predictions): the lines before the metadata and the definitions."""
    declare = lambda tensors: ", ".join(f"{t.name}: {tensor_base.shape_text(t.shape)}" for t in tensors)  # noqa: E731
    lines = [f"inputs: {declare(graph.inputs)}".rstrip()]
    if graph.targets:
        lines.append(f"targets: {declare(graph.targets)}")
    if graph.undefined_functions:
        lines.append(f"functions: {', '.join(f.__name__ for f in graph.undefined_functions)}")
    lines.append(f"parameters: {declare(graph.parameters)}".rstrip())
    lines.append(f"output: {graph.output.name}")
    if graph.predictions != (graph.output,):
        lines.append(f"predictions: {', '.join(p.name for p in graph.predictions)}")
    return lines


def definition_lines(graph: TensorGraph) -> list[str]:
    return [f"{node.name} = {expression_text(expr)}" for node, expr in graph.definitions.items()]
