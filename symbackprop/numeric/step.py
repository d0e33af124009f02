"""One training step: the gradient from the derived equations, then one optimizer update.

``Model.training_step(optimizer)`` makes one. Its state (``TrainState``) holds the parameters
and the optimizer's state, in whatever form the model's backend runs fastest: NumPy arrays
updated in place (``TrainingStep``), or, for a model compiled with ``backend="jax"``, JAX arrays
that the step (one ``jax.jit`` program: the δ equations and the update rule together) replaces
by donating their buffers (``JaxTrainingStep``). ``step.params(state)`` gives the parameters
back in the model's flat order.

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

from ..core.errors import DataError, SymbackpropError

__all__ = ["TrainState", "TrainingStep", "JaxTrainingStep"]


class TrainState(NamedTuple):
    params: Any  # the flat parameters, in the step's own order (``TrainingStep.params`` reads them)
    optimizer: Any  # the optimizer's state: its step count and history


class TrainingStep:
    """``loss, state = step(state, X, y)``: the batch's loss and gradient at ``state.params``,
    then one step of ``optimizer``; the loss is the one before the step, a 0-d array.

    This is the NumPy form: the gradient from ``model.loss_and_gradient`` and the update rule
    written into the state's arrays (``inplace=True``), so a step allocates no parameter-sized
    arrays. ``init`` copies the parameters, so the caller's array is never overwritten; an
    earlier state shares its arrays with the later ones, so, as under JAX, pass the state each
    step returns (``step.params`` copies what you want to keep).
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


class JaxTrainingStep(TrainingStep):
    """``TrainingStep`` for a model compiled with ``backend="jax"`` (a ``JaxTensorModel``).

    The state holds a tuple of JAX arrays, one per parameter, and one optimizer state whose
    arrays are such tuples too (``m``: one moment per parameter) around one step count, as optax
    keeps its state. The rules are elementwise, so each parameter's update is the rule applied
    to its own arrays. A step uses up the state it is given (XLA reuses its buffers for the new
    one): keep only the state it returns."""

    def __init__(self, model, optimizer):
        import jax

        super().__init__(model, optimizer)
        gradient = model.jax_loss_and_gradient

        def step(state: TrainState, X, Y):
            loss, grads = gradient(state.params, X, Y)
            stepped = [optimizer.step(p, g, _one_parameter(state.optimizer, k))
                       for k, (p, g) in enumerate(zip(state.params, grads))]
            return loss, TrainState(tuple(p for p, _ in stepped), _gathered([s for _, s in stepped]))

        self._jax = jax
        self._step = jax.jit(step, donate_argnums=0)
        self._shapes = tuple(p.shape for p in model.tensor.parameters)

    def init(self, params) -> TrainState:
        """The state as the step returns it, JAX arrays throughout (the step count too), so
        that ``jax.jit`` traces the step once."""
        arrays = tuple(self._jax.numpy.asarray(a) for a in self.model.arrays(self.model.params(params)))
        state = _gathered([self.optimizer.init(a) for a in arrays])
        return TrainState(arrays, self._jax.tree_util.tree_map(self._jax.numpy.asarray, state))

    def __call__(self, state: TrainState, X, y=None):
        self._check(state)
        X = self.model.inputs_array(X)
        return self._step(state, X, self.model.targets_array(y, len(X)))

    def params(self, state: TrainState) -> np.ndarray:
        self._check(state)
        return self.model.flat(state.params)

    def _check(self, state) -> None:
        """A clear error for a state this step cannot take: not one of its own, or used up."""
        params = getattr(state, "params", None)
        if not (isinstance(params, tuple) and tuple(getattr(p, "shape", None) for p in params) == self._shapes):
            raise DataError("the state is not one this step made: start from step.init(params), "
                            "then pass the state each step returns")
        if any(p.is_deleted() for p in params if hasattr(p, "is_deleted")):
            raise DataError("this state was used up by an earlier step (its buffers went to the state that step "
                            "returned): pass the state each step returns")


def _one_parameter(state, k: int):
    """The ``k``-th parameter's optimizer state out of one whose arrays are tuples, one entry per
    parameter (the step count is everyone's)."""
    return state._replace(**{name: value[k] for name, value in zip(state._fields, state) if isinstance(value, tuple)})


def _gathered(states: list):
    """One optimizer state from the parameters' own: each array a tuple of theirs, the first's
    step count (the same for all)."""
    first = states[0]
    return first._replace(**{name: tuple(getattr(s, name) for s in states)
                             for name, value in zip(first._fields, first) if name != "t" and value is not None})
