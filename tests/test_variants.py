"""Per-student variants: they differ between students, the same seed gives the same ones, each
answer key is right for its own variant (checked against finite differences of the forward pass)
and wrong for another's, and the files (worksheets, variants.csv) carry what they should."""

from __future__ import annotations

import csv
import io
import itertools
import shutil
from pathlib import Path

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.check.classroom import check_class
from symbackprop.check.variants import (VARY, make_variants, read_roster, read_variants, variant_graph,
                                        variants_csv, write_variants)
from symbackprop.cli import main
from symbackprop.core.functions import sigmoid, softplus, substitute_functions
from symbackprop.render.printing import text

ROOT = Path(__file__).resolve().parents[1]
LECTURE = ROOT / "examples" / "lecture.sbp"
G = sbp.load(LECTURE)
STUDENTS = [f"Student {i}" for i in range(1, 13)]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


def forward_derivative(graph: sbp.Graph, wrt: sp.Symbol, values: dict, binding: dict, h: float = 1e-6) -> float:
    """∂output/∂wrt by central differences of the forward pass alone (no derivation involved)."""
    output = substitute_functions(graph.expand(graph.output), binding)
    output = output.replace(lambda e: isinstance(e, (sigmoid, softplus)), lambda e: e.rewrite(sp.exp))
    leaves = sorted(output.free_symbols | {wrt}, key=str)
    f = sp.lambdify(leaves, output, "numpy")
    at = {leaf: values[leaf] for leaf in leaves}
    up, down = dict(at), dict(at)
    up[wrt] += h
    down[wrt] -= h
    return (f(*up.values()) - f(*down.values())) / (2 * h)


def test_variants_differ_between_students_and_the_seed_reproduces_them():
    first = make_variants(G, STUDENTS, seed=7, vary=VARY)
    assert variants_csv(make_variants(G, STUDENTS, seed=7, vary=VARY)) == variants_csv(first)
    assert variants_csv(make_variants(G, STUDENTS, seed=8, vary=VARY)) != variants_csv(first)
    # Every student's numbers differ from every other's, and no two share parameters and activation.
    points = [tuple(v.values.values()) for v in first]
    assert len(set(points)) == len(points)
    combinations = [(v.activations["f"], v.parameters) for v in first]
    assert len(set(combinations)) == len(combinations)
    assert {v.activations["f"] for v in first} == {"tanh", "sigmoid", "softplus"}
    # Equally hard: one two-path weight (w) and one one-path parameter (p or s) each.
    for v in first:
        assert sorted(sbp.count_paths(G, p) for p in v.parameters) == [1, 2], v
    assert all(v.values[v.graph.symbol("x1")] in (-2, -1.5, -1, -0.5, 0.5, 1, 1.5, 2) for v in first)


def test_what_does_not_vary_stays_the_models():
    fixed = make_variants(G, STUDENTS[:3], seed=1, vary=("parameters",), ask=3)
    assert all(v.values == {G.symbol(k): v for k, v in G.metadata["values"].items()} for v in fixed)
    assert all(v.graph.definitions == G.definitions and not v.activations for v in fixed)
    assert all(len(v.parameters) == 3 for v in fixed)
    everyone = make_variants(G, STUDENTS[:2], seed=1, vary=("values",), wrt=["w11", "s2"])
    assert [v.parameters for v in everyone] == [(G.symbol("w11"), G.symbol("s2"))] * 2
    assert everyone[0].values != everyone[1].values


def test_each_key_is_right_for_its_own_variant_and_its_numbers_match_finite_differences():
    for v in make_variants(G, STUDENTS[:6], seed=3, vary=VARY):
        binding = {"f": getattr(sp, v.activations["f"], None) or {"sigmoid": sigmoid, "softplus": softplus}[v.activations["f"]]}
        for p, value in v.key_values().items():
            assert value == pytest.approx(forward_derivative(G, p, v.values, binding), rel=1e-6, abs=1e-9)
        for p, key in v.key().items():
            assert sbp.verify(v.graph, p, text(key)).correct


def test_a_key_is_wrong_for_another_students_variant():
    variants = make_variants(G, STUDENTS, seed=5, vary=VARY)
    by_activation = {}
    for v in variants:
        by_activation.setdefault(v.activations["f"], v)
    tanh, logistic = by_activation["tanh"], by_activation["sigmoid"]
    for p in tanh.parameters:
        assert not sbp.verify(variant_graph(G, logistic.activations, logistic.graph.metadata["values"]), p,
                              text(tanh.key()[p])).correct
    # In class mode: each student hands in their own key (full marks), then their neighbour's
    # (never full marks: another activation, or a parameter their variant does not ask for).
    own = [f'{v.student},{v.name},{p},"{text(k)}"' for v in variants for p, k in v.key().items()]
    shifted = [f'{v.student},{v.name},{p},"{text(k)}"' for v, w in zip(variants, variants[1:] + variants[:1])
               for p, k in w.key().items()]
    header = "student,variant,parameter,answer"
    report = check_class(G, "\n".join([header] + own), variants=variants)
    assert all(m.total == m.out_of == 2 for m in report.marks())
    report = check_class(G, "\n".join([header] + shifted), variants=variants)
    assert all(m.total < m.out_of for m in report.marks())
    assert any("asks for" in (row.error or "") for row in report.rows)
    assert any(row.status == "incorrect" for row in report.rows)


