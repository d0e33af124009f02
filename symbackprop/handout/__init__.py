"""Derivation handouts: HTML (MathML, inline SVG) and LaTeX/PDF, in English and Russian.

The floor above ``render`` and ``numeric``: a handout lays out derivations, diagrams and a
worked numeric example. The package itself is callable, ``symbackprop.handout(graph, ...)`` is
``handout(graph, ...)``, so the function and the package (``import symbackprop.handout.tex``)
share one name without shadowing each other.

>>> from symbackprop import lecture_network
>>> h = handout(lecture_network(), wrt=["w11"], optimizers=[])
>>> "<math" in h.html() and r"\\begin{align*}" in h.tex()
True
"""

from __future__ import annotations

import inspect
import os
import shutil
import sys
import types
from dataclasses import replace
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import sympy as sp

from ..core.atomic import write_atomic
from ..core.derive import DEFAULT_MAX_PATHS
from ..render.diagram import render, svgs
from ..core.errors import SymbackpropError
from ..core.graph import Graph, as_graph
from ..core.tensor.graph import TensorGraph
from ..numeric.point import Point, evaluate
from .build import Context, build
from .html import document_html
from .model import Document
from .strings import LANGUAGES
from .tensor import tensor_document
from .tex import ENGINES, build_pdf, document_tex, figure_file

__all__ = ["handout", "Handout", "output_stem", "tensor_handout"]


class Handout:
    """A rendered handout (or, in exercise mode, a worksheet whose ``answers`` is the key)."""

    def __init__(self, document: Document, answers: "Handout | None" = None, is_answer_key: bool = False):
        self.document = document
        self.answers = answers
        self._is_answer_key = is_answer_key

    @cached_property
    def _svgs(self) -> dict[str, str]:
        """Every figure as SVG (laid out in batches, see ``diagram.svgs``)."""
        figures = self.document.figures()
        return dict(zip((f.name for f in figures), svgs([f.digraph for f in figures])))

    def html(self) -> str:
        """The self-contained HTML page."""
        return document_html(self.document, self._svgs, answers=self._is_answer_key)

    def tex(self, stem: str = "handout") -> str:
        """The LaTeX source; it includes the figures as ``figure_file(stem, figure)`` (``<stem>-<figure>.pdf``
        for plain names; ``save`` writes them)."""
        names = {f.name: figure_file(stem, f.name, ".pdf") for f in self.document.figures()}
        return document_tex(self.document, names, answers=self._is_answer_key)

    def save(self, target: str | os.PathLike, pdf: bool | None = None) -> list[Path]:
        """Write ``<stem>.html``, ``<stem>.tex``, the figures (``<stem>-<figure>.svg`` and
        ``.pdf``) and, when a LaTeX engine is installed (or ``pdf=True``), ``<stem>.pdf``.

        ``target`` is a directory (files named ``handout.*`` inside it) or a path stem such as
        ``build/handout``. An answer key is saved beside, as ``<stem>-answers.*``.
        """
        stem = output_stem(target)
        written = [write_atomic(stem.parent / f"{stem.name}.html", self.html())]
        figures = self.document.figures()
        for figure in figures:
            written.append(write_atomic(stem.parent / figure_file(stem.name, figure.name, ".svg"),
                                        self._svgs[figure.name]))
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:  # one dot process per PDF
            written += pool.map(lambda f: render(f.digraph, stem.parent / figure_file(stem.name, f.name, ".pdf")),
                                figures)
        written.append(write_atomic(stem.parent / f"{stem.name}.tex", self.tex(stem.name)))
        if pdf is None:
            pdf = any(shutil.which(engine) for engine in ENGINES)
        if pdf:
            written.append(build_pdf(stem.parent / f"{stem.name}.tex"))
        if self.answers is not None:
            written += self.answers.save(stem.parent / f"{stem.name}-answers", pdf=pdf)
        return written

    def _repr_html_(self) -> str:
        return self.html()


