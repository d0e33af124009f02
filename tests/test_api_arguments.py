"""The Python API's plausible mistakes (issue 13): each is accepted with its obvious meaning (a
path for a graph, an activation or optimizer by name, a node by name) or refused with a
``SymbackpropError`` that names the argument and what it takes, never a raw AttributeError or
TypeError from deep inside."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from hostile import XOR_X as X, XOR_Y as Y, bounded_time

bounded = bounded_time(30)

ROOT = Path(__file__).resolve().parents[1]
LECTURE = ROOT / "examples" / "lecture.sbp"
XOR = ROOT / "examples" / "xor.sbp"



@pytest.mark.parametrize("call", [
    lambda path: sbp.derive(path, "w11").text(),
    lambda path: sbp.gradient(path, "w11"),
    lambda path: sbp.count_paths(path, "w11"),
    lambda path: [str(p) for p in sbp.paths(path, "w11")],
])
def test_a_model_files_path_stands_for_its_graph(call):
    assert call(str(LECTURE)) == call(sbp.load(LECTURE)) == call(LECTURE)


def test_train_compiles_a_graph_and_takes_an_optimizer_by_name():
    graph = sbp.load(XOR)
    by_object = sbp.train(sbp.compile(graph), X, Y, optimizer=sbp.optim.Adam(), epochs=20, init="random",
                          seed=1, progress=False)
    by_names = sbp.train(graph, X, Y, optimizer="adam", epochs=20, init="random", seed=1, progress=False)
    from_path = sbp.train(str(XOR), X, Y, optimizer="ADAM", epochs=20, init="random", seed=1, progress=False)
    assert np.array_equal(by_object.params, by_names.params) and np.array_equal(by_names.params, from_path.params)
    amsgrad = sbp.train(graph, X, Y, optimizer="amsgrad", epochs=3, progress=False, init="random", seed=1)
    reference = sbp.train(graph, X, Y, optimizer=sbp.optim.Adam(amsgrad=True), epochs=3, progress=False,
                          init="random", seed=1)
    assert np.array_equal(amsgrad.params, reference.params)


def test_activations_by_name():
    assert sbp.mlp((2, 3, 1), activation="relu").definitions == sbp.mlp((2, 3, 1), activation=sbp.relu).definitions
    assert sbp.lecture_network("tanh").definitions == sbp.lecture_network(sp.tanh).definitions


def test_nodes_and_leaves_by_name():
    z, w, x, b = sp.symbols("z w x b")
    g = sbp.Graph({z: w * x + b}, inputs=["x"], parameters=["w"], output="z")
    assert (g.output, g.inputs, g.parameters, g.constants) == (z, (x,), (w,), (b,))
    real_x = sp.Symbol("x", real=True)
    h = sbp.Graph({z: w * real_x}, inputs=["x"], output="z")     # the graph's own symbol, assumptions kept
    assert h.inputs == (real_x,)


MODEL = sbp.compile(sbp.load(XOR))


@pytest.mark.parametrize("call, words", [
    (lambda: sbp.Graph("z = w*x"), "Graph(definitions): definitions must be a mapping"),
    (lambda: sbp.Graph(42), "Graph(definitions): definitions must be a mapping"),
    (lambda: sbp.Graph([("z",)]), "each definition is a pair (symbol, expression)"),
    (lambda: sbp.Graph({sp.Symbol("z"): sp.Symbol("w")}, output="zz"), "the output zz is not a defined node (did you mean 'z'?)"),
    (lambda: sbp.derive(42, "w11"), "derive: graph must be a Graph (or the path of a model file), not int"),
    (lambda: sbp.derive("missing.sbp", "w11"), "missing.sbp: no such file"),
    (lambda: sbp.compile(None), "compile: graph must be a Graph"),
    (lambda: sbp.draw(3.5), "draw: graph must be a Graph"),
    (lambda: sbp.handout([1, 2]), "handout: graph must be a Graph"),
    (lambda: sbp.mlp((2, 3, 1), activation="tanhh"), "cannot bind activation to 'tanhh'"),
    (lambda: sbp.mlp((2, 3, 1), output_activation=3), "cannot bind output_activation to 3"),
    (lambda: sbp.train(42, X, Y), "train: model must be a Model"),
    (lambda: sbp.train(MODEL, X, Y, optimizer="adamm"), "unknown optimizer 'adamm' (did you mean 'adam'?)"),
    (lambda: sbp.train(MODEL, X, Y, optimizer=0.1), "train: optimizer must be an optimizer"),
    (lambda: sbp.train(MODEL, X, Y, stop=["GradNorm"]), "train: stop holds criteria"),
    (lambda: sbp.train(MODEL, X, Y, seed=-1), "seed must be a non-negative integer"),
    (lambda: sbp.train(MODEL, X, Y, epochs="10"), "epochs must be a positive integer"),
])
def test_mistakes_are_named(call, words):
    with pytest.raises(sbp.SymbackpropError) as caught:
        call()
    assert words in str(caught.value)
