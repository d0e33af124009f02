"""Marks instead of ✓/✗: partial credit on the class example, schemes from TOML, stable answer
notes, and the reports (HTML, CSV, JSON, gradebook) that show marks per student, question and note."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import pytest

import symbackprop as sbp
from symbackprop.check.classroom import check_class, read_answers_file, write_report
from symbackprop.check.marking import DEFAULT_CREDIT, MAX_SCHEME_BYTES, MarkScheme, load_scheme
from symbackprop.check.variants import VARY, make_variants, variants_csv
from symbackprop.cli import main
from symbackprop.render.printing import text

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "examples" / "lecture.sbp"
CLASS = ROOT / "examples" / "class.csv"
G = sbp.load(MODEL)
W11 = text(sbp.derive(G, "w11").closed_form)

# The class example by hand, with the default scheme (1 point a question; a path with one mistake
# keeps half, a missing factor a quarter):
EXPECTED = {
    "Anna": {"s1": 1, "p12": 1, "w11": 1},            # all right
    "Boris": {"s1": 1, "p12": 0.5,                    # f where f' belongs: the one path keeps half
              "w11": 0.5},                            # 1 of 2 paths
    "Vera": {"s1": 1, "p12": 1, "w11": 0.5},          # her Leibniz product is the first path only
    "Gleb": {"s1": 0.5, "p12": 0.5,                   # m2 for m1, z2 for z1: an index each
             "w11": 0.75},                            # path 1 right, path 2 with p21 for p12: (1 + ½)/2
    "Daria": {"s1": 1, "p12": 1, "w11": 0.25},        # x1 missing on both paths: (¼ + ¼)/2
    "Egor": {"s1": 1, "p12": 0, "w11": 0.5},          # p12 does not parse; w13 is no question
}


@pytest.fixture(scope="module")
def report():
    return check_class(G, read_answers_file(CLASS), source="lecture.sbp")


def test_partial_credit_on_the_class_example(report):
    marks = {m.student: dict(m.marks) for m in report.marks()}
    assert marks == EXPECTED
    assert {m.student: m.out_of for m in report.marks()} == dict.fromkeys(EXPECTED, 3.0)
    assert report.mean_mark("w11") == pytest.approx(sum(m["w11"] for m in EXPECTED.values()) / 6, abs=1e-4)


def test_answer_notes_are_stable_codes(report):
    notes = {(p, n): students for p, n, students in report.note_counts()}
    assert notes == {("w11", "missing_path:w11→z1→m2→a"): ["Boris", "Vera", "Egor"],
                     ("p12", "wrong_factor:f_for_f'"): ["Boris"],
                     ("p12", "wrong_factor:z2_for_z1"): ["Gleb"],
                     ("s1", "wrong_factor:m2_for_m1"): ["Gleb"],
                     ("w11", "missing_factor:x1"): ["Daria"],
                     ("w11", "wrong_factor:p21_for_p12"): ["Gleb"]}
    russian = check_class(G, read_answers_file(CLASS), lang="ru")
    assert russian.note_counts() == report.note_counts()          # notes do not depend on the language
    assert sbp.verify(G, "w11", f"-({W11})").notes == ("sign",)
    assert sbp.verify(G, "w11", f"{W11} + s1*m2").notes == ("extra_term:m2·s1",)
    assert sbp.verify(G, "s1", "exp(m1)").notes == ("wrong_factor:exp(m1)_for_f(p11·z1+p21·z2)",)
    # A wrong answer without findings (its diagnosis ran out of time) is still noted, and marked 0.
    undiagnosed = dataclasses.replace(sbp.verify(G, "w11", "x1*x2"), present=(), missing=(), extra=(), wrong_factors=())
    assert undiagnosed.notes == ("not_path_sum",) and MarkScheme().mark(undiagnosed) == 0


def test_a_scheme_from_toml(tmp_path):
    path = tmp_path / "marks.toml"
    path.write_text("points = 4  # per question\n[credit]\nderivative = 0\nindex = 1\n[penalty]\nextra_term = 1\n",
                    encoding="utf-8")
    scheme = load_scheme(path)
    assert scheme.points == 4 and scheme.credit["derivative"] == 0 and scheme.credit["sign"] == DEFAULT_CREDIT["sign"]
    marks = {m.student: dict(m.marks) for m in check_class(G, read_answers_file(CLASS), scheme=scheme).marks()}
    assert marks["Boris"]["p12"] == 0             # no credit for f instead of f'
    assert marks["Gleb"] == {"s1": 4, "p12": 4, "w11": 4}    # wrong indices forgiven entirely
    assert scheme.mark(sbp.verify(G, "w11", f"{W11} + s1*m2")) == 2    # both paths, less one for the extra term


@pytest.mark.parametrize("toml, message", [
    ("point = 2", "unknown key 'point' (did you mean 'points'?)"),
    ("[credit]\nsing = 0.5", "unknown key 'sing' (did you mean 'sign'?)"),
    ("[credit]\nsign = 1.5", "credit.sign = 1.5 is outside 0 … 1"),
    ("points = true", "points must be a number, not True"),
    ("points = 0", "points must be more than 0"),
    ("points = nan", "points must be a number"),
    ("credit = 3", "credit must be a table"),
    ("points = [", "is not valid TOML"),
])
def test_a_bad_scheme_is_one_error(tmp_path, toml, message):
    path = tmp_path / "marks.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(sbp.SymbackpropError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        load_scheme(path)


def test_a_huge_scheme_is_refused(tmp_path):
    path = tmp_path / "marks.toml"
    path.write_text("# " + "x" * MAX_SCHEME_BYTES, encoding="utf-8")
    with pytest.raises(sbp.SymbackpropError, match="too large for a marking scheme"):
        load_scheme(path)


def test_reports_show_marks_per_student_question_and_note(report, tmp_path):
    page = write_report(report, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<h2>Marks</h2>" in page and "2.25 / 3" in page and "<h2>Answer notes</h2>" in page
    assert "<code>missing_path:w11→z1→m2→a</code>" in page
    # How each answer was read, as MathML, before its verdict: Vera's Leibniz product is resolved.
    assert page.count("<math>") == sum(1 for row in report.rows if row.verdict is not None)
    table = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [float(r["mark"]) for r in table if r["student"] == "Gleb"] == [0.5, 0.5, 0.75]
    assert table[5]["notes"] == "missing_path:w11→z1→m2→a"
    data = json.loads(report.to_json())
    assert {s["student"]: s["total"] for s in data["marks"]["students"]} == {
        student: sum(marks.values()) for student, marks in EXPECTED.items()}
    assert data["by_note"][0] == {"parameter": "w11", "note": "missing_path:w11→z1→m2→a", "count": 3,
                                  "students": ["Boris", "Vera", "Egor"]}
    assert data["rows"][1]["mark"] == 1.0 and data["rows"][5]["notes"] == ["missing_path:w11→z1→m2→a"]
    assert data["by_parameter"]["w11"]["mean_mark"] == report.mean_mark("w11")


def test_the_gradebook_has_one_line_per_student_and_every_student_of_the_variants(tmp_path):
    variants = make_variants(G, ["Ann", "=HYPERLINK()", "Cid"], seed=4, vary=VARY)
    (tmp_path / "variants.csv").write_text(variants_csv(variants), encoding="utf-8")
    ann = variants[0]
    answers = tmp_path / "answers.csv"
    answers.write_text("student,variant,parameter,answer\n" + "\n".join(
        f'Ann,{ann.name},{p},"{text(k)}"' for p, k in ann.key().items()) + "\n", encoding="utf-8")
    marks = tmp_path / "marks.toml"
    marks.write_text("points = 5\n", encoding="utf-8")
    assert main(["verify", str(MODEL), "--answers", str(answers), "--variants", str(tmp_path / "variants.csv"),
                 "--marks", str(marks), "--gradebook", str(tmp_path / "grades.csv"), "-o", str(tmp_path / "r.csv")]) == 0
    grades = list(csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8")))
    assert grades == [{"student": "Ann", "variant": "1", "mark": "10", "out_of": "10"},
                      {"student": "'=HYPERLINK()", "variant": "2", "mark": "0", "out_of": "10"},   # inert in a spreadsheet
                      {"student": "Cid", "variant": "3", "mark": "0", "out_of": "10"}]


def test_the_cli_checks_one_answer_of_a_variant(tmp_path, capsys):
    variants = make_variants(G, ["Ann", "Bob"], seed=4, vary=VARY)
    (tmp_path / "variants.csv").write_text(variants_csv(variants), encoding="utf-8")
    bob = variants[1]
    p = bob.parameters[0]
    argv = ["verify", str(MODEL), "--variants", str(tmp_path / "variants.csv"), "--wrt", str(p)]
    assert main(argv + ["--variant", bob.name, "--answer", text(bob.key()[p])]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("✓ correct")
    assert main(argv + ["--variant", "7", "--answer", "m1"]) == 1
    assert "no variant '7'; the variants file has 1, 2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(argv + ["--answer", "m1"])
    assert "needs --variants CSV and --variant N" in capsys.readouterr().err
