"""Frozen containers for the cluster-formation simulator: true parameters and output."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from spillover.errors import SpecificationError
from spillover.panel import Panel
from spillover.weights import Weights


@dataclass(frozen=True)
class FormationTruth:
    """The true parameters of :func:`spillover.simulate.cluster_formation`.

    Entries of the focal industry in region r and year t are Poisson with mean

        mu_rt = exp(log_base + a_r + lifecycle_t + spillover * log(1 + S_r,t-1)
                    + programme_rt),

    a_r the region's attractiveness, spatially correlated: with u_r iid N(0, 1) and W the
    row-standardised kernel below, a = region_sd * standardise(u + region_smoothing W u)
    (mean zero and standard deviation region_sd across the regions), S_r,t-1 = sum_{s != r}
    w_rs N_s,t-1 the spillover pool (N the incumbents at the end of the year, w a
    negative-exponential kernel of the centroid distance with bandwidth ``decay_km``),
    lifecycle_t = lifecycle_amplitude * (exp(-(t - lifecycle_peak)^2 /
    (2 lifecycle_width^2)) - 1) a hump in the industry's entry (t counted from the first
    year, 0 at the peak) and programme_rt = cohort_effect_g * min(1, (e + 1) /
    programme_ramp) for e = t - g >= 0 years since the region's programme started in g
    (zero before and in never-treated regions).

    Each incumbent exits at the end of a year with probability exit_rate_t = exit_base
    + exit_shakeout * min(1, max(0, t - lifecycle_peak) / lifecycle_width), doubled in
    its first two years (infant mortality). An entrant is a spin-off of an incumbent of
    its region with probability N_r,t-1 / (N_r,t-1 + spinoff_half) (parent drawn with
    probability proportional to employment; placed within ``spinoff_sd_km`` of it) and
    otherwise a start-up placed uniformly in the region. Employment: log E at entry ~
    N(log(entry_size) + spinoff_premium * spin-off, 0.5^2), then growing by
    growth + N(0, 0.1^2) a year (rounded, at least 1). Employment in all other industries
    is fixed by region: background_employment times a lognormal factor (log sd 0.5),
    independent of attractiveness.
    """

    log_base: float = -0.8
    region_sd: float = 0.7
    region_smoothing: float = 2.0
    spillover: float = 0.5
    decay_km: float = 60.0
    lifecycle_amplitude: float = 1.5
    lifecycle_peak: float = 12.0
    lifecycle_width: float = 6.0
    cohort_effects: tuple[float, ...] = (1.0, 0.5, 0.2)
    cohort_starts: tuple[int, ...] = (6, 10, 14)
    programme_ramp: float = 4.0
    exit_base: float = 0.05
    exit_shakeout: float = 0.08
    spinoff_half: float = 20.0
    spinoff_sd_km: float = 5.0
    spinoff_premium: float = 0.3
    entry_size: float = 8.0
    growth: float = 0.05
    initial_firms: int = 30
    background_employment: float = 50_000.0

    def __post_init__(self) -> None:
        if len(self.cohort_effects) != len(self.cohort_starts):
            raise SpecificationError(
                f"one effect per programme cohort: {len(self.cohort_effects)} effects for "
                f"{len(self.cohort_starts)} start years."
            )
        for name in ("region_sd", "decay_km", "lifecycle_width", "programme_ramp"):
            if not getattr(self, name) > 0:
                raise SpecificationError(f"{name} must be > 0, got {getattr(self, name)}.")
        if not 0 <= self.exit_base + self.exit_shakeout <= 0.5:
            raise SpecificationError("exit_base + exit_shakeout must lie in [0, 0.5].")

    def lifecycle(self, t: np.ndarray) -> np.ndarray:
        """lifecycle_t for years ``t`` counted from the first (0, 1, ...)."""
        z = (np.asarray(t, float) - self.lifecycle_peak) / self.lifecycle_width
        return self.lifecycle_amplitude * (np.exp(-0.5 * z**2) - 1.0)

    def exit_rate(self, t: np.ndarray) -> np.ndarray:
        """exit_rate_t of an incumbent past its first two years."""
        late = np.clip((np.asarray(t, float) - self.lifecycle_peak) / self.lifecycle_width, 0, 1)
        return self.exit_base + self.exit_shakeout * late

    def programme(self, cohort: int, e: np.ndarray) -> np.ndarray:
        """programme_rt (log points of expected entry) of cohort ``cohort`` (its position in
        ``cohort_starts``) at years since start ``e``."""
        e = np.asarray(e, float)
        ramp = np.minimum(1.0, (e + 1.0) / self.programme_ramp)
        return np.where(e >= 0, self.cohort_effects[cohort] * ramp, 0.0)

    def as_dict(self) -> dict[str, float | list[float]]:
        """The parameters as plain numbers and lists (for results files)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class SimulatedFormation:
    """What :func:`spillover.simulate.cluster_formation` returns.

    Attributes
    ----------
    firms : pandas.DataFrame
        One row per firm and year alive, indexed by (``firm``, ``year``): ``region``,
        ``x``, ``y`` (metres), ``employment``, ``entry_year`` (before the first year for
        the initial incumbents), ``parent`` (the parent firm of a spin-off, -1 otherwise)
        and ``spinoff``.
    regions : Panel
        Region-year panel (balanced): ``entries``, ``spinoffs``, ``exits`` (during the
        year, among the incumbents of the year before), ``incumbents`` (at the end of the
        year), ``employment`` (focal industry), ``background_employment`` (all other
        industries), ``programme_start`` (NaN if never), ``programme`` (1 from the start
        year on), ``attractiveness`` (a_r), ``expected_entries`` (mu_rt),
        ``counterfactual_entries`` (mu_rt without the programme term, on the same
        history) and ``programme_effect`` (their difference: the programme's direct
        effect on expected entries).
    area : geopandas.GeoDataFrame
        The regions (index ``region``).
    w : Weights
        The kernel weights of the spillover pool (regions, zero diagonal).
    truth : FormationTruth
    seed : int or None
    """

    firms: pd.DataFrame
    regions: Panel
    area: gpd.GeoDataFrame
    w: Weights
    truth: FormationTruth
    seed: int | None
