"""Log-determinants ``log|I - rho W|`` for spatial likelihoods, exact or approximated.

The Jacobian term of every spatial ML likelihood. Four kernels, chosen by N and
overridable (``method=``):

* ``"eigen"`` (exact, small N): ``sum_i log|1 - rho lambda_i|`` from the eigenvalues of W
  (Ord 1975); symmetric, or similar to symmetric (row-standardised binary contiguity), W
  uses the symmetric eigensolver, otherwise the real parts of complex pairs combine.
* ``"lu"`` (exact, medium N): a banded Cholesky factorisation of ``I - rho S`` (S the
  symmetric matrix similar to W, rows in reverse Cuthill-McKee order, computed once) when
  W is symmetric-like and the band narrow; otherwise ``sum log|U_ii|`` of the sparse LU
  factorisation of ``I - rho W`` (SuperLU, COLAMD column order: the one factorisation,
  :class:`~spillover.linalg.factor.SpatialFilter`). One factorisation per evaluated rho.
* ``"chebyshev"`` (approximate, large N): Pace and LeSage (2004): ``log(1 - rho x)`` is
  interpolated at Chebyshev nodes on [-1, 1] by a polynomial ``p`` of degree ``degree``,
  and ``log|I - rho W| = tr log(I - rho W) ~ sum_k p_k tr(W^k)``.
* ``"mc"`` (approximate, large N): Barry and Pace (1999): the truncated series
  ``-sum_{k<=order} rho^k tr(W^k) / k``.

Both approximations use the traces of :func:`spillover.linalg.traces.trace_estimate`
(exact where cheap, Hutchinson/Monte Carlo otherwise), computed once per W. The bounds,
eigenvalues and symmetric similar form come from the cached facts of
:class:`~spillover.linalg.SpatialMatrix` (a Weights is one). W is first
scaled by ``s = max_i sum_j |w_ij|`` (``s = 1`` when row-standardised), which bounds the
spectral radius, so the spectrum lies in the unit disc.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.polynomial import chebyshev as cheb

from spillover._typing import FloatArray
from spillover._validate import user_stacklevel
from spillover.errors import ApproximationWarning, SpecificationError
from spillover.linalg.factor import BAND_MAX_WORK as BAND_MAX_WORK
from spillover.linalg.factor import BandedLogdet, SpatialFilter
from spillover.linalg.factor import single_blas_thread as single_blas_thread
from spillover.linalg.matrix import SpatialMatrix, as_spatial_matrix
from spillover.linalg.matrix import parameter_bounds as parameter_bounds
from spillover.linalg.spectral import EIGEN_MAX_N as EIGEN_MAX_N
from spillover.linalg.traces import trace_estimate

LogdetMethod = Literal["auto", "eigen", "lu", "chebyshev", "mc"]

#: ``method="auto"`` uses eigenvalues up to ``EIGEN_MAX_N`` (a dense N x N copy is made),
#: sparse LU up to this N, Chebyshev above.
LU_MAX_N = 100_000
#: Per-unit tolerance (error of ``log|I - rho W| / N``) beyond which approximations warn.
APPROX_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class LogDeterminant:
    """``rho -> log|I - rho W|`` for one W, with the kernel that computes it.

    Attributes
    ----------
    method : str
        ``"eigen"``, ``"lu"``, ``"chebyshev"`` or ``"mc"``.
    n : int
        Dimension of W.
    bounds : tuple of float
        Open parameter interval ``(1/lambda_min, 1/lambda_max)`` on which ``I - rho W`` is
        nonsingular with positive determinant (see :func:`parameter_bounds`).
    description : str
        Human-readable kernel and its settings, shown in summaries.
    """

    method: str
    n: int
    bounds: tuple[float, float]
    description: str
    _evaluate: Callable[[float], float] = field(repr=False)
    _error: Callable[[float], float] = field(repr=False, default=lambda rho: 0.0)
    _symmetric_like: bool = field(repr=False, default=True)

    def __call__(self, rho: float) -> float:
        """``log|I - rho W|`` (exact or approximated, per ``method``)."""
        return float(self._evaluate(float(rho)))

    def error_bound(self, rho: float) -> float:
        """Approximation error bound of ``log|I - rho W| / N`` at ``rho`` (0 if exact)."""
        return float(self._error(float(rho)))

    def check(self, rho: float, *, name: str = "rho") -> None:
        """Warn with ApproximationWarning if the approximation is doubtful at ``rho``."""
        if self.method in ("eigen", "lu"):
            return
        bound = self.error_bound(rho)
        if bound > APPROX_TOL:
            warnings.warn(
                f"the {self.method} log-determinant may be inaccurate at {name} = {rho:.4f}: "
                f"its per-unit error bound is {bound:.1e} (> {APPROX_TOL:.0e}). Raise its "
                "degree/order, or use logdet='lu' (exact) if N allows.",
                ApproximationWarning,
                stacklevel=user_stacklevel(),
            )
        if not self._symmetric_like:
            warnings.warn(
                f"the {self.method} log-determinant assumes a real spectrum; this W is not "
                "symmetric nor similar to a symmetric matrix, so complex eigenvalues may make "
                "it inaccurate. Compare with logdet='lu' at a size where both run.",
                ApproximationWarning,
                stacklevel=user_stacklevel(),
            )


def log_determinant(
    w: Any,
    *,
    method: LogdetMethod = "auto",
    degree: int = 24,
    order: int = 60,
    draws: int = 50,
    seed: int | np.random.Generator | None = 0,
    traces: Literal["auto", "exact", "mc"] = "auto",
) -> LogDeterminant:
    """Build the log-determinant function of ``W`` with the chosen kernel.

    Parameters
    ----------
    w : Weights, scipy sparse or numpy array
        N x N weights.
    method : {"auto", "eigen", "lu", "chebyshev", "mc"}, default "auto"
        ``"auto"``: eigenvalues for N <= 1,000, sparse LU for N <= 100,000, Chebyshev above.
    degree : int, default 24
        Chebyshev polynomial degree.
    order : int, default 60
        Number of series terms for ``"mc"``.
    draws : int, default 50
        Monte Carlo probes for traces of powers of W when they are not computed exactly
        (see :func:`spillover.linalg.traces.trace_estimate`, whose ``"auto"`` rule is used).
    seed : int, Generator or None, default 0
        Seed of the probes: fixed by default so fits are reproducible.
    traces : {"auto", "exact", "mc"}, default "auto"
        How the approximations get tr(W^k): ``"auto"`` exact when cheap, else Monte Carlo.

    Returns
    -------
    LogDeterminant

    Notes
    -----
    Exact methods agree to rounding. The Chebyshev error per unit of N is bounded by the
    tail of its coefficients (estimated as ``2 |c_degree|``), the Barry-Pace error per unit
    by ``|rho s|^(order+1) / ((order+1)(1 - |rho s|))``; :meth:`LogDeterminant.check`
    warns when these exceed ``APPROX_TOL``. Monte Carlo trace errors come on top: of order
    ``1 / sqrt(N draws)`` per unit, and, the probes being fixed, smooth in rho, so they
    shift the likelihood more than its maximiser.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> w = sp.csr_array(np.array([[0, 1.0], [1.0, 0]]))
    >>> ld = log_determinant(w)
    >>> ld.method, bool(np.isclose(ld(0.5), np.log(1 - 0.25)))
    ('eigen', True)
    """
    sm = as_spatial_matrix(w)
    n = sm.shape[0]
    if method == "auto":
        method = "eigen" if n <= EIGEN_MAX_N else ("lu" if n <= LU_MAX_N else "chebyshev")
    bounds = sm.parameter_bounds
    if method == "eigen":
        lam = sm.eigenvalues
        return LogDeterminant(
            "eigen",
            n,
            bounds,
            "exact (eigenvalues)",
            lambda rho: float(np.log(np.abs(1.0 - rho * lam)).sum()),
        )
    if method == "lu":
        banded = BandedLogdet.of(sm.symmetric_similar)
        if banded is not None:
            return LogDeterminant("lu", n, bounds, "exact (banded Cholesky, RCM order)", banded)
        return LogDeterminant(
            "lu", n, bounds, "exact (sparse LU)", lambda rho: SpatialFilter(sm, rho).logdet()
        )
    if method in ("chebyshev", "mc"):
        return _series_logdet(sm, method, bounds, (degree, order, draws), seed, traces)
    raise SpecificationError(
        f"logdet must be one of 'auto', 'eigen', 'lu', 'chebyshev', 'mc'; got {method!r}."
    )


def _series_logdet(
    sm: SpatialMatrix,
    method: str,
    bounds: tuple[float, float],
    sizes: tuple[int, int, int],
    seed: int | np.random.Generator | None,
    traces_method: Literal["auto", "exact", "mc"],
) -> LogDeterminant:
    degree, order, draws = sizes
    csr = sm.matrix
    n = csr.shape[0]
    scale = float(np.abs(csr).sum(axis=1).max())
    terms = degree if method == "chebyshev" else order
    if terms < 2:
        raise SpecificationError(f"the {method} log-determinant needs degree/order >= 2.")
    est = trace_estimate(csr / scale, terms, method=traces_method, draws=draws, seed=seed)
    traces = np.concatenate([[float(n)], est.traces])  # tr(W^0) = N
    sym = sm.symmetric_similar is not None
    how = f"{est.method} traces" + (f", {est.draws} probes" if est.draws else "")
    if method == "chebyshev":

        def coef(rho: float) -> FloatArray:
            c = cheb.chebinterpolate(lambda x: np.log1p(-rho * scale * x), degree)
            return _padded(c, degree + 1)

        return LogDeterminant(
            "chebyshev",
            n,
            bounds,
            f"Chebyshev (degree {degree}, {how})",
            lambda rho: float(_padded(cheb.cheb2poly(coef(rho)), degree + 1) @ traces),
            lambda rho: 2 * abs(coef(rho)[-1]),
            sym,
        )
    k = np.arange(1, order + 1)

    def weights(rho: float) -> FloatArray:
        return np.concatenate([[0.0], -((rho * scale) ** k) / k])

    def truncation(rho: float) -> float:
        a = abs(rho * scale)
        return a ** (order + 1) / ((order + 1) * (1 - a)) if a < 1 else np.inf

    return LogDeterminant(
        "mc",
        n,
        bounds,
        f"Barry-Pace series (order {order}, {how})",
        lambda rho: float(weights(rho) @ traces),
        truncation,
        sym,
    )


def _padded(c: FloatArray, size: int) -> FloatArray:
    """numpy trims trailing zero coefficients; restore the full length."""
    return np.pad(c, (0, size - len(c)))
