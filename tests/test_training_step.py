"""``model.training_step(optimizer)``: one gradient from the derived equations and one update,
against torch.optim on the same network, start and batches; the JAX form (one ``jax.jit``
program per step) against the same references in JAX's 64-bit mode."""

import numpy as np
import pytest

import symbackprop as sbp
from test_optim import PARITY, problem, run_torch  # noqa: F401  (problem is a fixture)
from torch_reference import relative_error

ADAM = next(p for p in PARITY if p[0] == "Adam wd=0.01 maximize=False amsgrad=True")
CHOSEN = [p for p in PARITY if p[0] in ("SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp")] + [ADAM]


def start(model) -> np.ndarray:
    return np.random.default_rng(5).normal(scale=0.5, size=len(model.parameters))


def run_steps(model, optimizer, X, Y, batches, params):
    step = model.training_step(optimizer)
    state = step.init(params)
    for batch in batches:
        _, state = step(state, X[batch], Y[batch])
    return step.params(state)


@pytest.fixture(scope="module")
def tensor_model(problem):  # noqa: F811
    scalar_model = problem[0]
    model = sbp.compile(scalar_model.graph)  # mlp's tensor graph: the matrix code
    assert isinstance(model, sbp.numeric.compile_tensor.TensorModel)
    assert [s.name for s in model.parameters] == [s.name for s in scalar_model.parameters]  # one flat order
    return model


@pytest.mark.parametrize("name, ours, theirs", CHOSEN, ids=[p[0] for p in CHOSEN])
def test_the_numpy_step_follows_torch(problem, tensor_model, name, ours, theirs):  # noqa: F811
    _, X, Y, batches, _ = problem
    params = start(tensor_model)
    mine = run_steps(tensor_model, ours, X, Y, batches, params)
    assert np.abs(mine - params).max() > 1e-3  # the run moved the parameters
    assert relative_error(mine, run_torch(problem, theirs, params)) < 1e-10


def test_the_step_leaves_the_callers_array_alone_and_returns_the_loss_before_the_step(problem, tensor_model):  # noqa: F811
    _, X, Y, batches, _ = problem
    params = start(tensor_model)
    kept = params.copy()
    step = tensor_model.training_step("adam")
    state = step.init(params)
    loss, state = step(state, X, Y)
    assert np.array_equal(params, kept)
    assert float(loss) == pytest.approx(tensor_model.loss(params, X, Y), rel=1e-14)
    after = step.params(state)
    assert tensor_model.loss(after, X, Y) < float(loss)
    step(state, X, Y)
    assert not np.array_equal(after, step.params(state))  # params(state) was a copy


def test_a_step_needs_an_optimizer_and_parameters():
    T = sbp.tensor
    x, y, z, L = T.Tensor("x", 3), T.Tensor("y", 3), T.Tensor("z", 3), T.Tensor("L")
    fixed = T.Graph({z: T.tanh(x), L: T.squared_error(z, y)}, inputs=[x], targets=[y], predictions=[z])
    with pytest.raises(sbp.SymbackpropError, match="no parameters to train"):
        sbp.compile(fixed).training_step("adam")
    model = sbp.compile(sbp.mlp((2, 2, 1), loss="squared_error"))
    with pytest.raises(sbp.SymbackpropError, match="training_step: optimizer must be an optimizer"):
        model.training_step(0.1)
    with pytest.raises(sbp.SymbackpropError, match="adam"):
        model.training_step("adma")


# -- JAX ---------------------------------------------------------------------------------------------

@pytest.fixture
def x64():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    yield jax
    jax.config.update("jax_enable_x64", False)


@pytest.mark.parametrize("name, ours, theirs", CHOSEN, ids=[p[0] for p in CHOSEN])
def test_the_jax_step_follows_torch(problem, tensor_model, x64, name, ours, theirs):  # noqa: F811
    _, X, Y, batches, _ = problem
    model = sbp.compile(tensor_model.graph, backend="jax")
    params = start(model)
    mine = run_steps(model, ours, X, Y, batches, params)
    assert np.abs(mine - params).max() > 1e-3
    assert relative_error(mine, run_torch(problem, theirs, params)) < 1e-10


