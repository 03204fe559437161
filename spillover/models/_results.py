"""The results interface shared by every estimator in the toolkit.

Report code (tables, figures) reads only the public fields defined here, so any new
estimator whose results derive from :class:`Results` appears in every table unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from spillover._validate import preview
from spillover.errors import SpecificationError


def _frozen_mapping(values: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(values or {}))


#: Fields held as read-only mappings (``MappingProxyType``, which pickle refuses).
_MAPPINGS = ("fit_stats", "info")


@dataclass(frozen=True, eq=False)
class Results:
    """Fitted model: estimates, their covariance, and what was fitted.

    Attributes
    ----------
    params : pandas.Series
        Point estimates, indexed by term name. Spatial parameters are ``rho`` (lag)
        and ``lambda`` (error).
    vcov : pandas.DataFrame
        Estimated covariance of ``params`` (already including any small-sample factor).
    nobs : int
        Observations used.
    df_resid : int or None
        Degrees of freedom of the t reference distribution for ``pvalues`` and
        ``conf_int``; None means the standard normal is used (ML and large-sample cases).
    vcov_name : str
        Human-readable covariance estimator, e.g. ``"cluster (firm), CR1"``.
    model : str
        Estimator name shown in summaries and table headers, e.g. ``"Two-way FE"``.
    dependent : str
        Dependent variable.
    fixed_effects : tuple of str
        Effects absorbed or estimated, e.g. ``("firm", "year")``.
    n_entities, n_periods : int or None
        Panel dimensions, where they apply.
    fit_stats : Mapping
        Named fit statistics, those that apply, each key one quantity whatever the
        estimator: ``r2`` (``1 - SSR/TSS`` of the model as fitted, fixed effects included),
        ``r2_adj``, ``r2_within`` (after the model's own fixed effects are swept out),
        ``r2_between``, ``r2_overall``, ``r2_quasi`` (quasi-demeaned random-effects
        regression), ``r2_diff`` (first differences), ``r2_pseudo`` (squared correlation of
        y and fitted), ``pseudo_r2`` (McFadden), ``n_clusters``, ``mean_y``, ``loglik``,
        ``aic``, ``bic``, ``sigma2``, ``f_stat`` ... (definitions in
        ``spillover.report._rows.FIT_LABELS``).
    info : Mapping
        Other descriptive facts for summaries, keyed by their display label, e.g.
        ``{"Weights": "queen (row, N=48)"}`` (the table builder shows ``"Weights"`` as a row).
    residuals, fitted : pandas.Series or None
        In-sample residuals and fitted values, indexed like the estimation sample.
    """

    params: pd.Series
    vcov: pd.DataFrame
    nobs: int
    df_resid: int | None
    vcov_name: str
    model: str = ""
    dependent: str = ""
    fixed_effects: tuple[str, ...] = ()
    n_entities: int | None = None
    n_periods: int | None = None
    fit_stats: Mapping[str, float] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)
    residuals: pd.Series | None = field(default=None, repr=False)
    fitted: pd.Series | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fit_stats", _frozen_mapping(self.fit_stats))
        object.__setattr__(self, "info", _frozen_mapping(self.info))
        object.__setattr__(self, "fixed_effects", tuple(self.fixed_effects))

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:
        """Fields for pickling: the read-only mappings (which do not pickle) as dicts."""
        state = dict(self.__dict__)
        for name in _MAPPINGS:
            state[name] = dict(state[name])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore the fields, the mappings read-only again (frozen: no ``__setattr__``)."""
        state = dict(state)
        for name in _MAPPINGS:
            state[name] = _frozen_mapping(state[name])
        self.__dict__.update(state)

    # ------------------------------------------------------------------ inference
    @property
    def std_errors(self) -> pd.Series:
        """Square roots of the diagonal of ``vcov``."""
        se = np.sqrt(np.clip(np.diag(self.vcov.to_numpy()), 0.0, None))
        return pd.Series(se, index=self.params.index, name="std_error")

    @property
    def tstats(self) -> pd.Series:
        """``params / std_errors`` (z statistics when ``df_resid`` is None)."""
        return (self.params / self.std_errors).rename("tstat")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values from t(df_resid), or the standard normal if df_resid is None."""
        t = np.abs(self.tstats.to_numpy())
        if self.df_resid is None:
            p = 2 * stats.norm.sf(t)
        else:
            p = 2 * stats.t.sf(t, self.df_resid)
        return pd.Series(p, index=self.params.index, name="pvalue")

    def critical_value(self, level: float = 0.95) -> float:
        """Two-sided critical value of the reference distribution at ``level``."""
        q = 0.5 + level / 2
        return float(stats.norm.ppf(q) if self.df_resid is None else stats.t.ppf(q, self.df_resid))

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Wald confidence intervals ``params -/+ c * std_errors``."""
        if not 0 < level < 1:
            raise SpecificationError(f"level must be in (0, 1), e.g. 0.95; got {level}.")
        c = self.critical_value(level)
        se = self.std_errors
        return pd.DataFrame({"lower": self.params - c * se, "upper": self.params + c * se})

    def wald_test(self, terms: list[str]) -> tuple[float, int, float]:
        """Joint Wald test that ``terms`` are all zero: (statistic, df, p-value), chi-squared."""
        unknown = [t for t in terms if t not in self.params.index]
        if unknown or not terms:
            raise SpecificationError(
                f"wald_test needs terms among the parameters; {preview(unknown)} are not. "
                f"Parameters: {preview(self.params.index, 12)}."
            )
        b = self.params[terms].to_numpy()
        v = self.vcov.loc[terms, terms].to_numpy()
        try:
            stat = float(b @ np.linalg.solve(v, b))
        except np.linalg.LinAlgError as exc:
            raise SpecificationError(
                f"the covariance of {preview(terms)} is singular, so their joint Wald test is "
                "undefined; test fewer terms or drop the ones that repeat others."
            ) from exc
        return stat, len(terms), float(stats.chi2.sf(stat, len(terms)))

    # ------------------------------------------------------------------ display
    def coef_table(self, level: float = 0.95) -> pd.DataFrame:
        """Estimates, standard errors, t/z statistics, p-values and confidence bounds."""
        ci = self.conf_int(level)
        return pd.DataFrame(
            {
                "coef": self.params,
                "std_error": self.std_errors,
                "t" if self.df_resid is not None else "z": self.tstats,
                "pvalue": self.pvalues,
                "lower": ci["lower"],
                "upper": ci["upper"],
            }
        )

    def summary(self) -> Summary:
        """Terminal-readable summary: header facts, then the coefficient table."""
        head: dict[str, str] = {
            "Model": self.model,
            "Dependent": self.dependent,
            "Observations": f"{self.nobs:,}",
        }
        if self.n_entities is not None:
            head["Entities"] = f"{self.n_entities:,}"
        if self.n_periods is not None:
            head["Periods"] = f"{self.n_periods:,}"
        head["Fixed effects"] = ", ".join(self.fixed_effects) or "none"
        head["Covariance"] = self.vcov_name
        if self.df_resid is not None:
            head["Residual df"] = f"{self.df_resid:,}"
        for key, value in self.info.items():
            head[str(key)] = str(value)
        for key, value in self.fit_stats.items():
            head[key] = _fmt(value)
        return Summary(head, self.coef_table())

    def __str__(self) -> str:
        return str(self.summary())


@dataclass(frozen=True)
class Summary:
    """Header facts and a coefficient table; ``str()`` renders them for a terminal."""

    header: Mapping[str, str]
    table: pd.DataFrame

    def __str__(self) -> str:
        width = max((len(k) for k in self.header), default=0)
        items = [f"{k:<{width}}  {v}" for k, v in self.header.items()]
        half = (len(items) + 1) // 2
        left, right = items[:half], items[half:]
        colw = max((len(s) for s in left), default=0) + 4
        lines = [
            f"{a:<{colw}}{b}" for a, b in zip(left, right + [""] * (half - len(right)), strict=True)
        ]
        body = self.table.to_string(float_format=_fmt)
        rule = "=" * max(max((len(s) for s in lines), default=0), len(body.splitlines()[0]))
        return "\n".join([rule, *lines, "-" * len(rule), body, rule])

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython
        p.text(str(self))


def _fmt(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return str(value)
        a = abs(value)
        return f"{value:.4e}" if (a != 0 and (a < 1e-4 or a >= 1e6)) else f"{value:.4f}"
    return str(value)
