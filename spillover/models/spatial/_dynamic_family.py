"""The dynamic spatial panel family: direct QML, then the analytic bias correction.

Registered through the spatial extension point (:mod:`._family`); the model classes are in
:mod:`.dynamic`. The direct QML is the shared concentrated likelihood (:mod:`._core`) with
``y_{t-1}`` and ``W y_{t-1}`` as two more design columns, its information is
:mod:`._variance`'s, and the correction and stability check are :mod:`._dynamic_bias`'s.
Parameters are shown as regressors, ``W_x``, ``tau``, ``eta``, ``rho`` (then ``sigma2`` in
the covariance); the design order is permuted to that once.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from spillover._validate import preview, user_stacklevel
from spillover.errors import SpecificationError, SpilloverWarning
from spillover.inference.dynamic_impacts import dynamic_impacts
from spillover.inference.ml_vcov import MLInputs, invert
from spillover.models.spatial._core import Estimates, Likelihood
from spillover.models.spatial._dynamic_bias import (
    bias_traces,
    bias_vector,
    period_bias_traces,
    period_stability_modulus,
    stability_modulus,
)
from spillover.models.spatial._family import Family, Fit, ModelView, register_family
from spillover.models.spatial._variance import default_probes, information

#: Internal names of the y_{t-1} and W y_{t-1} columns (shown as "tau" and "eta").
TAU_COLUMN = "dynamic_y_lag__"
ETA_COLUMN = "dynamic_wy_lag__"
_RENAME = {TAU_COLUMN: "tau", ETA_COLUMN: "eta"}


class UnstableDynamicsWarning(SpilloverWarning):
    """The estimated dynamic spatial model is not stable (no long-run equilibrium)."""


class DynamicFamily(Family):
    """Dynamic spatial Durbin family: direct QML, then the analytic bias correction."""

    key = "sdpd"
    title = "Dynamic spatial Durbin (SDPD)"
    spatial_params = ("rho",)
    effects = ("entity", "twoway")
    by_period = True

    def estimate(self, model: ModelView, *, probes: int | None, seed: int) -> Fit:
        ld = model._logdet(seed)
        lik = Likelihood(
            model.data,
            model.transform,
            ld,
            model._operator(),
            effects=model.effects,
            lag_y=True,
            error=False,
        )
        est = lik.estimates(*lik.maximise())
        ld.check(est.rho, name="rho")
        draws = default_probes(model.weights.n) if probes is None else int(probes)
        order = _display_order(model.data.names)
        theta0 = np.concatenate([est.beta[order], [est.rho, est.sigma2]])
        theta = theta0
        jacobian: Callable[[], np.ndarray] | None = None
        if getattr(model, "bias_correction", None) is not None:
            _require_stable_start(model, theta0, order)
            memo: dict = {}

            def correction(at: np.ndarray) -> np.ndarray:
                return _correction(model, lik, at, order, draws=draws, seed=seed, memo=memo)

            shift = correction(theta0)
            theta = theta0 + shift
            if getattr(model, "correction_in_se", True):
                jacobian = partial(_correction_jacobian, correction, theta0, shift)

        est1 = _estimates_at(lik, theta, order)
        _warn_if_unstable(model, theta, order)

        notes: dict[str, str] = {}

        def expected() -> np.ndarray:
            return _permuted(information(lik, est1, draws=draws, seed=seed, note=notes), order)

        names = tuple(_RENAME.get(model.data.names[i], model.data.names[i]) for i in order)
        return Fit(
            names=(*names, "rho"),
            values=theta[:-1],
            vcov_inputs=MLInputs(
                theta, _loglik(lik, order), information=expected, jacobian=jacobian
            ),
            sigma2=float(theta[-1]),
            loglik=est1.loglik,
            residuals=est1.structural,
            fitted=model.data.y - est1.structural,
            logdet_description=ld.description,
            logdet_method=ld.method,
            notes=notes,
        )

    def impacts(self, results: Any, **options: Any) -> pd.DataFrame:
        """Short- and long-run effects; see :func:`spillover.inference.dynamic_impacts`.

        With one W per period they are evaluated at one period's W_t: ``period=`` (a
        period of the estimation sample), by default the last one (see
        :class:`~spillover.models.spatial.dynamic.DynamicSpatialDurbin`, Effects).
        """
        w = _impacts_weights(results, options.pop("period", None))
        p = results.params
        xs = [x for x in p.index if x not in ("tau", "eta", "rho") and not x.startswith("W_")]
        durbin = [x for x in results.durbin if x in xs]
        theta = pd.Series({x: p[f"W_{x}"] for x in durbin}, dtype=float)
        return dynamic_impacts(
            w,
            tau=float(p["tau"]),
            rho=float(p["rho"]),
            eta=float(p.get("eta", 0.0)),
            beta=p[xs],
            theta=theta if len(theta) else None,
            vcov=results.vcov,
            **options,
        )


register_family(DynamicFamily())


def _display_order(names: Sequence[str]) -> np.ndarray:
    """Design columns reordered: regressors and W_x first, then y_{t-1}, W y_{t-1}."""
    lags = [i for i, c in enumerate(names) if c in _RENAME]
    return np.array([i for i in range(len(names)) if i not in lags] + lags)


def _permuted(info: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Information in design order (beta, rho, sigma2) -> display order."""
    full = np.concatenate([order, [len(order), len(order) + 1]])
    return info[np.ix_(full, full)]


