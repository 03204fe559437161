"""Spatial error (SEM) and spatial Durbin error (SDEM) panel models by maximum likelihood."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from spillover.inference.logdet import LogdetMethod
from spillover.models.spatial._model import SpatialModel
from spillover.models.spatial.lag import _NOTES
from spillover.panel import Panel


class SpatialError(SpatialModel):
    """Spatial error panel model, ``y = X beta + effects + u``, ``u = lambda W u + e``.

    Parameters are those of :class:`~spillover.models.spatial.SpatialLag`.
    """

    _family = "sem"
    _error = True


class SpatialDurbinError(SpatialModel):
    """Spatial Durbin error model, ``y = X beta + W X theta + effects + u``.

        The disturbance follows ``u = lambda W u + e``.

    Parameters are those of :class:`~spillover.models.spatial.SpatialDurbin`.
    """

    _family = "sdem"
    _error = True

    def __init__(
        self,
        formula: str,
        panel: Panel,
        *,
        w: Any,
        effects: Literal["entity", "time", "twoway", "none"] = "entity",
        bias_correction: Literal["lee-yu"] | None = "lee-yu",
        logdet: LogdetMethod = "auto",
        durbin: bool | Sequence[str] = True,
    ) -> None:
        self._durbin_request = durbin
        super().__init__(
            formula, panel, w=w, effects=effects, bias_correction=bias_correction, logdet=logdet
        )


for _cls in (SpatialError, SpatialDurbinError):
    _cls.__doc__ = (_cls.__doc__ or "") + _NOTES
