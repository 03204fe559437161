"""The one skeleton every estimator follows, and the typed description of a fit.

* The constructor configures: it converts the data (:func:`spillover.panel.as_panel`),
  parses the formula, validates the options and everything that can be checked before
  estimation, and never estimates.
* ``fit(vcov=...)`` resolves ``vcov`` in the covariance registry
  (:mod:`spillover.inference.registry`) against what the estimator's fit provides
  (``vcov_provides``), then runs the estimator's ``_fit(spec, ...)``, which returns
  frozen results. ``fit`` never changes the model, so one model gives results for many
  covariances.
* What a fit says beside its numbers (label, dependent variable, effects, statistics,
  residuals) travels in one typed :class:`About`, not in loose keyword arguments.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from spillover.inference.registry import VcovChoices, resolve_vcov
from spillover.models._results import Results
from spillover.panel import Panel


@dataclass(frozen=True)
class About:
    """What an estimator reports about a fit beside the estimates and their covariance.

    Attributes
    ----------
    model : str
        Label in summaries and table headers, e.g. ``"Two-way FE"``.
    dependent : str
        Dependent variable.
    fixed_effects : tuple of str
        Effects absorbed or estimated.
    fit_stats, info : Mapping
        Named statistics and descriptive facts (see :class:`~spillover.models.Results`).
    residuals, fitted : pandas.Series or None
        Labelled by the rows used.
    n_periods : int or None
        Number of periods to report when the rows used do not show it (a between
        regression has one row per entity); None counts the periods of the rows used.
    """

    model: str
    dependent: str
    fixed_effects: tuple[str, ...] = ()
    fit_stats: Mapping[str, float] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)
    residuals: pd.Series | None = None
    fitted: pd.Series | None = None
    n_periods: int | None = None


class Estimator(VcovChoices, ABC):
    """Base of every estimator: configured once, ``fit(vcov=...)`` returns frozen results.

    Subclasses set ``vcov_provides`` (what their fit hands covariance kernels) and
    ``default_vcov``, configure in ``__init__`` (setting ``formula`` and ``panel``) and
    implement ``_fit(spec, **options)`` for a resolved covariance ``spec``.
    """

    default_vcov: ClassVar[Any] = "unadjusted"
    formula: str
    panel: Panel

    def fit(self, vcov: Any = None, **options: Any) -> Results:
        """Estimate with covariance ``vcov`` (default: the estimator's ``default_vcov``).

        ``vcov`` is a registered name or option object (:mod:`spillover.inference.vcov`);
        one the model does not support is a SpecificationError listing those it does.
        """
        spec = resolve_vcov(self.default_vcov if vcov is None else vcov, self.supported_vcov)
        return self._fit(spec, **options)

    @abstractmethod
    def _fit(self, spec: Any, **options: Any) -> Results:
        """Estimate and build the results for the resolved covariance ``spec``."""

    def close(self) -> None:
        """Release what the model holds outside Python: on the DuckDB backend, its TEMP
        tables and the connection the backend opened; on Dask, its staged partitions.
        Nothing to do in memory."""
        out_of_core = getattr(self, "_out_of_core", None)
        if out_of_core is not None:
            out_of_core.close()

    def __enter__(self) -> Estimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.formula!r}, {self.panel!r})"
