"""How long a full derivation handout takes: ``mlp((4, 8, 8, 1))`` with every parameter (121).

Prints the time to build the document (every derivation, path count and worked number), to
write the HTML (MathML and one highlighted SVG drawing per parameter, in summary mode) and the
LaTeX, against the target of 10 s. As a reference measured in the same run it lays out the same
drawings the naive way, one ``dot`` process per drawing, and prints the ratio. ``--pdf`` also
times writing every file and compiling the PDF.

    python3 benchmarks/handout_scaling.py
    python3 benchmarks/handout_scaling.py --pdf
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time

import symbackprop as sbp
from symbackprop.render.diagram import svg

TARGET_SECONDS = 10.0


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4,8,8,1", help="layer sizes (default 4,8,8,1)")
    parser.add_argument("--pdf", action="store_true", help="also save every file and compile the PDF")
    args = parser.parse_args()
    sizes = tuple(int(n) for n in args.sizes.split(","))

    graph = sbp.mlp(sizes, loss="squared_error")
    document, build = timed(lambda: sbp.handout(graph, optimizers=None))
    page, html_time = timed(document.html)
    source, tex_time = timed(document.tex)
    total = build + html_time + tex_time
    figures = document.document.figures()
    print(f"mlp{sizes}: {len(graph.parameters)} parameters, {len(figures)} drawings, "
          f"{len(page) / 1e6:.1f} MB HTML, {len(source) / 1e6:.2f} MB LaTeX")
    print(f"  build {build:6.2f} s   html (MathML + SVG) {html_time:6.2f} s   tex {tex_time:6.2f} s")
    print(f"  total {total:6.2f} s   target {TARGET_SECONDS:.0f} s   "
          f"{'OK' if total < TARGET_SECONDS else 'TOO SLOW'}")

    network_svg = page[page.index("<svg"):page.index("</svg>")]
    boxes = len(re.findall(r'class="node"', network_svg))
    print(f"  summary mode: the network drawing has {boxes} shapes for {len(graph.nodes) + len(graph.inputs)} states")

    _, naive = timed(lambda: [svg(f.digraph) for f in figures])
    print(f"  reference: one dot process per drawing {naive:6.2f} s; "
          f"the whole handout takes {total / naive:.2f}× that")

    if args.pdf:
        with tempfile.TemporaryDirectory() as directory:
            written, save_time = timed(lambda: document.save(f"{directory}/handout"))
            print(f"  save (html, tex, {len(figures)} figure PDFs and SVGs, pdflatex) {save_time:6.2f} s, "
                  f"{len(written)} files")


if __name__ == "__main__":
    main()
