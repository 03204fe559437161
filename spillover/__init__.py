"""spillover: econometric panel studies of regional and firm-level technology spillovers."""

from spillover import datasets, errors, geo, measures, simulate, weights
from spillover.errors import (
    AlignmentError,
    ConvergenceError,
    GeographyError,
    PanelError,
    SpecificationError,
    SpilloverError,
    SpilloverWarning,
    WeightsError,
)
from spillover.panel import Panel

__version__ = "0.1.0"

__all__ = [
    "AlignmentError",
    "ConvergenceError",
    "GeographyError",
    "Panel",
    "PanelError",
    "SpecificationError",
    "SpilloverError",
    "SpilloverWarning",
    "WeightsError",
    "__version__",
    "datasets",
    "errors",
    "geo",
    "measures",
    "simulate",
    "weights",
]
