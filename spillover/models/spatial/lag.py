"""Spatial lag (SAR) and spatial Durbin (SDM) panel models by maximum likelihood."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from spillover.inference.logdet import LogdetMethod
from spillover.models.spatial._model import SpatialModel
from spillover.panel import Panel

_NOTES = """
    Notes
    -----
    Fixed effects are removed by the within transformation (closed form, balanced panel);
    beta and sigma^2 are concentrated out and the spatial parameter(s) found by bounded
    scalar search on ``(1/lambda_min, 1/lambda_max)`` of W (``(-1, 1)`` when W is
    row-standardised). ``bias_correction="lee-yu"`` (default) is Lee and Yu's (2010)
    transformation approach: with entity effects it leaves rho and beta unchanged and
    divides the SSR by ``N(T-1)`` instead of ``NT`` (sigma^2 x T/(T-1)), with ``T-1``
    log-determinant periods; with time or two-way effects it also drops one cross-sectional
    dimension, ``(N-1)(T-1)`` observations and a ``-(T-1) log(1 - rho)`` Jacobian term, so
    rho changes as well (needs a row-standardised W). ``bias_correction=None`` is direct ML:
    sigma^2 = SSR/(NT), T log-determinants, as spreg's ``ML_LagFE``/``ML_ErrorFE``, splm's
    ``spml(..., LeeYu=FALSE)`` default and xsmle without ``type(..., leeyu)``; with
    ``"lee-yu"`` the fit matches xsmle's ``type(ind|both, leeyu)``.

    ``vcov="ml"`` inverts the expected information matrix of (beta, rho, lambda, sigma^2)
    of the transformed likelihood (Lee and Yu 2010; Elhorst 2014), with exact traces of
    ``W (I - rho W)^-1`` for N <= 1,500 and Hutchinson estimates otherwise; ``"hessian"`` the
    numerical Hessian. ``loglik`` is the maximised log-likelihood of the transformed model
    (fixed effects concentrated out), ``aic``/``bic`` count params plus sigma^2 and use the
    effective number of observations in the BIC; ``r2_pseudo`` is the squared correlation of
    the (demeaned) y with its fitted value ``y - u``, ``u = y - rho W y - X beta`` (spreg's
    ``pr2``). The intercept is absorbed by any fixed effects and dropped.
"""


class SpatialLag(SpatialModel):
    """Spatial lag panel model, ``y = rho W y + X beta + effects + e``.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + x2"``; ``W(x)`` terms add spatially lagged regressors (an SDM).
    panel : Panel
        Balanced panel.
    w : Weights, libpysal W/Graph, scipy sparse matrix or numpy array
        Spatial weights; matched to the panel entities by id (bare matrices must be in the
        panel's sorted entity order).
    effects : {"entity", "time", "twoway", "none"}, default "entity"
    bias_correction : {"lee-yu", None}, default "lee-yu"
    logdet : {"auto", "eigen", "lu", "chebyshev", "mc"}, default "auto"
        Log-determinant kernel; see :func:`spillover.inference.logdet.log_determinant`.

    Raises
    ------
    PanelError
        If the panel is unbalanced.
    SpecificationError, AlignmentError, WeightsError
        Bad options, collinear regressors, or W not matching the panel.
    """

    _family = "sar"
    _lag_y = True


class SpatialDurbin(SpatialModel):
    """Spatial Durbin panel model, ``y = rho W y + X beta + W X theta + effects + e``.

    Parameters are those of :class:`SpatialLag`, plus

    durbin : True or sequence of str, default True
        Regressors whose spatial lags ``W_x`` enter: all (except the intercept) or a subset.
    """

    _family = "sdm"
    _lag_y = True

    def __init__(
        self,
        formula: str,
        panel: Panel,
        *,
        w: Any,
        effects: Literal["entity", "time", "twoway", "none"] = "entity",
        bias_correction: Literal["lee-yu"] | None = "lee-yu",
        logdet: LogdetMethod = "auto",
        durbin: bool | Sequence[str] = True,
    ) -> None:
        self._durbin_request = durbin
        super().__init__(
            formula, panel, w=w, effects=effects, bias_correction=bias_correction, logdet=logdet
        )


for _cls in (SpatialLag, SpatialDurbin):
    _cls.__doc__ = (_cls.__doc__ or "") + _NOTES
