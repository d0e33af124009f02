"""Class mode: a CSV of answers → a report per student and per common mistake; bad rows never stop it.

Also the ``verify`` command for one answer: exit code 0 for a right answer, 3 for a wrong one
(a result, not an error), 1 for a user error.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import symbackprop as sbp
from symbackprop.check.classroom import (MAX_CSV_BYTES, check_class, read_answers_file, write_report)

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "examples" / "lecture.sbp"
CLASS = ROOT / "examples" / "class.csv"
G = sbp.load(MODEL)

A = "s1*f'(p11*z1 + p21*z2)*p11*f'(w11*x1 + w21*x2)*x1"
B = "s2*f'(p12*z1 + p22*z2)*p12*f'(w11*x1 + w21*x2)*x1"


def _csv(*rows: str, header: str = "student,parameter,answer,format") -> str:
    return "\n".join((header,) + rows) + "\n"


def test_each_row_gets_its_own_verdict():
    report = check_class(G, _csv(
        "Ann,s1,m1,plain",
        f'Ann,w11,"{A} + {B}",plain',
        f'Bob,w11,"{A}",plain',
        r"Bob,p11,s_1 f'(p_{11} z_1 + p_{21} z_2) z_1,latex",
        "Cid,p11,s1*f(p11*z1 + p21*z2)*z1,"))
    assert [r.status for r in report.rows] == ["correct", "correct", "incorrect", "correct", "incorrect"]
    assert [str(p) for p in report.rows[2].verdict.missing] == ["w11→z1→m2→a"]
    assert report.rows[4].format == "plain"       # an empty format cell means plain
    assert list(report.students()) == ["Ann", "Bob", "Cid"]
    assert report.counts() == {"correct": 3, "incorrect": 2, "error": 0}
    assert report.parameters() == ["s1", "w11", "p11"]
    assert report.counts("w11") == {"correct": 1, "incorrect": 1, "error": 0}


def test_malformed_rows_are_reported_and_the_run_goes_on():
    report = check_class(G, _csv(
        "Ann,s1,m1",                                  # no format column: fine
        "Bob,s1",                                     # too few fields
        "Cid,s9,m1",                                  # unknown parameter
        "Dan,s1,__import__('os')",                    # hostile
        "Eve,s1,(m1",                                 # unbalanced
        'Fay,s1,"unterminated',                       # broken quoting
        "Gus,s1,m1,mathml",                           # unknown format
        "Hal,s1," + "x1+" * 20_000 + "x1",            # too long
        "Ivy,s1,m1"))
    statuses = [r.status for r in report.rows]
    assert statuses == ["correct"] + ["error"] * 7 + ["correct"]
    errors = {r.student: r.error for r in report.rows if r.error}
    assert "no answer" in errors["Bob"]
    assert "unknown symbol 's9'" in errors["Cid"]
    assert "names cannot start with '_'" in errors["Dan"]
    assert "not closed" in errors["Eve"]
    assert "unknown answer format 'mathml'" in errors["Gus"]
    assert "too long" in errors["Hal"] or "field larger" in errors["Hal"]
    assert all("Traceback" not in e for e in errors.values())


def test_common_mistakes_are_counted_across_students():
    report = check_class(G, _csv(*(f"S{i},w11,{A}," for i in range(4)), "T,s1,m2,", "U,s1,m2,"))
    mistakes = report.common_mistakes()
    assert mistakes[0] == ("w11", "missing path w11→z1→m2→a", ["S0", "S1", "S2", "S3"])
    assert mistakes[1] == ("s1", "m2 instead of m1", ["T", "U"])


def test_russian_headers_and_feedback():
    report = check_class(G, _csv("Аня,s1,m2", header="студент,параметр,ответ"), lang="ru")
    assert report.common_mistakes()[0][1] == "m2 вместо m1"
    assert "неверно" in report.to_text() or "верно: 0" in report.to_text()


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("name,answer\nAnn,m1\n", "no column student, parameter"),
])
def test_a_csv_without_the_columns_is_one_error(text, message):
    with pytest.raises(sbp.SymbackpropError, match=message):
        check_class(G, text)


def test_reading_the_file_refuses_what_is_not_a_class_csv(tmp_path):
    with pytest.raises(sbp.SymbackpropError, match="no such file"):
        read_answers_file(tmp_path / "missing.csv")
    with pytest.raises(sbp.SymbackpropError, match="not a file"):
        read_answers_file(tmp_path)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"student,parameter,answer\n\xff\xfe\n")
    with pytest.raises(sbp.SymbackpropError, match="not UTF-8"):
        read_answers_file(binary)
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as stream:
        stream.truncate(MAX_CSV_BYTES + 1)
    with pytest.raises(sbp.SymbackpropError, match="too large"):
        read_answers_file(huge)
    bom = tmp_path / "bom.csv"
    bom.write_bytes("student,parameter,answer\nAnn,s1,m1\n".encode("utf-8-sig"))
    assert check_class(G, read_answers_file(bom)).rows[0].status == "correct"


def test_the_example_class_reports_in_every_format(tmp_path):
    report = check_class(G, read_answers_file(CLASS), source="lecture.sbp")
    assert report.counts()["error"] >= 1 and report.counts()["incorrect"] >= 1
    page = write_report(report, tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Common mistakes" in page
    for row in report.rows:
        assert row.student in page
    assert "<script" not in page
    data = json.loads(write_report(report, tmp_path / "report.json").read_text(encoding="utf-8"))
    assert len(data["rows"]) == len(report.rows) and data["counts"] == report.counts()
    table = list(csv.DictReader(io.StringIO(write_report(report, tmp_path / "report.csv").read_text(encoding="utf-8"))))
    assert [r["status"] for r in table] == [r.status for r in report.rows]
    with pytest.raises(sbp.SymbackpropError, match=".html, .csv, .json"):
        write_report(report, tmp_path / "report.pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv", "report.html", "report.json"]


def test_html_escapes_what_students_wrote():
    report = check_class(G, _csv('<script>alert(1)</script>,s1,"<b>m1</b>"'))
    page = report.to_html()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_csv_output_cannot_become_a_spreadsheet_formula():
    report = check_class(G, _csv('=HYPERLINK("http://x"),s1,-m1'))
    [row] = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert row["student"].startswith("'=") and row["answer"] == "'-m1"


def _cli(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "symbackprop", "verify", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, input=stdin,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_cli_class_mode_writes_the_reports(tmp_path):
    result = _cli(str(MODEL), "--answers", str(CLASS), "-o", str(tmp_path / "r.html"),
                  "-o", str(tmp_path / "r.json"), "--lang", "ru")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "r.html").read_text(encoding="utf-8").count("<h3>") == 6
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["lang"] == "ru"


def test_cli_one_answer_exit_codes(tmp_path, capsys, monkeypatch):
    """In-process (the subprocess path is covered above and in the hostile-input tests)."""
    from symbackprop.cli import main

    assert main(["verify", str(MODEL), "--wrt", "w11", "--answer", f"{A} + {B}"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("✓ correct")
    assert main(["verify", str(MODEL), "--wrt", "w11", "--answer", A]) == 3
    read, wrong = capsys.readouterr().out.split("\n", 1)
    assert read == "read as: f'(p11·z1 + p21·z2)·f'(w11·x1 + w21·x2)·p11·s1·x1"   # how the answer was read, first
    assert wrong.startswith("✗ incomplete: 1 of 2 paths.  present: w11→z1→m1→a   missing: w11→z1→m2→a")
    assert "x1 = 1, x2 = -0.5, w11 = 0.1" in wrong      # the model file's example point
    monkeypatch.setattr(sys, "stdin", io.StringIO(r"\frac{\partial a}{\partial m_1} f'(p_{11} z_1 + p_{21} z_2)\, z_1"))
    assert main(["verify", str(MODEL), "--wrt", "p11", "--answer-latex", "-"]) == 0
    assert main(["verify", str(MODEL), "--wrt", "p11", "--answer", "s1*m1*z1", "--format", "json",
                 "-o", str(tmp_path / "v.json")]) == 3
    assert json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))["wrong_factors"][0]["kind"] == "derivative"
    assert main(["verify", str(MODEL), "--wrt", "w11", "--answer", "(m1"]) == 1
    assert "not closed" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["verify", str(MODEL), "--answer", "m1"])
    assert usage.value.code == 2 and "needs --wrt" in capsys.readouterr().err
