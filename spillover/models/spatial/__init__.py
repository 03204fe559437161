"""Spatial panel models by maximum likelihood: SAR, SEM, SDM, SDEM and SAC.

All share one concentrated likelihood (:mod:`._core`), one information matrix
(:mod:`._variance`) and return :class:`SpatialResults`.
"""

from spillover.models.spatial._results import SpatialResults
from spillover.models.spatial.error import SpatialDurbinError, SpatialError
from spillover.models.spatial.lag import SpatialDurbin, SpatialLag
from spillover.models.spatial.sac import SAC

__all__ = [
    "SAC",
    "SpatialDurbin",
    "SpatialDurbinError",
    "SpatialError",
    "SpatialLag",
    "SpatialResults",
]