def test_variants_csv_round_trips_and_refuses_another_model():
    variants = make_variants(G, ["Anna", "Борис", 'O"Neil, Jr.'], seed=2, vary=VARY)
    table = variants_csv(variants)
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [r["student"] for r in rows] == ["Anna", "Борис", 'O"Neil, Jr.'] and rows[1]["variant"] == "2"
    again = read_variants(table, G)
    for a, b in zip(variants, again):
        assert (a.student, a.name, a.parameters, dict(a.activations)) == (b.student, b.name, b.parameters, dict(b.activations))
        assert a.graph.definitions == b.graph.definitions and a.values == b.values
    skip = sbp.load(ROOT / "examples" / "skip.sbp")
    with pytest.raises(sbp.SymbackpropError, match=r"variants.csv, line 2: unknown symbol"):
        read_variants(table, skip)
    with pytest.raises(sbp.SymbackpropError, match="no column values"):
        read_variants("student,variant,activation,parameters\nAnn,1,,w11\n", G)


@pytest.mark.parametrize("roster, message", [
    ("name\nAnn\n", "no column student"),
    ("student\nAnn\nAnn\n", "'Ann' is in the roster twice"),
    ("student\n", "no students"),
    ("student\nAnn\x1b[2J\n", "printable text"),
])
def test_a_bad_roster_is_one_error(roster, message):
    with pytest.raises(sbp.SymbackpropError, match=message):
        make_variants(G, read_roster(roster), seed=1)


def test_bad_choices_are_one_error():
    with pytest.raises(sbp.SymbackpropError, match="cannot vary 'colour'"):
        make_variants(G, ["Ann"], vary=("colour",))
    with pytest.raises(sbp.SymbackpropError, match="1 to 10 parameters, not 11"):
        make_variants(G, ["Ann"], ask=11)
    with pytest.raises(sbp.SymbackpropError, match="cannot bind f to 'swish'"):
        make_variants(G, ["Ann"], vary=VARY, activations=["swish"])
    linear = sbp.Graph.from_text("inputs: x\na = w*x + b")
    with pytest.raises(sbp.SymbackpropError, match="no undefined function"):
        make_variants(linear, ["Ann"], vary=VARY)
    with pytest.raises(sbp.SymbackpropError, match="z1 is not a parameter"):
        make_variants(G, ["Ann"], wrt=["z1"])
    with pytest.raises(sbp.SymbackpropError, match="x1 is not a parameter"):
        make_variants(G, ["Ann"], wrt=["x1", "w11"])


@needs_dot
def test_worksheets_and_keys_are_written_per_student(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student,email\nАнна Иванова,a@example.org\n../../escape,b@example.org\n", encoding="utf-8")
    out = tmp_path / "variants"
    assert main(["variants", str(LECTURE), "--students", str(roster), "--seed", "7", "--vary",
                 "activation,values,parameters", "--lang", "ru", "--no-pdf", "-o", str(out)]) == 0
    table = list(csv.DictReader((out / "variants.csv").open(encoding="utf-8")))
    assert [row["folder"] for row in table] == ["01-Анна-Иванова", "02-escape"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roster.csv", "variants"]   # nothing escaped
    variants = read_variants((out / "variants.csv").read_text(encoding="utf-8"), G)
    for v, row in zip(variants, table):
        sheet = (out / row["folder"] / "worksheet.html").read_text(encoding="utf-8")
        key = (out / row["folder"] / "worksheet-answers.html").read_text(encoding="utf-8")
        assert f"{v.student} · вариант {v.name} · сеть x1, x2 → a" in sheet and "вариант" in key
        for p in v.parameters:
            layered = f"<msub><mi>{p.name[0]}</mi><mn>{p.name[1:]}</mn></msub>"
            assert layered in sheet and layered in key
        # The key shows the variant's own numbers: its first input's value is in the forward table.
        assert f"{v.values[v.graph.symbol('x1')]:g}".replace("-", "−") in key.replace("-", "−")


@pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("dot") is None, reason="needs pdflatex and dot")
def test_worksheets_build_as_pdf(tmp_path):
    variants = make_variants(G, ["Вера"], seed=1, vary=VARY)
    written = write_variants(variants, tmp_path, lang="ru", pdf=True)
    for name in ("worksheet.pdf", "worksheet-answers.pdf"):
        assert tmp_path / "01-Вера" / name in written
        assert (tmp_path / "01-Вера" / name).read_bytes().startswith(b"%PDF")


def test_class_mode_reads_the_variant_column(tmp_path):
    variants = make_variants(G, STUDENTS, seed=11, vary=VARY)
    # Two students with another activation and a parameter in common.
    ann, bob = next((a, b) for a, b in itertools.combinations(variants, 2)
                    if a.activations != b.activations and set(a.parameters) & set(b.parameters))
    p = sorted(set(ann.parameters) & set(bob.parameters), key=str)[0]
    rows = [f'{ann.student},{ann.name},{p},"{text(ann.key()[p])}"',     # right, for her own variant
            f'{ann.student},{bob.name},{p},"{text(ann.key()[p])}"',     # her answer under Bob's variant
            f'{ann.student},99,{p},"{text(ann.key()[p])}"']             # a variant that does not exist
    report = check_class(G, "student,variant,parameter,answer\n" + "\n".join(rows), variants=variants)
    first, second, third = report.rows
    assert first.status == "correct" and first.variant == ann.name
    assert second.status != "correct"
    assert third.error == "no variant '99' in the variants file"
    # Without a variant column, each student's own variant is used.
    report = check_class(G, f'student,parameter,answer\n{ann.student},{p},"{text(ann.key()[p])}"\n',
                         variants=variants)
    assert report.rows[0].status == "correct" and report.rows[0].variant == ann.name
    with pytest.raises(sbp.SymbackpropError, match="variant column: give the variants"):
        check_class(G, "student,variant,parameter,answer\nAnn,1,s1,m1\n")
