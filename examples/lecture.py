"""The main job: the lecture's network derived, written up as handouts, and trained.

    python3 examples/lecture.py                 # writes build/lecture/…
    python3 examples/lecture.py -o out --no-pdf

1. The derivatives of the lecture (∂a/∂s1, ∂a/∂p11, ∂a/∂w11) as path sums and closed forms, and
   the backward pass that computes them all with shared adjoints.
2. The handout a teacher hands out, in English and in Russian (HTML, LaTeX, PDF, diagrams).
3. A short training run of the same network (f = tanh, squared-error loss) from the derived
   formulas, with Adam and the lecture's stopping criteria, learning a teacher network.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import sympy as sp

import symbackprop as sbp

HERE = Path(__file__).resolve().parent


def show_derivations(graph: sbp.Graph) -> None:
    print("1. The lecture's derivatives (of the network's output a)\n")
    for name in ("s1", "p11", "w11"):
        print(sbp.derive(graph, name, of="a").text(), end="\n\n")
    print("The backward pass: each adjoint δ_v = ∂a/∂v is computed once and shared by the parameters")
    for u, uses in sbp.backprop(graph, "a").equations():
        terms = " + ".join(f"δ_{v}·{sbp.text(partial)}" if v != sp.Symbol("a") else sbp.text(partial)
                           for v, partial in uses)
        print(f"  δ_{u} = {terms}")
    print()


def write_handouts(graph: sbp.Graph, out: Path, pdf: bool) -> None:
    print("2. Handouts")
    for lang in ("en", "ru"):
        document = sbp.handout(graph, wrt=["w11", "p11", "s1"], of="a", lang=lang)
        written = document.save(out / f"handout-{lang}", pdf=pdf)
        shown = [os.path.relpath(p) for p in written if p.stem == f"handout-{lang}"]
        print(f"  {lang}: " + ", ".join(shown))
    print()


def train(graph: sbp.Graph) -> None:
    print("3. Training the lecture's network (f = tanh) to recover a teacher network")
    model = sbp.compile(graph)  # f is bound to tanh by the model file
    # The teacher is the same network at the model file's example values: a target the network
    # can represent exactly, so the loss should fall to the noise level.
    teacher = np.array([graph.metadata["values"][p.name] for p in model.parameters])
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(400, 2))
    y = model.forward(teacher, X)[:, 0] + rng.normal(0, 0.01, size=400)
    result = sbp.train(model, X[:300], y[:300], optimizer=sbp.optim.Adam(lr=0.02), batch_size=32, epochs=300,
                       stop=[sbp.GradNorm(1e-6), sbp.EarlyStopping(patience=30, min_delta=1e-7)],
                       validation=(X[300:], y[300:]), init="random", seed=0, progress=sys.stdout.isatty())
    baseline = float(np.mean((y[300:] - y[:300].mean()) ** 2) / 2)
    print(f"  stopped by: {result.stopped_by}")
    print(f"  validation loss {min(result.history.val_loss):.6f}  (predicting the mean: {baseline:.6f};"
          f" the noise alone: {0.01 ** 2 / 2:.6f})")
    print("  learned parameters (the teacher's up to the network's symmetries): "
          + ", ".join(f"{p}={v:+.2f}" for p, v in zip(model.parameters, result.params)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", default="build/lecture", help="folder for the handouts (default: %(default)s)")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF even if a LaTeX engine is installed")
    args = parser.parse_args()
    graph = sbp.load(HERE / "lecture_loss.sbp")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    show_derivations(graph)
    write_handouts(graph, out, pdf=False if args.no_pdf else shutil.which("pdflatex") is not None)
    train(graph)


if __name__ == "__main__":
    main()
