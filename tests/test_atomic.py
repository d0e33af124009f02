"""Atomic writes leave the old file or the new one, readable like any file the user makes."""

import os

import pytest

from symbackprop.core.atomic import write_atomic


def test_new_file_has_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        path = write_atomic(tmp_path / "handout.html", "<p>hi</p>")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["handout.html"]


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = write_atomic(tmp_path / "out.txt", "old")

    with pytest.raises(TypeError):
        write_atomic(path, 3.5)  # fails while writing: the temporary file must go
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
