"""Text in (and model files out): the safe expression parser (``parse``), model files (``modelfile``) and LaTeX answers
(``answer_latex``). Nothing here evaluates text; everything is tokenized and parsed by hand.

Imports only ``core``.
"""
