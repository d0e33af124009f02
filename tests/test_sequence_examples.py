"""The sequence examples train from the derived formulas to the accuracy they promise."""

import importlib.util
import re
from pathlib import Path


def example(name: str):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).parent.parent / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sequence_example_learns_running_parity(capsys):
    assert example("sequence").main(["--cell", "rnn", "--steps", "8", "--epochs", "10"]) == 0
    out = capsys.readouterr().out
    assert "∂L/∂W = Σ_{t=2}^T (δ_t ⊙ tanh'(u_t)) h_{t-1}ᵀ" in out
    assert float(re.search(r"accuracy: ([\d.]+)", out).group(1)) >= 0.95


def test_attention_example_reverses_sequences(capsys):
    assert example("attention").main(["--epochs", "8"]) == 0
    out = capsys.readouterr().out
    assert "δ_S^(1) = (diag(A^(1)) - A^(1) A^(1)ᵀ) δ_A^(1)" in out
    assert float(re.search(r"token accuracy: ([\d.]+)", out).group(1)) >= 0.95
