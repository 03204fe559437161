"""Technology spillover and local labour markets: simulated firms aggregated to regions,
dynamic spatial Durbin models of regional employment, productivity and wages.

Private helper of :mod:`analyses.learning_by_doing` (``run_all`` skips modules whose name
starts with ``_``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analyses.firm_spillovers import build_pools
from spillover import Panel, geo, simulate, weights
from spillover.models import DynamicSpatialDurbin, Results
from spillover.report import effects_table, regression_table, stack_panels

OUTCOMES = {"employment": "Log employment", "productivity": "Log productivity", "wage": "Log wage"}
LABELS = {
    "log_pool": "log(1 + mean geographic R&D pool)",
    "log_rd": "log regional R&D stock",
    "W_log_pool": "W log(1 + mean geographic R&D pool)",
    "W_log_rd": "W log regional R&D stock",
}


def regional_fits(n_firms: int, n_years: int, seed: int) -> tuple[dict[str, Results], Panel]:
    """Simulated firms with the firm study's pools (``build_pools``, checked against the
    simulator), aggregated to regions (employment summed, wage and productivity
    employment-weighted, the geographic pool averaged over the region's firms, R&D stocks
    summed), and a dynamic spatial Durbin model of each log outcome on log(1 + mean pool)
    and log R&D stock: queen contiguity row-standardised, two-way effects, bias-corrected
    QML (Yu, de Jong and Lee 2008)."""
    sim = simulate.firms(n_firms, n_years, seed=seed)
    regions = geo.aggregate(
        build_pools(sim),
        region="region",
        sum=["employment", "rd_stock"],
        mean=["geo_pool"],
        weighted_mean={"wage": "employment", "productivity": "employment"},
        regions=sim.regions.rename_axis("region"),
    )
    regions = regions.assign(
        log_employment=np.log(regions["employment"]),
        log_productivity=np.log(regions["productivity"]),
        log_wage=np.log(regions["wage"]),
        log_pool=np.log1p(regions["geo_pool"]),
        log_rd=np.log(regions["rd_stock"]),
    )
    w = weights.queen(regions).row_standardize()
    fits = {
        o: DynamicSpatialDurbin(f"log_{o} ~ log_pool + log_rd", regions, w=w, effects="twoway")
        for o in OUTCOMES
    }
    return {o: m.fit(vcov="ml") for o, m in fits.items()}, regions


def firm_level_truth(outcome: str) -> float:
    """The simulator's firm-level elasticity of the outcome to log(1 + the firm's own
    geographic pool) (default :class:`~spillover.simulate.FirmTruth`)."""
    return float(simulate.FirmTruth().outcome(outcome).geo_pool)


def regional_result(res: Results, effects: pd.DataFrame, outcome: str) -> dict[str, Any]:
    """tau, rho, eta and the pool coefficients; short- and long-run effects of the pool."""
    out: dict[str, Any] = {
        name: {
            "estimate": float(res.params[name]),
            "std_error": float(res.std_errors[name]),
            "pvalue": float(res.pvalues[name]),
        }
        for name in ("tau", "rho", "eta", "log_pool", "W_log_pool")
    }
    out["firm_level_truth"] = firm_level_truth(outcome)
    for _, row in effects[effects["variable"] == "log_pool"].iterrows():
        out[f"{row['horizon']}_{row['effect']}"] = {
            "estimate": float(row["estimate"]),
            "std_error": float(row["std_error"]),
            "pvalue": float(row["pvalue"]),
        }
    return out


def regional_tables(
    fits: dict[str, Results], effects: dict[str, pd.DataFrame], output: Path
) -> list[Path]:
    """``regional`` (the fits) and ``regional_effects`` (short- and long-run effects of the
    pool), each as .tex and .md."""
    tables = {
        "regional": regression_table(
            fits,
            rename=LABELS,
            dependent_names=[""] * len(fits),
            model_names=[OUTCOMES[o] for o in fits],
            fit_stats=("nobs", "loglik"),
            caption="Dynamic spatial Durbin models of regional outcomes",
            label="tab:learning-regional",
            notes=["Queen contiguity, row-standardised; two-way effects; bias-corrected QML."],
        ),
        "regional_effects": stack_panels(
            {
                f"{letter}. {h.capitalize()} run": effects_table(
                    {OUTCOMES[o]: _pool_effects(e, h) for o, e in effects.items()}, rename=LABELS
                )
                for letter, h in (("A", "short"), ("B", "long"))
            },
            caption="Short- and long-run effects of the regional R&D pool",
            label="tab:learning-regional-effects",
        ),
    }
    written = []
    for name, table in tables.items():
        # the effects table has more columns than an article's text block holds: scaled to it
        width = "resize" if name == "regional_effects" else "natural"
        written += [
            table.write(output / f"{name}.tex", width=width),
            table.write(output / f"{name}.md"),
        ]
    return written


def _pool_effects(effects: pd.DataFrame, horizon: str) -> pd.DataFrame:
    keep = (effects["horizon"] == horizon) & (effects["variable"] == "log_pool")
    return effects[keep].drop(columns="horizon")
