"""A tied-weight autoencoder: the decoder uses the encoder's weight matrix transposed.

    h = σ(W x + b)          the code (16 numbers for a 64-pixel digit)
    o = Wᵀ h + c            the reconstruction, through the same W
    L = ‖o − y‖²/2 + λ‖W‖²  with y = x: reconstruct the input; a small L2 penalty

Because ``W`` is used twice, its gradient is the sum of two contributions, one per use, and
the derivation prints them side by side: the encoder's ``(δ_h ⊙ σ'(W x + b)) xᵀ`` and the
decoder's ``h δ_oᵀ`` (plus ``2λ W`` from the penalty). At small shapes one entry is shown as its
path sum, where the two uses are the paths through ``h`` and the direct one into ``o``. Then the
network is trained on scikit-learn's digits and the reconstruction error printed.

    python examples/autoencoder.py                 # 64 → 16 → 64, 40 epochs
    python examples/autoencoder.py --code 8 --epochs 60
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")  # small matrices: one thread is fastest

import argparse  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

import symbackprop as sbp  # noqa: E402

T = sbp.tensor
PENALTY = sp.Symbol("λ")


def autoencoder(pixels: int, code: int) -> sbp.tensor.Graph:
    """The tied autoencoder as a tensor graph (``λ`` gets its value from the metadata)."""
    x, y = T.Tensor("x", pixels), T.Tensor("y", pixels)
    W, b, c = T.Tensor("W", (code, pixels)), T.Tensor("b", code), T.Tensor("c", pixels)
    h, o, L = T.Tensor("h"), T.Tensor("o"), T.Tensor("L")
    return T.Graph({h: T.sigmoid(W @ x + b), o: W.T @ h + c, L: T.squared_error(o, y) + PENALTY * T.squared_norm(W)},
                   inputs=[x], targets=[y], predictions=[o], metadata={"values": {"λ": 1e-4}})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=int, default=16, help="size of the code h")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    print("The backward pass (the tied W collects one term per use):")
    print(T.derive(autoencoder(64, args.code)).text(forward=True), end="\n\n")
    small = T.derive(autoencoder(3, 2))
    print("One entry of ∂L/∂W at 3 → 2 → 3, read off the matrix equation and as the scalar path sum:")
    print(small.entry_text("W_1_2"), end="\n\n")

    from sklearn.datasets import load_digits
    X = load_digits().data / 16.0
    model = sbp.compile(autoencoder(64, args.code))
    params = model.init_params(seed=args.seed)
    before = model.loss(params, X, X)
    result = sbp.train(model, X, X, optimizer=sbp.optim.Adam(lr=1e-2), batch_size=64, epochs=args.epochs,
                       init=params, seed=args.seed)
    reconstruction = model.forward(result.params, X)
    print(f"{len(X)} digits, {model.tensor.size} parameters ({args.code}×64 shared by both layers), "
          f"{result.steps} Adam steps")
    print(f"loss: {before:.4f} before training, {result.history.train_loss[-1]:.4f} after")
    print(f"reconstruction error (mean squared, per pixel): {np.mean((reconstruction - X) ** 2):.4f} "
          f"(predicting the mean image: {np.mean((X.mean(axis=0) - X) ** 2):.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
