"""spillover.survey: questionnaire data, measurement and mediation for cluster-learning studies.

Item-level responses with a codebook (constructs, reverse-coded items, allowed ranges),
reliability and validity, exploratory and confirmatory factor analysis, structural
equation models (on semopy) and mediation with bootstrap intervals. The package sits
beside :mod:`spillover.diagnostics`, above :mod:`spillover.models`: mediation results are
:class:`~spillover.models.Results` like every other estimate.

CFA and SEM by maximum likelihood with lavaan's fit indices: :func:`cfa`, :func:`sem`
(:class:`SEMResults`); construct validity (CR, AVE, Fornell-Larcker, HTMT):
:func:`validity` (:class:`Validity`).
"""

from spillover.survey.sem import SEMResults, cfa, sem
from spillover.survey.validity import Validity, validity

__all__ = ["SEMResults", "Validity", "cfa", "sem", "validity"]
