"""Barry and Pace (1999): ``log|I - rho W|`` by a Monte Carlo series, with its interval.

``log|I - rho W| = -sum_k rho^k tr(W^k) / k`` for ``|rho| r < 1`` (r the spectral radius),
whatever the spectrum: complex eigenvalues of an asymmetric W (k-nearest neighbours,
distance bands with row standardisation) need no special treatment, unlike the Chebyshev
approximation of real spectra. The series is truncated at ``order`` terms and the traces
of the higher powers estimated with Rademacher probes x_r, ``tr(W^k) ~ mean_r x_r' W^k x_r``
(k <= 4 exact from sparse W and W^2 when W^2 is small enough). The same probes serve all k
and every rho, so each probe r gives a whole function ``v_r(rho) = -sum_k rho^k x_r'W^k x_r
/ k`` and the estimate is their mean; its Monte Carlo standard error is their standard
deviation over ``sqrt(draws)`` (Barry and Pace's interval: it accounts for the correlation
of the trace errors across k).

The error is reported as a bound holding with probability ``level``: Student-t
half-width ``t_{draws-1} se(rho)`` plus a deterministic truncation bound. For any W with
largest absolute row sum s, ``|(W^k)_ii| <= s^(k-1) max_j |w_ji|``, hence
``|tr(W^k)| <= s^(k-1) M``, ``M = sum_i max_j |w_ji|`` (0.1 N for kNN(10) row-standardised),
and the tail beyond ``order`` is at most ``(M/s) a^(order+1) / ((order+1)(1 - a))``,
``a = |rho| s``; its rho-derivative at most ``M a^order / (1 - a)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import stats

from spillover._typing import FloatArray
from spillover._validate import as_rng
from spillover.linalg.matrix import SpatialMatrix
from spillover.linalg.traces import EXACT_MAX_WORK, PowerTraces, exact_low_traces, trace_estimate

#: Largest order the refinement (:meth:`BarryPace.order_for`) asks for.
MAX_ORDER = 600
#: Per-unit truncation error (of ``log|I - rho W| / N``) the refinement aims at.
TRUNCATION_TOL = 1e-10
#: tr(W^3), tr(W^4) are taken exactly from a sparse W^2 only below this bound on its
#: entries (W^2 of kNN(10) at N = 10^6 has 10^8 and takes longer than the whole series);
#: above it their Monte Carlo error enters the interval like that of higher powers.
LOW_MAX_NNZ = 2e7


@dataclass(frozen=True, eq=False)
class BarryPace:
    """The series for one W: per-probe quadratic forms and the bounds' constants.

    ``forms[k - 1, r]`` is ``x_r' W^k x_r`` (or the exact tr(W^k) in every column where
    it is exact); with exact traces throughout there is one column and ``draws`` is 0.

    Examples
    --------
    A 4-cycle walked one way (not symmetric, eigenvalues 1, i, -1, -i), Monte Carlo traces:

    >>> import numpy as np, scipy.sparse as sp
    >>> from spillover.linalg.matrix import SpatialMatrix
    >>> w = sp.csr_array(np.roll(np.eye(4), 1, axis=1))
    >>> bp = BarryPace.build(SpatialMatrix(w), 40, draws=20, seed=0, traces="mc", level=0.99)
    >>> exact = np.linalg.slogdet(np.eye(4) - 0.5 * w.toarray())[1]
    >>> bool(abs(bp.value(0.5) - exact) <= bp.error(0.5))
    True
    """

    forms: FloatArray
    n: int
    draws: int
    row_bound: float  # s = max_i sum_j |w_ij|
    col_bound: float  # M = sum_i max_j |w_ji|
    level: float
    exact_upto: int
    _probes: FloatArray | None  # local-order probes and W^order x_r, for extension
    _last: FloatArray | None
    _sm: SpatialMatrix

    @classmethod
    def build(
        cls,
        sm: SpatialMatrix,
        order: int,
        *,
        draws: int,
        seed: int | np.random.Generator | None,
        traces: str,
        level: float,
    ) -> BarryPace:
        csr = sm.matrix
        n = csr.shape[0]
        absw = abs(csr)
        s = float(absw.sum(axis=1).max()) if csr.nnz else 0.0
        m = float(sp.csc_array(absw).max(axis=0).sum()) if csr.nnz else 0.0
        work = float(order) * max(csr.nnz, 1) * n
        if traces == "exact" or (traces == "auto" and work <= EXACT_MAX_WORK):
            est = trace_estimate(sm, order, method="exact")
            return cls(est.traces[:, None], n, 0, s, m, level, order, None, None, sm)
        local = sm.local.matrix
        x = as_rng(seed).integers(0, 2, size=(n, draws)).astype(np.float64) * 2.0 - 1.0
        forms, last = _forms(local, x, x, order)
        low = exact_low_traces(csr, order, LOW_MAX_NNZ)
        forms[: len(low)] = low[:, None]
        return cls(forms, n, draws, s, m, level, len(low), x, last, sm)

    @property
    def order(self) -> int:
        return self.forms.shape[0]

    def extended(self, order: int) -> BarryPace:
        """The same series (same probes) with ``order`` terms."""
        if order <= self.order:
            return self
        if self._probes is None or self._last is None:
            est = trace_estimate(self._sm, order, method="exact")
            forms = est.traces[:, None]
            return BarryPace(forms, self.n, 0, self.row_bound, self.col_bound, self.level,
                             order, None, None, self._sm)  # fmt: skip
        more, last = _forms(self._sm.local.matrix, self._probes, self._last, order - self.order)
        return BarryPace(np.vstack([self.forms, more]), self.n, self.draws, self.row_bound,
                         self.col_bound, self.level, self.exact_upto, self._probes, last,
                         self._sm)  # fmt: skip

    # ------------------------------------------------------------------ values
    def _per_probe(self, rho: float, deriv: bool) -> FloatArray:
        k = np.arange(1, self.order + 1)
        coef = -(rho ** (k - 1)) if deriv else -(rho**k) / k
        return coef @ self.forms

    def value(self, rho: float) -> float:
        return float(self._per_probe(rho, False).mean())

    def slope(self, rho: float) -> float:
        """d/d rho of the series: ``-sum_k rho^(k-1) tr(W^k)`` = ``-tr(W (I - rho W)^-1)``."""
        return float(self._per_probe(rho, True).mean())

    def _half_width(self, rho: float, deriv: bool) -> float:
        if self.draws < 2:
            return 0.0
        v = self._per_probe(rho, deriv)
        t = float(stats.t.ppf(0.5 + self.level / 2, self.draws - 1))
        return t * float(v.std(ddof=1)) / np.sqrt(self.draws)

    def truncation(self, rho: float, *, deriv: bool = False) -> float:
        """Deterministic bound on the omitted tail (of the value or of its slope)."""
        s, m, order = self.row_bound, self.col_bound, self.order
        a = abs(rho) * s
        if a == 0:
            return 0.0
        if a >= 1:
            return np.inf
        if deriv:
            return m * a**order / (1 - a)
        return (m / s) * a ** (order + 1) / ((order + 1) * (1 - a))

    def error(self, rho: float) -> float:
        """Bound on ``|estimate - log|I - rho W||`` holding with probability ``level``."""
        return self._half_width(rho, False) + self.truncation(rho)

    def slope_error(self, rho: float) -> float:
        """The same bound for the rho-derivative."""
        return self._half_width(rho, True) + self.truncation(rho, deriv=True)

    def order_for(self, rho: float, tol: float = TRUNCATION_TOL) -> int:
        """Smallest order (<= MAX_ORDER) whose truncation bound at rho is <= tol * N."""
        s, m = self.row_bound, self.col_bound
        a = abs(rho) * s
        if a == 0 or m == 0:
            return self.order
        if a >= 1:
            return MAX_ORDER
        for order in range(self.order, MAX_ORDER + 1):
            if (m / s) * a ** (order + 1) / ((order + 1) * (1 - a)) <= tol * self.n:
                return order
        return MAX_ORDER

    def power_traces(self) -> PowerTraces:
        """tr(W^k), k = 1..order, with Monte Carlo standard errors (for the effects)."""
        if self.draws < 2:
            return PowerTraces(self.forms[:, 0].copy(), np.zeros(self.order), "exact", 0, self.n)
        se = self.forms.std(axis=1, ddof=1) / np.sqrt(self.draws)
        se[: self.exact_upto] = 0.0
        return PowerTraces(self.forms.mean(axis=1), se, "mc", self.draws, self.n)


def _forms(
    w: sp.csr_array, x: FloatArray, start: FloatArray, order: int
) -> tuple[FloatArray, FloatArray]:
    """``x_r' W^k u_r`` for k = 1..order with u = ``start``, and ``W^order start``."""
    out = np.empty((order, x.shape[1]))
    u = start
    for k in range(order):
        u = w @ u
        out[k] = np.einsum("ij,ij->j", x, u)
    return out, u
