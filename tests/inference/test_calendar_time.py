"""Serial terms of Conley and Driscoll-Kraay count calendar periods, on gapped and spaced panels.

References, each independent of the package's kernels:

* a dense n x n (Conley) or T x T (Driscoll-Kraay) weight matrix written from the published
  formulas (Conley 1999 with Hsiang's 2010 serial weights ``1 - |t - s|/(L + 1)`` for
  ``|t - s| <= L`` on the time variable itself, as ``ols_spatial_HAC``, ``conleyreg`` and
  ``acreg`` compute them; Driscoll and Kraay 1998 with the Bartlett kernel), applied to the
  scores of the fitted model;
* linearmodels' Driscoll-Kraay (``cov_type="kernel"``), which lags by position among the
  periods present: on a panel whose missing year is filled with zero rows (which leave the
  estimates and the period score sums unchanged) positions are calendar periods.

Both sides compute the same finite sums of products in a different order, so they agree to
rounding: rtol 1e-10 for the dense formulas; 1e-8 for linearmodels, which also inverts
X'X / n (as in tests/inference/test_vcov.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linearmodels.panel import PooledOLS
from numpy.testing import assert_allclose

from spillover import Panel
from spillover.errors import SpecificationError
from spillover.inference import Conley, DriscollKraay
from spillover.inference.conley import conley_meat
from spillover.models import FixedEffects, Pooled

RTOL = 1e-10
EARTH_KM = 6371.0088  # the radius the Conley docstring states
CUTOFF_KM = 60.0
YEARS = {
    "missing year": [2000, 2001, 2003, 2004, 2005, 2006],  # 2002 absent for every unit
    "biennial waves": [2000, 2002, 2004, 2006, 2008, 2010],
}


def make_panel(years: list[int], *, seed: int = 0) -> Panel:
    """20 units near Lyon; a few unit-years dropped on top of the common gaps."""
    rng = np.random.default_rng(seed)
    n = 20
    lon, lat = rng.uniform(4.0, 5.5, n), rng.uniform(45.0, 46.0, n)
    unit = np.repeat(np.arange(n), len(years))
    year = np.tile(years, n)
    keep = rng.uniform(size=len(unit)) > 0.1
    shock = np.repeat(rng.normal(size=n), len(years)) + rng.normal(size=len(unit))
    frame = pd.DataFrame(
        {
            "unit": unit,
            "year": year,
            "lon": lon[unit],
            "lat": lat[unit],
            "x1": rng.normal(size=len(unit)),
            "x2": rng.normal(size=len(unit)) + 0.1 * (year - year.mean()),
        }
    )
    frame["y"] = 1.0 + 0.5 * frame["x1"] - 0.3 * frame["x2"] + shock
    return Panel(frame[keep], entity="unit", time="year")


def design(panel: Panel) -> tuple[np.ndarray, np.ndarray]:
    d = panel.data
    return np.column_stack([np.ones(len(d)), d["x1"], d["x2"]]), d["y"].to_numpy()


def haversine_km(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    p, lam = np.radians(lat), np.radians(lon)
    a = (
        np.sin((p[:, None] - p[None, :]) / 2) ** 2
        + np.cos(p[:, None]) * np.cos(p[None, :]) * np.sin((lam[:, None] - lam[None, :]) / 2) ** 2
    )
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def dense_conley(panel: Panel, lags: int) -> np.ndarray:
    """(X'X)^-1 S' K S (X'X)^-1 with the n x n weights K of Conley (1999) / Hsiang (2010)."""
    x, y = design(panel)
    u = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    s = x * u[:, None]
    d = panel.data
    unit, year = d.index.get_level_values(0).to_numpy(), d.index.get_level_values(1).to_numpy()
    dist = haversine_km(d["lon"].to_numpy(), d["lat"].to_numpy())
    near = dist[dist > 0]
    assert np.abs(near - CUTOFF_KM).min() > 1e-3  # no pair on the edge of the cutoff
    same_year = year[:, None] == year[None, :]
    spatial = np.where(same_year & (dist <= CUTOFF_KM), 1 - dist / CUTOFF_KM, 0.0)
    apart = np.abs(year[:, None] - year[None, :])  # calendar years, not ranks
    own = (unit[:, None] == unit[None, :]) & ~same_year & (apart <= lags)
    k = spatial + np.where(own, 1 - apart / (lags + 1), 0.0)
    bread = np.linalg.inv(x.T @ x)
    return bread @ (s.T @ k @ s) @ bread


def dense_driscoll_kraay(panel: Panel, lags: int) -> np.ndarray:
    """N/(N-K) (X'X)^-1 [sum_t,s k(|t-s|) h_t h_s'] (X'X)^-1, t and s calendar years."""
    x, y = design(panel)
    u = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    year = panel.data.index.get_level_values(1).to_numpy()
    periods = np.unique(year)
    h = np.array([(x * u[:, None])[year == t].sum(axis=0) for t in periods])
    apart = np.abs(periods[:, None] - periods[None, :])
    k = np.clip(1 - apart / (lags + 1), 0, None)
    bread = np.linalg.inv(x.T @ x)
    n, kx = x.shape
    return n / (n - kx) * bread @ (h.T @ k @ h) @ bread


def positional(panel: Panel) -> Panel:
    """The same panel with time recoded as ranks 0..T-1 (the convention before calendar time)."""
    d = panel.data.reset_index()
    d["year"] = pd.factorize(d["year"], sort=True)[0]
    return Panel(d, entity="unit", time="year")


@pytest.mark.parametrize("case", list(YEARS))
@pytest.mark.parametrize("lags", [1, 2, 3])
def test_conley_serial_terms_match_the_dense_formula(case, lags):
    panel = make_panel(YEARS[case])
    spec = Conley(cutoff_km=CUTOFF_KM, lags=lags, coords=("lon", "lat"))
    res = Pooled("y ~ x1 + x2", panel).fit(vcov=spec)
    assert_allclose(res.vcov.to_numpy(), dense_conley(panel, lags), rtol=RTOL)


@pytest.mark.parametrize("case", list(YEARS))
@pytest.mark.parametrize("lags", [1, 2, 4])
def test_driscoll_kraay_matches_the_dense_formula(case, lags):
    panel = make_panel(YEARS[case])
    res = Pooled("y ~ x1 + x2", panel).fit(vcov=DriscollKraay(lags=lags))
    assert_allclose(res.vcov.to_numpy(), dense_driscoll_kraay(panel, lags), rtol=RTOL)
    assert res.df_resid == len(YEARS[case]) - 1  # T - 1, T the periods observed


def test_biennial_waves_one_year_apart_have_no_serial_weight():
    # lags=1 reaches one year; waves two years apart are uncorrelated by assumption, as in
    # ols_spatial_HAC, conleyreg and acreg: the covariance equals the one without lags
    panel = make_panel(YEARS["biennial waves"])
    model = Pooled("y ~ x1 + x2", panel)
    for spec, none in [
        (Conley(cutoff_km=CUTOFF_KM, lags=1, coords=("lon", "lat")),
         Conley(cutoff_km=CUTOFF_KM, lags=0, coords=("lon", "lat"))),
        (DriscollKraay(lags=1), DriscollKraay(lags=0)),
    ]:  # fmt: skip
        np.testing.assert_array_equal(model.fit(vcov=spec).vcov, model.fit(vcov=none).vcov)


def test_consecutive_years_are_unchanged_by_calendar_time():
    # without gaps, calendar years and ranks are the same distances: identical numbers
    panel = make_panel([2000, 2001, 2002, 2003, 2004], seed=3)
    for spec in (Conley(cutoff_km=CUTOFF_KM, lags=2, coords=("lon", "lat")), DriscollKraay(2)):
        a = FixedEffects("y ~ x1 + x2", panel).fit(vcov=spec).vcov
        b = FixedEffects("y ~ x1 + x2", positional(panel)).fit(vcov=spec).vcov
        np.testing.assert_array_equal(a, b)


def _linearmodels_dk(frame: pd.DataFrame, lags: int) -> np.ndarray:
    exog = frame[["x1", "x2"]].assign(const=frame["const"])[["const", "x1", "x2"]]
    fit = PooledOLS(frame["y"], exog).fit(
        cov_type="kernel", kernel="bartlett", bandwidth=lags, debiased=False
    )
    return fit.cov.to_numpy()


def test_linearmodels_lags_by_position_and_agrees_on_a_zero_filled_calendar():
    panel = make_panel(YEARS["missing year"], seed=5)
    n, k, lags = panel.nobs, 3, 2
    frame = panel.data.assign(const=1.0)
    ours = Pooled("y ~ x1 + x2", panel).fit(vcov=DriscollKraay(lags)).vcov.to_numpy()
    ours_positional = Pooled("y ~ x1 + x2", positional(panel)).fit(vcov=DriscollKraay(lags))
    # 1) linearmodels on the gapped panel treats 2001 and 2003 as adjacent periods
    lm_gapped = _linearmodels_dk(frame, lags)
    assert_allclose(lm_gapped * n / (n - k), ours_positional.vcov.to_numpy(), rtol=1e-8)
    assert not np.allclose(lm_gapped * n / (n - k), ours, rtol=1e-3)
    # 2) with zero rows for 2002 (no effect on X'X, X'y or the other years' score sums),
    # its positions are calendar years: the same covariance as ours
    units = panel.entities
    filler = pd.DataFrame(
        0.0,
        index=pd.MultiIndex.from_product([units, [2002]], names=["unit", "year"]),
        columns=frame.columns,
    )
    filled = pd.concat([frame, filler]).sort_index()
    assert_allclose(_linearmodels_dk(filled, lags) * n / (n - k), ours, rtol=1e-8)


def test_dates_count_the_same_calendar_periods_as_integers():
    # monthly dates with a month missing for all units = month numbers 12 * year + month
    panel = make_panel([0, 1, 2, 4, 5, 6], seed=7)  # month 3 missing
    d = panel.data.reset_index()
    d["year"] = pd.DatetimeIndex([pd.Timestamp(2001, 1 + int(m), 1) for m in d["year"]])
    dated = Panel(d, entity="unit", time="year")
    for spec in (Conley(cutoff_km=CUTOFF_KM, lags=2, coords=("lon", "lat")), DriscollKraay(3)):
        a = Pooled("y ~ x1 + x2", panel).fit(vcov=spec).vcov
        b = Pooled("y ~ x1 + x2", dated).fit(vcov=spec).vcov
        np.testing.assert_array_equal(a, b)


def test_lags_beyond_the_calendar_span_are_refused():
    panel = make_panel(YEARS["biennial waves"])  # 6 waves over 11 calendar years
    Pooled("y ~ x1 + x2", panel).fit(vcov=DriscollKraay(lags=10))  # reaches 2000-2010
    with pytest.raises(SpecificationError, match="below the 11 calendar periods"):
        Pooled("y ~ x1 + x2", panel).fit(vcov=DriscollKraay(lags=11))


def test_conley_time_that_is_not_a_period_is_refused_with_the_fix():
    s, xy = np.ones((4, 2)), np.zeros((4, 2))
    with pytest.raises(SpecificationError, match=r"integer period codes.*dt\.year"):
        conley_meat(
            s, xy, entity=[0, 0, 1, 1], time=np.array(["a", "b", "a", "b"], dtype=object),
            cutoff=10.0, metric="haversine", lags=1,
        )  # fmt: skip
