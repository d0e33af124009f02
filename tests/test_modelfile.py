"""Model files: the examples against the Python builders, round trips, every section, errors."""

import os
import time
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings

import symbackprop as sbp
from symbackprop import Graph, ParseError, SymbackpropError, load
from symbackprop.core.errors import CycleError, GraphError, ModelFileError
from symbackprop.parsing.modelfile import MAX_FILE_BYTES

from random_graphs import graphs as core_graphs
from strategies import model_graphs, parser_function_graphs, roles
from symbackprop.parsing.parse import BUILTIN_FUNCTIONS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MODEL_FILES = sorted(EXAMPLES.glob("*.sbp"))


def test_the_lecture_file_is_the_lecture_network():
    from_file, built = load(EXAMPLES / "lecture.sbp"), sbp.lecture_network()
    assert roles(from_file)[:8] == roles(built)[:8]
    assert from_file.metadata["functions"] == ("f",)
    assert from_file.metadata["bind"] == {"f": "tanh"}
    assert from_file.metadata["values"]["w21"] == -0.2
    assert from_file.metadata["source"] == str(EXAMPLES / "lecture.sbp")


def test_the_loss_file_is_the_lecture_network_with_its_loss():
    from_file, built = load(EXAMPLES / "lecture_loss.sbp"), sbp.lecture_network(loss="squared_error")
    assert roles(from_file)[:8] == roles(built)[:8]
    # three 'values:' lines add up
    assert set(from_file.metadata["values"]) == {str(s) for s in from_file.leaves}


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.name)
def test_examples_round_trip(path):
    graph = load(path)
    again = Graph.from_text(graph.to_text(), base_dir=path.parent)
    assert roles(again) == roles(graph)
    # without a source file to be relative to, a data path is written in full; otherwise the same
    assert Graph.from_text(again.to_text()).to_text() == again.to_text()
    assert again.to_text().replace(str(path.parent) + os.sep, "") == graph.to_text()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model_graphs())
def test_random_graphs_round_trip(graph):
    text = graph.to_text()
    again = Graph.from_text(text)
    assert roles(again) == roles(graph)
    assert again.to_text() == text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(core_graphs())
def test_the_core_property_graphs_round_trip(graph):
    again = Graph.from_text(graph.to_text())
    assert roles(again)[:8] == roles(graph)[:8]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parser_function_graphs())
def test_graphs_over_every_function_the_parser_knows_round_trip(graph):
    again = Graph.from_text(graph.to_text())
    assert roles(again)[:8] == roles(graph)[:8]


@pytest.mark.parametrize("name", sorted(BUILTIN_FUNCTIONS))
def test_each_function_the_parser_knows_round_trips(name):
    x, w, v, z = sp.symbols("x w v z")
    function = BUILTIN_FUNCTIONS[name]
    graph = Graph({z: sp.sqrt(2 / sp.pi) * function(w * x), sp.Symbol("a"): v * z}, inputs=[x])
    again = Graph.from_text(graph.to_text())
    assert roles(again)[:8] == roles(graph)[:8] and sp.Symbol("pi") not in again.leaves


def test_a_function_the_parser_does_not_know_is_refused_when_written():
    x, a = sp.symbols("x a")
    with pytest.raises(GraphError, match="erf cannot be written in a model file"):
        Graph({a: sp.erf(sp.Symbol("w") * x)}, inputs=[x]).to_text()


def test_builder_networks_round_trip():
    for graph in (sbp.mlp((2, 3, 2), loss="softmax_cross_entropy"),
                  sbp.mlp((3, 2, 1), activation=sbp.relu, loss="binary_cross_entropy"),
                  sbp.lecture_network(sbp.sigmoid, loss="squared_error")):
        assert roles(Graph.from_text(graph.to_text()))[:8] == roles(graph)[:8]


