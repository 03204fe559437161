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
* ``"mc"`` (approximate, large N, any W): Barry and Pace (1999): the series
  ``-sum_{k<=order} rho^k tr(W^k) / k`` with Monte Carlo traces, valid for complex spectra
  (asymmetric W), with an error bound holding with probability ``level``: the Monte Carlo
  interval plus a truncation bound (:mod:`spillover.linalg._barry_pace`). Models raise its
  order where the truncation bound at the estimate needs it (:meth:`LogDeterminant.refined`).

The Chebyshev approximation uses the traces of :func:`spillover.linalg.traces.trace_estimate`
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
from spillover.linalg._barry_pace import BarryPace
from spillover.linalg.factor import BAND_MAX_WORK as BAND_MAX_WORK
from spillover.linalg.factor import BandedLogdet, SpatialFilter
from spillover.linalg.factor import single_blas_thread as single_blas_thread
from spillover.linalg.matrix import SpatialMatrix, as_spatial_matrix
from spillover.linalg.matrix import parameter_bounds as parameter_bounds
from spillover.linalg.spectral import EIGEN_MAX_N as EIGEN_MAX_N
from spillover.linalg.traces import PowerTraces, trace_estimate

LogdetMethod = Literal["auto", "eigen", "lu", "chebyshev", "mc"]

#: ``method="auto"`` uses eigenvalues up to ``EIGEN_MAX_N`` (a dense N x N copy is made),
#: sparse LU (banded Cholesky) up to this N, Chebyshev above, for W symmetric or similar
#: to a symmetric matrix.
LU_MAX_N = 100_000
#: For other W (asymmetric: k-nearest neighbours, ...), ``"auto"`` uses the sparse LU up to
#: this N and the Barry-Pace series above: one COLAMD factorisation of I - rho W for
#: kNN(10) over random points takes 0.1 s at N = 20,000 but 6.5 s at 100,000 (about 15
#: are needed per fit), where the whole series costs a few seconds.
LU_ASYMMETRIC_MAX_N = 20_000
#: Probes of the Barry-Pace traces: per-unit Monte Carlo error falls like 1/sqrt(N draws),
#: so fewer are needed at large N (and each costs order products with W).
MC_DRAWS = 50
MC_DRAWS_LARGE = 32
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
    power_traces : PowerTraces or None
        The Barry-Pace series' tr(W^k) (exact or Monte Carlo, with standard errors), which
        the effects may reuse; None for the other kernels.
    level : float
        Probability with which :meth:`error` and :meth:`slope_error` hold (1 when they are
        deterministic bounds).
    """

    method: str
    n: int
    bounds: tuple[float, float]
    description: str
    _evaluate: Callable[[float], float] = field(repr=False)
    _error: Callable[[float], float] = field(repr=False, default=lambda rho: 0.0)
    _symmetric_like: bool = field(repr=False, default=True)
    _slope_error: Callable[[float], float] = field(repr=False, default=lambda rho: 0.0)
    _refine: Callable[[float], LogDeterminant | None] = field(repr=False, default=lambda rho: None)
    power_traces: PowerTraces | None = field(repr=False, default=None)
    level: float = 1.0
    _truncation: Callable[[float], float] | None = field(repr=False, default=None)

    def __call__(self, rho: float) -> float:
        """``log|I - rho W|`` (exact or approximated, per ``method``)."""
        return float(self._evaluate(float(rho)))

    def error_bound(self, rho: float) -> float:
        """Approximation error bound of ``log|I - rho W| / N`` at ``rho`` (0 if exact)."""
        return float(self._error(float(rho)))

    def error(self, rho: float) -> float:
        """Bound on ``|value - log|I - rho W||`` (not per unit), holding with probability
        ``level`` (1 for deterministic bounds; 0 if exact)."""
        return self.n * self.error_bound(rho)

    def slope_error(self, rho: float) -> float:
        """Bound on the error of the rho-derivative of the value (nan if not available)."""
        return float(self._slope_error(float(rho)))

    def refined(self, rho: float) -> LogDeterminant | None:
        """A more accurate version at ``rho`` (more series terms), or None if not needed."""
        return self._refine(float(rho))

    def check(self, rho: float, *, name: str = "rho") -> None:
        """Warn with ApproximationWarning if the approximation is doubtful at ``rho``."""
        if self.method in ("eigen", "lu"):
            return
        # Barry-Pace: the truncation, which more terms remove; its Monte Carlo error, of
        # order 1/sqrt(N draws) per unit, is reported with the fit (shift of the estimate)
        trunc = self._truncation
        bound = self.error_bound(rho) if trunc is None else trunc(rho) / self.n
        if bound > APPROX_TOL:
            warnings.warn(
                f"the {self.method} log-determinant may be inaccurate at {name} = {rho:.4f}: "
                f"its per-unit error bound is {bound:.1e} (> {APPROX_TOL:.0e}). Raise its "
                "degree/order, or use logdet='lu' (exact) if N allows.",
                ApproximationWarning,
                stacklevel=user_stacklevel(),
            )
        if not self._symmetric_like and self.method == "chebyshev":
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
    draws: int | None = None,
    seed: int | np.random.Generator | None = 0,
    traces: Literal["auto", "exact", "mc"] = "auto",
    level: float = 0.99,
) -> LogDeterminant:
    """Build the log-determinant function of ``W`` with the chosen kernel.

    Parameters
    ----------
    w : Weights, scipy sparse or numpy array
        N x N weights.
    method : {"auto", "eigen", "lu", "chebyshev", "mc"}, default "auto"
        ``"auto"``: eigenvalues for N <= 1,000; above, for W symmetric or similar to a
        symmetric matrix, sparse LU (banded Cholesky) up to N = 100,000 and Chebyshev
        above; for other W, sparse LU up to N = 20,000 and the Barry-Pace series above.
    degree : int, default 24
        Chebyshev polynomial degree.
    order : int, default 60
        Number of series terms for ``"mc"``.
    draws : int, optional
        Monte Carlo probes for traces of powers of W when they are not computed exactly
        (see :func:`spillover.linalg.traces.trace_estimate`, whose ``"auto"`` rule is used);
        default 50, or 32 for the Barry-Pace series above N = 100,000.
    seed : int, Generator or None, default 0
        Seed of the probes: fixed by default so fits are reproducible.
    traces : {"auto", "exact", "mc"}, default "auto"
        How the approximations get tr(W^k): ``"auto"`` exact when cheap, else Monte Carlo.
    level : float, default 0.99
        Probability with which the Barry-Pace error bound holds (Monte Carlo interval).

    Returns
    -------
    LogDeterminant

    Notes
    -----
    Exact methods agree to rounding. The Chebyshev error per unit of N is bounded by the
    tail of its coefficients (estimated as ``2 |c_degree|``), the Barry-Pace error per unit
    by ``|rho s|^(order+1) / ((order+1)(1 - |rho s|))``; :meth:`LogDeterminant.check`
    warns when these exceed ``APPROX_TOL``. For Chebyshev, Monte Carlo trace errors come
    on top: of order ``1 / sqrt(N draws)`` per unit, and, the probes being fixed, smooth in
    rho, so they shift the likelihood more than its maximiser. For the Barry-Pace series
    ``check`` compares its truncation bound only (its Monte Carlo error is reported by the
    models as a bound on the shift of the estimate). The Barry-Pace bound
    includes them: ``t_{draws-1, (1+level)/2}`` times the standard error of the mean of the
    per-probe series (Barry and Pace 1999), plus the truncation bound
    ``(M/s) a^(order+1) / ((order+1)(1 - a))``, ``a = |rho| s``, s the largest absolute row
    sum and ``M = sum_i max_j |w_ji|`` (:mod:`spillover.linalg._barry_pace`); the same
    for the slope (:meth:`LogDeterminant.slope_error`), which bounds how far the maximiser
    of a likelihood can move.

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
        method = _auto_method(n, sm.symmetric_similar is not None)
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
    if method == "mc":
        if draws is None:
            draws = MC_DRAWS if n <= LU_MAX_N else MC_DRAWS_LARGE
        _check_terms("mc", order, draws)
        kernel = BarryPace.build(sm, order, draws=draws, seed=seed, traces=traces, level=level)
        return _barry_pace(kernel, bounds)
    if method == "chebyshev":
        sizes = (degree, order, MC_DRAWS if draws is None else draws)
        return _series_logdet(sm, method, bounds, sizes, seed, traces)
    raise SpecificationError(
        f"logdet must be one of 'auto', 'eigen', 'lu', 'chebyshev', 'mc'; got {method!r}."
    )


