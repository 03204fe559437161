"""How a cluster forms: firm entry, spin-offs and exit across regions over the industry's
life cycle, with knowledge spillovers and a cluster programme started at staggered dates."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from spillover._validate import as_rng
from spillover.errors import SpecificationError
from spillover.panel import Panel
from spillover.simulate._formation_truth import FormationTruth, SimulatedFormation
from spillover.simulate._space import square_area
from spillover.weights import Weights, kernel

__all__ = ["cluster_formation"]


def cluster_formation(
    n_years: int = 25,
    *,
    n_cells: int = 10,
    side_km: float = 500.0,
    programme_share: float = 0.45,
    start_year: int = 2000,
    truth: FormationTruth | None = None,
    seed: int | None = None,
) -> SimulatedFormation:
    """Simulate the formation of an industry's clusters in ``n_cells`` x ``n_cells`` regions.

    Parameters
    ----------
    n_years : int, default 25
        Years simulated (``start_year`` onwards); at least 5 and more than the last
        programme start (``truth.cohort_starts``, counted from ``start_year``).
    n_cells, side_km :
        The study area, :func:`square_area` (``side_km`` square cut into n_cells^2 regions).
    programme_share : float, default 0.45
        Share of regions given the cluster programme, split as evenly as possible into the
        cohorts of ``truth.cohort_starts``; which regions and which cohort are drawn at
        random (independent of attractiveness), the rest are never treated.
    truth : FormationTruth, optional
        The true parameters (default :class:`FormationTruth`).
    seed : int, optional
        Seed of ``numpy.random.default_rng``: the same seed gives identical output.

    Returns
    -------
    SimulatedFormation
        Firm-year rows, the region-year panel, the area, the spillover weights and the
        truth (see :class:`FormationTruth` for the data-generating process).

    Notes
    -----
    Each year: the pool S_r,t-1 of last year's incumbents of other regions, then entries
    (Poisson), exits among last year's incumbents, and the entrants split into spin-offs
    and start-ups. The recorded ``programme_effect`` is the direct effect on the expected
    entries given the realised history; through the pools, programme entrants also raise
    later entry in neighbouring regions (an indirect effect it leaves out).

    Examples
    --------
    >>> from spillover.simulate import cluster_formation
    >>> sim = cluster_formation(16, n_cells=4, seed=1)
    >>> sim.regions.n_entities, sim.regions.n_periods
    (16, 16)
    >>> int(sim.regions["entries"].sum()) == int((sim.firms["entry_year"] >= 2000).groupby(
    ...     level="firm").first().sum())
    True
    """
    truth = truth or FormationTruth()
    _check(n_years, n_cells, programme_share, truth)
    rng = as_rng(seed)
    area = square_area(side_km, n_cells)
    n = len(area)
    w = kernel(area.geometry.centroid, bandwidth=truth.decay_km)
    raw = rng.normal(0.0, 1.0, n)
    raw = raw + truth.region_smoothing * (w.row_standardize().matrix @ raw)
    attract = truth.region_sd * (raw - raw.mean()) / raw.std()
    background = np.round(truth.background_employment * rng.lognormal(0.0, 0.5, n))
    start = _programme(rng, n, programme_share, truth)
    sim = _Run(rng, area, attract, truth)
    records = [sim.year(k, w, start) for k in range(n_years)]
    firms = sim.firm_years(start_year)
    regions = _region_panel(records, area, attract, background, start, truth, start_year, firms)
    return SimulatedFormation(firms, regions, area, w, truth, seed)


def _check(n_years: int, n_cells: int, share: float, truth: FormationTruth) -> None:
    if n_years < 5 or n_cells < 2:
        raise SpecificationError(f"need n_years >= 5 and n_cells >= 2, got {n_years}, {n_cells}.")
    if not 0 < share < 1:
        raise SpecificationError(f"programme_share must lie in (0, 1), got {share}.")
    if max(truth.cohort_starts) >= n_years or min(truth.cohort_starts) < 1:
        raise SpecificationError(
            f"programme start years {truth.cohort_starts} (counted from the first year) must "
            f"lie in 1..{n_years - 1}: every cohort needs a year before and after its start."
        )


def _programme(rng: np.random.Generator, n: int, share: float, truth: FormationTruth):
    """Cohort position (0, 1, ...) of each region, -1 if never treated."""
    k = len(truth.cohort_starts)
    treated = rng.permutation(n)[: max(k, round(share * n))]
    cohort = np.full(n, -1)
    cohort[treated] = np.arange(len(treated)) % k
    return cohort


class _Run:
    """The firms alive so far; one call of :meth:`year` simulates a year."""

    def __init__(self, rng, area: gpd.GeoDataFrame, attract, truth: FormationTruth) -> None:
        self.rng, self.truth, self.attract = rng, truth, attract
        self.bounds = area.geometry.bounds.to_numpy()
        m = truth.initial_firms
        p = np.exp(attract) / np.exp(attract).sum()
        region = rng.choice(len(area), size=m, p=p)
        self.region = region
        self.xy = self._uniform(region)
        self.entry = -rng.integers(1, 11, m)  # years before the first
        self.parent = np.full(m, -1)
        self.log_emp = rng.normal(np.log(truth.entry_size) + 0.5, 0.5, m)
        self.exit = np.full(m, np.iinfo(np.int64).max)  # first year absent
        self.rows: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.counts = np.bincount(region, minlength=len(area)).astype(float)

    def _uniform(self, region: np.ndarray) -> np.ndarray:
        b = self.bounds[region]
        return self.rng.uniform(b[:, :2], b[:, 2:])

    def year(self, k: int, w: Weights, cohort: np.ndarray) -> dict[str, np.ndarray]:
        t, rng = self.truth, self.rng
        pool = w.matrix @ self.counts
        log_mu0 = t.log_base + self.attract + t.lifecycle(k) + t.spillover * np.log1p(pool)
        starts = np.asarray(t.cohort_starts)[np.maximum(cohort, 0)]
        tau = np.zeros(len(cohort))
        for c in range(len(t.cohort_starts)):
            mine = cohort == c
            tau[mine] = t.programme(c, k - starts[mine])
        mu0 = np.exp(log_mu0)
        mu = mu0 * np.exp(tau)
        entries = rng.poisson(mu)
        alive = np.flatnonzero(self.exit > k)
        age = k - self.entry[alive]
        p_exit = np.minimum(t.exit_rate(k) * np.where(age < 2, 2.0, 1.0), 1.0)
        leaving = alive[rng.random(len(alive)) < p_exit]
        self.exit[leaving] = k
        spin = self._enter(k, entries, alive)
        exits = np.bincount(self.region[leaving], minlength=len(cohort))
        self.counts = self.counts - exits + entries
        staying = np.flatnonzero(self.exit > k)
        self.log_emp[staying] += t.growth + rng.normal(0.0, 0.1, len(staying)) * (
            self.entry[staying] < k
        )
        self.rows.append((k, staying, self.log_emp[staying].copy()))
        return {"entries": entries, "spinoffs": spin, "exits": exits, "pool": pool,
                "incumbents": self.counts.copy(), "mu": mu, "mu0": mu0}  # fmt: skip

    def _enter(self, k: int, entries: np.ndarray, alive: np.ndarray) -> np.ndarray:
        """Add the year's entrants; return the spin-offs per region."""
        t, rng = self.truth, self.rng
        region = np.repeat(np.arange(len(entries)), entries)
        before = np.bincount(self.region[alive], minlength=len(entries))[region]
        spin = rng.random(len(region)) < before / (before + t.spinoff_half)
        parent = np.full(len(region), -1)
        emp = np.exp(self.log_emp[alive])
        for i in np.flatnonzero(spin):
            mine = alive[self.region[alive] == region[i]]
            p = emp[self.region[alive] == region[i]]
            parent[i] = rng.choice(mine, p=p / p.sum())
        xy = self._uniform(region)
        near = spin & (parent >= 0)
        b = self.bounds[region[near]]
        jitter = rng.normal(0.0, t.spinoff_sd_km * 1000.0, (int(near.sum()), 2))
        xy[near] = np.clip(self.xy[parent[near]] + jitter, b[:, :2] + 1.0, b[:, 2:] - 1.0)
        log_emp = rng.normal(np.log(t.entry_size) + t.spinoff_premium * spin, 0.5)
        self.region = np.concatenate([self.region, region])
        self.xy = np.concatenate([self.xy, xy])
        self.entry = np.concatenate([self.entry, np.full(len(region), k)])
        self.parent = np.concatenate([self.parent, parent])
        self.log_emp = np.concatenate([self.log_emp, log_emp])
        self.exit = np.concatenate([self.exit, np.full(len(region), np.iinfo(np.int64).max)])
        return np.bincount(region[spin], minlength=len(entries))

    def firm_years(self, start_year: int) -> pd.DataFrame:
        ks = np.concatenate([np.full(len(f), k) for k, f, _ in self.rows])
        firm = np.concatenate([f for _, f, _ in self.rows])
        log_emp = np.concatenate([e for _, _, e in self.rows])
        frame = pd.DataFrame(
            {
                "firm": firm + 1,
                "year": start_year + ks,
                "region": self.region[firm],
                "x": self.xy[firm, 0],
                "y": self.xy[firm, 1],
                "employment": np.maximum(1, np.round(np.exp(log_emp))).astype(int),
                "entry_year": start_year + self.entry[firm],
                "parent": np.where(self.parent[firm] >= 0, self.parent[firm] + 1, -1),
                "spinoff": self.parent[firm] >= 0,
            }
        )
        return frame.sort_values(["firm", "year"]).set_index(["firm", "year"])


