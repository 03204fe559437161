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

No kernel forms a dense N x N matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from spillover._typing import FloatArray
from spillover._validate import as_rng
from spillover.errors import SpecificationError, WeightsError

TraceMethod = Literal["auto", "exact", "mc"]

#: Largest ``order * nnz * N`` for which ``method="auto"`` uses exact sparse products
#: (about a second on one core; a 32 x 32 rook grid at order 100 is 5e8).
EXACT_MAX_WORK = 1e9
_BLOCK = 64


@dataclass(frozen=True)
class PowerTraces:
    """Traces of W^1..W^order and their Monte Carlo standard errors.

    Attributes
    ----------
    traces : numpy.ndarray
        ``traces[k - 1]`` is (an estimate of) tr(W^k), k = 1..order.
    std_errors : numpy.ndarray
        Standard error of each entry: zero where exact (always for k = 1, 2), otherwise the
        sample standard deviation of the per-probe quadratic forms over ``sqrt(draws)``.
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
    """A float64 ``csr_array`` from a Weights object, a scipy sparse matrix or array.

    Dense numpy input is converted to sparse (zeros dropped); nothing is densified.
    """
    matrix = getattr(w, "matrix", w)
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
        ``"mc"``: Hutchinson estimator for k >= 3 (k = 1, 2 are always exact).
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
    ch. 4), the exact tr(W) and tr(W^2) replace their Monte Carlo counterparts.

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


def _sparse_traces(w: sp.csr_array, order: int) -> FloatArray:
    """Exact traces from W^k applied to blocks of unit vectors (memory N x block)."""
    n = w.shape[0]
    out = np.zeros(order)
    for start in range(0, n, _BLOCK):
        cols = np.arange(start, min(start + _BLOCK, n))
        z = np.zeros((n, len(cols)))
        z[cols, np.arange(len(cols))] = 1.0
        for k in range(order):
            z = w @ z
            out[k] += z[cols, np.arange(len(cols))].sum()
    out[: min(order, 2)] = _low_traces(w)[: min(order, 2)]
    return out


def _mc_traces(
    w: sp.csr_array, order: int, draws: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Hutchinson estimates of tr(W^k) with Rademacher probes, and their standard errors."""
    n = w.shape[0]
    forms = np.empty((order, draws))
    block = max(1, min(_BLOCK, int(2e7 // max(n, 1))))  # at most ~160 MB per probe block
    for start in range(0, draws, block):
        m = min(block, draws - start)
        x = rng.integers(0, 2, size=(n, m)).astype(np.float64) * 2.0 - 1.0
        u = x
        for k in range(order):
            u = w @ u
            forms[k, start : start + m] = np.einsum("ij,ij->j", x, u)
    est = forms.mean(axis=1)
    se = forms.std(axis=1, ddof=1) / np.sqrt(draws)
    low = min(order, 2)
    est[:low] = _low_traces(w)[:low]
    se[:low] = 0.0
    return est, se
