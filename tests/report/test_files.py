"""write_atomic: whole files with the umask's permissions (not mkstemp's 0o600)."""

import os
import stat

import pytest

from spillover.report import write_atomic


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    old = os.umask(0o022)
    os.umask(old)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002, 0o077])
def test_new_file_gets_0666_minus_umask(tmp_path, umask, mask):
    umask(mask)
    path = write_atomic(tmp_path / "table.tex", "x")
    assert mode(path) == 0o666 & ~mask
    # the same as a file made by open(), the behaviour users expect
    plain = tmp_path / "plain.tex"
    plain.write_text("x")
    assert mode(path) == mode(plain)


def test_overwritten_file_gets_umask_permissions(tmp_path, umask):
    path = tmp_path / "figure.png"
    umask(0o077)
    write_atomic(path, b"old")
    assert mode(path) == 0o600
    umask(0o022)
    write_atomic(path, b"new")
    assert mode(path) == 0o644
    assert path.read_bytes() == b"new"


def test_failed_write_leaves_old_file_and_no_temp(tmp_path, umask):
    umask(0o022)
    path = write_atomic(tmp_path / "notes.md", "old")
    with pytest.raises(TypeError):
        write_atomic(path, 3.0)  # type: ignore[arg-type]
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.md"]


@pytest.mark.parametrize("suffix", ["tex", "md", "html", "txt"])
def test_tables_are_written_with_umask_permissions(tmp_path, umask, suffix):
    import pandas as pd

    from spillover.report import frame_table

    umask(0o022)
    table = frame_table(pd.DataFrame({"a": [1.0, 2.0]}, index=["x", "y"]), caption="c")
    path = table.write(tmp_path / f"t.{suffix}")
    assert mode(path) == 0o644
