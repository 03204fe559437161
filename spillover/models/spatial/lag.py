"""Spatial lag (SAR) and spatial Durbin (SDM) panel models by maximum likelihood."""

from __future__ import annotations

from spillover.models.spatial._family import register_family
from spillover.models.spatial._model import DurbinModel, SpatialModel
from spillover.models.spatial._static import StaticFamily

_NOTES = """
    Notes
    -----
    Fixed effects are removed by the within transformation (closed form, balanced panel);
    beta and sigma^2 are concentrated out and the spatial parameter(s) found by bounded
    scalar search on ``(-1/r, 1/r)``, r the spectral radius of W (``(-1, 1)`` when W is
    row-standardised). Spatial lags are formed before demeaning (``J W y``), the exact
    within transformation of a model with time effects.

    ``bias_correction="lee-yu"`` (default) is Lee and Yu's (2010) transformation approach:
    with entity effects it leaves rho and beta unchanged and divides the SSR by ``N(T-1)``
    instead of ``NT`` (sigma^2 x T/(T-1)), with ``T-1`` log-determinant periods; with time
    or two-way effects it also drops one cross-sectional dimension, ``(N-1)(T-1)``
    observations and a ``-(T-1) log(1 - rho)`` Jacobian term, so rho changes as well
    (needs a row-standardised W). ``bias_correction=None`` is direct ML: sigma^2 =
    SSR/(NT) and T log-determinants, as spreg's ``ML_LagFE``/``ML_ErrorFE``, splm's
    ``spml(..., LeeYu=FALSE)`` default and (by its documentation) xsmle without the
    ``leeyu`` option; xsmle's ``type(..., leeyu)`` is documented as the transformation
    approach implemented here (not checked against Stata in our tests).

    Reproducing peers: spreg ``ML_LagFE``/``ML_ErrorFE`` and splm with entity effects
    (``LeeYu=FALSE`` or ``TRUE``) agree to optimiser tolerance with
    ``bias_correction=None`` / ``"lee-yu"``. splm with time or two-way effects lags the
    demeaned y (``W J y``); estimates then differ from ours at the 1e-3 level unless W is
    also column-stochastic. splm's ``LeeYu=TRUE`` with two-way effects applies Lee and Yu's
    analytic bias correction to the direct estimates rather than the transformation
    approach used here (the two are asymptotically equivalent), and with time effects only
    it rescales sigma^2 by N/(N-1) leaving rho unchanged. splm names the spatial lag
    ``lambda`` and the spatial error ``rho``.

    ``vcov="ml"`` inverts the expected information matrix of (beta, rho, lambda, sigma^2)
    of the transformed likelihood (Lee and Yu 2010; Elhorst 2014), with exact traces of
    ``W (I - rho W)^-1`` wherever their measured cost is affordable (up to about 5,000
    regions for SAR, 3,000 for SAC on a contiguity-like planar W; the rule is
    :data:`~spillover.models.spatial._variance.EXACT_MAX_WORK`) and Hutchinson estimates
    otherwise (relative error of order ``1 / sqrt(N probes)``); ``info["Traces"]`` says
    which, and for the estimates their Monte Carlo precision, e.g. ``"stochastic (30
    Rademacher draws; relative SE of SE(rho) 1.8e-05, SE(lambda) 1.0e-03)"``;
    ``"hessian"`` the numerical Hessian. ``loglik`` is the maximised log-likelihood of the
    transformed model (fixed effects concentrated out); ``aic``/``bic`` count params plus
    sigma^2, the BIC with the effective number of observations; ``r2_pseudo`` is the squared
    correlation of the (demeaned) y with its fitted value ``y - u``,
    ``u = y - rho W y - X beta`` (spreg's ``pr2``). Any intercept is absorbed by the fixed
    effects and dropped. With random effects, y, W y and X are those of the likelihood,
    quasi-demeaned with the estimated phi, ``a* = a - (1 - phi) abar_i`` (after removing
    period means when ``time_effects=True``), for SAR, SDM and SEM alike: ``fitted`` is
    ``y* - u*`` with ``u* = y* - rho W y* - X* beta`` (``X* beta`` for the SEM),
    ``residuals`` is ``u*`` and ``r2_pseudo`` is ``corr(y*, fitted)^2``.

    Weights by period (``w`` a WeightsByPeriod or mapping period -> Weights): each period
    is lagged with its own ``W_t`` (spatial lags of y and of Durbin regressors, formed
    before demeaning), the Jacobian is ``sum_t log|I - a W_t|`` and every trace in the
    information matrix is summed over periods (each distinct ``W_t`` is factorised once).
    Fixed effects are concentrated out by ML (the direct approach; the Lee-Yu
    transformation mixes periods and needs one W, so ``bias_correction=None`` is
    required). In the error models the effects enter inside the error filter,
    ``B_t (y_t - X_t beta) = mu + alpha_t + e_t``, which is the usual model when W does not
    change (and for time effects with row-standardised ``W_t``); with entity effects and
    changing ``W_t`` it differs from effects outside the filter. ``impacts()`` averages the
    per-period effects matrices ``S_t = (I - rho W_t)^-1 (beta I + theta W_t)`` over periods
    (see :func:`spillover.inference.impacts.impacts`). ``W(x)`` formula terms are refused
    (use ``durbin=``). With all ``W_t`` equal the fit is the static one, bit for bit.
"""


