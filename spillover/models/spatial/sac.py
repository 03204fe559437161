"""SAC / SARAR panel model: spatial lag and spatial error together."""

from __future__ import annotations

from spillover.models.spatial._family import register_family
from spillover.models.spatial._model import SpatialModel
from spillover.models.spatial._static import StaticFamily
from spillover.models.spatial.lag import _NOTES

register_family(StaticFamily("sac", "SAC / SARAR", lag_y=True, error=True, by_period=False))


class SAC(SpatialModel):
    """SAC panel model, ``y = rho W y + X beta + effects + u``, ``u = lambda W u + e``.

    Parameters are those of :class:`~spillover.models.spatial.SpatialLag`. The same W
    enters both processes; lambda is found by a bounded search over the likelihood
    profiled in rho (itself a bounded search for each lambda).
    """

    family = "sac"


SAC.__doc__ = (SAC.__doc__ or "") + _NOTES
