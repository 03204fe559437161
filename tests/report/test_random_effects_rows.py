"""Random effects in regression tables: time effects in the fixed-effects rows, the
variance components as statistics (no stars), and no phi coefficient."""

from __future__ import annotations

from spillover import weights
from spillover.models import RandomEffects
from spillover.models.spatial import SpatialLag
from spillover.report import tables

FORMULA = "log_gsp ~ log_pcap + log_pc + log_emp + unemp"


def _row(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(label))


def test_random_effects_rows(produc):
    re = RandomEffects(FORMULA, produc, time_effects=True).fit()
    sar = SpatialLag(
        FORMULA,
        produc,
        w=weights.queen(produc.geo).row_standardize(),
        effects="random",
        time_effects=True,
    ).fit()
    text = str(tables.regression_table({"RE": re, "SAR RE": sar}))
    assert _row(text, "Year FE").split()[-2:] == ["Yes", "Yes"]
    assert _row(text, "State RE").split()[-2:] == ["Yes", "Yes"]
    theta = _row(text, "RE theta (mean)")
    assert "*" not in theta and f"{re.fit_stats['theta']:.3f}" in theta
    assert f"{sar.fit_stats['theta']:.3f}" in theta
    phi = _row(text, "Spatial RE phi")
    assert "*" not in phi and f"{sar.fit_stats['phi']:.3f}" in phi
    for label in ("Var. random effect", "Var. idiosyncratic"):
        assert "*" not in _row(text, label)
    assert not any(line.startswith("phi") for line in text.splitlines())
