"""Covariances of maximum likelihood estimates: ``vcov="ml"`` and ``vcov="hessian"``.

Both are entries of :mod:`spillover.inference.registry` with normal (z) inference
(``df_resid`` None). A model fitted by ML hands its kernels an :class:`MLInputs`: the
estimates ``theta``, the log-likelihood as a function of all parameters and, on demand,
the expected information.

* ``"ml"``: inverse of the expected (analytic) information matrix at the estimates, as
  spreg, spatialreg and Elhorst's routines report. A model with analytic information for
  its mean parameters only (the random effects SEM) supplies their covariance instead;
  the covariance is then block diagonal, that block (the GLS variance) and the block of
  the remaining parameters from the inverse numerical Hessian, as splm's ``spreml``.
* ``"hessian"``: inverse of minus the numerical Hessian (statsmodels ``approx_hess3``) of
  the log-likelihood at the estimates (observed information), as splm's ``Hess=TRUE``.

A model whose reported estimates are a smooth function ``g`` of the ML estimates (the
bias-corrected dynamic panel: ``g(theta) = theta + I(theta)^-1 a(theta)``) supplies the
Jacobian ``J = dg/dtheta``; both kernels then report ``J V J'`` (delta method) and say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from statsmodels.tools.numdiff import approx_hess3

from spillover._typing import FloatArray
from spillover.errors import SpecificationError
from spillover.inference.registry import Covariance, Named, Need, register

__all__ = ["MAXIMUM_LIKELIHOOD", "MLInputs", "invert"]

#: What :class:`MLInputs` gives the kernels.
MAXIMUM_LIKELIHOOD = frozenset({Need.INFORMATION, Need.LOGLIK})


@dataclass(frozen=True)
class MLInputs:
    """What the ML covariances read from a fit.

    Attributes
    ----------
    theta : ndarray (p,)
        All estimated parameters, in the order of the covariance matrix.
    loglik : Callable[[ndarray], float]
        The log-likelihood at any ``theta``.
    information : Callable[[], ndarray] or None
        The expected information of ``theta`` (computed when called; it may need traces).
    mean_covariance : Callable[[], ndarray] or None
        Without ``information``: the covariance of the first k parameters (the mean
        parameters), whose information block has no cross terms with the rest.
    jacobian : Callable[[], ndarray] or None
        When the reported estimates are ``g(theta_ml)``: ``dg/dtheta`` (p x p); the
        covariance is then ``J V J'`` with V the kernel's covariance of the ML estimates.
    """

    theta: FloatArray
    loglik: Callable[[FloatArray], float]
    information: Callable[[], FloatArray] | None = None
    mean_covariance: Callable[[], FloatArray] | None = None
    jacobian: Callable[[], FloatArray] | None = None


@register("ml", needs={Need.INFORMATION, Need.LOGLIK})
def expected_information(spec: Named, fit: MLInputs) -> Covariance:
    """Inverse expected information; splm's block convention without full information."""
    if fit.information is not None:
        cov = invert(fit.information(), "information matrix")
        return _through_jacobian(fit, cov, "ML, expected information")
    if fit.mean_covariance is None:
        raise SpecificationError("this model supplies no information matrix for vcov='ml'.")
    full = _inverse_hessian(fit)
    mean = fit.mean_covariance()
    k = len(mean)
    out = np.zeros_like(full)
    out[:k, :k] = mean
    out[k:, k:] = full[k:, k:]
    return Covariance(out, "ML, GLS for beta, numerical Hessian for (lambda, phi, sigma2)", None)


@register("hessian", needs={Need.LOGLIK})
def numerical_hessian(spec: Named, fit: MLInputs) -> Covariance:
    """Inverse of minus the numerical Hessian of the log-likelihood (observed information)."""
    return _through_jacobian(fit, _inverse_hessian(fit), "ML, numerical Hessian")


def _through_jacobian(fit: MLInputs, cov: FloatArray, label: str) -> Covariance:
    """``J V J'`` when the fit reports a function of its ML estimates, else ``V``."""
    if fit.jacobian is None:
        return Covariance(cov, label, None)
    j = fit.jacobian()
    return Covariance(j @ cov @ j.T, f"{label}, delta method through the bias correction", None)


def _inverse_hessian(fit: MLInputs) -> FloatArray:
    return invert(-approx_hess3(fit.theta, fit.loglik), "numerical Hessian")


def invert(info: FloatArray, what: str) -> FloatArray:
    """Inverse of an information-type matrix; a singular one is a SpecificationError."""
    try:
        out = np.linalg.inv(info)
    except np.linalg.LinAlgError as exc:
        raise SpecificationError(
            f"the {what} is singular; a parameter is not identified (collinear regressors, "
            "or rho/lambda at a bound)."
        ) from exc
    return out