def test_the_format_in_full():
    graph = Graph.from_text("""\ufeff# a comment line
        a = s*h + c        # the output, defined before what it uses
        h = g(w*x + b)\r
        inputs: x          # sections may come after the definitions
        targets:
        functions: g
        parameters: w, s, b   # c is then a constant
        values: x = 2, w = -1/4, b = 1e-3
        values: s = sqrt(4)
        bind: g = sigmoid
        data: data/xor.csv
    """, base_dir="/tmp/models")
    x, w, b, s, c, h, a = sp.symbols("x w b s c h a")
    g = sp.Function("g")
    assert dict(graph.definitions) == {h: g(w * x + b), a: s * h + c}
    assert (graph.inputs, graph.parameters, graph.constants, graph.output) == ((x,), (w, s, b), (c,), a)
    assert graph.metadata == {"functions": ("g",), "bind": {"g": "sigmoid"},
                              "values": {"x": 2.0, "w": -0.25, "b": 0.001, "s": 2.0},
                              "data": os.path.join("/tmp/models", "data", "xor.csv")}


def test_data_paths_are_relative_to_the_model_file(tmp_path):
    model = tmp_path / "sub" / "m.sbp"
    model.parent.mkdir()
    model.write_text("inputs: x\ndata: ../xor.csv\na = w*x\n")
    graph = load(model)
    assert graph.metadata["data"] == str(tmp_path / "xor.csv")
    assert "data: ../xor.csv" in graph.to_text()


def _error(text: str, kind=ParseError):
    with pytest.raises(kind) as caught:
        Graph.from_text(text)
    return caught.value


@pytest.mark.parametrize("text, line, column, message", [
    ("inputs: x\nz = w*x\nz = 2*x\n", 3, 1, "z is defined twice (first on line 2)"),
    ("inputs: x\na = b + x\nb = a*w\n", 2, 1, "cycle: a → b → a"),
    ("inputs: x\noutput: aa\na = w*x\n", 2, 9, "'aa' is not a defined node (did you mean 'a'?)"),
    ("inputs: x1, x22\na = w*x1 + v*x2\n", 1, 13, "input 'x22' is not used by any definition (did you mean 'x2'?)"),
    ("inputs: a\na = w*x\n", 1, 9, "a is defined on line 2, so it cannot be one of the inputs"),
    ("inputs: x\na = tanhh(w*x)\n", 2, 5, "unknown function 'tanhh' (did you mean 'tanh'?)"),
    ("inputs: x\na = g(w*x)\n", 2, 5, "unknown function 'g'"),
    ("a = w*x\n", 1, 1, "no 'inputs:' section"),
    ("inputs: x\n", 1, 1, "no definitions"),
    ("", 1, 1, "the model file is empty"),
    ("# only a comment\n\n", 1, 1, "the model file is empty"),
    ("inputs: x\noutputs: a\na = w*x\n", 2, 1, "unknown section 'outputs' (did you mean 'output'?)"),
    ("inputs: x\nfunctions: f\nbind: f = tahn\na = f(w*x)\n", 3, 11, "unknown activation 'tahn' (did you mean 'tanh'?)"),
    ("inputs: x\nfunctions: f\nbind: g = tanh\na = f(w*x)\n", 3, 7, "'g' is not a declared function"),
    ("inputs: x\nvalues: x = 1, ww = 2\na = w*x\n", 2, 16, "'ww' is not an input, target or parameter (did you mean 'w'?)"),
    ("inputs: x\nvalues: x = w\na = w*x\n", 2, 13, "unknown name 'w'"),
    ("inputs: x\nvalues: x = 1,, w = 2\na = w*x\n", 2, 15, "an empty item between commas"),
    ("inputs: x\nfunctions: tanh\na = tanh(w*x)\n", 2, 12, "tanh is built in"),
    ("inputs: x\ntanh = w*x\n", 2, 1, "tanh is a function, not a node name"),
    ("inputs: x\n2a = w*x\n", 2, 1, "must be a name"),
    ("inputs: x\na = \n", 2, 4, "has no expression"),
    ("inputs: x\na = w*x)\n", 2, 8, "unexpected ')'"),
    ("inputs: x\njust words\n", 2, 1, "expected a definition 'name = expression'"),
    ("inputs: x\noutput: a\noutput: a\na = w*x\n", 3, 1, "'output:' is given twice (first on line 2)"),
    ("inputs: x, x\na = w*x\n", 1, 12, "x is listed twice in 'inputs:'"),
])
def test_errors_name_the_line_and_column(text, line, column, message):
    error = _error(text)
    assert message in error.message
    assert (error.line, error.column) == (line, column)
    first, shown, caret = (str(error).splitlines() + ["", ""])[:3] if error.source else (str(error), "", "")
    assert first.startswith(f"line {line}, column {column}: ")
    if error.source:   # the caret sits under the column of the file's own line
        assert shown.strip() == text.splitlines()[line - 1].strip()
        assert caret.index("^") - 2 == column - 1


