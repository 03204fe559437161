"""A firm-year R&D panel with geographic and technological spillovers of known size."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from spillover._typing import BoolArray, FloatArray, IntArray
from spillover._validate import as_rng
from spillover.errors import SpecificationError
from spillover.panel import Panel
from spillover.simulate._pools import (
    decay_matrix,
    draw_sectors,
    draw_tech_shares,
    geo_pool,
    tech_pool,
)
from spillover.simulate._space import check_area, place_firms, square_area
from spillover.simulate._truth import OUTCOMES, FirmTruth, SimulatedFirms
from spillover.weights import Weights

_LOGGED = ("rd", "rd_stock", "capital", "employment", "value_added", "productivity", "wage")


def firms(
    n_firms: int,
    n_years: int,
    *,
    seed: int | np.random.Generator | None = None,
    area: gpd.GeoDataFrame | None = None,
    n_clusters: int = 100,
    n_sectors: int = 10,
    n_classes: int = 30,
    truth: FirmTruth | None = None,
    bandwidth_km: float = 5.0,
    cutoff_km: float = 15.0,
    cluster_sd_km: float = 25.0,
    cluster_tail: float = 1.5,
    rural_share: float = 0.1,
    tech_concentration: float = 20.0,
    balanced: bool = True,
    turnover: float = 0.3,
    start_year: int = 2000,
) -> SimulatedFirms:
    """Simulate a firm-year panel with R&D stocks, spillover pools and outcomes.

    Parameters
    ----------
    n_firms, n_years : int
        Firms (ids 1..n_firms) and years (``start_year`` onwards).
    seed : int or numpy.random.Generator, optional
        Seed for ``numpy.random.default_rng``; the same seed gives the same data.
    area : geopandas.GeoDataFrame, optional
        Study-area polygons in a projected CRS in metres, one per region, ids in the
        index. Default: :func:`square_area` (1,000 km square in EPSG:5070 cut into 10 x 10
        regions of 100 km). A geographic (degree) CRS is rejected: project it first.
    n_clusters : int, default 100
        City centres, uniform over the area.
    n_sectors, n_classes : int
        Sectors, and technology classes of the share vectors.
    truth : FirmTruth, optional
        Parameters of the process; default ``FirmTruth()``.
    bandwidth_km, cutoff_km : float
        Geographic pool weights w_ij = exp(-d_ij / bandwidth) for d_ij <= cutoff.
    cluster_sd_km : float, default 25
        Gaussian scatter of a city of average size; a city with share s of the urban
        firms scatters with sd cluster_sd_km * sqrt(s * n_clusters) (city area proportional
        to size, so all cities have the same peak density).
    cluster_tail : float, default 1.5
        Pareto shape of city sizes (smaller: more unequal, a few very large cities).
    rural_share : float, default 0.1
        Share of firms placed uniformly over the area instead of in a city.
    tech_concentration : float, default 20
        How closely firms follow their sector's technology profile.
    balanced : bool, default True
        If False, a ``turnover`` share of firms enters after the first year and
        (independently) a ``turnover`` share exits before the last; spans have no gaps.
    turnover : float, default 0.3
    start_year : int, default 2000

    Returns
    -------
    SimulatedFirms
        Panel, locations, technology shares, truth, pool weights and realised effects.

    Notes
    -----
    R&D stock: K_it = (1 - delta) K_i,t-1 + R_it from the firm's first year, with
    K_i,first = R_i,first / (g + delta), g = ``truth.presample_growth``; so
    ``measures.rd_stock(panel, "rd", growth=g)`` reproduces ``rd_stock``. Pools sum over
    the other firms active in the year: S^geo_it = sum_{j != i} w_ij K_jt and
    S^tech_it = sum_{j != i} P_ij K_jt, P the Jaffe (cosine) proximity of the class
    shares, computed in low rank. Outcomes follow :class:`OutcomeTruth` with log(1 + S)
    pools. Each log outcome's noise is iid, so a two-way fixed-effects regression on the
    four regressors is correctly specified when ``truth.region_year_sd`` is zero.
    Firm effects load on the firm's permanent R&D level (``truth.firm_effect_corr``) and
    include a city premium, which correlates with the geographic pool: within (fixed
    effects) estimators are consistent, pooled OLS and random effects are not.

    Cost: the geographic pool's pairs grow with the square of local firm density. With
    the defaults, 100,000 firms have about 150 neighbours each within 15 km (15 million
    pairs, about 1.3 GB peak memory for the whole run); denser settings (more firms,
    fewer or tighter cities, a longer cutoff) cost proportionally more.

    Examples
    --------
    >>> from spillover import simulate
    >>> sim = simulate.firms(300, 4, seed=1)
    >>> sim.panel.nobs, sim.truth.wage.geo_pool
    (1200, 0.04)
    """
    truth = FirmTruth() if truth is None else truth
    _check_options(n_firms, n_years, n_clusters, n_sectors, n_classes, truth, locals())
    rng = as_rng(seed)
    regions = square_area() if area is None else area
    geoms = check_area(regions)
    xy, region_pos, cluster = place_firms(
        rng, geoms, n_firms, n_clusters=n_clusters, cluster_sd_m=cluster_sd_km * 1e3,
        cluster_tail=cluster_tail, background_share=rural_share,
    )  # fmt: skip
    sector = draw_sectors(rng, cluster, n_clusters, n_sectors)
    shares = draw_tech_shares(rng, sector, n_sectors, n_classes, concentration=tech_concentration)
    active, entry = _activity(rng, n_firms, n_years, balanced, turnover)
    z = rng.standard_normal(n_firms)
    rd = np.exp(_log_rd(rng, truth, z, cluster, n_clusters, sector, n_sectors, n_years))
    stock = np.where(active, _stock(rd, entry, truth), 0.0)
    capital = np.exp(_log_capital(rng, truth, z, n_years))
    w = decay_matrix(xy, bandwidth_m=bandwidth_km * 1e3, cutoff_m=cutoff_km * 1e3)
    cols: dict[str, Any] = {
        "rd": rd, "rd_stock": stock, "capital": capital,
        "geo_pool": geo_pool(w, stock, active), "tech_pool": tech_pool(shares, stock),
    }  # fmt: skip
    fe, ye, rye = _effects(rng, truth, z, cluster, n_clusters, len(regions), n_years)
    cols.update(_outcomes(rng, truth, cols, fe, ye + rye[region_pos]))
    ids = pd.Index(np.arange(1, n_firms + 1), name="firm")
    years = pd.Index(np.arange(start_year, start_year + n_years), name="year")
    locations = gpd.GeoDataFrame(
        {"region": regions.index.to_numpy()[region_pos], "cluster": cluster, "sector": sector},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=geoms.crs, index=ids,
    )  # fmt: skip
    panel = _assemble(cols, locations, active, ids, years)
    return SimulatedFirms(
        panel=panel,
        locations=locations,
        tech_shares=pd.DataFrame(
            shares, index=ids, columns=pd.Index([f"c{k:02d}" for k in range(1, n_classes + 1)])
        ),
        truth=truth,
        geo_weights=Weights(
            w, ids, f"exp(-d/{bandwidth_km:g} km), d <= {cutoff_km:g} km", "original"
        ),
        bandwidth_km=float(bandwidth_km),
        cutoff_km=float(cutoff_km),
        regions=regions,
        **_effect_frames(fe, ye, rye, ids, years, regions.index),
    )


def _effect_frames(
    firm: FloatArray,
    year: FloatArray,
    region_year: FloatArray,
    ids: pd.Index,
    years: pd.Index,
    regions: pd.Index,
) -> dict[str, pd.DataFrame]:
    names = list(OUTCOMES)
    keys = pd.MultiIndex.from_product([regions, years], names=["region", "year"])
    return {
        "firm_effects": pd.DataFrame(firm, index=ids, columns=names),
        "year_effects": pd.DataFrame(year, index=years, columns=names),
        "region_year_effects": pd.DataFrame(
            region_year.reshape(-1, len(names)), index=keys, columns=names
        ),
    }


def _check_options(
    n_firms: int,
    n_years: int,
    n_clusters: int,
    n_sectors: int,
    n_classes: int,
    truth: FirmTruth,
    opts: dict[str, Any],
) -> None:
    counts = {"n_firms": (n_firms, 2), "n_years": (n_years, 1), "n_clusters": (n_clusters, 1),
              "n_sectors": (n_sectors, 1), "n_classes": (n_classes, 2)}  # fmt: skip
    for name, (value, low) in counts.items():
        if not isinstance(value, int | np.integer) or value < low:
            raise SpecificationError(f"{name} must be an integer >= {low}, got {value!r}.")
    if not isinstance(truth, FirmTruth):
        raise SpecificationError(f"truth must be a FirmTruth, not {type(truth).__name__}.")
    for name in ("bandwidth_km", "cutoff_km", "cluster_sd_km", "cluster_tail"):
        if not opts[name] > 0:
            raise SpecificationError(f"{name} must be > 0, got {opts[name]!r}.")
    for name in ("rural_share", "turnover"):
        if not 0.0 <= opts[name] <= 1.0:
            raise SpecificationError(f"{name} must be in [0, 1], got {opts[name]!r}.")
    if opts["tech_concentration"] < 0:
        raise SpecificationError("tech_concentration must be >= 0.")


def _activity(
    rng: np.random.Generator, n: int, t: int, balanced: bool, turnover: float
) -> tuple[BoolArray, IntArray]:
    """Active firm-years (n x t) and entry year positions; spans are contiguous."""
    if balanced or t == 1:
        return np.ones((n, t), dtype=bool), np.zeros(n, dtype=np.intp)
    entry = np.where(rng.random(n) < turnover, rng.integers(1, t, size=n), 0)
    leave = np.where(rng.random(n) < turnover, rng.integers(entry, t), t - 1)
    years = np.arange(t)
    return (years >= entry[:, None]) & (years <= leave[:, None]), entry.astype(np.intp)


def _ar1(rng: np.random.Generator, n: int, t: int, coef: float, sd: float) -> FloatArray:
    """Stationary AR(1) paths, one per row."""
    u = np.empty((n, t))
    u[:, 0] = rng.normal(0.0, sd / np.sqrt(1.0 - coef**2), n)
    shocks = rng.normal(0.0, sd, (n, t))
    for s in range(1, t):
        u[:, s] = coef * u[:, s - 1] + shocks[:, s]
    return u


def _walk(rng: np.random.Generator, groups: int, t: int, sd: float) -> FloatArray:
    """Random walks starting at zero, one row per group."""
    steps = rng.normal(0.0, sd, (groups, t))
    steps[:, 0] = 0.0
    return np.cumsum(steps, axis=1)


def _log_rd(
    rng: np.random.Generator,
    truth: FirmTruth,
    z: FloatArray,
    cluster: IntArray,
    n_clusters: int,
    sector: IntArray,
    n_sectors: int,
    t: int,
) -> FloatArray:
    n = len(z)
    trend = rng.normal(truth.rd_trend_mean, truth.rd_trend_sd, n)
    city = np.vstack([_walk(rng, n_clusters, t, truth.rd_cluster_shock_sd), np.zeros((1, t))])
    sect = _walk(rng, n_sectors, t, truth.rd_sector_shock_sd)
    u = _ar1(rng, n, t, truth.rd_ar, truth.rd_shock_sd)
    level = truth.rd_mean + truth.rd_firm_sd * z
    return level[:, None] + trend[:, None] * np.arange(t) + city[cluster] + sect[sector] + u


def _stock(rd: FloatArray, entry: IntArray, truth: FirmTruth) -> FloatArray:
    """Perpetual inventory from each firm's entry year (values before entry unused)."""
    delta, g = truth.depreciation, truth.presample_growth
    k = np.empty_like(rd)
    k[:, 0] = rd[:, 0] / (g + delta)
    for s in range(1, rd.shape[1]):
        k[:, s] = np.where(entry == s, rd[:, s] / (g + delta), (1 - delta) * k[:, s - 1] + rd[:, s])
    return k


