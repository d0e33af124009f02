"""The objects a user gets back display richly in a real Jupyter kernel (executed with nbclient):
graphs as drawings, derivations and matrix equations as typeset math, a verdict with ✓/✗ and its
drawing, a training result with its loss curve; training prints no warning about widgets."""

import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")

ROOT = Path(__file__).resolve().parent.parent

CELLS = {
    "graph": "import numpy as np, symbackprop as sbp\ng = sbp.lecture_network()\ng",
    "derivation": "sbp.derive(g, 'w11')",
    "drawing": "sbp.draw(g, wrt='w11')",
    "layers": "sbp.derive_layers(sbp.mlp((2, 3, 1), loss='squared_error'))",
    "verdict": "sbp.verify(g, 'w11', \"s1*f'(p11*z1+p21*z2)*p11*f'(w11*x1+w21*x2)*x1\")",
    "training": ("model = sbp.compile(sbp.mlp((2, 3, 1), loss='squared_error'))\n"
                 "X = np.random.default_rng(0).uniform(-1, 1, (40, 2))\n"
                 "sbp.train(model, X, X[:, 0] * X[:, 1], optimizer=sbp.optim.Adam(lr=0.05), epochs=20, init='random')"),
    "handout": "sbp.handout(g, wrt=['w11'], optimizers=[])",
}
EXPECTED = {  # the rich MIME type each output must carry (besides text/plain)
    "graph": "image/svg+xml", "derivation": "text/latex", "drawing": "image/svg+xml",
    "layers": "text/latex", "verdict": "text/html", "training": "text/html", "handout": "text/html",
}


@pytest.fixture(scope="module")
def executed():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in CELLS.values()])
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    return dict(zip(CELLS, notebook.cells))


@pytest.mark.parametrize("name", CELLS)
def test_each_object_displays_richly(executed, name):
    outputs = executed[name].outputs
    results = [o for o in outputs if o.output_type == "execute_result"]
    assert len(results) == 1, outputs
    assert EXPECTED[name] in results[0].data and "text/plain" in results[0].data
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"], outputs


def test_what_the_rich_outputs_show(executed):
    verdict = executed["verdict"].outputs[-1].data["text/html"]
    assert "✗" in verdict and "✓" in verdict and "<svg" in verdict and "#d55e00" in verdict
    training = executed["training"].outputs[-1].data["text/html"]
    assert "maximum of 20 epochs reached" in training and "<svg" in training
    assert r"\delta^{(2)}" in executed["layers"].outputs[-1].data["text/latex"]