def _to_design(theta: np.ndarray, order: np.ndarray) -> np.ndarray:
    out = theta.copy()
    out[order] = theta[: len(order)]
    return out


def _loglik(lik: Likelihood, order: np.ndarray):
    return lambda theta: lik.full(_to_design(np.asarray(theta, dtype=float), order))


def _estimates_at(
    lik: Likelihood, theta: np.ndarray, order: np.ndarray, *, loglik: bool = True
) -> Estimates:
    """Estimates object at (display-ordered) ``theta``, for the information and residuals
    (``loglik=False``: the log-likelihood, which needs a log-determinant, is left NaN)."""
    t = _to_design(theta, order)
    k = len(order)
    beta, rho, sigma2 = t[:k], float(t[k]), float(t[k + 1])
    u = lik.data.y - rho * lik.data.wy - lik.data.x @ beta
    return Estimates(beta, rho, 0.0, sigma2, lik.full(t) if loglik else np.nan, u, u)


def _dynamic_values(theta: np.ndarray, names: Sequence[str], order: np.ndarray):
    """(tau, eta or None, rho) from display-ordered ``theta``."""
    shown = [names[i] for i in order]
    tau = float(theta[shown.index(TAU_COLUMN)])
    eta = float(theta[shown.index(ETA_COLUMN)]) if ETA_COLUMN in shown else None
    return tau, eta, float(theta[len(order)])


def period_matrices(model: Any) -> list[Any] | None:
    """W_0..W_T' (the initial period first) of a model with one W per period, each distinct
    matrix as one object (so it is factorised once); None for one W."""
    full = getattr(model, "weights_all_periods", None)
    if full is None:
        return None
    pm = full.matrices
    out: list[Any] = [None] * pm.n_periods
    for m, periods in pm.groups:
        for t in periods:
            out[t] = m
    return out


def transition_modulus(model: Any, tau: float, rho: float, eta: float) -> float:
    """Largest |eigenvalue| of the transition (of every period's A_t with W per period)."""
    mats = period_matrices(model)
    if mats is None:
        return stability_modulus(model.weights, tau, rho, eta)
    return period_stability_modulus(mats, tau, rho, eta)


def transition_text(model: Any) -> str:
    """What :func:`transition_modulus` is the largest |eigenvalue| of."""
    if period_matrices(model) is None:
        return "(I - rho W)^-1 (tau I + eta W)"
    return "A_t = (I - rho W_t)^-1 (tau I + eta W_{t-1}), all t"