def _log_capital(rng: np.random.Generator, truth: FirmTruth, z: FloatArray, t: int) -> FloatArray:
    n = len(z)
    level = (
        truth.capital_mean
        + truth.capital_rd_loading * truth.rd_firm_sd * z
        + truth.capital_firm_sd * rng.standard_normal(n)
    )
    return level[:, None] + _ar1(rng, n, t, truth.capital_ar, truth.capital_shock_sd)


def _effects(
    rng: np.random.Generator,
    truth: FirmTruth,
    z: FloatArray,
    cluster: IntArray,
    n_clusters: int,
    n_regions: int,
    t: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Firm (n x 3), year (t x 3) and region-year (regions x t x 3) effects."""
    k = len(OUTCOMES)
    c = truth.firm_effect_corr
    v = rng.standard_normal((len(z), k))
    premium = np.vstack([rng.normal(0.0, truth.cluster_effect_sd, (n_clusters, k)), np.zeros(k)])
    firm = truth.firm_effect_sd * (c * z[:, None] + np.sqrt(1 - c**2) * v) + premium[cluster]
    year = 0.01 * np.arange(t)[:, None] + rng.normal(0.0, truth.year_effect_sd, (t, k))
    region_year = rng.normal(0.0, truth.region_year_sd, (n_regions, t, k))
    return firm, year, region_year


def _outcomes(
    rng: np.random.Generator,
    truth: FirmTruth,
    cols: dict[str, Any],
    firm: FloatArray,
    time: FloatArray,
) -> dict[str, FloatArray]:
    """Log outcomes from the truth; ``time`` is year plus region-year effects (n x t x 3)."""
    out = {}
    for o, name in enumerate(OUTCOMES):
        b = truth.outcome(name)
        xb = (
            b.rd_stock * np.log(np.where(cols["rd_stock"] > 0, cols["rd_stock"], 1.0))
            + b.capital * np.log(cols["capital"])
            + b.geo_pool * np.log1p(cols["geo_pool"])
            + b.tech_pool * np.log1p(cols["tech_pool"])
        )
        noise = rng.normal(0.0, b.sigma, xb.shape)
        out[name] = np.exp(b.intercept + firm[:, [o]] + time[..., o] + xb + noise)
    out["value_added"] = out["productivity"] * out["employment"]
    return out


def _assemble(
    cols: dict[str, Any],
    locations: gpd.GeoDataFrame,
    active: BoolArray,
    ids: pd.Index,
    years: pd.Index,
) -> Panel:
    n, t = active.shape
    data: dict[str, Any] = {
        "firm": np.broadcast_to(ids.to_numpy()[:, None], (n, t))[active],
        "year": np.broadcast_to(years.to_numpy()[None, :], (n, t))[active],
    }
    for name in ("sector", "region", "cluster"):
        data[name] = np.broadcast_to(locations[name].to_numpy()[:, None], (n, t))[active]
    for name, values in cols.items():
        data[name] = values[active]
    for name in (*_LOGGED, "geo_pool", "tech_pool"):
        data[f"log_{name}"] = np.log1p(data[name]) if name.endswith("pool") else np.log(data[name])
    return Panel(pd.DataFrame(data), entity="firm", time="year", geo=locations)
