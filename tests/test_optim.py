"""The optimizers against torch.optim (200 steps on the same network, start and batches) and
the lecture's forms against first steps worked out by hand."""

import itertools

import numpy as np
import pytest
import torch

import symbackprop as sbp
from symbackprop.numeric.compile import compile_scalar
from symbackprop.numeric.optim import OptimizerError
from torch_reference import relative_error, torch_loss, torch_mlp_loss

STEPS, BATCH, ROWS = 200, 8, 36


@pytest.fixture(scope="module")
def problem():
    graph = sbp.mlp((3, 5, 3), activation=sbp.tanh, loss="softmax_cross_entropy")
    model = compile_scalar(graph)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(ROWS, 3))
    Y = np.eye(3)[rng.integers(0, 3, ROWS)]
    batches = [rng.permutation(ROWS)[:BATCH] for _ in range(STEPS)]
    reference = torch_mlp_loss(graph)
    P = torch.tensor(model.init_params(seed=2))
    assert reference(P, torch.tensor(X), torch.tensor(Y)).item() == pytest.approx(  # the two references agree
        torch_loss(graph)(P, torch.tensor(X), torch.tensor(Y)).item(), rel=1e-13)
    return model, X, Y, batches, reference


def run_ours(problem, optimizer):
    model, X, Y, batches, _ = problem
    params = model.init_params(seed=1)
    state = optimizer.init(params)
    for batch in batches:
        _, grad = model.loss_and_gradient(params, X[batch], Y[batch])
        params, state = optimizer.step(params, grad, state)
    return params


def run_torch(problem, make_optimizer, start=None):
    """torch.optim's run from ``start`` (by default the one ``run_ours`` takes)."""
    model, X, Y, batches, loss = problem
    start = model.init_params(seed=1) if start is None else start
    P = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([P])
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    for batch in batches:
        optimizer.zero_grad()
        loss(P, Xt[batch], Yt[batch]).backward()
        optimizer.step()
    return P.detach().numpy()


PARITY = [
    ("SGD", sbp.optim.SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    ("GD", sbp.optim.GD(lr=0.05), lambda p: torch.optim.SGD(p, lr=0.05)),
    ("Momentum", sbp.optim.Momentum(lr=0.05, alpha=0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    ("Nesterov", sbp.optim.Nesterov(lr=0.05, alpha=0.8),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True)),
    ("AdaGrad", sbp.optim.AdaGrad(lr=0.1, eps=1e-10, eps_inside_root=False),
     lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-10)),
    ("RMSProp", sbp.optim.RMSProp(lr=0.01, alpha=0.9, eps=1e-8),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8)),
] + [
    (f"Adam wd={wd} maximize={maximize} amsgrad={amsgrad}",
     sbp.optim.Adam(lr=0.01, betas=(0.8, 0.99), weight_decay=wd, maximize=maximize, amsgrad=amsgrad,
                    amsgrad_variant="pytorch"),
     lambda p, wd=wd, maximize=maximize, amsgrad=amsgrad: torch.optim.Adam(
         p, lr=0.01, betas=(0.8, 0.99), weight_decay=wd, maximize=maximize, amsgrad=amsgrad))
    for wd, maximize, amsgrad in itertools.product((0.0, 0.01), (False, True), (False, True))
]


@pytest.mark.parametrize("name, ours, theirs", PARITY, ids=[p[0] for p in PARITY])
def test_parity_with_torch_after_200_steps(problem, name, ours, theirs):
    mine, reference = run_ours(problem, ours), run_torch(problem, theirs)
    start = problem[0].init_params(seed=1)
    assert np.abs(mine - start).max() > 1e-3  # the run moved the parameters
    assert relative_error(mine, reference) < 1e-10


def test_amsgrad_forms_differ_where_the_notes_say():
    """The lecture's max over v̂ and PyTorch's max over raw v are different trajectories."""
    lecture = run_ours_grads(sbp.optim.Adam(lr=0.1, amsgrad=True), [[1.0], [0.1], [0.1]])
    pytorch = run_ours_grads(sbp.optim.Adam(lr=0.1, amsgrad=True, amsgrad_variant="pytorch"), [[1.0], [0.1], [0.1]])
    assert not np.allclose(lecture, pytorch, rtol=1e-6)


