"""Factor rotations (arrays only): varimax, promax and oblimin as R's psych calls them.

- varimax: ``stats::varimax`` (Kaiser 1958 with Kaiser row normalisation; stops when the
  criterion grows by a factor below 1 + eps);
- promax: psych's ``fa(rotate = "promax")``, i.e. ``kaiser(rotate = "Promax")``: rows
  normalised, varimax, target ``x |x|^(m - 1)`` with m = 4 fitted by least squares, columns
  rescaled (Hendrickson and White 1964), rows unnormalised;
- oblimin: ``GPArotation::oblimin`` (gradient projection, Bernaards and Jennrich 2005, with
  the oblimin criterion, gamma = 0 = quartimin, no row normalisation; stops when the
  projected gradient's Frobenius norm is below eps).

Each returns the pattern loadings, the factor correlations Phi (identity for orthogonal
rotations) and whether the iteration met its criterion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from spillover._typing import FloatArray


@dataclass(frozen=True)
class Rotation:
    """A rotated solution: pattern loadings, factor correlations, convergence."""

    loadings: FloatArray
    phi: FloatArray
    rotmat: FloatArray  # T with loadings = A T (orthogonal) or A (T')^-1 (oblique)
    n_iter: int
    converged: bool


def varimax(a: FloatArray, *, eps: float, max_iter: int = 1000) -> Rotation:
    """Varimax with Kaiser normalisation, the algorithm of R's ``stats::varimax``."""
    k = a.shape[1]
    sc = np.sqrt((a**2).sum(axis=1))
    x = a / sc[:, None]
    p = x.shape[0]
    rot, d = np.eye(k), 0.0
    converged, step = False, 0
    for step in range(1, max_iter + 1):  # noqa: B007
        z = x @ rot
        b = x.T @ (z**3 - z * ((z**2).sum(axis=0) / p))
        u, s, vt = linalg.svd(b)
        rot = u @ vt
        d_past, d = d, float(s.sum())
        if d < d_past * (1 + eps):
            converged = True
            break
    return Rotation((x @ rot) * sc[:, None], np.eye(k), rot, step, converged)


def promax(a: FloatArray, *, eps: float, power: int = 4) -> Rotation:
    """Promax as psych's ``fa(rotate = "promax")`` (Kaiser-normalised, m = ``power``)."""
    h = np.sqrt((a**2).sum(axis=1))
    vm = varimax(a / h[:, None], eps=eps)
    x = vm.loadings
    target = x * np.abs(x) ** (power - 1)
    u = linalg.lstsq(x, target)[0]
    u = u * np.sqrt(np.diag(linalg.inv(u.T @ u)))[None, :]
    total = vm.rotmat @ u
    inv = linalg.inv(total)
    return Rotation((x @ u) * h[:, None], inv @ inv.T, total, vm.n_iter, vm.converged)


# GPArotation's line search stops finding improvements once the projected gradient is a few
# 1e-9 (f then changes by rounding only); a stalled search below this norm is convergence.
STALL_NORM = 1e-6


def _oblimin_criterion(loadings: FloatArray, gamma: float) -> tuple[float, FloatArray]:
    """GPArotation's ``vgQ.oblimin``: the criterion and its gradient in the loadings."""
    k = loadings.shape[1]
    sq = loadings**2
    x = sq @ (1.0 - np.eye(k))
    if gamma != 0:
        p = loadings.shape[0]
        x = (np.eye(p) - gamma / p) @ x
    return float((sq * x).sum() / 4.0), loadings * x


def oblimin(a: FloatArray, *, eps: float, max_iter: int = 10000, gamma: float = 0.0) -> Rotation:
    """Direct oblimin by gradient projection, as ``GPArotation::GPFoblq`` (Tmat = I).

    Converged when the projected gradient norm is below ``eps``, or when below
    ``STALL_NORM`` no step length improves the criterion (the rounding floor).
    """
    k = a.shape[1]
    tmat = np.eye(k)
    loadings = a.copy()
    f, gq = _oblimin_criterion(loadings, gamma)
    grad = -(loadings.T @ gq @ linalg.inv(tmat)).T
    alpha, converged, step = 1.0, False, 0
    for step in range(max_iter + 1):  # noqa: B007
        gp = grad - tmat * (tmat * grad).sum(axis=0)[None, :]
        s = float(np.sqrt((gp**2).sum()))
        if s < eps:
            converged = True
            break
        alpha *= 2.0
        for _ in range(11):
            x = tmat - alpha * gp
            new_t = x / np.sqrt((x**2).sum(axis=0))[None, :]
            loadings = a @ linalg.inv(new_t).T
            f_new, gq = _oblimin_criterion(loadings, gamma)
            if f - f_new > 0.5 * s**2 * alpha:
                break
            alpha /= 2.0
        else:
            if s < STALL_NORM:  # no step improves f any more: rounding, not a slow descent
                converged = True
                break
        tmat, f = new_t, f_new
        grad = -(loadings.T @ gq @ linalg.inv(tmat)).T
    return Rotation(loadings, tmat.T @ tmat, tmat, step, converged)