def _region_panel(records, area, attract, background, cohort, truth, start_year, firms) -> Panel:
    n, years = len(area), len(records)
    starts = np.asarray(truth.cohort_starts, float)[np.maximum(cohort, 0)] + start_year
    starts = np.where(cohort >= 0, starts, np.nan)
    cols = {key: np.concatenate([r[key] for r in records]) for key in records[0]}
    year = np.repeat(np.arange(years) + start_year, n)
    region = np.tile(area.index.to_numpy(), years)
    frame = pd.DataFrame(
        {
            "region": region,
            "year": year,
            "entries": cols["entries"],
            "spinoffs": cols["spinoffs"],
            "exits": cols["exits"],
            "incumbents": cols["incumbents"].astype(int),
            "background_employment": np.tile(background, years),
            "programme_start": np.tile(starts, years),
            "attractiveness": np.tile(attract, years),
            "expected_entries": cols["mu"],
            "counterfactual_entries": cols["mu0"],
        }
    )
    emp = firms.groupby(["region", firms.index.get_level_values("year")])["employment"].sum()
    keys = pd.MultiIndex.from_arrays([region, year])
    frame["employment"] = emp.reindex(keys, fill_value=0).to_numpy()
    frame["programme"] = (frame["year"] >= frame["programme_start"]).astype(int)
    frame["programme_effect"] = frame["expected_entries"] - frame["counterfactual_entries"]
    return Panel(frame, entity="region", time="year", geo=area)
