"""The Moodle XML export, read the way Moodle's importer reads it.

The checks mirror Moodle's XML import (``question/format/xml/format.php``: ``<quiz>`` of
``<question type="…">``; a question's ``name/text``, ``questiontext`` with its ``format`` and
``text``, its ``<file name path encoding="base64">`` attachments referenced as
``@@PLUGINFILE@@/name``; ``type="cloze"`` handed to the multianswer question type) and the Cloze
syntax of ``qtype_multianswer`` (its ``ANSWER_REGEX`` and ``NUMERICAL_ALTERNATIVE_REGEX``, ported
below). Each gap's number is compared with an independent reference: finite differences of the
variant's forward pass.
"""

from __future__ import annotations

import base64
import html
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.check.moodle import moodle_xml, tolerance
from symbackprop.check.variants import VARY, make_variants
from symbackprop.cli import main
from symbackprop.core.functions import sigmoid, softplus
from test_variants import forward_derivative

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")

ROOT = Path(__file__).resolve().parents[1]
LECTURE = ROOT / "examples" / "lecture.sbp"
G = sbp.load(LECTURE)

# qtype_multianswer's Cloze grammar (NUMERICAL, MULTICHOICE, SHORTANSWER and their short forms).
_FRACTION = r"=|%(-?[0-9]+)%"
_ANSWER = r".+?(?<!\\|&)(?=[~#}]|$)"
_FEEDBACK = r".*?(?<!\\)(?=[~}]|$)"
_ALTERNATIVE = rf"({_FRACTION})?({_ANSWER})(#({_FEEDBACK}))?"
ANSWER_REGEX = re.compile(r"\{([0-9]*):((NUMERICAL|NM)|(MULTICHOICE|MC)|(SHORTANSWER|SA|MW)):"
                          rf"({_ALTERNATIVE}(~{_ALTERNATIVE})*)\}}")
_NUMBER = r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)"
NUMERICAL_ALTERNATIVE = re.compile(rf"^({_NUMBER})(:{_NUMBER})?$")
FORMATS = {"html", "moodle_auto_format", "plain_text", "wiki_like", "markdown"}
TYPES = {"multichoice", "truefalse", "shortanswer", "numerical", "description", "matching", "match", "cloze",
         "multianswer", "essay", "calculated", "calculatedsimple", "calculatedmulti", "category"}


def imported(xml: str) -> list[dict]:
    """What Moodle's importer takes from the file, refusing what it would refuse."""
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.tag == "quiz"
    questions = []
    for element in root.findall("question"):
        kind = element.get("type")
        assert kind in TYPES, kind
        if kind == "category":
            questions.append({"type": kind, "category": element.findtext("category/text")})
            continue
        name = element.findtext("name/text")
        assert name and name.strip(), "xmlimportnoname"
        text_element = element.find("questiontext")
        assert text_element.get("format", "html") in FORMATS
        text = text_element.findtext("text")
        files = {f.get("path", "/") + f.get("name"): base64.b64decode(f.text, validate=True)
                 for f in text_element.findall("file") if f.get("encoding") == "base64"}
        for reference in re.findall(r"@@PLUGINFILE@@(/[^\"'\s>]+)", text):
            assert reference in files, f"{reference} is not attached"
        gaps = []
        if kind == "cloze":
            for match in ANSWER_REGEX.finditer(text):
                assert match.group(3), "only NUMERICAL gaps are expected"
                alternative = re.match(_ALTERNATIVE, match.group(6))
                assert alternative.group(1) == "="      # the one right answer
                number = NUMERICAL_ALTERNATIVE.match(alternative.group(3))
                assert number, alternative.group(3)
                gaps.append((float(number.group(1)), float(number.group(6) or 0)))
            # every "{n:" that could start a gap is one
            assert len(re.findall(r"\{[0-9]*:", text)) == len(gaps)
        # What a reader (and MathJax) sees: the HTML's text with its entities decoded.
        questions.append({"type": kind, "name": name, "text": html.unescape(text), "files": files, "gaps": gaps,
                          "feedback": html.unescape(element.findtext("generalfeedback/text")),
                          "penalty": float(element.findtext("penalty"))})
    return questions


def test_one_cloze_question_per_variant_with_its_key():
    variants = make_variants(G, ["Anna", "Boris", "Вера"], seed=7, vary=VARY)
    questions = imported(moodle_xml(variants, source="lecture"))
    assert questions[0] == {"type": "category", "category": "$course$/top/symbackprop/lecture"}
    assert len(questions) == 1 + len(variants)
    for variant, question in zip(variants, questions[1:]):
        assert question["type"] == "cloze" and question["name"] == f"lecture: variant {variant.name} ({variant.student})"
        assert question["files"]["/network.png"].startswith(b"\x89PNG")
        binding = {"f": getattr(sp, variant.activations["f"], None)
                   or {"sigmoid": sigmoid, "softplus": softplus}[variant.activations["f"]]}
        assert len(question["gaps"]) == len(variant.parameters)
        for (value, margin), p in zip(question["gaps"], variant.parameters):
            reference = forward_derivative(G, p, variant.values, binding)
            assert abs(value - reference) <= 1e-5 * max(1, abs(reference))
            assert margin == pytest.approx(tolerance(value), rel=1e-5) and margin >= 0.001
            assert f"\\frac{{\\partial a}}{{\\partial {sbp.latex(p)}}}" in question["feedback"]   # the key
        for leaf, value in variant.values.items():
            assert f"\\({sbp.latex(leaf)} = {value:g}\\)" in question["text"]
        assert 0 <= question["penalty"] <= 1


def test_names_and_texts_are_escaped():
    variants = make_variants(G, ["<b>Ann</b> & ]]> {1:NUMERICAL:=1}"], seed=1)
    question = imported(moodle_xml(variants, source="my model/week 2", lang="ru"))
    assert question[0]["category"] == "$course$/top/symbackprop/my-model-week-2"
    assert question[1]["name"] == "my model/week 2: вариант 1 (<b>Ann</b> & ]]> {1:NUMERICAL:=1})"
    raw = ET.fromstring(moodle_xml(variants, source="m")).find("question[@type='cloze']/questiontext/text").text
    assert "<b>Ann" not in raw and "&lt;b&gt;Ann" in raw
    assert "<b>Ann</b> & ]]> {1:NUMERICAL:=1}, вариант 1." in question[1]["text"]
    assert len(question[1]["gaps"]) == 2         # a student's name cannot add a gap…


def test_the_cli_writes_the_questions(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student\nAnna\nBoris\n", encoding="utf-8")
    assert main(["variants", str(LECTURE), "--students", str(roster), "--no-pdf", "-o", str(tmp_path / "v"),
                 "--moodle-xml", str(tmp_path / "questions.xml")]) == 0
    questions = imported((tmp_path / "questions.xml").read_text(encoding="utf-8"))
    assert [q["type"] for q in questions] == ["category", "cloze", "cloze"]
