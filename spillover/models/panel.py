"""Standard linear panel estimators from a formula: one class per estimator.

=====================  =======================================  =========================
class                  estimator                                linearmodels / Stata
=====================  =======================================  =========================
``Pooled``             pooled OLS                               PooledOLS / ``regress``
``FixedEffects``       within (entity, time or two-way)         PanelOLS / ``xtreg, fe``
``RandomEffects``      GLS, Swamy-Arora variance components     RandomEffects / ``xtreg, re``
``FirstDifference``    OLS on first differences, no intercept   FirstDifferenceOLS
``Between``            OLS on entity means                      BetweenOLS / ``xtreg, be``
=====================  =======================================  =========================

Each takes ``(formula, panel, *, w=None, weights=None, weight_type="analytic")`` (plus
``effects=`` for FixedEffects), where the formula may hold ``log(x)`` transforms and
spatially lagged regressors ``W(x)`` (SLX) built from ``w``. Point estimates and
R-squared come from linearmodels; every covariance (``fit(vcov=...)``, see
:mod:`spillover.inference.vcov`) is computed by spillover's own kernels from the
transformed regression, so the conventions are the same across all estimators, including
:class:`~spillover.models.HDFE` and :class:`~spillover.models.PanelIV`.
Many effect sets (firm, year, region x year) are absorbed by :class:`~spillover.models.HDFE`.

Regression weights (``weights=`` a column, ``weight_type="analytic"`` or ``"frequency"``,
see :mod:`spillover.models._regweights`) are taken by ``Pooled`` and ``FixedEffects``
(weighted least squares, as linearmodels' ``PooledOLS``/``PanelOLS(weights=)`` and
pyfixest's ``feols(weights=)``). ``RandomEffects``, ``FirstDifference`` and ``Between``
refuse them, each saying why its weighted version is not well defined.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from linearmodels.panel import BetweenOLS, PanelOLS, PooledOLS

from spillover._calendar import period_numbers, unit_name
from spillover._validate import warn_dropped
from spillover.errors import SpecificationError
from spillover.inference.registry import Need
from spillover.models._checks import translated
from spillover.models._fit import Transformed, entity_codes, time_codes
from spillover.models._panel_base import (
    PanelEstimator,
    demeaned,
    within_transform,
)
from spillover.models._panel_checks import (
    check_between,
    check_differences,
    check_within,
    require_y_varies,
)
from spillover.models._regweights import WeightType, rows_weights, scaled, weight_fields
from spillover.models._results import Results
from spillover.models.random_effects import RandomEffects
from spillover.panel import Panel
from spillover.weights import Weights

__all__ = ["Between", "FirstDifference", "FixedEffects", "Pooled", "RandomEffects"]


class Pooled(PanelEstimator):
    """Pooled OLS (linearmodels ``PooledOLS``, Stata ``regress``).

    Parameters
    ----------
    formula : str
    panel : Panel or DataFrame indexed by (entity, time)
    w : Weights, optional
        Weights for ``W(x)`` terms.
    weights : str, optional
        Column of regression weights: positive and finite (zero weights are refused).
    weight_type : {"analytic", "frequency"}, default "analytic"
        As in :class:`~spillover.models.HDFE`: WLS of ``sqrt(w) y`` on ``sqrt(w) X``
        (linearmodels ``PooledOLS(weights=)``, Stata ``[aweight=]``/``[fweight=]``); N is
        the number of rows for analytic and ``sum(w)`` for frequency weights.

    Examples
    --------
    >>> from spillover.models import Pooled
    >>> from spillover.models.panel import _example_panel
    >>> res = Pooled("y ~ x", _example_panel()).fit(vcov="robust")
    >>> round(float(res.params["x"]), 3)
    2.0
    """

    _label = "Pooled OLS"

    def _fit(self, spec: Any) -> Results:
        d = self.design
        require_y_varies(d, d.y.to_numpy())
        with translated(self._label):
            lm = PooledOLS(d.y, d.x, weights=self._lm_weights).fit()
        x, y = d.x.to_numpy(), d.y.to_numpy()
        b = lm.params.to_numpy()
        xs, ys, _ = scaled(x, y, rows_weights(self.weights))
        t = Transformed(
            xs, ys - xs @ b, list(d.x.columns), b, self.panel.data, **weight_fields(self.weights)
        )
        resid = pd.Series(y - x @ b, index=d.y.index, name="residual")
        return self._finish(t, spec, lm, fitted=d.y - resid, residuals=resid)


class FixedEffects(PanelEstimator):
    """Within estimator with entity, time or two-way effects (PanelOLS, ``xtreg, fe``).

    Parameters
    ----------
    formula : str
        e.g. ``"log_gsp ~ log_pcap + log_emp + W(log_pcap)"``.
    panel : Panel or DataFrame indexed by (entity, time)
    effects : {"entity", "time", "twoway"}, default "entity"
    w : Weights, optional
        Weights for ``W(x)`` terms.
    weights : str, optional
        Column of regression weights: positive and finite (zero weights are refused).
    weight_type : {"analytic", "frequency"}, default "analytic"
        As in :class:`~spillover.models.HDFE` (Stata ``aweight``/``fweight``, pyfixest
        ``"aweights"``/``"fweights"``).

    Notes
    -----
    With an intercept in the formula (the default) it is reported as the average effect,
    ``mean(y) - mean(X) b``, as ``xtreg, fe`` and linearmodels do, and counted in K.
    Residual df ``N - K - A`` with A the effect levels minus redundant ones beyond the
    intercept (``n - 1`` for entity effects; ``n + T - 1 - c`` for two-way, c the
    connected components). Clustered errors drop from A the effects nested in a cluster
    variable (Stata). For more than two effect sets use :class:`~spillover.models.HDFE`.

    With weights w the effects are swept out by weighted means, the intercept is the
    weighted average effect, and ``sqrt(w) y`` is regressed on ``sqrt(w) X``: estimates
    are linearmodels' ``PanelOLS(weights=)``; covariances and df follow
    :class:`~spillover.models.HDFE` (N = rows, or ``sum(w)`` for frequency weights).

    Examples
    --------
    >>> from spillover import datasets
    >>> from spillover.inference import Cluster
    >>> from spillover.models import FixedEffects
    >>> model = FixedEffects("log_gsp ~ log_pcap + log_pc + log_emp + unemp",
    ...                      datasets.us_states(), effects="entity")
    >>> res = model.fit(vcov=Cluster("state"))
    >>> round(float(res.params["log_pc"]), 4), res.df_resid, res.vcov_name
    (0.292, 47, 'cluster (state), CR1')
    """

    _label = "Fixed effects"

    def __init__(
        self,
        formula: str,
        panel: Panel | pd.DataFrame,
        *,
        effects: Literal["entity", "time", "twoway"] = "entity",
        w: Weights | None = None,
        weights: str | None = None,
        weight_type: WeightType = "analytic",
    ) -> None:
        if effects not in ("entity", "time", "twoway"):
            raise SpecificationError(
                f"effects must be 'entity', 'time' or 'twoway' (use Pooled for none); "
                f"got {effects!r}."
            )
        super().__init__(formula, panel, w=w, weights=weights, weight_type=weight_type)
        self.effects = effects

    def _effect_codes(self) -> dict[str, np.ndarray]:
        idx = self.panel.data.index
        out = {}
        if self.effects in ("entity", "twoway"):
            out[self.panel.entity_name] = entity_codes(idx)
        if self.effects in ("time", "twoway"):
            out[self.panel.time_name] = time_codes(idx)
        return out

    def _fit(self, spec: Any) -> Results:
        d = self.design
        effects = self._effect_codes()
        within = demeaned(d, effects, rows_weights(self.weights))
        xt, yt, absorber = within
        check_within(d, self.panel, self.effects, xt, yt, absorber.rank())
        with translated(f"FixedEffects(effects={self.effects!r})"):
            lm = PanelOLS(
                d.y,
                d.x,
                entity_effects=self.effects != "time",
                time_effects=self.effects != "entity",
                weights=self._lm_weights,
            ).fit()
        b = lm.params.to_numpy()
        t = within_transform(d, effects, b, self.panel.data, within, self.weights)
        label = {"entity": "Entity FE", "time": "Time FE", "twoway": "Two-way FE"}[self.effects]
        resid = pd.Series(yt - xt @ b, index=d.y.index, name="residual")  # unscaled
        return self._finish(
            t,
            spec,
            lm,
            model=label,
            kind="within",
            fixed_effects=tuple(effects),
            fitted=d.y - resid,
            residuals=resid,
        )


class FirstDifference(PanelEstimator):
    """OLS on first differences within entity, across one calendar period.

    Notes
    -----
    The difference of (i, t) is ``z_it - z_i,t-1`` with ``t - 1`` one calendar period
    earlier in the panel's time unit (integer time in its own units, dates in years,
    quarters, months, weeks or days): Stata's ``D.`` under ``xtset`` and plm's ``diff``
    (``shift = "time"``). An observation whose unit has no observation one period earlier
    has no difference and is not used (a ``DroppedRowsWarning`` gives the count), also when
    that period is missing from the whole panel or the data are spaced waves: code waves
    as consecutive integers to difference wave to wave. Here peers differ: linearmodels'
    ``FirstDifferenceOLS`` differences across a period missing from the whole panel (it
    lags by position among the periods present) and plm's ``model = "fd"`` across any
    gap (``shift = "row"``); on panels without gaps all agree, and the estimates equal
    ``FirstDifferenceOLS``'s. The intercept (which differences to zero) is dropped; the
    estimates and R-squared (uncentred: ``1 - SSR / sum(dy^2)``) are linearmodels'
    ``PooledOLS`` on the differences. ``nobs`` counts differences; residuals are indexed
    by the later period.

    Raises
    ------
    SpecificationError
        If no regressor is left, or no unit is observed in two consecutive periods.
    """

    _label = "First difference"
    weights_refused = (
        "a difference of two rows has no weight given by the rows' own weights (linearmodels "
        "uses a harmonic mean, other packages other rules, Stata's D. under regress the "
        "later row's). Difference the data yourself with the weight you intend, e.g. "
        "panel.assign(...), and use Pooled(..., weights=...)."
    )

    def _fit(self, spec: Any) -> Results:
        d = self.design
        x = d.x.drop(columns=["Intercept"], errors="ignore")
        if x.shape[1] == 0:
            raise SpecificationError("first differences need at least one regressor.")
        if self.panel.n_periods < 2:
            raise SpecificationError(
                f"first differences need at least two periods; this panel has "
                f"{self.panel.n_periods}. Use Pooled for a cross-section."
            )
        later = _consecutive_rows(d.y.index, self.panel.time_name)
        idx = d.y.index[later]
        xa, ya = x.to_numpy(), d.y.to_numpy()
        dx, dy = xa[later] - xa[later - 1], ya[later] - ya[later - 1]
        check_differences(d, self.panel, (xa, ya), (dx, dy), list(x.columns))
        with translated(self._label):
            lm = PooledOLS(
                pd.Series(dy, index=idx, name=d.y.name),
                pd.DataFrame(dx, index=idx, columns=x.columns),
            ).fit()
        b = lm.params.reindex(x.columns).to_numpy()
        frame = self.panel.data.iloc[later]
        t = Transformed(dx, dy - dx @ b, list(x.columns), b, frame)
        return self._finish(t, spec, lm, fit_stats={"r2_diff": float(lm.rsquared)})


def _consecutive_rows(index: pd.MultiIndex, time_name: str) -> np.ndarray:
    """Rows (sorted by entity, time) whose previous row is the same entity one period earlier."""
    time = index.get_level_values(1)
    number = period_numbers(time, name=f"time column {time_name!r}")
    same = index.codes[0][1:] == index.codes[0][:-1]
    step = number[1:] - number[:-1]
    later = np.flatnonzero(same & (step == 1)) + 1
    unit = unit_name(time)
    if len(later) == 0:
        raise SpecificationError(
            f"no unit is observed in two consecutive periods (one {unit} apart), so there is "
            "no first difference. Lags and differences count calendar periods of time; for "
            "waves spaced k periods apart, code time as the wave number, e.g. "
            "(year - first_year) // k."
        )
    warn_dropped(
        int(np.count_nonzero(same & (step > 1))),
        f"no observation of their unit one {unit} earlier (a gap), so no first difference",
    )
    return later


class Between(PanelEstimator):
    """OLS on entity means (linearmodels ``BetweenOLS``, ``xtreg, be``), unweighted.

    Supports ``"unadjusted"``, ``"robust"`` and ``"hc0"`` (the covariances that need only
    the scores); ``nobs`` is the number of entities.
    """

    _label = "Between"
    weights_refused = (
        "an entity mean can be weighted by the sum of the row weights (linearmodels) or by "
        "the entity's count, and the rows' weights within the mean are a second choice; "
        "no convention is shared. Average the data by entity yourself with the weights "
        "you intend and use Pooled(..., weights=...)."
    )
    vcov_provides = frozenset({Need.SCORES})

    def _fit(self, spec: Any) -> Results:
        d = self.design
        xm = d.x.groupby(level=0).mean()
        ym = d.y.groupby(level=0).mean()
        check_between(d, self.panel, xm, ym)
        with translated(self._label):
            lm = BetweenOLS(d.y, d.x).fit()
        idx = self.panel.data.index
        frame = pd.DataFrame(index=idx[~idx.get_level_values(0).duplicated()])
        b = lm.params.to_numpy()
        x = xm.to_numpy()
        t = Transformed(x, ym.to_numpy() - x @ b, list(d.x.columns), b, frame)
        return self._finish(t, spec, lm, kind="between", n_periods=self.panel.n_periods)


def _example_panel() -> Panel:
    """Tiny deterministic panel for docstring examples: y = 1 + 2 x + e."""
    rng = np.random.default_rng(0)
    ids, years = np.repeat(np.arange(20), 5), np.tile(np.arange(2000, 2005), 20)
    x = rng.normal(size=100)
    df = pd.DataFrame({"firm": ids, "year": years, "x": x, "y": 1 + 2 * x})
    df["y"] += rng.normal(scale=1e-3, size=100)
    return Panel(df, entity="firm", time="year")
