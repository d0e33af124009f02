"""Two interleaving half-moons, a (2, 16, 16, 1) network with binary cross-entropy, and a
picture of the decision boundary it learns.

    python examples/moons.py -o moons.png
    python examples/moons.py --activation relu --epochs 300 -o moons_relu.png

The data come from scikit-learn's ``make_moons`` (generated, nothing downloaded); the network is
trained by ``sbp.train`` with Adam on the compiled layer model. The picture shades σ(u) — the
predicted probability of class 1 (the lower moon) — over the plane, draws the 0.5 contour and the
points.
"""

from __future__ import annotations

import argparse
import io
import sys

import numpy as np

import symbackprop as sbp

ACTIVATIONS = {"tanh": sbp.tanh, "relu": sbp.relu}


def moons(samples: int = 400, noise: float = 0.15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    return make_moons(n_samples=samples, noise=noise, random_state=seed)


def draw(model, params, X: np.ndarray, labels: np.ndarray, path: str) -> None:
    """The probability field, the 0.5 boundary and the samples, saved as ``path`` (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from symbackprop.core.atomic import write_atomic

    (x0, y0), (x1, y1) = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
    probability = model.forward(params, np.column_stack([gx.ravel(), gy.ravel()]))[:, 0].reshape(gx.shape)
    figure, ax = plt.subplots(figsize=(6, 4.5))
    ax.contourf(gx, gy, probability, levels=20, cmap="RdBu_r", alpha=0.6)
    ax.contour(gx, gy, probability, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(*X.T, c=labels, cmap="RdBu_r", edgecolors="k", linewidths=0.5, s=18)
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title="decision boundary σ(u) = 0.5")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    plt.close(figure)
    write_atomic(path, buffer.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="moons.png", help="PNG file to write")
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default="tanh")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, labels = moons(seed=args.seed)
    graph = sbp.mlp((2, 16, 16, 1), activation=ACTIVATIONS[args.activation], loss="binary_cross_entropy")
    model = sbp.compile(graph)
    result = sbp.train(model, X, labels.astype(float), optimizer=sbp.optim.Adam(lr=1e-2), batch_size=32,
                       epochs=args.epochs, init="random", seed=args.seed)
    accuracy = np.mean((model.forward(result.params, X)[:, 0] > 0.5) == labels)
    draw(model, result.params, X, labels, args.output)
    print(f"training accuracy {accuracy:.1%} after {result.epochs} epochs; decision boundary: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
