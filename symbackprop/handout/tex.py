"""The handout as a LaTeX document, and its PDF when a LaTeX engine is installed.

The preamble works with ``pdflatex`` (``babel`` with T2A for Russian, the Debian package
``texlive-lang-cyrillic``) and with ``xelatex``/``lualatex`` (``fontspec`` with DejaVu).
"""

from __future__ import annotations

import glob
import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping

from ..core.atomic import write_atomic
from ..core.errors import SymbackpropError
from ..render.printing import greek_latex
from .equations import LATEX, rows_latex
from .model import Document, Equations, Figure, Formula, Math, Question, Section, Table, Text

__all__ = ["document_tex", "build_pdf", "figure_file", "LatexError", "ENGINES", "INSTALL_LATEX"]

ENGINES = ("pdflatex", "xelatex", "lualatex")
INSTALL_LATEX = ("no LaTeX engine found (pdflatex, xelatex or lualatex); install one with "
                 "`apt-get install texlive-latex-recommended texlive-lang-cyrillic`")
LATEX_TIMEOUT = 300
MAX_RUNS = 3
_JOB = "handout"


class LatexError(SymbackpropError):
    """LaTeX stopped on an error; ``log`` is where its log was kept."""

    def __init__(self, message: str, log: Path | None = None):
        super().__init__(message)
        self.log = log


_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
            "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\~{}"}
# Characters that the text fonts lack, written as math.
_UNICODE = {"→": r"$\to$", "…": r"\dots{}", "δ": r"$\delta$", "η": r"$\eta$", "ε": r"$\varepsilon$",
            "θ₀": r"$\theta_0$", "×": r"$\times$", "−": "-", "∂": r"$\partial$", "σ": r"$\sigma$",
            "Σ": r"$\Sigma$", "α": r"$\alpha$", "β": r"$\beta$", "γ": r"$\gamma$", "λ": r"$\lambda$"}
_ESCAPE = re.compile("|".join(re.escape(k) for k in sorted({**_SPECIAL, **_UNICODE}, key=len, reverse=True)))


_GREEK = re.compile("[\u0391-\u03a9\u03b1-\u03c9]")


def escape(text: str) -> str:
    r"""Plain text for LaTeX: specials escaped, symbols the text font lacks as math.

    >>> escape("50% of x_1 → y, ζ")
    '50\\% of x\\_1 $\\to$ y, $\\zeta$'
    """
    text = _ESCAPE.sub(lambda m: _SPECIAL.get(m.group(0)) or _UNICODE[m.group(0)], text)
    return _GREEK.sub(lambda m: f"${greek_latex(m.group(0)) or '?'}$", text)


# File names a figure may have as given: what TeX, file systems and globs all read literally.
_PLAIN_FILE = re.compile(r"[A-Za-z0-9_-]+")


def _figure_prefix(stem: str) -> str:
    return f"{_plain_file(stem)}-"


def figure_file(stem: str, figure: str, suffix: str) -> str:
    """The file name of ``figure`` of the document ``stem``: ``<stem>-<figure><suffix>`` when both
    are plain; otherwise other characters become ``_`` and a hash of the original keeps names
    apart, so no name written into ``\\includegraphics`` or a glob can break either (``week%2``,
    ``net#1``, ``x}y``, ``draft[1]``) and no figure is written outside the stem's folder.

    >>> figure_file("handout", "network", ".pdf"), figure_file("week%2", "paths_01_w11", ".pdf")
    ('handout-network.pdf', 'week_2-fd1f16-paths_01_w11.pdf')
    """
    return f"{_figure_prefix(stem)}{_plain_file(figure)}{suffix}"


