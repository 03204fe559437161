"""Conley standard errors of HDFE on DuckDB equal the in-memory ones.

Reference: the in-memory ``Conley`` covariance of HDFE (``spillover.inference.conley``,
itself checked against Hsiang's ``ols_spatial_HAC`` conventions, fixest's ``vcov_conley``
on a cross-section and closed forms in ``tests/inference``). The DuckDB side sums the
same meat from other pieces: cell score sums per (location, period) from SQL, location
pairs from the tiled search (:func:`spillover.weights._tiles.band_pairs`, or latitude
strips for lon/lat), the serial terms from a SQL self-join. Coefficients, bread and the
pair sets are identical; only the order of floating-point sums differs (~n eps on
meats of order 1, SEs of order 0.03), so 1e-10 absolute on SEs leaves several orders of
margin while any missed or extra pair (a pair's product moves an SE by ~1e-4 here) or
a wrong weight fails.

Every DuckDB run is capped at 256 MB of memory, and the pair search and period blocks are
forced to be small (many tiles, halos crossing tile edges, several blocks of periods).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.backends import DuckDBBackend
from spillover.errors import DroppedRowsWarning, GeographyError, PanelError, SpecificationError
from spillover.inference import Conley
from spillover.models import HDFE, _conley_out_of_core
from spillover.panel import Panel

CAP = "256MB"
ABSORB = ["firm", "year", "region:year"]
CUTOFF = 3.0  # lattice units (km): many firm pairs sit at exactly this distance


def lattice_panel(seed: int = 1, n_firms: int = 150) -> pd.DataFrame:
    """Firms seen 1-7 of 10 years (gaps, single-year firms = singletons), 6 regions, on an
    integer km lattice (ties at the cutoff, firms sharing a point), a few firms moving in
    some years, and lon/lat columns for great-circle distances."""
    rng = np.random.default_rng(seed)
    rows = [
        (f, y)
        for f in range(n_firms)
        for y in np.sort(rng.choice(np.arange(2000, 2010), rng.integers(1, 8), replace=False))
    ]
    df = pd.DataFrame(rows, columns=["firm", "year"])
    df["region"] = df["firm"] % 6
    df["x1"] = rng.normal(size=len(df)) + rng.normal(size=n_firms)[df["firm"]]
    df["x2"] = rng.normal(size=len(df))
    effect = (
        rng.normal(size=n_firms)[df["firm"]]
        + rng.normal(size=(6, 10))[df["region"], df["year"] - 2000]
    )
    site = rng.normal(size=(16, 16))  # spatially correlated errors on the lattice
    df["x_km"] = rng.integers(0, 16, n_firms)[df["firm"]].astype(float)
    df["y_km"] = rng.integers(0, 16, n_firms)[df["firm"]].astype(float)
    moved = (df["firm"] % 10 == 0) & (df["year"] >= 2005)
    df.loc[moved, "x_km"] = (df.loc[moved, "x_km"] + 2) % 16
    near = site[df["x_km"].astype(int), df["y_km"].astype(int)]
    df["y"] = 0.5 * df["x1"] - 0.2 * df["x2"] + effect + near + rng.normal(size=len(df))
    df["lon"] = 8.0 + df["x_km"] / 75.0  # about 1 km per unit of x around 47 N
    df["lat"] = 47.0 + df["y_km"] / 111.0
    return df


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return lattice_panel()


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch):
    """Tiles of 7 locations and blocks of 3 periods: edges and halos everywhere."""
    monkeypatch.setattr(_conley_out_of_core, "TILE_POINTS", 7)
    monkeypatch.setattr(_conley_out_of_core, "BLOCK_BYTES", 8 * 3 * 160 * 3)


def fit(data, vcov, backend=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return HDFE("y ~ x1 + x2", data, absorb=ABSORB, backend=backend).fit(vcov=vcov)


def duckdb():
    return DuckDBBackend(memory_limit=CAP)


def assert_same(a, b):
    assert_allclose(a.params, b.params, rtol=0, atol=1e-10)
    assert_allclose(a.vcov.to_numpy(), b.vcov.to_numpy(), rtol=0, atol=1e-12)
    assert_allclose(a.std_errors, b.std_errors, rtol=0, atol=1e-10)
    assert (a.nobs, a.df_resid, a.vcov_name) == (b.nobs, b.df_resid, b.vcov_name)


def test_lattice_has_ties_singletons_gaps_and_shared_points(frame):
    """The panel exercises what the comparisons claim (so they can fail)."""
    xy = frame.drop_duplicates("firm")[["x_km", "y_km"]].to_numpy()
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    assert (d == CUTOFF).sum() > 50  # pairs exactly at the cutoff
    assert (d[np.triu_indices(len(xy), 1)] == 0).sum() > 0  # firms sharing a point
    assert (frame.groupby("firm").size() == 1).sum() > 5  # singletons
    assert frame.groupby("firm")["year"].apply(lambda y: np.diff(y).max(initial=1) > 1).any()


@pytest.mark.parametrize("kernel", ["uniform", "bartlett"])
@pytest.mark.parametrize("lags", [0, 2])
@pytest.mark.parametrize("metric", ["euclidean", "haversine"])
def test_equals_in_memory(frame, kernel, lags, metric):
    coords = ("x_km", "y_km") if metric == "euclidean" else ("lon", "lat")
    spec = Conley(cutoff_km=CUTOFF, lags=lags, kernel=kernel, coords=coords, metric=metric)
    panel = Panel(frame, entity="firm", time="year")
    memory = fit(panel, spec)
    assert_same(fit(panel, spec, duckdb()), memory)
    # the spatial and serial parts matter: HC0-like SEs are far away
    plain = fit(panel, Conley(cutoff_km=0, coords=coords, metric=metric))
    assert np.abs(memory.std_errors - plain.std_errors).max() > 1e-3


@pytest.mark.parametrize("weight_type", ["analytic", "frequency"])
def test_weighted_equals_in_memory(frame, weight_type):
    """Scores w e x' with either weight type, as in memory (unweighted scores moved the
    SEs by ~1e-2 here)."""
    rng = np.random.default_rng(5)
    w = (
        rng.integers(1, 4, len(frame))
        if weight_type == "frequency"
        else rng.uniform(0.5, 2, len(frame))
    )
    panel = Panel(frame.assign(w=w.astype(float)), entity="firm", time="year")
    spec = Conley(cutoff_km=CUTOFF, lags=2, coords=("lon", "lat"))
    kw = dict(weights="w", weight_type=weight_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        memory = HDFE("y ~ x1 + x2", panel, absorb=ABSORB, **kw).fit(vcov=spec)
        out = HDFE("y ~ x1 + x2", panel, absorb=ABSORB, backend=duckdb(), **kw).fit(vcov=spec)
    assert_same(out, memory)
    assert np.abs(memory.std_errors - fit(panel, spec).std_errors).max() > 1e-4


def test_cutoff_zero_and_wide_cutoff_equal_in_memory(frame):
    """0: identical locations only (firms sharing a point, as in memory); 40 km: every
    pair of the 16 x 16 lattice, serial lags spanning the whole decade."""
    panel = Panel(frame, entity="firm", time="year")
    for spec in (
        Conley(cutoff_km=0, coords=("x_km", "y_km"), metric="euclidean"),
        Conley(cutoff_km=40, lags=9, coords=("x_km", "y_km"), metric="euclidean"),
    ):
        assert_same(fit(panel, spec, duckdb()), fit(panel, spec))


def test_ties_at_the_cutoff_are_included(frame):
    """Pairs at exactly the cutoff count with weight 1 (uniform) and 0 (Bartlett): moving
    the cutoff just below the lattice distance changes the uniform meat only."""
    panel = Panel(frame, entity="firm", time="year")

    def se(kernel, cutoff):
        spec = Conley(cutoff_km=cutoff, kernel=kernel, coords=("x_km", "y_km"), metric="euclidean")
        return fit(panel, spec, duckdb()).std_errors

    below = CUTOFF * (1 - 1e-9)
    assert np.abs(se("uniform", CUTOFF) - se("uniform", below)).max() > 1e-4
    assert_allclose(se("bartlett", CUTOFF), se("bartlett", below), rtol=1e-7)


def test_parquet_panel_and_dated_periods(frame, tmp_path):
    """A ParquetPanel with dates as periods (calendar years, as in memory)."""
    from spillover.backends import ParquetPanel

    dated = frame.assign(year=pd.to_datetime(frame["year"].astype(str) + "-01-01"))
    dated.to_parquet(tmp_path / "firms.parquet")
    spec = Conley(cutoff_km=CUTOFF, lags=3, coords=("x_km", "y_km"), metric="euclidean")
    files = ParquetPanel(tmp_path / "firms.parquet", entity="firm", time="year")
    assert_same(fit(files, spec, duckdb()), fit(Panel(dated, entity="firm", time="year"), spec))


@pytest.mark.parametrize("crs", [None, "EPSG:4326"])
def test_panel_geometry_equals_in_memory(crs):
    """Conley() without coords reads the Panel's geometry as in memory: EPSG:5070 metres
    (planar, cutoff converted to metres) and the same points in lon/lat (great circles)."""
    check_geometry(duckdb(), crs)


def check_geometry(backend, crs, n_firms=150, n_years=5, cutoff_km=40.0):
    """HDFE with Conley() on a simulated Panel with geometry (``crs`` None: EPSG:5070)
    equals in memory on ``backend``, and the spatial terms matter."""
    from spillover import simulate

    sim = simulate.firms(n_firms, n_years, seed=2)
    geo = sim.panel.geo if crs is None else sim.panel.geo.to_crs(crs)
    panel = Panel(sim.panel.data, entity="firm", time="year", geo=geo)
    spec = Conley(cutoff_km=cutoff_km, lags=1, kernel="uniform")
    formula, absorb = "log_wage ~ log_capital + log_geo_pool", ["firm", "year"]
    memory = HDFE(formula, panel, absorb=absorb).fit(vcov=spec)
    out = HDFE(formula, panel, absorb=absorb, backend=backend).fit(vcov=spec)
    assert_same(out, memory)
    plain = HDFE(formula, panel, absorb=absorb).fit(vcov=Conley(cutoff_km=0))
    assert np.abs(memory.std_errors - plain.std_errors).max() > 1e-4


# ---------------------------------------------------------------------- refusals
def test_missing_coordinate_column_is_named(frame):
    panel = Panel(frame, entity="firm", time="year")
    with pytest.raises(SpecificationError, match=r"\['east'\] are not in the data.*available"):
        fit(panel, Conley(cutoff_km=5, coords=("east", "y_km"), metric="euclidean"), duckdb())


def test_missing_coordinates_name_rows_and_fix(frame):
    bad = frame.copy()
    firm = int(bad.groupby("firm").size().loc[lambda n: n >= 4].index[0])
    year = int(bad.loc[bad["firm"] == firm, "year"].iloc[1])
    bad.loc[(bad["firm"] == firm) & (bad["year"] == year), "x_km"] = np.nan
    panel = Panel(bad, entity="firm", time="year")
    spec = Conley(cutoff_km=5, coords=("x_km", "y_km"), metric="euclidean")
    with pytest.raises(GeographyError, match=rf"1 rows have missing.*\({firm}, {year}\).*Fill"):
        fit(panel, spec, duckdb())


def test_projected_coordinates_read_as_degrees_are_refused(frame):
    """coords= default to (lon, lat) degrees, as in memory; x/y in metres are refused."""
    metres = frame.assign(x_m=frame["x_km"] * 1000 + 500_000, y_m=frame["y_km"] * 1000)
    panel = Panel(metres, entity="firm", time="year")
    with pytest.raises(GeographyError, match=r"out of range.*e\.g\..*metric='euclidean'"):
        fit(panel, Conley(cutoff_km=5, coords=("x_m", "y_m")), duckdb())


def test_geometry_without_coords_points_to_columns(frame):
    panel = Panel(frame, entity="firm", time="year")
    with pytest.raises(SpecificationError, match=r"coords=\('lon', 'lat'\)"):
        fit(panel, Conley(cutoff_km=5), duckdb())


@pytest.mark.parametrize("cutoff", [-1.0, float("nan")])
def test_negative_cutoff_is_refused(cutoff):
    with pytest.raises(SpecificationError, match="cutoff_km must be >= 0"):
        Conley(cutoff_km=cutoff, coords=("x_km", "y_km"))


def test_infinite_cutoff_is_refused(frame):
    panel = Panel(frame, entity="firm", time="year")
    spec = Conley(cutoff_km=float("inf"), coords=("x_km", "y_km"), metric="euclidean")
    with pytest.raises(SpecificationError, match="finite"):
        fit(panel, spec, duckdb())


def test_relation_without_keys_is_refused(frame):
    spec = Conley(cutoff_km=5, coords=("x_km", "y_km"), metric="euclidean")
    with pytest.raises(SpecificationError, match=r"entity and time columns.*ParquetPanel"):
        fit(frame, spec, duckdb())


def test_duplicate_keys_are_refused(frame):
    doubled = pd.concat([frame, frame.iloc[:1]]).set_index(["firm", "year"])
    spec = Conley(cutoff_km=5, coords=("x_km", "y_km"), metric="euclidean")
    with pytest.raises(PanelError, match=r"more than once, e\.g\."):
        fit(doubled, spec, duckdb())
