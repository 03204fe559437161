"""Points placed in regions out of core (``backends.locate_firms``) against the in-memory
``geo.assign_regions`` (row for row, exact: the labels are categorical) and geopandas'
spatial join (points off every border, where the region is unique)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from spillover.backends import DaskBackend, DuckDBBackend, locate_firms
from spillover.errors import DroppedRowsWarning, GeographyError, SpecificationError
from spillover.geo import assign_regions, points_from_xy

pytest.importorskip("duckdb")
CRS = "EPSG:32633"


@pytest.fixture(scope="module")
def regions() -> gpd.GeoDataFrame:
    """A 3 x 3 grid of 10 km squares (codes 11..33) and a triangle north of it."""
    cells = [
        (10 * i + j, box(i * 1e4, j * 1e4, (i + 1) * 1e4, (j + 1) * 1e4))
        for i in range(1, 4)
        for j in range(1, 4)
    ]
    cells.append((99, Polygon([(1e4, 4e4), (4e4, 4e4), (2.5e4, 6e4)])))
    codes, shapes = zip(*cells, strict=True)
    return gpd.GeoDataFrame({"code": list(codes)}, geometry=list(shapes), crs=CRS)


def firm_years(seed: int = 3, n: int = 60) -> pd.DataFrame:
    """Firm-years with points inside cells, on shared borders and corners, and outside."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(1e4, 4e4, n)
    y = rng.uniform(1e4, 4e4, n)
    x[:6] = [2e4, 2e4, 3e4, 1.5e4, 2.5e4, 2.5e4]  # borders and a corner
    y[:6] = [1.5e4, 2e4, 3e4, 2e4, 4e4, 4.5e4]  # (2.5e4, 4e4): grid top and triangle base
    x[6:9] = [5e4, 0.0, 2e4]  # outside every region
    y[6:9] = [2e4, 0.0, 5.9e4]
    firm = np.arange(n) // 2
    year = 2000 + (np.arange(n) % 2) * 3
    return pd.DataFrame({"firm": firm, "year": year, "x": x, "y": y, "emp": rng.poisson(20, n)})


def locate(data, regions, **kwargs):
    """``locate_firms`` on the columns x, y in CRS into regions keyed by "code"."""
    return locate_firms(data, x="x", y="y", crs=CRS, regions=regions, region_key="code", **kwargs)


def in_memory(frame, regions, unmatched):
    pts = points_from_xy(frame, x="x", y="y", crs=CRS)
    return pd.DataFrame(assign_regions(pts, regions, region_key="code", unmatched=unmatched))


def read_sorted(path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values(["firm", "year"]).reset_index(drop=True)


@pytest.mark.parametrize("unmatched", ["keep", "drop"])
def test_duckdb_equals_in_memory_row_for_row(tmp_path, regions, unmatched):
    frame = firm_years()
    backend = DuckDBBackend(memory_limit="256MB", threads=1)
    dropped = pytest.warns(DroppedRowsWarning, match="dropped 3 rows")
    with dropped if unmatched == "drop" else _nothing():
        done = locate(frame, regions, out=tmp_path / "out", unmatched=unmatched,
                      backend=backend, batch_rows=7)  # fmt: skip
    assert len(list((tmp_path / "out").glob("*.parquet"))) == 9  # 60 rows in batches of 7
    with pytest.warns(DroppedRowsWarning) if unmatched == "drop" else _nothing():
        expected = in_memory(frame, regions, unmatched)
    got = read_sorted(done.path)
    expected = expected.drop(columns="geometry").sort_values(["firm", "year"])
    assert (done.rows, done.outside) == (len(expected), 3)
    assert (
        got["code"]
        .astype("Float64")
        .equals(expected["code"].astype("Float64").reset_index(drop=True))
    )
    pd.testing.assert_frame_equal(
        got.drop(columns="code"), expected.drop(columns="code").reset_index(drop=True)
    )
    if unmatched == "keep":
        assert str(got["code"].dtype) == "Int64"  # integer keys stay integers with missing


def test_regions_equal_geopandas_join_off_the_borders(tmp_path, regions):
    frame = firm_years(seed=11, n=200).iloc[9:]  # random points, none on a border
    frame.to_parquet(tmp_path / "firms.parquet")
    done = locate(
        tmp_path / "firms.parquet",
        regions,
        out=tmp_path / "out",
        batch_rows=50,
    )
    pts = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.x, frame.y), crs=CRS)
    joined = gpd.sjoin(pts, regions, predicate="within", how="inner")
    assert joined.index.is_unique and len(joined) == len(frame)
    expected = joined.sort_values(["firm", "year"])["code"].to_numpy()
    np.testing.assert_array_equal(read_sorted(done.path)["code"].to_numpy(), expected)
    assert done.panel(entity="firm", time="year").head(2).shape[0] == 2


