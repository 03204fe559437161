"""Spatial error (SEM) and spatial Durbin error (SDEM) panel models by maximum likelihood."""

from __future__ import annotations

from spillover.models.spatial._family import register_family
from spillover.models.spatial._model import DurbinModel, SpatialModel
from spillover.models.spatial._static import StaticFamily
from spillover.models.spatial.lag import _NOTES

register_family(StaticFamily("sem", "Spatial error (SEM)", error=True, random=True))
register_family(StaticFamily("sdem", "Spatial Durbin error (SDEM)", error=True))


class SpatialError(SpatialModel):
    """Spatial error panel model, ``y = X beta + effects + u``, ``u = lambda W u + e``.

    Parameters are those of :class:`~spillover.models.spatial.SpatialLag`.
    """

    family = "sem"


class SpatialDurbinError(DurbinModel):
    """Spatial Durbin error model, ``y = X beta + W X theta + effects + u``.

        The disturbance follows ``u = lambda W u + e``.

    Parameters are those of :class:`~spillover.models.spatial.SpatialDurbin`.
    """

    family = "sdem"


for _cls in (SpatialError, SpatialDurbinError):
    _cls.__doc__ = (_cls.__doc__ or "") + _NOTES
