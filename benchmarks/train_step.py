"""The time of one training step (a gradient evaluation and an Adam step), against PyTorch.

For the (2,4,1), (8,16,1) and (64,32,10) networks (tanh hidden layers; squared error, and
softmax cross-entropy for the 10 classes), on one batch of 64 rows in float64, each measured
implementation runs the same step on one thread in this process; the table gives microseconds
per step and the ratio to PyTorch eager on the CPU. Each measurement is one function
``measure_<name>(case) -> seconds per step``, listed in ``MEASUREMENTS``.

    python3 benchmarks/train_step.py [--repeat 5]
"""

from __future__ import annotations

import os

# Before numpy and torch load their thread pools.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import timeit  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import symbackprop as sbp  # noqa: E402
from symbackprop.numeric.compile import compile_scalar  # noqa: E402

BATCH = 64
NETWORKS = [((2, 4, 1), "squared_error"), ((8, 16, 1), "squared_error"), ((64, 32, 10), "softmax_cross_entropy")]


@dataclass(frozen=True)
class Case:
    sizes: tuple[int, ...]
    loss: str
    graph: sbp.Graph
    X: np.ndarray
    Y: np.ndarray

    @property
    def label(self) -> str:
        return f"{self.sizes} {self.loss}"


def make_case(sizes, loss, seed: int = 0) -> Case:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(BATCH, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], BATCH)] if loss == "softmax_cross_entropy" \
        else rng.normal(size=(BATCH, sizes[-1]))
    return Case(sizes, loss, sbp.mlp(sizes, activation=sbp.tanh, loss=loss), X, Y)


def seconds_per_call(step, repeat: int) -> float:
    """The best of ``repeat`` rounds, each long enough (≥ 0.2 s) to time reliably."""
    timer = timeit.Timer(step)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number


def symbackprop_step(model: sbp.Model, case: Case):
    optimizer = sbp.optim.Adam(lr=1e-3)
    params = model.init_params(seed=0)
    state = [optimizer.init(params)]

    def step():
        _, grad = model.loss_and_gradient(params, case.X, case.Y)
        _, state[0] = optimizer.step(params, grad, state[0])

    return step


def measure_scalar(case: Case, repeat: int) -> float:
    """The scalar compiled path: one NumPy line per node and adjoint (``compile_scalar``)."""
    return seconds_per_call(symbackprop_step(compile_scalar(case.graph), case), repeat)


def measure_torch(case: Case, repeat: int) -> float:
    """PyTorch eager: ``nn.Linear`` layers with tanh between them, autograd, ``torch.optim.Adam``."""
    layers = []
    for fan_in, fan_out in zip(case.sizes, case.sizes[1:]):
        layers += [torch.nn.Linear(fan_in, fan_out, dtype=torch.float64), torch.nn.Tanh()]
    network = torch.nn.Sequential(*layers[:-1])
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
    X, Y = torch.tensor(case.X), torch.tensor(case.Y)
    if case.loss == "softmax_cross_entropy":
        def loss(output):
            return torch.nn.functional.cross_entropy(output, Y)
    else:
        def loss(output):
            return ((output - Y) ** 2).sum(dim=1).mean() / 2

    def step():
        optimizer.zero_grad()
        loss(network(X)).backward()
        optimizer.step()

    return seconds_per_call(step, repeat)


def measure_layers(case: Case, repeat: int) -> float:
    """The matrix path ``compile`` takes for dense layers: one matmul per layer and direction."""
    return seconds_per_call(symbackprop_step(sbp.compile(case.graph), case), repeat)


def measure_hand_numpy(case: Case, repeat: int) -> float:
    """Backprop and Adam written by hand in NumPy: W and b views of one flat vector, as one would."""
    shapes = list(zip(case.sizes[1:], case.sizes))
    total = sum(n * m + n for n, m in shapes)
    params, grad = np.random.default_rng(0).uniform(-0.1, 0.1, total), np.empty(total)
    m, v, t = np.zeros(total), np.zeros(total), [0]

    def views(flat):
        out, k = [], 0
        for n, fan_in in shapes:
            out.append((flat[k:k + n * fan_in].reshape(n, fan_in), flat[k + n * fan_in:k + n * fan_in + n]))
            k += n * fan_in + n
        return out

    layers, grads = views(params), views(grad)

    def step():
        activations = [case.X]
        for W, b in layers[:-1]:
            activations.append(np.tanh(activations[-1] @ W.T + b))
        z = activations[-1] @ layers[-1][0].T + layers[-1][1]
        if case.loss == "softmax_cross_entropy":  # the loss too: a gradient step reports it
            shifted = z - z.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            total = e.sum(axis=1, keepdims=True)
            loss = (np.log(total).sum() - np.vdot(case.Y, shifted)) / len(case.X)
            z = e / total
        else:
            loss = 0.5 * np.vdot(z - case.Y, z - case.Y) / len(case.X)
        delta = (z - case.Y) / len(case.X)
        for l in range(len(layers) - 1, -1, -1):
            np.matmul(delta.T, activations[l], out=grads[l][0])
            grads[l][1][:] = delta.sum(axis=0)
            if l:
                delta = (delta @ layers[l][0]) * (1 - activations[l] ** 2)
        t[0] += 1
        m[:] = 0.9 * m + 0.1 * grad
        v[:] = 0.999 * v + 0.001 * grad * grad
        return loss, params - (1e-3 / (1 - 0.9 ** t[0])) * m / (np.sqrt(v) / np.sqrt(1 - 0.999 ** t[0]) + 1e-8)

    return seconds_per_call(step, repeat)


def layer_targets(repeat: int) -> None:
    """The layer path's two targets on (64, 32, 10), measured again in interleaved rounds (the
    best round of each), so that a machine busy with other work slows all three alike."""
    case = make_case((64, 32, 10), "softmax_cross_entropy")
    measures = (measure_layers, measure_hand_numpy, measure_torch)
    layers, hand, reference = (min(rounds) for rounds in zip(*[[m(case, 1) for m in measures]
                                                              for _ in range(max(repeat, 3))]))
    print(f"(64, 32, 10): layers / hand NumPy = {layers / hand:.2f} (target ≤ 1.25); "
          f"PyTorch / layers = {reference / layers:.2f} (target ≥ 2.5)")


MEASUREMENTS = {"symbackprop scalar": measure_scalar, "symbackprop layers": measure_layers,
                "hand-written NumPy": measure_hand_numpy}  # name → measure(case, repeat); PyTorch is the reference


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timing rounds per measurement (best is kept)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
        one_thread = threadpool_limits(limits=1)
    except ImportError:  # the environment variables above already asked for one thread
        one_thread = contextlib.nullcontext()
    print(f"one gradient evaluation + one Adam step, batch {BATCH}, float64, one thread; "
          f"PyTorch {torch.__version__} eager CPU as the reference")
    print(f"{'network':34} {'implementation':22} {'µs/step':>10} {'× PyTorch':>10}")
    with one_thread:
        for sizes, loss in NETWORKS:
            case = make_case(sizes, loss)
            reference = measure_torch(case, args.repeat)
            print(f"{case.label:34} {'PyTorch eager':22} {reference * 1e6:10.1f} {1.0:10.2f}")
            for name, measure in MEASUREMENTS.items():
                seconds = measure(case, args.repeat)
                print(f"{'':34} {name:22} {seconds * 1e6:10.1f} {seconds / reference:10.2f}")
        layer_targets(args.repeat)

if __name__ == "__main__":
    main()
