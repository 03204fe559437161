"""spillover: econometric panel studies of regional and firm-level technology spillovers.

The light subpackages (datasets, geo, measures, simulate, weights) load with the package; the
estimators, inference and reporting load on first use, so ``import spillover as sp`` stays
quick and ``sp.models``, ``sp.inference`` and ``sp.report`` work without their own import:

>>> import spillover as sp
>>> sp.models.FixedEffects.__name__
'FixedEffects'
"""

import importlib
from typing import Any

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

_LAZY = ("inference", "models", "report")


def __getattr__(name: str) -> Any:
    """Import ``spillover.models``, ``.inference`` and ``.report`` on first attribute access."""
    if name in _LAZY:
        return importlib.import_module(f"spillover.{name}")
    raise AttributeError(f"module 'spillover' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


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
    "inference",
    "measures",
    "models",
    "report",
    "simulate",
    "weights",
]
