"""Average multipliers of (I - rho W)^-1 as power series in rho.

Public names are re-exported by :mod:`spillover.linalg.traces`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spillover._typing import FloatArray


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
        Upper bound r on the spectral radius of W
        (:func:`~spillover.linalg.spectral.spectral_bound`); the series
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


def mean_multipliers(parts: list[tuple[Multipliers, float]]) -> Multipliers:
    """Multipliers of several W_t averaged with weights (shares of periods using each W_t).

    a, b, c and d are linear in the moments ``tr(W^q)/N`` and ``1'W^q 1/N``, so the mean of
    the effects over periods is the effect of the mean moments. A row-standardised W_t
    contributes ``1'W^q 1/N = 1``; when every W_t is row-standardised c and d keep their
    closed form. The radius and sum constant are the largest over W_t (the series must
    converge for each), so :meth:`Multipliers.error_bounds` still bounds the error of the
    mean; the Monte Carlo standard errors are added with the weights (an upper bound, the
    probes of different W_t being independent). One part is returned unchanged.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from spillover.linalg.traces import multipliers
    >>> pair, empty = sp.csr_array(np.array([[0, 1.0], [1.0, 0]])), sp.csr_array((2, 2))
    >>> m = mean_multipliers([(multipliers(pair, 60), 1), (multipliers(empty, 60), 1)])
    >>> m.values(0.5).round(6)  # (4/3 + 1)/2, (2/3 + 0)/2, (2 + 1)/2, (2 + 0)/2
    array([[1.166667, 0.333333, 1.5     , 1.      ]])
    """
    if len(parts) == 1:
        return parts[0][0]
    order = min(m.order for m, _ in parts)
    shares = np.array([s for _, s in parts], dtype=float)
    shares = shares / shares.sum()

    def mix(arrays: list[FloatArray]) -> FloatArray:
        return np.sum([s * a[: order + 2] for s, a in zip(shares, arrays, strict=True)], axis=0)

    ones = np.ones(order + 2)
    row_std = all(m.sum_moments is None for m, _ in parts)
    return Multipliers(
        mix([m.trace_moments for m, _ in parts]),
        mix([m.trace_moment_se for m, _ in parts]),
        None
        if row_std
        else mix([ones if m.sum_moments is None else m.sum_moments for m, _ in parts]),
        max(m.radius for m, _ in parts),
        max(m.sum_const for m, _ in parts),
        "mc" if any(m.method == "mc" for m, _ in parts) else "exact",
    )
