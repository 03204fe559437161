"""Separation by regressors and effects in Poisson models: the ReLU (iterative rectifier) check.

Correia, Guimarães and Zylkin (2019, "Verifying the existence of maximum likelihood
estimates for generalized linear models", arXiv:1903.01633, section on the ReLU method):
the Poisson MLE exists iff no linear combination z = X gamma + D alpha of the regressors X
and the effect dummies D is zero where y > 0, non-negative where y = 0 and positive in some
row. Rows with z_i > 0 are separated: their fitted mean goes to zero at the (infinite)
maximum. Dropping them leaves the estimates of every identified coefficient unchanged.

The check finds the z with the largest support by repeated least squares. With u_i = 1 where
y_i = 0 and 0 elsewhere, each iteration regresses u on X and the effects with weight 1 on the
rows y = 0 and ``BIG_WEIGHT`` on the rows y > 0 (the method of weighting for least squares
with the equality constraints z_i = 0 where y_i > 0), takes the fitted values xb, sets them
to zero on the rows y > 0 and within the tolerance of zero on the rows y = 0, and

* stops if xb >= 0 on every row y = 0: those with xb > 0 are separated (xb is z);
* stops if no residual u - xb is negative on the rows y = 0: by the normal equations
  sum_i w_i z_i e_i = 0, so no separated row remains among those with a positive residual;
* otherwise replaces u by max(xb, 0) on the rows y = 0 (the rectifier) and repeats.

The effects are swept out by the weighted projection of :class:`~spillover.models._demean.
Absorber`; its weights are the same in every iteration, so the effects' normal matrix is
factorised and X demeaned once, and each iteration demeans one column.

Limit: when the effect sets other than the largest have more than
``EXACT_MAX_LEVELS`` (3000) levels together, the Absorber alternates projections instead
of solving exactly; with weights 2^26 apart, alternation barely moves along directions that
only zero rows identify: it either stops there, so separation in which such a combination
of effects takes part is missed, or runs out of iterations (a ConvergenceError saying how
to skip the check). A regressor that is itself positive only on zero rows is still found
(checked with 5000 region x year levels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spillover._typing import FloatArray, IntArray
from spillover.errors import ConvergenceError
from spillover.models._demean import EXACT_MAX_LEVELS, Absorber

#: Weight of the rows with y > 0 (the method of weighting): 1/sqrt(machine epsilon), the rule
#: of thumb of Van Loan (1985) that ppmlhdfe also uses. The constraints then hold to about
#: (sum of u^2) / BIG_WEIGHT, which is added to the tolerance.
BIG_WEIGHT = float(np.ceil(np.finfo(float).eps ** -0.5))
#: Relative pivot tolerance of the effects' normal matrix: a level identified only by rows
#: with y = 0 has a pivot of order 1 against a largest diagonal of order BIG_WEIGHT times the
#: largest level's size, so Absorber's default (1e-9) would take it for redundant; rounding
#: in that matrix is of order eps times its largest diagonal, 1e3 times below this.
PIVOT_TOL = 1e3 * float(np.finfo(float).eps)
#: Residuals smaller than this count as zero in the stopping rule on residuals.
ZERO_TOL = 1e-8


@dataclass(frozen=True)
class ReluResult:
    """Separated rows (mask over the input rows), the certificate z and iterations used."""

    separated: np.ndarray
    certificate: FloatArray
    iterations: int


def _projector(xt: FloatArray, root_w: FloatArray) -> FloatArray:
    """Orthonormal basis of the weighted column space of the demeaned regressors."""
    if xt.shape[1] == 0:
        return np.zeros((len(xt), 0))
    u, s, _ = np.linalg.svd(xt * root_w[:, None], full_matrices=False)
    keep = s > s.max() * max(xt.shape) * np.finfo(float).eps if s.size and s.max() > 0 else []
    return u[:, keep]


def _demean(absorber: Absorber | None, a: FloatArray) -> FloatArray:
    if absorber is None:
        return a
    try:
        return absorber.demean(a)
    except ConvergenceError as exc:
        raise ConvergenceError(
            f"the ReLU separation check could not sweep out the effects ({exc}) With more "
            f"than {EXACT_MAX_LEVELS} levels in the effect sets other than the largest, its "
            "weights (1 where y = 0, 2^26 where y > 0) make the alternating projections "
            "stall. Pass separation_check=('fe',) to skip the check, or absorb fewer levels."
        ) from exc


def relu_separation(
    y: FloatArray,
    x: FloatArray,
    codes: Sequence[IntArray],
    *,
    tol: float = 1e-4,
    max_iter: int = 100,
) -> ReluResult:
    """Rows separated by a combination of the regressors ``x`` and the effects ``codes``.

    ``x`` holds the regressors as estimated (with the intercept when no effects are
    absorbed). A row with y = 0 is separated when its certificate z_i, on the scale where the
    search starts from z = 1 on every zero row, exceeds ``tol + (number of zero rows) /
    BIG_WEIGHT`` (module notes). A ``ConvergenceError`` is raised after ``max_iter``
    iterations.
    """
    boundary = y == 0
    n_zero = int(boundary.sum())
    if n_zero == 0:
        return ReluResult(np.zeros(len(y), bool), np.zeros(len(y)), 0)
    w = np.where(boundary, 1.0, BIG_WEIGHT)
    root_w = np.sqrt(w)
    absorber = Absorber(codes, weights=w, pivot_tol=PIVOT_TOL) if codes else None
    xt = _demean(absorber, np.asarray(x, float))
    basis = _projector(xt.reshape(len(y), -1), root_w)
    u = boundary.astype(float)
    delta = tol + n_zero / BIG_WEIGHT
    for it in range(1, max_iter + 1):
        ut = _demean(absorber, u)
        r = root_w * ut
        r -= basis @ (basis.T @ r)
        resid = r / root_w
        z = np.where(boundary, u - resid, 0.0)
        z[boundary & (z >= -0.1 * delta) & (z <= delta)] = 0.0
        if (z[boundary] >= 0).all():
            return ReluResult(z > 0, z, it)
        resid[np.abs(resid) < ZERO_TOL] = 0.0
        if resid[boundary].min() >= 0:
            z[boundary & (resid > delta)] = 0.0
            return ReluResult(z > 0, np.maximum(z, 0.0), it)
        u = np.maximum(z, 0.0)
    raise ConvergenceError(
        f"the ReLU separation check did not finish in {max_iter} iterations. Pass "
        "separation_check=('fe',) to skip it (regressor-induced separation then shows as "
        "slow IRLS convergence), or loosen separation_tol."
    )
