"""``symbackprop train`` as a user runs it: the console script on the XOR example; broken data
and the other options through ``cli.main`` in this process (the same code, without a start-up)."""

import subprocess
from pathlib import Path

import pytest

from symbackprop.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples"


def run(*args, cwd=None):
    return subprocess.run(["symbackprop", "train", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_xor_is_learnt_with_adam():
    result = run(EXAMPLES / "xor.sbp", "--optimizer", "adam", "--lr", "0.05", "--epochs", "2000")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "stopped:    maximum of 2000 epochs reached" in out and "Adam (lr=0.05" in out
    loss = float(out.split("loss:")[1].split()[0])
    assert loss < 1e-2
    assert "  w11 =" in out and "predictions (x1, x2 → a; targets y):" in out


def test_zero_start_warns_and_gradient_norm_stops(tmp_path):
    result = run(EXAMPLES / "xor.sbp", "--init", "zeros", "--lr", "0.5", "--grad-norm", "1e-4", "--epochs", "5000")
    assert result.returncode == 0, result.stderr
    assert "warning: the zero start leaves hidden units symmetric: {h1, h2}" in result.stderr
    assert "stopped:    gradient norm" in result.stdout


def model_with(tmp_path, csv_text, data_line="data: d.csv"):
    text = (EXAMPLES / "xor.sbp").read_text().replace("data: xor.csv", data_line)
    (tmp_path / "m.sbp").write_text(text)
    (tmp_path / "d.csv").write_text(csv_text)
    return tmp_path / "m.sbp"


@pytest.mark.parametrize("csv_text, data_line, message", [
    ("x1,y\n0,1\n", "data: d.csv", "has no column x2 (its columns: x1, y)"),
    ("x1,x2,y\n0,1,zero\n", "data: d.csv", "line 2, column y: not a number"),
    ("x1,x2,y\n0,1\n", "data: d.csv", "line 2: 2 fields, the header has 3"),
    ("x1,x2,y\n", "data: d.csv", "no rows"),
    ("x1,x2,y\n0,nan,1\n", "data: d.csv", "non-finite value"),
    ("x1,x2,y\n0,1,1\n", "", "has no 'data:' line"),
    ("x1,x2,y\n0,1,1\n", "data: missing.csv", "No such file"),
])
def test_bad_data_is_one_line_on_stderr(tmp_path, capsys, csv_text, data_line, message):
    code = main(["train", str(model_with(tmp_path, csv_text, data_line)), "--epochs", "3", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_validation_split_and_minibatches(tmp_path, capsys):
    rows = "x1,x2,y\n" + "".join(f"{a},{b},{a ^ b}\n" for a in (0, 1) for b in (0, 1) for _ in range(5))
    model = model_with(tmp_path, rows)
    code = main(["train", str(model), "--optimizer", "momentum", "--lr", "0.05", "--validation", "0.25",
                 "--batch-size", "4", "--epochs", "30", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    assert "15 training rows, the rest held out" in out and "batches of 4" in out and "validation:" in out


@pytest.mark.parametrize("name, expected", [("amsgrad", "Adam (AMSGrad)"), ("adagrad", "AdaGrad"),
                                            ("nesterov", "Nesterov momentum"), ("rmsprop", "RMSProp")])
def test_every_optimizer_name_runs(capsys, name, expected):
    code = main(["train", str(EXAMPLES / "xor.sbp"), "--optimizer", name, "--lr", "0.01", "--epochs", "5",
                 "--no-progress"])
    assert code == 0 and f"optimizer:  {expected}" in capsys.readouterr().out


def test_show_code_prints_the_generated_source(capsys):
    assert main(["train", str(EXAMPLES / "xor.sbp"), "--show-code", "--epochs", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "def loss_and_gradient(params, X, Y):" in out and "# ∂L/∂h1" in out


def test_counts_are_singular_for_one(capsys):
    assert main(["train", str(EXAMPLES / "xor.sbp"), "--epochs", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "maximum of 1 epoch reached" in out and "after 1 epoch (1 step)" in out
