"""What the hostile-input tests of issue 13 share: running the command line in this process, a
time bound around a block or every test of a module, and the XOR data."""

from __future__ import annotations

import contextlib
import io
import time

import numpy as np
import pytest

from symbackprop.cli import main

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])


def cli(argv) -> tuple[int, str, str]:
    """``symbackprop ARGV`` in this process: (exit code, standard output, standard error)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def within(seconds: float):
    """The block finishes within ``seconds``."""
    start = time.perf_counter()
    yield
    assert time.perf_counter() - start < seconds


def bounded_time(seconds: float):
    """An autouse fixture for a module: each of its tests finishes within ``seconds``."""

    @pytest.fixture(autouse=True)
    def bounded():
        with within(seconds):
            yield

    return bounded