def _impacts_weights(results: Any, period: Any) -> Any:
    if results.weights is not None:
        if period is not None:
            raise SpecificationError(
                "period= chooses the W_t of a model with one weights matrix per period; this "
                "model has one W for all periods, so leave it out."
            )
        return results.weights
    periods = list(pd.unique(results.residuals.index.get_level_values(1)))
    if period is None:
        return results.weights_by_period[-1]
    if period not in periods:
        raise SpecificationError(
            f"period={period!r} is not a period of the estimation sample; choose one of "
            f"{preview(periods)} (the first panel period is the initial condition)."
        )
    return results.weights_by_period[periods.index(period)]


def _require_stable_start(model: ModelView, theta0: np.ndarray, order: np.ndarray) -> None:
    tau, eta, rho = _dynamic_values(theta0, model.data.names, order)
    modulus = transition_modulus(model, tau, rho, eta or 0.0)
    if modulus >= 1:
        raise SpecificationError(
            f"the direct QML estimates are not stable (largest |eigenvalue| of "
            f"{transition_text(model)} = {modulus:.4f} >= 1); the bias correction of Yu, "
            "de Jong and Lee (2008) is derived for the stable case (the unit-root and "
            "spatial cointegration cases are not implemented). Use bias_correction=None for "
            "the uncorrected estimates."
        )


def _correction(
    model: ModelView, lik: Likelihood, theta0: np.ndarray, order, *, draws, seed, memo: dict
):
    """``c(theta) = I(theta)^-1 a_tilde(theta)`` at display-ordered ``theta``.

    The traces and the information use the same probes (``seed``) at every ``theta``, so
    ``c`` is a smooth function of ``theta`` also when they are stochastic. ``memo`` keeps
    the traces by the parameters they depend on ((tau, rho, eta) for the bias, rho for
    the information), so of the p + 1 evaluations of a forward-difference Jacobian only the
    three that move tau, eta or rho solve with W again.
    """
    tau, eta, rho = _dynamic_values(theta0, model.data.names, order)
    project = model.transform.project
    key = ("bias", tau, rho, eta)
    if key not in memo:
        mats = period_matrices(model)
        traces_of = bias_traces if mats is None else period_bias_traces
        memo[key] = traces_of(
            model.weights if mats is None else mats,
            tau,
            rho,
            eta or 0.0,
            project=project,
            probes=draws,
            seed=seed,
        )
    traces = memo[key]
    units = model.panel.n_entities - int(project)
    sigma2 = float(theta0[-1])
    a = bias_vector(
        traces,
        k_before=len(order) - 1 - (eta is not None),
        k_after=0,
        tau=tau,
        eta=eta,
        sigma2=sigma2,
        units=units,
    )
    est = _estimates_at(lik, theta0, order, loglik=False)
    info = _permuted(information(lik, est, draws=draws, seed=seed, memo=memo), order)
    return invert(info, "information matrix") @ a


#: Relative step of the forward differences of the correction: truncation error about
#: step |c''| / 2 (c'' of the order of c / (1 - tau)^2, so ~1e-5 absolute on J), rounding
#: and the solves' stopping rule (~1e-10 relative) add about 1e-6: far below J - I ~ 1/T.
_STEP = 1e-4


def _correction_jacobian(correction, theta0: np.ndarray, base: np.ndarray) -> np.ndarray:
    """``I + dc/dtheta`` at the direct estimates by forward differences from ``base =
    c(theta0)`` (p more calls)."""
    p = len(theta0)
    out = np.eye(p)
    for i in range(p):
        h = _STEP * max(1.0, abs(float(theta0[i])))
        up = theta0.copy()
        up[i] += h
        out[:, i] += (correction(up) - base) / h
    return out


def _warn_if_unstable(model: ModelView, theta: np.ndarray, order) -> None:
    tau, eta, rho = _dynamic_values(theta, model.data.names, order)
    modulus = transition_modulus(model, tau, rho, eta or 0.0)
    if modulus >= 1:
        warnings.warn(
            f"the estimated model is not stable: the largest |eigenvalue| of "
            f"{transition_text(model)} is {modulus:.4f} >= 1, so shocks do not die out and "
            "long-run effects do not exist.",
            UnstableDynamicsWarning,
            stacklevel=user_stacklevel(),
        )