def run_ours_grads(optimizer, grads, start=(0.0,)):
    params = np.array(start)
    state = optimizer.init(params)
    trajectory = []
    for g in grads:
        params, state = optimizer.step(params, np.array(g), state)
        trajectory.append(params)
    return np.array(trajectory)


def test_momentum_first_steps_by_hand():
    # h1 = η g1 = 0.1·2 = 0.2, w1 = 1 − 0.2 = 0.8; h2 = 0.5·0.2 + 0.1·(−1) = 0.0, w2 = 0.8
    path = run_ours_grads(sbp.optim.Momentum(lr=0.1, alpha=0.5), [[2.0], [-1.0]], start=(1.0,))
    assert path[:, 0] == pytest.approx([0.8, 0.8])


def test_adagrad_lecture_form_first_steps_by_hand():
    # G1 = 9, w1 = 0 − 0.5·3/√(9 + 16) = −0.3; G2 = 9 + 16 = 25, w2 = −0.3 − 0.5·4/√(25 + 16)
    path = run_ours_grads(sbp.optim.AdaGrad(lr=0.5, eps=16.0), [[3.0], [4.0]])
    assert path[:, 0] == pytest.approx([-0.3, -0.3 - 2 / np.sqrt(41)])
    outside = run_ours_grads(sbp.optim.AdaGrad(lr=0.5, eps=16.0, eps_inside_root=False), [[3.0]])
    assert outside[0, 0] == pytest.approx(-0.5 * 3 / (3 + 16))


def test_adam_lecture_amsgrad_first_steps_by_hand():
    b1, b2, lr, eps = 0.5, 0.75, 0.1, 0.0
    # t=1: m = 0.5·2 = 1, v = 0.25·4 = 1, m̂ = 1/0.5 = 2, v̂ = 1/0.25 = 4, max = 4, step = 0.1·2/2 = 0.1
    # t=2: m = 0.5 + 0.5·0 = 0.5... with g2 = 1: m = 0.5·1 + 0.5·1 = 1, v = 0.75 + 0.25 = 1,
    #      m̂ = 1/0.75, v̂ = 1/0.4375 = 2.2857…, max stays 4, step = 0.1·(4/3)/2 = 1/15
    path = run_ours_grads(sbp.optim.Adam(lr=lr, betas=(b1, b2), eps=eps, amsgrad=True), [[2.0], [1.0]])
    assert path[:, 0] == pytest.approx([-0.1, -0.1 - 1 / 15])
    # PyTorch's form: max(v) = max(1, 1) = 1, √1/√0.4375 → step 0.1·(4/3)/1.5119 = 0.0882
    torch_form = run_ours_grads(sbp.optim.Adam(lr=lr, betas=(b1, b2), eps=eps, amsgrad=True,
                                               amsgrad_variant="pytorch"), [[2.0], [1.0]])
    assert torch_form[1, 0] == pytest.approx(-0.1 - 0.1 * (4 / 3) * np.sqrt(0.4375))


def test_adam_weight_decay_and_maximize_by_hand():
    # g = −(−1) + 0.5·2 = 2 (maximize flips the gradient, decay adds λθ); the first Adam step is
    # lr·sign(g) whatever the betas: m̂ = g, v̂ = g².
    path = run_ours_grads(sbp.optim.Adam(lr=0.1, eps=0.0, weight_decay=0.5, maximize=True), [[-1.0]], start=(2.0,))
    assert path[0, 0] == pytest.approx(1.9)


def test_steps_are_pure():
    params, grad = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    for optimizer in (sbp.optim.GD(), sbp.optim.Momentum(), sbp.optim.AdaGrad(), sbp.optim.Adam(amsgrad=True),
                      sbp.optim.RMSProp(), sbp.optim.Nesterov()):
        state = optimizer.init(params)
        snapshot = [np.copy(x) if isinstance(x, np.ndarray) else x for x in state]
        optimizer.step(params, grad, state)
        assert params.tolist() == [1.0, 2.0] and grad.tolist() == [0.5, -0.5]
        assert all(np.array_equal(a, b) for a, b in zip(state, snapshot))


