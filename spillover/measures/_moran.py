"""Moran's I kernel: the statistic, its moments and its permutation p-value, from arrays.

Pure functions of a value vector and a sparse ``csr_array`` W (never densified), shared by
every Moran's I in the toolkit: :func:`spillover.measures.morans_i`,
:func:`spillover.diagnostics.specification.moran_by_period` and the residual tests of
:mod:`spillover.diagnostics.moran`. The arithmetic follows ``esda.Moran`` step by step, so
the numbers agree with esda to rounding and permutation p-values drawn from the same
generator agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import scipy.sparse as sp
from scipy import stats

from spillover._typing import FloatArray
from spillover.errors import SpecificationError
from spillover.linalg.stacking import lag, to_entity_major, to_time_major

Transformation = Literal["r", "b", "o", "v", "d"]


class _Permuter(Protocol):
    def permutation(self, x: FloatArray) -> FloatArray: ...


@dataclass(frozen=True)
class MoranMoments:
    """Moran's I with its moments under normality and under randomisation.

    Attributes
    ----------
    n : int
        Observations (N T for the pooled panel statistic).
    statistic : float
        I = (n / S0) z'Wz / z'z, z the centred values.
    expected : float
        E[I] = -1 / (n - 1) under both assumptions.
    variance_norm, variance_rand : float
        Var[I] under normality and under randomisation (esda's ``VI_norm``, ``VI_rand``).
    z_norm, z_rand : float
        (I - E[I]) / sqrt(Var[I]) under each assumption.
    p_norm, p_rand : float
        Normal p-values of ``z_norm`` and ``z_rand`` (two-sided unless asked otherwise).
    """

    n: int
    statistic: float
    expected: float
    variance_norm: float
    variance_rand: float
    z_norm: float
    z_rand: float
    p_norm: float
    p_rand: float


def transform_weights(w: sp.csr_array, transformation: Transformation) -> sp.csr_array:
    """W transformed as libpysal's ``W.transform`` does (esda's ``transformation``).

    ``"r"``: each weight divided by its row sum (rows summing to zero stay zero); ``"b"``:
    every stored weight 1; ``"d"``: divided by S0, the sum of all weights; ``"v"``:
    variance-stabilising (Tiefelsdorf et al. 1999), w_ij / q_i times n / sum_ij (w_ij /
    q_i) with q_i = sqrt(sum_j w_ij^2); ``"o"``: as given. Divisions are per weight, as
    in libpysal, so the result is the same to the last bit.
    """
    how = str(transformation).lower()
    data = np.asarray(w.data, dtype=float)
    row = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
    if how == "o":
        return w
    if how == "r":
        new = data / _row_sums(w, data)[row]
    elif how == "b":
        new = np.ones_like(data)
    elif how == "d":
        new = data * (1.0 / float(w.sum()))
    elif how == "v":
        s = data / np.sqrt(_row_sums(w, data * data))[row]
        new = s * (w.shape[0] / float(np.cumsum(_row_sums(w, s))[-1]))
    else:
        raise SpecificationError(
            f"transformation must be one of 'r', 'b', 'o', 'v', 'd', got {transformation!r}."
        )
    return sp.csr_array((new, w.indices, w.indptr), shape=w.shape)


def _row_sums(w: sp.csr_array, data: FloatArray) -> FloatArray:
    """Row sums of ``data`` on W's sparsity pattern, added left to right as libpysal does."""
    return sp.csr_array((data, w.indices, w.indptr), shape=w.shape) @ np.ones(w.shape[1])


def moran_sums(w: sp.csr_array) -> tuple[float, float, float]:
    """S0, S1 and S2 of Cliff and Ord for W (libpysal's ``s0``, ``s1``, ``s2``).

    S0 = sum_ij w_ij, S1 = 1/2 sum_ij (w_ij + w_ji)^2, S2 = sum_i (w_i. + w_.i)^2, as
    numpy floats: weights without any link (S0 = 0) give NaN or infinite moments with a
    RuntimeWarning, as in esda, rather than an exception.
    """
    sym = w.T + w
    rows, cols = np.asarray(w.sum(axis=1)).ravel(), np.asarray(w.sum(axis=0)).ravel()
    s1 = np.float64(sym.multiply(sym).sum()) / 2.0
    return np.float64(w.sum()), s1, np.float64(((rows + cols) ** 2).sum())


def lag_periods(w: sp.csr_array, z: FloatArray, n_periods: int = 1) -> FloatArray:
    """(I_T (x) W) z for z stacked time-major (T blocks of N, as the residual tests take
    them; 1-d or 2-d): reordered to the package's entity-major convention, lagged by
    :func:`spillover.linalg.stacking.lag`, and reordered back. No Kronecker product."""
    if n_periods == 1:
        return w @ z
    return to_time_major(lag(w, to_entity_major(z, n_periods)), n_periods)