def _plain_file(name: str) -> str:
    if _PLAIN_FILE.fullmatch(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return re.sub(r"[^A-Za-z0-9_-]", "_", name) + "-" + digest


# pdflatex: Cyrillic letters (in a name such as вес1) switch to the T2A encoding by themselves in
# an English document, whose text is T1 (babel russian does this in a Russian one).
_CYRILLIC = "A B V G D E ZH Z I ISHRT K L M N O P R S T U F H C CH SH SHCH HRDSN ERY SFTSN EREV YU YA YO".split()
_CYRILLIC_DEFAULTS = "".join(rf"\DeclareTextSymbolDefault{{\CYR{n}}}{{T2A}}\DeclareTextSymbolDefault{{\cyr{n.lower()}}}{{T2A}}"
                             for n in _CYRILLIC)


def _preamble(document: Document) -> str:
    language = "russian" if document.lang == "ru" else "english"
    cyrillic = "" if document.lang == "ru" else "\n  " + _CYRILLIC_DEFAULTS
    # the subtitle sits in a \parbox: \maketitle sets \author in a tabular, which never breaks a line
    return rf"""\documentclass[a4paper,11pt]{{article}}
\usepackage{{iftex}}
\ifPDFTeX
  \usepackage[T2A,T1]{{fontenc}}
  \usepackage[utf8]{{inputenc}}{cyrillic}
\else
  \usepackage{{fontspec}}
  \setmainfont{{DejaVu Serif}}
\fi
\usepackage[{language}]{{babel}}
\usepackage[margin=18mm]{{geometry}}
\usepackage{{amsmath,amssymb,graphicx,longtable,array}}
\allowdisplaybreaks
\setlength{{\parindent}}{{0pt}}
\setlength{{\parskip}}{{0.5em}}
\title{{{escape(document.title)}}}
\author{{\parbox{{0.9\textwidth}}{{\centering {escape(document.subtitle)}}}}}
\date{{}}
"""


_MANY_COLUMNS = 6  # a table wider than this is set in a smaller type
_LONG_CELL = 90  # characters of LaTeX beyond which a cell becomes a paragraph that may break


class _Writer:
    def __init__(self, figures: Mapping[str, str]):
        self.figures = figures

    def text(self, text: Text) -> str:
        return "".join(f"${LATEX.doprint(part.expr)}$" if isinstance(part, Math) else escape(part)
                       for part in text.parts)

    def cell(self, cell) -> str:
        if isinstance(cell, Math):
            return f"${LATEX.doprint(cell.expr)}$"
        if isinstance(cell, Text):
            return self.text(cell)
        return escape(cell) if cell else r"\rule{0pt}{1.6em}"

    def block(self, block) -> str:
        if isinstance(block, Text):
            return self.text(block) + "\n"
        if isinstance(block, Equations):
            return rows_latex(block.rows) + "\n"
        if isinstance(block, Formula):
            source = block.latex.strip()
            return (source if source.startswith("\\begin") else rf"\[ {source} \]") + "\n"
        if isinstance(block, Figure):
            return ("\\begin{center}\n"
                    rf"\includegraphics[width=\linewidth,height=0.32\textheight,keepaspectratio]"
                    f"{{{self.figures[block.name]}}}\n\n"
                    rf"{{\small {self.text(block.caption)}}}" "\n\\end{center}\n")
        if isinstance(block, Table):
            return self.table(block)
        if isinstance(block, Question):
            labelled = "".join(rf"\par\hspace*{{1.5em}}${LATEX.doprint(label)} = $\,\dotfill" "\n"
                               for label in block.blanks)
            return (rf"\textbf{{{block.number}.}} {self.text(block.prompt)}" "\n\n" + labelled
                    + "\\vspace{1.6em}\\hrule\n" * block.blank_lines)
        raise TypeError(f"no LaTeX for {type(block).__name__}")

    def table(self, table: Table) -> str:
        """A ``longtable``, kept inside the page: many columns (an optimizer's step over every
        chosen parameter) in a smaller type with narrower gaps, and a column of long cells
        (a state's definition) as a paragraph column, in which a formula breaks at its + and −."""
        cells = [[self.cell(c) for c in row] for row in table.rows]
        head = " & ".join(rf"\textbf{{{self.cell(c)}}}" for c in table.header)
        widest = [max((len(row[j]) for row in cells), default=0) for j in range(len(table.header))]
        columns = "|".join(r"p{0.5\textwidth}" if width > _LONG_CELL else "l" for width in widest)
        body = "".join(" & ".join(row) + r" \\ \hline" "\n" for row in cells)
        text = (rf"\begin{{longtable}}{{|{columns}|}}\hline" "\n"
                rf"{head} \\ \hline\endhead" "\n" f"{body}\\end{{longtable}}\n")
        if len(table.header) > _MANY_COLUMNS:
            return "{\\footnotesize\\setlength{\\tabcolsep}{2pt}\n" + text + "}\n"
        return text

    def answer(self, q: Question) -> str:
        return (rf"\textbf{{{q.number}.}} {self.text(q.prompt)}" "\n\n"
                + "\n".join(self.block(b) for b in q.answer))

    def section(self, section: Section, answers: bool) -> str:
        head = r"\clearpage" "\n" if section.new_page else ""
        if section.title.parts:
            head += rf"\section*{{{self.text(section.title)}}}" "\n"
        return head + "\n".join(self.answer(b) if answers and isinstance(b, Question) else self.block(b)
                                for b in section.blocks)


def document_tex(document: Document, figures: Mapping[str, str], answers: bool = False) -> str:
    """The LaTeX source. ``figures`` maps each figure's name to the file ``\\includegraphics``
    reads (a PDF beside the .tex); with ``answers`` questions print with their answers."""
    writer = _Writer(figures)
    body = "\n".join(writer.section(s, answers) for s in document.sections)
    return _preamble(document) + "\\begin{document}\n\\maketitle\n" + body + "\n\\end{document}\n"


def _engine() -> str:
    for engine in ENGINES:
        if shutil.which(engine):
            return engine
    raise SymbackpropError(INSTALL_LATEX)


def _first_error(log: str) -> str:
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("!"):
            context = next((l.strip() for l in lines[i + 1:i + 4] if l.startswith("l.")), "")
            return f"{line[1:].strip()} {context}".strip()
    return "LaTeX stopped without an error message"


def build_pdf(tex_path: Path, engine: str | None = None) -> Path:
    """Compile ``tex_path`` (its figures beside it) into the PDF beside it, atomically.

    Runs in a scratch directory with shell escape off, under the job name ``handout`` (the file's
    own name, ``week%2.tex``, never reaches TeX's command line); the figures are the files
    ``figure_file`` names. On failure the log is kept as ``<stem>.log`` beside the source and
    the first LaTeX error is reported.
    """
    engine = engine or _engine()
    written = Path(tex_path)  # the PDF and log are named as the source was (relative stays relative)
    tex_path = written.resolve()
    with tempfile.TemporaryDirectory(prefix="symbackprop-tex-") as scratch:
        shutil.copy2(tex_path, Path(scratch) / f"{_JOB}.tex")
        for figure in tex_path.parent.glob(glob.escape(_figure_prefix(tex_path.stem)) + "*.pdf"):
            shutil.copy2(figure, scratch)
        command = [engine, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", f"{_JOB}.tex"]
        log_path = Path(scratch) / f"{_JOB}.log"
        produced = Path(scratch) / f"{_JOB}.pdf"
        for _ in range(MAX_RUNS):  # longtable settles its column widths on a second run
            try:
                subprocess.run(command, cwd=scratch, capture_output=True, timeout=LATEX_TIMEOUT, check=False,
                               stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise LatexError(f"{engine} did not finish within {LATEX_TIMEOUT} s") from None
            log = log_path.read_text(errors="replace") if log_path.exists() else ""
            if "\n!" in "\n" + log or "Rerun" not in log:
                break
        if not produced.exists() or "\n!" in "\n" + log:
            kept = write_atomic(written.with_suffix(".log"), log)
            raise LatexError(f"LaTeX failed: {_first_error(log)} (log: {kept})", kept)
        return write_atomic(written.with_suffix(".pdf"), produced.read_bytes())