def test_latex_formulas():
    momentum = sbp.optim.Momentum(lr=0.1, alpha=0.9).latex()
    assert momentum.startswith(r"\begin{align*}") and momentum.endswith(r"\end{align*}")
    assert r"h_k &= \alpha\,h_{k-1} + \eta\,\nabla Q(w_{k-1})" in momentum
    # formulas only: the words (and the erratum) are the handout's, in its language
    assert "text" not in momentum and r"\bigl(\eta = 0.1,\ \alpha = 0.9\bigr)" in momentum
    assert r"\sqrt{G_{k,i} + \varepsilon}" in sbp.optim.AdaGrad().latex()
    assert r"\hat v_t^{\max}" in sbp.optim.Adam(amsgrad=True).latex()
    assert r"10^{-8}" in sbp.optim.Adam().latex()
    assert r"\lambda" in sbp.optim.Adam(weight_decay=0.1).latex()


@pytest.mark.parametrize("make", [
    lambda: sbp.optim.GD(lr=-1), lambda: sbp.optim.Momentum(alpha=1.5), lambda: sbp.optim.Adam(betas=(0.9,)),
    lambda: sbp.optim.Adam(amsgrad_variant="keras"), lambda: sbp.optim.AdaGrad(eps=0),
    lambda: sbp.optim.Adam(weight_decay=-0.1), lambda: sbp.optim.GD(lr=float("nan")),
])
def test_bad_hyperparameters_are_clear_errors(make):
    with pytest.raises(OptimizerError):
        make()


def test_gradient_of_the_wrong_shape_is_an_error():
    optimizer = sbp.optim.Adam()
    with pytest.raises(OptimizerError, match="shape"):
        optimizer.step(np.zeros(3), np.zeros(2), optimizer.init(np.zeros(3)))


ALL_OPTIMIZERS = [sbp.optim.GD(lr=0.1), sbp.optim.SGD(lr=0.1), sbp.optim.Momentum(lr=0.1, alpha=0.9),
                  sbp.optim.Nesterov(lr=0.1, alpha=0.9), sbp.optim.AdaGrad(lr=0.1),
                  sbp.optim.AdaGrad(lr=0.1, eps_inside_root=False), sbp.optim.RMSProp(lr=0.01),
                  sbp.optim.Adam(lr=0.01), sbp.optim.Adam(lr=0.01, amsgrad=True, weight_decay=0.1),
                  sbp.optim.Adam(lr=0.01, amsgrad=True, amsgrad_variant="pytorch", maximize=True)]


def _run(optimizer, params, grads, inplace=False):
    state = optimizer.init(params)
    for grad in grads:
        params, state = optimizer.step(params, grad, state, inplace=inplace)
    return params, state


@pytest.mark.parametrize("optimizer", ALL_OPTIMIZERS, ids=lambda o: o.name)
def test_float32_parameters_stay_float32(optimizer):
    rng = np.random.default_rng(0)
    start = rng.normal(size=7)
    grads = [rng.normal(size=7) for _ in range(20)]
    params32, state32 = _run(optimizer, start.astype(np.float32), [g.astype(np.float32) for g in grads])
    assert params32.dtype == np.float32
    assert all(a.dtype == np.float32 for a in state32 if isinstance(a, np.ndarray))
    # a float64 gradient does not promote float32 parameters either
    assert _run(optimizer, start.astype(np.float32), grads)[0].dtype == np.float32
    params64, _ = _run(optimizer, start, grads)
    assert np.allclose(params32, params64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("optimizer", ALL_OPTIMIZERS, ids=lambda o: o.name)
def test_inplace_updates_reuse_the_arrays_and_agree(optimizer):
    rng = np.random.default_rng(1)
    start, grads = rng.normal(size=5), [rng.normal(size=5) for _ in range(10)]
    pure_start = start.copy()
    pure, _ = _run(optimizer, pure_start, grads)
    assert np.array_equal(pure_start, start)            # the pure step left its argument alone
    params = start.copy()
    state = optimizer.init(params)
    arrays = [id(a) for a in state if isinstance(a, np.ndarray)]
    for grad in grads:
        result, state = optimizer.step(params, grad, state, inplace=True)
        assert result is params
    assert [id(a) for a in state if isinstance(a, np.ndarray)] == arrays
    assert np.array_equal(params, pure)


def test_float32_training_returns_float32():
    model = sbp.compile(sbp.mlp((2, 3, 1), loss="squared_error"), dtype=np.float32)
    X = np.random.default_rng(0).uniform(-1, 1, (32, 2))
    for optimizer in ALL_OPTIMIZERS:
        result = sbp.train(model, X, X[:, 0] * X[:, 1], optimizer=optimizer, epochs=3, init="random", progress=False)
        assert result.params.dtype == np.float32, optimizer.name
