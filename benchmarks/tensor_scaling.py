"""Build + derive + compile at the tensor level, against the targets and the scalar view.

For each network the time of ``sbp.mlp(sizes)`` (the tensor graph), ``sbp.tensor.derive`` (the δ
equations) and ``sbp.compile`` (the vectorized NumPy), together, on fresh graphs: the median of
interleaved rounds. Then how that time grows with the width (parameters) and the depth
(layers): the exponents of log–log fits. With ``--scalar`` the same network's scalar view (the
pre-tensor path: one SymPy node per unit, ``gradients``) is timed once for comparison.

    python3 benchmarks/tensor_scaling.py              # a few seconds
    python3 benchmarks/tensor_scaling.py --scalar     # + the scalar view of (784, 128, 10): minutes
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import symbackprop as sbp  # noqa: E402

TARGETS = {(784, 128, 10): 0.5, (784, 256, 256, 10): 1.0}
WIDTHS = [(784, w, 10) for w in (32, 128, 512, 2048)]
DEPTHS = [(784,) + (128,) * k + (10,) for k in (1, 2, 4, 8)]


def build_derive_compile(sizes) -> float:
    start = time.perf_counter()
    graph = sbp.mlp(sizes, loss="softmax_cross_entropy")
    sbp.tensor.derive(graph)
    sbp.compile(graph)
    return time.perf_counter() - start


def medians(networks, rounds: int) -> dict:
    """The median over ``rounds`` interleaved rounds (every network once per round)."""
    times: dict = {sizes: [] for sizes in networks}
    build_derive_compile(networks[0])  # imports and first-use costs out of the way
    for _ in range(rounds):
        for sizes in networks:
            times[sizes].append(build_derive_compile(sizes))
    return {sizes: statistics.median(t) for sizes, t in times.items()}


def exponent(xs, ys) -> float:
    """The slope of the least-squares line through (log x, log y)."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def parameters(sizes) -> int:
    return sum(n * m + m for n, m in zip(sizes, sizes[1:]))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--scalar", action="store_true", help="also time the scalar view of (784, 128, 10)")
    args = parser.parse_args(argv)
    networks = list(dict.fromkeys([*TARGETS, *WIDTHS, *DEPTHS]))
    found = medians(networks, args.rounds)
    print(f"build + derive + compile, softmax cross-entropy, median of {args.rounds} interleaved rounds")
    print(f"{'network':52} {'parameters':>11} {'seconds':>9}  target")
    for sizes in networks:
        target = f"< {TARGETS[sizes]} s" if sizes in TARGETS else ""
        print(f"{str(sizes):52} {parameters(sizes):11,} {found[sizes]:9.3f}  {target}")
    width = exponent([parameters(s) for s in WIDTHS], [found[s] for s in WIDTHS])
    depth = exponent([len(s) - 1 for s in DEPTHS], [found[s] for s in DEPTHS])
    print(f"growth: time ∝ parameters^{width:.2f} at depth 2 ({WIDTHS[0][1]}–{WIDTHS[-1][1]} hidden units), "
          f"∝ layers^{depth:.2f} at width 128 (1–8 hidden layers); linear is 1")
    if args.scalar:
        start = time.perf_counter()
        graph = sbp.mlp((784, 128, 10), loss="softmax_cross_entropy")
        graph.definitions  # the scalar view: one SymPy node per unit
        built = time.perf_counter() - start
        sbp.gradients(graph)
        both = time.perf_counter() - start
        print(f"scalar view of (784, 128, 10): {built:.1f} s to build, {both - built:.1f} s for gradients "
              f"({both / found[(784, 128, 10)]:.0f}× the tensor path's build + derive + compile)")


if __name__ == "__main__":
    main()
