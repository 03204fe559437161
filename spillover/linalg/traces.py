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
(:func:`~spillover.linalg.structure.symmetric_similar`, cached on a
:class:`~spillover.linalg.SpatialMatrix`). No kernel forms a dense N x N matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypedDict, Unpack

import numpy as np
import scipy.sparse as sp

from spillover._typing import FloatArray
from spillover._validate import as_rng, preview
from spillover.errors import SpecificationError
from spillover.linalg._multipliers import Multipliers as Multipliers
from spillover.linalg._multipliers import mean_multipliers as mean_multipliers
from spillover.linalg._trace_kernels import _BLOCK, _low_traces, _quadratic_forms, _sparse_traces
from spillover.linalg.matrix import as_spatial_matrix
from spillover.linalg.spectral import spectral_bound as spectral_bound
from spillover.linalg.structure import unit_row_sums

TraceMethod = Literal["auto", "exact", "mc"]

#: Largest ``order * nnz * N`` for which ``method="auto"`` uses exact sparse products
#: (about a second on one core; a 32 x 32 rook grid at order 100 is 5e8).
EXACT_MAX_WORK = 1e9
#: Largest nnz of W^2 for which Monte Carlo traces take tr(W^3), tr(W^4) exactly.
LOW_MAX_NNZ = 1e8


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
    w : SpatialMatrix (e.g. Weights), scipy.sparse array/matrix, or numpy array
        The N x N weights matrix (its cached symmetric similar form is used).
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
    sm = as_spatial_matrix(w)
    csr = sm.matrix
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
        traces = _sparse_traces(csr, sm.symmetric_similar, order)
        return PowerTraces(traces, np.zeros(order), "exact", 0, n)
    if draws < 2:
        raise SpecificationError(f"draws must be at least 2 for Monte Carlo traces, got {draws}.")
    est, se = _mc_traces(csr, sm.symmetric_similar, order, int(draws), as_rng(seed))
    return PowerTraces(est, se, "mc", int(draws), n)


class TraceOptions(TypedDict, total=False):
    """Keyword options of :func:`trace_estimate` (``method``, ``draws``, ``seed``), which
    :func:`power_traces` and :func:`multipliers` pass on unchanged."""

    method: TraceMethod
    draws: int
    seed: int | np.random.Generator | None


def power_traces(w: Any, order: int, **options: Unpack[TraceOptions]) -> FloatArray:
    """tr(W^k) for k = 1..order as an array; see :func:`trace_estimate` for the options.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> w = sp.csr_array(np.array([[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]))
    >>> power_traces(w, 3).round(6)
    array([0.  , 1.5 , 0.75])
    """
    return trace_estimate(w, order, **options).traces


# ---------------------------------------------------------------------- Monte Carlo kernel
def _exact_low_traces(w: sp.csr_array, order: int, max_nnz: float | None = None) -> FloatArray:
    """Exact tr(W^k) for k <= 4 (k <= 2 if W^2 would hold over ``max_nnz`` entries).

    ``tr(W^3) = sum(W^2 .* W')`` and ``tr(W^4) = sum(W^2 .* (W^2)')``, with W^2 sparse.
    """
    low = list(_low_traces(w))
    row_nnz = np.diff(w.indptr)
    limit = LOW_MAX_NNZ if max_nnz is None else max_nnz
    if order > 2 and float(row_nnz @ row_nnz) <= limit:  # bound on nnz(W^2)
        w2 = sp.csr_array(w @ w)
        low += [float(w2.multiply(w.T).sum()), float(w2.multiply(w2.T).sum())]
    return np.array(low[:order])


exact_low_traces = _exact_low_traces


def _mc_traces(
    w: sp.csr_array,
    sym: sp.csr_array | None,
    order: int,
    draws: int,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray]:
    """Hutchinson estimates of tr(W^k) with Rademacher probes, and their standard errors;
    ``sym`` is the symmetric similar form of W, or None."""
    n = w.shape[0]
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


def multipliers(
    w: Any,
    order: int,
    *,
    traces: PowerTraces | None = None,
    bound: tuple[float, float] | None = None,
    **options: Unpack[TraceOptions],
) -> Multipliers:
    """Series coefficients for the average multipliers of (I - rho W)^-1; see :class:`Multipliers`.

    Parameters
    ----------
    w : SpatialMatrix (e.g. Weights), scipy.sparse array/matrix, or numpy array
        The N x N weights (its cached symmetric form and spectral bound are used).
    order : int
        Highest power q of the series (>= 0); traces up to ``order + 1`` are needed.
    traces : PowerTraces, optional
        Traces of this same W already computed (e.g. for a log-determinant; not of a
        rescaled W). The series then stops at ``min(order, traces.order - 1)``.
    bound : (float, float), optional
        :func:`spectral_bound` of W, if already computed.
    **options
        ``method``, ``draws``, ``seed``: passed to :func:`trace_estimate` (unused when
        ``traces`` is given).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> w = sp.csr_array(np.array([[0, 1.0], [1.0, 0]]))
    >>> m = multipliers(w, 60)
    >>> m.values(0.5).round(6)  # tr((I - 0.5 W)^-1)/2 = 4/3
    array([[1.333333, 0.666667, 2.      , 2.      ]])
    """
    sm = as_spatial_matrix(w)
    csr = sm.matrix
    n = csr.shape[0]
    order = int(order)
    if order < 0:
        raise SpecificationError(f"order must be at least 0, got {order}.")
    if traces is not None:
        _check_traces(traces, csr)
        order = min(order, traces.order - 1)
    else:
        traces = trace_estimate(sm, order + 1, **options)
    moments = np.concatenate([[1.0], traces.traces[: order + 1] / n])
    moment_se = np.concatenate([[0.0], traces.std_errors[: order + 1] / n])
    radius, const = sm.spectral_bound if bound is None else bound
    sums = None
    if not unit_row_sums(csr, atol=1e-12):  # W 1 = 1: c and d in closed form
        sums = np.empty(order + 2)
        v = np.ones(n)
        sums[0] = 1.0
        for q in range(1, order + 2):
            v = csr @ v
            sums[q] = v.sum() / n
    return Multipliers(moments, moment_se, sums, radius, const, traces.method)


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
