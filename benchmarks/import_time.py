"""Import cost of symbackprop against SymPy's, from ``python -X importtime``, in interleaved rounds.

Each round runs, in fresh interpreters and in turn: ``import sympy``; ``import symbackprop``;
``import symbackprop`` followed by the first use of the core (``symbackprop.Graph``, which loads
SymPy, networkx and the core floor). The figure is the median over rounds of each per-round ratio
to ``import sympy``; the target (issue #10) is ``import symbackprop`` ≤ 1.15× ``import sympy``.

    python3 benchmarks/import_time.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys

CASES = {
    "import sympy": "import sympy",
    "import symbackprop": "import symbackprop",
    "import symbackprop; symbackprop.Graph": "import symbackprop; symbackprop.Graph",
}
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def import_microseconds(code: str) -> int:
    """The cumulative import time of every top-level import that ``code`` triggers (µs)."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                         capture_output=True, text=True, check=True)
    total = 0
    for line in run.stderr.splitlines():
        match = _LINE.match(line)
        if match and match.group(3) == "":  # not nested: its cumulative time includes its children
            total += int(match.group(2))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    times = {name: [] for name in CASES}
    for _ in range(args.rounds):
        for name, code in CASES.items():
            times[name].append(import_microseconds(code))
    reference = times["import sympy"]
    print(f"{'case':40} {'median ms':>10} {'ratio to import sympy (median of rounds)':>42}")
    for name in CASES:
        ratios = [t / r for t, r in zip(times[name], reference)]
        print(f"{name:40} {statistics.median(times[name]) / 1000:10.1f} {statistics.median(ratios):42.2f}")
    ratio = statistics.median(t / r for t, r in zip(times["import symbackprop"], reference))
    print(f"\nimport symbackprop / import sympy = {ratio:.2f} (target ≤ 1.15)")


if __name__ == "__main__":
    main()
