"""Trajectories of the lecture's optimizers on two loss surfaces of two parameters.

GD, Momentum, AdaGrad and Adam start from the same point on a ravine (a long narrow valley,
where GD zig-zags across and Momentum rolls along) and on Rosenbrock's banana-shaped valley:
one panel per surface and optimizer, each with the start (●), the end point (✕, with its loss)
and the minimum (★), and a frame that holds the whole trajectory. Each surface is a symbackprop
graph; its gradient comes from the derived formulas (``symbackprop.numeric.compile``), exactly as
when training a network. Each panel's title gives the update rule.

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
    # name: (Q(w1, w2), start, steps, plotting box (widened to hold every trajectory), minimum, optimizers)
    "ravine  Q = (w1² + 20·w2²)/2": (
        (w1**2 + 20 * w2**2) / 2, (-4.0, 1.0), 60, ((-4.5, 1.0), (-1.3, 1.3)), (0.0, 0.0),
        [optim.GD(lr=0.09), optim.Momentum(lr=0.02, alpha=0.8), optim.AdaGrad(lr=1.0), optim.Adam(lr=0.4)]),
    "Rosenbrock  Q = (1 − w1)² + 100·(w2 − w1²)²": (
        (1 - w1) ** 2 + 100 * (w2 - w1**2) ** 2, (-1.5, 2.0), 1500, ((-2.0, 1.6), (-0.6, 3.0)), (1.0, 1.0),
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


def frame(box, path: np.ndarray, margin: float = 0.05):
    """The plotting box widened to hold the whole trajectory, with a small margin."""
    (left, right), (bottom, top) = box
    left, right = min(left, path[:, 0].min()), max(right, path[:, 0].max())
    bottom, top = min(bottom, path[:, 1].min()), max(top, path[:, 1].max())
    dx, dy = margin * (right - left), margin * (top - bottom)
    return (left - dx, right + dx), (bottom - dy, top + dy)


def draw(ax, surface, model, optimizer, colour: str, start, steps: int, box, minimum) -> np.ndarray:
    """One panel: the contours, the trajectory, its start, end and the minimum; the path drawn."""
    path = trajectory(model, optimizer, start, steps)
    (left, right), (bottom, top) = frame(box, path)
    a, b = np.meshgrid(np.linspace(left, right, 300), np.linspace(bottom, top, 300))
    heights = sp.lambdify((w1, w2), surface, "numpy")(a, b)
    ax.contour(a, b, np.log1p(heights), levels=25, cmap="Greys", linewidths=0.5)
    ax.plot(path[:, 0], path[:, 1], "-", color=colour, marker="." if steps <= 100 else None, markersize=3,
            linewidth=1.5)
    end_loss = model.loss(path[-1], None)
    ax.plot(*start, "o", color="black", markersize=6, label="start")
    ax.plot(*minimum, "*", color="gold", markeredgecolor="black", markersize=16, label="minimum")
    ax.plot(*path[-1], "X", color=colour, markeredgecolor="black", markersize=9,  # on top of the minimum
            label=f"end, Q = {end_loss:.3g}")
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.set_xlabel("w1")
    ax.set_ylabel("w2")
    ax.set_title(f"{optimizer.name} ({hyperparameters(optimizer)})\n{RULES[type(optimizer)]}", fontsize=10)
    ax.legend(fontsize=8, loc="upper right", framealpha=0.9)
    return path


def save(figure, path: str) -> None:
    """Write the PNG atomically (a temporary file beside the target, then a rename)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    write_atomic(path, buffer.getvalue())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="optimizers.png", help="the PNG to write")
    args = parser.parse_args(argv)
    columns = max(len(spec[-1]) for spec in SURFACES.values())
    figure = plt.figure(figsize=(4.4 * columns, 4.6 * len(SURFACES)), layout="constrained")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for part, (title, (surface, start, steps, box, minimum, optimizers)) in zip(
            figure.subfigures(len(SURFACES), 1), SURFACES.items()):
        part.suptitle(f"{title}, {steps} steps", fontsize=12, fontweight="bold")
        model = sbp.compile(sbp.Graph({Q: surface}, parameters=[w1, w2]))
        for ax, optimizer, colour in zip(part.subplots(1, columns), optimizers, colours):
            draw(ax, surface, model, optimizer, colour, start, steps, box, minimum)
    save(figure, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
