"""A cluster's knowledge network: domestic and foreign, high- and low-capability firms, ties
formed by proximity and capability, productivity that spills over along the ties."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._validate import as_rng
from spillover.errors import SpecificationError
from spillover.networks import KnowledgeNetwork
from spillover.panel import Panel
from spillover.simulate._pools import draw_sectors, draw_tech_shares
from spillover.simulate._space import place_firms, square_area

_MAX_FIRMS = 3000  # ties are drawn over all N(N-1)/2 pairs at once


@dataclass(frozen=True)
class LearningNetworkTruth:
    """The parameters of :func:`learning_network`.

    Ties. Firms i < j are tied independently with probability
    ``logistic(tie_intercept - d_ij / tie_distance_km + tie_capability * (h_i + h_j))``,
    d_ij their distance in km and h the high-capability indicator; a firm left without a
    tie is then tied to its nearest firm.

    Productivity (a spatial Durbin panel on the row-standardised network W):
    ``y_t = rho W y_t + beta x_t + theta W x_t + mu + alpha_t + e_t``, x_it ~ N(0, 1)
    (log R&D intensity), mu_i = capability_premium * h_i + N(0, firm_sd^2), alpha_t ~
    N(0, 0.1^2), e_it ~ N(0, sigma^2).

    Catch-up ("flying geese"): productivity growth of firm i over the period,
    ``g_i = growth + geese * l_i * n^H_i + geese_low * l_i * n^L_i + geese_high * h_i *
    n^H_i + N(0, growth_sd^2)``, l_i = 1 - h_i, n^H_i and n^L_i its ties to high- and
    low-capability firms: low-capability firms learn from ties to high-capability ones.
    """

    foreign_share: float = 0.25
    high_if_foreign: float = 0.6
    high_if_domestic: float = 0.25
    tie_intercept: float = -1.5
    tie_distance_km: float = 8.0
    tie_capability: float = 0.8
    rho: float = 0.4
    beta: float = 1.0
    theta: float = 0.5
    capability_premium: float = 0.5
    firm_sd: float = 0.3
    sigma: float = 0.3
    growth: float = 0.01
    geese: float = 0.02
    geese_low: float = 0.0
    geese_high: float = 0.0
    growth_sd: float = 0.05

    def __post_init__(self) -> None:
        for name in ("foreign_share", "high_if_foreign", "high_if_domestic"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise SpecificationError(f"{name} must be a probability, got {value}.")
        for name in ("tie_distance_km", "firm_sd", "sigma", "growth_sd"):
            if not getattr(self, name) > 0:
                raise SpecificationError(f"{name} must be > 0, got {getattr(self, name)}.")
        if not -1 < self.rho < 1:
            raise SpecificationError(f"rho must lie in (-1, 1), got {self.rho}.")


@dataclass(frozen=True)
class SimulatedLearningNetwork:
    """What :func:`learning_network` returns.

    Attributes
    ----------
    panel : Panel
        Firm-year panel (entity ``firm``, time ``year``) with ``y`` (log productivity) and
        ``x`` (log R&D intensity); firm points as geometry (projected CRS, metres).
    firms : pandas.DataFrame
        Indexed by ``firm``: ``foreign``, ``high`` (booleans), ``sector``, ``region``,
        ``ties_high``, ``ties_low`` (ties to high- and low-capability firms) and
        ``growth`` (the catch-up outcome).
    edges : pandas.DataFrame
        Undirected ties, ``source`` < ``target``.
    tech_shares : pandas.DataFrame
        Technology-class shares per firm (rows sum to one), for a technological W.
    regions : geopandas.GeoDataFrame
        The study area.
    truth : LearningNetworkTruth
    """

    panel: Panel
    firms: pd.DataFrame
    edges: pd.DataFrame
    tech_shares: pd.DataFrame
    regions: gpd.GeoDataFrame
    truth: LearningNetworkTruth

    def network(self) -> KnowledgeNetwork:
        """The ties and firm table as a :class:`~spillover.networks.KnowledgeNetwork`."""
        return KnowledgeNetwork.from_edges(self.edges, nodes=self.firms, name="learning")


def learning_network(
    n_firms: int = 300,
    n_years: int = 8,
    *,
    truth: LearningNetworkTruth | None = None,
    side_km: float = 100.0,
    n_clusters: int = 4,
    cluster_sd_km: float = 8.0,
    n_sectors: int = 6,
    n_classes: int = 20,
    start_year: int = 2010,
    seed: int | np.random.Generator | None = None,
) -> SimulatedLearningNetwork:
    """Simulate a cluster's knowledge network and a productivity panel that spills over it.

    Parameters
    ----------
    n_firms : int, default 300
        Firms, ids 1..n_firms (10 to 3,000: ties are drawn over all pairs at once).
    n_years : int, default 8
        Years of the panel, ``start_year`` onwards (at least 2).
    truth : LearningNetworkTruth, optional
        Parameters (defaults in :class:`LearningNetworkTruth`).
    side_km : float, default 100
        Side of the square study area (2 x 2 regions, EPSG:5070).
    n_clusters, cluster_sd_km : int, float
        Firms scatter around ``n_clusters`` centres with Gaussian spread (10% uniform).
    n_sectors, n_classes : int
        Sectors (cities specialise) and technology classes of the shares.
    start_year : int, default 2010
    seed : int or numpy.random.Generator, optional
        The same seed gives the same data.

    Returns
    -------
    SimulatedLearningNetwork

    Notes
    -----
    The model is stated in :class:`LearningNetworkTruth`. Capability raises both the
    probability of ties and productivity, so high-capability firms form the network's core;
    foreign firms are more often high-capability. The productivity spillover runs through
    the network W only: a geographic W (firms close together are often tied) and a
    technological W (sectors cluster in space) are correlated with it but misspecified.

    Examples
    --------
    >>> from spillover import simulate
    >>> sim = simulate.learning_network(60, 3, seed=1)
    >>> sim.panel.nobs, int(sim.firms.ties_high.add(sim.firms.ties_low).min()) >= 1
    (180, True)
    """
    truth = LearningNetworkTruth() if truth is None else truth
    _check(n_firms, n_years, n_clusters)
    rng = as_rng(seed)
    area = square_area(side_km, 2, origin=(-side_km * 500.0, 2_000_000.0 - side_km * 500.0))
    xy, region_pos, cluster = place_firms(
        rng, area, n_firms, n_clusters=n_clusters, cluster_sd_m=cluster_sd_km * 1e3,
        cluster_tail=1.5, background_share=0.1,
    )  # fmt: skip
    foreign = rng.random(n_firms) < truth.foreign_share
    high = rng.random(n_firms) < np.where(foreign, truth.high_if_foreign, truth.high_if_domestic)
    sector = draw_sectors(rng, cluster, n_clusters, n_sectors)
    shares = draw_tech_shares(rng, sector, n_sectors, n_classes, concentration=20.0)
    adj = _ties(rng, xy / 1e3, high, truth)
    ids = pd.Index(np.arange(1, n_firms + 1), name="firm")
    y, x = _productivity(rng, adj, high, n_years, truth)
    ties_high, ties_low = adj @ high.astype(float), adj @ (~high).astype(float)
    growth = (
        truth.growth
        + truth.geese * ~high * ties_high
        + truth.geese_low * ~high * ties_low
        + truth.geese_high * high * ties_high
        + truth.growth_sd * rng.standard_normal(n_firms)
    )
    firms = pd.DataFrame(
        {"foreign": foreign, "high": high, "sector": sector,
         "region": area.index.to_numpy()[region_pos], "ties_high": ties_high.astype(int),
         "ties_low": ties_low.astype(int), "growth": growth},
        index=ids,
    )  # fmt: skip
    upper = sp.triu(sp.coo_array(adj), k=1)
    edges = pd.DataFrame({"source": ids[upper.row], "target": ids[upper.col]})
    edges = edges.sort_values(["source", "target"], ignore_index=True)
    geo = gpd.GeoDataFrame(
        firms[["region"]], geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=area.crs
    )
    years = np.arange(start_year, start_year + n_years)
    data = pd.DataFrame(
        {"firm": np.tile(ids, n_years), "year": np.repeat(years, n_firms),
         "y": y.ravel(), "x": x.ravel()}
    )  # fmt: skip
    panel = Panel(data, entity="firm", time="year", geo=geo)
    tech = pd.DataFrame(shares, index=ids, columns=[f"c{k:02d}" for k in range(1, n_classes + 1)])
    return SimulatedLearningNetwork(panel, firms, edges, tech, area, truth)


def _ties(
    rng: np.random.Generator, xy_km: np.ndarray, high: np.ndarray, truth: LearningNetworkTruth
) -> sp.csr_array:
    """Symmetric 0/1 adjacency: independent logistic ties, isolates tied to their nearest."""
    n = len(xy_km)
    i, j = np.triu_indices(n, k=1)
    d = np.hypot(*(xy_km[i] - xy_km[j]).T)
    index = truth.tie_intercept - d / truth.tie_distance_km
    index += truth.tie_capability * (high[i].astype(float) + high[j])
    hit = rng.random(len(i)) < 1.0 / (1.0 + np.exp(-index))
    rows, cols = list(i[hit]), list(j[hit])
    degree = np.bincount(np.concatenate([i[hit], j[hit]]), minlength=n)
    for k in np.flatnonzero(degree == 0):
        dist = np.hypot(*(xy_km - xy_km[k]).T)
        dist[k] = np.inf
        rows.append(k)
        cols.append(int(np.argmin(dist)))
    a = sp.coo_array((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
    a = a + a.T
    a.data[:] = 1.0  # a pair drawn twice (an isolate's nearest already tied) stays one tie
    return sp.csr_array(a)


def _productivity(
    rng: np.random.Generator,
    adj: sp.csr_array,
    high: np.ndarray,
    n_years: int,
    truth: LearningNetworkTruth,
) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) as (years x firms) arrays from the spatial Durbin model on the network."""
    n = adj.shape[0]
    w = sp.csr_array(adj / adj.sum(axis=1)[:, None])
    mu = truth.capability_premium * high + truth.firm_sd * rng.standard_normal(n)
    alpha = 0.1 * rng.standard_normal(n_years)
    x = rng.standard_normal((n_years, n))
    a = sp.csc_array(sp.eye_array(n) - truth.rho * w)
    y = np.empty((n_years, n))
    for t in range(n_years):
        rhs = truth.beta * x[t] + truth.theta * (w @ x[t]) + mu + alpha[t]
        y[t] = sp.linalg.spsolve(a, rhs + truth.sigma * rng.standard_normal(n))
    return y, x


def _check(n_firms: int, n_years: int, n_clusters: int) -> None:
    for name, value, low in (("n_firms", n_firms, 10), ("n_years", n_years, 2)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise SpecificationError(f"{name} must be an integer >= {low}, got {value!r}.")
    if n_firms > _MAX_FIRMS:
        raise SpecificationError(
            f"n_firms = {n_firms} is above {_MAX_FIRMS}: ties are drawn over all pairs at once."
        )
    if n_clusters < 1:
        raise SpecificationError(f"n_clusters must be >= 1, got {n_clusters!r}.")
