"""Files (issue 13): an output never overwrites the command's own input, ``data:`` reads only
regular files in the model's folder (and never quotes them back), reading a CSV costs about
8 bytes per number, errors name the path asked for, and SIGTERM leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hostile import bounded_time, cli as _cli

bounded = bounded_time(120)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"



# -- -o never names the command's own input --------------------------------------------------------

@pytest.fixture
def lecture(tmp_path):
    model = tmp_path / "lecture.sbp"
    shutil.copy(EXAMPLES / "lecture.sbp", model)
    answers = tmp_path / "class.csv"
    shutil.copy(EXAMPLES / "class.csv", answers)
    return model, answers


@pytest.mark.parametrize("argv, victim", [
    (["derive", "{model}", "--all", "-o", "{model}"], "model"),
    (["paths", "{model}", "--all", "-o", "{model}"], "model"),
    (["draw", "{model}", "-o", "{model}"], "model"),
    (["verify", "{model}", "--answers", "{answers}", "-o", "report.html", "-o", "{answers}"], "answers"),
    (["verify", "{model}", "--answers", "{answers}", "-o", "{link}"], "answers"),
])
def test_an_output_over_the_commands_own_input_is_refused(lecture, argv, victim, monkeypatch):
    model, answers = lecture
    monkeypatch.chdir(model.parent)
    link = model.parent / "link.csv"
    os.link(answers, link)                    # another name for the same file
    before = {p: p.read_bytes() for p in (model, answers)}
    code, out, err = _cli([a.format(model=model, answers=answers, link=link) for a in argv])
    assert code == 1 and out == ""
    role = "the model" if victim == "model" else "the class CSV"
    assert f"is {role}, which this command reads" in err and err.count("\n") == 1
    assert {p: p.read_bytes() for p in (model, answers)} == before
    assert not (model.parent / "report.html").exists()      # refused before any work


def test_a_handout_stem_that_would_overwrite_the_model_is_refused(tmp_path):
    model = tmp_path / "notes.tex"                             # a model file may have any name
    shutil.copy(EXAMPLES / "lecture.sbp", model)
    code, _, err = _cli(["handout", model, "--wrt", "w11", "--no-pdf", "-o", tmp_path / "notes"])
    assert code == 1 and "is the model, which this command reads" in err
    assert model.read_text() == (EXAMPLES / "lecture.sbp").read_text()


# -- output errors name the path asked for ---------------------------------------------------------------

def test_output_errors_name_the_output_path(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    for target, words in ((tmp_path, "Is a directory"), (blocker / "out.txt", "Not a directory")):
        code, _, err = _cli(["derive", EXAMPLES / "lecture.sbp", "--wrt", "s1", "-o", target])
        assert code == 1 and err == f"symbackprop: error: {words}: {target}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]     # no temporary file left


# -- data: regular files, in the model's folder, never echoed -----------------------------------------

XOR = (EXAMPLES / "xor.sbp").read_text()


def _model(folder: Path, data_line: str) -> Path:
    model = folder / "m.sbp"
    model.write_text(XOR.replace("data: xor.csv", data_line))
    return model


@pytest.mark.parametrize("data_line, words", [
    ("data: /dev/zero", "is outside the model's folder"),
    ("data: ../../../../../../etc/passwd", "is outside the model's folder"),
    ("data: link.csv", "is outside the model's folder"),          # a link out of the folder
    ("data: fifo.csv", "is not a regular file"),
    ("data: sub", "is not a regular file"),
])
def test_data_lines_read_only_regular_files_in_the_models_folder(tmp_path, data_line, words):
    (tmp_path / "link.csv").symlink_to("/etc/passwd")
    os.mkfifo(tmp_path / "fifo.csv")                                # would block a reader forever
    (tmp_path / "sub").mkdir()
    start = time.perf_counter()
    code, out, err = _cli(["train", _model(tmp_path, data_line), "--epochs", "1", "--no-progress"])
    assert time.perf_counter() - start < 10
    assert code == 1 and words in err and err.count("\n") == 1
    assert "root:" not in err                                       # no file contents echoed


def test_data_given_on_the_command_line_may_be_anywhere_but_must_be_a_regular_file(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(EXAMPLES / "xor.csv", elsewhere / "xor.csv")
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    model = _model(model_dir, "data: ../elsewhere/xor.csv")
    code, _, err = _cli(["train", model, "--epochs", "1", "--no-progress"])
    assert code == 1 and "outside the model's folder" in err and "--data" in err
    code, out, _ = _cli(["train", model, "--data", elsewhere / "xor.csv", "--epochs", "1", "--no-progress"])
    assert code == 0 and "stopped:" in out
    start = time.perf_counter()
    code, _, err = _cli(["train", model, "--data", "/dev/zero", "--epochs", "1", "--no-progress"])
    assert code == 1 and "/dev/zero is not a regular file" in err and time.perf_counter() - start < 10


def test_errors_about_data_quote_no_cell(tmp_path):
    model = _model(tmp_path, "data: d.csv")
    (tmp_path / "d.csv").write_text("x1,x2,y\n0,1,SECRET-VALUE\n")
    code, _, err = _cli(["train", model, "--epochs", "1", "--no-progress"])
    assert code == 1 and "line 2, column y: not a number" in err and "SECRET" not in err


def test_an_endless_line_in_a_regular_file_is_refused(tmp_path):
    model = _model(tmp_path, "data: d.csv")
    (tmp_path / "d.csv").write_text("x1,x2,y\n" + "1," * 600_000 + "1\n")
    code, _, err = _cli(["train", model, "--epochs", "1", "--no-progress"])
    assert code == 1 and "line 2 is longer than 1,000,000 characters" in err


def test_reading_a_csv_costs_about_8_bytes_per_number(tmp_path):
    """2,000,000 rows × 3 columns (48 MB as doubles) read under an address-space limit of the
    process's size plus 2.5 × 48 MB: a list of rows of strings (~1 GB) cannot fit."""
    data = tmp_path / "big.csv"
    with data.open("w") as stream:
        stream.write("x1,x2,y,ignored\n")
        row = "0.25,-1.5,1,text\n"
        for _ in range(20):
            stream.write(row * 100_000)
    script = textwrap.dedent(f"""
        import resource, sys
        import numpy as np
        from symbackprop.cli.train import read_columns
        size = int(next(l for l in open("/proc/self/status") if l.startswith("VmSize")).split()[1]) * 1024
        limit = size + int(2.5 * 2_000_000 * 3 * 8)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        table = read_columns({str(data)!r}, ["x1", "x2", "y"])
        assert table.shape == (2_000_000, 3) and table.dtype == np.float64
        assert (table[-1] == [0.25, -1.5, 1.0]).all()
        print("ok")
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert result.stdout.strip() == "ok", result.stderr[-2000:]


# -- SIGTERM during the PDF stage ------------------------------------------------------------------------

FAKE_LATEX = """#!/bin/sh
echo $$ > "{pidfile}"
exec sleep 600
"""


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_sigterm_during_the_pdf_stage_leaves_nothing_behind(tmp_path):
    bin_dir, scratch = tmp_path / "bin", tmp_path / "tmp"
    bin_dir.mkdir()
    scratch.mkdir()
    pidfile = tmp_path / "latex.pid"
    fake = bin_dir / "pdflatex"
    fake.write_text(FAKE_LATEX.format(pidfile=pidfile))
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(scratch),
           "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "symbackprop", "handout", str(EXAMPLES / "lecture.sbp"),
                                "--wrt", "w11", "-o", str(tmp_path / "out" / "h")],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not pidfile.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert pidfile.exists(), process.communicate()[1]
    assert [p.name for p in scratch.iterdir()][0].startswith("symbackprop-tex-")
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 143 and "symbackprop: terminated" in err and "Traceback" not in err
    assert list(scratch.iterdir()) == []                              # the scratch folder is gone
    latex_pid = int(pidfile.read_text())
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):                           # and so is pdflatex
        os.kill(latex_pid, 0)