@pytest.mark.parametrize("optimizer", sorted(sbp.optim.NAMES))
def test_every_rule_runs_under_jit_as_in_numpy(x64, optimizer):
    """All the lecture's rules, the lecture's AMSGrad and AdaGrad forms included, traced by JAX."""
    graph = sbp.mlp((4, 3, 2), loss="softmax_cross_entropy")
    rule = sbp.optim.by_name(optimizer, lr=0.05)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(10, 4)), np.eye(2)[rng.integers(0, 2, 10)]
    numpy_model, jax_model = sbp.compile(graph), sbp.compile(graph, backend="jax")
    params = numpy_model.init_params(seed=3)
    batches = [rng.permutation(10)[:5] for _ in range(20)]
    expected = run_steps(numpy_model, rule, X, Y, batches, params)
    assert relative_error(run_steps(jax_model, rule, X, Y, batches, params), expected) < 1e-12


def test_the_jax_step_is_traced_once_and_keeps_float32():
    jax = pytest.importorskip("jax")
    graph = sbp.mlp((6, 5, 3), loss="softmax_cross_entropy")
    model = sbp.compile(graph, dtype=np.float32, backend="jax")
    step = model.training_step(sbp.optim.Adam(lr=0.01))
    state = step.init(model.init_params(seed=0))
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(8, 6)), np.eye(3)[rng.integers(0, 3, 8)]
    losses = []
    for _ in range(30):
        loss, state = step(state, X, Y)
        losses.append(float(loss))
    assert step._step._cache_size() == 1  # the state goes in as it comes out: no retracing
    assert all(leaf.dtype == np.float32 for leaf in jax.tree_util.tree_leaves(state.params))
    assert step.params(state).dtype == np.float32 and losses[-1] < losses[0] * 0.8
    numpy_model = sbp.compile(graph, dtype=np.float32)
    numpy_step = numpy_model.training_step(sbp.optim.Adam(lr=0.01))
    numpy_state = numpy_step.init(model.init_params(seed=0))
    for _ in range(30):
        _, numpy_state = numpy_step(numpy_state, X, Y)
    assert np.allclose(step.params(state), numpy_step.params(numpy_state), rtol=1e-4, atol=1e-5)


def test_a_used_up_or_foreign_state_is_a_clear_error():
    pytest.importorskip("jax")
    graph = sbp.mlp((3, 2, 2), loss="softmax_cross_entropy")
    model = sbp.compile(graph, dtype=np.float32, backend="jax")
    step = model.training_step("adam")
    X, Y = np.ones((4, 3)), np.tile([1.0, 0.0], (4, 1))
    first = step.init(model.init_params(seed=0))
    _, second = step(first, X, Y)
    with pytest.raises(sbp.SymbackpropError, match="used up by an earlier step"):
        step(first, X, Y)
    numpy_step = sbp.compile(graph, dtype=np.float32).training_step("adam")
    with pytest.raises(sbp.SymbackpropError, match="not one this step made"):
        step(numpy_step.init(model.init_params(seed=0)), X, Y)
    with pytest.raises(sbp.SymbackpropError, match="one row per sample and 3 columns"):
        step(second, np.ones((4, 5)), Y)
    assert step.params(second).shape == (len(model.parameters),)


def test_a_scalar_model_steps_as_its_own_loop_does():
    """A scalar graph's compiled model (not a tensor one): the step is loss_and_gradient and the
    rule, in place; the same numbers as the loop written out with the pure rule."""
    graph = sbp.Graph.from_text("inputs: x1, x2\ntargets: y\npredictions: z\nz = tanh(w1*x1 + w2*x2 + b)\nL = (z - y)^2/2\n")
    model = sbp.compile(graph)
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(12, 2)), rng.normal(size=12)
    rule = sbp.optim.Momentum(lr=0.1, alpha=0.8)
    step = model.training_step(rule)
    state = step.init(model.init_params(seed=1))
    params, rule_state = model.init_params(seed=1), rule.init(model.init_params(seed=1))
    for batch in (slice(0, 6), slice(6, 12)) * 5:
        loss, state = step(state, X[batch], y[batch])
        expected_loss, grad = model.loss_and_gradient(params, X[batch], y[batch])
        params, rule_state = rule.step(params, grad, rule_state)
        assert float(loss) == expected_loss
    assert np.array_equal(step.params(state), params)
