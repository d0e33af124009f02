"""The handout of a tensor graph: layers as boxes with shapes, the forward pass and the backward
pass as matrix equations, and one entry of a gradient expanded as the lecture's path sum.

>>> import symbackprop as sbp
>>> document = tensor_document(sbp.mlp((3, 2, 2), loss="softmax_cross_entropy"), entry="w1_3_2")
>>> [section.title.parts[0] for section in document.sections]
['The network', 'The backward pass', 'One entry as its path sum']
"""

from __future__ import annotations

from ..core.derive import count_paths, derive
from ..core.errors import SymbackpropError
from ..core.tensor.derive import as_tensor_graph, derive_tensor
from ..core.tensor.scalar import scalar_graph
from ..render.printing import derivation_latex
from ..render.printing import aligned
from ..render.tensor import definitions_latex, entry_rows
from ..render.tensor_diagram import draw_tensor
from .model import Document, Figure, Formula, Section, Text, blocks

__all__ = ["tensor_document", "SCALAR_VIEW_LIMIT"]

# The scalar view (for the expanded entry) is built only up to this many parameters.
SCALAR_VIEW_LIMIT = 2000
PATHS_SHOWN = 12

_STRINGS = {
    "en": {
        "title": "Backpropagation in matrix form", "subtitle": "the tensor network {name}",
        "network": "The network", "network_caption": "Each box is a tensor with its shape; grey boxes are parameters.",
        "forward": "The forward pass, one equation per tensor:",
        "backward": "The backward pass",
        "backward_text": "One sweep from the loss back: each adjoint δ = ∂L/∂(node) is the sum of the "
                         "vector-Jacobian products of the operations that use the node, and each parameter's "
                         "gradient follows from the adjoint of the node it feeds (a parameter used twice gets "
                         "one term per use).",
        "entry": "One entry as its path sum",
        "entry_text": "The entry of the gradient for {w}, read off the matrix equation and written out over the "
                      "scalar network; it is the sum over the {n} paths from {w} to the loss:",
        "paths_text": "The same derivative path by path (Leibniz form, then each path's product):",
        "too_large": "The scalar network of this graph has {n} parameters, more than {limit}: the entries are "
                     "not expanded here.",
    },
    "ru": {
        "title": "Обратное распространение в матричной форме", "subtitle": "тензорная сеть {name}",
        "network": "Сеть", "network_caption": "Каждый блок — тензор и его размерность; серые блоки — параметры.",
        "forward": "Прямой проход, по уравнению на тензор:",
        "backward": "Обратный проход",
        "backward_text": "Один проход от функции потерь назад: каждое сопряжённое δ = ∂L/∂(узел) — сумма "
                         "произведений вектора на якобиан операций, использующих узел; градиент параметра "
                         "получается из δ узла, в который он входит (параметр, использованный дважды, даёт "
                         "по слагаемому на каждое использование).",
        "entry": "Один элемент как сумма по путям",
        "entry_text": "Элемент градиента для {w}, прочитанный из матричного уравнения и выписанный по скалярной "
                      "сети; это сумма по {n} путям от {w} к функции потерь:",
        "paths_text": "Та же производная по путям (форма Лейбница, затем произведение вдоль каждого пути):",
        "too_large": "Скалярная сеть этого графа имеет {n} параметров, больше {limit}: элементы здесь не "
                     "раскрываются.",
    },
}


def _text(lang: str, key: str, **values) -> Text:
    return Text((_STRINGS[lang][key].format(**values),))


def tensor_document(graph, entry=None, lang: str = "en") -> Document:
    """The handout of a tensor graph (``sbp.tensor.Graph``, ``sbp.mlp``, a model file with shapes).

    ``entry``: the scalar parameter whose gradient entry is expanded as its path sum (default:
    the first one, when the scalar view has at most ``SCALAR_VIEW_LIMIT`` parameters).
    """
    if lang not in _STRINGS:
        raise SymbackpropError(f"unknown language {lang!r}; choose one of {', '.join(_STRINGS)}")
    tensor = as_tensor_graph(graph)
    derivation = derive_tensor(tensor)
    name = ", ".join(t.name for t in tensor.inputs) + f" → {tensor.output.name}"
    network = Section(_text(lang, "network"), blocks(
        Figure("network", draw_tensor(tensor), _text(lang, "network_caption")),
        _text(lang, "forward"),
        Formula(definitions_latex(tensor))))
    backward = Section(_text(lang, "backward"), blocks(_text(lang, "backward_text"), Formula(derivation.latex())))
    sections = [network, backward, _entry_section(tensor, derivation, entry, lang)]
    return Document(_STRINGS[lang]["title"], _STRINGS[lang]["subtitle"].format(name=name), lang,
                    tuple(s for s in sections if s is not None))


def _entry_section(tensor, derivation, entry, lang: str) -> Section:
    if tensor.size > SCALAR_VIEW_LIMIT:
        return Section(_text(lang, "entry"), blocks(_text(lang, "too_large", n=tensor.size, limit=SCALAR_VIEW_LIMIT)))
    scalar = scalar_graph(tensor)
    w = scalar.symbol(entry) if entry is not None else scalar.parameters[0]
    if w not in scalar.parameters:
        raise SymbackpropError(f"{w} is not a parameter of the scalar view; choose one such as {scalar.parameters[0]}")
    n = count_paths(scalar, w)
    parts = [_text(lang, "entry_text", w=str(w), n=n), Formula(aligned(entry_rows(derivation, w)))]
    if n <= PATHS_SHOWN:
        parts += [_text(lang, "paths_text"), Formula(derivation_latex(derive(scalar, w)))]
    return Section(_text(lang, "entry"), blocks(parts))

