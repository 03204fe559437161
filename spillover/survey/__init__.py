"""spillover.survey: questionnaire data, measurement and mediation for cluster-learning studies.

Item-level responses with a codebook (constructs, reverse-coded items, allowed ranges),
reliability and validity, exploratory and confirmatory factor analysis, structural
equation models (on semopy) and mediation with bootstrap intervals. The package sits
beside :mod:`spillover.diagnostics`, above :mod:`spillover.models`: mediation results are
:class:`~spillover.models.Results` like every other estimate.

- :class:`Codebook`, :class:`Item`: items -> constructs, ranges, reverse coding, labels.
- :func:`read_responses`: CSV, Excel, SPSS ``.sav``, Stata ``.dta`` or a DataFrame into a
  checked :class:`Questionnaire` (``.items``, ``.constructs``, ``.scores(rule)``,
  ``.check()`` -> :class:`SurveyCheck`, ``.join(panel)``).
- CFA and SEM by maximum likelihood with lavaan's fit indices: :func:`cfa`, :func:`sem`
  (:class:`SEMResults`); construct validity (CR, AVE, Fornell-Larcker, HTMT):
  :func:`validity` (:class:`Validity`).
- :class:`Mediation`: single, parallel and serial mediators with covariates; OLS paths with
  Baron-Kenny steps and Sobel tests, bootstrap (percentile, bias-corrected, cluster)
  intervals for the indirect effects, or the same model on semopy (:class:`MediationResults`).
"""

from spillover.survey._checks import SurveyCheck
from spillover.survey._codebook import Codebook, Item
from spillover.survey._questionnaire import Questionnaire
from spillover.survey._responses import read_responses
from spillover.survey.factor import EFAResult, ParallelAnalysis, efa, parallel_analysis, scree
from spillover.survey.mediation import Mediation, MediationResults
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
from spillover.survey.sem import SEMResults, cfa, sem
from spillover.survey.validity import Validity, validity

__all__: list[str] = [
    "KMO",
    "Bartlett",
    "Codebook",
    "ConstructReliability",
    "EFAResult",
    "Item",
    "Mediation",
    "MediationResults",
    "ParallelAnalysis",
    "Questionnaire",
    "Reliability",
    "SEMResults",
    "SurveyCheck",
    "Validity",
    "bartlett_sphericity",
    "cfa",
    "efa",
    "item_statistics",
    "kmo",
    "parallel_analysis",
    "read_responses",
    "reliability",
    "scree",
    "sem",
    "validity",
]
