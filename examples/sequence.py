"""Train a recurrent network on running parity and print its accuracy.

Each sequence is T random bits; at every step the network outputs the parity of the bits so far
(the last step's answer is the parity of the whole sequence). The network is unrolled over T
steps (``sbp.tensor.elman_rnn``, ``gru`` or ``lstm``), its backward pass is derived as backprop
through time (printed first, read at a generic step t), compiled to NumPy by ``sbp.compile`` and
trained with Adam by ``sbp.train``; nothing else computes a gradient.

    python examples/sequence.py                    # GRU, T = 12
    python examples/sequence.py --cell rnn --steps 16 --epochs 30
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import symbackprop as sbp
from symbackprop.render.recurrence import bptt_text

CELLS = {"rnn": sbp.tensor.elman_rnn, "gru": sbp.tensor.gru, "lstm": sbp.tensor.lstm}
HIDDEN = 16


def running_parity(count: int, steps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X`` (a bit per step), one-hot targets ``Y`` (a pair per step) and the parities themselves."""
    bits = rng.integers(0, 2, size=(count, steps))
    parity = np.cumsum(bits, axis=1) % 2
    return bits.astype(float), np.eye(2)[parity].reshape(count, -1), parity


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=sorted(CELLS), default="gru")
    parser.add_argument("--steps", type=int, default=12, help="sequence length T")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0, help="data, initialization and minibatch order")
    args = parser.parse_args(argv)

    graph = CELLS[args.cell](args.steps, (1, HIDDEN, 2), outputs="every")
    if args.steps >= 3:
        print(bptt_text(graph), end="\n\n")
    model = sbp.compile(graph)
    rng = np.random.default_rng(args.seed)
    X, Y, _ = running_parity(2000, args.steps, rng)
    X_test, _, parity = running_parity(1000, args.steps, rng)
    start = time.perf_counter()
    result = sbp.train(model, X, Y, optimizer=sbp.optim.Adam(lr=1e-2), batch_size=32, epochs=args.epochs,
                       init="random", seed=args.seed)
    seconds = time.perf_counter() - start
    predicted = model.forward(result.params, X_test).reshape(len(X_test), args.steps, 2).argmax(axis=2)
    print(f"{args.cell.upper()}, T = {args.steps}: {result.steps} Adam steps in {seconds:.1f} s, "
          f"final training loss {result.history.train_loss[-1]:.4f}")
    print(f"parity of the whole sequence: {np.mean(predicted[:, -1] == parity[:, -1]):.3f}")
    print(f"accuracy: {np.mean(predicted == parity):.3f} (every step, {len(X_test)} fresh sequences)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
