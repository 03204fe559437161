"""Traces of powers of a sparse weights matrix, tr(W^k) for k = 1..order.

These traces drive the series forms of the log-determinant,
``log|I - rho W| = -sum_k rho^k tr(W^k) / k``, and of the average direct effect,
``tr((I - rho W)^-1) / N = (1/N) sum_q rho^q tr(W^q)``. Two kernels:

* sparse products (exact): ``tr(W) = sum diag(W)``, ``tr(W^2) = sum(W .* W')``, higher
  powers by repeated products with blocks of 64 unit vectors (cost ``order * nnz * N``
  flops, memory ``64 N``); faster than eigenvalues of a dense W at every N we measured;
* Monte Carlo (large N): Hutchinson's estimator with Rademacher probes,
  ``tr(W^k) ~ mean_r x_r' W^k x_r`` (Barry and Pace 1999), with its standard error
  (cost ``order * nnz * draws``).

When W is symmetric or a row-standardised symmetric binary matrix, both kernels work on the
symmetric similar matrix ``S = D^1/2 W D^-1/2`` and need only half the products
(see :func:`symmetric_form`). No kernel forms a dense N x N matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from spillover._typing import FloatArray
from spillover._validate import as_rng, preview
from spillover.errors import SpecificationError, WeightsError

TraceMethod = Literal["auto", "exact", "mc"]

#: Largest ``order * nnz * N`` for which ``method="auto"`` uses exact sparse products
#: (about a second on one core; a 32 x 32 rook grid at order 100 is 5e8).
EXACT_MAX_WORK = 1e9
#: Largest nnz of W^2 for which Monte Carlo traces take tr(W^3), tr(W^4) exactly.
LOW_MAX_NNZ = 1e8
_BLOCK = 64


@dataclass(frozen=True)
class PowerTraces:
    """Traces of W^1..W^order and their Monte Carlo standard errors.

    Attributes
    ----------
    traces : numpy.ndarray
        ``traces[k - 1]`` is (an estimate of) tr(W^k), k = 1..order.
    std_errors : numpy.ndarray
        Standard error of each entry: zero where exact (always for k = 1, 2, and k = 3, 4
        unless W^2 is too dense), otherwise the sample standard deviation of the per-probe
        quadratic forms over ``sqrt(draws)``.
    method : str
        ``"exact"`` or ``"mc"``: the kernel that produced the traces.
    draws : int
        Number of Monte Carlo probes (0 for exact methods).
    n : int
        Dimension N of W.
    """

    traces: FloatArray
    std_errors: FloatArray
    method: str
    draws: int
    n: int

    @property
    def order(self) -> int:
        return len(self.traces)

    def __str__(self) -> str:
        head = ", ".join(f"{t:.4g}" for t in self.traces[:4])
        more = ", ..." if self.order > 4 else ""
        return f"tr(W^k), k=1..{self.order} [{self.method}, N={self.n}]: {head}{more}"


def as_sparse_weights(w: Any) -> sp.csr_array:
    """A float64 ``csr_array`` from a Weights object, a libpysal ``W``/``Graph``, a scipy
    sparse matrix or array, or a dense numpy array (converted; zeros dropped).

    The rows keep the order of the input (for a libpysal object, its ``id_order`` or
    ``unique_ids``); nothing is densified.
    """
    matrix = getattr(w, "matrix", w)
    if not sp.issparse(matrix) and hasattr(matrix, "sparse"):  # libpysal W or Graph
        matrix = matrix.sparse
    if not sp.issparse(matrix):
        matrix = np.asarray(matrix, dtype=float)
        if matrix.ndim != 2:
            raise WeightsError(f"weights must be a 2-d matrix, got {matrix.ndim} dimension(s).")
    csr = sp.csr_array(matrix, dtype=np.float64)
    if csr.shape[0] != csr.shape[1]:
        raise WeightsError(f"weights matrix must be square, got shape {csr.shape}.")
    return csr


def trace_estimate(
    w: Any,
    order: int,
    *,
    method: TraceMethod = "auto",
    draws: int = 50,
    seed: int | np.random.Generator | None = None,
) -> PowerTraces:
    """tr(W^k) for k = 1..order, with standard errors, by the chosen kernel.

    Parameters
    ----------
    w : Weights, scipy.sparse array/matrix, or numpy array
        The N x N weights matrix.
    order : int
        Highest power (>= 1).
    method : {"auto", "exact", "mc"}, default "auto"
        ``"exact"``: sparse products with unit vectors (costs ``order * nnz * N``).
        ``"mc"``: Hutchinson estimator for k >= 5 (k <= 4 exact from sparse W and W^2,
        or k <= 2 when W^2 would exceed ``LOW_MAX_NNZ`` entries).
        ``"auto"``: exact when ``order * nnz * N <= EXACT_MAX_WORK``, else Monte Carlo.
    draws : int, default 50
        Rademacher probes for the Monte Carlo kernel.
    seed : int, Generator or None
        Seed for the probes (``numpy.random.default_rng``).

    Returns
    -------
    PowerTraces

    Notes
    -----
    The Monte Carlo estimate of tr(W^k) is the mean of ``x_r' W^k x_r`` over probes
    ``x_r`` with independent +/-1 entries; it is unbiased, and its standard error is the
    sample standard deviation over probes divided by ``sqrt(draws)``. The same probes are
    used for every k, so errors are correlated across k. As in LeSage and Pace (2009,
    ch. 4), exact low-order traces (here up to tr(W^4), from the sparse W^2) replace their
    Monte Carlo counterparts: they carry most of the Monte Carlo error of the effects.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> w = sp.csr_array(np.array([[0, 1.0], [1.0, 0]]))
    >>> trace_estimate(w, 4).traces
    array([0., 2., 0., 2.])
    """
    csr = as_sparse_weights(w)
    order = int(order)
    if order < 1:
        raise SpecificationError(f"order must be at least 1, got {order}.")
    if method not in ("auto", "exact", "mc"):
        raise SpecificationError(f"method must be 'auto', 'exact' or 'mc', got {method!r}.")
    n = csr.shape[0]
    work = float(order) * max(csr.nnz, 1) * n
    if method == "auto":
        method = "exact" if work <= EXACT_MAX_WORK else "mc"
    if method == "exact":
        return PowerTraces(_sparse_traces(csr, order), np.zeros(order), "exact", 0, n)
    if draws < 2:
        raise SpecificationError(f"draws must be at least 2 for Monte Carlo traces, got {draws}.")
    est, se = _mc_traces(csr, order, int(draws), as_rng(seed))
    return PowerTraces(est, se, "mc", int(draws), n)


def power_traces(
    w: Any,
    order: int,
    *,
    method: TraceMethod = "auto",
    draws: int = 50,
    seed: int | np.random.Generator | None = None,
) -> FloatArray:
    """tr(W^k) for k = 1..order as an array; see :func:`trace_estimate` for the options.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> w = sp.csr_array(np.array([[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]))
    >>> power_traces(w, 3).round(6)
    array([0.  , 1.5 , 0.75])
    """
    return trace_estimate(w, order, method=method, draws=draws, seed=seed).traces


# ---------------------------------------------------------------------- kernels
def _low_traces(w: sp.csr_array) -> tuple[float, float]:
    """Exact tr(W) and tr(W^2) = sum_ij W_ij W_ji from the sparse entries."""
    t1 = float(w.diagonal().sum())
    t2 = float(w.multiply(w.T).sum())
    return t1, t2


def _exact_low_traces(w: sp.csr_array, order: int) -> FloatArray:
    """Exact tr(W^k) for k <= 4 (k <= 2 if W^2 would hold over ``LOW_MAX_NNZ`` entries).

    ``tr(W^3) = sum(W^2 .* W')`` and ``tr(W^4) = sum(W^2 .* (W^2)')``, with W^2 sparse.
    """
    low = list(_low_traces(w))
    row_nnz = np.diff(w.indptr)
    if order > 2 and float(row_nnz @ row_nnz) <= LOW_MAX_NNZ:  # bound on nnz(W^2)
        w2 = sp.csr_array(w @ w)
        low += [float(w2.multiply(w.T).sum()), float(w2.multiply(w2.T).sum())]
    return np.array(low[:order])


def symmetric_form(w: sp.csr_array) -> sp.csr_array | None:
    """A symmetric S = D^1/2 W D^-1/2 with the same traces and diagonal powers as W, or None.

    Found when W is symmetric, or is a row-standardised binary symmetric matrix
    (``W = D^-1 C``, D the neighbour counts). Then ``x' S^(2j) x = |S^j x|^2`` and
    ``x' S^(2j+1) x = (S^j x)'(S^(j+1) x)``: traces up to ``order`` need only about
    ``order / 2`` products.
    """
    if _symmetric(w):
        return w
    counts = np.diff(w.indptr).astype(float)
    if (counts == 0).any():
        return None
    s = sp.csr_array(sp.diags_array(np.sqrt(counts)) @ w @ sp.diags_array(1 / np.sqrt(counts)))
    return s if _symmetric(s) else None


def _symmetric(w: sp.csr_array) -> bool:
    diff = w - w.T
    return diff.nnz == 0 or bool(abs(diff).max() <= 1e-12 * max(1.0, abs(w).max()))


def _quadratic_forms(
    w: sp.csr_array, sym: sp.csr_array | None, x: FloatArray, order: int
) -> FloatArray:
    """``x_r' W^k x_r`` for k = 1..order and each column r of x (shape ``(order, m)``)."""
    forms = np.empty((order, x.shape[1]))
    if sym is None:
        u = x
        for k in range(order):
            u = w @ u
            forms[k] = np.einsum("ij,ij->j", x, u)
        return forms
    prev = x
    for j in range(1, order // 2 + 2):
        if 2 * j - 1 > order:
            break
        cur = sym @ prev
        forms[2 * j - 2] = np.einsum("ij,ij->j", prev, cur)
        if 2 * j <= order:
            forms[2 * j - 1] = np.einsum("ij,ij->j", cur, cur)
        prev = cur
    return forms


def _sparse_traces(w: sp.csr_array, order: int) -> FloatArray:
    """Exact traces from W^k applied to blocks of unit vectors (memory N x block)."""
    n = w.shape[0]
    sym = symmetric_form(w)
    out = np.zeros(order)
    for start in range(0, n, _BLOCK):
        cols = np.arange(start, min(start + _BLOCK, n))
        z = np.zeros((n, len(cols)))
        z[cols, np.arange(len(cols))] = 1.0
        out += _quadratic_forms(w, sym, z, order).sum(axis=1)
    out[: min(order, 2)] = _low_traces(w)[: min(order, 2)]
    return out


def _mc_traces(
    w: sp.csr_array, order: int, draws: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Hutchinson estimates of tr(W^k) with Rademacher probes, and their standard errors."""
    n = w.shape[0]
    sym = symmetric_form(w)
    forms = np.empty((order, draws))
    block = max(1, min(_BLOCK, int(2e7 // max(n, 1))))  # at most ~160 MB per probe block
    for start in range(0, draws, block):
        m = min(block, draws - start)
        x = rng.integers(0, 2, size=(n, m)).astype(np.float64) * 2.0 - 1.0
        forms[:, start : start + m] = _quadratic_forms(w, sym, x, order)
    est = forms.mean(axis=1)
    se = forms.std(axis=1, ddof=1) / np.sqrt(draws)
    low = _exact_low_traces(w, order)
    est[: len(low)] = low
    se[: len(low)] = 0.0
    return est, se


# ---------------------------------------------------------------------- resolvent series
@dataclass(frozen=True)
class Multipliers:
    """Average multipliers of A = (I - rho W)^-1 as truncated power series in rho.

    ``values(rho)`` returns, for each rho, the columns
    ``a = tr(A)/N``, ``b = tr(A W)/N``, ``c = 1'A 1/N`` and ``d = 1'A W 1/N``, from
    ``a = sum_{q<=order} rho^q tr(W^q)/N``, ``b = sum_{q<=order} rho^q tr(W^{q+1})/N`` and
    likewise with ``1'W^q 1`` for c and d. For row-standardised W, ``c = d = 1/(1-rho)``
    exactly. The direct effect of a regressor with coefficients (beta, theta) is
    ``beta a + theta b`` and its total effect ``beta c + theta d`` (LeSage and Pace 2009).

    Attributes
    ----------
    trace_moments : numpy.ndarray
        ``tr(W^q)/N`` for q = 0..order+1.
    trace_moment_se : numpy.ndarray
        Monte Carlo standard errors of those moments (zeros when exact).
    sum_moments : numpy.ndarray or None
        ``1'W^q 1/N`` for q = 0..order+1 (exact), or None when W is row-standardised.
    radius : float
        Upper bound r on the spectral radius of W (:func:`spectral_bound`); the series
        converge for ``|rho| r < 1``.
    sum_const : float
        Constant C with ``|1'W^q 1|/N <= C r^q``.
    method : str
        ``"exact"`` or ``"mc"``: how the traces were obtained.
    """

    trace_moments: FloatArray
    trace_moment_se: FloatArray
    sum_moments: FloatArray | None
    radius: float
    sum_const: float
    method: str

    @property
    def order(self) -> int:
        return len(self.trace_moments) - 2

    def _powers(self, rho: FloatArray, deriv: bool) -> FloatArray:
        q = np.arange(self.order + 1)
        r = np.asarray(rho, dtype=float)[:, None]
        if not deriv:
            return r**q
        return q * r ** np.maximum(q - 1, 0)

    def values(self, rho: FloatArray | float) -> FloatArray:
        """Columns a, b, c, d at each rho (shape ``(len(rho), 4)``)."""
        return self._series(np.atleast_1d(rho), deriv=False)

    def derivatives(self, rho: FloatArray | float) -> FloatArray:
        """d/d rho of the columns of :meth:`values`."""
        return self._series(np.atleast_1d(rho), deriv=True)

    def _series(self, rho: FloatArray, deriv: bool) -> FloatArray:
        p = self._powers(rho, deriv)
        m = self.trace_moments
        out = np.empty((len(rho), 4))
        out[:, 0] = p @ m[:-1]
        out[:, 1] = p @ m[1:]
        if self.sum_moments is None:
            closed = 1.0 / (1.0 - rho) ** (2 if deriv else 1)
            out[:, 2] = closed
            out[:, 3] = closed
        else:
            out[:, 2] = p @ self.sum_moments[:-1]
            out[:, 3] = p @ self.sum_moments[1:]
        return out

    def error_bounds(self, rho: float) -> FloatArray:
        """Error bounds for (a, b, c, d) at ``rho``: row 0 truncation, row 1 Monte Carlo.

        Truncation: ``|tr(W^q)|/N <= r^q`` (every eigenvalue is at most r in modulus) and
        ``|1'W^q 1|/N <= C r^q`` give a tail of at most
        ``(|rho| r)^(order+1) / (1 - |rho| r)`` for a (times C for c), times r for b and d.
        Monte Carlo: ``sum_q |rho|^q se_q`` bounds the standard error of the series
        whatever the correlation of the trace errors across q (zero for c and d, which use
        exact sums).
        """
        x = abs(rho) * self.radius
        tail = np.inf if x >= 1 else x ** (self.order + 1) / (1 - x)
        p = np.abs(rho) ** np.arange(self.order + 1)
        se = self.trace_moment_se
        c = 0.0 if self.sum_moments is None else self.sum_const
        trunc = np.array([tail, self.radius * tail, c * tail, c * self.radius * tail])
        return np.vstack([trunc, [p @ se[:-1], p @ se[1:], 0.0, 0.0]])


def multipliers(
    w: Any,
    order: int,
    *,
    method: TraceMethod = "auto",
    draws: int = 50,
    seed: int | np.random.Generator | None = None,
    traces: PowerTraces | None = None,
    bound: tuple[float, float] | None = None,
) -> Multipliers:
    """Series coefficients for the average multipliers of (I - rho W)^-1; see :class:`Multipliers`.

    Parameters
    ----------
    w : Weights, scipy.sparse array/matrix, or numpy array
        The N x N weights.
    order : int
        Highest power q of the series (>= 0); traces up to ``order + 1`` are needed.
    method, draws, seed
        Passed to :func:`trace_estimate`.
    traces : PowerTraces, optional
        Traces of this same W already computed (e.g. for a log-determinant; not of a
        rescaled W). The series then stops at ``min(order, traces.order - 1)``.
    bound : (float, float), optional
        :func:`spectral_bound` of W, if already computed.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> w = sp.csr_array(np.array([[0, 1.0], [1.0, 0]]))
    >>> m = multipliers(w, 60)
    >>> m.values(0.5).round(6)  # tr((I - 0.5 W)^-1)/2 = 4/3
    array([[1.333333, 0.666667, 2.      , 2.      ]])
    """
    csr = as_sparse_weights(w)
    n = csr.shape[0]
    order = int(order)
    if order < 0:
        raise SpecificationError(f"order must be at least 0, got {order}.")
    if traces is not None:
        _check_traces(traces, csr)
        order = min(order, traces.order - 1)
    else:
        traces = trace_estimate(csr, order + 1, method=method, draws=draws, seed=seed)
    moments = np.concatenate([[1.0], traces.traces[: order + 1] / n])
    moment_se = np.concatenate([[0.0], traces.std_errors[: order + 1] / n])
    row_sums = np.asarray(csr.sum(axis=1)).ravel()
    radius, const = spectral_bound(csr) if bound is None else bound
    sums = None
    if not np.allclose(row_sums, 1.0, rtol=0, atol=1e-12):
        sums = np.empty(order + 2)
        v = np.ones(n)
        sums[0] = 1.0
        for q in range(1, order + 2):
            v = csr @ v
            sums[q] = v.sum() / n
    return Multipliers(moments, moment_se, sums, radius, const, traces.method)


def spectral_bound(w: Any, *, iterations: int = 40) -> tuple[float, float]:
    """Upper bound r on the spectral radius of W, and C with ``|1'W^q 1|/N <= C r^q``.

    For W with a negative entry: the largest absolute row sum, C = 1. For nonnegative W:
    the Collatz-Wielandt bound ``max_i (W x)_i / x_i`` (at least the Perron root, which is
    the spectral radius) over positive vectors x from a lazy power iteration
    ``x <- (x + W x) / max``, started at x = 1 (the row-sum bound), and
    ``C = mean(x) / min(x)``. Exact (r = 1, C = 1) for row-standardised W; close to 1 for a
    spectrally normalised W whose row sums exceed 1.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> w = sp.csr_array(np.array([[0, 2.0, 0], [0.5, 0, 0.5], [0, 2.0, 0]]))
    >>> r, c = spectral_bound(w)
    >>> bool(abs(r - np.sqrt(2)) < 1e-3)
    True
    """
    csr = as_sparse_weights(w)
    n = csr.shape[0]
    rows = np.asarray(np.abs(csr).sum(axis=1)).ravel()
    kappa = float(rows.max()) if n else 0.0
    if not n or (csr.data < 0).any() or np.ptp(rows) <= 1e-12 * max(kappa, 1.0):
        return kappa, 1.0
    x = best_x = np.ones(n)
    best = kappa
    for _ in range(iterations):
        y = csr @ x
        cw = float(np.max(y / x)) * (1 + 1e-12)
        if cw < best:
            best, best_x = cw, x
        x = x + y  # positive: x > 0 and y >= 0
        x = x / x.max()
    return best, float(best_x.mean() / best_x.min())


def _check_traces(traces: PowerTraces, w: sp.csr_array) -> None:
    """Refuse precomputed traces of another (e.g. rescaled) matrix: tr(W), tr(W^2) differ."""
    low = np.array(_low_traces(w)[: min(traces.order, 2)])
    if traces.n != w.shape[0] or not np.allclose(
        traces.traces[: len(low)], low, rtol=1e-9, atol=1e-9 * max(1, w.shape[0])
    ):
        raise SpecificationError(
            f"the traces given ({traces}) are not those of this W (N = {w.shape[0]}, "
            f"tr(W), tr(W^2) = {preview(low.round(6))}); pass traces of the same, unscaled W."
        )
    if traces.order < 2:
        raise SpecificationError("precomputed traces must reach at least W^2.")
