"""symbackprop: backpropagation derived symbolically, as in the lecture.

>>> import sympy as sp, symbackprop as sbp
>>> g = sbp.lecture_network()
>>> print(sbp.derive(g, sp.Symbol("p11")).text())
∂a/∂p11 = ∂a/∂m1·∂m1/∂p11
        = s1·f'(p11·z1 + p21·z2)·z1

The package is built in floors, each importing only those below it (the README's "How it is
built" has the map):

- ``core``: graphs, functions, the reverse sweep (``derive``), the layer view, builders;
- ``parsing``: the safe parser, model files, LaTeX answers;
- ``numeric``: points, sampling, compile, optimizers, training;
- ``render``: printers, MathML, Graphviz diagrams;
- ``handout``: HTML and LaTeX/PDF handouts (render + numeric);
- ``check``: verifying hand-written answers, feedback, class mode, marks, per-student variants,
  Moodle export;
- ``serve``: the checking page (a Flask application; the ``serve`` extra);
- ``cli``: the command line.

Every public name below is importable from here, and loads its floor on first use: ``import
symbackprop`` itself imports nothing heavy (PEP 562 ``__getattr__``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__

# public name → the module that defines it (relative to this package)
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["LOSSES", "lecture_network", "mlp"], ".core.builders"),
    **dict.fromkeys(["DEFAULT_MAX_PATHS", "Backprop", "Derivation", "Partial", "Path", "adjoints",
                     "backprop", "count_paths", "derive", "gradient", "gradients", "local_partials",
                     "paths"], ".core.derive"),
    **dict.fromkeys(["CycleError", "GraphError", "ModelFileError", "NotDenseError", "ParseError",
                     "PathLimitError", "SymbackpropError", "SymbackpropWarning", "TypoWarning",
                     "UnknownSymbolError"], ".core.errors"),
    **dict.fromkeys(["ACTIVATIONS", "identity", "logsumexp", "prime", "primes_from_derivatives", "relu",
                     "sigmoid", "softplus", "substitute_functions", "tanh"], ".core.functions"),
    "Graph": ".core.graph",
    **dict.fromkeys(["LayerDerivation", "dense_structure", "derive_layers"], ".core.layers"),
    "load": ".parsing.modelfile",
    "parse_expression": ".parsing.parse",
    **dict.fromkeys(["Model", "compile"], ".numeric.compile"),
    **dict.fromkeys(["EarlyStopping", "GradNorm", "MaxEpochs", "StepLength", "TrainResult", "train"],
                    ".numeric.train"),
    **dict.fromkeys(["TrainState", "TrainingStep"], ".numeric.step"),
    **dict.fromkeys(["latex", "text"], ".render.printing"),
    "draw": ".render.diagram",
    "Handout": ".handout",
    "sequence_handout": ".handout.sequence",
    **dict.fromkeys(["bptt_latex", "bptt_text"], ".render.recurrence"),
    **dict.fromkeys(["Verdict", "verify"], ".check.verify"),
    **dict.fromkeys(["Variant", "make_variants"], ".check.variants"),
    "MarkScheme": ".check.marking",
    "moodle_xml": ".check.moodle",
}
# modules reachable as attributes: sbp.optim.Adam; sbp.handout is the handout package, which is
# callable (sbp.handout(graph, ...)) so the function and the package never shadow each other
_MODULES: dict[str, str] = {"optim": ".numeric.optim", "handout": ".handout", "tensor": ".core.tensor"}

__all__ = sorted([*_EXPORTS, *_MODULES, "__version__"])


def __getattr__(name: str):
    if name in _MODULES:
        value = importlib.import_module(_MODULES[name], __name__)
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what static tools and IDEs see; nothing is imported at run time
    from . import handout
    from .check.marking import MarkScheme
    from .check.moodle import moodle_xml
    from .check.variants import Variant, make_variants
    from .core import tensor
    from .check.verify import Verdict, verify
    from .core.builders import LOSSES, lecture_network, mlp
    from .core.derive import (DEFAULT_MAX_PATHS, Backprop, Derivation, Partial, Path, adjoints, backprop,
                              count_paths, derive, gradient, gradients, local_partials, paths)
    from .core.errors import (CycleError, GraphError, ModelFileError, NotDenseError, ParseError,
                              PathLimitError, SymbackpropError, SymbackpropWarning, TypoWarning,
                              UnknownSymbolError)
    from .core.functions import (ACTIVATIONS, identity, logsumexp, prime, primes_from_derivatives, relu,
                                 sigmoid, softplus, substitute_functions, tanh)
    from .core.graph import Graph
    from .core.layers import LayerDerivation, dense_structure, derive_layers
    from .handout import Handout
    from .handout.sequence import sequence_handout
    from .render.recurrence import bptt_latex, bptt_text
    from .numeric import optim
    from .numeric.compile import Model, compile
    from .numeric.step import TrainingStep, TrainState
    from .numeric.train import EarlyStopping, GradNorm, MaxEpochs, StepLength, TrainResult, train
    from .render.diagram import draw
    from .render.printing import latex, text
    from .parsing.modelfile import load
    from .parsing.parse import parse_expression
