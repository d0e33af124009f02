"""The footing a benchmark timing implementations against each other in one process gives all of
them alike, set before NumPy and PyTorch load (import this module first):

- one thread for every BLAS and OpenMP pool, and the process on one core, whatever thread pools
  a library starts;
- glibc told to keep freed memory in the heap (``mallopt``): by default it returns every freed
  block over 128 KB to the system, so each step's temporaries fault their pages in again (about
  half of a small CNN's step here). Linux with glibc only; ``KEPT`` says whether it took.
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _keep_freed_memory() -> bool:
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        return bool(libc.mallopt(M_TRIM_THRESHOLD, 256 << 20) and libc.mallopt(M_MMAP_THRESHOLD, 256 << 20))
    except (OSError, AttributeError):
        return False


KEPT = _keep_freed_memory()
