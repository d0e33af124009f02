"""The command line, run as a user runs it: the installed ``symbackprop`` script and
``python -m symbackprop`` in subprocesses (started together, since each pays SymPy's import),
and the same ``main`` in-process for the finer points.

Derivatives printed by the CLI are checked against SymPy's ``diff`` of the expanded output, and
path counts against networkx's own path enumeration."""

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
import sympy as sp

from symbackprop import load, parse_expression, primes_from_derivatives
from symbackprop.cli import main
from symbackprop.cli._common import use_colour
from conftest import symbackprop_script

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LECTURE, LOSS, SKIP = (str(EXAMPLES / name) for name in ("lecture.sbp", "lecture_loss.sbp", "skip.sbp"))
SCRIPT = symbackprop_script() or pytest.skip("the symbackprop script is not installed",
                                                    allow_module_level=True)

COMMANDS = {
    "version": [SCRIPT, "--version"],
    "help": [SCRIPT, "--help"],
    "text": [SCRIPT, "derive", LECTURE, "--wrt", "w11"],
    "module": [sys.executable, "-m", "symbackprop", "derive", LECTURE, "--wrt", "w11"],
    "json": [SCRIPT, "derive", LECTURE, "--all", "--format", "json"],
    "unknown": [SCRIPT, "derive", LECTURE, "--wrt", "w13"],
    "usage": [SCRIPT, "derive", LECTURE],
}
IN_PROCESS = {
    "derive_help": ["derive", "--help"],
    "loss_json": ["derive", LOSS, "--wrt", "w11", "--wrt", "s2", "--of", "L", "--format", "json"],
    "latex": ["derive", LECTURE, "--wrt", "w11", "--latex"],
    "paths": ["paths", SKIP, "--all", "--format", "json"],
    "missing": ["paths", "no/such/model.sbp", "--all"],
}


@pytest.fixture(scope="module")
def runs():
    env = {**os.environ, "NO_COLOR": ""}
    started = {key: subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for key, argv in COMMANDS.items()}
    results = {}
    for key, process in started.items():
        out, err = process.communicate(timeout=120)
        results[key] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    for key, argv in IN_PROCESS.items():
        results[key] = run_main(argv)
    return results


