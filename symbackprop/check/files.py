"""Reading a small text file that a teacher hands the checker (a class CSV, a roster, a marking
scheme): refused with a one-line error when it is missing, not a regular file, too large or not
UTF-8.

>>> import tempfile, pathlib
>>> roster = pathlib.Path(tempfile.mkdtemp()) / "roster.csv"
>>> _ = roster.write_text("student\\nAnna\\n", encoding="utf-8")
>>> read_text(roster, "a roster", 1_000)
'student\\nAnna\\n'
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.errors import SymbackpropError

__all__ = ["read_text"]


def read_text(path: str | os.PathLike, what: str, limit: int) -> str:
    """The text of ``path`` (``what`` names it in errors: "a class CSV"), at most ``limit``
    bytes; a UTF-8 byte-order mark is dropped."""
    path = Path(path)
    if not path.is_file():
        raise SymbackpropError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    if path.stat().st_size > limit:
        raise SymbackpropError(f"{path}: too large for {what} (the limit is {limit:,} bytes)")
    data = path.read_bytes()[:limit + 1]
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SymbackpropError(f"{path} is not UTF-8 text (byte {error.start})") from None
