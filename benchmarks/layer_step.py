"""One Adam step (gradient + update) of a dense network: the compiled layer model against
hand-written NumPy backprop and PyTorch eager, all in this run, on one thread.

    python benchmarks/layer_step.py                 # (64, 32, 10), batch 64, float64
    python benchmarks/layer_step.py --sizes 64 128 10 --batch 256

Prints milliseconds per step (best of several rounds, contenders interleaved so that a busy
machine slows them alike) and the ratios: ours / hand NumPy (target ≤ 1.25) and
PyTorch / ours (target ≥ 2.5).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # before NumPy loads its BLAS

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import symbackprop as sbp  # noqa: E402

torch.set_num_threads(1)
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8


def data(sizes, batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, sizes[0]))
    return X, np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]


def ours(sizes, X, Y):
    model = sbp.compile(sbp.mlp(sizes, activation=sbp.tanh, loss="softmax_cross_entropy"))
    adam = sbp.optim.Adam(lr=LR, betas=BETAS, eps=EPS)
    params = model.init_params(seed=0)
    state = adam.init(params)

    def step():
        nonlocal params, state
        _, grad = model.loss_and_gradient(params, X, Y)
        params, state = adam.step(params, grad, state)

    return step


def hand_numpy(sizes, X, Y):
    """Backprop and Adam as one writes them by hand: a flat vector with W, b views per layer."""
    shapes = [(sizes[l], sizes[l - 1]) for l in range(1, len(sizes))]
    total = sum(n * m + n for n, m in shapes)
    params, m, v = np.random.default_rng(0).normal(size=total) * 0.1, np.zeros(total), np.zeros(total)
    t = 0

    def views(flat):
        out, k = [], 0
        for n, fan_in in shapes:
            W = flat[k:k + n * fan_in].reshape(n, fan_in)
            b = flat[k + n * fan_in:k + n * fan_in + n]
            out.append((W, b))
            k += n * fan_in + n
        return out

    def step():
        nonlocal params, m, v, t
        layers, grad = views(params), np.empty_like(params)
        grads = views(grad)
        activations = [X]
        for W, b in layers[:-1]:
            activations.append(np.tanh(activations[-1] @ W.T + b))
        z = activations[-1] @ layers[-1][0].T + layers[-1][1]
        z = np.exp(z - z.max(axis=1, keepdims=True))
        delta = (z / z.sum(axis=1, keepdims=True) - Y) / len(X)
        for l in range(len(layers) - 1, -1, -1):
            np.matmul(delta.T, activations[l], out=grads[l][0])
            grads[l][1][:] = delta.sum(axis=0)
            if l:
                delta = (delta @ layers[l][0]) * (1 - activations[l] ** 2)
        t += 1
        m = BETAS[0] * m + (1 - BETAS[0]) * grad
        v = BETAS[1] * v + (1 - BETAS[1]) * grad * grad
        params = params - (LR / (1 - BETAS[0] ** t)) * m / (np.sqrt(v) / np.sqrt(1 - BETAS[1] ** t) + EPS)

    return step


def pytorch(sizes, X, Y):
    layers = [torch.nn.Linear(sizes[l - 1], sizes[l], dtype=torch.float64) for l in range(1, len(sizes))]
    net = torch.nn.Sequential(*[m for layer in layers[:-1] for m in (layer, torch.nn.Tanh())], layers[-1])
    optimizer = torch.optim.Adam(net.parameters(), lr=LR, betas=BETAS, eps=EPS)
    Xt, labels = torch.tensor(X), torch.tensor(Y.argmax(axis=1))

    def step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(Xt), labels).backward()
        optimizer.step()

    return step


def best_ms_per_step(steps: dict, n: int, rounds: int) -> dict[str, float]:
    best = {name: float("inf") for name in steps}
    for step in steps.values():
        for _ in range(n // 5 + 10):  # warm-up
            step()
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(n):
                step()
            best[name] = min(best[name], (time.perf_counter() - start) / n * 1e3)
    return best


def compare(sizes=(64, 32, 10), batch: int = 64, n: int = 300, rounds: int = 15) -> dict[str, float]:
    """Milliseconds per gradient+Adam step for the three contenders, and the two ratios, printed."""
    X, Y = data(sizes, batch)
    timings = best_ms_per_step({"symbackprop layers": ours(sizes, X, Y), "hand NumPy": hand_numpy(sizes, X, Y),
                                "PyTorch eager": pytorch(sizes, X, Y)}, n, rounds)
    print(f"gradient + Adam step, sizes {sizes}, batch {batch}, float64, one thread (best of {rounds}×{n} steps)")
    for name, ms in timings.items():
        print(f"  {name:20s} {ms:8.4f} ms")
    ratio_hand = timings["symbackprop layers"] / timings["hand NumPy"]
    ratio_torch = timings["PyTorch eager"] / timings["symbackprop layers"]
    print(f"  ours / hand NumPy    {ratio_hand:8.2f}   (target ≤ 1.25)")
    print(f"  PyTorch / ours       {ratio_torch:8.2f}   (target ≥ 2.5)")
    return {**timings, "ours/hand": ratio_hand, "torch/ours": ratio_torch}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 32, 10])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    compare(tuple(args.sizes), args.batch, rounds=args.rounds)
