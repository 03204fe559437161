"""spillover.simulate: data-generating processes with known truth.

- :func:`firms`: a firm-year R&D panel placed in space, with geographic and technological
  spillover pools and outcomes whose elasticities are known (:class:`FirmTruth`).
- :func:`square_area`: the default projected study area, a square cut into regions.
- :func:`spatial_panel`: SAR, SEM, SDM, SDEM and SAC panels on any sparse weights.
- :func:`dynamic_spatial_panel`: a dynamic spatial Durbin panel (y_{t-1}, W y_{t-1}).
- :func:`grid_weights`: rook or queen contiguity of a regular lattice, for Monte Carlo.
- :func:`cluster_survey`: a cluster-learning questionnaire (Likert items of learning
  factors, mediators and knowledge spillover) with known loadings and paths.
- :func:`knowledge_network`: a firm network with a planted core and periphery
  (:class:`SimulatedNetwork`, :class:`NetworkTruth`).
- :func:`cluster_formation`: firm entry, spin-offs and exit across regions over an
  industry's life cycle, with spillover pools and a cluster programme started at staggered
  dates (:class:`SimulatedFormation`, :class:`FormationTruth`).
- :func:`learning_network`: a cluster's network of domestic/foreign, high/low-capability
  firms with ties by proximity and capability, productivity spilling over the ties and
  catch-up of low-capability firms (:class:`LearningNetworkTruth`).
- :func:`learning_by_doing`: output and unit costs falling with own and nearby cumulative
  output (:class:`LearningTruth`, :class:`SimulatedLearning`).
"""

from spillover.simulate._dynamic import dynamic_spatial_panel
from spillover.simulate._firms import firms
from spillover.simulate._formation import cluster_formation
from spillover.simulate._formation_truth import FormationTruth, SimulatedFormation
from spillover.simulate._learning import LearningTruth, SimulatedLearning, learning_by_doing
from spillover.simulate._learning_network import (
    LearningNetworkTruth,
    SimulatedLearningNetwork,
    learning_network,
)
from spillover.simulate._network import NetworkTruth, SimulatedNetwork, knowledge_network
from spillover.simulate._space import square_area
from spillover.simulate._spatial import (
    SimulatedSpatialPanel,
    SpatialTruth,
    grid_weights,
    spatial_panel,
)
from spillover.simulate._survey import SimulatedSurvey, cluster_survey
from spillover.simulate._survey_design import SurveyDesign
from spillover.simulate._truth import FirmTruth, OutcomeTruth, SimulatedFirms

__all__ = [
    "FirmTruth",
    "FormationTruth",
    "LearningNetworkTruth",
    "LearningTruth",
    "NetworkTruth",
    "OutcomeTruth",
    "SimulatedFirms",
    "SimulatedFormation",
    "SimulatedLearning",
    "SimulatedLearningNetwork",
    "SimulatedNetwork",
    "SimulatedSpatialPanel",
    "SimulatedSurvey",
    "SpatialTruth",
    "SurveyDesign",
    "cluster_formation",
    "cluster_survey",
    "dynamic_spatial_panel",
    "firms",
    "grid_weights",
    "knowledge_network",
    "learning_by_doing",
    "learning_network",
    "spatial_panel",
    "square_area",
]
