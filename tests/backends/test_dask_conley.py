"""Conley standard errors of HDFE on Dask equal the in-memory ones.

Reference: the in-memory ``Conley`` covariance of HDFE (``spillover.inference.conley``,
itself checked against Hsiang's ``ols_spatial_HAC`` conventions, fixest's ``vcov_conley``
on a cross-section and closed forms in ``tests/inference``), on the unbalanced lattice
panel of the DuckDB tests (gaps, singletons, ties at the cutoff, firms sharing a point,
firms moving). The Dask side sums the same meat from other pieces: cell score sums per
(location, period) summed within partitions and added across them, location pairs from the
tiled search, serial terms within partitions after the scores are moved by entity.
Coefficients, bread and pair sets are identical; only the order of floating-point sums
differs (~n eps on meats of order 1, SEs of order 0.03), so 1e-10 absolute on SEs leaves
several orders of margin, while a missed or extra pair (a pair's product moves an SE by
~1e-4 here), a lost serial pair across partitions or unweighted scores fail.

The pair search and period blocks are forced to be small (``small_pieces``: many tiles,
several blocks of periods). The cluster is 2 thread workers shared by the module, 3
partitions, every wait bounded (as in ``test_dask_hdfe.py``).
"""

from __future__ import annotations

import warnings

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from spillover.backends import DaskBackend, ParquetPanel
from spillover.errors import DroppedRowsWarning, GeographyError, PanelError, SpecificationError
from spillover.inference import Conley
from spillover.models import HDFE
from spillover.panel import Panel
from tests.backends.test_duckdb_conley import (  # noqa: F401 - small_pieces is autouse
    ABSORB,
    CUTOFF,
    assert_same,
    check_geometry,
    lattice_panel,
    small_pieces,
)

