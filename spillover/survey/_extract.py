"""Factor extraction kernels: iterated principal axis and maximum likelihood (arrays only).

Both follow R's psych ``fa`` step by step (psych 2.2.9, ``fac``), so that with psych's
settings the numbers agree with psych's to rounding: principal axis starts from the squared
multiple correlations and stops when the sum of communalities changes by less than
``tol``; maximum likelihood minimises the discrepancy of ``factanal``/``psych`` over the
uniquenesses with L-BFGS-B on ``[0.005, 1]`` from ``1 - smc``, the loadings then following
in closed form (Joreskog 1967; Lawley and Maxwell 1971).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize

from spillover._typing import FloatArray

PSI_LOWER = 0.005  # psych and factanal's lower bound on the ML uniquenesses


@dataclass(frozen=True)
class Extraction:
    """Unrotated loadings and how the iteration ended."""

    loadings: FloatArray
    communalities: FloatArray
    n_iter: int
    converged: bool
    criterion: float  # last change of the sum of communalities (PA), gradient norm (ML)
    objective: float | None = None  # ML discrepancy F at the optimum


def smc(r: FloatArray) -> FloatArray:
    """Squared multiple correlations 1 - 1 / diag(R^-1), clipped to [0, 1] as psych's ``smc``."""
    inv = linalg.inv(r, check_finite=False)
    return np.clip(1.0 - 1.0 / np.diag(inv), 0.0, 1.0)


def _leading(matrix: FloatArray, k: int) -> tuple[FloatArray, FloatArray]:
    """The k largest eigenvalues (descending) and their eigenvectors."""
    values, vectors = linalg.eigh(matrix, check_finite=False)
    order = np.argsort(values)[::-1][:k]
    return values[order], vectors[:, order]


def principal_axis(r: FloatArray, k: int, *, tol: float, max_iter: int) -> Extraction:
    """Iterated principal axis factoring of a correlation matrix (psych's ``fm = "pa"``).

    Start: diag(R) replaced by the SMC. Each step takes the k leading eigenpairs of the
    reduced matrix, L = V sqrt(lambda), and puts diag(L L') back on the diagonal; the
    iteration stops once |sum h2_new - sum h2_old| <= ``tol`` (psych's ``min.err``), after
    at most ``max_iter`` steps (psych's ``max.iter``). At convergence this is the unweighted
    least squares (psych's minres) solution.
    """
    reduced = r.copy()
    np.fill_diagonal(reduced, smc(r))
    comm = float(np.trace(reduced))
    err, loadings = np.inf, np.zeros((r.shape[0], k))
    for step in range(1, max_iter + 1):
        values, vectors = _leading(reduced, k)
        loadings = vectors * np.sqrt(values)
        new = (loadings**2).sum(axis=1)
        np.fill_diagonal(reduced, new)
        err, comm = abs(comm - new.sum()), float(new.sum())
        if not np.isfinite(err):
            break
        if err <= tol:
            return Extraction(loadings, new, step, True, err)
    return Extraction(loadings, (loadings**2).sum(axis=1), max_iter, False, err)


def _ml_loadings(psi: FloatArray, r: FloatArray, k: int) -> FloatArray:
    """Loadings maximising the likelihood for given uniquenesses (factanal's ``FAout``)."""
    scale = 1.0 / np.sqrt(psi)
    values, vectors = _leading(r * scale[:, None] * scale[None, :], k)
    return np.sqrt(psi)[:, None] * vectors * np.sqrt(np.maximum(values - 1.0, 0.0))


def _ml_objective(psi: FloatArray, r: FloatArray, k: int) -> tuple[float, FloatArray]:
    """ML discrepancy (factanal's ``FAfn``) and its gradient (``FAgr``)."""
    scale = 1.0 / np.sqrt(psi)
    e = linalg.eigvalsh(r * scale[:, None] * scale[None, :], check_finite=False)[::-1][k:]
    f = -(np.sum(np.log(e) - e) - k + r.shape[0])
    load = _ml_loadings(psi, r, k)
    g = load @ load.T + np.diag(psi) - r
    return float(f), np.diag(g) / psi**2


def maximum_likelihood(r: FloatArray, k: int, *, tol: float, max_iter: int) -> Extraction:
    """Maximum likelihood factor analysis of a correlation matrix (psych's ``fm = "ml"``).

    Minimises F(psi) = sum_{j>k} (e_j - log e_j - 1), e_j the eigenvalues of
    Psi^-1/2 R Psi^-1/2, over psi in [0.005, 1] by L-BFGS-B from psi = 1 - smc; ``tol`` is
    the projected-gradient tolerance. F is the discrepancy ``log|Sigma| + tr(Sigma^-1 R) -
    log|R| - p`` at its optimum over the loadings.
    """
    start = np.clip(1.0 - smc(r), PSI_LOWER, 1.0)
    res = optimize.minimize(
        _ml_objective,
        start,
        args=(r, k),
        jac=True,
        method="L-BFGS-B",
        bounds=[(PSI_LOWER, 1.0)] * len(start),
        options={"maxiter": max_iter, "ftol": 1e-15, "gtol": tol, "maxcor": 20},
    )
    psi = res.x
    _, grad = _ml_objective(psi, r, k)
    free = (psi > PSI_LOWER) & (psi < 1.0)
    criterion = float(np.max(np.abs(grad[free]), initial=0.0))
    loadings = _ml_loadings(psi, r, k)
    converged = bool(res.success) or criterion <= tol
    return Extraction(
        loadings, 1.0 - psi, int(res.nit), converged, criterion, objective=float(res.fun)
    )
