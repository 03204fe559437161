"""Frozen containers for the firm simulator: the true parameters and what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import geopandas as gpd
import pandas as pd

from spillover.errors import SpecificationError
from spillover.panel import Panel
from spillover.weights import Weights

OUTCOMES = ("employment", "productivity", "wage")
"""Outcomes, each modelled in logs: workers, value added per worker, wage per worker."""


@dataclass(frozen=True)
class OutcomeTruth:
    """Coefficients of one log outcome.

    log y_it = intercept + a_i + tau_t [+ r_(region i) t] + rd_stock * log K_it
    + capital * log C_it + geo_pool * log(1 + S^geo_it) + tech_pool * log(1 + S^tech_it)
    + e_it, with e_it ~ N(0, sigma^2) independent of everything else.
    """

    intercept: float
    rd_stock: float
    capital: float
    geo_pool: float
    tech_pool: float
    sigma: float = 0.15

    def __post_init__(self) -> None:
        if not self.sigma > 0:
            raise SpecificationError(f"outcome noise sigma must be > 0, got {self.sigma}.")

    def as_series(self) -> pd.Series:
        """The coefficients named like the panel's regressor columns."""
        return pd.Series(
            {
                "log_rd_stock": self.rd_stock,
                "log_capital": self.capital,
                "log_geo_pool": self.geo_pool,
                "log_tech_pool": self.tech_pool,
            }
        )


@dataclass(frozen=True)
class FirmTruth:
    """Parameters of the firm data-generating process (defaults are plausible, not estimates).

    Monetary units: R&D and capital in millions of constant dollars; value added per
    worker and wages in thousands of constant dollars.

    Attributes
    ----------
    employment, productivity, wage : OutcomeTruth
        Elasticities of log employment, log value added per worker and log wage.
    depreciation : float, default 0.15
        R&D depreciation delta in K_it = (1 - delta) K_i,t-1 + R_it.
    presample_growth : float, default 0.05
        g in the initial stock K_i,first = R_i,first / (g + delta), the convention of
        ``spillover.measures.rd_stock(..., growth=g)``.
    firm_effect_sd, firm_effect_corr : float
        Firm effects a_i = firm_effect_sd * (corr * z_i + sqrt(1 - corr^2) * v_i) + city
        premium, z_i the firm's standardised permanent R&D level, v_i ~ N(0, 1): with
        corr != 0 the effects correlate with own R&D (fixed effects consistent, random
        effects and pooled OLS not).
    cluster_effect_sd : float
        Time-invariant premium of each city (rural firms: 0), added to the firm effects:
        dense places have larger geographic pools, so pooled OLS overstates gamma_geo.
    year_effect_sd : float
        Year effects tau_t = 0.01 t + N(0, year_effect_sd^2), t = 0, 1, ...
    region_year_sd : float, default 0
        Region x year shocks N(0, region_year_sd^2), one per region-year and outcome.
    rd_* : float
        log R_it = rd_mean + rd_firm_sd * z_i + g_i t + c_(city i),t + s_(sector i),t + u_it
        with trend g_i ~ N(rd_trend_mean, rd_trend_sd^2), city and sector shocks random
        walks with steps N(0, rd_cluster_shock_sd^2), N(0, rd_sector_shock_sd^2) (zero
        for rural firms), and u_it a stationary AR(1) with coefficient rd_ar and
        innovation sd rd_shock_sd.
    capital_* : float
        log C_it = capital_mean + capital_rd_loading * rd_firm_sd * z_i + capital_firm_sd
        * v'_i + an AR(1) with coefficient capital_ar and innovation sd capital_shock_sd.
    """

    employment: OutcomeTruth = field(
        default_factory=lambda: OutcomeTruth(3.0, 0.10, 0.30, 0.03, 0.04, 0.15)
    )
    productivity: OutcomeTruth = field(
        default_factory=lambda: OutcomeTruth(3.5, 0.08, 0.20, 0.05, 0.06, 0.20)
    )
    wage: OutcomeTruth = field(default_factory=lambda: OutcomeTruth(3.2, 0.03, 0.08, 0.04, 0.02))
    depreciation: float = 0.15
    presample_growth: float = 0.05
    firm_effect_sd: float = 0.4
    firm_effect_corr: float = 0.5
    cluster_effect_sd: float = 0.1
    year_effect_sd: float = 0.03
    region_year_sd: float = 0.0
    rd_mean: float = 0.0
    rd_firm_sd: float = 1.5
    rd_trend_mean: float = 0.03
    rd_trend_sd: float = 0.03
    rd_cluster_shock_sd: float = 0.15
    rd_sector_shock_sd: float = 0.15
    rd_ar: float = 0.7
    rd_shock_sd: float = 0.2
    capital_mean: float = 2.0
    capital_rd_loading: float = 0.4
    capital_firm_sd: float = 0.8
    capital_ar: float = 0.8
    capital_shock_sd: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 < self.depreciation <= 1.0:
            raise SpecificationError(f"depreciation must be in (0, 1], got {self.depreciation}.")
        if not self.presample_growth + self.depreciation > 0:
            raise SpecificationError("presample_growth + depreciation must be > 0.")
        if not -1.0 <= self.firm_effect_corr <= 1.0:
            raise SpecificationError(
                f"firm_effect_corr must be in [-1, 1], got {self.firm_effect_corr}."
            )
        for name in ("rd_ar", "capital_ar"):
            if not -1.0 < getattr(self, name) < 1.0:
                raise SpecificationError(f"{name} must be in (-1, 1) (stationary AR(1)).")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_sd") and value < 0:
                raise SpecificationError(f"{f.name} must be >= 0, got {value}.")

    def outcome(self, name: str) -> OutcomeTruth:
        """The coefficients of ``"employment"``, ``"productivity"`` or ``"wage"``."""
        if name not in OUTCOMES:
            raise SpecificationError(f"unknown outcome {name!r}; use one of {OUTCOMES}.")
        return getattr(self, name)


