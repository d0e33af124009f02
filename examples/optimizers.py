"""Trajectories of the lecture's optimizers on two loss surfaces of two parameters.

GD, Momentum, AdaGrad and Adam start from the same point on a ravine (a long narrow valley,
where GD zig-zags across and Momentum rolls along) and on Rosenbrock's banana-shaped valley.
Each surface is a symbackprop graph; its gradient comes from the derived formulas
(``symbackprop.numeric.compile``), exactly as when training a network. The update rule of each optimizer
is in the legend.

    python3 examples/optimizers.py -o optimizers.png
"""

from __future__ import annotations

import argparse
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the Agg backend)
import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

import symbackprop as sbp  # noqa: E402
from symbackprop import optim  # noqa: E402
from symbackprop.core.atomic import write_atomic  # noqa: E402

w1, w2, Q = sp.symbols("w1 w2 Q")

SURFACES = {
    # name: (Q(w1, w2), start, steps, plotting box, optimizers)
    "ravine  Q = (w1² + 20·w2²)/2": (
        (w1**2 + 20 * w2**2) / 2, (-4.0, 1.0), 60, ((-4.5, 1.0), (-1.3, 1.3)),
        [optim.GD(lr=0.09), optim.Momentum(lr=0.02, alpha=0.8), optim.AdaGrad(lr=1.0), optim.Adam(lr=0.4)]),
    "Rosenbrock  Q = (1 − w1)² + 100·(w2 − w1²)²": (
        (1 - w1) ** 2 + 100 * (w2 - w1**2) ** 2, (-1.5, 2.0), 1500, ((-2.0, 1.6), (-0.6, 3.0)),
        [optim.GD(lr=4e-4), optim.Momentum(lr=2e-4, alpha=0.9), optim.AdaGrad(lr=0.3), optim.Adam(lr=0.02)]),
}

RULES = {
    optim.GD: r"$w \leftarrow w - \eta\nabla Q$",
    optim.Momentum: r"$h \leftarrow \alpha h + \eta\nabla Q,\ w \leftarrow w - h$",
    optim.AdaGrad: r"$G \leftarrow G + g^2,\ w \leftarrow w - \eta g/\sqrt{G+\varepsilon}$",
    optim.Adam: r"$w \leftarrow w - \gamma\,\hat m/(\sqrt{\hat v}+\varepsilon)$",
}


def trajectory(model: sbp.Model, optimizer, start, steps: int) -> np.ndarray:
    """The points the optimizer visits, from the compiled gradient of the surface."""
    params = np.array(start)
    state = optimizer.init(params)
    points = [params]
    for _ in range(steps):
        _, grad = model.loss_and_gradient(params, None)  # no data: Q(w1, w2)
        params, state = optimizer.step(params, grad, state)
        points.append(params)
    return np.array(points)


def hyperparameters(optimizer) -> str:
    shown = {"lr": "η", "alpha": "α"}
    return ", ".join(f"{symbol}={getattr(optimizer, name):g}" for name, symbol in shown.items()
                     if hasattr(optimizer, name))


def draw(ax, title: str, surface, start, steps: int, box, optimizers) -> None:
    model = sbp.compile(sbp.Graph({Q: surface}, parameters=[w1, w2]))
    (left, right), (bottom, top) = box
    a, b = np.meshgrid(np.linspace(left, right, 300), np.linspace(bottom, top, 300))
    heights = sp.lambdify((w1, w2), surface, "numpy")(a, b)
    ax.contour(a, b, np.log1p(heights), levels=25, cmap="Greys", linewidths=0.6)
    for optimizer, style in zip(optimizers, ["-", "--", "-.", ":"]):
        path = trajectory(model, optimizer, start, steps)
        label = f"{optimizer.name} ({hyperparameters(optimizer)}): {RULES[type(optimizer)]}"
        ax.plot(path[:, 0], path[:, 1], style, marker="." if steps <= 100 else None, markersize=3,
                linewidth=1.5, label=label)
    ax.plot(*start, "ko")
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.set_xlabel("w1")
    ax.set_ylabel("w2")
    ax.set_title(f"{title}, {steps} steps", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")


def save(figure, path: str) -> None:
    """Write the PNG atomically (a temporary file beside the target, then a rename)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    write_atomic(path, buffer.getvalue())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="optimizers.png", help="the PNG to write")
    args = parser.parse_args(argv)
    figure, axes = plt.subplots(1, 2, figsize=(15, 6))
    for ax, (title, (surface, start, steps, box, optimizers)) in zip(axes, SURFACES.items()):
        draw(ax, title, surface, start, steps, box, optimizers)
    figure.tight_layout()
    save(figure, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
