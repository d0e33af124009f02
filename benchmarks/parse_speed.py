"""How fast the safe parser reads text, against SymPy's own ``parse_expr`` on the same text.

``parse_expr`` is the reference only (it evaluates Python and is never used by the package).
For a few texts it prints both times and the ratio; then how the parser's time grows with a
sum's length (an exponent near 1 means linear), and how soon it refuses hostile texts.

    python3 benchmarks/parse_speed.py
"""

from __future__ import annotations

import math
import time

import sympy as sp
from sympy.parsing.sympy_parser import parse_expr

from symbackprop import ParseError, parse_expression


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def weighted_sum(n: int) -> str:
    return " + ".join(f"w{i}*x{i}" for i in range(1, n + 1)) + " + b"


def layer_sum(n: int) -> str:
    """One unit of a wide layer: tanh(w1*x1 + … + wn*xn + b)."""
    return f"tanh({weighted_sum(n)})"


TEXTS = {
    "lecture path term": "s1*fp(p11*z1 + p21*z2)*p11*fp(w11*x1 + w21*x2)*x1",
    "squared-error loss": "(s1*m1 + s2*m2 - y)**2/2",
    "unit with 100 inputs": layer_sum(100),
    "unit with 1000 inputs": layer_sum(1000),
}
HOSTILE = {
    "9**9**9**9": "9**9**9**9",
    "100,000 nested parentheses": "(" * 50_000 + "x" + ")" * 50_000,
    "max of 256 sums": "max(" + ", ".join(f"x{i} + y{i}*z" for i in range(256)) + ")",
}


def main() -> None:
    fp = sp.Function("fp")
    print(f"{'text':<24} {'ours (ms)':>10} {'parse_expr (ms)':>16} {'ratio':>7}")
    for name, text in TEXTS.items():
        ours = best_of(lambda: parse_expression(text, functions={"fp": fp}))
        reference = best_of(lambda: parse_expr(text, local_dict={"fp": fp}))
        assert parse_expression(text, functions={"fp": fp}) == parse_expr(text, local_dict={"fp": fp})
        print(f"{name:<24} {ours * 1e3:>10.2f} {reference * 1e3:>16.2f} {ours / reference:>7.2f}")

    # The parser's own work is the bare sum; inside tanh, SymPy's assumption queries on a long
    # argument (tanh's automatic evaluation) add a superlinear part that is not the parser's.
    sizes = (250, 1000, 4000)
    for name, make in (("sum", weighted_sum), ("tanh(sum)", layer_sum)):
        times = [best_of(lambda: parse_expression(make(n)), repeat=2) for n in sizes]
        exponent = math.log(times[-1] / times[0]) / math.log(sizes[-1] / sizes[0])
        print(f"\ngrowth of {name} ({sizes[0]} → {sizes[-1]} terms): time ~ n^{exponent:.2f}", end="")
    print()

    print(f"\n{'hostile text':<28} {'refused in (ms)':>16}")
    for name, text in HOSTILE.items():
        start = time.perf_counter()
        try:
            parse_expression(text)
            outcome = "accepted"
        except ParseError:
            outcome = "refused"
        print(f"{name:<28} {(time.perf_counter() - start) * 1e3:>16.2f}  {outcome}")


if __name__ == "__main__":
    main()