register_family(StaticFamily("sar", "Spatial lag (SAR)", lag_y=True, random=True))
register_family(StaticFamily("sdm", "Spatial Durbin (SDM)", lag_y=True, random=True))


class SpatialLag(SpatialModel):
    """Spatial lag panel model, ``y = rho W y + X beta + effects + e``.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + x2"``; ``W(x)`` terms add spatially lagged regressors (an SDM).
    panel : Panel or DataFrame indexed by (entity, time)
        Balanced panel.
    w : Weights, libpysal W/Graph, or weights by period
        Spatial weights, matched to the panel entities by id
        (:func:`spillover.weights.as_weights`). A bare scipy or numpy matrix has no ids and is
        refused unless stated in the panel's sorted entity order with
        ``Weights.in_panel_order(matrix, panel)``. A
        :class:`~spillover.weights.WeightsByPeriod` or a mapping period -> Weights (one for
        every panel period, :meth:`~spillover.weights.WeightsByPeriod.align`) gives one
        ``W_t`` per period
        (fixed effects or pooled, ``bias_correction=None``; not SAC; see Notes).
    effects : {"entity", "time", "twoway", "none", "random"}, default "entity"
        Fixed effects removed by demeaning, none (pooled, with intercept), or random entity
        effects (SAR, SDM and SEM; see :mod:`spillover.models.spatial.random`, which also
        has the spatial Hausman test, and :mod:`spillover.models.spatial.random_error`).
        The random effects models report no ``phi`` coefficient: the variance components
        ``sigma2_mu`` (random effect), ``sigma2_e`` (idiosyncratic), the quasi-demeaning
        parameter ``phi`` (``phi^2 = sigma2_e / (T sigma2_mu + sigma2_e)``), its standard
        error ``phi_se`` and ``theta = 1 - phi`` (plm's theta) are in ``fit_stats``.
    time_effects : bool, default False
        With ``effects="random"``: fixed time effects as well (random entity effects plus
        period effects, as :class:`~spillover.models.RandomEffects` with
        ``time_effects=True``). Period means are removed from y, W y and X (lagged before
        demeaning), then the random effects quasi-demeaning applies; the time variable is
        listed in ``fixed_effects`` and no intercept is reported. Exact (the likelihood
        with the period effects concentrated out) for SAR and SDM with any W; for SEM only
        when all row sums of W are equal and all column sums are equal (e.g. row-
        standardised and column-stochastic), and refused otherwise. Other effects: use
        ``effects="time"`` or ``"twoway"``.
    bias_correction : {"lee-yu", None}, default "lee-yu"
    logdet : {"auto", "eigen", "lu", "chebyshev", "mc"}, default "auto"
        Log-determinant kernel; see :func:`spillover.linalg.logdet.log_determinant`.

    Raises
    ------
    PanelError
        If the panel is unbalanced.
    SpecificationError, AlignmentError, WeightsError
        Bad options, collinear regressors, or W not matching the panel.
    """

    family = "sar"


class SpatialDurbin(DurbinModel):
    """Spatial Durbin panel model, ``y = rho W y + X beta + W X theta + effects + e``.

    Parameters are those of :class:`SpatialLag`, plus

    durbin : True or sequence of str, default True
        Regressors whose spatial lags ``W_x`` enter: all (except the intercept) or a subset.
    """

    family = "sdm"


for _cls in (SpatialLag, SpatialDurbin):
    _cls.__doc__ = (_cls.__doc__ or "") + _NOTES