def run_main(argv):
    """``main(argv)`` in this process, with its exit code and what it printed."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit:   # argparse's --help and usage errors
            code = exit.code
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def _reference(graph, of, wrt):
    """SymPy's own derivative of the fully expanded output, with f' for derivatives of f."""
    return primes_from_derivatives(sp.diff(graph.expand(of), wrt))


def _read(text, graph):
    return parse_expression(text, functions={"f": sp.Function("f")},
                            symbols={str(s): s for s in graph.nodes + graph.leaves},
                            unknown_symbols="error")


def test_version_and_help(runs):
    assert runs["version"].returncode == 0 and runs["version"].stdout.startswith("symbackprop 0.")
    assert runs["help"].returncode == 0
    assert "derive" in runs["help"].stdout and "paths" in runs["help"].stdout
    assert runs["derive_help"].returncode == 0
    for option in ("--wrt", "--all", "--of", "--format", "--latex", "-o FILE"):
        assert option in runs["derive_help"].stdout


def test_text_shows_the_lectures_path_sum(runs):
    result = runs["text"]
    assert result.returncode == 0 and result.stderr == ""
    leibniz, closed = result.stdout.splitlines()
    assert leibniz == "∂a/∂w11 = ∂a/∂m1·∂m1/∂z1·∂z1/∂w11 + ∂a/∂m2·∂m2/∂z1·∂z1/∂w11"
    graph = load(LECTURE)
    w11, a = graph.symbol("w11"), graph.output
    assert sp.expand(graph.expand(_read(closed.split("= ", 1)[1], graph)) - _reference(graph, a, w11)) == 0
    assert "\033[" not in result.stdout   # not a terminal: no colour


def test_python_dash_m_is_the_same_program(runs):
    assert runs["module"].returncode == 0
    assert runs["module"].stdout == runs["text"].stdout


@pytest.mark.parametrize("key, model, of", [("json", LECTURE, "a"), ("loss_json", LOSS, "L")])
def test_json_has_every_view_and_each_is_right(runs, key, model, of):
    assert runs[key].returncode == 0
    document = json.loads(runs[key].stdout)
    graph = load(model)
    assert document["of"] == of
    wanted = [str(p) for p in graph.parameters] if key == "json" else ["w11", "s2"]
    assert [d["wrt"] for d in document["derivatives"]] == wanted
    structure = graph.networkx()
    for entry in document["derivatives"]:
        wrt = graph.symbol(entry["wrt"])
        reference = _reference(graph, graph.symbol(of), wrt)
        assert sp.expand(_read(entry["expanded"]["text"], graph) - reference) == 0
        closed = graph.expand(_read(entry["closed_form"]["text"], graph))
        assert sp.expand(closed - reference) == 0
        terms = sum((_read(t, graph) for t in entry["path_terms"]), sp.S.Zero)
        assert sp.expand(graph.expand(terms) - reference) == 0
        expected_paths = sorted(list(map(str, p)) for p in nx.all_simple_paths(structure, wrt, graph.symbol(of)))
        assert sorted(entry["paths"]) == expected_paths
        assert entry["path_count"] == len(entry["paths"]) == len(entry["leibniz"]) == len(entry["path_terms"])
        assert all(s.startswith(f"∂{of}/∂") and s.endswith(f"/∂{wrt}") for s in entry["leibniz"])
        assert entry["closed_form"]["latex"] and entry["expanded"]["latex"]


def test_latex_is_an_align_block(runs):
    result = runs["latex"]
    assert result.returncode == 0
    assert result.stdout.startswith("\\begin{align*}\n\\frac{\\partial a}{\\partial w_{11}}")
    assert result.stdout.rstrip().endswith("\\end{align*}")


def test_paths_counts_match_networkx(runs):
    document = json.loads(runs["paths"].stdout)
    graph = load(SKIP)
    structure = graph.networkx()
    for entry in document["paths"]:
        expected = [list(map(str, p)) for p in nx.all_simple_paths(structure, graph.symbol(entry["wrt"]), graph.output)]
        assert entry["count"] == len(expected)
        assert sorted(entry["paths"]) == sorted(expected)
    assert {e["wrt"]: e["count"] for e in document["paths"]}["w"] == 3


def test_user_errors_exit_1_with_one_line(runs):
    for key, words in (("unknown", "unknown parameter 'w13' (did you mean 'w11' or 'w12'?); parameters: w11"),
                       ("missing", "no such file")):
        result = runs[key]
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.startswith("symbackprop: error: ") and words in result.stderr
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_usage_errors_exit_2(runs):
    result = runs["usage"]
    assert result.returncode == 2 and "one of the arguments --wrt --all is required" in result.stderr


def test_a_misspelled_option_gets_its_suggestion_first():
    result = run_main(["derive", LECTURE, "--wtr", "w11"])
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "symbackprop derive: error: unrecognized argument --wtr (did you mean --wrt?)"
    assert run_main(["derive", LECTURE, "--wrt", "w11", "--lat"]).returncode == 0  # a prefix is argparse's abbreviation


def test_suggestions_are_parameters_never_nodes():
    result = run_main(["derive", LECTURE, "--wrt", "m3"])   # close to the nodes m1, m2
    assert result.returncode == 1 and "unknown parameter 'm3'" in result.stderr
    assert "'m1'" not in result.stderr and "'m2'" not in result.stderr


def test_output_file_is_written_whole(tmp_path, capsys):
    target = tmp_path / "out" / "grads.json"
    assert main(["derive", LECTURE, "--all", "--format", "json", "-o", str(target)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and f"wrote {target}" in captured.err
    assert len(json.loads(target.read_text())["derivatives"]) == 10
    assert os.listdir(target.parent) == ["grads.json"]    # no temporary file left behind


def test_paths_text_and_count(capsys):
    assert main(["paths", LECTURE, "--wrt", "w11", "--wrt", "s1"]) == 0
    assert capsys.readouterr().out == ("w11 → a: 2 paths\n  w11 → z1 → m1 → a\n  w11 → z1 → m2 → a\n\n"
                                       "s1 → a: 1 path\n  s1 → a\n")
    assert main(["paths", SKIP, "--all", "--count"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == ["b1 → a: 2 paths", "w → a: 3 paths"]


def test_too_many_paths_is_a_clear_error(capsys):
    assert main(["paths", SKIP, "--wrt", "w", "--max-paths", "2"]) == 1
    assert "symbackprop: error:" in capsys.readouterr().err
    assert main(["paths", SKIP, "--wrt", "w", "--max-paths", "2", "--count"]) == 0


def test_colour_only_on_a_terminal_without_no_color():
    primary, secondary = pty.openpty()
    try:
        with os.fdopen(os.dup(secondary), "w") as terminal:
            assert use_colour(terminal) is (os.environ.get("NO_COLOR", "") == "" and os.environ.get("TERM") != "dumb")
        env = {**os.environ, "NO_COLOR": "", "TERM": "xterm"}
        for no_color, expect in (("", True), ("1", False)):
            env["NO_COLOR"] = no_color
            subprocess.run([SCRIPT, "paths", LECTURE, "--wrt", "s1"], stdout=secondary, env=env,
                           timeout=120, check=True)
            shown = os.read(primary, 4096).decode()
            assert ("\033[1m" in shown) is expect and "s1 → a" in shown
    finally:
        os.close(primary)
        os.close(secondary)


def test_a_reader_that_goes_away_is_not_an_error_message():
    # `symbackprop derive … | head`: the pipe is closed before the command writes.
    process = subprocess.Popen([sys.executable, "-m", "symbackprop", "derive", LECTURE, "--all"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 141
    assert stderr == b""
