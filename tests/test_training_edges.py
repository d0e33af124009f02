"""Training at its edges (issue 13): Ctrl-C ends a run with its report, a bad seed is one line, the
step H trains with the zero derivative it has almost everywhere, and a model with more paths than
``max_paths`` gets advice a command can follow."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.cli import main
from hostile import XOR_X as X, XOR_Y as Y, bounded_time

bounded = bounded_time(60)

ROOT = Path(__file__).resolve().parents[1]
XOR = ROOT / "examples" / "xor.sbp"



# -- Ctrl-C ---------------------------------------------------------------------------------------

def _interrupt_soon(after: float = 0.5) -> threading.Timer:
    timer = threading.Timer(after, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_ctrl_c_returns_the_run_so_far():
    model = sbp.compile(sbp.load(XOR))
    timer = _interrupt_soon()
    start = time.perf_counter()
    try:
        result = sbp.train(model, X, Y, optimizer=sbp.optim.Adam(lr=0.01), epochs=10_000_000,
                           init="random", seed=0, progress=False)
    finally:
        timer.cancel()
    assert time.perf_counter() - start < 30
    assert result.interrupted and result.stopped_by == f"interrupted at epoch {result.epochs}"
    assert len(result.history) == result.epochs >= 1 and len(result.history.grad_norm) == result.epochs
    assert np.all(np.isfinite(result.params))
    # the parameters are those the history's last loss was measured at
    assert model.loss(result.params, X, Y) == pytest.approx(result.history.train_loss[-1], rel=1e-12)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler     # put back


def test_ctrl_c_under_early_stopping_restores_the_best_epoch():
    model = sbp.compile(sbp.load(XOR))
    timer = _interrupt_soon()
    try:
        result = sbp.train(model, X, Y, optimizer=sbp.optim.Adam(lr=0.2), epochs=10_000_000, init="random",
                           seed=0, validation=(X, Y + 0.3), stop=[sbp.EarlyStopping(patience=10**9)],
                           progress=False)
    finally:
        timer.cancel()
    best = int(np.argmin(result.history.val_loss)) + 1
    assert result.stopped_by.startswith(f"interrupted at epoch {result.epochs} (the parameters of the best "
                                        f"epoch, {best}, are restored)")
    assert model.loss(result.params, X, Y + 0.3) == pytest.approx(min(result.history.val_loss), rel=1e-12)


def test_ctrl_c_on_the_command_line_prints_the_report():
    process = subprocess.Popen(
        [sys.executable, "-m", "symbackprop", "train", str(XOR), "--epochs", "100000000", "--no-progress",
         "--show-code"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    for line in process.stdout:                  # the code is printed just before training starts
        if line.startswith("    return"):
            break
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err
    assert "stopped:    interrupted at epoch " in out and "parameters:" in out and "  w11 =" in out


# -- seeds ------------------------------------------------------------------------------------------

def test_a_negative_seed_is_one_line(capsys):
    assert main(["train", str(XOR), "--seed", "-1", "--epochs", "1", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err == "symbackprop: error: seed must be a non-negative integer (or None), not -1\n"
    model = sbp.compile(sbp.load(XOR))
    for call in (lambda: sbp.train(model, X, Y, seed=-1, init="random", progress=False),
                 lambda: model.init_params(seed=-1), lambda: sbp.train(model, X, Y, seed=1.5, progress=False)):
        with pytest.raises(sbp.SymbackpropError, match="seed must be a non-negative integer"):
            call()


# -- the step H ---------------------------------------------------------------------------------------

STEP = """inputs: x
targets: y
predictions: a
h = H(w*x + b)
a = v*h + c*x
L = (a - y)^2/2
"""


def test_the_step_trains_with_its_zero_derivative():
    model = sbp.compile(sbp.Graph.from_text(STEP))
    assert [p.name for p in model.parameters] == ["b", "w", "c", "v"]
    Xs = np.linspace(-1, 1, 8)[:, None]
    ys = 0.7 * Xs[:, 0] + (Xs[:, 0] > 0.15)
    params = np.array([-0.1, 0.9, 0.2, 0.5])          # no sample sits on the kink (w·x + b = 0)
    loss, grad = model.loss_and_gradient(params, Xs, ys)
    # central differences: zero for the step's parameters, the usual slope for the others
    h = 1e-6
    reference = [(model.loss(params + h * e, Xs, ys) - model.loss(params - h * e, Xs, ys)) / (2 * h)
                 for e in np.eye(4)]
    assert grad == pytest.approx(reference, abs=1e-8) and grad[0] == grad[1] == 0.0
    result = sbp.train(model, Xs, ys, optimizer=sbp.optim.GD(lr=0.5), epochs=300, init=params, progress=False)
    assert result.history.train_loss[-1] < 0.5 * loss
    assert "numpy.zeros_like" in model.source()


# -- max_paths advice a command can follow -------------------------------------------------------------

def test_more_paths_than_the_limit_names_an_option_that_exists(tmp_path, capsys):
    model = tmp_path / "wide.sbp"
    graph = sbp.mlp((1, 2, 25, 25, 25, 1))
    assert sbp.count_paths(graph, "w1_1_1") == 15_625
    model.write_text(graph.to_text())
    for command in (["draw", str(model), "--wrt", "w1_1_1", "-o", str(tmp_path / "w.dot")],
                    ["handout", str(model), "--wrt", "w1_1_1", "--no-pdf", "-o", str(tmp_path / "h")]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert "15,625 paths" in err and "--max-paths N" in err
    assert main(["draw", str(model), "--wrt", "w1_1_1", "--max-paths", "20000", "-o", str(tmp_path / "w.dot")]) == 0
    assert "15625 paths from" in (tmp_path / "w.dot").read_text().replace(",", "")
