"""One gradient evaluation + one Adam step of an unrolled RNN (T = 32) and of a one-block
transformer (T = 16 tokens, d = 64, 4 heads), symbackprop's compiled δ equations against
PyTorch eager (``nn`` modules, autograd, ``torch.optim.Adam``), one thread.

Each round times a few steps of each implementation back to back (interleaved, so a busy
machine slows both alike); the table gives the median time per step and the median of the
per-round ratios symbackprop / PyTorch (below 1: symbackprop is faster). Same batch, same
dtype (float32), same loss (a cross-entropy per step or token, mean over the batch). Both update
their parameters and Adam's moments in place (``torch.optim.Adam`` always does; ours through
``model.training_step``), on one core, with glibc keeping freed memory for both (``same_footing``).

Where the block's time goes (the generated code, ``model.source()``): its matrix products, as
PyTorch's; every head's query, key and value projections run as one stacked product, forward and
backward (``numeric/stacks.py``), and a product over a batch of d×T matrices as one product over
all the samples' columns (``columns_product``).

    python3 benchmarks/sequence_step.py [--rounds 9]
"""

from __future__ import annotations

from same_footing import KEPT  # one thread, one core, freed memory kept: before numpy and torch load

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import symbackprop as sbp  # noqa: E402

BATCH = 64
RNN = dict(steps=32, n_in=8, hidden=64, n_out=8)
BLOCK = dict(tokens=16, vocab=16, d_model=64, heads=4)


def ours_step(graph, X, Y):
    """One gradient + Adam step of the compiled model (``model.training_step``: float32 from data
    to optimizer state, the parameters and Adam's moments updated in place, as
    ``torch.optim.Adam`` updates its own)."""
    model = sbp.compile(graph, dtype=np.float32)
    step = model.training_step(sbp.optim.Adam(lr=1e-3))
    state = [step.init(model.init_params(seed=0))]
    X, Y = X.astype(np.float32), Y.astype(np.float32)

    def one_step():
        _, state[0] = step(state[0], X, Y)

    return one_step


def torch_step(parameters, loss):
    optimizer = torch.optim.Adam(parameters, lr=1e-3)

    def step():
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()

    return step


def rnn_case(rng):
    T, n_in, hidden, n_out = RNN["steps"], RNN["n_in"], RNN["hidden"], RNN["n_out"]
    X = rng.normal(size=(BATCH, T, n_in))
    labels = rng.integers(0, n_out, size=(BATCH, T))
    graph = sbp.tensor.elman_rnn(T, (n_in, hidden, n_out), outputs="every")
    ours = ours_step(graph, X.reshape(BATCH, -1), np.eye(n_out)[labels].reshape(BATCH, -1))
    rnn, readout = torch.nn.RNN(n_in, hidden, batch_first=True), torch.nn.Linear(hidden, n_out)
    inputs, targets = torch.tensor(X, dtype=torch.float32), torch.tensor(labels.reshape(-1))

    def loss():
        hidden_states, _ = rnn(inputs)
        return F.cross_entropy(readout(hidden_states).reshape(-1, n_out), targets, reduction="sum") / BATCH

    return f"Elman RNN T={T}, {n_in}-{hidden}-{n_out}", ours, torch_step([*rnn.parameters(), *readout.parameters()], loss)


class Block(torch.nn.Module):
    """The same block as ``sbp.tensor.transformer_block``, tokens as rows."""

    def __init__(self, tokens, vocab, d_model, heads):
        super().__init__()
        self.embed = torch.nn.Linear(vocab, d_model, bias=False)
        self.position = torch.nn.Parameter(torch.zeros(tokens, d_model))
        self.attention = torch.nn.MultiheadAttention(d_model, heads, batch_first=True)
        self.norm1, self.norm2 = torch.nn.LayerNorm(d_model), torch.nn.LayerNorm(d_model)
        self.ff1, self.ff2 = torch.nn.Linear(d_model, 2 * d_model), torch.nn.Linear(2 * d_model, d_model)
        self.out = torch.nn.Linear(d_model, vocab)

    def forward(self, x):
        e = self.embed(x) + self.position
        n1 = self.norm1(e + self.attention(e, e, e, need_weights=False)[0])
        n2 = self.norm2(n1 + self.ff2(torch.relu(self.ff1(n1))))
        return self.out(n2)


def block_case(rng):
    tokens, vocab, d_model, heads = BLOCK["tokens"], BLOCK["vocab"], BLOCK["d_model"], BLOCK["heads"]
    source, target = rng.integers(0, vocab, size=(BATCH, tokens)), rng.integers(0, vocab, size=(BATCH, tokens))
    X = np.eye(vocab)[source]  # tokens as rows; symbackprop takes them as columns
    graph = sbp.tensor.transformer_block(tokens, vocab, d_model, heads=heads)
    ours = ours_step(graph, X.transpose(0, 2, 1).reshape(BATCH, -1), np.eye(vocab)[target].reshape(BATCH, -1))
    block = Block(tokens, vocab, d_model, heads)
    inputs, targets = torch.tensor(X, dtype=torch.float32), torch.tensor(target.reshape(-1))

    def loss():
        return F.cross_entropy(block(inputs).reshape(-1, vocab), targets, reduction="sum") / BATCH

    return f"transformer block T={tokens}, d={d_model}, {heads} heads", ours, torch_step(block.parameters(), loss)


def per_step(step, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - start) / calls


def compare(label: str, ours, reference, rounds: int) -> None:
    calls = max(1, int(0.2 / max(per_step(reference, 3), 1e-6)))  # about 0.2 s of PyTorch per round
    times = [(per_step(ours, calls), per_step(reference, calls)) for _ in range(rounds)]
    ratio = statistics.median(a / b for a, b in times)
    mine, theirs = statistics.median(a for a, _ in times), statistics.median(b for _, b in times)
    print(f"{label:40} {mine * 1e3:9.2f} {theirs * 1e3:9.2f} {ratio:9.2f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="interleaved timing rounds")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    print(f"one gradient + one Adam step, batch {BATCH}, float32, one thread; PyTorch {torch.__version__} eager CPU; "
          f"median of {args.rounds} interleaved rounds" + ("; freed memory kept in the heap (mallopt), for both" if KEPT else ""))
    print(f"{'model':40} {'ms ours':>9} {'ms torch':>9} {'ours/torch':>9}")
    for case in (rnn_case, block_case):
        label, ours, reference = case(rng)
        ours(), reference()  # warm up: first calls allocate
        compare(label, ours, reference, args.rounds)


if __name__ == "__main__":
    main()
