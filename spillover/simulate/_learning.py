"""Learning by doing: unit costs that fall with a firm's own and nearby cumulative output."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from spillover._validate import as_rng
from spillover.errors import SpecificationError
from spillover.panel import Panel
from spillover.simulate._pools import decay_matrix
from spillover.simulate._space import place_firms, square_area


@dataclass(frozen=True)
class LearningTruth:
    """The parameters of :func:`learning_by_doing`.

    Output: ``log q_it = s_i + growth * t + u_it``, s_i ~ N(0, size_sd^2), u an AR(1)
    with coefficient 0.5 and innovation sd ``output_sd``. Experience (cumulative output
    before year t): ``E_it = initial_years * q_i1 + sum_{s < t} q_is``.

    Unit cost: ``log c_it = a_i + delta_t - own * log E_it - local * log(1 + L_it)
    - national * log(1 + N_it) + e_it``, with the local pool ``L_it = sum_{j != i}
    exp(-d_ij / bandwidth_km) E_jt`` over d_ij <= cutoff_km, the national pool
    ``N_it = sum_{j != i} E_jt``, a_i ~ N(0, 0.2^2), delta_t a random walk with sd 0.02
    and e_it ~ N(0, sigma^2). The learning rate (cost fall per doubling of own
    experience) is ``1 - 2**-own``.
    """

    own: float = 0.3
    local: float = 0.1
    national: float = 0.0
    bandwidth_km: float = 25.0
    cutoff_km: float = 125.0
    growth: float = 0.05
    size_sd: float = 0.8
    output_sd: float = 0.2
    initial_years: float = 2.0
    sigma: float = 0.05

    def __post_init__(self) -> None:
        for name in ("bandwidth_km", "cutoff_km", "size_sd", "output_sd", "initial_years"):
            if not getattr(self, name) > 0:
                raise SpecificationError(f"{name} must be > 0, got {getattr(self, name)}.")
        if not self.sigma > 0:
            raise SpecificationError(f"sigma must be > 0, got {self.sigma}.")


@dataclass(frozen=True)
class SimulatedLearning:
    """What :func:`learning_by_doing` returns.

    Attributes
    ----------
    panel : Panel
        Firm-year panel (``firm``, ``year``): ``output`` q, ``unit_cost`` c, ``region``,
        and the simulator's own ``experience`` E, ``local_pool`` L and ``national_pool``
        N (to check rebuilt measures against); firm points as geometry (EPSG:5070 m).
    regions : geopandas.GeoDataFrame
        The study area's square regions (the "clusters" of the experience measures).
    truth : LearningTruth
    """

    panel: Panel
    regions: gpd.GeoDataFrame
    truth: LearningTruth


def learning_by_doing(
    n_firms: int = 1500,
    n_years: int = 12,
    *,
    truth: LearningTruth | None = None,
    area: gpd.GeoDataFrame | None = None,
    n_clusters: int = 40,
    cluster_sd_km: float = 20.0,
    start_year: int = 2000,
    seed: int | np.random.Generator | None = None,
) -> SimulatedLearning:
    """Simulate a firm-year panel of output and unit costs with learning spillovers.

    Parameters
    ----------
    n_firms, n_years : int
        Firms (ids 1..n_firms, at least 2) and years (at least 2).
    truth : LearningTruth, optional
        Parameters (defaults in :class:`LearningTruth`: own learning 0.3, a local
        spillover 0.1 decaying with distance at 25 km, no national spillover).
    area : geopandas.GeoDataFrame, optional
        Regions in a projected CRS in metres; default :func:`square_area` (1,000 km, 10 x
        10 regions of 100 km).
    n_clusters, cluster_sd_km : int, float
        Firms scatter around ``n_clusters`` city centres (10% uniform over the area).
    start_year : int, default 2000
    seed : int or numpy.random.Generator, optional
        The same seed gives the same data.

    Returns
    -------
    SimulatedLearning

    Notes
    -----
    The model is stated in :class:`LearningTruth`. The panel is balanced. The local pool
    crosses region borders (it decays with distance, not with administrative units), so
    a pool of others' experience in the firm's own region measures it with error and the
    pool outside the region picks up part of it.

    Examples
    --------
    >>> from spillover import simulate
    >>> sim = simulate.learning_by_doing(50, 4, seed=1)
    >>> sim.panel.nobs, bool((sim.panel["unit_cost"] > 0).all())
    (200, True)
    """
    truth = LearningTruth() if truth is None else truth
    for name, value in (("n_firms", n_firms), ("n_years", n_years)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 2:
            raise SpecificationError(f"{name} must be an integer >= 2, got {value!r}.")
    rng = as_rng(seed)
    regions = square_area() if area is None else area
    xy, region_pos, _ = place_firms(
        rng, regions, n_firms, n_clusters=n_clusters, cluster_sd_m=cluster_sd_km * 1e3,
        cluster_tail=1.5, background_share=0.1,
    )  # fmt: skip
    q = _output(rng, n_firms, n_years, truth)  # years x firms
    experience = truth.initial_years * q[0] + np.vstack([np.zeros(n_firms), np.cumsum(q, 0)[:-1]])
    w = decay_matrix(xy, bandwidth_m=truth.bandwidth_km * 1e3, cutoff_m=truth.cutoff_km * 1e3)
    local = (w @ experience.T).T
    national = experience.sum(axis=1, keepdims=True) - experience
    delta = np.cumsum(0.02 * rng.standard_normal(n_years))
    log_cost = (
        0.2 * rng.standard_normal(n_firms)[None, :]
        + delta[:, None]
        - truth.own * np.log(experience)
        - truth.local * np.log1p(local)
        - truth.national * np.log1p(national)
        + truth.sigma * rng.standard_normal((n_years, n_firms))
    )
    ids = pd.Index(np.arange(1, n_firms + 1), name="firm")
    region = regions.index.to_numpy()[region_pos]
    data = pd.DataFrame(
        {"firm": np.tile(ids, n_years),
         "year": np.repeat(np.arange(start_year, start_year + n_years), n_firms),
         "region": np.tile(region, n_years), "output": q.ravel(),
         "unit_cost": np.exp(log_cost).ravel(), "experience": experience.ravel(),
         "local_pool": local.ravel(), "national_pool": national.ravel()}
    )  # fmt: skip
    geo = gpd.GeoDataFrame(
        {"region": region}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=regions.crs, index=ids,
    )  # fmt: skip
    return SimulatedLearning(Panel(data, entity="firm", time="year", geo=geo), regions, truth)


def _output(rng: np.random.Generator, n: int, t: int, truth: LearningTruth) -> np.ndarray:
    """Output q (years x firms): size, trend growth and AR(1) noise, in levels."""
    u = np.empty((t, n))
    u[0] = truth.output_sd / np.sqrt(1 - 0.25) * rng.standard_normal(n)
    for s in range(1, t):
        u[s] = 0.5 * u[s - 1] + truth.output_sd * rng.standard_normal(n)
    size = truth.size_sd * rng.standard_normal(n)
    return np.exp(size[None, :] + truth.growth * np.arange(t)[:, None] + u)
