"""SAC / SARAR panel model: spatial lag and spatial error together."""

from __future__ import annotations

from spillover.models.spatial._model import SpatialModel
from spillover.models.spatial.lag import _NOTES


class SAC(SpatialModel):
    """SAC panel model, ``y = rho W y + X beta + effects + u``, ``u = lambda W u + e``.

    Parameters are those of :class:`~spillover.models.spatial.SpatialLag`. The same W
    enters both processes; lambda is found by a bounded search over the likelihood
    profiled in rho (itself a bounded search for each lambda).
    """

    _family = "sac"
    _lag_y = True
    _error = True


SAC.__doc__ = (SAC.__doc__ or "") + _NOTES
