"""How the derivation scales: all gradients of an MLP from the one reverse sweep, against SymPy.

For each network it prints the time to derive every gradient (``gradients(graph)`` on a fresh
graph: local partials, the reverse sweep, one closed form per parameter), the time SymPy needs
for ``diff`` of the expanded output once per parameter (measured in the same run while that stays
under a minute; past that, extrapolated from the parameters done in the minute and marked
"est."), their ratio, and the op count of the backward program (forward +
adjoints + gradients, sharing each adjoint through its δ symbol) over the forward program's.
Then the growth exponent of our time in the number of edges, from 1k to 25k parameters.

    python3 benchmarks/derive_scaling.py            # everything (a few minutes)
    python3 benchmarks/derive_scaling.py --quick    # small networks only
"""

from __future__ import annotations

import argparse
import math
import time

import sympy as sp

import symbackprop as sbp

SYMPY_BUDGET = 60.0  # seconds for the whole per-parameter diff of one network


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def edges(graph: sbp.Graph) -> int:
    return graph.networkx().number_of_edges()


def sympy_per_parameter(graph: sbp.Graph) -> tuple[float, int]:
    """Seconds for ``diff`` of the expanded output by every parameter, and how many were done.

    Past the budget it stops; the caller extrapolates from the parameters it did (each ``diff``
    of the same expression costs about the same, so the mean per parameter is representative
    as long as the sample spans every layer: the parameters are taken in a spread order).
    """
    start = time.perf_counter()
    expanded = graph.expand(graph.output)
    spread = graph.parameters[::7] + tuple(p for i, p in enumerate(graph.parameters) if i % 7)
    for done, p in enumerate(spread, 1):
        sp.diff(expanded, p)
        if time.perf_counter() - start > SYMPY_BUDGET:
            return time.perf_counter() - start, done
    return time.perf_counter() - start, len(spread)


def op_ratio(graph: sbp.Graph) -> float:
    """ops(forward + δ assignments + gradients) / ops(forward), adjoints shared by δ symbols."""
    bp = sbp.backprop(graph)
    forward = sum(sp.count_ops(e) for e in graph.definitions.values())
    delta = {v: sp.Symbol(f"δ_{v}") for v in bp.nodes}
    backward = 0
    for u, uses in bp.equations():
        # δ_u = Σ δ_v·∂v/∂u (δ of the output is 1, so its factor costs nothing)
        terms = [(partial if v == graph.output else delta[v] * partial) for v, partial in uses]
        backward += sp.count_ops(sp.Add(*terms))
    return (forward + backward) / forward


def measure(sizes, loss, activation=sp.tanh, compare=True, ops=True) -> dict:
    graph = sbp.mlp(sizes, activation=activation, loss=loss)  # fresh: nothing derived or cached yet
    _, ours = timed(lambda: sbp.gradients(graph))
    row = {"sizes": sizes, "loss": loss, "params": len(graph.parameters), "edges": edges(graph),
           "ours": ours, "sympy": None, "sympy_done": 0, "ops": op_ratio(graph) if ops else None}
    if compare:
        spent, done = sympy_per_parameter(graph)
        row["sympy"], row["sympy_done"] = spent * len(graph.parameters) / done, done
    return row


def report(row: dict) -> None:
    if row["sympy"] is None:
        sympy_time, ratio = "—", "—"
    else:
        estimated = row["sympy_done"] < row["params"]
        sympy_time = f"{row['sympy']:.3f} s" + (f" (est. from {row['sympy_done']})" if estimated else "")
        ratio = f"{row['sympy'] / row['ours']:.0f}×"
    ops = f"{row['ops']:.2f}" if row["ops"] is not None else "—"
    print(f"{str(row['sizes']):22} {row['loss'] or '-':22} {row['params']:7d} {row['edges']:7d} "
          f"{row['ours']:9.3f} s  {sympy_time:>24}  {ratio:>9}   {ops}", flush=True)


def growth_exponent(rows) -> float:
    """Least-squares slope of log(time) against log(edges)."""
    xs = [math.log(r["edges"]) for r in rows]
    ys = [math.log(r["ours"]) for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small networks only")
    args = parser.parse_args()

    print(f"{'sizes':22} {'loss':22} {'params':>7} {'edges':>7} {'ours':>11}  {'sympy.diff each':>24}  "
          f"{'speed-up':>9}   ops(backward)/ops(forward)")
    for sizes, loss in [((2, 2, 1), None), ((4, 8, 1), "squared_error"), ((8, 16, 16, 1), None),
                        ((8, 16, 16, 1), "squared_error")]:
        report(measure(sizes, loss))
    if args.quick:
        return
    big = measure((64, 32, 10), "softmax_cross_entropy", compare=False)
    report(big)
    print(f"\nall gradients of (64, 32, 10) with softmax cross-entropy: {big['ours']:.3f} s (target < 1 s)")

    print("\ngrowth from 1k to 25k parameters (no SymPy comparison):")
    scaling = [measure((n, n, 1), "squared_error", compare=False, ops=False)
               for n in (31, 50, 70, 100, 130, 157)]
    for row in scaling:
        report(row)
    print(f"growth exponent of our time in the number of edges: {growth_exponent(scaling):.2f} (target ≤ 1.15)")


if __name__ == "__main__":
    main()
