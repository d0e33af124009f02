"""The real-data examples: the digits' training trajectory equals PyTorch's step for step and
reaches 96%; the moons example separates its moons and draws the boundary."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

import symbackprop as sbp
from symbackprop.numeric.train import minibatches
from torch_layers import layer_tensors, logits, per_sample_loss



def example(name: str):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).parent.parent / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


digits = example("digits")

STEPS = 100


def batches(n: int, seed: int) -> list[np.ndarray]:
    """The first ``STEPS`` minibatches in ``sbp.train``'s order (epochs of shuffled batches)."""
    rng, found = np.random.default_rng(seed), []
    while len(found) < STEPS:
        found += list(minibatches(n, digits.BATCH_SIZE, rng))
    return found[:STEPS]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_first_hundred_adam_steps_follow_pytorch(activation):
    X, _, labels, _ = digits.load_split()
    Y = digits.one_hot(labels)
    model = sbp.compile(digits.network(activation))
    names = [p.name for p in model.parameters]
    params = model.init_params(seed=0)
    W, b = layer_tensors(params, names, digits.SIZES)
    adam = sbp.optim.Adam(lr=digits.LEARNING_RATE)
    reference = torch.optim.Adam(W + b, lr=adam.lr, betas=adam.betas, eps=adam.eps)
    state = adam.init(params)
    ours, theirs = [], []
    for batch in batches(len(X), seed=0):
        loss, grad = model.loss_and_gradient(params, X[batch], Y[batch])
        params, state = adam.step(params, grad, state)
        ours.append(loss)
        reference.zero_grad()
        value = per_sample_loss(logits(W, b, X[batch], activation), Y[batch], "softmax_cross_entropy").mean()
        value.backward()
        reference.step()
        theirs.append(value.item())
    ours, theirs = np.array(ours), np.array(theirs)
    assert theirs[-1] < 0.5 * theirs[0]  # it did learn, so the comparison means something
    assert np.max(np.abs(ours - theirs) / np.abs(theirs)) < 1e-9


def test_the_example_reaches_96_percent_on_the_held_out_digits(capsys):
    assert digits.main(["--epochs", "40"]) == 0
    out = capsys.readouterr().out
    assert "δ^(1) = (W^(2))ᵀ δ^(2) ⊙ tanh'(u^(1))" in out
    accuracy = float(out.split("test accuracy")[1].split("%")[0])
    assert accuracy >= 96.0


def test_moons_draws_a_boundary_that_separates_them(tmp_path, capsys):
    picture = tmp_path / "moons.png"
    assert example("moons").main(["--epochs", "60", "-o", str(picture)]) == 0
    assert picture.read_bytes().startswith(b"\x89PNG")
    accuracy = float(capsys.readouterr().out.split("training accuracy")[1].split("%")[0])
    assert accuracy >= 95.0
