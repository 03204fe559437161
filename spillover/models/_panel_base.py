"""What the linear panel estimators of :mod:`spillover.models.panel` share.

The constructor (formula, data, spatial ``w`` and regression weights, checked once), the
last step building results, and the within transformation of the fixed-effects model,
weighted or not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from spillover.errors import SpecificationError
from spillover.inference.vcov import LEAST_SQUARES
from spillover.models._demean import Absorber
from spillover.models._estimator import About, Estimator
from spillover.models._fit import Transformed, finish, ols
from spillover.models._formula import Design, design
from spillover.models._regweights import (
    RegressionWeights,
    WeightType,
    refuse_weights,
    regression_weights,
    rows_weights,
    scaled,
    weight_fields,
    weight_info,
    weighted_mean,
)
from spillover.models._results import Results
from spillover.panel import Panel, as_panel
from spillover.weights import Weights


class PanelEstimator(Estimator):
    """Parse and validate once; ``fit`` never changes the model.

    ``weights_refused`` is None for estimators with a weighted version, else the reason
    they have none (the error quoted when ``weights=`` is given).
    """

    vcov_provides = LEAST_SQUARES
    _label = ""
    weights_refused: str | None = None

    def __init__(
        self,
        formula: str,
        panel: Panel | pd.DataFrame,
        *,
        w: Weights | None = None,
        weights: str | None = None,
        weight_type: WeightType = "analytic",
    ):
        self.formula = formula
        self.panel = as_panel(panel)
        self.w = w
        if weights is not None and self.weights_refused is not None:
            refuse_weights(type(self).__name__, self.weights_refused)
        self.weights: RegressionWeights | None = regression_weights(
            self.panel, weights, weight_type
        )
        self.design: Design = design(formula, self.panel, w=w)
        if self.design.x.shape[1] == 0:
            raise SpecificationError(
                f"formula {formula!r} has no regressors; add at least one (or the intercept, "
                "'y ~ 1')."
            )

    @property
    def _lm_weights(self) -> pd.Series | None:
        """The weights as linearmodels takes them (None without weights)."""
        if self.weights is None:
            return None
        return pd.Series(self.weights.values, index=self.design.y.index, name="weights")

    def _finish(
        self,
        t: Transformed,
        spec: Any,
        lm: Any,
        *,
        model: str | None = None,
        fit_stats: dict[str, float] | None = None,
        kind: str = "pooled",
        fixed_effects: tuple[str, ...] = (),
        fitted: pd.Series | None = None,
        n_periods: int | None = None,
        residuals: pd.Series | None = None,
    ) -> Results:
        stats = dict(r2_stats(lm, kind) if fit_stats is None else fit_stats)
        # the dependent variable over the estimation rows (weighted when the fit is)
        y = self.design.y.to_numpy()
        stats["mean_y"] = float(weighted_mean(y, rows_weights(self.weights)))
        about = About(
            model=model or self._label,
            dependent=self.design.dependent,
            fixed_effects=fixed_effects,
            fit_stats=stats,
            info=weight_info(self.weights),
            residuals=(
                pd.Series(t.resid, index=t.frame.index, name="residual")
                if residuals is None
                else residuals
            ),
            fitted=fitted,
            n_periods=n_periods,
        )
        return finish(t, spec, self.panel, about)


def r2_stats(lm: Any, kind: str = "pooled") -> dict[str, float]:
    """Goodness of fit from linearmodels' results (weighted when the fit is), each under the
    key of what it is (:data:`spillover.report._rows.FIT_LABELS`).

    ``kind``: ``"pooled"`` (``r2``, no within R2), ``"within"`` (``r2`` including the fixed
    effects, ``rsquared_inclusive``; ``r2_within`` after the model's own effects are swept
    out, PanelOLS's ``rsquared``, fixest's within R2; between and overall), ``"random"``
    (``r2_quasi`` of the quasi-demeaned regression, plm's R2; within, between, overall, as
    ``xtreg, re``), ``"between"`` (``r2_between`` of the regression on entity means; within,
    overall).
    """
    if kind == "pooled":
        return {"r2": float(lm.rsquared)}
    others = {
        "r2_within": float(lm.rsquared_within),
        "r2_between": float(lm.rsquared_between),
        "r2_overall": float(lm.rsquared_overall),
    }
    if kind == "within":
        return others | {"r2": float(lm.rsquared_inclusive), "r2_within": float(lm.rsquared)}
    if kind == "random":
        return others | {"r2_quasi": float(lm.rsquared)}
    return others | {"r2_between": float(lm.rsquared)}


def demeaned(
    d: Design, effects: dict[str, np.ndarray], weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, Absorber]:
    """Regressors and dependent variable with ``effects`` swept out (by weighted least
    squares if ``weights``), and the Absorber."""
    absorber = Absorber(list(effects.values()), weights=weights)
    return absorber.demean(d.x.to_numpy()), absorber.demean(d.y.to_numpy()), absorber


def within_transform(
    d: Design,
    effects: dict[str, np.ndarray],
    params: np.ndarray | None,
    frame: pd.DataFrame,
    within: tuple[np.ndarray, np.ndarray, Absorber] | None = None,
    weights: RegressionWeights | None = None,
) -> Transformed:
    """Demeaned design (grand mean added back if there is an intercept) and its residuals.

    If ``params`` is None they are estimated here by least squares; ``within`` is the
    output of :func:`demeaned` when the caller has it already. With ``weights`` w the
    means are weighted and the returned ``x`` and ``resid`` are scaled by ``sqrt(w)``.
    """
    w = rows_weights(weights)
    xt, yt, absorber = demeaned(d, effects, w) if within is None else within
    x, y = d.x.to_numpy(), d.y.to_numpy()
    if d.has_intercept:
        xt, yt = xt + weighted_mean(x, w), yt + weighted_mean(y, w)
    xs, ys, _ = scaled(xt, yt, w)
    b = ols(xs, ys) if params is None else params
    icpt = int(d.has_intercept)

    def without(names: Any) -> int:
        rest = [c for n, c in effects.items() if n not in set(names)]
        return max(Absorber(rest).rank() - icpt, 0) if rest else 0

    return Transformed(
        xs,
        ys - xs @ b,
        list(d.x.columns),
        b,
        frame,
        absorbed=absorber.rank() - icpt,
        effects=effects,
        absorbed_without=without,
        **weight_fields(weights),
    )
