"""spillover.simulate: data-generating processes with known truth.

- :func:`firms`: a firm-year R&D panel placed in space, with geographic and technological
  spillover pools and outcomes whose elasticities are known (:class:`FirmTruth`).
- :func:`square_area`: the default projected study area, a square cut into regions.
- :func:`spatial_panel`: SAR, SEM, SDM, SDEM and SAC panels on any sparse weights.
- :func:`grid_weights`: rook or queen contiguity of a regular lattice, for Monte Carlo.
"""

from spillover.simulate._firms import firms
from spillover.simulate._space import square_area
from spillover.simulate._spatial import (
    SimulatedSpatialPanel,
    SpatialTruth,
    grid_weights,
    spatial_panel,
)
from spillover.simulate._truth import FirmTruth, OutcomeTruth, SimulatedFirms

__all__ = [
    "FirmTruth",
    "OutcomeTruth",
    "SimulatedFirms",
    "SimulatedSpatialPanel",
    "SpatialTruth",
    "firms",
    "grid_weights",
    "spatial_panel",
    "square_area",
]