def moran(
    y: FloatArray,
    w: sp.csr_array,
    *,
    n_periods: int = 1,
    sums: tuple[float, float, float] | None = None,
    two_tailed: bool = True,
) -> MoranMoments:
    """Moran's I of ``y`` with weights W (or I_T (x) W) and its normal-approximation moments.

    Parameters
    ----------
    y : ndarray, shape (n,)
        Values; centred here (z = y - mean(y)).
    w : scipy.sparse.csr_array, shape (N, N)
        Weights as they enter the statistic (transform them first with
        :func:`transform_weights`).
    n_periods : int, default 1
        T > 1: ``y`` holds T cross-sections of N stacked time-major and the weights are
        I_T (x) W, whose S0, S1, S2 are T times those of W (n = N T, one mean).
    sums : tuple of float, optional
        ``moran_sums(w)``, when the caller reuses W across calls.
    two_tailed : bool, default True
        Two-sided p-values (esda's default); else one-sided in the direction of z.

    Returns
    -------
    MoranMoments

    Notes
    -----
    With n observations and S0, S1, S2 of the weights (Cliff and Ord 1981), ``EI = -1 /
    (n - 1)``, ``VI_norm = (n^2 S1 - n S2 + 3 S0^2) / ((n^2 - 1) S0^2) - EI^2`` and, with
    b2 = n sum z^4 / (sum z^2)^2 the sample kurtosis, ``VI_rand = [n ((n^2 - 3n + 3) S1
    - n S2 + 3 S0^2) - b2 ((n^2 - n) S1 - 2n S2 + 6 S0^2)] / ((n - 1)(n - 2)(n - 3) S0^2)
    - EI^2``: esda's ``Moran`` (``EI``, ``VI_norm``, ``VI_rand``, ``z_norm``, ``z_rand``,
    ``p_norm``, ``p_rand``). As in esda, the p-values of both assumptions take the tail
    given by the sign of ``z_norm``. ``VI_rand`` is NaN or infinite for n <= 3.
    """
    y = np.asarray(y, dtype=float).ravel()
    n = len(y)
    z = y - y.mean()
    s0, s1, s2 = moran_sums(w) if sums is None else sums
    s0, s1, s2 = n_periods * s0, n_periods * s1, n_periods * s2
    z2ss = (z * z).sum()
    stat = moran_statistic(z, lag_periods(w, z, n_periods), n, s0, z2ss)
    expected = -1.0 / (n - 1)
    s02 = s0 * s0
    var_norm = (n * n * s1 - n * s2 + 3 * s02) / ((n - 1) * (n + 1) * s02) - (1.0 / (n - 1)) ** 2
    kurt = ((z**4).sum() / n) / ((z**2).sum() / n) ** 2
    a = n * ((n * n - 3 * n + 3) * s1 - n * s2 + 3 * s02)
    b = kurt * ((n * n - n) * s1 - 2 * n * s2 + 6 * s02)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_rand = np.float64(a - b) / ((n - 1) * (n - 2) * (n - 3) * s02) - expected * expected
        z_norm = (stat - expected) / var_norm**0.5
        z_rand = (stat - expected) / np.float64(var_rand) ** 0.5
    tail = stats.norm.sf if z_norm > 0 else stats.norm.cdf
    factor = 2.0 if two_tailed else 1.0
    return MoranMoments(
        n=n,
        statistic=float(stat),
        expected=float(expected),
        variance_norm=float(var_norm),
        variance_rand=float(var_rand),
        z_norm=float(z_norm),
        z_rand=float(z_rand),
        p_norm=float(tail(z_norm) * factor),
        p_rand=float(tail(z_rand) * factor),
    )


def moran_statistic(z: FloatArray, wz: FloatArray, n: int, s0: float, z2ss: float) -> float:
    """I = (n / S0) z'Wz / z'z from z, Wz and z'z, in esda's order of operations."""
    return n / s0 * (z * wz).sum() / z2ss


def moran_permutation_pvalue(
    y: FloatArray,
    w: sp.csr_array,
    statistic: float,
    *,
    permutations: int,
    rng: _Permuter,
    sums: tuple[float, float, float] | None = None,
) -> float:
    """Pseudo p-value of Moran's I under random relabelling of the values.

    ``(larger + 1) / (permutations + 1)``, ``larger`` the number of permuted statistics
    >= ``statistic``, or the number below it when that is smaller (one-sided in the
    direction of the observed I): esda's ``p_sim``. ``rng`` supplies
    ``rng.permutation(z)`` of the centred values once per draw; a
    ``numpy.random.RandomState`` seeded with s gives the draws of ``np.random.seed(s);
    esda.Moran(...)``.
    """
    y = np.asarray(y, dtype=float).ravel()
    n = len(y)
    z = y - y.mean()
    z2ss = (z * z).sum()
    s0 = moran_sums(w)[0] if sums is None else sums[0]
    sim = np.empty(permutations)
    for k in range(permutations):
        zp = rng.permutation(z)
        sim[k] = moran_statistic(zp, w @ zp, n, s0, z2ss)
    larger = int((sim >= statistic).sum())
    larger = min(larger, permutations - larger)
    return (larger + 1.0) / (permutations + 1.0)
