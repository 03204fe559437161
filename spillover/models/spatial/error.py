"""Spatial error (SEM) and spatial Durbin error (SDEM) panel models by maximum likelihood."""

from __future__ import annotations

from spillover.models.spatial._model import DurbinModel, SpatialModel
from spillover.models.spatial.lag import _NOTES


class SpatialError(SpatialModel):
    """Spatial error panel model, ``y = X beta + effects + u``, ``u = lambda W u + e``.

    Parameters are those of :class:`~spillover.models.spatial.SpatialLag`.
    """

    _family = "sem"
    _error = True


class SpatialDurbinError(DurbinModel):
    """Spatial Durbin error model, ``y = X beta + W X theta + effects + u``.

        The disturbance follows ``u = lambda W u + e``.

    Parameters are those of :class:`~spillover.models.spatial.SpatialDurbin`.
    """

    _family = "sdem"
    _error = True


for _cls in (SpatialError, SpatialDurbinError):
    _cls.__doc__ = (_cls.__doc__ or "") + _NOTES
