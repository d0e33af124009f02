"""Train a one-block transformer to reverse short sequences and print its token accuracy.

Each input is T random tokens from a vocabulary of V (one-hot columns); the target is the same
tokens in reverse order. ``sbp.tensor.transformer_block`` builds the graph (embedding plus
learned positions, multi-head self-attention, layer norm, a ReLU feed-forward layer, a
cross-entropy per token); its backward pass (printed first for the attention, with the
softmax's rule (diag(A) − A Aᵀ) δ_A) is compiled to NumPy by ``sbp.compile`` and trained with
Adam by ``sbp.train``.

    python examples/attention.py                   # T = 6, V = 8, d = 32, 2 heads
    python examples/attention.py --epochs 6 --seed 1
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import symbackprop as sbp

TOKENS, VOCAB, D_MODEL, HEADS = 6, 8, 32, 2


def reversal(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X`` (one-hot columns, flattened), ``Y`` (the reversed tokens, one-hot rows) and the reversed tokens."""
    tokens = rng.integers(0, VOCAB, size=(count, TOKENS))
    reverse = tokens[:, ::-1]
    X = np.eye(VOCAB)[tokens].transpose(0, 2, 1).reshape(count, -1)
    return X, np.eye(VOCAB)[reverse].reshape(count, -1), reverse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="data, initialization and minibatch order")
    args = parser.parse_args(argv)

    graph = sbp.tensor.transformer_block(TOKENS, VOCAB, D_MODEL, heads=HEADS)
    attention = [line for line in sbp.tensor.derive(graph).text().splitlines()
                 if line.startswith(("δ_A^(1)", "δ_S^(1)", "δ_Q^(1)", "δ_K^(1)", "δ_V^(1)"))]
    print("\n".join(attention), end="\n\n")
    model = sbp.compile(graph)
    rng = np.random.default_rng(args.seed)
    X, Y, _ = reversal(4000, rng)
    X_test, _, reverse = reversal(1000, rng)
    start = time.perf_counter()
    result = sbp.train(model, X, Y, optimizer=sbp.optim.Adam(lr=5e-3), batch_size=64, epochs=args.epochs,
                       init="random", seed=args.seed)
    seconds = time.perf_counter() - start
    predicted = model.forward(result.params, X_test).reshape(len(X_test), TOKENS, VOCAB).argmax(axis=2)
    print(f"{graph.size} parameters, {result.steps} Adam steps in {seconds:.1f} s, "
          f"final training loss {result.history.train_loss[-1]:.4f}")
    print(f"token accuracy: {np.mean(predicted == reverse):.3f} ({len(X_test)} fresh sequences)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