def output_stem(target: str | os.PathLike) -> Path:
    """The path stem a handout's files share: ``build/handout`` for ``build/handout`` or
    ``build/handout.html``, ``build/handout`` for a directory ``build``; the rest of the name is
    kept as given (``week.2`` stays ``week.2``)."""
    target = Path(target)
    stem = target / "handout" if target.is_dir() or str(target).endswith(os.sep) else target
    return stem.with_suffix("") if stem.suffix in (".html", ".tex", ".pdf") else stem


def _symbols(graph: Graph, wrt) -> tuple[sp.Symbol, ...]:
    if wrt is None:
        return graph.parameters
    if isinstance(wrt, (str, sp.Symbol)):
        wrt = [wrt]
    chosen = tuple(dict.fromkeys(graph.symbol(w) for w in wrt))
    for symbol in chosen:
        if symbol in graph.definitions:
            raise SymbackpropError(f"{symbol} is a node, not a parameter; choose among "
                                   + ", ".join(map(str, graph.parameters)))
    if not chosen:
        raise SymbackpropError("choose at least one parameter (or none, for all of them)")
    return chosen


def handout(graph: Graph | TensorGraph | str, wrt: Iterable | str | None = None, of=None, lang: str = "en",
            exercises: bool = False, values: Mapping | Point | None = None,
            functions: Mapping | None = None, optimizers: Sequence | None = None,
            summary: int | None = None, subtitle: str | None = None,
            max_paths: int = DEFAULT_MAX_PATHS) -> Handout:
    """A derivation handout for ``graph``.

    ``wrt``: the parameters to derive (default: all); ``lang``: ``"en"`` or ``"ru"``;
    ``exercises``: a worksheet with blanks, its answer key in ``.answers``; ``values``: the
    worked example's point (leaf → number; default the model file's values, else a fixed
    example); ``functions``: how undefined activations are bound for the numbers (default the
    model file's ``bind``, else tanh); ``optimizers``: the update rules to show one step of
    (default GD, Momentum, AdaGrad, Adam from ``symbackprop.numeric.optim``; ``[]`` for none);
    ``summary``: collapse layers wider than this in the diagrams (default: automatic);
    ``subtitle``: the line under the title, instead of the network's name (a worksheet's
    student and variant); ``max_paths``: the most paths of one parameter the handout lists and
    draws. A ``TensorGraph`` gets the tensor handout (``tensor_handout``); a path is a model file.
    """
    graph = as_graph(graph, "handout: graph", kinds=(TensorGraph,))
    if isinstance(graph, TensorGraph):
        return tensor_handout(graph, entry=wrt, lang=lang)
    if lang not in LANGUAGES:
        raise SymbackpropError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    chosen = _symbols(graph, wrt)
    point = values if isinstance(values, Point) else evaluate(graph, values, of=of, functions=functions)
    context = Context(graph, chosen, lang, point, functions is not None, optimizers, summary, of, functions,
                      max_paths)
    document, answers = build(context, exercises=exercises)
    if subtitle is not None:
        document = replace(document, subtitle=subtitle)
        answers = replace(answers, subtitle=subtitle) if answers is not None else None
    key = Handout(answers, is_answer_key=True) if answers is not None else None
    return Handout(document, key)


def tensor_handout(graph, entry=None, lang: str = "en") -> Handout:
    """The handout of a tensor graph (or of ``mlp``'s, or a model file with shapes): its layers as
    boxes with shapes, the forward and backward passes as matrix equations, and the gradient
    entry of one scalar parameter ``entry`` expanded as its path sum. ``handout`` calls it for
    a ``TensorGraph``."""
    return Handout(tensor_document(graph, entry=entry, lang=lang))


class _CallablePackage(types.ModuleType):
    """This package, callable as its ``handout`` function."""

    def __call__(self, *args, **kwargs) -> Handout:
        return handout(*args, **kwargs)


__signature__ = inspect.signature(handout)
sys.modules[__name__].__class__ = _CallablePackage
