"""Train a (64, 32, 10) network on scikit-learn's bundled handwritten digits and print its test accuracy.

The digits (8×8 images, 1,797 of them) ship with scikit-learn, so nothing is downloaded. The
network is ``mlp((64, 32, 10))`` with softmax cross-entropy; ``sbp.compile`` recognises its dense
layers and runs the matrix equations of ``derive_layers`` (printed first), and ``sbp.train`` runs
Adam on minibatches. A fixed 25% of the digits (stratified, ``random_state=0``) is held out.

    python examples/digits.py                      # tanh, 40 epochs
    python examples/digits.py --activation relu --epochs 30 --seed 1
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import symbackprop as sbp

SIZES = (64, 32, 10)
LEARNING_RATE = 1e-2
BATCH_SIZE = 64
ACTIVATIONS = {"tanh": sbp.tanh, "relu": sbp.relu}


def load_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``X_train, X_test, labels_train, labels_test``: pixels scaled to [0, 1], a fixed 25% test split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    return train_test_split(digits.data / 16.0, digits.target, test_size=0.25, random_state=0,
                            stratify=digits.target)


def one_hot(labels: np.ndarray, classes: int = SIZES[-1]) -> np.ndarray:
    return np.eye(classes)[labels]


def network(activation: str = "tanh") -> sbp.Graph:
    return sbp.mlp(SIZES, activation=ACTIVATIONS[activation], loss="softmax_cross_entropy")


def fit(model, X: np.ndarray, labels: np.ndarray, epochs: int, seed: int, lr: float = LEARNING_RATE,
        batch_size: int = BATCH_SIZE) -> tuple:
    """Adam on shuffled minibatches from a seeded random start: the result and the seconds it took."""
    start = time.perf_counter()
    result = sbp.train(model, X, one_hot(labels), optimizer=sbp.optim.Adam(lr=lr), batch_size=batch_size,
                       epochs=epochs, init="random", seed=seed)
    return result, time.perf_counter() - start


def accuracy(model, params: np.ndarray, X: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(model.forward(params, X).argmax(axis=1) == labels))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default="tanh")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0, help="initialization and minibatch order")
    args = parser.parse_args(argv)

    X_train, X_test, labels_train, labels_test = load_split()
    graph = network(args.activation)
    print(sbp.derive_layers(graph).text(forward=True), end="\n\n")
    model = sbp.compile(graph)
    result, seconds = fit(model, X_train, labels_train, args.epochs, args.seed)
    print(f"{len(X_train)} training digits, {result.steps} Adam steps in {seconds:.2f} s; "
          f"final training loss {result.history.train_loss[-1]:.4f}")
    print(f"train accuracy {accuracy(model, result.params, X_train, labels_train):.2%}")
    print(f"test accuracy  {accuracy(model, result.params, X_test, labels_test):.2%} "
          f"({len(X_test)} held-out digits)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
