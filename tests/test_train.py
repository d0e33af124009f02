"""The training loop: each stopping criterion, divergence, the zero-start warning, minibatches
against a torch DataLoader-style loop, bad data, and the plot."""

import warnings

import numpy as np
import pytest
import torch

import symbackprop as sbp
from symbackprop.numeric.compile import compile_scalar
from symbackprop.core.errors import DataError, SymbackpropError
from symbackprop.numeric.train import History, SymmetryWarning, TrainingDiverged, minibatches
from torch_reference import relative_error, torch_mlp_loss


@pytest.fixture(scope="module")
def line():
    """y = 3x + 1 with a little noise, and a linear model for it."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (40, 1))
    y = 3 * X[:, 0] + 1 + 0.01 * rng.normal(size=40)
    return compile_scalar(sbp.mlp((1, 1), loss="squared_error")), X, y


def test_gradient_norm_criterion(line):
    model, X, y = line
    result = sbp.train(model, X, y, optimizer=sbp.optim.GD(lr=0.5), epochs=1000, stop=[sbp.GradNorm(1e-6)],
                       progress=False)
    assert result.stopped_by.startswith("gradient norm") and f"at epoch {result.epochs}" in result.stopped_by
    assert result.history.grad_norm[-1] <= 1e-6 < result.history.grad_norm[-2]
    _, grad = model.loss_and_gradient(result.params, X, y)
    assert np.linalg.norm(grad) == pytest.approx(result.history.grad_norm[-1])
    assert result.epochs < 1000


def test_step_length_criterion(line):
    model, X, y = line
    result = sbp.train(model, X, y, optimizer=sbp.optim.GD(lr=0.1), epochs=1000, stop=[sbp.StepLength(1e-4)],
                       progress=False)
    assert result.stopped_by == f"step length {result.history.step_length[-1]:.3g} ≤ 0.0001 at epoch {result.epochs}"
    assert result.history.step_length[-2] > 1e-4


def test_max_epochs(line):
    model, X, y = line
    result = sbp.train(model, X, y, epochs=7, progress=False)
    assert result.stopped_by == "maximum of 7 epochs reached" and result.epochs == 7 == len(result.history)
    result = sbp.train(model, X, y, epochs=50, stop=[sbp.MaxEpochs(3)], progress=False)
    assert result.stopped_by == "maximum of 3 epochs reached"


def test_early_stopping_restores_the_best_epoch():
    # A wide network on few noisy points overfits: the validation loss turns up again.
    rng = np.random.default_rng(1)
    X, X_val = rng.uniform(-1, 1, (12, 1)), rng.uniform(-1, 1, (40, 1))
    y, y_val = np.sin(3 * X[:, 0]) + 0.3 * rng.normal(size=12), np.sin(3 * X_val[:, 0])
    model = compile_scalar(sbp.mlp((1, 16, 1), loss="squared_error"))
    result = sbp.train(model, X, y, optimizer=sbp.optim.Adam(lr=0.05), epochs=3000, init="random", seed=0,
                       stop=[sbp.EarlyStopping(patience=20)], validation=(X_val, y_val), progress=False)
    best = int(np.argmin(result.history.val_loss)) + 1
    assert result.stopped_by == f"early stopping at epoch {best + 20} (best epoch {best})"
    assert model.loss(result.params, X_val, y_val) == pytest.approx(min(result.history.val_loss), rel=1e-12)


def test_early_stopping_min_delta_counts_only_real_improvements():
    history = History(val_loss=[1.0, 0.95, 0.94, 0.935], train_loss=[0] * 4)
    assert sbp.EarlyStopping(patience=2, min_delta=0.02).best_epoch(history) == 2
    assert sbp.EarlyStopping(patience=2, min_delta=0.02).check(history) == "early stopping at epoch 4 (best epoch 2)"
    assert sbp.EarlyStopping(patience=2).check(history) is None


def test_early_stopping_needs_validation_data(line):
    model, X, y = line
    with pytest.raises(SymbackpropError, match="validation"):
        sbp.train(model, X, y, stop=[sbp.EarlyStopping()], progress=False)


def test_divergence_stops_with_epoch_step_and_parameter(line):
    model, X, y = line
    with pytest.warns(TrainingDiverged, match="diverged at epoch"):
        result = sbp.train(model, X, y, optimizer=sbp.optim.GD(lr=50.0), epochs=500, progress=False)
    assert result.diverged and result.stopped_by.startswith("diverged at epoch")
    assert "step" in result.stopped_by and any(p.name in result.stopped_by for p in model.parameters)
    assert result.epochs < 500 and np.isfinite(model.loss(result.params, X, y))


def test_divergence_names_the_first_non_finite_gradient():
    model = compile_scalar(sbp.mlp((1, 1), activation=sbp.tanh, loss="squared_error"))
    X, y = np.array([[1e200], [1.0]]), np.array([1e200, 0.0])
    with pytest.warns(TrainingDiverged):
        result = sbp.train(model, X, y, epochs=5, progress=False)
    assert "epoch 1, step 1" in result.stopped_by and "not finite" in result.stopped_by
    assert np.array_equal(result.params, np.zeros(2))


def test_zero_start_warns_about_symmetric_hidden_units():
    model = compile_scalar(sbp.mlp((2, 3, 1), loss="squared_error"))
    X, y = np.random.default_rng(0).normal(size=(10, 2)), np.ones(10)
    with pytest.warns(SymmetryWarning, match=r"\{a1_1, a1_2, a1_3\}"):
        result = sbp.train(model, X, y, optimizer=sbp.optim.GD(lr=0.1), epochs=20, progress=False)
    # ... and the warning is true: the units' incoming weights are still equal
    weights = {p.name: v for p, v in zip(model.parameters, result.params)}
    assert weights["w1_1_1"] == weights["w1_1_2"] == weights["w1_1_3"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sbp.train(model, X, y, init="random", seed=3, epochs=2, progress=False)
        sbp.train(compile_scalar(sbp.mlp((2, 3), loss="softmax_cross_entropy")), X, np.eye(3)[[0, 1] * 5],
                  epochs=2, progress=False)  # the logits are told apart by their targets


def test_symmetric_units_of_the_lecture_network():
    from symbackprop.numeric.train import symmetric_units

    assert [tuple(map(str, g)) for g in symmetric_units(sbp.lecture_network(loss="squared_error"))] == \
        [("z1", "z2"), ("m1", "m2")]
    assert symmetric_units(sbp.mlp((2, 1), loss="squared_error")) == []


def test_minibatches_match_a_torch_loop_with_the_same_batches():
    graph = sbp.mlp((2, 4, 3), loss="softmax_cross_entropy")
    model = compile_scalar(graph)
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(23, 2)), np.eye(3)[rng.integers(0, 3, 23)]
    start = model.init_params(seed=4)
    result = sbp.train(model, X, Y, optimizer=sbp.optim.Adam(lr=0.02), batch_size=5, epochs=6, seed=11,
                       init=start, progress=False)
    assert result.steps == 6 * 5  # 23 rows in batches of 5: the last partial batch (3 rows) is kept

    loss = torch_mlp_loss(graph)
    P = torch.tensor(start, requires_grad=True)
    optimizer = torch.optim.Adam([P], lr=0.02)
    shuffle = np.random.default_rng(11)
    for _ in range(6):
        for batch in minibatches(len(X), 5, shuffle):
            optimizer.zero_grad()
            loss(P, torch.tensor(X[batch]), torch.tensor(Y[batch])).backward()
            optimizer.step()
    assert relative_error(result.params, P.detach().numpy()) < 1e-10


def test_minibatches_cover_every_row_once_per_epoch():
    batches = list(minibatches(10, 4, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches)) == list(range(10))


def test_history_records_every_epoch(line):
    model, X, y = line
    result = sbp.train(model, X, y, optimizer=sbp.optim.Momentum(lr=0.1, alpha=0.5), epochs=5,
                       validation=(X[:10], y[:10]), progress=False)
    h = result.history
    assert len(h.train_loss) == len(h.val_loss) == len(h.grad_norm) == len(h.step_length) == 5
    assert h.train_loss[-1] == pytest.approx(model.loss(result.params, X, y))
    assert h.val_loss[-1] == pytest.approx(model.loss(result.params, X[:10], y[:10]))
    assert h.train_loss[-1] < h.train_loss[0]


@pytest.mark.parametrize("call, message", [
    (lambda m, X, y: sbp.train(m, X[:, [0, 0]], y), "1 column .x1., not shape .40, 2."),
    (lambda m, X, y: sbp.train(m, X, y[:-1]), "39 rows but X has 40"),
    (lambda m, X, y: sbp.train(m, np.where(X == X[3], np.nan, X), y), "non-finite value.*row 3, column x1"),
    (lambda m, X, y: sbp.train(m, X, y, validation=(X[:, [0, 0]], y)), "X_val"),
    (lambda m, X, y: sbp.train(m, X, y, validation=X), "pair"),
    (lambda m, X, y: sbp.train(m, X, y, batch_size=0), "batch_size"),
    (lambda m, X, y: sbp.train(m, X, y, epochs=2.5), "epochs"),
    (lambda m, X, y: sbp.train(m, X, y, init=np.zeros(5)), "expected 2 parameters"),
    (lambda m, X, y: sbp.train(m, X, y, init="ones"), "init must be"),
])
def test_bad_input_is_a_clear_error_before_any_step(line, call, message):
    model, X, y = line
    with pytest.raises(SymbackpropError, match=message):
        call(model, X, y)


def test_plot_saves_a_png(line, tmp_path):
    model, X, y = line
    result = sbp.train(model, X, y, epochs=5, validation=(X, y), progress=False)
    path = tmp_path / "loss.png"
    ax = result.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [line.get_label() for line in ax.get_lines()] == ["training loss", "validation loss"]


def test_bad_data_error_types_are_data_errors(line):
    model, X, y = line
    with pytest.raises(DataError):
        sbp.train(model, X, y[:, None].repeat(2, axis=1))
