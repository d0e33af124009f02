"""One training step (gradient + Adam) of tensor graphs, against the floor and the references.

Everything runs on one thread (and the process on one core) in this process, float32, in
interleaved rounds (each round times every implementation once; the figure is the median of
the per-round ratios), with glibc told to keep freed memory (so that no implementation pays for
page faults on every step's temporaries):

1. ``mlp((784, 128, 10))``, batch 256: our step / its five matrix products alone (the floor:
   ``x Wᵀ``, ``a Wᵀ`` forward, ``δᵀa``, ``δ W``, ``δᵀx`` backward, on the same shapes); then,
   when JAX and optax are installed (``pip install -e ".[bench]"``), the same step as a JAX user
   writes it (``jax.value_and_grad`` and ``optax.adam`` in one ``jax.jit``, the state donated) /
   ours (``model.training_step`` of the derived equations compiled with ``backend="jax"``, and
   with NumPy);
2. a network with a skip connection and a weight shared by two layers, at ~400 and ~100k
   parameters, batch 64: PyTorch eager (autograd, ``torch.optim.Adam``) / ours;
3. the CNN of ``examples/conv_digits.py`` (``examples/tensor/cnn.sbp``), batch 32: PyTorch eager / ours.

    python3 benchmarks/tensor_step.py [--rounds 9]
"""

from __future__ import annotations

import os

from same_footing import KEPT  # one thread, one core, freed memory kept: before numpy and torch load

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import functools  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import symbackprop as sbp  # noqa: E402

T = sbp.tensor
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DTYPE = np.float32


# -- the steps --------------------------------------------------------------------------------------

def ours(graph, X, Y, backend: str = "numpy"):
    """One gradient and one Adam step of the compiled tensor graph (``model.training_step``:
    NumPy updating the parameters and Adam's moments in place, or one ``jax.jit`` program)."""
    model = sbp.compile(graph, dtype=DTYPE, backend=backend)
    step = model.training_step(sbp.optim.Adam(lr=1e-3))
    state = [step.init(model.init_params(seed=0))]
    X, Y = X.astype(DTYPE), Y.astype(DTYPE)

    def one_step():
        loss, state[0] = step(state[0], X, Y)
        float(loss)  # wait for it, as the other implementations do

    return one_step


def matmul_floor(X):
    """The five matrix products of a (784, 128, 10) step, nothing else."""
    rng = np.random.default_rng(0)
    W1, W2 = rng.normal(size=(128, 784)).astype(DTYPE), rng.normal(size=(10, 128)).astype(DTYPE)
    X = X.astype(DTYPE)
    a1, delta2 = np.empty((len(X), 128), DTYPE), rng.normal(size=(len(X), 10)).astype(DTYPE)
    out2, delta1, out1 = np.empty((10, 128), DTYPE), np.empty((len(X), 128), DTYPE), np.empty((128, 784), DTYPE)
    z = np.empty((len(X), 10), DTYPE)

    def step():
        np.matmul(X, W1.T, out=a1)
        np.matmul(a1, W2.T, out=z)
        np.matmul(delta2.T, a1, out=out2)
        np.matmul(delta2, W2, out=delta1)
        np.matmul(delta1.T, X, out=out1)

    return step