TIMEOUT = 60  # seconds per wait on the test cluster: a stall fails fast, naming the step
FORMULA = "y ~ x1 + x2"
EUCLIDEAN = {"coords": ("x_km", "y_km"), "metric": "euclidean"}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    df = lattice_panel()
    rng = np.random.default_rng(7)
    df["w"] = rng.uniform(0.5, 2.0, len(df))  # analytic weights
    df["n"] = rng.integers(1, 4, len(df)).astype(float)  # frequency weights
    df["x_m"], df["y_m"] = df["x_km"] * 1000 + 500_000, df["y_km"] * 1000  # not degrees
    df["x_gap"] = df["x_km"].where(df.index != df.index[len(df) // 2])  # one missing
    return df


@pytest.fixture(scope="module")
def cluster():
    with DaskBackend(n_workers=2, processes=False, partitions=3, timeout=TIMEOUT) as backend:
        yield backend


@pytest.fixture(scope="module")
def staged(frame, cluster):
    """The unweighted model staged once on Dask, fitted by several tests."""
    with model(panel(frame), cluster) as staged:
        yield staged


def model(data, backend=None, absorb=ABSORB, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return HDFE(FORMULA, data, absorb=absorb, backend=backend, **kwargs)


def panel(frame):
    return Panel(frame, entity="firm", time="year")


SPECS = [
    Conley(cutoff_km=CUTOFF, lags=lags, kernel=kernel, **coords)
    for coords in (EUCLIDEAN, {"coords": ("lon", "lat"), "metric": "haversine"})
    for lags in (0, 2)
    for kernel in ("uniform", "bartlett")
]


#: Each metric, lag count and kernel twice in the default run; the rest of the grid slow.
QUICK = {0, 3, 5, 6}


@pytest.mark.parametrize(
    "spec",
    [pytest.param(s, marks=() if i in QUICK else pytest.mark.slow) for i, s in enumerate(SPECS)],
    ids=lambda s: f"{s.metric}-{s.lags}-{s.kernel}",
)
def test_equals_in_memory(frame, staged, spec):
    """Euclidean and lon/lat, lags 0 and 2, both kernels."""
    assert_same(staged.fit(vcov=spec), model(panel(frame)).fit(vcov=spec))


@pytest.mark.parametrize(
    ("weights", "spec"),
    [({"weights": "w"}, SPECS[6]), ({"weights": "n", "weight_type": "frequency"}, SPECS[3])],
    ids=["analytic", "frequency"],
)
def test_weighted_equals_in_memory(frame, cluster, weights, spec):
    """Scores w e x' (both weight types, as in memory), with spatial and serial terms."""
    memory = model(panel(frame), **weights).fit(vcov=spec)
    assert_same(model(panel(frame), cluster, **weights).fit(vcov=spec), memory)


def test_the_comparison_can_fail(frame):
    """The spatial and serial terms and the weights each move the SEs far beyond 1e-10."""
    memory = model(panel(frame))
    full = memory.fit(vcov=SPECS[3]).std_errors  # euclidean, lags 2, bartlett
    for other in (
        memory.fit(vcov=Conley(cutoff_km=0, **EUCLIDEAN)),
        memory.fit(vcov=Conley(cutoff_km=CUTOFF, kernel="bartlett", **EUCLIDEAN)),
        model(panel(frame), weights="w").fit(vcov=SPECS[3]),
    ):
        assert np.abs(full - other.std_errors).max() > 1e-4


def test_units_spread_over_partitions(frame, cluster, tmp_path):
    """Absorbing region x year only, from Parquet files cut by year, with dates as
    periods: a firm's rows start in several partitions, so its serial terms need the move
    by entity (lags spanning the decade; wide cutoff: every lattice pair)."""
    dated = frame.assign(year=pd.to_datetime(frame["year"].astype(str) + "-01-01"))
    folder = tmp_path / "firms"
    folder.mkdir()
    for i, (_, part) in enumerate(dated.groupby(dated["year"].dt.year % 3)):
        part.to_parquet(folder / f"part{i}.parquet")
    files = ParquetPanel(folder, entity="firm", time="year")
    spec = Conley(cutoff_km=40, lags=9, kernel="bartlett", **EUCLIDEAN)
    out = model(files, cluster, absorb=["region:year"]).fit(vcov=spec)
    assert_same(out, model(panel(dated), absorb=["region:year"]).fit(vcov=spec))


@pytest.mark.parametrize("crs", [None, pytest.param("EPSG:4326", marks=pytest.mark.slow)])
def test_panel_geometry_equals_in_memory(cluster, crs):
    """Conley() without coords reads the Panel's geometry as in memory: EPSG:5070 metres
    (planar, cutoff converted to metres) and the same points in lon/lat (great circles)."""
    check_geometry(cluster, crs, n_firms=80, n_years=4, cutoff_km=60.0)


# ---------------------------------------------------------------------- refusals
def test_bad_data_is_refused_as_on_duckdb(staged):
    """The DuckDB messages, rows named (the checks are one module for both backends)."""
    with pytest.raises(SpecificationError, match=r"\['east'\] are not in the data.*available"):
        staged.fit(vcov=Conley(cutoff_km=5, coords=("east", "y_km"), metric="euclidean"))
    with pytest.raises(SpecificationError, match=r"coords=\('lon', 'lat'\)"):
        staged.fit(vcov=Conley(cutoff_km=5))
    with pytest.raises(SpecificationError, match="finite"):
        staged.fit(vcov=Conley(cutoff_km=float("inf"), **EUCLIDEAN))
    with pytest.raises(GeographyError, match=r"out of range.*e\.g\. \(entity, time\) \(\d+, "):
        staged.fit(vcov=Conley(cutoff_km=5, coords=("x_m", "y_m")))


def test_missing_coordinates_name_rows_and_fix(frame, staged):
    firm, year = (int(v) for v in frame.loc[frame["x_gap"].isna(), ["firm", "year"]].iloc[0])
    spec = Conley(cutoff_km=5, coords=("x_gap", "y_km"), metric="euclidean")
    with pytest.raises(GeographyError, match=rf"1 rows have missing.*\({firm}, {year}\).*Fill"):
        staged.fit(vcov=spec)


def test_data_without_keys_is_refused(frame, cluster):
    spec = Conley(cutoff_km=5, **EUCLIDEAN)
    with pytest.raises(SpecificationError, match=r"entity and time columns.*ParquetPanel"):
        model(dd.from_pandas(frame, npartitions=2), cluster).fit(vcov=spec)


def test_duplicate_keys_in_different_partitions_are_refused(frame, cluster):
    """A repeated (firm, year) row whose twin sits in another partition (absorbing
    region x year: the firm's rows are spread) is found after the move by entity."""
    first = frame.iloc[:1].assign(region=(frame["region"].iloc[0] + 3) % 6)
    doubled = pd.concat([frame, first]).set_index(["firm", "year"])
    spec = Conley(cutoff_km=5, **EUCLIDEAN)
    key = tuple(int(v) for v in frame[["firm", "year"]].iloc[0])
    with pytest.raises(PanelError, match=rf"more than once, e\.g\. \({key[0]}, {key[1]}\)"):
        model(doubled, cluster, absorb=["region:year"]).fit(vcov=spec)
