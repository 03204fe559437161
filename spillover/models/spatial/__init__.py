"""Spatial panel models by maximum likelihood: SAR, SEM, SDM, SDEM and SAC.

All share one concentrated likelihood (:mod:`._core`), one information matrix
(:mod:`._variance`) and return :class:`SpatialResults`. A family is declared through one
interface (:class:`Family`: spatial parameters, accepted effects and weights, estimation
returning a :class:`Fit`, effects) and registered with :func:`register_family`; a model
class derived from :class:`SpatialModel` names it (``family = "sar"``). A new family is a
new module and a registration; the base is not edited. Random effects for SAR and SDM are in
:mod:`.random`, random effects for SEM in :mod:`.random_error`; the spatial Hausman test
is :func:`spillover.diagnostics.spatial_hausman`. Dynamic spatial panels (``y_{t-1}``,
``W y_{t-1}``) are in :mod:`.dynamic`.

Examples
--------
>>> from spillover import datasets, weights
>>> from spillover.models.spatial import SpatialLag
>>> panel = datasets.us_states()
>>> w = weights.queen(panel.geo).row_standardize()
>>> res = SpatialLag("log_gsp ~ log_pcap + log_pc + log_emp + unemp", panel, w=w).fit()
>>> round(res.rho, 4), res.logdet_method
(0.2747, 'eigen')
"""

from spillover.models.spatial._family import Family, Fit, get_family, register_family
from spillover.models.spatial._model import DurbinModel, SpatialModel
from spillover.models.spatial._results import SpatialResults
from spillover.models.spatial.dynamic import DynamicSpatialDurbin, DynamicSpatialLag
from spillover.models.spatial.error import SpatialDurbinError, SpatialError
from spillover.models.spatial.lag import SpatialDurbin, SpatialLag
from spillover.models.spatial.sac import SAC

__all__ = [
    "SAC",
    "DurbinModel",
    "DynamicSpatialDurbin",
    "DynamicSpatialLag",
    "Family",
    "Fit",
    "SpatialDurbin",
    "SpatialDurbinError",
    "SpatialError",
    "SpatialLag",
    "SpatialModel",
    "SpatialResults",
    "get_family",
    "register_family",
]
