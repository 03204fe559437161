"""Conley standard errors of PanelIV: in memory against a dense sandwich, DuckDB against memory.

References and tolerances:

* In memory, against a dense reference written here from the 2SLS and Conley (1999) /
  Hsiang (2010) formulas: absorbed effects as explicit dummies in both the regressors and
  the instruments (Frisch-Waugh-Lovell holds for 2SLS and for the sandwich's slope block),
  every variable times ``sqrt(w)`` (weighted 2SLS, scores ``w xhat u``),
  ``xhat = Z (Z'Z)^-1 Z'X``, and the n x n weights K: ``K(d)`` between rows of one period
  within the cutoff (1 - d/cutoff, Bartlett, or 1, uniform; ties at the cutoff in), and
  ``1 - |t - s|/(L + 1)`` between a unit's rows up to L calendar periods apart;
  ``V = (Xhat'Xhat)^-1 S'KS (Xhat'Xhat)^-1``, no small-sample factor. The two sides
  differ in how the effects are removed (dummies and lstsq versus sweeps) and in the order
  of sums; with conditioning ~1e2 and ~500 rows the rounding is ~1e-12 relative, so 1e-9
  relative on the covariance.
* DuckDB against the in-memory PanelIV: same sample, algebra and meat, summed in other
  pieces (SQL cell score sums of the instruments times u, mapped by the first-stage
  coefficients, tiled pair search, SQL self-join); only the order of floating-point sums
  differs (~N eps cond on SEs of order 0.05), so 1e-10 absolute on coefficients and SEs
  and 1e-9 relative on first-stage F statistics (order 10-100), as for the other DuckDB
  IV covariances (``test_duckdb_iv.py``).

Every DuckDB run is capped at 256 MB; the pair search and period blocks are forced to be
small (many tiles, halos crossing tile edges, several blocks of periods).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.backends import DuckDBBackend
from spillover.errors import DroppedRowsWarning
from spillover.inference import Conley
from spillover.models import PanelIV, _conley_out_of_core
from spillover.panel import Panel
from tests.backends.test_duckdb_conley import CUTOFF, lattice_panel
from tests.backends.test_duckdb_iv import assert_same
from tests.backends.test_duckdb_wx import IDS, WEIGHTS, cells, make_frame
from tests.inference.test_calendar_time import haversine_km

CAP = "256MB"
FORMULA = "y ~ x2 + [p ~ z1 + z2]"
COORDS = {"euclidean": ("x_km", "y_km"), "haversine": ("lon", "lat")}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """The lattice panel of ``test_duckdb_conley.py`` (ties at the cutoff, shared points,
    moving firms, gaps, singletons) with an endogenous p, instruments and weights."""
    df = lattice_panel()
    rng = np.random.default_rng(11)
    n = len(df)
    df["z1"], df["z2"] = rng.normal(size=(2, n))
    shock = rng.normal(size=n)
    df["p"] = 0.8 * df["z1"] - 0.5 * df["z2"] + 0.5 * df["x1"] + 0.7 * shock + rng.normal(size=n)
    df["y"] = df["y"] + 1.0 * df["p"] + shock
    df["wt"] = rng.uniform(0.5, 2.0, n)
    df["count"] = rng.integers(1, 4, n).astype(float)
    return df


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch):
    """Tiles of 7 locations and blocks of 3 periods: edges and halos everywhere."""
    monkeypatch.setattr(_conley_out_of_core, "TILE_POINTS", 7)
    monkeypatch.setattr(_conley_out_of_core, "BLOCK_BYTES", 8 * 3 * 160 * 3)


def fit(data, spec, backend=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        with PanelIV(kwargs.pop("formula", FORMULA), data, backend=backend, **kwargs) as model:
            return model.fit(vcov=spec)


def duckdb() -> DuckDBBackend:
    return DuckDBBackend(memory_limit=CAP)


# ---------------------------------------------------------------- dense reference
def dummies(codes: np.ndarray) -> np.ndarray:
    return (codes[:, None] == np.unique(codes)[None, :]).astype(float)


def dense_iv_conley(df: pd.DataFrame, spec: Conley, absorb: bool, weights: str | None):
    """(params, covariance) of y ~ 1 + x2 + [p ~ z1 + z2] (with ``absorb``: firm and
    year dummies, slopes only) by dense 2SLS and the n x n Conley weights."""
    n = len(df)
    extra = (
        np.column_stack([dummies(df["firm"].to_numpy()), dummies(df["year"].to_numpy())[:, 1:]])
        if absorb
        else np.ones((n, 1))
    )
    x = np.column_stack([df["x2"], df["p"], extra])
    z = np.column_stack([df["x2"], df["z1"], df["z2"], extra])
    y = df["y"].to_numpy()
    root = np.sqrt(df[weights].to_numpy()) if weights else np.ones(n)
    x, z, y = x * root[:, None], z * root[:, None], y * root
    q = np.linalg.qr(z)[0]
    xhat = q @ (q.T @ x)  # Z (Z'Z)^-1 Z'X
    bread = np.linalg.inv(xhat.T @ xhat)
    b = bread @ (xhat.T @ y)
    u = y - x @ b
    s = xhat * u[:, None]
    k = dense_kernel(df, spec)
    cov = bread @ (s.T @ k @ s) @ bread
    keep = [0, 1] if absorb else [2, 0, 1]  # [Intercept,] x2, p
    return b[keep], cov[np.ix_(keep, keep)]


def dense_kernel(df: pd.DataFrame, spec: Conley) -> np.ndarray:
    """The n x n Conley weights, from each row's own coordinates (on lon/lat no pair lies
    within 5 m of the cutoff, so rounding cannot move a pair across it)."""
    a, c = (df[col].to_numpy() for col in spec.coords)
    if spec.metric == "euclidean":
        dist = np.hypot(a[:, None] - a[None, :], c[:, None] - c[None, :])
    else:
        dist = haversine_km(a, c)  # great circles, the documented earth radius
    unit, year = df["firm"].to_numpy(), df["year"].to_numpy()
    same = year[:, None] == year[None, :]
    near = same & (dist <= spec.cutoff_km)
    shape = 1 - dist / spec.cutoff_km if spec.kernel == "bartlett" else np.ones_like(dist)
    spatial = np.where(near, shape, 0.0)
    apart = np.abs(year[:, None] - year[None, :])
    own = (unit[:, None] == unit[None, :]) & ~same & (apart <= spec.lags)
    return spatial + np.where(own, 1 - apart / (spec.lags + 1), 0.0)


@pytest.mark.parametrize(
    ("absorb", "weights", "metric", "lags", "kernel"),
    [
        (False, None, "euclidean", 0, "uniform"),
        (False, "wt", "haversine", 2, "bartlett"),
        (True, "wt", "euclidean", 2, "uniform"),
        (True, None, "haversine", 1, "bartlett"),
    ],
)
def test_in_memory_matches_dense_sandwich(frame, absorb, weights, metric, lags, kernel):
    # 70 firms keep the dense algebra small; no singletons, so firm and year dummies are
    # the whole sample's effects
    df = frame[frame["firm"] < 70]
    df = df[df.groupby("firm")["year"].transform("size") > 1].reset_index(drop=True)
    spec = Conley(cutoff_km=CUTOFF, lags=lags, kernel=kernel, coords=COORDS[metric], metric=metric)
    res = fit(
        Panel(df, entity="firm", time="year"),
        spec,
        absorb=["firm", "year"] if absorb else None,
        weights=weights,
    )
    b, cov = dense_iv_conley(df, spec, absorb, weights)
    names = ["x2", "p"] if absorb else ["Intercept", "x2", "p"]  # with effects: the slopes
    assert_allclose(res.params[names].to_numpy(), b, rtol=1e-9, atol=0)
    assert_allclose(res.vcov.loc[names, names].to_numpy(), cov, rtol=1e-9, atol=0)
    # the spatial and serial terms matter: the HC0-like Conley(0) SEs are far away
    plain = fit(
        Panel(df, entity="firm", time="year"),
        Conley(cutoff_km=0, coords=COORDS[metric], metric=metric),
        absorb=["firm", "year"] if absorb else None,
        weights=weights,
    )
    assert np.abs(res.std_errors - plain.std_errors).max() > 1e-3


# ---------------------------------------------------------------- DuckDB = memory
@pytest.mark.parametrize("metric", ["euclidean", "haversine"])
@pytest.mark.parametrize("absorb", [None, ["firm", "year", "region:year"]], ids=["pooled", "fe"])
def test_duckdb_equals_in_memory(frame, absorb, metric):
    """Analytic weights; lags 0 (uniform kernel) and 2 (Bartlett) from one staged model."""
    panel = Panel(frame, entity="firm", time="year")
    kwargs = dict(absorb=absorb, weights="wt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        memory = PanelIV(FORMULA, panel, **kwargs)
        with PanelIV(FORMULA, panel, backend=duckdb(), **kwargs) as model:
            for lags, kernel in ((0, "uniform"), (2, "bartlett")):
                spec = Conley(
                    cutoff_km=CUTOFF, lags=lags, kernel=kernel, coords=COORDS[metric], metric=metric
                )
                expected = memory.fit(vcov=spec)
                assert expected.vcov_name.startswith("Conley")
                assert_same(model.fit(vcov=spec), expected)


def test_two_endogenous_and_frequency_weights_equal_in_memory(frame):
    """Two endogenous regressors (P maps [1, x2, z1, z2, z3] to [1, x2, p, q]) and
    frequency weights (N = sum w; the meat of w xhat u, as in memory)."""
    df = frame.assign(q=frame["z2"] + 0.3 * frame["x1"] + frame["x2"] ** 2)
    df["z3"] = np.cos(np.arange(len(df)))
    df["q"] += df["z3"]
    spec = Conley(cutoff_km=CUTOFF, lags=2, coords=("x_km", "y_km"), metric="euclidean")
    kwargs = dict(
        formula="y ~ x2 + [p + q ~ z1 + z2 + z3]", weights="count", weight_type="frequency"
    )
    panel = Panel(df, entity="firm", time="year")
    assert_same(fit(panel, spec, duckdb(), **kwargs), fit(panel, spec, **kwargs))


@pytest.mark.parametrize("crs", [None, pytest.param("EPSG:4326", marks=pytest.mark.slow)])
def test_panel_geometry_equals_in_memory(crs):
    """Conley() without coords reads the Panel's geometry as in memory: EPSG:5070 metres
    (planar, cutoff converted to metres) and the same points in lon/lat (great circles)."""
    from spillover import simulate

    sim = simulate.firms(120, 4, seed=2)
    rng = np.random.default_rng(3)
    data = sim.panel.data.assign(z=rng.normal(size=sim.panel.nobs))
    data["p"] = data["z"] + data["log_geo_pool"] + rng.normal(size=len(data))
    data["y"] = data["log_wage"] + 0.3 * data["p"]
    geo = sim.panel.geo if crs is None else sim.panel.geo.to_crs(crs)
    panel = Panel(data, entity="firm", time="year", geo=geo)
    spec = Conley(cutoff_km=40, lags=1, kernel="uniform")
    kwargs = dict(formula="y ~ log_capital + [p ~ z]", absorb=["firm", "year"])
    memory = fit(panel, spec, **kwargs)
    assert_same(fit(panel, spec, duckdb(), **kwargs), memory)
    plain = fit(panel, Conley(cutoff_km=0), **kwargs)
    assert np.abs(memory.std_errors - plain.std_errors).max() > 1e-4


@pytest.mark.parametrize(
    "absorb", [pytest.param(None, marks=pytest.mark.slow), ["firm", "year"]], ids=["pooled", "fe"]
)
def test_spatial_lag_terms_equal_in_memory(absorb):
    """``W(x)`` terms among the exogenous regressors, endogenous regressors and
    instruments (lags computed in DuckDB), coordinates the grid cells' centroids."""
    df = make_frame()
    centre = {i: (g.centroid.x, g.centroid.y) for i, g in zip(IDS, cells(), strict=True)}
    df["cx"], df["cy"] = zip(*df["firm"].map(centre), strict=True)
    panel = Panel(df, entity="firm", time="year")
    spec = Conley(cutoff_km=2.5, lags=2, coords=("cx", "cy"), metric="euclidean")
    kwargs = dict(formula="y ~ x + W(x) + [p + W(p) ~ q + W(q) + W(z)]", absorb=absorb)
    kwargs["w"] = WEIGHTS["knn6"]
    memory = fit(panel, spec, **kwargs)
    assert_same(fit(panel, spec, duckdb(), **kwargs), memory)
