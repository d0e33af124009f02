"""The tensor examples run as a user runs them: the CNN reaches 98% on the held-out digits, the
tied autoencoder prints its weight's two contributions and learns to reconstruct."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent / "examples"


def example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cnn_reaches_98_percent_on_the_held_out_digits():
    # its own process, as a user runs it: one BLAS thread from the start (the example asks for it
    # before NumPy loads, which it cannot do inside this process)
    run = subprocess.run([sys.executable, str(EXAMPLES / "conv_digits.py")], capture_output=True, text=True,
                         timeout=600, env={**os.environ, "PYTHONPATH": str(EXAMPLES.parent)})
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    assert "∂L/∂K1 = x ⋆_(p=1) δ_u1" in out and "route_2×2" in out
    accuracy = float(re.search(r"^test accuracy: (0\.\d+)", out, re.M).group(1))
    assert accuracy >= 0.98, out[-300:]


def test_the_tied_autoencoder_shows_both_uses_of_its_weight_and_learns(capsys):
    assert example("autoencoder").main(["--epochs", "15"]) == 0
    out = capsys.readouterr().out
    assert "∂L/∂W = (δ_h ⊙ σ'(W x + b)) xᵀ + h δ_oᵀ + 2·λ W" in out
    error, baseline = map(float, re.search(r"per pixel\): ([\d.]+) \(predicting the mean image: ([\d.]+)\)", out).groups())
    assert error < 0.5 * baseline
