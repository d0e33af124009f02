"""Rendering: text and LaTeX printers (``printing``, ``matrices`` for layer equations), MathML
(``mathml``) and Graphviz diagrams (``diagram``).

Imports ``core`` and ``numeric`` (a diagram can show the values at a point).
"""
