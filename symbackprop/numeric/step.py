"""One training step: the gradient from the derived equations, then one optimizer update.

``Model.training_step(optimizer)`` makes one. Its state (``TrainState``) holds the parameters
and the optimizer's state, in whatever form the model's backend runs fastest: NumPy arrays
updated in place, or, for a model compiled with ``backend="jax"``, JAX arrays that the step
(one ``jax.jit`` program: the δ equations and the update rule together) replaces by donating
their buffers. ``step.params(state)`` gives the parameters back in the model's flat order.

>>> import numpy as np, symbackprop as sbp
>>> model = sbp.compile(sbp.mlp((2, 3, 1), loss="squared_error"))
>>> step = model.training_step(sbp.optim.Adam(lr=0.01))
>>> state = step.init(model.init_params(seed=0))
>>> X, y = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([1.0, -1.0])
>>> first, state = step(state, X, y)
>>> for _ in range(200):
...     loss, state = step(state, X, y)
>>> float(loss) < float(first) / 100
True
>>> step.params(state).shape
(13,)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..core.errors import SymbackpropError

__all__ = ["TrainState", "TrainingStep"]


class TrainState(NamedTuple):
    params: Any  # the flat parameters, in the step's own order (``TrainingStep.params`` reads them)
    optimizer: Any  # the optimizer's state: its step count and history


class TrainingStep:
    """``loss, state = step(state, X, y)``: the batch's loss and gradient at ``state.params``,
    then one step of ``optimizer``; the loss is the one before the step, a 0-d array.

    This is the NumPy form: the gradient from ``model.loss_and_gradient`` and the update rule
    written into the state's arrays (``inplace=True``), so a step allocates no parameter-sized
    arrays. ``init`` copies the parameters, so the caller's array is never overwritten.
    """

    def __init__(self, model, optimizer):
        if model.init_params().size == 0:
            raise SymbackpropError("training_step: the model has no parameters to train")
        self.model, self.optimizer = model, optimizer

    def init(self, params) -> TrainState:
        params = np.array(self.model.params(params))
        return TrainState(params, self.optimizer.init(params))

    def __call__(self, state: TrainState, X, y=None) -> tuple[Any, TrainState]:
        loss, grad = self.model.loss_and_gradient(state.params, X, y)
        params, optimizer = self.optimizer.step(state.params, grad, state.optimizer, inplace=True)
        return np.asarray(loss, dtype=self.model.dtype), TrainState(params, optimizer)

    def params(self, state: TrainState) -> np.ndarray:
        """The parameters of ``state`` in the model's flat order (a copy: later steps do not change it)."""
        return np.array(state.params)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r}, {self.optimizer!r})"
