"""Panel and spatial panel estimators; every one returns a Results."""

from spillover.models._results import Results, Summary
from spillover.models.hdfe import HDFE
from spillover.models.iv import IVResults, PanelIV
from spillover.models.panel import Between, FirstDifference, FixedEffects, Pooled, RandomEffects

__all__ = [
    "HDFE",
    "Between",
    "FirstDifference",
    "FixedEffects",
    "IVResults",
    "PanelIV",
    "Pooled",
    "RandomEffects",
    "Results",
    "Summary",
]