def test_cycles_are_cycle_errors_too():
    assert isinstance(_error("inputs: x\na = b + x\nb = a*w\n"), (ParseError, CycleError))


def test_several_outputs_need_an_output_line():
    error = _error("inputs: x\na = w*x\nb = v*x\n", GraphError)
    assert "2 outputs (a, b)" in str(error) and "output: b" in str(error)
    assert Graph.from_text("inputs: x\noutput: a\na = w*x\nb = v*x\n").output == sp.Symbol("a")


def test_unreadable_files(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        load(tmp_path / "missing.sbp")
    with pytest.raises(ModelFileError, match="a directory"):
        load(tmp_path)
    (tmp_path / "latin1.sbp").write_bytes("inputs: x\na = w*x  # größe\n".encode("latin-1"))
    with pytest.raises(ParseError, match=r"line 2, column 14: .* is not UTF-8 text \(byte 0xf6\)"):
        load(tmp_path / "latin1.sbp")
    (tmp_path / "garbage.sbp").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ParseError, match="binary file"):
        load(tmp_path / "garbage.sbp")


def test_a_huge_file_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.sbp"
    with big.open("wb") as stream:          # a sparse 10 MB file: cheap to make, costly to read
        stream.truncate(10 * 1024 * 1024)
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match="too large"):
        load(big)
    assert time.perf_counter() - start < 1.0
    with pytest.raises(ModelFileError, match="too long"):
        Graph.from_text("#" * (MAX_FILE_BYTES + 1))


def test_every_model_file_error_is_a_symbackprop_error():
    for kind in (ParseError, ModelFileError):
        assert issubclass(kind, SymbackpropError)


# -- typos never become silent derivatives ---------------------------------------------------------

LECTURE_TEXT = (EXAMPLES / "lecture.sbp").read_text()


def test_a_leaf_named_like_the_nodes_is_a_typo_error():
    typo = LECTURE_TEXT.replace("a  = s1*m1 + s2*m2", "a  = s1*m1 + s2*m3")
    for text in (typo, typo + "output: a\n"):   # naming the output does not hide it
        with pytest.raises(ParseError) as error:
            Graph.from_text(text)
        assert (error.value.line, error.value.column) == (12, 17)
        assert "m3 is not a node" in error.value.message and "did you mean 'm2'?" in error.value.message
    # listed as a parameter, it is meant
    graph = Graph.from_text(typo.replace("inputs: x1, x2", "inputs: x1, x2\noutput: a\nparameters: w11, w21, w12, "
                                         "w22, p11, p21, p12, p22, s1, s2, m3"))
    assert sp.Symbol("m3") in graph.parameters


def test_a_parameter_without_a_value_among_valued_ones_is_a_typo_error():
    text = "inputs: x\nvalues: x = 1, w = 2, b = 1, c = 3\nhidden = tanh(w*x + b)\na = c*hiden\n"
    with pytest.raises(ParseError, match=r"line 4, column 7: the parameter hiden has no value in 'values:' while "
                                         r"the other 3 have one: a typo \(did you mean 'hidden'\?\)"):
        Graph.from_text(text)
    Graph.from_text(text.replace("c = 3", "c = 3, hiden = 1") + "output: a\n")   # given a value, it is meant


def test_two_outputs_name_the_dangling_node():
    with pytest.raises(GraphError, match=r"the model has 2 outputs \(z2, a\): nothing uses z2, so a name where it "
                                         r"should be used may be a typo"):
        Graph.from_text("inputs: x\nz1 = x\nz2 = x\na = w*z1\n")


def test_the_python_api_warns_of_a_leaf_named_like_the_nodes():
    m1, m2, m3, s1, x, a = sp.symbols("m1 m2 m3 s1 x a")
    with pytest.warns(sbp.TypoWarning, match="m3 is a new parameter named like the nodes \\(did you mean 'm2'\\?\\)"):
        Graph({m1: sp.tanh(x), m2: sp.tanh(2 * x), a: s1 * m1 + m3}, inputs=[x], output=a)
