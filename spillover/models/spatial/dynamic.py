"""Dynamic spatial panel models: bias-corrected QML (Yu, de Jong and Lee 2008; Lee and Yu 2010).

The design is the static one with ``y_{t-1}`` and ``W y_{t-1}`` as two more columns on the
periods 2..T; estimation, the bias correction and the effects belong to the registered
family (:mod:`._dynamic_family`, :mod:`._dynamic_bias`,
:func:`spillover.inference.dynamic_impacts.dynamic_impacts`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from spillover._calendar import period_numbers
from spillover._validate import preview
from spillover.errors import AlignmentError, PanelError, SpecificationError
from spillover.linalg.logdet import LogdetMethod
from spillover.linalg.stacking import lag
from spillover.models._formula import design
from spillover.models.spatial._data import Transform, spatial_weights
from spillover.models.spatial._dynamic_family import (
    ETA_COLUMN,
    TAU_COLUMN,
    UnstableDynamicsWarning,
    transition_modulus,
    transition_text,
)
from spillover.models.spatial._family import Family, Fit
from spillover.models.spatial._model import SpatialModel
from spillover.models.spatial._results import SpatialResults
from spillover.panel import Panel, as_panel
from spillover.weights import Weights, WeightsByPeriod, is_by_period

__all__ = ["DynamicSpatialDurbin", "DynamicSpatialLag", "UnstableDynamicsWarning"]


class DynamicSpatialDurbin(SpatialModel):
    """Dynamic spatial Durbin panel, bias-corrected QML (Yu, de Jong and Lee 2008).

    ``y_t = tau y_{t-1} + rho W y_t + eta W y_{t-1} + X_t beta + W X_t theta + mu + alpha_t
    + e_t``, t = 2..T, with entity effects mu (``effects="entity"``) or entity and time
    effects (``"twoway"``).

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + x2"``: the static part; ``y_{t-1}`` and ``W y_{t-1}`` are added. The
        dependent variable must be a column of the panel.
    panel : Panel or DataFrame indexed by (entity, time)
        Balanced, with consecutive calendar periods (``spillover._calendar``): the lags
        count calendar periods, so a period missing from the whole panel is refused.
        At least three periods (the first is the initial condition).
    w : Weights or libpysal W/Graph, or weights by period
        One spatial weights matrix for all periods (matched to the entities by id), or one
        W_t per period (a :class:`~spillover.weights.WeightsByPeriod` or a mapping period ->
        weights) for exactly the panel's periods, the initial one included; see Notes,
        Weights by period.
    effects : {"entity", "twoway"}, default "entity"
    eta : bool, default True
        Include ``W y_{t-1}``; False restricts eta = 0.
    durbin : True, False or sequence of str, default True
        Regressors whose spatial lags ``W_x`` enter; False gives the dynamic SAR.
    bias_correction : {"lee-yu", None}, default "lee-yu"
        ``"lee-yu"``: the analytic correction below; None: the direct (uncorrected) QML.
    logdet : {"auto", "eigen", "lu", "chebyshev", "mc"}, default "auto"
    correction_in_se : bool, default True
        Carry the bias correction into the covariance by the delta method (see Notes,
        Variance); False gives the inverse information at the corrected estimates alone.

    Notes
    -----
    Estimator. The first period is the initial condition; on periods 2..T the data are
    demeaned by entity (over those T-1 periods) and, for two-way effects, by period. The
    direct QML maximises the concentrated likelihood of the static SAR/SDM with
    ``y_{t-1}``, ``W y_{t-1}`` as regressors: ``sigma^2 = SSR/(N(T-1))`` and ``(T-1)
    log|I - rho W|`` (Yu, de Jong and Lee 2008, eq. 4). With two-way effects and
    ``bias_correction="lee-yu"`` the time effects are removed by the Lee and Yu (2010,
    Econometric Theory 26) orthonormal transformation (``(N-1)(T-1)`` observations,
    ``-(T-1) log(1 - rho)`` in the Jacobian; needs a row-standardised W).
    The correction is ``theta_1 = theta_hat - B_hat/(T-1)`` with ``B = -Sigma^-1 a``, Sigma
    the information per observation and a the vector of Yu, de Jong and Lee (2008,
    Theorem 2, stable case), evaluated at theta_hat (:mod:`._dynamic_bias` gives the
    formula; with the two-way transformation N is N - 1 and the traces are those on the
    complement of the constant vector). This is the correction of Elhorst's MATLAB
    ``sar_jihai``/``sar_jihai_time`` and of R SDPDmod's ``SDPDm(..., dynamic=TRUE,
    LYtrans=TRUE)`` in the stable case; we have not run either (SDPDmod is not installed
    here). ``params`` are the corrected estimates, ``sigma2`` the corrected sigma^2 and
    ``loglik`` the log-likelihood at them.

    Variance. ``vcov="ml"``: inverse of the expected information of the transformed
    likelihood at the corrected estimates (Yu, de Jong and Lee's Sigma^-1/(N(T-1)) for
    normal errors; their extra 4th-moment term Omega for non-normal errors, included in
    Elhorst's and SDPDmod's SEs, is not), carried through the correction by the delta
    method: the corrected estimator is ``g(theta_hat) = theta_hat + c(theta_hat)``, so its
    covariance is ``J V J'`` with ``J = I + dc/dtheta`` (forward differences at the direct
    estimates). ``J - I`` is O(1/T) and vanishes asymptotically, but at T = 10 it raises the
    SE of tau by about 12% (``dc_tau/dtau`` is about 1/(T-1), the slope of the Nickell-type
    bias): without it, 95% intervals for tau cover about 91% in Monte Carlo (N = 100,
    T = 10), with it 93-97% (``tests/models/spatial/test_dynamic_monte_carlo.py``).
    ``correction_in_se=False`` reports V alone, as Elhorst's routines and SDPDmod do
    (apart from Omega). ``"hessian"``: numerical Hessian at the corrected estimates, carried
    through the correction the same way. The covariance label states the delta method.

    Stability. The summary states the largest |eigenvalue| of ``(I - rho W)^-1 (tau I +
    eta W)`` (all eigenvalues of W for N <= 1,500; the two ends of the real spectrum
    above), < 1 for a stable model; for row-standardised W with non-negative parameters
    this is ``tau + rho + eta < 1``. Unstable direct estimates are refused when correcting
    (the correction assumes stability); unstable corrected estimates are warned about.

    Weights by period (the model class of Lee and Yu 2012, Spatial Economic Analysis 7).
    The model is ``y_t = tau y_{t-1} + rho W_t y_t + eta W_{t-1} y_{t-1} + X_t beta + W_t
    X_t theta + ...``: the spatial time lag is last period's spatial lag, as it was then.
    The likelihood has ``sum_t log|I - rho W_t|`` (t = 2..T; with two-way effects also
    ``-(T-1) log(1 - rho)``, which needs every W_t row-standardised). With ``S_t = I - rho
    W_t``, ``G_t = W_t S_t^-1`` and the transitions ``A_t = S_t^-1 (tau I + eta W_{t-1})``,
    the powers of one A in the correction become products of the A_t: every trace is
    averaged over the periods, with ``R`` replaced by ``P_t = sum_{s < t} A_{t-1} ...
    A_{s+1} S_s^-1``, the response of ``y_{t-1}`` to all earlier shocks (a = ``(tr P_t,
    tr W_{t-1} P_t, 0, tau tr G_t P_t + eta tr G_t W_{t-1} P_t + tr G_t, n/(2 sigma^2))``,
    derived from the reduced form as Yu, de Jong and Lee's; :mod:`._dynamic_bias`). Before
    the sample the weights are taken to be the initial period's, so with all W_t equal
    ``P_t = R`` and the correction is the one-W correction; weights by period whose matrices
    are all equal are treated as that one W, with identical results. We have not compared
    these expressions with the paper's printed ones. Stability: the summary gives the
    largest spectral radius of the A_t (and of the pre-sample transition); each below 1 is
    what is checked, a per-period condition (products of the A_t surely decay when
    ``(|tau| + |eta|) / (1 - |rho|) < 1`` with non-negative row-standardised W_t, which
    bounds every ``||A_t||_inf``). Effects: the short-
    and long-run effects of :func:`~spillover.inference.dynamic_impacts.dynamic_impacts`
    at the W_t of one period, ``res.impacts(period=...)``, by default the last: the effect
    of a change in that period, and the steady state if the weights stayed as they were
    then. Monte Carlo (N = 100, T = 10, W_t alternating rook/queen, 1,000 panels;
    ``tests/models/spatial/test_dynamic_by_period_monte_carlo.py``): the corrected tau is
    biased by -0.003 to -0.004 (direct QML: -0.075), 95% intervals cover 93.5-96.3%.

    Conventions of xsmle (Stata; not run here, so nothing below is checked numerically).
    xsmle writes the model as ``y_it = tau y_it-1 + psi W y_it-1 + rho W y_it + X beta +
    D Z theta + a_i + gamma_t + v_it``: its ``psi`` is our ``eta``, and ``dlag()`` chooses
    which of ``y_{t-1}``/``W y_{t-1}`` enter (ours: ``eta=``; ``y_{t-1}`` always enters).
    Its dynamic models cite Yu, de Jong and Lee (2008); whether its printed coefficients
    are the direct or the bias-corrected QML we have not verified, so compare with
    ``bias_correction=None`` as well. Our sample drops the first period of each unit (its
    lag is unobserved; no model of the initial condition).
    SDPDmod names tau and eta ``y(t-1)`` and ``W*y(t-1)``, reports both the direct
    (``coefficients``) and corrected (``coefficients1``) estimates, and adds the
    4th-moment term to its SEs.

    Examples
    --------
    >>> from spillover.models import DynamicSpatialDurbin
    >>> from spillover.simulate import dynamic_spatial_panel, grid_weights
    >>> rook = grid_weights(6).row_standardize()
    >>> queen = grid_weights(6, contiguity="queen").row_standardize()
    >>> panel = dynamic_spatial_panel(rook, 6, tau=0.4, rho=0.2, beta=[1.0], seed=1)
    >>> by_period = {t: rook if t < 4 else queen for t in panel.periods}
    >>> res = DynamicSpatialDurbin("y ~ x1", panel, w=by_period).fit()
    >>> list(res.params.index)
    ['x1', 'W_x1', 'tau', 'eta', 'rho']
    >>> "(stable)" in res.info["Stability"]
    True
    """

    family = "sdpd"

    def __init__(
        self,
        formula: str,
        panel: Panel | pd.DataFrame,
        *,
        w: Any,
        effects: Literal["entity", "twoway"] = "entity",
        eta: bool = True,
        durbin: bool | Sequence[str] = True,
        bias_correction: Literal["lee-yu"] | None = "lee-yu",
        logdet: LogdetMethod = "auto",
        correction_in_se: bool = True,
    ) -> None:
        source = as_panel(panel)
        _check_options(effects, bias_correction)
        dependent = _dependent(formula, source)
        _require_consecutive(source)
        weights = _weights(w, source)
        lagged = _with_lags(source, dependent, weights, eta)
        sample = _sample_weights(weights, source)
        self._durbin_request = _durbin_names(formula, lagged, sample, durbin)
        terms = f" + {TAU_COLUMN}" + (f" + {ETA_COLUMN}" if eta else "")
        super().__init__(
            formula + terms,
            lagged,
            w=sample,
            effects=effects,
            bias_correction=None,
            logdet=logdet,
        )
        self.formula, self.source_panel = formula, source
        self.eta, self.durbin = bool(eta), durbin
        self.bias_correction = bias_correction
        self.correction_in_se = bool(correction_in_se)
        #: W_t of every period, the initial one included (None: one W for all periods).
        self.weights_all_periods = weights if isinstance(weights, WeightsByPeriod) else None
        self.transform = _transform(effects, bias_correction, lagged, weights)

    def _results(self, spec: Family, fit: Fit, cov: Any) -> SpatialResults:
        res = super()._results(spec, fit, cov)
        p = res.params
        tau, rho, eta = float(p["tau"]), float(p["rho"]), float(p.get("eta", 0.0))
        modulus = transition_modulus(self, tau, rho, eta)
        verdict = "stable" if modulus < 1 else "NOT stable"
        info = dict(res.info)
        by_period = self.weights_all_periods is not None
        info["Bias correction"] = _bias_text(self.effects, self.bias_correction, by_period)
        info["Stability"] = (
            f"largest |eigenvalue| of {transition_text(self)} = {modulus:.4f} ({verdict}); "
            f"tau + rho + eta = {tau + rho + eta:.4f}"
        )
        info["Initial period"] = f"{self.source_panel.periods[0]} (conditioned on)"
        if by_period:
            info["Effects"] = (
                f"at the W_t of the last period ({self.source_panel.periods[-1]}); "
                "impacts(period=...) for another"
            )
        return dataclasses.replace(res, info=info, model=_title(self.eta, bool(res.durbin)))


class DynamicSpatialLag(DynamicSpatialDurbin):
    """Dynamic spatial lag panel (no ``W X``): ``DynamicSpatialDurbin(..., durbin=False)``.

    See :class:`DynamicSpatialDurbin` for the parameters (all but ``durbin``) and Notes.
    """

    def __init__(
        self,
        formula: str,
        panel: Panel | pd.DataFrame,
        *,
        w: Any,
        effects: Literal["entity", "twoway"] = "entity",
        eta: bool = True,
        bias_correction: Literal["lee-yu"] | None = "lee-yu",
        logdet: LogdetMethod = "auto",
        correction_in_se: bool = True,
    ) -> None:
        super().__init__(
            formula,
            panel,
            w=w,
            effects=effects,
            eta=eta,
            durbin=False,
            bias_correction=bias_correction,
            logdet=logdet,
            correction_in_se=correction_in_se,
        )


def _title(eta: bool, durbin: bool) -> str:
    base = "Dynamic spatial Durbin (SDPD)" if durbin else "Dynamic spatial lag (SDPD)"
    return base if eta else base + ", no W y(t-1)"


def _bias_text(effects: str, bias: str | None, by_period: bool = False) -> str:
    if bias is None:
        return "none (direct QML)"
    analytic = (
        "Yu-de Jong-Lee (2008) analytic, W_t by period"
        if by_period
        else "Yu-de Jong-Lee (2008) analytic"
    )
    if effects == "twoway":
        return f"Lee-Yu (2010) transformation for time effects + {analytic}"
    return f"{analytic}, theta - B/(T-1)"


def _check_options(effects: str, bias: str | None) -> None:
    if effects not in ("entity", "twoway"):
        raise SpecificationError(
            f"effects={effects!r} is not implemented for dynamic spatial panels; use "
            "'entity' or 'twoway'."
        )
    if bias not in ("lee-yu", None):
        raise SpecificationError(f"bias_correction={bias!r} is not valid; use 'lee-yu' or None.")


def _weights(w: Any, panel: Panel) -> Weights | WeightsByPeriod:
    """One W, or W_t for exactly the panel's periods (the initial one included), aligned.

    Weights by period whose matrices are all equal are that one W: the model is then the
    one-W model exactly.
    """
    if not is_by_period(w):
        return spatial_weights(w, panel)
    given = pd.Index(list(WeightsByPeriod(w).periods))
    missing = panel.periods.difference(given, sort=False)
    extra = given.difference(panel.periods, sort=False)
    if len(missing) or len(extra):
        absent = preview(missing) if len(missing) else "none"
        outside = preview(extra) if len(extra) else "none"
        raise AlignmentError(
            f"the weights by period must cover exactly the panel's periods "
            f"{preview(panel.periods)} (the first is the initial condition, whose W_t enters "
            f"W y_(t-1) of the next period); missing: {absent}, not in the panel: {outside}. "
            "Supply one W_t per "
            "panel period, e.g. {p: w[p] for p in panel.periods}, or subset the panel "
            "(panel.subset(periods=...))."
        )
    out = spatial_weights(w, panel)
    if len(out.matrices.groups) == 1:
        return next(iter(out.values()))
    return out


def _sample_weights(weights: Any, panel: Panel) -> Any:
    """The weights of the estimation periods 2..T."""
    if isinstance(weights, WeightsByPeriod):
        return WeightsByPeriod({p: weights[p] for p in panel.periods[1:]})
    return weights


def _dependent(formula: str, panel: Panel) -> str:
    left = formula.split("~")[0].strip()
    if left not in panel.columns:
        raise SpecificationError(
            f"the dependent variable {left!r} must be a column of the panel (its lag enters "
            "the model); create the transformed column first, e.g. panel.assign(...)."
        )
    return left


def _require_consecutive(panel: Panel) -> None:
    panel.require_balanced()
    numbers = period_numbers(panel.periods, name=f"time column {panel.time_name!r}")
    jumps = np.flatnonzero(np.diff(numbers) != 1)
    if len(jumps):
        after = [panel.periods[i] for i in jumps]
        raise PanelError(
            f"the periods are not consecutive: calendar gaps after {preview(after)}. The lag "
            "y_{t-1} counts calendar periods, so a dynamic model needs every period; use a "
            "subset of consecutive periods (panel.subset(periods=...))."
        )
    if panel.n_periods < 3:
        raise SpecificationError(
            f"a dynamic panel needs at least 3 periods (the first is the initial condition "
            f"and the entity means need two more); this panel has {panel.n_periods}."
        )


def _with_lags(panel: Panel, dependent: str, weights: Any, eta: bool) -> Panel:
    """Panel of periods 2..T with y_{t-1} (and W y_{t-1}) as columns."""
    frame = panel.data.sort_index()
    y = frame[dependent].to_numpy(dtype=float)
    op = weights.matrices if isinstance(weights, WeightsByPeriod) else weights.matrix
    wy = pd.Series(lag(op, y), index=frame.index)  # W_t y_t; lagged below: W_{t-1} y_{t-1}
    full = panel.assign(**{TAU_COLUMN: panel.lag(dependent), "_wy_now__": wy})
    if eta:
        full = full.assign(**{ETA_COLUMN: full.lag("_wy_now__")})
    return full.subset(periods=panel.periods[1:])


def _durbin_names(formula: str, panel: Panel, weights: Any, durbin: Any) -> Any:
    if durbin is not True:
        return durbin
    x = design(formula, panel, w=None if isinstance(weights, WeightsByPeriod) else weights).x
    return [c for c in x.columns if c != "Intercept" and not c.startswith("W_")]


def _transform(effects: str, bias: str | None, panel: Panel, weights: Any) -> Transform:
    n, t = panel.n_entities, panel.n_periods
    if effects == "twoway" and bias is not None:
        by_period = isinstance(weights, WeightsByPeriod)
        items = weights.items() if by_period else [(None, weights)]
        bad = [p for p, m in items if not m.is_row_standardised]
        if bad:
            which = f"the W_t of periods {preview(bad)} are not" if by_period else "W is not"
            raise SpecificationError(
                f"the Lee-Yu transformation for time effects needs row-standardised weights "
                f"(W 1 = 1, so that it removes the time effects from every period); {which}. "
                "Row-standardise them (w.row_standardize(), or wt.map(Weights.row_standardize) "
                "by period) or pass bias_correction=None."
            )
        return Transform(float((n - 1) * t), t, True)
    return Transform(float(n * t), t, False)
