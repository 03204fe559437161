"""Firm points placed in region polygons out of core: DuckDB batches or Dask partitions in,
a Parquet folder out, the polygon layer broadcast to every batch or worker."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from tqdm import tqdm

from spillover._typing import Unmatched
from spillover._validate import preview, warn_dropped
from spillover.backends._dask import DaskBackend, dask_modules, gather
from spillover.backends._dask import open_source as dask_source
from spillover.backends._dask import translated_errors as dask_errors
from spillover.backends._duckdb import DuckDBBackend, new_prefix, release, translated_errors
from spillover.backends._source import open_source
from spillover.backends._written import Written, refuse_existing, written_whole
from spillover.errors import GeographyError, SpecificationError
from spillover.geo import assign_regions, points_from_xy
from spillover.geo._attach import _check_option

if TYPE_CHECKING:
    import geopandas as gpd

#: Rows DuckDB hands over per batch (each batch is placed in memory, then written).
BATCH_ROWS = 1_000_000


@dataclass(frozen=True)
class Located(Written):
    """Where :func:`locate_firms` wrote the located rows, and how many.

    Attributes
    ----------
    path : Path
        The Parquet folder (one file per batch or partition).
    rows : int
        Rows written.
    outside : int
        Points inside no region: dropped (``unmatched="drop"``) or written with a missing
        region (``"keep"``); 0 with ``"raise"``.
    """

    outside: int


def locate_firms(
    data: Any,
    *,
    x: str,
    y: str,
    crs: Any,
    regions: gpd.GeoDataFrame,
    region_key: str,
    out: str | Path,
    unmatched: Unmatched = "raise",
    keys: Sequence[str] = (),
    overwrite: bool = False,
    backend: DuckDBBackend | DaskBackend | str = "duckdb",
    batch_rows: int = BATCH_ROWS,
) -> Located:
    """Place firm (or firm-year) points in region polygons out of core, into Parquet.

    The out-of-core twin of :func:`spillover.geo.points_from_xy` followed by
    :func:`spillover.geo.assign_regions`: the rows are read in batches of ``batch_rows``
    (DuckDB) or as the partitions of a Dask DataFrame, each batch is placed in memory
    against the whole polygon layer (which is small: one copy per batch, or one per
    worker on Dask) with the same rules and checks as in memory, and written to a Parquet
    file of its own. The result is the input's columns plus ``region_key``.

    Parameters
    ----------
    data : str, Path, DataFrame, ParquetPanel, duckdb relation or dask DataFrame
        Rows with coordinate columns ``x`` and ``y`` (a relation on DuckDB only, a dask
        DataFrame on Dask only).
    x, y, crs
        Coordinate columns and the CRS they are in, as in :func:`~spillover.geo.points_from_xy`.
    regions : GeoDataFrame
        Region polygons in ``crs`` (reproject them first, e.g. ``regions.to_crs(crs)``).
    region_key : str
        Column (or index name) of ``regions`` identifying each region; it becomes a column.
    out : str or Path
        The Parquet folder to write. It is written whole or not at all: the files go to a
        hidden folder beside it, renamed to ``out`` only once every batch is placed and
        the unmatched points are accounted for.
    unmatched : {"raise", "drop", "keep"}, default "raise"
        Points inside no polygon: ``"raise"`` names them (nothing is written), ``"drop"``
        removes them (DroppedRowsWarning with the count), ``"keep"`` writes a missing
        region.
    keys : sequence of str, optional
        Columns that identify a row in error messages (e.g. ``["firm", "year"]``); by
        default rows are named by their position within their batch.
    overwrite : bool, default False
        Replace ``out`` if it exists (the old folder is removed only after the new one is
        complete).
    backend : "duckdb", "dask", DuckDBBackend or DaskBackend, default "duckdb"
        Where the rows are read and placed. ``DuckDBBackend(progress=True)`` or
        ``DaskBackend(progress=True)`` shows a progress bar over the batches or partitions;
        on Dask every wait is bounded by the backend's ``timeout``. ``"dask"`` starts a
        local cluster for this call and closes it after.
    batch_rows : int, default 1,000,000
        Rows per batch on DuckDB (memory is a few times one batch).

    Returns
    -------
    Located
        The folder, the rows written and the number of points outside every region;
        ``.panel(entity=..., time=...)`` opens it as a ParquetPanel for the estimators.

    Raises
    ------
    GeographyError
        As in memory: no or unknown CRS, a CRS that differs from the regions', missing or
        infinite coordinates, lon/lat out of range (rows named), and, with
        ``unmatched="raise"``, points outside every region (the count over all batches
        and examples). Nothing is written.
    SpecificationError
        If ``out`` exists and ``overwrite`` is False, a column is absent, or the options
        are not recognised.

    Notes
    -----
    A point on a border shared by several regions gets the region whose key sorts first,
    as in memory, so the result equals ``assign_regions(points_from_xy(...))`` row for row.

    Examples
    --------
    >>> import tempfile, geopandas as gpd, pandas as pd
    >>> from pathlib import Path
    >>> from shapely.geometry import box
    >>> from spillover.backends import locate_firms
    >>> regions = gpd.GeoDataFrame({"code": ["W", "E"]}, crs="EPSG:32633",
    ...                            geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)])
    >>> firms = pd.DataFrame({"firm": [1, 2, 3], "x": [2.0, 15.0, 10.0], "y": [5.0] * 3})
    >>> folder = Path(tempfile.mkdtemp()) / "located"
    >>> done = locate_firms(firms, x="x", y="y", crs="EPSG:32633", regions=regions,
    ...                     region_key="code", out=folder)
    >>> done.rows, done.outside
    (3, 0)
    >>> pd.read_parquet(folder).sort_values("firm")["code"].tolist()
    ['W', 'E', 'E']
    """
    _check_option(unmatched, ("raise", "drop", "keep"), "unmatched")
    if batch_rows < 1:
        raise SpecificationError(f"batch_rows must be a positive integer, got {batch_rows}.")
    out = Path(out)
    refuse_existing(out, overwrite)
    place = _Placer(x, y, crs, regions, region_key, list(keys), unmatched)
    place(pd.DataFrame({x: [], y: []}, dtype=float), check_keys=False)  # CRS and layers
    with written_whole(out) as tmp:
        if isinstance(backend, DaskBackend) or backend == "dask":
            rows_in = _on_dask(data, place, tmp, backend)
        elif isinstance(backend, DuckDBBackend) or backend == "duckdb":
            rows_in = _on_duckdb(data, place, tmp, backend, batch_rows)
        else:
            raise SpecificationError(
                f"backend must be 'duckdb', 'dask', DuckDBBackend(...) or DaskBackend(...); "
                f"got {backend!r}."
            )
        rows, outside = _account(tmp, place, rows_in)
    if unmatched == "drop":
        warn_dropped(outside, "points outside every region")
    return Located(out, rows, outside)


class _Placer:
    """One batch placed as in memory (picklable: it travels to Dask workers)."""

    def __init__(self, x, y, crs, regions, region_key, keys, unmatched) -> None:
        self.x, self.y, self.crs, self.regions = x, y, crs, regions
        self.region_key, self.keys, self.unmatched = region_key, keys, unmatched

    def check(self, frame: pd.DataFrame) -> None:
        missing = [c for c in [self.x, self.y, *self.keys] if c not in frame.columns]
        if missing:
            raise SpecificationError(
                f"columns {missing} are not in the data (it has {preview(frame.columns)})."
            )
        if self.region_key in frame.columns:
            raise SpecificationError(
                f"the data already have a column {self.region_key!r}; rename it."
            )

    def __call__(self, frame: pd.DataFrame, *, check_keys: bool = True) -> pd.DataFrame:
        named = frame.set_index(self.keys, drop=False) if self.keys and check_keys else frame
        points = points_from_xy(named, x=self.x, y=self.y, crs=self.crs)
        located = assign_regions(points, self.regions, region_key=self.region_key, unmatched="keep")
        labels = pd.Series(located[self.region_key].to_numpy(), index=frame.index)
        result = frame.copy()
        if self.unmatched == "drop":
            inside = labels.notna()
            result, labels = result[inside], labels[inside]
        if self.unmatched == "drop":
            labels = labels.astype(self.key_dtype)
        elif pd.api.types.is_integer_dtype(self.key_dtype):  # one schema for every file:
            labels = labels.astype(pd.Int64Dtype())  # integer codes stay integers, or <NA>
        result[self.region_key] = labels
        return result

    @property
    def key_dtype(self) -> Any:
        regions = self.regions
        if self.region_key in regions.columns:
            return regions[self.region_key].dtype
        return regions.index.dtype


def _on_duckdb(data: Any, place: _Placer, tmp: Path, backend: Any, batch_rows: int) -> int:
    backend = DuckDBBackend() if backend == "duckdb" else backend
    con, prefix = backend.connect(data), new_prefix()
    rows = 0
    try:
        with translated_errors():
            source = open_source(con, data, prefix)
            place.check(con.execute(f"SELECT * FROM {source.view} LIMIT 0").df())
            reader = con.sql(f"SELECT * FROM {source.view}").to_arrow_reader(batch_rows)
            batches = tqdm(
                reader, desc="placing points (DuckDB)", unit="batch", disable=not backend.progress
            )
            for i, batch in enumerate(batches):
                frame = batch.to_pandas()
                rows += len(frame)
                place(frame).to_parquet(tmp / f"part-{i:05d}.parquet", index=False)
    finally:
        release(con, prefix, close=backend.owns(data))
    return rows


def _on_dask(data: Any, place: _Placer, tmp: Path, backend: Any) -> int:
    dd, _ = dask_modules()
    import dask

    owned = backend == "dask"
    backend = DaskBackend() if owned else backend
    try:
        frame = dask_source(data)
        if isinstance(frame, pd.DataFrame):
            frame = dd.from_pandas(frame, npartitions=backend.partition_count(len(frame)))
        place.check(frame._meta)
        layer = dask.delayed(place, pure=True)  # one copy of the polygons per worker
        write = dask.delayed(_write_partition, pure=False)
        tasks = [
            write(part, layer, str(tmp / f"part-{i:05d}.parquet"))
            for i, part in enumerate(frame.to_delayed())
        ]
        step = "placing points in regions"
        with dask_errors(step):
            futures = backend.client.compute(tasks)
            with _counted(futures, backend.progress):
                counts = gather(futures, step, backend.timeout, partitions=futures)
        return int(sum(counts))
    finally:
        if owned:
            backend.close()


@contextmanager
def _counted(futures: list, show: bool) -> Iterator[None]:
    """A progress bar over the partitions as their tasks finish (if ``show``)."""
    bar = tqdm(total=len(futures), desc="placing points (Dask)", unit="partition", disable=not show)
    if show:
        for future in futures:
            future.add_done_callback(lambda _: bar.update())
    try:
        yield
    finally:
        bar.close()


def _write_partition(frame: pd.DataFrame, place: _Placer, path: str) -> int:
    place(frame).to_parquet(path, index=False)
    return len(frame)


def _account(tmp: Path, place: _Placer, rows_in: int) -> tuple[int, int]:
    """Rows written and points outside every region, read back from the written files;
    with ``unmatched="raise"`` any outside point is a GeographyError naming examples."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    files = sorted(str(f) for f in tmp.rglob("*.parquet"))
    if not files:
        return 0, rows_in
    table = ds.dataset(files, format="parquet")
    rows = table.count_rows()
    if place.unmatched == "drop":
        return rows, rows_in - rows
    outside_filter = pc.field(place.region_key).is_null()
    outside = table.count_rows(filter=outside_filter)
    if outside and place.unmatched == "raise":
        columns = [*place.keys, place.x, place.y]
        examples = table.head(5, columns=columns, filter=outside_filter).to_pandas()
        named = (
            list(examples[place.keys].itertuples(index=False, name=None)) if place.keys else None
        )
        where = f"e.g. rows {preview(named)} " if named else ""
        coords = list(zip(examples[place.x], examples[place.y], strict=True))
        raise GeographyError(
            f"{outside} points lie outside every region, {where}at {preview(coords, 3)}. "
            "Fix their coordinates, or pass unmatched='drop' or 'keep'. Nothing was written."
        )
    return rows, int(outside)


__all__ = ["Located", "locate_firms"]
