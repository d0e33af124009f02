"""The README's main job, examples/lecture.py, runs end to end and says what it should."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

import symbackprop as sbp

ROOT = Path(__file__).resolve().parent.parent


def test_main_job(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "lecture.py"), "-o", str(tmp_path), "--no-pdf"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "∂a/∂w11 = ∂a/∂m1·∂m1/∂z1·∂z1/∂w11 + ∂a/∂m2·∂m2/∂z1·∂z1/∂w11" in out
    assert "δ_z1 = δ_m1·f'(p11·z1 + p21·z2)·p11 + δ_m2·f'(p12·z1 + p22·z2)·p12" in out
    for lang in ("en", "ru"):
        html = (tmp_path / f"handout-{lang}.html").read_text(encoding="utf-8")
        assert "<math" in html and "<svg" in html
        assert (tmp_path / f"handout-{lang}.tex").stat().st_size > 1000
    # the network learns its teacher: validation loss near the noise level, far below the mean's
    line = next(l for l in out.splitlines() if "validation loss" in l)
    learned, mean = float(line.split()[2]), float(line.split("mean: ")[1].split(";")[0])
    assert learned < mean / 100, line
    # what it says of the weights is what they are: the distance to the nearest symmetric copy of
    # the teacher, recomputed here from the printed parameters
    printed = dict(re.findall(r"(\w+)=([+-][\d.]+)", next(l for l in out.splitlines() if "learned parameters" in l)))
    values = sbp.load(ROOT / "examples" / "lecture_loss.sbp").metadata["values"]
    nearest = min(max(abs(float(v) - copy[k]) for k, v in printed.items())
                  for copy in lecture_example().teacher_copies(values))
    claim = next(l for l in out.splitlines() if "symmetric copies" in l)
    said = float(re.search(r"largest difference ([\d.]+)", claim).group(1))
    assert abs(said - nearest) <= 0.011, claim  # the printed parameters are rounded to 0.01
    assert ("not the teacher's weights" in claim) == (nearest >= 0.1)


def lecture_example():
    spec = importlib.util.spec_from_file_location("lecture_example", ROOT / "examples" / "lecture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_teachers_symmetric_copies_compute_the_same_function():
    graph = sbp.load(ROOT / "examples" / "lecture_loss.sbp")
    model = sbp.compile(graph)
    names = [p.name for p in model.parameters]
    copies = lecture_example().teacher_copies({n: graph.metadata["values"][n] for n in names})
    vectors = {tuple(np.round([c[n] for n in names], 12)) for c in copies}
    assert len(vectors) == 64  # all distinct
    X = np.random.default_rng(1).uniform(-3, 3, size=(50, 2))
    reference = model.forward([copies[0][n] for n in names], X)
    for copy in copies:
        assert np.allclose(model.forward([copy[n] for n in names], X), reference, atol=1e-12)


def test_the_handout_step_descends_the_loss(tmp_path):
    """lecture.py derives ∂a/∂w but its graph's output is the loss L: the update step descends L."""
    graph = sbp.load(ROOT / "examples" / "lecture_loss.sbp")
    model = sbp.compile(graph)
    names = [p.name for p in model.parameters]
    theta = np.array([graph.metadata["values"][n] for n in names])
    X = np.array([[graph.metadata["values"]["x1"], graph.metadata["values"]["x2"]]])
    y = np.array([graph.metadata["values"]["y"]])
    loss, grad = model.loss_and_gradient(theta, X, y)
    stepped = theta - 0.05 * grad
    after = model.loss(stepped, X, y)
    assert after < loss
    page = sbp.handout(graph, wrt=["w11"], of="a", optimizers=[sbp.optim.GD(lr=0.05)]).html()
    step_section = page[page.index("One update step"):]
    for number in (stepped[names.index("w11")], loss, after):
        assert f"<mn>{float(format(number, '.4g'))}</mn>" in step_section
    assert "the objective Q is" in step_section and "<mi>L</mi>" in step_section
