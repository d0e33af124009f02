"""Numbers: points and sampling (``point``, ``sampling``), the derived formulas compiled to NumPy
(``compile``, ``compile_layers``), the lecture's optimizers (``optim``) and the training loop
(``train``). NumPy loads here, on first use.

Imports only ``core``.
"""
