"""Train a small convolutional network on scikit-learn's digits and print its test accuracy.

The network is ``examples/tensor/cnn.sbp`` (two 3×3 convolutions with 16 channels and zero padding,
each with a ReLU, 2×2 max pooling, a dense layer to 10 classes, softmax cross-entropy), read as
a tensor graph; its backward pass is derived as δ equations (printed first: ``∂L/∂K1 = x ⋆
δ_u1``, ``δ_h1 = δ_u2 ∗ rot180(K2)``, the routing of max pooling) and compiled to vectorized
NumPy, which ``sbp.train`` runs with Adam on one thread. The split is ``examples/digits.py``'s: a
fixed, stratified 25% of the 1,797 digits is held out.

    python examples/conv_digits.py                 # 30 epochs, seed 0
    python examples/conv_digits.py --epochs 40 --seed 1 --float32
"""

from __future__ import annotations

import os

# Small matrices: one thread is fastest (several threads on a busy machine are far slower).
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import symbackprop as sbp  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from digits import accuracy, fit, load_split  # noqa: E402  (the same data, split and training loop)

LEARNING_RATE = 3e-3
BATCH_SIZE = 32


def network() -> sbp.Graph:
    return sbp.load(HERE / "tensor" / "cnn.sbp")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0, help="initialization and minibatch order")
    parser.add_argument("--float32", action="store_true", help="train in float32")
    args = parser.parse_args(argv)

    X_train, X_test, labels_train, labels_test = load_split()
    graph = network()
    print(sbp.tensor.derive(graph).text(forward=True), end="\n\n")
    model = sbp.compile(graph, dtype=np.float32 if args.float32 else np.float64)
    result, seconds = fit(model, X_train, labels_train, args.epochs, args.seed, LEARNING_RATE, BATCH_SIZE)
    print(f"{len(X_train)} training digits, {model.tensor.size} parameters, {result.steps} Adam steps "
          f"in {seconds:.1f} s; final training loss {result.history.train_loss[-1]:.4f}")
    print(f"train accuracy: {accuracy(model, result.params, X_train, labels_train):.4f}")
    print(f"test accuracy: {accuracy(model, result.params, X_test, labels_test):.4f} "
          f"({len(X_test)} held-out digits)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
