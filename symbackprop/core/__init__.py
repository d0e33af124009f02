"""The ground floor: the mathematics, with SymPy only.

``graph`` (definitions → a validated DAG), ``functions`` (activations and their local
derivatives), ``derive`` (local partials, the one reverse sweep, path sums), ``layers`` (the
matrix view of dense networks), ``builders`` (``lecture_network``, ``mlp``), ``products`` (the
reading order of a product's factors), ``tensor`` (tensor graphs: the op table with each op's
forward and vector-Jacobian rules, the δ equations, the scalar view), ``errors`` and ``atomic``
(writing files whole).

Imports nothing from the floors above; a few conveniences (``Graph.from_text``, ``Graph.draw``,
``Derivation.text``) defer to them inside the method, as SymPy's ``Basic._repr_latex_`` does.
"""
