"""The package's floors: each imports only those below it, and no module imports itself back
through others (deferred imports inside functions included). Imports are read with ``ast``."""

import ast
import pathlib
import subprocess
import sys

import networkx as nx
import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "symbackprop"

# floor → the floors it may import (besides itself and the package's ``_version``)
FLOORS = {
    "core": set(),
    "parsing": {"core"},
    "numeric": {"core"},
    "render": {"core", "numeric"},
    "handout": {"core", "numeric", "render"},
    "check": {"core", "parsing", "numeric", "render", "handout"},
    "serve": {"core", "parsing", "numeric", "render", "handout", "check"},
    "cli": {"core", "parsing", "numeric", "render", "handout", "check", "serve"},
}

# Thin conveniences of a lower floor that defer to a higher one inside a method, as SymPy's
# Basic._repr_latex_ defers to its printing package: (module, the module it may import lazily).
CONVENIENCES = {
    ("core.graph", "parsing.modelfile"),     # Graph.from_text, Graph.to_text
    ("core.graph", "render.diagram"),        # Graph.draw, Graph._repr_svg_
    ("core.derive", "render.printing"),      # Derivation.text, .latex
    ("core.derive", "handout.equations"),    # Derivation._repr_mathml_
    ("core.layers", "render.matrices"),      # LayerDerivation.text, .latex, .entry_text
    ("core.tensor.derive", "render.tensor"),  # TensorDerivation.text, .latex, .mathml, .entry_text
}


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"


def imports(path: pathlib.Path):
    """``(imported module, deferred?)`` for every import of the package's own modules in ``path``."""
    tree = ast.parse(path.read_text())
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" and name != "__init__" else name.split(".")[:-1]
    top_level = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            top_level.update(map(id, node.body))  # for type checkers only; never run
            for child in node.body:
                child._type_checking = True
        if isinstance(node, ast.ImportFrom) and getattr(node, "_type_checking", False) is False:
            if node.level == 0:
                base = node.module.split(".") if node.module and node.module.startswith("symbackprop") else None
                base = base[1:] if base else None
            else:
                base = package[: len(package) - node.level + 1] + (node.module.split(".") if node.module else [])
            if base is None:
                continue
            targets = [".".join(base)] if node.module else [".".join(base + [a.name]) for a in node.names]
            for target in targets:
                yield target, id(node) not in top_level


def modules():
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def resolve(target: str, known) -> str:
    """The module a dotted import names (``core.errors.ParseError`` → ``core.errors``)."""
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target


def import_graph() -> nx.DiGraph:
    known = modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(known)
    for name, path in known.items():
        for target, deferred in imports(path):
            target = resolve(target, known)
            if target and target != name and not (name.startswith(target + ".") and target in FLOORS):
                graph.add_edge(name, target, deferred=deferred)
    return graph


def floor(module: str) -> str:
    return module.split(".")[0]


def test_every_floor_is_a_folder_and_every_module_is_on_a_floor():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(FLOORS)
    loose = {m for m in modules() if "." not in m} - set(FLOORS)
    assert loose == {"__init__", "__main__", "_version"}


def test_no_floor_imports_a_higher_one():
    wrong = []
    for module, target, data in import_graph().edges(data=True):
        if module in ("__init__", "__main__") or target == "_version" or floor(target) == floor(module):
            continue
        if floor(target) in FLOORS[floor(module)]:
            continue
        if data["deferred"] and (module, target) in CONVENIENCES:
            continue
        wrong.append(f"{module} imports {target}" + (" (deferred)" if data["deferred"] else ""))
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_deferred_imports_included():
    graph = import_graph()
    graph.remove_edges_from(CONVENIENCES)
    graph.remove_node("__init__")  # its names load lazily, on first use (PEP 562)
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c + [c[0]]) for c in cycles)


def test_the_conveniences_are_deferred_and_still_exist():
    edges = import_graph().edges(data=True)
    found = {(m, t) for m, t, d in edges if d["deferred"]}
    assert CONVENIENCES <= found, CONVENIENCES - found
    assert not CONVENIENCES & {(m, t) for m, t, d in edges if not d["deferred"]}


def test_the_layout_checker_sees_a_violation(tmp_path, monkeypatch):
    """The checks above can fail: a core module importing the handout floor is reported."""
    fake = tmp_path / "symbackprop"
    for path in PACKAGE.rglob("*.py"):
        target = fake / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    (fake / "core" / "sneaky.py").write_text("from ..handout import handout\n")
    (fake / "numeric" / "loop.py").write_text("def later():\n    from . import loop2\n")
    (fake / "numeric" / "loop2.py").write_text("from . import loop\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    with pytest.raises(AssertionError, match="core.sneaky imports handout"):
        test_no_floor_imports_a_higher_one()
    with pytest.raises(AssertionError, match="numeric.loop"):
        test_no_import_cycles_deferred_imports_included()


def test_importing_the_package_loads_nothing_heavy():
    code = ("import sys, symbackprop; heavy = ['numpy', 'networkx', 'graphviz', 'tqdm', 'sympy', "
            "'symbackprop.handout', 'symbackprop.core']; print([m for m in heavy if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_deriving_loads_neither_numpy_nor_the_handout_machinery():
    code = ("import sys, symbackprop as sbp; g = sbp.lecture_network(); sbp.derive(g, 'w11').text(); "
            "print([m for m in ('numpy', 'graphviz', 'tqdm', 'symbackprop.handout') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_handout_function_and_package_share_one_name():
    code = ("import symbackprop as sbp; import symbackprop.handout.tex as t; "
            "h = sbp.handout(sbp.lecture_network(), wrt=['w11'], optimizers=[]); "
            "from symbackprop.handout import handout; "
            "print(type(h).__name__, t.__name__, handout(sbp.lecture_network(), wrt=['s1'], optimizers=[]).__class__.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["Handout", "symbackprop.handout.tex", "Handout"]


def test_every_public_name_resolves():
    import symbackprop as sbp
    for name in sbp.__all__:
        assert getattr(sbp, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        sbp.nonsense