def jax_step(sizes, X, Y):
    """The same network's step written the usual JAX way: autodiff (``jax.value_and_grad``)
    and ``optax.adam`` in one ``jax.jit`` program, parameters and optimizer state donated."""
    import jax
    import jax.numpy as jnp
    import optax

    key = jax.random.PRNGKey(0)
    params = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        key, k1 = jax.random.split(key)
        params.append((jax.random.uniform(k1, (fan_out, fan_in), jnp.float32, -0.05, 0.05), jnp.zeros(fan_out)))

    def loss(params, x, y):
        a = x
        for W, b in params[:-1]:
            a = jnp.tanh(a @ W.T + b)
        W, b = params[-1]
        return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(a @ W.T + b), axis=-1))

    optimizer = optax.adam(1e-3)

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def update(params, opt_state, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return value, optax.apply_updates(params, updates), opt_state

    state = [params, optimizer.init(params)]
    X, Y = X.astype(DTYPE), Y.astype(DTYPE)

    def one_step():
        value, state[0], state[1] = update(state[0], state[1], X, Y)
        float(value)

    one_step()  # compile
    return one_step


def torch_step(module_and_loss, X, Y):
    """PyTorch eager: forward, autograd, ``torch.optim.Adam``."""
    module, loss = module_and_loss
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    x, y = torch.tensor(X, dtype=torch.float32), torch.tensor(Y, dtype=torch.float32)

    def step():
        optimizer.zero_grad()
        loss(module, x, y).backward()
        optimizer.step()

    return step


# -- the networks --------------------------------------------------------------------------------------

def skip_shared(inputs: int, hidden: int, classes: int = 4):
    """h1 = tanh(W1 x + b1); h2 = tanh(W2 h1 + b2) + h1; h3 = tanh(W2 h2 + b3) + h2 (W2 twice);
    z = V h3 + c, softmax cross-entropy."""
    x, y = T.Tensor("x", inputs), T.Tensor("y", classes)
    W1, W2, V = T.Tensor("W1", (hidden, inputs)), T.Tensor("W2", (hidden, hidden)), T.Tensor("V", (classes, hidden))
    h1, h2, h3, z, L = (T.Tensor(n) for n in "h1 h2 h3 z L".split())
    return T.Graph({h1: T.tanh(W1 @ x + T.Tensor("b1", hidden)), h2: T.tanh(W2 @ h1 + T.Tensor("b2", hidden)) + h1,
                    h3: T.tanh(W2 @ h2 + T.Tensor("b3", hidden)) + h2, z: V @ h3 + T.Tensor("c", classes),
                    L: T.softmax_cross_entropy(z, y)}, inputs=[x], targets=[y], predictions=[z])


class TorchSkipShared(torch.nn.Module):
    def __init__(self, inputs, hidden, classes=4):
        super().__init__()
        self.first, self.shared = torch.nn.Linear(inputs, hidden), torch.nn.Linear(hidden, hidden, bias=False)
        self.b2, self.b3 = torch.nn.Parameter(torch.zeros(hidden)), torch.nn.Parameter(torch.zeros(hidden))
        self.out = torch.nn.Linear(hidden, classes)

    def forward(self, x):
        h1 = torch.tanh(self.first(x))
        h2 = torch.tanh(self.shared(h1) + self.b2) + h1
        h3 = torch.tanh(self.shared(h2) + self.b3) + h2
        return self.out(h3)


class TorchCNN(torch.nn.Module):
    """``examples/tensor/cnn.sbp`` in PyTorch."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.Conv2d(16, 16, 3, padding=1)
        self.out = torch.nn.Linear(256, 10)

    def forward(self, x):
        h = torch.relu(self.conv2(torch.relu(self.conv1(x.reshape(-1, 1, 8, 8)))))
        return self.out(torch.nn.functional.max_pool2d(h, 2).flatten(1))


def cross_entropy(module, x, y):
    return torch.nn.functional.cross_entropy(module(x), y.argmax(dim=1))


def data(inputs: int, classes: int, batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch, inputs)), np.eye(classes)[rng.integers(0, classes, batch)]


# -- timing --------------------------------------------------------------------------------------------

def per_call(step, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - start) / calls


def calibrated(step) -> int:
    """Calls that take about 0.1 s."""
    step()
    calls = 1
    while per_call(step, calls) * calls < 0.1:
        calls *= 2
    return calls


def ratios(steps: dict, reference: str, rounds: int) -> tuple[dict, dict]:
    """Median seconds per step of each implementation and the median per-round ratio to ``reference``."""
    calls = {name: calibrated(step) for name, step in steps.items()}
    seconds: dict = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            seconds[name].append(per_call(step, calls[name]))
    ratio = {name: statistics.median(s / r for s, r in zip(seconds[name], seconds[reference])) for name in steps}
    return {name: statistics.median(s) for name, s in seconds.items()}, ratio


def report(title: str, steps: dict, reference: str, rounds: int) -> dict:
    seconds, ratio = ratios(steps, reference, rounds)
    print(title)
    for name in steps:
        print(f"    {name:34} {seconds[name] * 1e6:10.1f} µs   {ratio[name]:6.2f} × {reference}")
    return ratio


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"one gradient + one Adam step, float32, one thread, median of {args.rounds} interleaved rounds"
          + ("; freed memory kept in the heap (mallopt), for every implementation" if KEPT else ""))

    X, Y = data(784, 10, 256)
    dense = sbp.mlp((784, 128, 10), loss="softmax_cross_entropy")
    ratio = report("(784, 128, 10), batch 256:", {"symbackprop": ours(dense, X, Y),
                                                  "matrix products alone": matmul_floor(X)},
                   "matrix products alone", args.rounds)
    print(f"  → ours / its matrix products = {ratio['symbackprop']:.2f} (target ≤ 1.3)")
    try:
        steps = {"JAX: value_and_grad + optax, jit": jax_step((784, 128, 10), X, Y),
                 "symbackprop, backend='jax'": ours(dense, X, Y, "jax"),
                 "symbackprop, NumPy": ours(dense, X, Y)}
    except ImportError as missing:
        print(f"    ({missing.name} is not installed: pip install -e '.[bench]')")
    else:
        ratio = report("the same step, against JAX:", steps, "JAX: value_and_grad + optax, jit", args.rounds)
        with_jax, with_numpy = ratio["symbackprop, backend='jax'"], ratio["symbackprop, NumPy"]
        print(f"  → JAX jit / ours = {1 / with_jax:.2f} with backend='jax', {1 / with_numpy:.2f} with NumPy (target ≥ 1)")

    for inputs, hidden in ((8, 14), (64, 290)):
        graph = skip_shared(inputs, hidden)
        X, Y = data(inputs, 4, 64)
        module = TorchSkipShared(inputs, hidden)
        ratio = report(f"skip connection + shared weight, {graph.size:,} parameters, batch 64:",
                       {"symbackprop": ours(graph, X, Y), "PyTorch eager": torch_step((module, cross_entropy), X, Y)},
                       "symbackprop", args.rounds)
        print(f"  → PyTorch eager / ours = {ratio['PyTorch eager']:.2f} (target ≥ 1)")

    cnn = sbp.load(EXAMPLES / "tensor" / "cnn.sbp")
    X, Y = data(64, 10, 32)
    ratio = report(f"the CNN of conv_digits.py, {cnn.tensor.size:,} parameters, batch 32:",
                   {"symbackprop": ours(cnn, X, Y), "PyTorch eager": torch_step((TorchCNN(), cross_entropy), X, Y)},
                   "symbackprop", args.rounds)
    print(f"  → PyTorch eager / ours = {ratio['PyTorch eager']:.2f} (target ≥ 1)")


if __name__ == "__main__":
    main()
