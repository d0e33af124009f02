"""symbackprop: backpropagation derived symbolically, as in the lecture.

>>> import sympy as sp, symbackprop as sbp
>>> g = sbp.lecture_network()
>>> print(sbp.derive(g, sp.Symbol("p11")).text())
∂a/∂p11 = ∂a/∂m1·∂m1/∂p11
        = s1·f'(p11·z1 + p21·z2)·z1
"""

from .builders import LOSSES, lecture_network, mlp
from .derive import (DEFAULT_MAX_PATHS, Backprop, Derivation, Partial, Path, adjoints, backprop,
                     count_paths, derive, gradient, gradients, local_partials, paths)
from .errors import (CycleError, GraphError, ModelFileError, NotDenseError, ParseError, PathLimitError,
                     SymbackpropError, UnknownSymbolError)
from .functions import (ACTIVATIONS, identity, logsumexp, prime, primes_from_derivatives, relu,
                        sigmoid, softplus, substitute_functions, tanh)
from .graph import Graph
from .diagram import draw
from .handout import Handout, handout  # the function shadows the subpackage's name on purpose
from .layers import LayerDerivation, dense_structure, derive_layers
from .modelfile import load
from .parse import parse_expression
from .printing import latex, text
from .verify import Verdict, verify
from . import optim
from .compile import Model, compile
from .train import EarlyStopping, GradNorm, MaxEpochs, StepLength, TrainResult, train

__version__ = "0.1.0"