@dataclass(frozen=True, eq=False)
class SimulatedFirms:
    """A simulated firm panel with everything needed to check estimators against the truth.

    Attributes
    ----------
    panel : Panel
        Keyed (firm, year), with the firm points attached as geometry. Columns: ``sector``,
        ``region``, ``cluster`` (-1 rural), ``rd``, ``rd_stock``, ``capital``,
        ``geo_pool``, ``tech_pool``, ``employment``, ``value_added``, ``productivity``
        (value added per worker), ``wage`` and ``log_`` versions of the numeric ones
        (``log_geo_pool`` = log(1 + geo_pool), likewise ``log_tech_pool``).
    locations : geopandas.GeoDataFrame
        One point per firm (index ``firm``) in the study area's CRS, with ``region``,
        ``cluster``, ``sector``.
    tech_shares : pandas.DataFrame
        Technology-class shares, firm x class, rows summing to one.
    truth : FirmTruth
        The parameters used.
    geo_weights : Weights
        The geographic pool's weights w_ij = exp(-d_ij / bandwidth) for d_ij <= cutoff
        (not normalised; ids are firms): ``geo_pool`` = W K in every year.
    bandwidth_km, cutoff_km : float
        The decay's bandwidth and cutoff, in km.
    regions : geopandas.GeoDataFrame
        The study area's polygons; ``panel["region"]`` holds their index values.
    firm_effects, year_effects, region_year_effects : pandas.DataFrame
        Realised effects by outcome (columns ``employment``, ``productivity``, ``wage``),
        indexed by firm, year and (region, year).
    """

    panel: Panel
    locations: gpd.GeoDataFrame
    tech_shares: pd.DataFrame
    truth: FirmTruth
    geo_weights: Weights
    bandwidth_km: float
    cutoff_km: float
    regions: gpd.GeoDataFrame
    firm_effects: pd.DataFrame
    year_effects: pd.DataFrame
    region_year_effects: pd.DataFrame

    def __repr__(self) -> str:
        return (
            f"SimulatedFirms({self.panel!r}, geo pool exp(-d/{self.bandwidth_km:g} km) "
            f"within {self.cutoff_km:g} km, {self.tech_shares.shape[1]} technology classes)"
        )
