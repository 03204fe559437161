"""Panel and spatial panel estimators; every one returns a Results.

Panel: :class:`Pooled`, :class:`FixedEffects`, :class:`RandomEffects`,
:class:`FirstDifference`, :class:`Between`, :class:`HDFE` (many absorbed effect sets) and
:class:`PanelIV`; :class:`PoissonHDFE` (Poisson PML with absorbed effects).
Spatial (maximum likelihood): :class:`SpatialLag`, :class:`SpatialError`,
:class:`SpatialDurbin`, :class:`SpatialDurbinError`, :class:`SAC` and the dynamic
:class:`DynamicSpatialDurbin`/:class:`DynamicSpatialLag`, whose results
(:class:`SpatialResults`) add ``rho``/``lambda``, the log-likelihood and ``impacts()``.
Tests of fitted models (Hausman, LM, Wald) are in :mod:`spillover.diagnostics`.

Every estimator is an :class:`Estimator`: configured and validated in its constructor,
``fit(vcov=...)`` resolving the covariance in the registry before any work and returning
frozen results; the spatial families plug in through
:func:`spillover.models.spatial.register_family`.
"""

from spillover.models._estimator import Estimator
from spillover.models._results import Results, Summary
from spillover.models.event_study import EventStudy, EventStudyResults
from spillover.models.hdfe import HDFE
from spillover.models.iv import IVResults, PanelIV
from spillover.models.panel import Between, FirstDifference, FixedEffects, Pooled, RandomEffects
from spillover.models.poisson import PoissonHDFE, PoissonResults
from spillover.models.spatial import (
    SAC,
    DynamicSpatialDurbin,
    DynamicSpatialLag,
    SpatialDurbin,
    SpatialDurbinError,
    SpatialError,
    SpatialLag,
    SpatialResults,
)

__all__ = [
    "HDFE",
    "SAC",
    "Between",
    "DynamicSpatialDurbin",
    "DynamicSpatialLag",
    "Estimator",
    "EventStudy",
    "EventStudyResults",
    "FirstDifference",
    "FixedEffects",
    "IVResults",
    "PanelIV",
    "PoissonHDFE",
    "PoissonResults",
    "Pooled",
    "RandomEffects",
    "Results",
    "SpatialDurbin",
    "SpatialDurbinError",
    "SpatialError",
    "SpatialLag",
    "SpatialResults",
    "Summary",
]
