"""Shared test setup.

- The helper modules in this folder (``random_graphs``, ``torch_reference``, …) are importable.
- Under CI (``CI`` set), hypothesis draws the same examples every run, so a failure or a slow
  example seen there can be reproduced.
"""

import os
import shutil
import sys
from pathlib import Path

from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def symbackprop_script() -> str | None:
    """The installed ``symbackprop`` command of the interpreter running the tests (the project's
    .venv when run as ``.venv/bin/python -m pytest``), else the first one on PATH."""
    beside = Path(sys.executable).parent / "symbackprop"
    return str(beside) if beside.exists() else shutil.which("symbackprop")
