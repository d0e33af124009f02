"""Every malformed graph is refused at construction with the package's error naming the culprit."""

import pytest
import sympy as sp

import symbackprop as sbp

x, y, w, v, z, m, a, q = sp.symbols("x y w v z m a q")


def test_errors_are_value_errors():
    assert issubclass(sbp.GraphError, ValueError) and issubclass(sbp.SymbackpropError, ValueError)


def test_cycle_is_named_in_order():
    with pytest.raises(sbp.CycleError, match=r"cycle: (z → m → a → z|m → a → z → m|a → z → m → a)") as info:
        sbp.Graph({z: w * a, m: sp.tanh(z), a: v * m}, inputs=[])
    assert set(info.value.cycle) == {z, m, a}


def test_definition_that_uses_itself():
    with pytest.raises(sbp.CycleError, match="the definition of z uses z itself"):
        sbp.Graph({z: w * z + x})


def test_node_defined_twice():
    with pytest.raises(sbp.GraphError, match="z is defined twice"):
        sbp.Graph([(z, w * x), (z, v * x), (a, z)])


def test_output_that_is_not_a_node():
    with pytest.raises(sbp.UnknownSymbolError, match=r"the output q is not a defined node.*nodes: z, a"):
        sbp.Graph({z: w * x, a: v * z}, output=q)


def test_output_misspelled_gets_a_suggestion():
    with pytest.raises(sbp.UnknownSymbolError, match="did you mean 'z1'"):
        sbp.lecture_network().symbol("z11")


def test_two_sinks_need_an_explicit_output():
    with pytest.raises(sbp.GraphError, match=r"2 outputs \(z, m\); say which one with output="):
        sbp.Graph({z: w * x, m: v * x})


def test_wrt_that_is_not_a_leaf():
    g = sbp.lecture_network()
    with pytest.raises(sbp.SymbackpropError, match=r"z1 is a node \(z1 = f\(w11\*x1 \+ w21\*x2\)\), not a leaf"):
        sbp.derive(g, "z1")
    with pytest.raises(sbp.SymbackpropError, match="not a leaf"):
        sbp.gradient(g, sp.Symbol("m2"))


def test_unknown_wrt_lists_known_symbols():
    with pytest.raises(sbp.UnknownSymbolError, match=r"unknown symbol 'w13' \(did you mean 'w11' or 'w12'\?\); known: z1, z2"):
        sbp.derive(sbp.lecture_network(), "w13")


def test_of_must_be_a_node():
    with pytest.raises(sbp.UnknownSymbolError, match="cannot differentiate x1: it is a leaf, not a node"):
        sbp.gradient(sbp.lecture_network(), "w11", of="x1")


def test_input_that_is_defined():
    with pytest.raises(sbp.GraphError, match="z is defined by z = w\\*x, so it cannot be listed as input"):
        sbp.Graph({z: w * x, a: v * z}, inputs=[z])


def test_unused_input_and_clashing_roles():
    with pytest.raises(sbp.UnknownSymbolError, match="the input q is not used by any definition"):
        sbp.Graph({z: w * x}, inputs=[q])
    with pytest.raises(sbp.GraphError, match="cannot be both input and target"):
        sbp.Graph({z: w * x}, inputs=[x], targets=[x])


@pytest.mark.parametrize("bad, message", [
    ({z: "w*x"}, "is a string; build it with SymPy, or use Graph.from_text"),
    ({z: w * sp.oo}, "non-finite number"),
    ({z: sp.nan * x}, "non-finite number"),
    ({z: sp.Derivative(sp.Function("g")(x), x)}, "unevaluated derivative"),
    ({"z": w * x}, "left side must be a symbol"),
    ({z: sp.Eq(x, w)}, "not an expression"),
    ({}, "at least one definition"),
])
def test_malformed_definitions(bad, message):
    with pytest.raises(sbp.GraphError, match=message):
        sbp.Graph(bad)


def test_graph_is_immutable():
    g = sbp.lecture_network()
    with pytest.raises(TypeError):
        g.definitions[sp.Symbol("z1")] = x
    with pytest.raises(AttributeError):
        g.output = sp.Symbol("z1")


def test_path_limit_gives_the_count_and_gradient_still_works():
    # a chain of diamonds: 2**k paths, counted without enumeration
    k = 20
    layers = [sp.Symbol("w")]
    defs = {}
    for i in range(k):
        left, right, join = sp.symbols(f"l{i} r{i} j{i}")
        defs[left] = sp.tanh(layers[-1])
        defs[right] = sp.sin(layers[-1])
        defs[join] = left + right
        layers.append(join)
    g = sbp.Graph(defs)
    assert sbp.count_paths(g, "w") == 2**k
    with pytest.raises(sbp.PathLimitError, match=f"w has {2**k:,} paths to j{k - 1}, more than the limit of 10,000") as info:
        sbp.derive(g, "w")
    assert info.value.count == 2**k
    assert sbp.gradient(g, "w") != 0
    assert len(sbp.paths(sbp.Graph(dict(list(defs.items())[:6])), "w", max_paths=4)) == 4
