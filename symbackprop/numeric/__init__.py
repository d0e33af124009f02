"""Numbers: points and sampling (``point``, ``sampling``), the derived formulas compiled to NumPy
or ``jax.numpy`` (``compile``, ``compile_layers``, ``compile_tensor``, ``stacks``), the lecture's
optimizers (``optim``), one training step of a loop of your own (``step``) and the training loop
(``train``). NumPy loads here, on first use; JAX only when asked for.

Imports only ``core``.
"""
