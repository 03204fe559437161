"""Results of a mediation model: the path coefficients plus the effect tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from spillover.models import Results, Summary

__all__ = ["MediationResults", "MediationSummary"]


@dataclass(frozen=True, eq=False)
class MediationResults(Results):
    """Fitted mediation model (see :class:`~spillover.survey.Mediation`).

    ``params``/``vcov`` hold the path coefficients of every equation (``"a: x -> m1"``,
    ``"d: m1 -> m2"``, ``"b: m1 -> y"``, ``"c': x -> y"``, ``"c: x -> y"``, and
    ``"m1 ~ age"`` for intercepts and covariates), so the results go into
    :func:`spillover.report.regression_table` like any other model.

    Attributes
    ----------
    indirect : pandas.DataFrame
        One row per specific indirect effect (``"x -> m1 -> y"``) and ``"total indirect"``;
        columns ``estimate``, ``std_error`` (bootstrap SD, or delta-method SE for the
        SEM engine), ``lower``, ``upper`` and ``method`` of the interval.
    effects : pandas.DataFrame
        ``"direct"`` (c') and ``"total"`` (c) effects: ``estimate``, ``std_error``,
        (OLS: ``t``,) ``pvalue``, ``lower``, ``upper``: Wald, with the chosen covariance
        and the reference distribution of ``pvalues`` (OLS), or delta-method and normal
        (SEM, where the total effect is ``c' + total indirect``).
    sobel : pandas.DataFrame or None
        Sobel test of each single-mediator path x -> m_j -> y (OLS engine).
    baron_kenny : pandas.DataFrame or None
        The causal steps of Baron and Kenny (1986) (OLS engine): (1) c, (2) each a,
        (3) each b given x, (4) c' given the mediators, each with its Wald p-value and
        ``significant`` when that is below ``1 - level``.
    draws : pandas.DataFrame or None
        The bootstrap estimates of the indirect effects, one row per draw.
    """

    indirect: pd.DataFrame = field(default_factory=pd.DataFrame)
    effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    sobel: pd.DataFrame | None = None
    baron_kenny: pd.DataFrame | None = None
    draws: pd.DataFrame | None = field(default=None, repr=False)

    def summary(self) -> MediationSummary:
        """Header and path table of every model, then the effect tables."""
        base = super().summary()
        sections = {"Direct and total effects": self.effects, "Indirect effects": self.indirect}
        if self.sobel is not None:
            sections["Sobel tests (normal theory)"] = self.sobel
        if self.baron_kenny is not None:
            sections["Baron-Kenny steps"] = self.baron_kenny
        return MediationSummary(base.header, base.table, sections)


@dataclass(frozen=True)
class MediationSummary(Summary):
    """A :class:`~spillover.models.Summary` followed by titled tables."""

    sections: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __str__(self) -> str:
        parts = [super().__str__()]
        for title, table in self.sections.items():
            parts += ["", title, table.to_string(float_format=_fmt4)]
        return "\n".join(parts)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython
        p.text(str(self))


def _fmt4(value: float) -> str:
    return "nan" if not np.isfinite(value) else f"{value:.4f}"
