"""Panel specification tests: Hausman, Pesaran CD, Wooldridge, Breusch-Pagan LM, F, Moran.

Every test returns a frozen :class:`TestResult` (statistic, degrees of freedom, p-value,
null hypothesis) whose ``str()`` reads like R's ``htest`` print-out. Tests that need only
fitted models take any results object with ``params``, ``vcov`` (or linearmodels'
``cov``) and ``residuals`` (a Series indexed by (entity, time)); tests that refit
auxiliary regressions take the data: ``y`` and ``x`` as pandas objects indexed by
(entity, time), or arrays with ``entity`` and ``time`` codes. Conventions follow R's plm
(``phtest``, ``pcdtest``, ``pwfdtest``, ``plmtest``, ``pFtest``) so numbers can be
checked against it.
"""

from spillover.diagnostics.specification._common import TestResult
from spillover.diagnostics.specification._dependence import moran_by_period, pesaran_cd
from spillover.diagnostics.specification._effects import (
    breusch_pagan_lm,
    fixed_effects_f_test,
    wooldridge_serial,
)
from spillover.diagnostics.specification._hausman import hausman, hausman_robust

__all__ = [
    "TestResult",
    "breusch_pagan_lm",
    "fixed_effects_f_test",
    "hausman",
    "hausman_robust",
    "moran_by_period",
    "pesaran_cd",
    "wooldridge_serial",
]
