"""Parquet folders written whole or not at all, and what the functions writing them return."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from spillover.backends._parquet import ParquetPanel
from spillover.errors import SpecificationError


@dataclass(frozen=True)
class Written:
    """A Parquet folder written out of core, and its row count.

    Attributes
    ----------
    path : Path
        The folder (one or more Parquet files).
    rows : int
        Rows written.
    """

    path: Path
    rows: int

    def panel(self, *, entity: str, time: str) -> ParquetPanel:
        """The written folder as a :class:`ParquetPanel` (keys checked on open)."""
        return ParquetPanel(self.path, entity=entity, time=time)


def refuse_existing(out: Path, overwrite: bool) -> None:
    """SpecificationError if ``out`` exists and may not be replaced."""
    if out.exists() and not overwrite:
        raise SpecificationError(
            f"{out} exists; choose another folder or pass overwrite=True to replace it."
        )


@contextmanager
def written_whole(out: Path) -> Iterator[Path]:
    """A hidden folder beside ``out`` to write into; renamed to ``out`` when the block ends
    without an error (an old ``out`` removed only then), removed with its files otherwise."""
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        yield tmp
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(out, old)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