def _auto_method(n: int, symmetric_like: bool) -> str:
    if n <= EIGEN_MAX_N:
        return "eigen"
    if symmetric_like:
        return "lu" if n <= LU_MAX_N else "chebyshev"
    return "lu" if n <= LU_ASYMMETRIC_MAX_N else "mc"


def _check_terms(method: str, order: int, draws: int) -> None:
    if order < 2:
        raise SpecificationError(f"the {method} log-determinant needs degree/order >= 2.")
    if draws < 2:
        raise SpecificationError(f"draws must be at least 2 for Monte Carlo traces, got {draws}.")


def _barry_pace(kernel: BarryPace, bounds: tuple[float, float]) -> LogDeterminant:
    """The LogDeterminant of a Barry-Pace series; ``refined`` raises the order in place of
    a truncation bound above ``TRUNCATION_TOL`` per unit (same probes)."""
    how = "exact traces" if not kernel.draws else f"mc traces, {kernel.draws} probes"

    def refine(rho: float) -> LogDeterminant | None:
        order = kernel.order_for(rho)
        return None if order <= kernel.order else _barry_pace(kernel.extended(order), bounds)

    return LogDeterminant(
        "mc",
        kernel.n,
        bounds,
        f"Barry-Pace series (order {kernel.order}, {how})",
        kernel.value,
        lambda rho: kernel.error(rho) / kernel.n,
        True,
        kernel.slope_error,
        refine,
        kernel.power_traces(),
        kernel.level,
        kernel.truncation,
    )


def _series_logdet(
    sm: SpatialMatrix,
    method: str,
    bounds: tuple[float, float],
    sizes: tuple[int, int, int],
    seed: int | np.random.Generator | None,
    traces_method: Literal["auto", "exact", "mc"],
) -> LogDeterminant:
    degree, _, draws = sizes
    csr = sm.matrix
    n = csr.shape[0]
    scale = float(np.abs(csr).sum(axis=1).max())
    terms = degree
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
            lambda rho: np.nan,  # no bound on the slope of the interpolant
        )
    raise SpecificationError(f"unknown series log-determinant {method!r}.")


def _padded(c: FloatArray, size: int) -> FloatArray:
    """numpy trims trailing zero coefficients; restore the full length."""
    return np.pad(c, (0, size - len(c)))
