"""Wall time to 96% test accuracy on the digits: symbackprop's layer model against PyTorch eager,
the same training in the same run (same initialization, minibatches and Adam), on one thread.

    python benchmarks/digits.py [--activation relu] [--target 0.96]

Both loops check the held-out accuracy after every epoch and stop at the target; the time of
``sbp.train`` for the same number of epochs (which also records the loss and gradient norm on
the whole training set each epoch) is printed as well.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # before NumPy loads its BLAS

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import symbackprop as sbp  # noqa: E402
from symbackprop.numeric.train import minibatches  # noqa: E402

torch.set_num_threads(1)
_spec = importlib.util.spec_from_file_location("digits", Path(__file__).parent.parent / "examples" / "digits.py")
digits = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(digits)
MAX_EPOCHS = 200


def ours(model, params, X, Y, X_test, labels_test, target, seed):
    adam = sbp.optim.Adam(lr=digits.LEARNING_RATE)
    state, rng = adam.init(params), np.random.default_rng(seed)
    for epoch in range(1, MAX_EPOCHS + 1):
        for batch in minibatches(len(X), digits.BATCH_SIZE, rng):
            _, grad = model.loss_and_gradient(params, X[batch], Y[batch])
            params, state = adam.step(params, grad, state)
        if digits.accuracy(model, params, X_test, labels_test) >= target:
            return epoch
    return None


def pytorch(model, params, X, Y, X_test, labels_test, target, seed, activation):
    """The same network as ``torch.nn`` layers, initialized with the same numbers."""
    names = [p.name for p in model.parameters]
    position = {name: k for k, name in enumerate(names)}
    sizes = digits.SIZES
    layers = []
    for l in range(1, len(sizes)):
        layer = torch.nn.Linear(sizes[l - 1], sizes[l], dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.tensor([[params[position[f"w{l}_{i}_{j}"]] for i in range(1, sizes[l - 1] + 1)]
                                             for j in range(1, sizes[l] + 1)]))
            layer.bias.copy_(torch.tensor([params[position[f"b{l}_{j}"]] for j in range(1, sizes[l] + 1)]))
        layers.append(layer)
    hidden = torch.nn.Tanh() if activation == "tanh" else torch.nn.ReLU()
    net = torch.nn.Sequential(layers[0], hidden, layers[1])
    optimizer = torch.optim.Adam(net.parameters(), lr=digits.LEARNING_RATE)
    Xt, labels, X_test_t = torch.tensor(X), torch.tensor(Y.argmax(axis=1)), torch.tensor(X_test)
    rng = np.random.default_rng(seed)
    for epoch in range(1, MAX_EPOCHS + 1):
        for batch in minibatches(len(X), digits.BATCH_SIZE, rng):
            index = torch.from_numpy(batch)
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(Xt[index]), labels[index]).backward()
            optimizer.step()
        with torch.no_grad():
            if (net(X_test_t).argmax(dim=1).numpy() == labels_test).mean() >= target:
                return epoch
    return None


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activation", choices=sorted(digits.ACTIVATIONS), default="tanh")
    parser.add_argument("--target", type=float, default=0.96)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    X, X_test, labels, labels_test = digits.load_split()
    Y = digits.one_hot(labels)
    model = sbp.compile(digits.network(args.activation))
    params = model.init_params(seed=args.seed)
    common = (model, params, X, Y, X_test, labels_test, args.target, args.seed)
    warm_up = (model, params, X, Y, X_test, labels_test, 0.0, args.seed)  # one epoch: first-call costs
    ours(*warm_up), pytorch(*warm_up, args.activation)
    ours_epochs, ours_seconds = timed(ours, *common)
    torch_epochs, torch_seconds = timed(pytorch, *common, args.activation)
    print(f"digits {digits.SIZES} {args.activation}, Adam lr={digits.LEARNING_RATE}, batch {digits.BATCH_SIZE}, "
          f"one thread: wall time to {args.target:.0%} test accuracy")
    print(f"  symbackprop layers  {ours_seconds:7.3f} s  ({ours_epochs} epochs)")
    print(f"  PyTorch eager       {torch_seconds:7.3f} s  ({torch_epochs} epochs)")
    print(f"  PyTorch / ours      {torch_seconds / ours_seconds:7.2f}")
    if ours_epochs:
        _, train_seconds = timed(lambda: sbp.train(model, X, Y, optimizer=sbp.optim.Adam(lr=digits.LEARNING_RATE),
                                                   batch_size=digits.BATCH_SIZE, epochs=ours_epochs, init=params,
                                                   seed=args.seed, progress=False))
        print(f"  sbp.train, {ours_epochs} epochs  {train_seconds:7.3f} s  (also evaluates the full training set each epoch)")


if __name__ == "__main__":
    main()