def test_outside_points_are_counted_over_all_batches_and_nothing_is_written(tmp_path, regions):
    with pytest.raises(
        GeographyError,
        match=r"3 points lie outside every region, e.g. rows "
        r"\(3, 2000\), \(3, 2003\), \(4, 2000\) at \(50000.0, 20000.0\).*Nothing was written",
    ):
        locate(
            firm_years(),
            regions,
            out=tmp_path / "out",
            keys=["firm", "year"],
            batch_rows=4,
        )
    assert list(tmp_path.iterdir()) == []


def test_bad_coordinates_in_a_later_batch_name_the_rows_and_leave_nothing(tmp_path, regions):
    frame = firm_years()
    frame.loc[40, "x"] = np.nan
    with pytest.raises(
        GeographyError,
        match=r"missing or infinite 'x'/'y', e.g. rows \(20, "
        r"2000\)\.",
    ):
        locate(
            frame,
            regions,
            out=tmp_path / "out",
            keys=["firm", "year"],
            unmatched="keep",
            batch_rows=10,
        )
    assert list(tmp_path.iterdir()) == []


def test_layers_and_options_are_checked_before_reading(tmp_path, regions):
    frame = firm_years()
    common = {"x": "x", "y": "y", "region_key": "code", "out": tmp_path / "out"}
    with pytest.raises(GeographyError, match="Reproject one explicitly"):
        locate_firms(frame, crs="EPSG:3035", regions=regions, **common)
    with pytest.raises(GeographyError, match="crs is required"):
        locate_firms(frame, crs=None, regions=regions, **common)
    with pytest.raises(SpecificationError, match=r"columns \['x'\] are not in the data"):
        locate_firms(frame.rename(columns={"x": "lon"}), crs=CRS, regions=regions, **common)
    with pytest.raises(SpecificationError, match="unmatched"):
        locate_firms(frame, crs=CRS, regions=regions, unmatched="ignore", **common)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "out").mkdir()
    with pytest.raises(SpecificationError, match="overwrite=True"):
        locate_firms(frame, crs=CRS, regions=regions, **common)


def test_overwrite_replaces_only_when_complete(tmp_path, regions):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.parquet").write_bytes(b"old")
    bad = firm_years()
    with pytest.raises(GeographyError):
        locate(bad, regions, out=out, overwrite=True)
    assert [p.name for p in out.iterdir()] == ["old.parquet"]  # the old folder is untouched
    locate(
        bad,
        regions,
        out=out,
        overwrite=True,
        unmatched="keep",
    )
    assert not (out / "old.parquet").exists()
    assert len(read_sorted(out)) == len(bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no hidden folders left


def test_dask_equals_in_memory_row_for_row(tmp_path, regions, capsys):
    pytest.importorskip("distributed")
    frame = firm_years()
    with DaskBackend(n_workers=2, processes=False, partitions=4, progress=True) as cluster:
        done = locate(
            frame,
            regions,
            out=tmp_path / "out",
            unmatched="keep",
            backend=cluster,
        )
        with pytest.raises(GeographyError, match="3 points lie outside every region"):
            locate(
                frame,
                regions,
                out=tmp_path / "raised",
                backend=cluster,
            )
    assert not (tmp_path / "raised").exists()
    assert "placing points (Dask): 100%" in capsys.readouterr().err  # 4 of 4 partitions
    assert len(list((tmp_path / "out").glob("*.parquet"))) == 4
    expected = in_memory(frame, regions, "keep").sort_values(["firm", "year"])
    got = read_sorted(done.path)
    assert (done.rows, done.outside) == (60, 3)
    np.testing.assert_array_equal(
        got["code"].astype("Float64").to_numpy(na_value=np.nan),
        expected["code"].to_numpy(dtype=float),
    )


def test_duckdb_progress_bar_counts_batches(tmp_path, regions, capsys):
    locate(firm_years(), regions, out=tmp_path / "out", unmatched="keep", batch_rows=20,
           backend=DuckDBBackend(progress=True))  # fmt: skip
    err = capsys.readouterr().err
    assert "placing points (DuckDB)" in err and "3batch" in err.replace(" ", "")
    locate(firm_years(), regions, out=tmp_path / "quiet", unmatched="keep")
    assert "placing points" not in capsys.readouterr().err


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
