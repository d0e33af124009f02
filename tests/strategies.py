"""Hypothesis strategies for model files: random graphs that use every section of the format.

A drawn graph has inputs, parameters (sometimes an explicit subset, so others are constants),
nodes mixing +, ·, /, integer powers, rational coefficients, the activation library and an
undefined ``f`` with its derivative ``f'``, skip edges, sometimes a target with a loss node and
predictions, and metadata (bind, values).
"""

from __future__ import annotations

import sympy as sp
from hypothesis import strategies as st

import symbackprop as sbp
from symbackprop.core.functions import ACTIVATIONS

F = sp.Function("f")
INPUTS = sp.symbols("x1 x2 ξ")
PARAMETERS = sp.symbols("w1 w2 w3 η b_1 β2")
_COEFFICIENTS = st.sampled_from([sp.Integer(1), sp.Integer(2), sp.Integer(-3), sp.Rational(1, 2),
                                 sp.Rational(-7, 3)])
_UNARY = {
    "tanh": sp.tanh, "sigmoid": sbp.sigmoid, "relu": sbp.relu, "softplus": sbp.softplus,
    "exp": sp.exp, "f": F, "f'": sbp.prime(F), "square": lambda u: u**2,
    "inverse": lambda u: 1 / (1 + u**2), "none": lambda u: u,
}


@st.composite
def model_graphs(draw, max_nodes: int = 5) -> sbp.Graph:
    inputs = draw(st.lists(st.sampled_from(INPUTS), min_size=1, max_size=3, unique=True))
    available = list(inputs)
    definitions = {}
    for k in range(1, draw(st.integers(1, max_nodes)) + 1):
        terms = []
        for _ in range(draw(st.integers(1, 3))):
            weight = draw(st.sampled_from(PARAMETERS))
            source = draw(st.sampled_from(available))
            terms.append(draw(_COEFFICIENTS) * weight * source)
        unary = _UNARY[draw(st.sampled_from(sorted(_UNARY)))]
        node = sp.Symbol(f"h{k}")
        definitions[node] = unary(sp.Add(*terms))
        available.append(node)
    output, targets, predictions = node, [], None
    if draw(st.booleans()):
        y, loss = sp.Symbol("y"), sp.Symbol("L")
        definitions[loss] = (node - y) ** 2 / 2
        output, targets, predictions = loss, [y], [node]
    leaves = {s for e in definitions.values() for s in e.free_symbols} - set(definitions)
    used_parameters = sorted(leaves - set(inputs) - set(targets), key=str)
    inputs = [x for x in inputs if x in leaves]
    parameters = None
    if used_parameters and draw(st.booleans()):
        parameters = draw(st.permutations(used_parameters))[:draw(st.integers(1, len(used_parameters)))]
    metadata = {}
    if any(e.has(F) or e.has(sbp.prime(F)) for e in definitions.values()):
        metadata["functions"] = ("f",)
        if draw(st.booleans()):
            metadata["bind"] = {"f": draw(st.sampled_from(sorted(ACTIVATIONS)))}
    if draw(st.booleans()):
        values = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
        metadata["values"] = {str(s): draw(values) for s in sorted(leaves, key=str)}
    return sbp.Graph(definitions, inputs=inputs, targets=targets, parameters=parameters,
                     output=output, predictions=predictions, metadata=metadata)


def roles(graph: sbp.Graph) -> tuple:
    """Everything a model file must preserve about a graph, in comparable form."""
    metadata = {k: v for k, v in graph.metadata.items() if k != "source"}
    return (dict(graph.definitions), graph.nodes, graph.inputs, graph.targets, graph.parameters,
            graph.constants, graph.output, graph.predictions, metadata)


# Every function the parser knows, called the way the parser calls it (by its model-file name).
_ARGUMENTS = {"max": (1, 3), "Max": (1, 3), "min": (1, 3), "Min": (1, 3), "logsumexp": (1, 3), "H": (1, 2),
              "Heaviside": (1, 2)}
_CONSTANT_FACTORS = [sp.Integer(1), sp.pi, sp.sqrt(2 / sp.pi), sp.E, sp.Rational(-1, 3)]


@st.composite
def parser_function_graphs(draw, max_nodes: int = 4) -> sbp.Graph:
    """Graphs whose nodes apply the parser's built-in functions (any of them, with their
    arities), an undefined f and its prime, and the constants π and e."""
    from symbackprop.parsing.parse import BUILTIN_FUNCTIONS

    functions = {**BUILTIN_FUNCTIONS, "f": F, "f'": sbp.prime(F)}
    available = list(INPUTS[:2])
    definitions = {}
    for k in range(1, draw(st.integers(1, max_nodes)) + 1):
        name = draw(st.sampled_from(sorted(functions)))
        fewest, most = _ARGUMENTS.get(name, (1, 1))
        arguments = [draw(_COEFFICIENTS) * draw(st.sampled_from(PARAMETERS)) * draw(st.sampled_from(available))
                     for _ in range(draw(st.integers(fewest, most)))]
        if name in ("H", "Heaviside") and len(arguments) == 2:
            arguments[1] = draw(st.sampled_from([sp.S.Zero, sp.S.Half, sp.S.One]))
        node = sp.Symbol(f"h{k}")
        definitions[node] = draw(st.sampled_from(_CONSTANT_FACTORS)) * functions[name](*arguments)
        available.append(node)
    leaves = {s for e in definitions.values() for s in e.free_symbols}
    inputs = [x for x in INPUTS[:2] if x in leaves]
    return sbp.Graph(definitions, inputs=inputs, output=node, metadata={"functions": ("f",)})
