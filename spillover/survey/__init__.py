"""spillover.survey: questionnaire data, measurement and mediation for cluster-learning studies.

Item-level responses with a codebook (constructs, reverse-coded items, allowed ranges),
reliability and validity, exploratory and confirmatory factor analysis, structural
equation models (on semopy) and mediation with bootstrap intervals. The package sits
beside :mod:`spillover.diagnostics`, above :mod:`spillover.models`: mediation results are
:class:`~spillover.models.Results` like every other estimate.
"""

from spillover.survey.factor import EFAResult, ParallelAnalysis, efa, parallel_analysis, scree
from spillover.survey.reliability import (
    KMO,
    Bartlett,
    ConstructReliability,
    Reliability,
    bartlett_sphericity,
    item_statistics,
    kmo,
    reliability,
)

__all__ = [
    "KMO",
    "Bartlett",
    "ConstructReliability",
    "EFAResult",
    "ParallelAnalysis",
    "Reliability",
    "bartlett_sphericity",
    "efa",
    "item_statistics",
    "kmo",
    "parallel_analysis",
    "reliability",
    "scree",
]
